"""The llama lab: a Llama-style decoder trained on BPE tokens, scored in bits per byte.

    pathway lab run llama                                          # ~3 min on 2 CPU cores
    pathway lab run llama --set n_kv_heads=4                       # plain multi-head attention (n_kv_heads = n_heads)
    pathway lab run llama --set vocab_size=4096                    # a bigger course tokenizer (trained on first use)

The model is `model.py` (RMSNorm, RoPE, SwiGLU, grouped-query attention, no
biases). The text is char-transformer's: the lessons and the Python standard
library, with the same held-out stdlib files, but cut into byte-level BPE
tokens by the course tokenizer (the bpe-tokenizer lab's code, trained once per
vocabulary size and kept in the home's cache).

A loss per token depends on the tokenizer: a token of four bytes is harder to
guess than one character. Bits per byte does not: total nats over the held-out
text / ln 2 / its UTF-8 byte count. char-transformer reports the same
`eval/bpb`, so the two labs overlay in the compare view.

At the end the weights are copied into `transformers.LlamaForCausalLM`
(`hf.py`) and the logits compared (`check/hf_logits`), and the model is
published for the kv-cache lab (`published.py`).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathway.labs.programs.char_transformer.corpus import load_corpus
from pathway.labs.programs.common.lm import get_batch, lr_at  # the same sampler and schedule in both text labs
from pathway.labs.programs.common.torchkit import Checkpoint, has_fast_bf16, pick_device
from pathway.labs.programs.llama.model import KVCache, Llama, ModelArgs, load_weights, swiglu_hidden
from pathway.labs.programs.llama.spec import LlamaConfig as Config  # torch-free, so the TUI form can read it

__all__ = ["Config", "model_args", "train"]

LN2 = math.log(2)


def model_args(config: Config, vocab_size: int) -> ModelArgs:
    return ModelArgs(
        vocab_size=vocab_size, dim=config.dim, n_layers=config.n_layers, n_heads=config.n_heads,
        n_kv_heads=config.n_kv_heads, ffn_hidden=config.ffn_hidden or swiglu_hidden(config.dim),
        max_seq_len=config.block_size, rope_theta=config.rope_theta, tie_embeddings=config.tie_embeddings,
    )


def load_tokenizer(cache_dir: Path, vocab_size: int, log):
    """The course tokenizer at this size: from the cache, or trained now (once) by the bpe-tokenizer lab's code."""
    from pathway.labs.programs.bpe_tokenizer.bpe import course_tokenizer

    cached = Path(cache_dir) / "bpe" / f"course-{vocab_size}.json"
    if not cached.exists():
        log(f"no course tokenizer with {vocab_size} tokens in {cached.parent} yet: training it now (once; later runs reuse it)")
    else:
        log(f"tokenizer: {cached}")
    return course_tokenizer(Path(cache_dir), vocab_size, log=log)


def token_bytes(tok, vocab_size: int) -> np.ndarray:
    """UTF-8 bytes each id stands for: a BPE token may hold half a character, so count bytes, not decoded text."""
    vocab = getattr(tok, "vocab", None)
    if vocab is not None:
        return np.array([len(vocab[i]) for i in range(vocab_size)], dtype=np.int64)
    return np.array([len(tok.decode([i]).encode("utf-8")) for i in range(vocab_size)], dtype=np.int64)


class CheckedModel:
    """The model as a checkpoint part: a saved model of another shape is refused by name, not with a size-mismatch traceback."""

    def __init__(self, model: nn.Module, where: Path) -> None:
        self.model, self.where = model, where

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, state) -> None:
        load_weights(self.model, state, f"the checkpoint {self.where}")


