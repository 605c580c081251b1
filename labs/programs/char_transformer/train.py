"""Transformer text generation: a small GPT trained on the lessons and the Python standard library.

    pathway lab run char-transformer                                 # ~3 min on 2 CPU cores
    pathway lab run char-transformer --set backend=hf                # the same model from transformers
    pathway lab run char-transformer --set tokenizer=bpe             # byte-level BPE instead of characters

A decoder-only Transformer in GPT-2's layout (pre-LayerNorm blocks, learned
positions, tanh-GELU MLP, final LayerNorm, output head tied to the token
embedding, GPT-2's initialization), with attention written out here: the heads
are split as (B, T, C) -> (B, T, H, d) -> (B, H, T, d). `backend=hf` builds the
same-size model with `transformers.GPT2LMHeadModel` from a `GPT2Config` (no
download) and trains it with the same data, loss and loop.

Validation is held-out standard-library files, scored in nats per character.
At every evaluation the model writes a sample to `<run dir>/sample.txt`, which
the dashboard shows.

The big-data reading: the corpus is a table of characters; a batch is a random
sample of fixed-width windows; the label of each row is the same row shifted by
one (a self-join on offset + 1).
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from pathway.labs.programs.char_transformer.spec import CharTransformerConfig as Config  # torch-free, so the TUI form can read it
from pathway.labs.programs.char_transformer.corpus import BPETokenizer, CharTokenizer, load_corpus
from pathway.labs.programs.common.lm import get_batch, lr_at  # the same sampler and schedule in both text labs
from pathway.labs.programs.common.torchkit import has_fast_bf16, Checkpoint, pick_device

__all__ = ["Config", "MultiHeadAttention", "GPT", "build_model", "train"]



class MultiHeadAttention(nn.Module):
    """Causal self-attention with H heads of size d = C / H, written out."""

    def __init__(self, n_embd: int, n_head: int, block_size: int, dropout: float = 0.0, fused: bool = True) -> None:
        super().__init__()
        assert n_embd % n_head == 0, "n_embd must be divisible by n_head"
        self.n_head, self.head_size, self.dropout, self.fused = n_head, n_embd // n_head, dropout, fused
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)  # q, k and v projections in one matmul
        self.c_proj = nn.Linear(n_embd, n_embd)  # mixes the concatenated heads back together
        self.resid_drop = nn.Dropout(dropout)
        # True where a query may look at a key: itself and the past
        self.register_buffer("causal", torch.ones(block_size, block_size, dtype=torch.bool).tril(), persistent=False)

    def split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, C = t.shape
        # (B, T, C) -> (B, T, H, d): each head takes its own slice of the features, positions stay put;
        # -> (B, H, T, d): attention then runs over T, separately per head
        return t.view(B, T, self.n_head, self.head_size).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)  # (B, H, T, d)
        p = self.dropout if self.training else 0.0
        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_size)  # (B, H, T, T)
            att = att.masked_fill(~self.causal[:T, :T], float("-inf"))  # no peeking at later positions
            att = F.dropout(torch.softmax(att, dim=-1), p)
            y = att @ v  # (B, H, T, d)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, H, d) -> (B, T, C): heads side by side
        return self.resid_drop(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd: int, dropout: float) -> None:
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))  # GPT-2's GELU


class Block(nn.Module):
    """Pre-LN block: x + attn(ln(x)), then x + mlp(ln(x)). The residual stream is never normalized in place."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = MultiHeadAttention(config.n_embd, config.n_head, config.block_size, config.dropout,
                                       fused=config.attention == "sdpa")
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config.n_embd, config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token + position embeddings -> blocks -> LayerNorm -> logits (head tied to the token embedding)."""

    def __init__(self, config: Config, vocab_size: int) -> None:
        super().__init__()
        self.block_size = config.block_size
        self.wte = nn.Embedding(vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: one matrix reads tokens in and writes them out
        for name, p in self.named_parameters():  # GPT-2's init; N(0, 1) embeddings would make the first loss huge
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif name.endswith("c_proj.weight"):  # residual outputs shrink with depth: the sum stays unit-scale
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layer))
            elif p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # (B, T, vocab) logits


class HFCausalLM(nn.Module):
    """`GPT2LMHeadModel` behind the same `forward(idx) -> logits` as ours, so one loop trains both."""

    def __init__(self, config: Config, vocab_size: int) -> None:
        super().__init__()
        from transformers import GPT2Config, GPT2LMHeadModel

        hf_config = GPT2Config(
            vocab_size=vocab_size, n_positions=config.block_size, n_embd=config.n_embd, n_layer=config.n_layer,
            n_head=config.n_head, resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
            activation_function="gelu_new", bos_token_id=None, eos_token_id=None,
        )
        self.block_size = config.block_size
        self.hf = GPT2LMHeadModel(hf_config)  # random weights from the config; nothing is downloaded

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=idx, use_cache=False).logits


def build_model(config: Config, vocab_size: int) -> nn.Module:
    """Ours or transformers', same sizes and parameter count."""
    return HFCausalLM(config, vocab_size) if config.backend == "hf" else GPT(config, vocab_size)


def make_optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only: decaying norms, biases and embeddings only hurts."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        is_matrix = p.dim() == 2 and "wte" not in name and "wpe" not in name
        (decay if is_matrix else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95))


