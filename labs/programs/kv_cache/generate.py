"""Text generation with the llama lab's model: prefill once, then decode one token at a time from the KV cache.

    model = Llama(args).eval()
    out = generate(model, [[5, 6, 7], [8]], max_new_tokens=32, pad_id=0)            # greedy, batched
    out = generate(model, prompts, 32, pad_id=0, sampling=Sampling(temperature=0.8, top_p=0.9),
                   generator=torch.Generator().manual_seed(0))
    ref = generate_uncached(model, prompts, 32, pad_id=0)                          # recompute the prefix each step
    assert torch.equal(out.tokens, ref.tokens)

Two phases:

- prefill: every prompt token goes through the model in one call (B, T0); the
  keys and values of every layer land in slots 0..T0-1 of the cache, and the
  last position's logits give the first new token.
- decode: one token per row per call (B, 1). Its query attends to all the
  cached keys; only its own key and value are computed and appended.

Prompts of different lengths are left-padded, so every row's last real token
sits in the last column and every row appends in the same cache slot. The
attention mask (True = a real token) keeps the padding out of attention, and
position ids count each row's real tokens (`mask.cumsum(-1) - 1`, clipped at
0: the Hugging Face convention), so RoPE sees a padded prompt at the same
positions as the same prompt alone.

The big-data reading: the cache is keyed state per sequence, appended to and
never rewritten; recomputing the prefix is re-reading the whole log at every
event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from pathway.errors import PathwayError

__all__ = ["Sampling", "Generation", "apply_temperature", "top_k_mask", "top_p_mask", "pick_next",
           "left_pad", "position_ids_from_mask", "generate", "generate_uncached", "kv_bytes_per_token"]


# --- sampling -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen from the logits. temperature 0 = greedy (argmax); top_k 0 and top_p 1 = off."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    def describe(self) -> str:
        if self.greedy:
            return "greedy"
        parts = [f"temperature {self.temperature:g}"]
        if self.top_k:
            parts.append(f"top-k {self.top_k}")
        if self.top_p < 1:
            parts.append(f"top-p {self.top_p:g}")
        return ", ".join(parts)


GREEDY = Sampling()


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / T: below 1 sharpens the distribution toward the argmax, above 1 flattens it."""
    if temperature <= 0:
        raise ValueError("temperature must be positive; use greedy decoding for 0")
    return logits / temperature


def top_k_mask(logits: torch.Tensor, k: int) -> torch.Tensor:
    """(B, V) bool, True for the k highest logits of each row (ties with the k-th are kept too, as Hugging Face does)."""
    if k <= 0 or k >= logits.size(-1):
        return torch.ones_like(logits, dtype=torch.bool)
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1): the k-th largest value
    return logits >= kth


def top_p_mask(logits: torch.Tensor, p: float) -> torch.Tensor:
    """(B, V) bool, True for the nucleus: the fewest most-likely tokens whose probabilities sum to at least p.

    A token is kept when the mass of the tokens ranked above it is still below p,
    so the most likely token is always kept and the one that crosses p is kept too.
    """
    if p >= 1:
        return torch.ones_like(logits, dtype=torch.bool)
    probs, order = torch.softmax(logits.float(), dim=-1).sort(dim=-1, descending=True)
    mass_above = probs.cumsum(dim=-1) - probs  # (B, V): probability of everything ranked higher
    keep_sorted = mass_above < p
    return torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)  # back to vocabulary order


def pick_next(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, V) logits of the last position -> (B,) next token ids. Order: temperature, then top-k, then top-p."""
    if sampling.greedy:
        return logits.argmax(dim=-1)
    logits = apply_temperature(logits.float(), sampling.temperature)
    logits = logits.masked_fill(~top_k_mask(logits, sampling.top_k), float("-inf"))
    logits = logits.masked_fill(~top_p_mask(logits, sampling.top_p), float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    # draw on the CPU with the caller's seeded generator: the same seed gives the same text on any device
    return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).to(logits.device)


# --- batching -----------------------------------------------------------------------------

def left_pad(prompts: list[list[int]], pad_id: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (B, T) with T the longest prompt; the mask is True on real tokens.

    The mask comes from the lengths, not from `ids != pad_id`: the pad id may be a real token too (often EOS).
    """
    if not prompts or any(len(p) == 0 for p in prompts):
        raise PathwayError("Every prompt needs at least one token: an empty prompt gives the model nothing to continue.")
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.bool)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt):] = True
    return ids.to(device), mask.to(device)


