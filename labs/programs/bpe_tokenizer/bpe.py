"""Byte-level BPE, written out: training with incrementally updated pair counts, and a tokenizer.

    vocab, merges = train_bpe(text, vocab_size=4096, special_tokens=["<|endoftext|>"])
    tok = Tokenizer(vocab, merges, special_tokens=["<|endoftext|>"])
    ids = tok.encode("def f(x):<|endoftext|>")
    tok.decode(ids)                                   # the same text back, byte for byte
    ids = tok.encode_iterable(open("big.txt"))        # a generator: memory stays flat on any file size

The pieces, in GPT-2's order:

1. Special tokens are cut out of the text first; they are never split and
   never take part in a merge.
2. Pre-tokenization: GPT-2's regex splits the rest into pieces (a word with its
   leading space, a number, a run of punctuation, whitespace). Merges never
   cross a piece boundary, so " the" and "the" learn separately but "the cat"
   never becomes one token.
3. Every piece starts as its UTF-8 bytes: ids 0..255. No unknown token exists.
4. Training repeats: find the most frequent adjacent pair, give it the next
   id, replace it everywhere. Ties go to the lexicographically greatest pair of
   byte strings (GPT-2's convention). The counts are *updated* after each merge
   from the words that held the pair (an index from pair to words), and the
   maximum comes from a heap: a recount would cost a pass over the whole corpus
   per merge.

The big-data reading: pre-tokenization is a GROUP BY word; training is an
iterative top-1 over a pair-count table that is maintained incrementally, like
a materialized view, instead of being recomputed.

Torch-free: stdlib and the `regex` package (for \\p{L}, which `re` lacks).
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import regex

from pathway.errors import PathwayError
from pathway.files import atomic_write

# GPT-2's pre-tokenizer: contractions, then letters / numbers / other symbols each with one optional
# leading space, then whitespace (the lookahead leaves the last space to join the next word).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
PRETOKEN = regex.compile(GPT2_PATTERN)
ENDOFTEXT = "<|endoftext|>"
FORMAT = "pathway-bpe/1"
COURSE_SAMPLE_CHARS = 5_000_000  # what course_tokenizer trains on when nothing is cached (as a default lab run): ~10 s

Pair = tuple[int, int]


# --- pre-tokenization ----------------------------------------------------------------------------

def special_splitter(special_tokens: Sequence[str]) -> regex.Pattern | None:
    """A pattern whose split keeps the special tokens as separate parts; the longest wins on overlap."""
    if not special_tokens:
        return None
    alternatives = sorted(set(special_tokens), key=len, reverse=True)
    return regex.compile("(" + "|".join(regex.escape(s) for s in alternatives) + ")")


def count_pretokens(text: str, special_tokens: Sequence[str] = ()) -> Counter[str]:
    """How often each pre-token occurs, with the special tokens removed (a merge never spans one)."""
    counts: Counter[str] = Counter()
    splitter = special_splitter(special_tokens)
    specials = set(special_tokens)
    parts = splitter.split(text) if splitter else [text]
    for part in parts:
        if part and part not in specials:
            counts.update(PRETOKEN.findall(part))
    return counts


# --- training ------------------------------------------------------------------------------------

class WordTable:
    """Distinct pre-tokens as lists of ids, their counts, and which words hold each adjacent pair.

    A merge rewrites only the words listed under its pair and returns how each
    pair's count changed, so the caller can update its counts instead of recounting.
    """

    def __init__(self, pretoken_counts: Counter[str]) -> None:
        self.words: list[list[int]] = [list(p.encode("utf-8")) for p in pretoken_counts]
        self.counts: list[int] = list(pretoken_counts.values())
        self.where: defaultdict[Pair, set[int]] = defaultdict(set)  # pair -> indices of words holding it
        for index, word in enumerate(self.words):
            for pair in zip(word, word[1:]):
                self.where[pair].add(index)
        self.n_tokens = sum(len(w) * c for w, c in zip(self.words, self.counts))  # tokens in the whole text
        self.n_bytes = self.n_tokens  # before any merge, one token per byte

    def pair_counts(self) -> Counter[Pair]:
        counts: Counter[Pair] = Counter()
        for word, c in zip(self.words, self.counts):
            for pair in zip(word, word[1:]):
                counts[pair] += c
        return counts

    def merge(self, pair: Pair, new_id: int) -> dict[Pair, int]:
        """Replace `pair` by `new_id` in every word that holds it, left to right; return count changes per pair."""
        a, b = pair
        delta: defaultdict[Pair, int] = defaultdict(int)
        for index in self.where.pop(pair, ()):
            word, c = self.words[index], self.counts[index]
            merged, i, n = [], 0, len(word)
            while i < n:
                if word[i] == a and i + 1 < n and word[i + 1] == b:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            old_pairs, new_pairs = list(zip(word, word[1:])), list(zip(merged, merged[1:]))
            for p in old_pairs:
                delta[p] -= c
            for p in new_pairs:
                delta[p] += c
            old_set, new_set = set(old_pairs), set(new_pairs)
            for p in old_set - new_set:
                if p != pair:
                    self.where[p].discard(index)
            for p in new_set - old_set:
                self.where[p].add(index)
            self.n_tokens -= c * (n - len(merged))
            self.words[index] = merged
        return {p: d for p, d in delta.items() if d}


def order_key(token: bytes) -> tuple[int, ...]:
    """A key that sorts byte strings in *descending* order, so a min-heap pops the greatest first.

    Each byte is flipped (255 - b) and 256 ends the string: a prefix then sorts
    after its extensions, as b"ab" > b"a" requires.
    """
    return tuple(255 - b for b in token) + (256,)


class BpeTrainer:
    """Merges one pair at a time; the held-out table (if any) gets every merge too, for bytes per token.

        trainer = BpeTrainer(count_pretokens(train_text), heldout=count_pretokens(val_text))
        while trainer.n_merges < 3840 and trainer.step():
            print(trainer.merges[-1], trainer.heldout_bytes_per_token())
    """

    def __init__(self, pretoken_counts: Counter[str], heldout: Counter[str] | None = None) -> None:
        self.table = WordTable(pretoken_counts)
        self.heldout = WordTable(heldout) if heldout is not None else None
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        self.keys: dict[int, tuple[int, ...]] = {i: order_key(t) for i, t in self.vocab.items()}
        self.merges: list[tuple[bytes, bytes]] = []
        self.merge_counts: list[int] = []  # how often each merged pair occurred when it was merged
        self.counts = self.table.pair_counts()
        # Lazy max-heap: an entry is current only while its count equals self.counts[pair]; a changed
        # count pushes a fresh entry and the stale one is dropped when it surfaces.
        self.heap = [self._entry(pair, c) for pair, c in self.counts.items()]
        heapq.heapify(self.heap)

    @property
    def n_merges(self) -> int:
        return len(self.merges)

    def _entry(self, pair: Pair, count: int) -> tuple:
        a, b = pair
        return (-count, self.keys[a], self.keys[b], a, b)  # most frequent first, then greatest bytes

    def best_pair(self) -> tuple[Pair, int] | None:
        """The pair to merge next and its count, or None when no adjacent pair is left."""
        while self.heap:
            neg, _, _, a, b = self.heap[0]
            if self.counts.get((a, b), 0) == -neg:
                return (a, b), -neg
            heapq.heappop(self.heap)  # stale
        return None

    def step(self) -> bool:
        """Do the next merge; False when no pair is left to merge."""
        best = self.best_pair()
        if best is None:
            return False
        self.apply(best[0])
        return True

    def apply(self, pair: Pair) -> int:
        """Merge `pair` into a new id (training, or replaying saved merges on resume); return the id."""
        a, b = pair
        new_id = len(self.vocab)
        self.vocab[new_id] = self.vocab[a] + self.vocab[b]
        self.keys[new_id] = order_key(self.vocab[new_id])
        self.merges.append((self.vocab[a], self.vocab[b]))
        self.merge_counts.append(self.counts.get(pair, 0))
        for p, d in self.table.merge(pair, new_id).items():
            c = self.counts.get(p, 0) + d
            if c > 0:
                self.counts[p] = c
                heapq.heappush(self.heap, self._entry(p, c))
            else:
                self.counts.pop(p, None)
        self.counts.pop(pair, None)
        if self.heldout is not None:
            self.heldout.merge(pair, new_id)
        return new_id

    def replay(self, merges: Iterable[tuple[bytes, bytes]]) -> None:
        """Apply saved merges in order (resume): the same state as having trained them."""
        ids = {t: i for i, t in self.vocab.items()}
        for left, right in merges:
            if left not in ids or right not in ids:
                raise PathwayError(f"The saved merge {left!r} + {right!r} uses a token that earlier merges never made; "
                                   "the checkpoint does not belong to this text. Start a new run.")
            new_id = self.apply((ids[left], ids[right]))
            ids.setdefault(self.vocab[new_id], new_id)

    def heldout_bytes_per_token(self) -> float:
        """UTF-8 bytes of held-out text per token after the merges so far (1.0 before any)."""
        if self.heldout is None or not self.heldout.n_tokens:
            return float("nan")
        return self.heldout.n_bytes / self.heldout.n_tokens


def finish_vocab(vocab: dict[int, bytes], special_tokens: Sequence[str]) -> dict[int, bytes]:
    """The merge vocabulary with the special tokens appended after the last merge."""
    out = dict(vocab)
    for s in dict.fromkeys(special_tokens):
        out[len(out)] = s.encode("utf-8")
    return out


def check_vocab_size(vocab_size: int, special_tokens: Sequence[str]) -> None:
    floor = 256 + len(set(special_tokens))
    if vocab_size < floor:
        raise PathwayError(
            f"vocab_size={vocab_size} is too small: byte-level BPE needs 256 byte ids plus one per special token "
            f"({len(set(special_tokens))} here) before any merge. Use vocab_size of at least {floor}."
        )


def train_bpe(text: str, vocab_size: int, special_tokens: Sequence[str] = ()) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Learn byte-level BPE on `text`: ids 0..255 are bytes, then one id per merge in order, then the specials.

    Stops early (a smaller vocabulary) when no adjacent pair is left.
    """
    check_vocab_size(vocab_size, special_tokens)
    trainer = BpeTrainer(count_pretokens(text, special_tokens))
    n_merges = vocab_size - 256 - len(set(special_tokens))
    while trainer.n_merges < n_merges and trainer.step():
        pass
    return finish_vocab(trainer.vocab, special_tokens), trainer.merges


