"""An inference engine for the llama model: prefill, decode from a KV cache, greedy and sampled, batched.

    pathway lab run kv-cache                                          # ~1 min on 2 CPU cores (+1 min the first time)
    pathway lab run kv-cache --set "prompts=def |class " --set max_new_tokens=200
    pathway lab run kv-cache --set temperature=1.0 --set top_k=0 --set top_p=0.9

The model is the one the last llama run published (`pathway lab run llama`).
When there is none, this lab first trains a small llama itself (about a
minute, said plainly in the log) and keeps it for the next run.

Then, on the prompts as one left-padded batch:

1. correctness: greedy decoding with the cache must give exactly the tokens of
   recomputing the whole prefix at every step, and the batch must give the
   tokens of each prompt alone. `check/cache_equals_recompute` is the run's goal.
2. speed: `rounds` timed greedy runs of each; per generated token, the median
   decode latency with the cache (flat) and without (growing with the length),
   tokens/s, and the bytes of cache filled so far. The chart is over tokens.
3. sampled texts: temperature, top-k and top-p, from a seeded torch.Generator.

The sample pane shows the texts and a table: cached vs uncached tokens/s, and
the cache-size formula next to the measured tensor bytes.
"""

from __future__ import annotations

import statistics
import time

import torch

from pathway.errors import PathwayError
from pathway.labs.programs.common.torchkit import pick_device
from pathway.labs.programs.kv_cache.generate import (Generation, Sampling, check_fits, generate, generate_uncached,
                                                     kv_bytes_per_token)
from pathway.labs.programs.kv_cache.spec import KVCacheConfig as Config  # torch-free, so the TUI form can read it

__all__ = ["Config", "load_model", "train"]

ENDOFTEXT = "<|endoftext|>"


def load_model(config: Config, report, device: torch.device) -> tuple:
    """(model, args, tokenizer, where it came from): the llama lab's published model, else a fallback trained here."""
    from pathway.labs.programs.llama.published import load_published, published_path

    found = load_published(report.cache_dir, device)  # a file of another shape is refused here, naming the mismatch
    if found is not None:
        model, args, tok = found
        check_vocab(args, tok, str(published_path(report.cache_dir)))
        return model, args, tok, f"the llama lab's published model ({published_path(report.cache_dir)})"
    from pathway.labs.programs.kv_cache.fallback import load_or_train

    report.log_text("No llama run has published a model yet (`pathway lab run llama` does), so this run trains a "
                    f"small llama first: {config.fallback_steps} steps, about a minute on 2 CPU cores. Its text will be rough.")
    model, args, tok = load_or_train(report.cache_dir, device, config.fallback_steps, config.fallback_context,
                                     config.seed, report)
    return model, args, tok, "a small llama trained by this lab (no llama run has published one)"


def check_vocab(args, tok, where: str) -> None:
    """The model must have an embedding row for every id the tokenizer can produce."""
    if args.vocab_size < tok.vocab_size:
        raise PathwayError(
            f"{where}: the model has vocab_size={args.vocab_size} but its tokenizer has {tok.vocab_size} ids, so some "
            "prompts would index past the embedding. Run `pathway lab run llama` again to publish a matching pair."
        )


def encode_prompts(config: Config, tok) -> list[list[int]]:
    prompts = [tok.encode(p) for p in config.prompt_list()]
    if any(not p for p in prompts):
        raise PathwayError(f"prompts={config.prompts!r}: a prompt encodes to no tokens. Give each prompt some text.")
    return prompts


def median_steps(runs: list[Generation]) -> list[float]:
    """Per decode step, the median time over the rounds (seconds)."""
    return [statistics.median(times) for times in zip(*(r.step_s for r in runs))]


def cache_table(args, gen: Generation, element_size: int) -> tuple[int, float, str]:
    """(formula bytes per token, measured bytes per token, the lines of the table)."""
    formula = kv_bytes_per_token(args, element_size)
    rows = gen.tokens.size(0)
    measured = gen.cache_bytes / (rows * gen.cache_max_len)
    lines = [
        f"cache bytes per token and row: formula 2 x layers x kv_heads x head_dim x bytes = "
        f"2 x {args.n_layers} x {args.n_kv_heads} x {args.head_dim} x {element_size} = {formula:,}",
        f"  measured: KVCache.nbytes() / (rows x max_len) = {gen.cache_bytes:,} / ({rows} x {gen.cache_max_len}) "
        f"= {measured:,.0f}",
        f"  with n_kv_heads = n_heads = {args.n_heads} (no GQA) it would be {formula * args.n_heads // args.n_kv_heads:,}",
    ]
    return formula, measured, lines


