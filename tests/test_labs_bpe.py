"""The bpe-tokenizer lab: our byte-level BPE against a brute-force reference and the `tokenizers` package.

The reference trainer below recounts every pair after every merge (the slow,
obvious way); the lab's incremental counts must give the same merges. The
`tokenizers` check loads our vocab and merges into its BPE model, which applies
them with its own code: the ids must be identical on held-out text.
"""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathway.errors import PathwayError
from pathway.labs.programs.bpe_tokenizer import bpe
from pathway.labs.programs.bpe_tokenizer.bpe import ENDOFTEXT, Tokenizer, course_tokenizer, train_bpe

SPECIALS = [ENDOFTEXT, "<|pad|>"]


def reference_train(text: str, vocab_size: int, special_tokens=()) -> list[tuple[bytes, bytes]]:
    """Recount all pairs each round; the most frequent wins, ties to the greatest (left, right) bytes."""
    words = Counter()
    for part in bpe.special_splitter(special_tokens).split(text) if special_tokens else [text]:
        if part not in special_tokens:
            words.update(tuple(bytes([b]) for b in p.encode()) for p in bpe.PRETOKEN.findall(part))
    merges = []
    while len(merges) < vocab_size - 256 - len(special_tokens):
        pairs = Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        new_words = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] += c
        words = new_words
    return merges


# --- training ------------------------------------------------------------------------------------

def test_ties_go_to_the_greatest_pair_of_byte_strings():
    # "ab" and "cd" occur twice each, as do " a" and " c"... every pair ties; (c, d) is the greatest
    vocab, merges = train_bpe("ab cd ab cd", 256 + 1)
    assert merges == [(b"c", b"d")]
    # (a, a), (a, b) and (y, b) all occur 3 times: the greatest, (y, b), goes first; the smallest-pair
    # convention would pick (a, a) and the two diverge from there
    text = "aab aab aab yb yb yb"
    _, merges = train_bpe(text, 256 + 3)
    assert merges[0] == (b"y", b"b")
    assert merges == reference_train(text, 256 + 3)


def test_ties_compare_bytes_not_ids():
    # After (a, a) -> id 256 ("aa"), the pairs ("aa", "x") and ("b", "x") tie: b"b" > b"aa" wins,
    # although id 256 > id 98 would pick "aa" if ids were compared.
    text = "aaaa\naax\naax\nbx\nbx"  # one word per line: no " a" pairs
    vocab, merges = train_bpe(text, 256 + 2)
    assert merges[0] == (b"a", b"a")
    assert merges[1] == (b"b", b"x"), merges
    assert merges == reference_train(text, 256 + 2)


def test_prefix_sorts_below_its_extension():
    assert sorted([b"ab", b"a", b"b", b"", b"\xff", b"a\x00"], key=bpe.order_key) == sorted(
        [b"ab", b"a", b"b", b"", b"\xff", b"a\x00"], reverse=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["ab", "ba", "aab", " ab", "abab", "bb", "a", "b", "  ", "\n", "<|pad|>", "c!"]),
                min_size=1, max_size=40), st.integers(257 + 2, 290))
def test_incremental_counts_give_the_reference_merges(parts, vocab_size):
    text = "".join(parts)
    vocab, merges = train_bpe(text, vocab_size, SPECIALS)
    assert merges == reference_train(text, vocab_size, SPECIALS)
    assert [vocab[i] for i in range(256)] == [bytes([b]) for b in range(256)]
    assert [vocab[256 + i] for i in range(len(merges))] == [a + b for a, b in merges]
    assert [vocab[i] for i in range(256 + len(merges), len(vocab))] == [s.encode() for s in SPECIALS]


def test_reference_agrees_on_real_text(course):
    text = course.train[:20_000]
    assert train_bpe(text, 400)[1] == reference_train(text, 400)


def test_a_vocabulary_too_small_is_refused():
    with pytest.raises(PathwayError, match=r"vocab_size=257 is too small.*at least 258"):
        train_bpe("hello", 257, SPECIALS)


# --- encoding ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course():
    from pathway.labs.programs.char_transformer.corpus import load_corpus

    return load_corpus(max_chars=300_000)


@pytest.fixture(scope="module")
def tok(course) -> Tokenizer:
    vocab, merges = train_bpe(course.train, 1000, SPECIALS)
    return Tokenizer(vocab, merges, SPECIALS)


