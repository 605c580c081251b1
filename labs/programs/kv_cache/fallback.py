"""A small llama trained here, for when no llama run has published a model yet, so the kv-cache lab always runs.

It is a short version of the llama lab's training: the course tokenizer (the
bpe-tokenizer lab's), text from the lessons and the standard library, AdamW
with warmup and cosine decay. About a minute on 2 CPU cores; its text is
rough but it is a real trained model, which is what generation needs (a
random model repeats one token). It is kept in the cache, so the next run
skips the training; a llama run's published model always wins over it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from pathway.errors import PathwayError
from pathway.labs.programs.llama.model import Llama, ModelArgs
from pathway.labs.programs.llama.published import load_published, publish
from pathway.labs.programs.llama.spec import LlamaConfig

SHAPE = LlamaConfig()  # the llama lab's default model and vocabulary: its tokenizer file is shared with llama runs
CORPUS_CHARS = 600_000
BATCH, WINDOW, LR, WARMUP = 16, 128, 3e-3, 30


def fallback_dir(cache_dir: Path) -> Path:
    """Where the fallback model lives: the published-model layout, under its own folder (never mistaken for a llama run's)."""
    return Path(cache_dir) / "kv-cache-fallback"


def fallback_args(vocab_size: int, context: int) -> ModelArgs:
    """The llama lab's default shape (four query heads sharing two KV heads), with this lab's context."""
    from pathway.labs.programs.llama.train import model_args

    return model_args(dataclasses.replace(SHAPE, block_size=context), vocab_size)


def load_or_train(cache_dir: Path, device: torch.device, steps: int, context: int, seed: int, report) -> tuple:
    """(model, args, tokenizer) from the cache when one of this shape and length was trained before, else trained now."""
    try:
        found = load_published(fallback_dir(cache_dir), device)
    except PathwayError as exc:  # our own cache file, broken or from an older shape: train a new one over it
        report.log_text(f"the kept fallback model cannot be used ({exc.message}); training a new one")
        found = None
    if found is not None:
        model, args, tok = found
        if args == fallback_args(args.vocab_size, context):  # same shape and context as these settings ask for
            report.log_text(f"using the fallback llama trained by an earlier kv-cache run ({fallback_dir(cache_dir)})")
            return found
    return train_small(cache_dir, device, steps, context, seed, report)


def train_small(cache_dir: Path, device: torch.device, steps: int, context: int, seed: int, report) -> tuple:
    from pathway.labs.programs.bpe_tokenizer.bpe import course_path, course_tokenizer
    from pathway.labs.programs.char_transformer.corpus import load_corpus

    t0 = time.perf_counter()
    tok = course_tokenizer(cache_dir, SHAPE.vocab_size, log=report.log_text)
    text = load_corpus(max_chars=CORPUS_CHARS).train
    data = torch.tensor(tok.encode(text), dtype=torch.long)
    torch.manual_seed(seed)
    args = fallback_args(tok.vocab_size, context)
    model = Llama(args).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(seed)
    window = min(WINDOW, context)
    report.log_text(f"fallback llama: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
                    f"{steps} steps of {BATCH} x {window} tokens on {len(data):,} course tokens")
    loss = torch.tensor(float("nan"))
    for step in range(steps):
        if report.should_stop:
            break
        lr = LR * min(1.0, (step + 1) / WARMUP) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(data) - window, (BATCH, 1), generator=gen)  # last window included: bound is exclusive
        batch = data[starts + torch.arange(window + 1)].to(device)  # (B, T + 1)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % 50 == 0 or step + 1 == steps:
            report.log_text(f"fallback llama step {step + 1}/{steps}: loss {loss.item():.3f} nats/token "
                            f"(ln V = {math.log(args.vocab_size):.2f}), {time.perf_counter() - t0:.0f} s")
    model.eval()
    if not report.should_stop:  # a stopped training is not worth keeping
        publish(model, args, course_path(cache_dir, SHAPE.vocab_size), fallback_dir(cache_dir), report.run_id)
    return model, args, tok
