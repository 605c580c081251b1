"""The contract between a lab program and the engine: what a lab declares, and what it receives.

A lab is a folder under `labs/programs/`: `spec.py` declares it (a `LabSpec`,
torch-free, read by the TUI and the command line) and `train.py` holds
`train(config, report)`, which the runner calls in its own process with the
merged, validated config and a `Report`.

    def train(config: Config, report: Report) -> dict | None:
        for step in range(start, config.steps):
            ...
            report.step(step, **{"train/loss": loss.item()})
            if report.should_stop:            # SIGINT: save a checkpoint, then return
                break
        return {"eval/acc": acc}              # final metrics, stored on the run row
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from pathway.labs.engine.settings import KnobInfo

SAMPLE_NAME = "sample.txt"  # a lab's latest table or generated text; the run view shows it under the chart
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class Goal:
    """What a finished run must show to count as a success, judged on its final metrics.

        Goal("eval/acc", above=0.2, why="chance is 10% for ten classes")
        Goal("check/equivalence", above=0.5, why="DDP must match one process")   # a check reports 1.0 or 0.0

    A lab lists its goals on its `LabSpec`; the runner judges them when `train`
    returns, and a run that misses one ends "check failed" with `why` as the reason.
    A goal whose threshold depends on the settings (chance level is ln(classes))
    comes from the config's optional `goals()` method instead; see `LabSpec.goals_for`.
    `required=False` is for a check the settings can switch off (ddp's
    equiv_check=false): a run that does not report the metric is not judged on it.
    """

    metric: str  # a name in the dict `train` returns
    above: float | None = None  # the final value must be greater than this
    below: float | None = None  # ... or smaller than this
    why: str = ""  # one sentence a learner reads when the goal is missed
    required: bool = True  # False: an absent metric (the check was switched off) passes

    def missed(self, final: Mapping[str, float] | None) -> str | None:
        """None when `final` meets the goal, else the reason, naming the value."""
        value = (final or {}).get(self.metric)
        if value is None and not self.required:
            return None
        if value is None or value != value:  # absent or NaN
            return f"{self.metric} was not reported. {self.why}".strip()
        if self.above is not None and not value > self.above:
            return f"{self.metric} = {value:.4g}, needs > {self.above:.4g}. {self.why}".strip()
        if self.below is not None and not value < self.below:
            return f"{self.metric} = {value:.4g}, needs < {self.below:.4g}. {self.why}".strip()
        return None


@dataclass(frozen=True)
class LabSpec:
    """One lab as the catalog, the settings form and the runner see it."""

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
    goals: tuple[Goal, ...] = ()  # what success means; a finished run that misses one is "check failed"

    def goals_for(self, config: Any) -> tuple[Goal, ...]:
        """The goals a run with `config` is judged on: the spec's, then the config's own `goals()`."""
        own = getattr(config, "goals", None)
        return self.goals + (tuple(own()) if own is not None else ())

    def judge(self, config: Any, final: Mapping[str, float] | None) -> list[str]:
        """The reasons a finished run with these final metrics missed its goals ([] when it met them all).

        A `why` shared by several missed goals (every variant's loss) is said once, after the last of them.
        """
        missed = [(goal, reason) for goal in self.goals_for(config) if (reason := goal.missed(final)) is not None]
        out = []
        for i, (goal, reason) in enumerate(missed):
            said_later = goal.why and any(later.why == goal.why for later, _ in missed[i + 1:])
            out.append(reason.removesuffix(goal.why).strip() if said_later else reason)
        return out

    def knobs(self) -> list[KnobInfo]:
        """The settings of this lab, for a form or `pathway lab list`."""
        from pathway.labs.engine.settings import describe

        return describe(self.config_cls)

    def expected_time(self, cuda: bool) -> str:
        """Human wall-time estimate for the default config on this kind of device."""
        seconds = self.expected_seconds.get("cuda" if cuda else "cpu") or self.expected_seconds.get("cpu", 0)
        return f"~{seconds:.0f} s" if seconds < 90 else f"~{seconds / 60:.0f} min"


@dataclass(frozen=True)
class MemoryEstimate:
    """Roughly how much memory a run with some settings needs at its peak, before it starts.

    A config class may define `memory_estimate(self) -> MemoryEstimate` (torch-free);
    `catalog.validate_config` refuses a run whose estimate exceeds the free RAM (or,
    on CUDA, the GPU's free memory), naming `lower`. The usual formula for a model
    trained with Adam: 4 bytes x parameters x 4 (weights, gradients, Adam's two
    moments) + 4 bytes x the activations kept for backward of one batch.
    """

    bytes: float
    lower: str  # the settings to lower, in words, e.g. "dim (weights grow with its square), blocks or batch_size"
    detail: str = ""  # how the figure is made up, e.g. "weights 137 GB + activations 2 GB"


class Report(Protocol):
    """What a lab's `train(config, report)` may use. The engine's `Reporter` is the one implementation."""

    run_id: int
    run_dir: Path  # this run's folder: log, checkpoint, sample file
    cache_dir: Path  # shared by all runs of this home: generated data sets, tokenizers
    checkpoint_path: Path  # run_dir / CHECKPOINT_NAME
    resuming: bool  # the run continues an earlier one: load checkpoint_path if it exists
    device: str  # where the runner placed the lab, e.g. "cpu" or "cuda:0"
    should_stop: bool  # a stop was asked (SIGINT): save a checkpoint and return
    last_step: int  # the last step reported (on resume: the step recorded before the stop)
    engine: Engine  # the database, for a distributed lab whose ranks report for themselves

    def step(self, step: int, **metrics: float) -> None:
        """Record metrics at `step`; names may hold a slash: `**{"train/loss": 0.3}`."""

    def log_text(self, message: str) -> None:
        """One line into the run's log."""

    def write_sample(self, text: str) -> None:
        """Replace the run's sample file (a table, generated text) atomically."""

    def set_total_steps(self, total: int) -> None:
        """How many steps make 100% (progress bar and ETA)."""

    def rewind_to(self, step: int) -> None:
        """On resume: forget metrics after the checkpoint's `step`, so the curve continues there."""
