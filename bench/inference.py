"""The fixed embedding pipeline against sentence-transformers encode() and against the naive loop, in one run.

    .venv/bin/python bench/inference.py [--sentences 256] [--batch-size 16] [--max-tokens 768] [--repeats 5] [--threads 0]

Prints sentences/s per variant (median of alternating repeats, each repeat in a
rotated order so no variant always runs first on a warm or a busy machine) and
the two ratios the inference lab promises:

    fixed / sentence-transformers   >= 1.0  (same sentences, batch size and dtype)
    fixed / naive one-at-a-time     >= 3.5

and the agreement of the embeddings with sentence-transformers (min cosine).
When the fixed pipeline picks bf16 autocast on this CPU, both pipelines are
also timed in fp32, so the ratio holds for either dtype. The naive loop is
timed on a length-stratified subset (`--naive-sentences`): same length mix.
The fixed pipeline with dynamic batching (`--max-tokens` padded tokens per
batch instead of `--batch-size` sentences) is timed too, its ratio printed
beside.

Every variant runs with torch's own thread count (one per core) unless
`--threads` says otherwise. That is the setting a user's loop gets, and it is
where batching shows: one ~25-token sentence is too small a matrix to split
across cores, a batch of 16 is not. With `--threads 1` batching buys less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from pathway.words import count

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=256)
    ap.add_argument("--naive-sentences", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16, help="the lab's default: fastest on one CPU core")
    ap.add_argument("--max-tokens", type=int, default=768, help="the lab's default token budget per batch (dynamic batching)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads, the same for every variant; 0 = torch's choice (one per core)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    from pathway.labs.programs.inference_opt import train as lab

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = os.getloadavg()
    path = lab.model_path()
    sentences = lab.lesson_sentences(args.sentences)
    slow = lab.length_strata(sentences, args.naive_sentences)
    bs = args.batch_size
    config = lab.Config(precision=args.precision)
    dtype, bf16 = lab.pick_precision(config, device)
    pipe = lab.EmbeddingPipeline(path, device, dtype, False, 256)
    if bf16 and args.precision == "auto":
        bf16, message = lab.bf16_trial(pipe, slow, bs)
        print(message)
    st = lab.load_st(path, device, dtype)
    naive = lab.NaiveEncoder(pipe.tokenizer, pipe.model, device, 256) if dtype == torch.float32 else None

    def fixed(flag: bool, max_tokens: int = 0):
        def run():
            pipe.autocast_bf16 = flag
            return pipe.encode(sentences, bs, max_tokens=max_tokens)
        return run

    dtype_name = "bf16" if bf16 else str(dtype).replace("torch.", "")
    variants = {
        f"fixed {dtype_name} dyn": (sentences, fixed(bf16, args.max_tokens)),
        f"fixed {dtype_name}": (sentences, fixed(bf16)),
        f"st {dtype_name}": (sentences, lambda: lab.st_encode(st, sentences, bs, bf16)),
    }
    if bf16:  # the same pair in fp32 too
        variants["fixed float32"] = (sentences, fixed(False))
        variants["st float32"] = (sentences, lambda: lab.st_encode(st, sentences, bs, False))
    if naive is not None:
        variants["naive float32"] = (slow, lambda: naive.encode(slow))

    for flag in {bf16, False}:  # warm-up: first calls allocate and pick kernels
        pipe.autocast_bf16 = flag
        pipe.encode(slow, bs)
        pipe.encode(slow, max_tokens=args.max_tokens)
        lab.st_encode(st, slow, bs, flag)
    if naive is not None:
        naive.encode(slow[:8])
    rates: dict[str, list[float]] = {name: [] for name in variants}
    outputs = {}
    names = list(variants)
    t_start = time.perf_counter()
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            texts, fn = variants[name]
            t0 = time.perf_counter()
            outputs[name] = fn()
            rates[name].append(len(texts) / (time.perf_counter() - t0))
    wall = time.perf_counter() - t_start
    median = {name: statistics.median(v) for name, v in rates.items()}

    print(f"torch {torch.__version__}, {count(torch.get_num_threads(), 'thread')}, device {device}, "
          f"{len(sentences)} sentences (naive: {len(slow)}), batch {bs}, {args.repeats} alternating repeats, {wall:.0f} s")
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")
    print(f"{'variant':<20} {'median/s':>9}  runs   (dyn: <= {args.max_tokens} tokens per batch; others: batch {bs}; naive: batch 1)")
    for name in names:
        print(f"{name:<20} {median[name]:9.1f}  {' '.join(f'{x:.1f}' for x in rates[name])}")
    fixed_name, st_name = f"fixed {dtype_name}", f"st {dtype_name}"
    print(f"ratio fixed/st ({dtype_name}, batch {bs}): {median[fixed_name] / median[st_name]:.2f}x  (target >= 1.0)")
    if bf16:
        print(f"ratio fixed/st (float32, batch {bs}): {median['fixed float32'] / median['st float32']:.2f}x")
    if "naive float32" in median:
        naive_rate = median["naive float32"]
        print(f"ratio fixed/naive: {median[fixed_name] / naive_rate:.2f}x  (target >= 3.5; "
              f"{median[fixed_name + ' dyn'] / naive_rate:.2f}x with dynamic batching)")
    print(f"agreement fixed vs st, min cosine over {len(sentences)} sentences: {lab.min_cos(outputs[fixed_name], outputs[st_name]):.6f}")
    print(f"agreement fixed dyn vs st: {lab.min_cos(outputs[fixed_name + ' dyn'], outputs[st_name]):.6f}")
    if bf16:
        print(f"agreement fixed bf16 vs st float32: {lab.min_cos(outputs[fixed_name], outputs['st float32']):.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
