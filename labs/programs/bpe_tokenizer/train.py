"""Byte-level BPE trained on the lessons and the Python standard library, merge by merge.

    pathway lab run bpe-tokenizer                               # 4,096 ids on 5 MB: well under a minute
    pathway lab run bpe-tokenizer --set vocab_size=16384        # more merges, longer tokens
    pathway lab run bpe-tokenizer --set special_tokens="<|endoftext|>,<|pad|>"

The algorithm is in `bpe.py` beside this file. Here: read the corpus, count
pre-tokens, merge until the vocabulary is full while the chart shows held-out
bytes per token (the same merges are applied to the held-out words as they are
learned, so the figure is exact and costs no re-encoding), then check the
result against the `tokenizers` package and save it where the llama lab looks
(`<cache>/bpe/course-<vocab_size>.json`).

The big-data reading: counting pre-tokens is a GROUP BY; each merge is an
incremental update of a pair-count aggregate, touching only the rows (words)
that hold the merged pair.
"""

from __future__ import annotations

import json
import time

from pathway.errors import PathwayError
from pathway.files import atomic_write
from pathway.labs.programs.bpe_tokenizer.bpe import (
    ENDOFTEXT, BpeTrainer, Tokenizer, count_pretokens, course_path, finish_vocab, from_printable, to_printable,
)
from pathway.labs.programs.bpe_tokenizer.spec import BpeTokenizerConfig as Config
from pathway.labs.programs.char_transformer.corpus import load_corpus

__all__ = ["Config", "train"]

SHOWN_MERGES = 16  # latest merges in the sample pane


def show(token: bytes) -> str:
    """A token as a reader sees it: spaces, newlines and tabs made visible, broken UTF-8 as hex."""
    try:
        text = token.decode("utf-8")
    except UnicodeDecodeError:
        return token.hex(" ")
    return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")


def merges_table(trainer: BpeTrainer, target: int, bytes_per_token: float) -> str:
    """The sample pane: progress, then the newest merges first, with the count each had when merged."""
    lines = [f"{trainer.n_merges}/{target} merges, held-out {bytes_per_token:.3f} bytes per token", "",
             f"{'#':>6}  {'left':>12} + {'right':<12} -> {'new token':<16} count"]
    first = max(0, trainer.n_merges - SHOWN_MERGES)
    for i in range(trainer.n_merges - 1, first - 1, -1):
        left, right = trainer.merges[i]
        lines.append(f"{256 + i:>6}  {show(left):>12} + {show(right):<12} -> {show(left + right):<16} {trainer.merge_counts[i]:,}")
    return "\n".join(lines) + "\n"


def save_checkpoint(report, trainer: BpeTrainer, config: Config) -> None:
    """The merges so far (readable, GPT-2's byte alphabet); replaying them rebuilds the whole state."""
    state = {"merges": [[to_printable(a), to_printable(b)] for a, b in trainer.merges],
             "vocab_size": config.vocab_size, "special_tokens": config.special_list(), "corpus_chars": config.corpus_chars}
    atomic_write(report.checkpoint_path.with_suffix(".json"), json.dumps(state))


def load_checkpoint(report, config: Config, target: int) -> list[tuple[bytes, bytes]]:
    path = report.checkpoint_path.with_suffix(".json")
    if not (report.resuming and path.exists()):
        return []
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("corpus_chars") != config.corpus_chars or state.get("special_tokens") != config.special_list():
        raise PathwayError(f"The checkpoint {path} was trained on other text (corpus_chars or special_tokens differ); "
                           "its merges do not apply. Start a new run.")
    return [(from_printable(a), from_printable(b)) for a, b in state["merges"]][:target]