def train(config: Config, report) -> dict[str, float] | None:
    t_start = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    report.log_text(f"kv-cache on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    if report.resuming:  # nothing to continue mid-way: generation starts over (a fallback model, once trained, is kept)
        report.rewind_to(0)
        report.log_text("resumed: the measurements start over; a fallback model trained before is reused")

    # --- the model and the prompts -------------------------------------------------------
    model, args, tok, where = load_model(config, report, device)
    if report.should_stop:
        return None
    report.log_text(f"model: {where}; {args.n_layers} layers, dim {args.dim}, {args.n_heads} query heads sharing "
                    f"{args.n_kv_heads} KV heads of {args.head_dim}, context {args.max_seq_len}, vocabulary {args.vocab_size}")
    eos = tok.special_ids.get(ENDOFTEXT)
    pad = eos if eos is not None else 0  # left padding is masked out, so any id works; EOS is the usual choice
    prompts = encode_prompts(config, tok)
    n = config.max_new_tokens
    try:  # before any generation: a prompt that does not fit is a setting to change, not a crash mid-run
        check_fits(model, [len(p) for p in prompts], n)
    except PathwayError as exc:
        raise PathwayError(f"Setting prompts={config.prompts!r}: {exc.message}") from None
    report.log_text(f"{len(prompts)} prompts of {', '.join(str(len(p)) for p in prompts)} tokens, left-padded to "
                    f"{max(len(p) for p in prompts)}; {n} new tokens each")
    report.set_total_steps(n)

    # --- 1 and 2: cached vs recomputed greedy, timed; batched vs one by one ---------------
    cached, uncached = [], []
    for r in range(config.rounds):
        cached.append(generate(model, prompts, n, pad_id=pad))  # raises if a prompt + n exceed the context
        uncached.append(generate_uncached(model, prompts, n, pad_id=pad))
        report.log_text(f"round {r + 1}/{config.rounds}: {cached[-1].decode_tokens_per_s:,.0f} tokens/s with the cache, "
                        f"{uncached[-1].decode_tokens_per_s:,.0f} recomputing the prefix")
        if report.should_stop:
            return None
    same = all(torch.equal(c.tokens, u.tokens) for c, u in zip(cached, uncached))
    singles = [generate(model, [p], n, pad_id=pad).tokens for p in prompts]
    batched_same = torch.equal(cached[0].tokens, torch.cat(singles))
    report.log_text(f"check: cached greedy == recomputed greedy token for token: {same}; "
                    f"left-padded batch == each prompt alone: {batched_same}")

    rows = len(prompts)
    element = next(model.parameters()).element_size()
    per_token = kv_bytes_per_token(args, element)
    width = max(len(p) for p in prompts)
    fast, slow = median_steps(cached), median_steps(uncached)
    for i, (f, s) in enumerate(zip(fast, slow), start=2):  # step = tokens generated; token 1 came from the prefill
        report.step(i, **{
            "decode/ms_per_token": f * 1e3,
            "uncached/ms_per_token": s * 1e3,
            "decode/tokens_per_s": rows / f,  # one token per row per step
            "cache/kib": (width + i - 1) * rows * per_token / 1024,  # slots filled so far (allocated: all of them)
        })

    # --- 3: sampled texts --------------------------------------------------------------
    sampling = Sampling(temperature=config.temperature, top_k=config.top_k, top_p=config.top_p)
    generator = torch.Generator().manual_seed(config.seed)
    sampled = generate(model, prompts, n, pad_id=pad, eos_id=eos, sampling=sampling, generator=generator)

    # --- the sample pane: texts and the table ----------------------------------------------
    fast_tps = statistics.median(c.decode_tokens_per_s for c in cached)
    slow_tps = statistics.median(u.decode_tokens_per_s for u in uncached)
    prefill_ms = statistics.median(c.prefill_s for c in cached) * 1e3
    formula, measured, table = cache_table(args, cached[0], element)
    texts = config.prompt_list()
    greedy_rows = cached[0].rows(eos)
    lines = [f"kv-cache: {where}", "",
             f"greedy ({'identical with and without the cache' if same else 'CACHE AND RECOMPUTE DIFFER'}):"]
    lines += [f"[{i + 1}] {text!r} -> {tok.decode(row)!r}" for i, (text, row) in enumerate(zip(texts, greedy_rows))]
    lines += ["", f"sampled ({sampling.describe()}, seed {config.seed}):"]
    lines += [f"[{i + 1}] {text!r} -> {tok.decode(row)!r}" for i, (text, row) in enumerate(zip(texts, sampled.rows(eos)))]
    lines += ["", f"decode, {rows} rows x {n} tokens (median of {config.rounds})   tokens/s   ms/step",
              f"  with the KV cache                          {fast_tps:9,.0f}   {statistics.median(fast) * 1e3:7.2f}",
              f"  recomputing the prefix                     {slow_tps:9,.0f}   {statistics.median(slow) * 1e3:7.2f}",
              f"  speedup                                    {fast_tps / slow_tps:8.1f}x",
              f"  prefill of {rows} x {width} tokens: {prefill_ms:.1f} ms", ""] + table
    report.write_sample("\n".join(lines) + "\n")
    report.log_text(f"cached {fast_tps:,.0f} vs recomputed {slow_tps:,.0f} tokens/s ({fast_tps / slow_tps:.1f}x); "
                    f"cache {formula:,} B/token by the formula, {measured:,.0f} measured")

    return {
        "check/cache_equals_recompute": float(same),
        "check/batched_equals_single": float(batched_same),
        "decode/tokens_per_s": fast_tps,
        "uncached/tokens_per_s": slow_tps,
        "decode/speedup": fast_tps / slow_tps,
        "prefill/ms": prefill_ms,
        "cache/bytes_per_token_formula": float(formula),
        "cache/bytes_per_token_measured": float(measured),
        "cache/bytes_allocated": float(cached[0].cache_bytes),
        "wall_s": time.perf_counter() - t_start,
    }