@torch.no_grad()
def evaluate(model: nn.Module, val: torch.Tensor, char_len: torch.Tensor, config: Config, device: torch.device) -> tuple[float, float]:
    """(nats per token, nats per character) on the same evenly spaced held-out windows every time."""
    model.eval()
    T = config.block_size
    starts = torch.linspace(0, len(val) - T - 1, config.eval_windows).long()
    nll, tokens, chars = 0.0, 0, 0
    for chunk in starts.split(config.batch_size):
        windows = val[chunk[:, None] + torch.arange(T + 1)].long()
        x, y = windows[:, :-1].to(device), windows[:, 1:].to(device)
        logits = model(x)
        nll += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        tokens += y.numel()
        chars += int(char_len[y.cpu()].sum())
    model.train()
    return nll / tokens, nll / max(chars, 1)


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, n_new: int, temperature: float, gen: torch.Generator) -> torch.Tensor:
    """Sample n_new tokens after idx (1, T0), feeding the model its own output; the context is cropped to block_size."""
    model.eval()
    for _ in range(n_new):
        logits = model(idx[:, -model.block_size:])[:, -1, :]  # the last position predicts the next token
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        nxt = torch.multinomial(probs.cpu(), 1, generator=gen).to(idx.device)
        idx = torch.cat([idx, nxt], dim=1)
    model.train()
    return idx



def train(config: Config, report) -> dict[str, float]:
    t_start = time.perf_counter()
    # --- device and seeds --------------------------------------------------------
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    bf16 = config.precision == "bf16" or (config.precision == "auto" and has_fast_bf16(device))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)  # weights and grads stay fp32
    what = f"scratch, attention={config.attention}" if config.backend == "scratch" else "hf GPT2LMHeadModel"
    report.log_text(f"char-transformer ({what}) on {device}, {'bf16 autocast' if bf16 else 'fp32'}, "
                    f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    # --- data: read, tokenize, keep as one tensor of ids per split --------------------
    corpus = load_corpus(config.corpus_chars)
    tok = BPETokenizer(corpus.train, config.bpe_vocab) if config.tokenizer == "bpe" else CharTokenizer()
    train_ids = torch.from_numpy(tok.encode(corpus.train))
    val_ids = torch.from_numpy(tok.encode(corpus.val))
    char_len = torch.from_numpy(tok.char_lengths())
    report.log_text(f"data: {corpus.describe()}")
    # bits per byte compares across tokenizers (the llama lab reports it too): nats/char x chars/byte / ln 2
    chars_per_byte = len(corpus.val) / max(len(corpus.val.encode("utf-8")), 1)
    report.log_text(f"tokens: {len(train_ids):,} train / {len(val_ids):,} held out, vocabulary {tok.vocab_size} ({config.tokenizer}); "
                    f"ln V = {math.log(tok.vocab_size):.2f} is the loss of a uniform guess")

    # --- model and optimizer -------------------------------------------------------------
    model = build_model(config, tok.vocab_size).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    report.log_text(f"model: {n_params / 1e6:.2f}M parameters, {config.n_layer} layers x {config.n_head} heads x {config.n_embd // config.n_head}, context {config.block_size}")
    optimizer = make_optimizer(model, config)
    batch_gen = torch.Generator().manual_seed(config.seed)  # batch order, saved in checkpoints
    sample_gen = torch.Generator().manual_seed(config.seed + 1)
    prompt = tok.encode(config.prompt) if config.prompt else tok.encode("\n")

    # --- resume: continue the step count from the last checkpoint ------------------------
    ckpt = Checkpoint(report, device, model=model, optimizer=optimizer, batch_gen=batch_gen)
    step = ckpt.resume(config.steps)

    def eval_and_sample() -> tuple[float, float]:
        with autocast:
            loss, per_char = evaluate(model, val_ids, char_len, config, device)
        report.step(step, **{"eval/loss": loss, "eval/nats_per_char": per_char, "eval/ppl": math.exp(min(loss, 50.0)),
                             "eval/bpb": per_char * chars_per_byte / math.log(2)})
        line = f"step {step}/{config.steps}: eval loss {loss:.3f} nats/token, {per_char:.3f} nats/char, {time.perf_counter() - t_start:.0f} s"
        report.log_text(line)
        if config.sample_chars:
            idx = torch.from_numpy(prompt).long()[None].to(device)
            with autocast:
                text = tok.decode(generate(model, idx, config.sample_chars, config.temperature, sample_gen)[0].tolist())
            report.write_sample(f"{line}\n\n{text}\n")
            report.log_text("sample: " + text.replace("\n", "\n    | "))
        return loss, per_char

    # --- the loop ------------------------------------------------------------------------
    model.train()
    if step == 0:
        eval_and_sample()  # the starting point: loss near ln V, random characters
    t_mark, tokens = time.perf_counter(), 0
    while step < config.steps and not report.should_stop:
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(train_ids, config, batch_gen, device)
        with autocast:
            logits = model(x)  # (B, T, vocab)
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))  # raw logits, in fp32
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        tokens += x.numel()

        if step % config.log_interval == 0 or step == config.steps:
            now = time.perf_counter()
            report.step(step, **{
                "train/loss": loss.item(),  # .item() waits for the device: once per interval
                "train/lr": lr,
                "train/tokens_per_s": tokens / max(now - t_mark, 1e-9),
            })
            t_mark, tokens = now, 0
        if step % config.eval_interval == 0 and step < config.steps:
            eval_and_sample()
        if step % config.ckpt_interval == 0:
            ckpt.save(step, config=vars(config))

    # --- stop or finish: save, then a last evaluation -------------------------------------
    ckpt.save(step, config=vars(config))
    loss, per_char = eval_and_sample()
    wall = time.perf_counter() - t_start
    report.log_text(f"done in {wall:.0f} s: held-out stdlib loss {per_char:.3f} nats/char ({per_char / math.log(2):.2f} bits/char, "
                    f"{per_char * chars_per_byte / math.log(2):.3f} bits/byte)")
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    return {"step": step, "eval/loss": loss, "eval/nats_per_char": per_char,
            "eval/bpb": per_char * chars_per_byte / math.log(2), "wall_s": wall}
