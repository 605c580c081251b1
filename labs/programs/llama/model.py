"""A Llama-style decoder, written out: RMSNorm, RoPE, SwiGLU, grouped-query attention, no biases.

    args = ModelArgs(vocab_size=2048, dim=256, n_layers=4, n_heads=8, n_kv_heads=2, ffn_hidden=688, max_seq_len=256)
    model = Llama(args)
    logits = model(tokens)                                   # (B, T) -> (B, T, vocab), causal
    cache = KVCache(args, batch_size=B, max_len=256, device=tokens.device, dtype=torch.float32)
    logits = model(prompt, cache=cache)                      # prefill: fills slots 0..T-1
    logits = model(next_token, cache=cache)                  # decode: one new slot, attends to all before it

What changed since GPT-2 (the char-transformer lab), and why:

- RMSNorm instead of LayerNorm: scale by the root mean square only, no mean
  subtraction, no bias. Cheaper, and it trains as well.
- RoPE instead of learned positions: queries and keys are rotated by an angle
  proportional to their position, so q·k depends on the distance between the
  two tokens. Nothing is added to the residual stream, and no table caps the
  length. This file uses the rotate-half layout (Hugging Face's): dimension i
  pairs with i + head_dim/2. Meta's original code pairs 2i with 2i+1
  (interleaved); `interleaved_permutation` maps one to the other.
- SwiGLU instead of a GELU MLP: w2(silu(w1 x) * w3 x). Three matrices instead
  of two, so the hidden size is usually 2/3 of 4·dim to keep the parameter count.
- Grouped-query attention: n_kv_heads key/value heads, each shared by
  n_heads / n_kv_heads query heads. The KV cache shrinks by that factor.
- No biases anywhere, and the output head may share the embedding matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from pathway.errors import PathwayError

__all__ = ["ModelArgs", "RMSNorm", "KVCache", "Attention", "FeedForward", "Block", "Llama",
           "rope_angles", "apply_rope", "apply_rope_interleaved", "rotate_half", "interleaved_permutation",
           "swiglu_hidden", "load_weights"]


@dataclass(frozen=True)
class ModelArgs:
    """The shape of the model; everything a checkpoint needs to be rebuilt."""

    vocab_size: int
    dim: int  # width of the residual stream
    n_layers: int
    n_heads: int  # query heads
    n_kv_heads: int  # key/value heads; n_heads must divide by it (n_kv_heads == n_heads is plain multi-head attention)
    ffn_hidden: int  # SwiGLU hidden width (see swiglu_hidden)
    max_seq_len: int  # the context the model was trained for
    rope_theta: float = 10000.0  # RoPE base: the slowest pair turns once every ~theta positions
    norm_eps: float = 1e-5
    tie_embeddings: bool = True  # output head = embedding matrix

    def __post_init__(self) -> None:
        if self.dim % self.n_heads:
            raise PathwayError(f"dim={self.dim} must be divisible by n_heads={self.n_heads}: each head gets dim / n_heads features.")
        if self.n_heads % self.n_kv_heads:
            raise PathwayError(
                f"n_heads={self.n_heads} must be divisible by n_kv_heads={self.n_kv_heads}: each key/value head "
                "serves the same number of query heads."
            )
        if self.head_dim % 2:
            raise PathwayError(f"head_dim={self.head_dim} (dim / n_heads) must be even: RoPE rotates pairs of dimensions.")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


def swiglu_hidden(dim: int, multiple_of: int = 16) -> int:
    """Llama's rule: 2/3 of 4·dim (three matrices cost what GPT's two did), rounded up to a multiple."""
    hidden = int(2 * 4 * dim / 3)
    return multiple_of * math.ceil(hidden / multiple_of)


class RMSNorm(nn.Module):
    """x / rms(x) * weight: LayerNorm without the mean subtraction and without the bias."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()  # the mean of squares in fp32: in bf16 it loses the small features
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


# --- RoPE ---------------------------------------------------------------------------------

