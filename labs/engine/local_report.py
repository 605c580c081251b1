"""A `Report` that keeps everything in memory: for calling a lab's `train` in-process.

    report = LocalReport(Path("/tmp/run"))
    final = train(config, report)
    report.series("eval/loss")      # every value of one metric, in step order

Tests and benchmarks use it to run a program without a database or a runner
process; the runner itself always uses `reporter.Reporter`.
"""

from __future__ import annotations

from pathlib import Path

from pathway.files import atomic_write
from pathway.labs.engine.contract import CHECKPOINT_NAME, SAMPLE_NAME


class LocalReport:
    """The `Report` protocol in memory: rows, log lines and the sample file under `run_dir`."""

    engine = None  # no database: a distributed lab cannot run on a LocalReport

    def __init__(self, run_dir: Path, *, resuming: bool = False, device: str = "cpu", cache_dir: Path | None = None) -> None:
        self.run_id = 0
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir = Path(cache_dir) if cache_dir else self.run_dir / "cache"
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        self.resuming, self.device = resuming, device
        self.should_stop = False
        self.last_step = 0
        self.total_steps: int | None = None
        self.rewound: int | None = None
        self.rows: list[tuple[int, dict[str, float]]] = []
        self.lines: list[str] = []

    def step(self, step: int, **metrics: float) -> None:
        self.rows.append((step, {name: float(value) for name, value in metrics.items()}))
        self.last_step = step

    def log_text(self, message: str) -> None:
        self.lines.append(message)

    def write_sample(self, text: str) -> None:
        atomic_write(self.run_dir / SAMPLE_NAME, text)

    def set_total_steps(self, total: int) -> None:
        self.total_steps = int(total)

    def rewind_to(self, step: int) -> None:
        self.rewound = step
        self.last_step = step

    def series(self, name: str) -> list[float]:
        """Every recorded value of metric `name`, in the order reported."""
        return [metrics[name] for _, metrics in self.rows if name in metrics]