def position_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """Each real token's index among its row's real tokens; padding gets 0 (it is never attended to)."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def kv_bytes_per_token(args, element_size: int) -> int:
    """2 (K and V) x layers x KV heads x head_dim x bytes per element: what one position of one row costs."""
    return 2 * args.n_layers * args.n_kv_heads * args.head_dim * element_size


# --- generation ---------------------------------------------------------------------------

@dataclass
class Generation:
    """What one generate() call produced, and what it cost."""

    tokens: torch.Tensor  # (B, n) new token ids; after a row's EOS, pad ids
    prompt_lengths: list[int]
    prefill_s: float  # the first call: all prompt tokens at once
    step_s: list[float] = field(default_factory=list)  # each decode call after it, one token per row
    cache_bytes: int = 0  # the KVCache's allocated k and v (0 without a cache)
    cache_max_len: int = 0

    def rows(self, eos_id: int | None = None) -> list[list[int]]:
        """The new tokens of each row as lists, cut after the first EOS (kept) when eos_id is given."""
        out = []
        for row in self.tokens.tolist():
            if eos_id is not None and eos_id in row:
                row = row[:row.index(eos_id) + 1]
            out.append(row)
        return out

    @property
    def decode_tokens_per_s(self) -> float:
        """New tokens per second in the decode phase, over all rows (the prefill is timed apart)."""
        seconds = sum(self.step_s)
        return self.tokens.size(0) * len(self.step_s) / seconds if seconds > 0 else float("nan")


def check_fits(model, prompt_lengths: list[int], max_new_tokens: int) -> int:
    """Positions the longest row needs; a PathwayError naming the numbers when they exceed the model's context."""
    need = max(prompt_lengths) + max_new_tokens
    context = model.args.max_seq_len
    if need > context:
        longest = max(range(len(prompt_lengths)), key=prompt_lengths.__getitem__)
        raise PathwayError(
            f"Prompt {longest + 1} is {prompt_lengths[longest]} tokens; with max_new_tokens={max_new_tokens} generation "
            f"needs {need} positions, but the model's context (max_seq_len) is {context}. Shorten the prompt or lower "
            "max_new_tokens: RoPE was trained only on positions below the context."
        )
    return need


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # CPU-GPU sync point: only so the step times are the work, not its launch


def _finish(nxt: torch.Tensor, done: torch.Tensor, pad_id: int, eos_id: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows that already ended emit padding; a row that emits EOS ends."""
    nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
    if eos_id is not None:
        done = done | (nxt == eos_id)
    return nxt, done


@torch.inference_mode()
def generate(model, prompts: list[list[int]], max_new_tokens: int, *, pad_id: int, eos_id: int | None = None,
             sampling: Sampling = GREEDY, generator: torch.Generator | None = None) -> Generation:
    """Batched generation with the KV cache: one prefill call, then one decode call per new token.

    Stops early only when every row has emitted eos_id (None = never stop early).
    """
    from pathway.labs.programs.llama.model import KVCache

    device = next(model.parameters()).device
    lengths = [len(p) for p in prompts]
    need = check_fits(model, lengths, max_new_tokens)
    ids, mask = left_pad(prompts, pad_id, device)  # (B, T0)
    cache = KVCache(model.args, len(prompts), need, device=device, dtype=next(model.parameters()).dtype)
    done = torch.zeros(len(prompts), dtype=torch.bool, device=device)

    t0 = time.perf_counter()
    logits = model(ids, cache=cache, attention_mask=mask, position_ids=position_ids_from_mask(mask))[:, -1]  # prefill
    nxt, done = _finish(pick_next(logits, sampling, generator), done, pad_id, eos_id)
    _sync(device)
    out = Generation(tokens=nxt[:, None], prompt_lengths=lengths, prefill_s=time.perf_counter() - t0,
                     cache_bytes=cache.nbytes(), cache_max_len=need)
    new = [nxt]
    while len(new) < max_new_tokens and not bool(done.all()):
        t0 = time.perf_counter()
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)  # the token fed now is real in every row
        positions = mask.sum(-1, keepdim=True) - 1  # (B, 1): its index among the row's real tokens
        logits = model(nxt[:, None], cache=cache, attention_mask=mask, position_ids=positions)[:, -1]  # decode
        nxt, done = _finish(pick_next(logits, sampling, generator), done, pad_id, eos_id)
        _sync(device)
        out.step_s.append(time.perf_counter() - t0)
        new.append(nxt)
    out.tokens = torch.stack(new, dim=1)
    return out


@torch.inference_mode()
def generate_uncached(model, prompts: list[list[int]], max_new_tokens: int, *, pad_id: int, eos_id: int | None = None,
                      sampling: Sampling = GREEDY, generator: torch.Generator | None = None) -> Generation:
    """The reference: no cache, every step runs the whole sequence so far (prompt + new tokens) again.

    Same padding, mask, positions and sampling as `generate`; only the cache is missing.
    Step t costs a forward pass over T0 + t tokens, so the whole run is quadratic in its length.
    """
    device = next(model.parameters()).device
    lengths = [len(p) for p in prompts]
    check_fits(model, lengths, max_new_tokens)
    seq, mask = left_pad(prompts, pad_id, device)
    done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
    new: list[torch.Tensor] = []
    out = Generation(tokens=seq[:, :0], prompt_lengths=lengths, prefill_s=0.0)
    while len(new) < max_new_tokens and not bool(done.all()):
        t0 = time.perf_counter()
        logits = model(seq, attention_mask=mask, position_ids=position_ids_from_mask(mask))[:, -1]
        nxt, done = _finish(pick_next(logits, sampling, generator), done, pad_id, eos_id)
        _sync(device)
        if new:
            out.step_s.append(time.perf_counter() - t0)
        else:
            out.prefill_s = time.perf_counter() - t0
        new.append(nxt)
        seq = torch.cat([seq, nxt[:, None]], dim=1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
    out.tokens = torch.stack(new, dim=1)
    return out