def rope_angles(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position · frequency, (B, T, head_dim), in the rotate-half layout (the half repeated)."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=position_ids.device).float() / head_dim)  # (d/2,)
    angles = position_ids.float()[..., None] * inv_freq  # (B, T, d/2): pair j turns by pos * theta^(-2j/d)
    angles = torch.cat([angles, angles], dim=-1)  # (B, T, d): dimension i and i + d/2 share an angle
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension: a 90-degree turn of every pair (i, i + d/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (i, i + d/2) of x (B, H, T, d) by its angle; cos/sin are (B, T, d)."""
    cos, sin = cos[:, None].to(x.dtype), sin[:, None].to(x.dtype)  # broadcast over heads
    return x * cos + rotate_half(x) * sin


def apply_rope_interleaved(x: torch.Tensor, position_ids: torch.Tensor, theta: float) -> torch.Tensor:
    """The same rotation in Meta's original layout: pairs (2j, 2j + 1), as complex numbers. For the lesson and the test."""
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, device=x.device).float() / d)
    angles = position_ids.float()[..., None] * inv_freq  # (B, T, d/2)
    turn = torch.polar(torch.ones_like(angles), angles)[:, None]  # (B, 1, T, d/2): e^{i·angle}
    pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * turn).flatten(-2).to(x.dtype)


def interleaved_permutation(head_dim: int) -> torch.Tensor:
    """Index p with x_interleaved = x_rotate_half[..., p]: rotate-half dims (j, j + d/2) become the pair (2j, 2j + 1).

    Permuting the rows of wq and wk per head by p turns a rotate-half model into an
    interleaved one with the same attention scores (a dot product does not care
    about the order of the dimensions, as long as q and k agree).
    """
    half = head_dim // 2
    return torch.stack([torch.arange(half), torch.arange(half) + half], dim=1).flatten()


# --- the cache ----------------------------------------------------------------------------

