"""The generation side of the inference lab: a small decoder with and without its KV cache, and with int8 weights.

Used by `inference_opt.train` (week 18). The decoder is a `GPT2LMHeadModel`
built from a config with random weights (nothing is downloaded): the point is
the cost of decoding, not the text.

- Without a cache, step t re-runs all t tokens: time per token grows with the
  length. With the cache (`past_key_values`), each step runs one token against
  stored keys and values: time per token stays flat. Greedy outputs are equal.
- Weight-only int8: per output channel, scale = max|w| / 127, q = round(w / scale);
  at run time w ~= q * scale. About 4x fewer weight bytes than fp32.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import torch
import torch.nn as nn


def tiny_decoder(seed: int = 0, n_layer: int = 4, n_embd: int = 256, vocab: int = 2048, n_positions: int = 512) -> nn.Module:
    """A GPT-2-layout decoder with random weights, in eval mode."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=vocab, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer, n_head=max(1, n_embd // 64),
                        bos_token_id=None, eos_token_id=None, pad_token_id=0)
    return GPT2LMHeadModel(config).eval()


class Int8Conv1D(nn.Module):
    """GPT-2's Conv1D (y = x W + b, W stored (in, out)) with int8 weights and one fp32 scale per output channel."""

    def __init__(self, conv) -> None:
        super().__init__()
        w = conv.weight.detach().float()  # (in, out)
        scale = w.abs().amax(dim=0).clamp(min=1e-12) / 127  # (out,): per output channel
        self.register_buffer("q", torch.clamp(torch.round(w / scale), -127, 127).to(torch.int8))
        self.register_buffer("scale", scale)
        self.register_buffer("bias", conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.q.to(x.dtype) * self.scale  # dequantize: on a CPU this costs time; the win is bytes
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), w).view(*x.shape[:-1], w.size(1))


