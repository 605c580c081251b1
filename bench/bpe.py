"""The bpe-tokenizer lab's trainer against the `tokenizers` package's BpeTrainer, on the same text.

    flock /tmp/pathway-cpu.lock .venv/bin/python bench/bpe.py [--mb 5] [--vocab 4096] [--repeats 1]

Both learn a byte-level BPE with GPT-2's pre-tokenizer and one special token
from the first `--mb` MB of the course corpus (English lessons, then stdlib
files, as the lab reads them). Timed from the raw text to the finished merges
(pre-tokenization included), best of `--repeats`. Prints each time, the ratio
(ours / tokenizers), the lab's goal (<= 60 s for 5 MB on 2 cores), and both
tokenizers' held-out bytes per token, which should be close (their tie-breaks
differ, so the merges are not identical).

tokenizers is Rust and uses every core (rayon); ours is one Python thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


from pathway.labs.programs.bpe_tokenizer.bpe import ENDOFTEXT, Tokenizer, train_bpe
from pathway.labs.programs.char_transformer.corpus import load_corpus

GOAL_S_FOR_5MB = 60.0


def first_megabytes(text: str, mb: float) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `mb` MB (10^6 bytes)."""
    return text.encode("utf-8")[: int(mb * 1e6)].decode("utf-8", errors="ignore")


def time_ours(text: str, vocab: int) -> tuple[float, Tokenizer]:
    t = time.perf_counter()
    v, merges = train_bpe(text, vocab, [ENDOFTEXT])
    return time.perf_counter() - t, Tokenizer(v, merges, [ENDOFTEXT])


def time_tokenizers(text: str, vocab: int):
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    t = time.perf_counter()
    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[ENDOFTEXT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((text[i:i + 100_000] for i in range(0, len(text), 100_000)), trainer)
    return time.perf_counter() - t, tok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=5.0, help="MB of training text (default 5)")
    ap.add_argument("--vocab", type=int, default=4096, help="vocabulary size, special token included (default 4096)")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each; the best time is printed")
    args = ap.parse_args()

    corpus = load_corpus(max_chars=int(args.mb * 1.2e6))
    text = first_megabytes(corpus.train, args.mb)
    held_out = corpus.val
    print(f"text: {len(text.encode()) / 1e6:.2f} MB ({len(text):,} characters) of the course corpus, "
          f"vocab {args.vocab}, {os.cpu_count()} CPUs visible, best of {args.repeats}")

    ours_s, ours = min((time_ours(text, args.vocab) for _ in range(args.repeats)), key=lambda r: r[0])
    theirs_s, theirs = min((time_tokenizers(text, args.vocab) for _ in range(args.repeats)), key=lambda r: r[0])
    n_bytes = len(held_out.encode())
    ours_bpt = n_bytes / len(ours.encode(held_out))
    theirs_bpt = n_bytes / len(theirs.encode(held_out).ids)

    goal = GOAL_S_FOR_5MB * args.mb / 5.0
    print(f"lab (Python, incremental counts): {ours_s:7.2f} s   held-out {ours_bpt:.3f} bytes/token")
    print(f"tokenizers BpeTrainer (Rust):     {theirs_s:7.2f} s   held-out {theirs_bpt:.3f} bytes/token")
    print(f"ratio lab / tokenizers: {ours_s / theirs_s:.1f}x")
    print(f"goal: lab <= {goal:.0f} s for {args.mb:g} MB: {'met' if ours_s <= goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
