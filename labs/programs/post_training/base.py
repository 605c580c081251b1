"""The base model the post-training labs start from, and its pretraining on task text.

    base = load_base(cache_dir, device, spec, log, source="task", pretrain_steps=1000)
    base.model, base.args, base.chat, base.where, base.trained_vocab

source="llama" starts from the model the last llama run published (`pathway
lab run llama`); source="task" from a small llama of the same design with
random weights; "auto" from the llama one when there is one, else random (said
in the log either way). The model is then pretrained on plain task text
("47+85=132" lines of training problems, never a test one) and kept in the
home's cache, so the next run with the same settings skips that. The base knows
some arithmetic but not the chat format: SFT teaches the format and sharpens
the arithmetic.

The model was trained without the chat tokens, so it gets new embedding rows
for them (`grow_vocab`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from pathway.errors import PathwayError
from pathway.labs.programs.llama.model import Llama, ModelArgs
from pathway.labs.programs.post_training.chat import Chat
from pathway.labs.programs.post_training.task import TaskSpec

__all__ = ["Base", "load_base", "grow_vocab", "task_tokenizer", "pretrain_dir", "check_compatible", "SOURCES"]

SOURCES = ("auto", "llama", "task")
PRETRAIN_BATCH, PRETRAIN_WINDOW, PRETRAIN_LR, PRETRAIN_WARMUP = 32, 64, 3e-3, 30


@dataclass
class Base:
    model: Llama  # vocabulary already grown to chat.vocab_size
    args: ModelArgs
    chat: Chat
    where: str  # in words, for the log
    trained_vocab: int  # embedding rows the base was trained with; the rows after them are the new chat tokens


def grow_vocab(model: Llama, vocab_size: int) -> Llama:
    """The same model with `vocab_size` embedding rows (and tied head): old rows copied, new rows at their mean.

    The standard way to add tokens (Hugging Face's `resize_token_embeddings`, which
    since transformers 4.46 starts new rows from the old rows' mean): a random new
    row would give the new token an arbitrary logit at every position, and a zero
    row a logit of 0, far above the usual ones; at the mean, its logit is the
    average one, so adding the tokens barely changes the model's outputs until
    fine-tuning teaches them.
    """
    old = model.args.vocab_size
    if vocab_size == old:
        return model
    if vocab_size < old:
        raise PathwayError(f"cannot shrink the vocabulary from {old} to {vocab_size} ids.")
    args = dataclasses.replace(model.args, vocab_size=vocab_size)
    grown = Llama(args, fused=model.layers[0].attention.fused).to(next(model.parameters()).device)
    state = model.state_dict()
    with torch.no_grad():
        for name, t in grown.state_dict().items():
            if name in ("tok_embeddings.weight", "output.weight"):
                t[:old] = state[name]
                t[old:] = state[name].mean(0)
            else:
                t.copy_(state[name])
    return grown


def task_tokenizer(cache_dir: Path, vocab_size: int, log: Callable[[str], None]):
    """The course tokenizer at this size (trained once and cached, the llama lab's); 257 = bytes only, nothing to train."""
    from pathway.labs.programs.bpe_tokenizer.bpe import ENDOFTEXT, Tokenizer, course_tokenizer

    if vocab_size <= 257:
        return Tokenizer({i: bytes([i]) for i in range(256)}, [], [ENDOFTEXT])
    return course_tokenizer(Path(cache_dir), vocab_size, log=log)


def pretrain_dir(cache_dir: Path, spec: TaskSpec, start: str, steps: int, seed: int) -> Path:
    """One kept base per task, starting point and budget: another setting trains (and keeps) another one."""
    # the held-out set's fingerprint: a base pretrained on another split may have seen this split's test problems
    return Path(cache_dir) / "sft" / f"task-base-{spec.digits}digits-test{spec.fingerprint()}-{start}-{steps}steps-s{seed}"


def load_base(cache_dir: Path, device: torch.device, spec: TaskSpec, log: Callable[[str], None], *,
              source: str = "auto", pretrain_steps: int = 300, dim: int = 128, n_layers: int = 4,
              vocab_size: int = 2048, seed: int = 0, should_stop: Callable[[], bool] = lambda: False) -> Base:
    """The starting model after its task pretraining, vocabulary grown for the chat tokens (see the module docstring)."""
    from pathway.labs.programs.llama.published import load_published, published_path

    if source not in SOURCES:
        raise PathwayError(f"base={source!r}: choose one of {', '.join(SOURCES)}.")
    found = load_published(cache_dir, device) if source != "task" else None  # another shape is refused by name there
    if found is None and source == "llama":
        raise PathwayError("base=llama asks for the llama lab's model, but no llama run has published one. "
                           "Run `pathway lab run llama` first, or use base=auto to pretrain a small one here.")
    if found is not None:
        model, args, tok = found
        run_id = torch.load(published_path(cache_dir), map_location="cpu", weights_only=True)["run_id"]
        start, key = f"the llama lab's model (run {run_id}, trained on code and lessons)", f"llama{run_id}"
        if args.vocab_size != tok.vocab_size:
            raise PathwayError(
                f"The llama lab's published model has {args.vocab_size} embedding rows but its tokenizer has "
                f"{tok.vocab_size} ids: they were not trained together. Run `pathway lab run llama` again to publish "
                "a matching pair, or use base=task."
            )
    else:
        if source == "auto":
            log("No llama run has published a model (`pathway lab run llama` does), so this run starts a small llama "
                "from random weights and pretrains it on plain task text.")
        else:
            log("base=task: this run starts a small llama from random weights and pretrains it on plain task text "
                "(base=llama would start from the llama lab's published model instead).")
        tok = task_tokenizer(cache_dir, vocab_size, log)
        args = ModelArgs(vocab_size=tok.vocab_size, dim=dim, n_layers=n_layers, n_heads=4, n_kv_heads=2,
                         ffn_hidden=16 * math.ceil(8 * dim / 3 / 16), max_seq_len=64)
        model = None
        start, key = "a small llama from random weights", f"scratch-d{dim}x{n_layers}-v{tok.vocab_size}"
    model = pretrained_on_task(model, args, tok, pretrain_dir(cache_dir, spec, key, pretrain_steps, seed), device, spec,
                               log, steps=pretrain_steps, seed=seed, should_stop=should_stop)
    where = f"{start}, then {pretrain_steps} steps of pretraining on task text"
    chat = Chat(tok)
    model = grow_vocab(model, chat.vocab_size)
    log(f"base: {where}; {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, vocabulary "
        f"{args.vocab_size} + {chat.vocab_size - args.vocab_size} chat tokens (new embedding rows at the mean of the old)")
    return Base(model=model.to(device), args=model.args, chat=chat, where=where, trained_vocab=args.vocab_size)


def pretrained_on_task(model: Llama | None, args: ModelArgs, tok, folder: Path, device: torch.device, spec: TaskSpec, log, *,
                       steps: int, seed: int, should_stop) -> Llama:
    """`model` (None: random weights of `args`) after `steps` of next-token training on "a+b=c" lines of training
    problems; from `folder` when this exact base was trained before, else trained now and kept there.

    From the llama lab's model this is continued pretraining ("mid-training" in nanochat): a model of code has never
    seen arithmetic, and SFT alone, on a few thousand short replies, would spend its whole budget learning it.
    """
    from pathway.labs.programs.llama.published import load_published, publish, published_path

    if steps == 0:
        return model if model is not None else Llama(args).to(device)
    try:
        found = load_published(folder, device)
    except PathwayError as exc:  # our own cache file, broken: train over it
        log(f"the kept task base cannot be used ({exc.message}); training it again")
        found = None
    if found is not None and found[1] == args:
        log(f"using the task-pretrained base kept by an earlier run ({published_path(folder)})")
        return found[0]

    t0 = time.perf_counter()
    chat = Chat(tok)  # only for its digit-by-digit encoding: the base never sees a chat token
    text_ids: list[int] = []
    for p in spec.split().train:
        text_ids += chat.encode(f"{p.question}={p.answer}\n")
    data = torch.tensor(text_ids, dtype=torch.long)
    torch.manual_seed(seed)
    model = (model if model is not None else Llama(args)).to(device).train()
    window = min(PRETRAIN_WINDOW, args.max_seq_len)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PRETRAIN_LR, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(seed)
    log(f"task pretraining: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {steps} steps of "
        f"{PRETRAIN_BATCH} x {window} tokens of 'a+b=c' lines ({len(data):,} tokens of training problems); "
        "kept for the next run")
    for step in range(steps):
        if should_stop():
            break
        lr = PRETRAIN_LR * min(1.0, (step + 1) / PRETRAIN_WARMUP) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(data) - window, (PRETRAIN_BATCH, 1), generator=gen)
        batch = data[starts + torch.arange(window + 1)].to(device)  # (B, T + 1)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            log(f"task pretraining step {step + 1}/{steps}: loss {loss.item():.3f}, {time.perf_counter() - t0:.0f} s")
    model.eval()
    if not should_stop():  # a stopped pretraining is not worth keeping
        tok_file = folder / "tokenizer.json"
        tok_file.parent.mkdir(parents=True, exist_ok=True)
        tok.save(tok_file)
        publish(model, args, tok_file, folder, 0)
    return model


def check_compatible(base_args: ModelArgs, base_chat: Chat, saved_args: dict, saved_tokenizer: dict, where: str) -> None:
    """A saved post-training state must fit this base: same shape, same tokenizer; else refused, naming the difference."""
    saved = ModelArgs(**saved_args)
    if saved != base_args:
        diffs = [f"{f.name} {getattr(saved, f.name)} there, {getattr(base_args, f.name)} here"
                 for f in dataclasses.fields(ModelArgs) if getattr(saved, f.name) != getattr(base_args, f.name)]
        raise PathwayError(
            f"{where} was trained from a base model of another shape ({'; '.join(diffs)}). The base changed since "
            "(a new llama run published another model?): start a new run instead of resuming."
        )
    if saved_tokenizer != base_chat.to_json():
        raise PathwayError(
            f"{where} was trained with another tokenizer than the base model's now (same shape, different vocabulary "
            "or merges). Start a new run instead of resuming."
        )