def hf_tokenizer(tok: Tokenizer):
    """The `tokenizers` package's BPE model holding our vocab and merges, written in GPT-2's byte alphabet."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    specials = set(tok.special_ids.values())
    vocab = {bpe.to_printable(t): i for i, t in tok.vocab.items() if i not in specials}
    assert len(vocab) == len(tok.vocab) - len(specials)  # no byte string twice
    merges = [(bpe.to_printable(a), bpe.to_printable(b)) for a, b in tok.merges]
    hf = HFTokenizer(models.BPE(vocab, merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens(list(tok.special_ids))
    assert all(hf.token_to_id(s) == i for s, i in tok.special_ids.items())
    return hf


def test_tokenizers_package_gives_the_same_ids_on_held_out_text(tok, course):
    hf = hf_tokenizer(tok)
    held_out = course.val[:200_000]
    assert course.val[:2000] not in course.train
    ids = tok.encode(held_out)
    assert ids == hf.encode(held_out).ids
    assert len(held_out.encode()) / len(ids) > 2.0  # merges that learned something
    mixed = "héllo wörld 你好 🙂\n\n  x = 1<|endoftext|>def f(): <|pad|>\t'll 've 123"
    assert tok.encode(mixed) == hf.encode(mixed).ids


def test_gpt2_byte_alphabet():
    table = bpe.byte_to_unicode()
    assert len(set(table.values())) == 256 and all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"
    from tokenizers import pre_tokenizers

    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_decode_encode_is_the_identity_on_any_unicode(tok, s):
    assert tok.decode(tok.encode(s)) == s


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=8), st.sampled_from(SPECIALS)), max_size=8))
def test_special_tokens_come_out_as_single_ids(tok, parts):
    text = "".join(parts)
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    n_specials = len(bpe.special_splitter(SPECIALS).findall(text))
    assert sum(i in tok.special_ids.values() for i in ids) == n_specials


def test_special_token_in_the_middle_of_a_word(tok):
    ids = tok.encode("abc<|endoftext|>def<|pad|><|endoftext|>")
    eot, pad = tok.special_ids[ENDOFTEXT], tok.special_ids["<|pad|>"]
    assert ids.count(eot) == 2 and ids.count(pad) == 1 and ids[-2:] == [pad, eot]
    assert tok.decode(ids[:ids.index(eot)]) == "abc"


def test_decode_of_a_cut_character_replaces_it(tok):
    ids = tok.encode("é")
    raw = b"".join(tok.vocab[i] for i in ids)
    assert raw == "é".encode() and tok.decode([raw[0]]) == "\ufffd"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <|endoftext|>\n\t'sl1é")), max_size=60), st.data())
def test_encode_iterable_equals_encode_wherever_the_chunks_are_cut(tok, text, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=10)))
    chunks = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)])]
    assert list(tok.encode_iterable(chunks)) == tok.encode(text)


@pytest.mark.slow
def test_encode_iterable_keeps_memory_flat_on_a_big_file(tok, tmp_path):
    rng = random.Random(0)
    words = ["def", "return", "self", "import", "x", "None", "==", "(", ")", ":", "lambda", "héllo", "<|endoftext|>"]
    path = tmp_path / "big.txt"
    with path.open("w", encoding="utf-8") as f:
        for _ in range(60_000):  # about 2.5 MB
            f.write("    " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + "\n")
    size = path.stat().st_size
    with path.open(encoding="utf-8") as f:
        expected = sum(1 for _ in Tokenizer.encode(tok, f.read()))
    tracemalloc.start()
    try:
        with path.open(encoding="utf-8") as f:
            n = sum(1 for _ in tok.encode_iterable(f))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == expected
    assert size > 2_000_000 and peak < 1_000_000, f"peak {peak:,} bytes while streaming a {size:,}-byte file"


# --- files and the shared course tokenizer ---------------------------------------------------------

def test_save_and_load_round_trip(tok, tmp_path):
    path = tmp_path / "tok.json"
    tok.save(path)
    assert '"Ġ' in path.read_text(encoding="utf-8")  # GPT-2's readable alphabet
    again = Tokenizer.load(path)
    assert again.vocab == tok.vocab and again.merges == tok.merges and again.special_ids == tok.special_ids
    text = "for i in range(10):\n    print(i)<|endoftext|>"
    assert again.encode(text) == tok.encode(text)


def test_a_broken_file_is_named(tmp_path):
    path = tmp_path / "tok.json"
    path.write_text("{not json")
    with pytest.raises(PathwayError, match="Cannot read the tokenizer file .*tok.json"):
        Tokenizer.load(path)


def test_course_tokenizer_trains_once_then_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(bpe, "COURSE_SAMPLE_CHARS", 100_000)  # a smaller sample keeps the test short
    lines: list[str] = []
    first = course_tokenizer(tmp_path, 300, log=lines.append)
    assert Path(tmp_path / "bpe" / "course-300.json").exists() and any("training" in line for line in lines)
    assert first.vocab_size == 300 and ENDOFTEXT in first.special_ids
    lines.clear()
    second = course_tokenizer(tmp_path, 300, log=lines.append)
    assert lines == [] and second.merges == first.merges


# --- the lab ---------------------------------------------------------------------------------------

def lab_config(**overrides):
    from pathway.labs import catalog

    values = {"vocab_size": 700, "corpus_chars": 200_000, "report_every": 16, "ckpt_every": 100, "check_chars": 50_000}
    values.update(overrides)
    return catalog.build_config("bpe-tokenizer", values, cuda=False)


def test_settings_refuse_a_vocabulary_without_room_for_the_bytes_and_specials():
    from pathway.labs import catalog

    with pytest.raises(PathwayError, match=r"vocab_size=257 is too small.*2 here.*vocab_size=258 or more"):
        catalog.validate_config("bpe-tokenizer", {"vocab_size": 257, "special_tokens": "<|endoftext|>,<|pad|>"}, cuda=False)
    assert catalog.validate_config("bpe-tokenizer", {"vocab_size": 257}, cuda=False) == {"vocab_size": 257}
    with pytest.raises(PathwayError, match="names a token twice"):
        catalog.validate_config("bpe-tokenizer", {"special_tokens": "<|a|>, <|a|>"}, cuda=False)


class StopAfter:
    """A LocalReport that asks the lab to stop once `n` merges are reported, as SIGINT would."""

    def __init__(self, report, n: int) -> None:
        self.__dict__["_report"], self.__dict__["_n"] = report, n

    def __getattr__(self, name):
        return getattr(self._report, name)

    def __setattr__(self, name, value):
        setattr(self._report, name, value)

    def step(self, step: int, **metrics: float) -> None:
        self._report.step(step, **metrics)
        if step >= self._n:
            self._report.should_stop = True


@pytest.mark.slow
def test_lab_run_reports_merges_checks_and_resumes(tmp_path):
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.bpe_tokenizer import train as lab

    config = lab_config()
    whole = LocalReport(tmp_path / "whole")
    final = lab.train(config, whole)
    assert final["check/tokenizers_ids"] == 1.0 and final["check/round_trip"] == 1.0
    assert final["check/incremental_matches_encode"] == 1.0
    assert final["merges"] == 700 - 257 and final["vocab_size"] == 700
    bpt = whole.series("eval/bytes_per_token")
    assert bpt[0] == 1.0 and bpt == sorted(bpt) and bpt[-1] > 2.0  # every merge shortens the held-out text
    assert "443/443 merges" in (tmp_path / "whole" / "sample.txt").read_text()
    cached = tmp_path / "whole" / "cache" / "bpe" / "course-700.json"
    assert Tokenizer.load(cached).merges == Tokenizer.load(tmp_path / "whole" / "tokenizer.json").merges

    stopped = LocalReport(tmp_path / "resumed")
    lab.train(config, StopAfter(stopped, 200))
    assert not (tmp_path / "resumed" / "cache" / "bpe" / "course-700.json").exists()  # unfinished: not shared
    again = LocalReport(tmp_path / "resumed", resuming=True)
    lab.train(config, again)
    assert again.rewound == 208 and any("208 merges replayed" in line for line in again.lines)
    assert Tokenizer.load(tmp_path / "resumed" / "tokenizer.json").merges == Tokenizer.load(cached).merges


@pytest.mark.slow
def test_runs_through_the_runner(engine, home, monkeypatch):
    from lab_helpers import run_to_the_end

    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    settings = {"vocab_size": 600, "corpus_chars": 150_000, "report_every": 50, "ckpt_every": 100, "check_chars": 30_000}
    run_id = jobs.start(engine, home, "bpe-tokenizer", settings)
    run = run_to_the_end(engine, run_id)
    assert run.status == "succeeded", jobs.tail_log(run, 40)
    names = {p.name for p in jobs.metrics_since(engine, run_id)}
    assert {"eval/bytes_per_token", "train/bytes_per_token", "train/merges_per_s"} <= names
    final = jobs.final_metrics(run)
    assert final["check/tokenizers_ids"] == 1.0 and final["merges"] == 600 - 257
    assert final["eval/bytes_per_token"] > 2.0  # the goal a finished run is judged on
    assert (Path(run.run_dir) / "sample.txt").read_text().startswith("343/343 merges")
    assert (Path(run.run_dir) / "tokenizer.json").exists()


def test_a_special_token_added_later_does_not_take_a_byte_the_merges_use():
    vocab, merges = train_bpe("!! !! !! x", 260)  # merges such as (b"!", b"!") use the byte "!"
    assert (b"!", b"!") in merges
    tok = Tokenizer(vocab, merges, ["!"])  # "!" now reserved: a new id, byte 33 stays a byte
    assert tok.special_ids["!"] == len(vocab) and tok.vocab[33] == b"!"
    assert tok.encode("x!!") == [ord("x"), tok.special_ids["!"], tok.special_ids["!"]]
    assert Tokenizer(vocab, merges).encode("!!") == [256]  # without the special: the learned merge