# --- encoding ------------------------------------------------------------------------------------

class Tokenizer:
    """Encode text with learned merges: apply them by rank inside each pre-token, as GPT-2 does."""

    CACHE_LIMIT = 50_000  # distinct pre-tokens remembered; cleared when full, so memory stays bounded

    def __init__(self, vocab: dict[int, bytes], merges: Sequence[tuple[bytes, bytes]], special_tokens: Sequence[str] = ()) -> None:
        self.vocab = dict(vocab)
        self.merges = [(bytes(a), bytes(b)) for a, b in merges]
        self.special_tokens = list(dict.fromkeys(special_tokens))
        self.special_ids: dict[str, int] = {}
        for s in self.special_tokens:  # train_bpe appends them after the merges; one missing gets the next free id
            found = [i for i, t in self.vocab.items() if t == s.encode("utf-8") and i >= 256]
            self.special_ids[s] = max(found) if found else max(self.vocab, default=-1) + 1
            self.vocab[self.special_ids[s]] = s.encode("utf-8")
        reserved = set(self.special_ids.values())
        ids: dict[bytes, int] = {}  # byte string -> id, for the merges
        for i in sorted(self.vocab):
            if i not in reserved:
                ids.setdefault(self.vocab[i], i)
        self.ranks: dict[Pair, tuple[int, int]] = {}  # (left id, right id) -> (rank, merged id)
        for rank, (a, b) in enumerate(self.merges):
            try:
                self.ranks.setdefault((ids[a], ids[b]), (rank, ids[a + b]))
            except KeyError:
                raise PathwayError(f"Merge {rank} ({a!r} + {b!r}) names a token missing from the vocabulary; "
                                   "the vocabulary and merges come from different trainings.") from None
        self._splitter = special_splitter(self.special_tokens)
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _encode_piece(self, piece: str) -> list[int]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        word = list(piece.encode("utf-8"))
        ranks = self.ranks
        while len(word) > 1:
            # the adjacent pair merged earliest in training goes first
            best = min(zip(word, word[1:]), key=lambda p: ranks.get(p, (1 << 62,))[0])
            if best not in ranks:
                break
            new_id = ranks[best][1]
            merged, i, n = [], 0, len(word)
            while i < n:
                if i + 1 < n and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        if len(self._cache) >= self.CACHE_LIMIT:
            self._cache.clear()
        self._cache[piece] = word
        return word

    def _encode_ordinary(self, text: str) -> list[int]:
        out: list[int] = []
        for piece in PRETOKEN.findall(text):
            out.extend(self._encode_piece(piece))
        return out

    def encode(self, text: str) -> list[int]:
        """Ids for `text`; each special token is one id, never split."""
        if self._splitter is None:
            return self._encode_ordinary(text)
        out: list[int] = []
        for part in self._splitter.split(text):
            if part in self.special_ids:
                out.append(self.special_ids[part])
            elif part:
                out.extend(self._encode_ordinary(part))
        return out

    def encode_iterable(self, chunks: Iterable[str]) -> Iterator[int]:
        """The ids of the concatenated chunks (e.g. a file's lines), produced lazily with bounded memory.

        The same ids as `encode("".join(chunks))`: the text after the last
        pre-token boundary (and any tail that could begin a special token) is
        held back until the next chunk shows how it ends.
        """
        buffer = ""
        for chunk in chunks:
            buffer += chunk
            cut = self._safe_cut(buffer)
            if cut:
                yield from self.encode(buffer[:cut])
                buffer = buffer[cut:]
        if buffer:
            yield from self.encode(buffer)

    def _safe_cut(self, text: str) -> int:
        """How much of `text` encodes the same whatever follows it: up to the start of its last pre-token."""
        tail_start = 0
        if self._splitter is not None:
            last = None
            for last in self._splitter.finditer(text):
                pass
            if last is not None:
                tail_start = last.end()
            longest = max(len(s) for s in self.special_tokens)
            for i in range(max(tail_start, len(text) - longest + 1), len(text)):
                if any(s.startswith(text[i:]) for s in self.special_tokens):
                    text = text[:i]  # a special token may be arriving: hold it back whole
                    break
        last_start = None
        for m in PRETOKEN.finditer(text, tail_start):
            last_start = m.start()
        return tail_start if last_start is None else last_start

    def decode(self, ids: Iterable[int]) -> str:
        """Text for `ids`; byte sequences that are not valid UTF-8 (a cut mid-character) become U+FFFD."""
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    # --- one JSON file ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        """Tokens in GPT-2's printable byte alphabet, so the file reads like text ("Ġthe" is " the")."""
        return {
            "format": FORMAT,
            "special_tokens": self.special_tokens,
            "vocab": {str(i): to_printable(t) for i, t in sorted(self.vocab.items())},
            "merges": [[to_printable(a), to_printable(b)] for a, b in self.merges],
        }

    def save(self, path: Path) -> None:
        atomic_write(Path(path), json.dumps(self.to_json(), ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path: Path) -> "Tokenizer":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {FORMAT!r}")
            vocab = {int(i): from_printable(t) for i, t in data["vocab"].items()}
            merges = [(from_printable(a), from_printable(b)) for a, b in data["merges"]]
            specials = list(data["special_tokens"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PathwayError(f"Cannot read the tokenizer file {path}: {exc}. Delete it and it is trained again.") from None
        return cls(vocab, merges, specials)


# --- GPT-2's printable byte alphabet -------------------------------------------------------------

def byte_to_unicode() -> dict[int, str]:
    """One printable character per byte value, as GPT-2's vocab files (and `tokenizers`' ByteLevel) write them.

    Bytes that are already printable, non-space Latin-1 characters stand for
    themselves; the other 68 (controls, space, soft hyphen...) are moved to
    code points 256, 257, ... in byte order. So b" " is "Ġ" and b"\\n" is "Ċ".
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shifted = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


BYTE_TO_UNICODE = byte_to_unicode()
UNICODE_TO_BYTE = {c: b for b, c in BYTE_TO_UNICODE.items()}


def to_printable(token: bytes) -> str:
    return "".join(BYTE_TO_UNICODE[b] for b in token)


def from_printable(text: str) -> bytes:
    return bytes(UNICODE_TO_BYTE[c] for c in text)


# --- the course tokenizer, shared with the llama and kv-cache labs -------------------------------

def course_path(cache_dir: Path, vocab_size: int) -> Path:
    return Path(cache_dir) / "bpe" / f"course-{vocab_size}.json"


def course_tokenizer(cache_dir: Path, vocab_size: int, log: Callable[[str], None] = print) -> Tokenizer:
    """The tokenizer trained on the course corpus at this vocabulary size, with "<|endoftext|>".

    Read from `cache_dir/bpe/course-<vocab_size>.json` (a bpe-tokenizer run
    saves there too); when absent, trained on a bounded sample of the corpus
    (lessons + stdlib, about 10 s on 2 cores) and saved, so the next lab finds it.
    """
    from pathway.labs.programs.char_transformer.corpus import load_corpus

    path = course_path(cache_dir, vocab_size)
    if path.exists():
        tok = Tokenizer.load(path)
        if ENDOFTEXT in tok.special_ids:
            return tok
        log(f"{path} has no {ENDOFTEXT} token; training the course tokenizer again")
    log(f"training a {vocab_size}-token byte-level BPE on {COURSE_SAMPLE_CHARS / 1e6:.0f}M characters of the course "
        f"corpus (once; saved to {path})")
    corpus = load_corpus(max_chars=COURSE_SAMPLE_CHARS)
    vocab, merges = train_bpe(corpus.train, vocab_size, [ENDOFTEXT])
    tok = Tokenizer(vocab, merges, [ENDOFTEXT])
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(path)
    return tok
