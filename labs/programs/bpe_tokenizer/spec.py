"""The bpe-tokenizer lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free (so is the lab itself): the TUI imports this; the training program is `train.py` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec
from pathway.labs.engine.settings import knob


@dataclass
class BpeTokenizerConfig:
    """Byte-level BPE trained by the lab's own code on the lessons and the Python stdlib source."""

    vocab_size: int = knob(
        4096, lo=1, hi=1_000_000,
        help="ids in the finished tokenizer: 256 bytes + one per merge + the special tokens. 4096 on code gives "
        "about 3.5 bytes per token; GPT-2 used 50257, Llama 3 128256",
    )
    special_tokens: str = knob(
        "<|endoftext|>", pattern=r"([^,\s]+(\s*,\s*[^,\s]+)*)?", hint="comma-separated tokens, or empty for none",
        help="comma-separated tokens that always get one id each and are never split or merged; the llama "
        "lab ends documents with <|endoftext|>",
    )
    corpus_chars: int = knob(
        5_000_000, lo=1_000, hi=200_000_000,
        help="training characters: English lessons (at most a tenth), then stdlib files in a fixed hash order. "
        "Held-out stdlib files (one in twenty) measure bytes per token",
    )
    report_every: int = knob(32, lo=1, hi=1_000_000, help="merges between chart points and sample-pane updates")
    ckpt_every: int = knob(512, lo=1, hi=1_000_000, help="merges between checkpoints (the merges so far); a killed run resumes from the last one")
    check_chars: int = knob(
        300_000, lo=0, hi=100_000_000,
        help="held-out characters encoded at the end by our tokenizer and by the tokenizers package with our "
        "merges: the ids must be identical. 0 = skip the check",
    )

    def special_list(self) -> list[str]:
        return [s.strip() for s in self.special_tokens.split(",") if s.strip()]

    def check(self) -> None:
        """Cross-field checks that a range cannot express."""
        from pathway.errors import PathwayError

        specials = self.special_list()
        if len(set(specials)) != len(specials):
            raise PathwayError(f"special_tokens={self.special_tokens!r} names a token twice; list each once.")
        floor = 256 + len(specials)
        if self.vocab_size < floor:
            raise PathwayError(
                f"vocab_size={self.vocab_size} is too small: a byte-level BPE vocabulary holds the 256 byte ids and "
                f"one id per special token ({len(specials)} here) before its first merge. Use vocab_size={floor} "
                f"or more (4096 is the default)."
            )


SPEC = LabSpec(
    id="bpe-tokenizer",
    title="Byte-level BPE tokenizer: GPT-2's algorithm written out, checked against the tokenizers package",
    description=(
        "The tokenizer the Llama lab trains on: GPT-2's regex pre-tokenization, UTF-8 bytes as the base "
        "alphabet (no unknown token), special tokens that are never split, and merges learned from the "
        "lessons and the stdlib source with pair counts updated after each merge (an index and a heap, "
        "not a recount). Watch held-out bytes per token climb as merges grow; at the end the vocab and "
        "merges are loaded into the tokenizers package, which must give the same ids."
    ),
    lesson_ids=("w09-tokenization-embeddings",),
    config_cls=BpeTokenizerConfig,
    module="pathway.labs.programs.bpe_tokenizer.train",
    expected_seconds={"cpu": 20, "cuda": 20},  # pure Python, ~10 s of merges on 5 MB: a GPU does not help
    chart_metrics=("eval/bytes_per_token", "train/bytes_per_token"),
    chart_x_label="merges",
    goals=(
        Goal("check/tokenizers_ids", above=0.5,
             why="The tokenizers package, given our vocab and merges, must produce the same ids on held-out text."),
        Goal("check/round_trip", above=0.5, why="decode(encode(text)) must give the held-out text back exactly."),
        Goal("eval/bytes_per_token", above=2.0,
             why="Below 2 bytes per token the merges compressed little; use a larger vocab_size or corpus_chars."),
    ),
)