def make_optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """AdamW with weight decay on the linear layers only: decaying norms and the embedding only hurts."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and "tok_embeddings" not in name else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95))


@torch.no_grad()
def evaluate(model: nn.Module, val: torch.Tensor, nbytes: torch.Tensor, config: Config, device: torch.device) -> tuple[float, float]:
    """(nats per token, bits per byte) on the same evenly spaced held-out windows every time."""
    model.eval()
    T = config.block_size
    starts = torch.linspace(0, len(val) - T - 1, config.eval_windows).long()
    nll, tokens, n_bytes = 0.0, 0, 0
    for chunk in starts.split(config.batch_size):
        windows = val[chunk[:, None] + torch.arange(T + 1)].long()
        x, y = windows[:, :-1].to(device), windows[:, 1:]
        logits = model(x)
        nll += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.to(device).reshape(-1), reduction="sum").item()
        tokens += y.numel()
        n_bytes += int(nbytes[y].sum())
    model.train()
    return nll / tokens, nll / LN2 / max(n_bytes, 1)


@torch.no_grad()
def generate(model: Llama, prompt: list[int], n_new: int, temperature: float, gen: torch.Generator, device) -> list[int]:
    """Sample with the KV cache: the prompt once (prefill), then one token per step, each attending to the cache."""
    model.eval()
    limit = model.args.max_seq_len
    history = list(prompt)[-limit:] or [0]
    dtype = next(model.parameters()).dtype

    def prefill(ids: list[int]) -> tuple[KVCache, torch.Tensor]:
        cache = KVCache(model.args, 1, limit, device=device, dtype=dtype)
        return cache, model(torch.tensor([ids], device=device), cache=cache)[:, -1]

    cache, logits = prefill(history)
    out: list[int] = []
    for i in range(n_new):
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        nxt = int(torch.multinomial(probs.cpu(), 1, generator=gen))
        out.append(nxt)
        history.append(nxt)
        if i == n_new - 1:
            break
        if cache.length == limit:  # the context is full: keep the last half of the text and prefill again
            history = history[-(limit // 2):]
            cache, logits = prefill(history)
        else:
            logits = model(torch.tensor([[nxt]], device=device), cache=cache)[:, -1]
    model.train()
    return out


@torch.no_grad()
def hf_logits_check(model: Llama, val: torch.Tensor, T: int) -> float:
    """Largest |logit difference| between our model and LlamaForCausalLM holding its weights, fp32 on the CPU."""
    from pathway.labs.programs.llama.hf import to_hf

    ours = copy.deepcopy(model).float().cpu().eval()
    hf = to_hf(ours)
    x = val[torch.linspace(0, len(val) - T - 1, 4).long()[:, None] + torch.arange(T)].long()
    return float((ours(x) - hf(input_ids=x).logits).abs().max())


def train(config: Config, report) -> dict[str, float]:
    t_start = time.perf_counter()
    # --- device and seeds --------------------------------------------------------
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    bf16 = config.precision == "bf16" or (config.precision == "auto" and has_fast_bf16(device))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)  # weights and grads stay fp32
    report.log_text(f"llama on {device}, {'bf16 autocast' if bf16 else 'fp32'}, attention={config.attention}, "
                    f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    # --- data: the course tokenizer over char-transformer's corpus and held-out files ---------
    tok = load_tokenizer(report.cache_dir, config.vocab_size, report.log_text)
    tok_path = report.run_dir / "tokenizer.json"
    tok.save(tok_path)  # the run keeps the vocabulary it was trained with
    corpus = load_corpus(config.corpus_chars)
    t_enc = time.perf_counter()
    train_ids = torch.tensor(tok.encode(corpus.train), dtype=torch.int32)
    val_ids = torch.tensor(tok.encode(corpus.val), dtype=torch.int32)
    vocab_size = tok.vocab_size
    nbytes = torch.from_numpy(token_bytes(tok, vocab_size))
    val_bytes = len(corpus.val.encode("utf-8"))
    report.log_text(f"data: {corpus.describe()}")
    report.log_text(
        f"tokens: {len(train_ids):,} train / {len(val_ids):,} held out ({val_bytes / len(val_ids):.2f} bytes per token), "
        f"vocabulary {vocab_size}, encoded in {time.perf_counter() - t_enc:.0f} s; a uniform guess costs "
        f"{math.log2(vocab_size) * len(val_ids) / val_bytes:.2f} bits per byte"
    )

    # --- model and optimizer -------------------------------------------------------------
    args = model_args(config, vocab_size)
    model = Llama(args, fused=config.attention == "sdpa").to(device)
    n_params = sum(p.numel() for p in model.parameters())
    kv_per_token = 2 * args.n_layers * args.n_kv_heads * args.head_dim * 4
    report.log_text(
        f"model: {n_params / 1e6:.2f}M parameters, {args.n_layers} layers, {args.n_heads} query / {args.n_kv_heads} key-value heads "
        f"x {args.head_dim}, SwiGLU hidden {args.ffn_hidden}, context {args.max_seq_len}, "
        f"{'tied' if args.tie_embeddings else 'untied'} head; KV cache {kv_per_token} bytes/token in fp32 "
        f"({args.n_heads // args.n_kv_heads}x smaller than multi-head)"
    )
    optimizer = make_optimizer(model, config)
    batch_gen = torch.Generator().manual_seed(config.seed)  # batch order, saved in checkpoints
    sample_gen = torch.Generator().manual_seed(config.seed + 1)
    prompt = tok.encode(config.prompt or "\n")

    # --- resume: continue the step count from the last checkpoint ------------------------
    ckpt = Checkpoint(report, device, model=CheckedModel(model, report.checkpoint_path), optimizer=optimizer, batch_gen=batch_gen)
    step = ckpt.resume(config.steps)

    def eval_and_sample() -> tuple[float, float]:
        with autocast:
            loss, bpb = evaluate(model, val_ids, nbytes, config, device)
        report.step(step, **{"eval/loss": loss, "eval/bpb": bpb, "eval/ppl": math.exp(min(loss, 50.0))})
        line = f"step {step}/{config.steps}: eval {loss:.3f} nats/token, {bpb:.3f} bits/byte, {time.perf_counter() - t_start:.0f} s"
        report.log_text(line)
        if config.sample_tokens:
            with autocast:
                text = tok.decode(prompt + generate(model, prompt, config.sample_tokens, config.temperature, sample_gen, device))
            report.write_sample(f"{line}\n\n{text}\n")
            report.log_text("sample: " + text.replace("\n", "\n    | "))
        return loss, bpb

    # --- the loop ------------------------------------------------------------------------
    model.train()
    if step == 0:
        eval_and_sample()  # the starting point: about ln V nats per token
    t_mark, tokens, bytes_seen = time.perf_counter(), 0, 0
    while step < config.steps and not report.should_stop:
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(train_ids, config, batch_gen, device)
        with autocast:
            logits = model(x)  # (B, T, vocab), fp32
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        tokens += x.numel()

        if step % config.log_interval == 0 or step == config.steps:
            now = time.perf_counter()
            batch_bytes = int(nbytes[y.cpu()].sum())
            value = loss.item()  # .item() waits for the device: once per interval
            report.step(step, **{
                "train/loss": value,
                "train/bpb": value * y.numel() / LN2 / max(batch_bytes, 1),  # this batch's nats, per byte of its targets
                "train/lr": lr,
                "train/tokens_per_s": tokens / max(now - t_mark, 1e-9),
            })
            t_mark, tokens = now, 0
        if step % config.eval_interval == 0 and step < config.steps:
            eval_and_sample()
        if step % config.ckpt_interval == 0:
            ckpt.save(step, config=vars(config))

    # --- stop or finish: save, evaluate, check against transformers, publish ----------------
    ckpt.save(step, config=vars(config))
    loss, bpb = eval_and_sample()
    diff = hf_logits_check(model, val_ids, min(config.block_size, 64))
    report.log_text(f"LlamaForCausalLM with these weights: largest logit difference {diff:.2e} "
                    f"({'agrees' if diff < 1e-4 else 'DISAGREES'} within 1e-4)")
    if config.publish:
        from pathway.labs.programs.llama.published import publish

        path = publish(model, args, tok_path, report.cache_dir, report.run_id)
        report.log_text(f"published to {path} for the kv-cache lab")
    wall = time.perf_counter() - t_start
    report.log_text(f"done in {wall:.0f} s: held-out stdlib {bpb:.3f} bits per byte ({loss:.3f} nats per token)")
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    return {"step": step, "eval/loss": loss, "eval/bpb": bpb, "check/hf_logits": float(diff < 1e-4),
            "check/hf_max_abs_diff": diff, "wall_s": wall}
