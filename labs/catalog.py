"""The lab catalog: what labs exist, what they accept, and the config each run gets.

Importing this module never imports torch (the TUI reads it): it gathers each
program's torch-free `spec.py`. The training code is named by a dotted module
path and imported only by the runner.

    [lab.id for lab in all_labs()]           # mlp-digits, cifar-cnn, char-transformer, ddp, ...
    overrides = parse_set("mlp-digits", ["lr=0.01"], cuda=False)    # --set, validated
    build_config("mlp-digits", overrides, cuda=False).lr           # 0.01

Every check runs on the merged config that will run (the defaults for the
device, CUDA's where a GPU is used, then the overrides), in `validate_config`,
which the command line, the settings form and the runner all call: the ranges,
the lab's own `check()`, and whether its `memory_estimate()` fits (engine/memory.py).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Iterable, Mapping

from pathway.errors import PathwayError
from pathway.labs.engine import memory, settings
from pathway.labs.engine.contract import LabSpec
from pathway.labs.programs.bpe_tokenizer.spec import SPEC as BPE_TOKENIZER
from pathway.labs.programs.char_transformer.spec import SPEC as CHAR_TRANSFORMER
from pathway.labs.programs.cifar_cnn.spec import SPEC as CIFAR_CNN
from pathway.labs.programs.ddp.spec import SPEC as DDP
from pathway.labs.programs.dpo.spec import SPEC as DPO
from pathway.labs.programs.grpo.spec import SPEC as GRPO
from pathway.labs.programs.inference_opt.spec import SPEC as INFERENCE_OPT
from pathway.labs.programs.kv_cache.spec import SPEC as KV_CACHE
from pathway.labs.programs.llama.spec import SPEC as LLAMA
from pathway.labs.programs.mixed_precision.spec import SPEC as MIXED_PRECISION
from pathway.labs.programs.mlp_digits.spec import SPEC as MLP_DIGITS
from pathway.labs.programs.sft.spec import SPEC as SFT

# Roadmap order: the Labs screen and `pathway lab list` show them like this.
LABS: dict[str, LabSpec] = {
    spec.id: spec for spec in [MLP_DIGITS, CIFAR_CNN, BPE_TOKENIZER, CHAR_TRANSFORMER, LLAMA, DDP, MIXED_PRECISION, INFERENCE_OPT, KV_CACHE,
                          SFT, DPO, GRPO]
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


def runs_on_cuda(values: Mapping[str, Any], gpu_count: int) -> bool:
    """Whether a run with these settings lands on a GPU: the runner's `device=auto` picks CUDA when there is one."""
    device = str(values.get("device", "auto")).strip()
    return device.startswith("cuda") or (device == "auto" and gpu_count > 0)


def visible_gpu_count() -> int:
    """GPUs NVML sees (0 without a driver), honouring CUDA_VISIBLE_DEVICES the way torch will. No torch import."""
    from pathway.labs.engine.gpu import gpu_count

    count = gpu_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = min(count, len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"]))
    return count


def default_values(lab_id: str, cuda: bool) -> dict[str, Any]:
    """The defaults on this kind of device: the dataclass defaults, then the lab's CUDA defaults on a GPU."""
    spec = get_lab(lab_id)
    values = {k.name: k.default for k in spec.knobs()}
    if cuda:
        values.update(spec.cuda_defaults)
    return values


def validate_config(lab_id: str, values: Mapping[str, Any], *, cuda: bool) -> dict[str, Any]:
    """Check settings from a form or `--set` (native values or strings) against the config that will run;
    return the converted overrides. `cuda` says which defaults they are merged with."""
    spec = get_lab(lab_id)
    base = default_values(lab_id, cuda)
    overrides = settings.validate(spec.config_cls, values, lab_id=lab_id, base=base)
    # then what the settings would need: a run that cannot fit is refused here, naming what to lower
    memory.check_fits(lab_id, spec.config_cls(**{**base, **overrides}), cuda=cuda)
    return overrides


def parse_set(lab_id: str, items: Iterable[str], *, cuda: bool) -> dict[str, Any]:
    """Check `--set key=value` items; return the converted overrides."""
    return validate_config(lab_id, settings.parse_assignments(items), cuda=cuda)


def build_config(lab_id: str, overrides: Mapping[str, Any], cuda: bool) -> Any:
    """The config the lab runs with: CPU defaults, then GPU defaults if on CUDA, then the overrides, all checked."""
    spec = get_lab(lab_id)
    values = default_values(lab_id, cuda)
    values.update(validate_config(lab_id, overrides, cuda=cuda))
    return spec.config_cls(**values)


def config_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict."""
    return dataclasses.asdict(config)
