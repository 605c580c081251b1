"""Decode speed with the KV cache vs recomputing the whole prefix at every step, and the cache's size.

    .venv/bin/python bench/kv_cache.py [--new-tokens 512] [--prompt 16] [--repeats 3] [--threads 2]

The model is the llama lab's default shape (dim 128, 4 layers, 4 query heads
sharing 2 KV heads, SwiGLU, vocabulary 2048) with random weights built here,
not a trained one: decode time does not depend on the weights' values, and
the published model's context (128 by default) is too short for 512 new
tokens, so this one gets max_seq_len = prompt + new tokens. Both variants run
the kv-cache lab's own code (`generate` and `generate_uncached`), greedy, at
batch 1, alternating, and the medians are compared: goal >= 5x on 2 cores.
The greedy tokens of the two must be identical.

Then the cache-size formula, 2 x layers x kv_heads x head_dim x bytes per
element per token, next to the bytes of the KVCache tensors actually
allocated, for this model and for Llama-3-8B's shape.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from pathway.labs.programs.kv_cache.generate import generate, generate_uncached, kv_bytes_per_token
from pathway.labs.programs.llama.model import KVCache, Llama, ModelArgs
from pathway.labs.programs.llama.spec import LlamaConfig
from pathway.labs.programs.llama.train import model_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=512)
    parser.add_argument("--prompt", type=int, default=16, help="prompt length in tokens")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    opts = parser.parse_args(argv)
    torch.set_num_threads(opts.threads)

    shape = LlamaConfig()
    args = model_args(shape, shape.vocab_size)
    args = ModelArgs(**{**args.__dict__, "max_seq_len": opts.prompt + opts.new_tokens})
    torch.manual_seed(0)
    model = Llama(args).eval()
    prompt = torch.randint(0, args.vocab_size, (opts.prompt,), generator=torch.Generator().manual_seed(0)).tolist()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: the llama lab's default shape with random weights ({n_params / 1e6:.2f}M parameters: dim {args.dim}, "
          f"{args.n_layers} layers, {args.n_heads} query / {args.n_kv_heads} KV heads of {args.head_dim}, vocab {args.vocab_size}), "
          f"fp32, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"greedy, batch 1: {opts.prompt}-token prompt, {opts.new_tokens} new tokens; {opts.repeats} alternating repeats, medians")

    generate(model, [prompt], 8, pad_id=0)  # warm-up: first calls allocate
    generate_uncached(model, [prompt], 8, pad_id=0)
    cached_tps, uncached_tps, same = [], [], True
    for r in range(opts.repeats):
        t0 = time.perf_counter()
        fast = generate(model, [prompt], opts.new_tokens, pad_id=0)
        t1 = time.perf_counter()
        slow = generate_uncached(model, [prompt], opts.new_tokens, pad_id=0)
        t2 = time.perf_counter()
        same &= torch.equal(fast.tokens, slow.tokens)
        cached_tps.append(fast.decode_tokens_per_s)
        uncached_tps.append(slow.decode_tokens_per_s)
        print(f"  repeat {r + 1}: with the cache {cached_tps[-1]:8.1f} tokens/s ({t1 - t0:5.2f} s in all), "
              f"recomputing the prefix {uncached_tps[-1]:8.1f} tokens/s ({t2 - t1:5.2f} s in all)")
    c, u = statistics.median(cached_tps), statistics.median(uncached_tps)
    print(f"decode tokens/s at {opts.new_tokens} new tokens: with the KV cache {c:.1f}, recomputing the prefix {u:.1f}; "
          f"ratio {c / u:.1f}x (goal >= 5x); identical greedy tokens: {same}")
    positions_without = sum(opts.prompt + i for i in range(opts.new_tokens))
    positions_with = opts.prompt + opts.new_tokens - 1
    print(f"  positions run through the model: {positions_without:,} without the cache, {positions_with:,} with it "
          f"({positions_without / positions_with:.0f}x); the time ratio is smaller because a short forward pass "
          "costs its fixed overhead and its weight reads whatever its length")

    print("cache size: formula 2 x layers x kv_heads x head_dim x bytes per element, per token (one row)")
    for label, a in (("this model", args),
                     ("Llama-3-8B shape", ModelArgs(vocab_size=16, dim=4096, n_layers=32, n_heads=32, n_kv_heads=8,
                                                    ffn_hidden=16, max_seq_len=8192))):
        for dtype in (torch.float32, torch.bfloat16):
            element = torch.tensor([], dtype=dtype).element_size()
            batch, length = (2, args.max_seq_len) if a is args else (1, 16)  # the 8B shape: a short cache is enough to measure
            cache = KVCache(a, batch, length, device="cpu", dtype=dtype)
            formula = kv_bytes_per_token(a, element)
            measured = cache.nbytes() / (batch * length)
            print(f"  {label:17s} {str(dtype).replace('torch.', ''):8s}: formula 2 x {a.n_layers} x {a.n_kv_heads} x "
                  f"{a.head_dim} x {element} = {formula:,} B/token; measured KVCache.nbytes() / ({batch} x {length}) = "
                  f"{measured:,.0f} B/token; {'agree' if formula == measured else 'DIFFER'}")
    llama3 = 2 * 32 * 8 * 128 * 2
    print(f"  Llama-3-8B in bf16: {llama3 / 1024:.0f} KiB/token, {llama3 * 8192 / 2**30:.0f} GiB for one 8192-token sequence")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
