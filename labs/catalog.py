"""The lab catalog: what labs exist, what they teach, how long they take, what they accept.

Importing this module never imports torch (the TUI reads it). The lab code
itself is named by a dotted module path and imported only by the runner.

    >>> [lab.id for lab in all_labs()]
    ['mlp-digits']
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