def tokenizers_check(tok: Tokenizer, text: str) -> bool:
    """Our vocab and merges in the `tokenizers` package (its own BPE code) give the same ids on `text`."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    specials = set(tok.special_ids.values())
    vocab = {to_printable(t): i for i, t in tok.vocab.items() if i not in specials}
    merges = [(to_printable(a), to_printable(b)) for a, b in tok.merges]
    hf = HFTokenizer(models.BPE(vocab, merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # GPT-2's regex, then bytes as characters
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens(list(tok.special_ids))
    return hf.encode(text).ids == tok.encode(text)


def train(config: Config, report) -> dict[str, float]:
    t_start = time.perf_counter()
    specials = config.special_list()
    target = config.vocab_size - 256 - len(specials)  # merges to learn

    # --- data: count pre-tokens of the training text and of the held-out text -------------------
    corpus = load_corpus(config.corpus_chars)
    report.log_text(f"data: {corpus.describe()}")
    train_counts = count_pretokens(corpus.train, specials)
    heldout_counts = count_pretokens(corpus.val, specials)
    trainer = BpeTrainer(train_counts, heldout=heldout_counts)
    report.log_text(f"pre-tokens: {sum(train_counts.values()):,} in training text ({len(train_counts):,} distinct), "
                    f"{sum(heldout_counts.values()):,} held out; {len(trainer.counts):,} distinct byte pairs to start "
                    f"({time.perf_counter() - t_start:.1f} s)")

    # --- resume: replay the saved merges --------------------------------------------------------
    saved = load_checkpoint(report, config, target)
    if saved:
        trainer.replay(saved)
        report.log_text(f"resumed from checkpoint: {len(saved)} merges replayed")
    if report.resuming:
        report.rewind_to(trainer.n_merges)
    report.set_total_steps(target)

    def record() -> float:
        bpt = trainer.heldout_bytes_per_token()
        report.step(trainer.n_merges, **{
            "eval/bytes_per_token": bpt,
            "train/bytes_per_token": trainer.table.n_bytes / trainer.table.n_tokens,
            "train/merges_per_s": (trainer.n_merges - done_before) / max(time.perf_counter() - t_loop, 1e-9),
        })
        report.write_sample(merges_table(trainer, target, bpt))
        return bpt

    # --- the loop: one merge per step -----------------------------------------------------------
    done_before, t_loop = trainer.n_merges, time.perf_counter()
    if trainer.n_merges == 0:
        record()  # the start: one token per byte
    while trainer.n_merges < target and not report.should_stop:
        if not trainer.step():
            report.log_text(f"no adjacent pair left after {trainer.n_merges} merges: the vocabulary stops at "
                            f"{256 + trainer.n_merges + len(specials)} ids")
            break
        n = trainer.n_merges
        if n % config.report_every == 0 or n == target:
            record()
        if n % config.ckpt_every == 0:
            save_checkpoint(report, trainer, config)
            left, right = trainer.merges[-1]
            report.log_text(f"merge {n}/{target}: {show(left)} + {show(right)}, held-out "
                            f"{trainer.heldout_bytes_per_token():.3f} bytes/token, {time.perf_counter() - t_start:.0f} s")
    save_checkpoint(report, trainer, config)
    bpt = record()
    train_s = time.perf_counter() - t_start

    # --- the finished tokenizer: checks, then saved --------------------------------------------
    tok = Tokenizer(finish_vocab(trainer.vocab, specials), trainer.merges, specials)
    final = {"merges": float(trainer.n_merges), "vocab_size": float(tok.vocab_size),
             "eval/bytes_per_token": bpt, "train_s": train_s}
    sample = corpus.val[: config.check_chars] + "".join(specials)
    ids = tok.encode(sample)
    final["check/round_trip"] = float(tok.decode(ids) == sample)
    final["check/incremental_matches_encode"] = float(len(tok.encode(corpus.val)) == trainer.heldout.n_tokens)
    if config.check_chars:
        final["check/tokenizers_ids"] = float(tokenizers_check(tok, sample))
        report.log_text(f"check: the tokenizers package with our merges gives "
                        f"{'the same' if final['check/tokenizers_ids'] else 'DIFFERENT'} ids on {len(sample):,} held-out characters")
    tok.save(report.run_dir / "tokenizer.json")
    if report.should_stop:
        report.log_text(f"stopped at {trainer.n_merges} merges; checkpoint saved, `pathway lab resume` continues from here")
    elif ENDOFTEXT in specials:
        path = course_path(report.cache_dir, config.vocab_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        tok.save(path)
        report.log_text(f"saved to {path}: the llama lab uses it at vocab_size={config.vocab_size}")
    else:
        report.log_text(f"not saved to the shared cache: the llama lab needs {ENDOFTEXT} among special_tokens")
    report.log_text(f"done in {time.perf_counter() - t_start:.0f} s: {tok.vocab_size} ids, held-out {bpt:.3f} bytes per token")
    return final