class KVCache:
    """Preallocated keys and values for every layer.

    k, v: (n_layers, B, n_kv_heads, max_len, head_dim). Slots 0..length-1 are
    filled; every row has the same length (ragged prompts are left-padded and
    masked). Its size per token is 2 · n_layers · n_kv_heads · head_dim · bytes.
    """

    def __init__(self, args: ModelArgs, batch_size: int, max_len: int, *, device, dtype) -> None:
        shape = (args.n_layers, batch_size, args.n_kv_heads, max_len, args.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len
        self.length = 0

    def nbytes(self) -> int:
        return self.k.numel() * self.k.element_size() + self.v.numel() * self.v.element_size()


# --- the blocks ---------------------------------------------------------------------------

class Attention(nn.Module):
    """Causal grouped-query attention with RoPE on q and k; optional KV cache and padding mask."""

    def __init__(self, args: ModelArgs, layer: int, fused: bool = True) -> None:
        super().__init__()
        self.layer, self.fused = layer, fused
        self.n_heads, self.n_kv_heads, self.head_dim = args.n_heads, args.n_kv_heads, args.head_dim
        self.wq = nn.Linear(args.dim, args.n_heads * args.head_dim, bias=False)
        self.wk = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)  # fewer heads: the saving of GQA
        self.wv = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
        self.wo = nn.Linear(args.n_heads * args.head_dim, args.dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                mask: torch.Tensor | None, cache: KVCache | None) -> torch.Tensor:
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, d)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, KV, T, d)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # positions enter here, and only here
        if cache is not None:  # store this step's keys/values after the ones already there, attend to all of them
            start = cache.length
            cache.k[self.layer, :, :, start:start + T] = k
            cache.v[self.layer, :, :, start:start + T] = v
            k = cache.k[self.layer, :, :, :start + T].to(q.dtype)  # (B, KV, S, d), S = start + T
            v = cache.v[self.layer, :, :, :start + T].to(q.dtype)
        # each key/value head serves n_heads / n_kv_heads consecutive query heads (repeated, not recomputed)
        n_rep = self.n_heads // self.n_kv_heads
        k, v = k.repeat_interleave(n_rep, dim=1), v.repeat_interleave(n_rep, dim=1)  # (B, H, S, d)
        if self.fused:
            if mask is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, H, T, S)
            if mask is None:
                mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
            y = torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v  # (B, H, T, d)
        return self.wo(y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim))


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x). w1 is the gate, w3 the value it lets through."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """Pre-norm: x + attention(norm(x)), then x + feed_forward(norm(x))."""

    def __init__(self, args: ModelArgs, layer: int, fused: bool = True) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(args.dim, args.norm_eps)
        self.attention = Attention(args, layer, fused)
        self.ffn_norm = RMSNorm(args.dim, args.norm_eps)
        self.feed_forward = FeedForward(args.dim, args.ffn_hidden)

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.attention(self.attention_norm(x), cos, sin, mask, cache)
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    """Token embedding -> blocks -> RMSNorm -> logits. No position table: RoPE inside attention does that job."""

    def __init__(self, args: ModelArgs, *, fused: bool = True) -> None:
        super().__init__()
        self.args = args
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.layers = nn.ModuleList(Block(args, i, fused) for i in range(args.n_layers))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
        if args.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        for name, p in self.named_parameters():
            if name.endswith(("wo.weight", "w2.weight")):  # outputs into the residual stream shrink with depth
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * args.n_layers))
            elif p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens: torch.Tensor, *, cache: KVCache | None = None,
                attention_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, T) -> logits (B, T, vocab) in fp32.

        cache: keys/values go to slots cache.length .. +T-1, and cache.length grows by T.
        attention_mask: (B, S) bool over every key slot 0..S-1 (S = cache.length + T), False = padding.
        position_ids: (B, T); default cache.length + arange(T). With left padding pass mask.cumsum(-1) - 1, clipped at 0.
        """
        B, T = tokens.shape
        start = cache.length if cache is not None else 0
        S = start + T
        if cache is not None and S > cache.max_len:
            raise PathwayError(f"the KV cache holds {cache.max_len} positions; {start} are filled and {T} more do not fit.")
        if position_ids is None:
            position_ids = torch.arange(start, S, device=tokens.device).expand(B, T)
        cos, sin = rope_angles(position_ids, self.args.head_dim, self.args.rope_theta)
        mask = None  # None = plain causal over T keys (the fast path of sdpa)
        if cache is not None or attention_mask is not None:
            # query t sits in slot start + t and sees slots 0..start + t
            mask = torch.arange(S, device=tokens.device)[None, :] <= torch.arange(start, S, device=tokens.device)[:, None]
            mask = mask[None, None]  # (1, 1, T, S)
            if attention_mask is not None:
                mask = mask & attention_mask[:, None, None, :S].bool()  # (B, 1, T, S)
            # a padding query sees no key at all; let it see everything so softmax stays finite (its output is ignored)
            mask = mask | ~mask.any(-1, keepdim=True)
        x = self.tok_embeddings(tokens)  # (B, T, dim)
        for layer in self.layers:
            x = layer(x, cos, sin, mask, cache)
        if cache is not None:
            cache.length = S
        return self.output(self.norm(x)).float()


def load_weights(model: Llama, state: Mapping[str, torch.Tensor], where: str) -> None:
    """load_state_dict, but a checkpoint of another shape is refused with the first mismatches named, not a traceback."""
    expected = model.state_dict()
    problems = [f"{name}: saved {tuple(state[name].shape)}, this model has {tuple(t.shape)}"
                for name, t in expected.items() if name in state and state[name].shape != t.shape]
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if missing:
        problems.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    if unexpected:
        problems.append(f"not in this model: {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
    if problems:
        raise PathwayError(
            f"{where} holds a model of another shape than the settings ask for ({'; '.join(problems[:4])}). "
            "Start a new run with these settings, or use the settings it was saved with."
        )
    model.load_state_dict(state)