def quantize_int8(model: nn.Module) -> nn.Module:
    """Swap every Conv1D in the blocks for Int8Conv1D (embeddings, norms and the tied head stay fp32)."""
    from transformers.pytorch_utils import Conv1D

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Conv1D):
                setattr(module, name, Int8Conv1D(child))
    return model


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the block weights that int8 replaces (Conv1D weights, or int8 q + scales)."""
    from transformers.pytorch_utils import Conv1D

    total = 0
    for m in model.modules():
        if isinstance(m, Conv1D):
            total += m.weight.numel() * m.weight.element_size()
        elif isinstance(m, Int8Conv1D):
            total += m.q.numel() * m.q.element_size() + m.scale.numel() * m.scale.element_size()
    return total


@torch.inference_mode()
def greedy(model: nn.Module, prompt: torch.Tensor, n_new: int, use_cache: bool) -> tuple[torch.Tensor, list[float], torch.Tensor]:
    """(new tokens (B, n_new), seconds per step, logits of every step (B, n_new, V)): greedy decoding, timed per token."""
    ids, past, out, times, logits_all = prompt, None, [], [], []
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"  # transformers 5 / 4
    for _ in range(n_new):
        t0 = time.perf_counter()
        if use_cache:
            step_in = ids if past is None else ids[:, -1:]  # prefill once, then one token per step
            result = model(input_ids=step_in, use_cache=True, **{cache_arg: past})
            past = result[cache_arg]
        else:
            result = model(input_ids=ids, use_cache=False)  # recompute the whole prefix every step
        logits = result.logits[:, -1, :]
        nxt = logits.argmax(dim=-1, keepdim=True)
        if nxt.is_cuda:
            torch.cuda.synchronize()  # CPU-GPU sync point: the step's time, not its launch
        times.append(time.perf_counter() - t0)
        ids = torch.cat([ids, nxt], dim=1)
        out.append(nxt)
        logits_all.append(logits.float())
    return torch.cat(out, dim=1), times, torch.stack(logits_all, dim=1)


def run(report, batch_sizes: list[int], n_new: int = 96, prompt_len: int = 16, seed: int = 0,
        device: torch.device = torch.device("cpu")) -> dict[str, float]:
    """Measure and report; metrics use step = batch size (or sequence length for the cache curve)."""
    model = tiny_decoder(seed).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(seed)
    prompt = torch.randint(1, model.config.vocab_size, (1, prompt_len), generator=gen).to(device)
    greedy(model, prompt, 4, True)  # warm-up

    # 1. cache vs no cache at batch 1: time per token against sequence length; identical tokens
    toks_c, times_c, logits_c = greedy(model, prompt, n_new, True)
    toks_n, times_n, logits_n = greedy(model, prompt, n_new, False)
    same = bool(torch.equal(toks_c, toks_n))
    quarter = max(1, n_new // 4)
    early_c, late_c = np.median(times_c[1:quarter + 1]) * 1e3, np.median(times_c[-quarter:]) * 1e3
    early_n, late_n = np.median(times_n[1:quarter + 1]) * 1e3, np.median(times_n[-quarter:]) * 1e3
    for i in range(quarter, n_new + 1, quarter):  # a few points of the curve, step = tokens in the sequence
        report.step(prompt_len + i, **{"decode/cache_ms_per_token": float(np.median(times_c[max(1, i - quarter):i]) * 1e3),
                                       "decode/nocache_ms_per_token": float(np.median(times_n[max(1, i - quarter):i]) * 1e3)})
    report.log_text(f"decoder {n_params / 1e6:.1f}M params, {n_new} greedy tokens after {prompt_len}: ms/token early -> late: "
                    f"with cache {early_c:.1f} -> {late_c:.1f}, without {early_n:.1f} -> {late_n:.1f}; same tokens: {same}, "
                    f"max logit difference {(logits_c - logits_n).abs().max().item():.1e}")

    # 2. batch size: tokens/s and per-token latency of cached decoding
    for b in batch_sizes:
        prompts = torch.randint(1, model.config.vocab_size, (b, prompt_len), generator=gen).to(device)
        t0 = time.perf_counter()
        _, times, _ = greedy(model, prompts, n_new, True)
        seconds = time.perf_counter() - t0
        ms = np.array(times[1:]) * 1e3  # decode steps only; the first step is the prefill
        report.step(b, **{"decode/tokens_per_s": b * n_new / seconds, "decode/p50_ms_per_token": float(np.percentile(ms, 50)),
                          "decode/p95_ms_per_token": float(np.percentile(ms, 95))})
        report.log_text(f"decode batch {b:3d}: {b * n_new / seconds:8.0f} tokens/s, per step p50 {np.percentile(ms, 50):.1f} ms "
                        f"p95 {np.percentile(ms, 95):.1f} ms")

    # 3. int8 weights: bytes, logits, greedy agreement, speed
    fp32_bytes = weight_bytes(model)
    q_model = quantize_int8(tiny_decoder(seed)).to(device)
    toks_q, times_q, logits_q = greedy(q_model, prompt, n_new, True)
    # teacher-forced: both models read the fp32 model's text, so one early flip does not decide every later token
    with torch.inference_mode():
        full = torch.cat([prompt, toks_c], dim=1)
        ref, low = model(input_ids=full).logits[:, prompt_len - 1:-1], q_model(input_ids=full).logits[:, prompt_len - 1:-1]
    diff = (ref - low).abs().max().item()
    agree = (ref.argmax(-1) == low.argmax(-1)).float().mean().item()
    free_same = int((toks_q != toks_c).nonzero()[0, 1]) if not torch.equal(toks_q, toks_c) else n_new
    ratio = fp32_bytes / weight_bytes(q_model)
    metrics = {"decode/int8_bytes_ratio": ratio, "decode/int8_max_logit_diff": diff, "decode/int8_greedy_agreement": agree,
               "decode/int8_ms_per_token": float(np.median(times_q[1:]) * 1e3), "decode/fp32_ms_per_token": float(np.median(times_c[1:]) * 1e3)}
    report.step(1, **metrics)
    report.log_text(f"int8 weights: {ratio:.2f}x fewer block-weight bytes than fp32, max |logit diff| {diff:.3f} (logit std "
                    f"{ref.std().item():.2f}), greedy choices agree on {agree:.0%} of positions (free-running, the first "
                    f"{free_same} of {n_new} tokens are equal), {metrics['decode/int8_ms_per_token']:.1f} ms/token vs "
                    f"{metrics['decode/fp32_ms_per_token']:.1f} fp32 (dequantizing on a CPU costs time; the saving is memory traffic)")
    return {"decode/same_tokens_with_cache": float(same), "decode/nocache_slowdown_late": late_n / max(late_c, 1e-9), **metrics}
