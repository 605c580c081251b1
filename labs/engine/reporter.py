"""The `report` object a lab talks to: step metrics, log lines, checkpoints, the stop flag.

The lab's loop pays only for appending a tuple per metric to a deque; a
background thread writes the queued rows to the database every 0.25 s (so the
dashboard is at most ~0.5 s behind) in one transaction together with the run's
heartbeat and current step. A failed write keeps its rows and retries, so no
batch is lost while another process holds the database.

    def train(config, report):
        for step in range(start, config.steps):
            ...
            if step % config.log_interval == 0:
                report.step(step, **{"train/loss": loss.item()})
            if report.should_stop:
                break
"""

from __future__ import annotations

import math
import sys
import threading
import time
import traceback
from collections import deque
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pathway.db.models import Metric, Run, utcnow
from pathway.files import atomic_write
from pathway.labs.engine.contract import CHECKPOINT_NAME, SAMPLE_NAME

FLUSH_INTERVAL_S = 0.25  # half the promised 0.5 s, so one slow write still keeps the promise
HEARTBEAT_INTERVAL_S = 1.0

DIVERGED_HINT = (
    "Lower the learning rate (e.g. --set lr=<a tenth of it>); if the lab trains with mixed precision (AMP), "
    "check that a GradScaler is used with fp16, or try bf16 or fp32."
)


class Diverged(Exception):
    """A loss became NaN or infinite: the run cannot recover by itself."""

    def __init__(self, name: str, value: float, step: int) -> None:
        super().__init__(f"{name} became {value} at step {step}: the run diverged. {DIVERGED_HINT}")
        self.name, self.value, self.step = name, value, step


def is_loss(name: str) -> bool:
    """`train/loss`, `fp16/loss`, `eval/aux_loss` are losses; `fp16/loss_scale` (GradScaler's scale, which
    legitimately overflows to inf before it backs off) is not."""
    last = name.rsplit("/", 1)[-1]
    return last == "loss" or last.endswith("_loss")


def _recorded_step(engine: Engine, run_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(Run.step).where(Run.id == run_id)).scalar() or 0


class Reporter:
    """Collects a run's metrics and writes them in the background. One per runner process.

    The engine's implementation of `contract.Report`: see there for what a lab may use.
    """

    def __init__(
        self, engine: Engine, run_id: int, run_dir: Path, *, resuming: bool = False, device: str = "cpu", rank: int = 0,
        heartbeat: bool = True, cache_dir: Path | None = None,
    ) -> None:
        """`heartbeat=False` for a distributed lab's ranks: they add metric rows (with their `rank`) but leave the
        run row (heartbeat, step, status) to the runner, so a rank orphaned by a dead runner cannot revive the run."""
        self.engine = engine
        self.heartbeat = heartbeat
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        # `<home>/cache`, shared by every run of a home (generated data sets); the runner passes it
        self.cache_dir = Path(cache_dir) if cache_dir else self.run_dir / "cache"
        self.resuming = resuming
        self.device = device
        self.rank = rank
        self.should_stop = False
        # A resumed run keeps its step until the lab rewinds to its checkpoint: a heartbeat
        # written before that must not report step 0 (a stop right after resume would lose it).
        self.last_step = _recorded_step(engine, run_id) if resuming else 0
        self._queue: deque[tuple[int, float, str, float]] = deque()  # (step, t, name, value)
        self._retry: list[dict] = []  # rows of a write that failed, written first next time
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0
        self.rows_written = 0
        self.write_errors = 0

    # --- what the lab calls ----------------------------------------------------

    def step(self, step: int, **metrics: float) -> None:
        """Record metrics at `step`. Keyword names may hold a slash: `**{"train/loss": 0.3}`.

        A non-finite value of a loss (see `is_loss`) raises Diverged (after
        the value is recorded, so the curve shows it).
        """
        t = time.time()
        put = self._queue.append
        bad = None
        for name, value in metrics.items():
            value = float(value)
            if value == value:  # SQLite turns NaN into NULL, which the table refuses; +-inf is stored
                put((step, t, name, value))
            if not math.isfinite(value) and is_loss(name):
                bad = (name, value)
        self.last_step = step
        if bad is not None:
            raise Diverged(bad[0], bad[1], step)

    def log_text(self, message: str) -> None:
        """One line into the run's log (stdout of the runner goes to run.log)."""
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def write_sample(self, text: str) -> None:
        """Replace the run's sample file atomically: the run view never reads half a file."""
        atomic_write(self.run_dir / SAMPLE_NAME, text)

    def set_total_steps(self, total: int) -> None:
        """Tell the dashboard how many steps make 100% (for progress and ETA)."""
        self._update_run(total_steps=int(total))

    def rewind_to(self, step: int) -> None:
        """On resume: drop rows recorded after the checkpoint's `step`, so the curve continues there."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(Metric.__table__).where(Metric.run_id == self.run_id, Metric.step > step))
            conn.execute(sa.update(Run.__table__).where(Run.id == self.run_id).values(step=step))
        self.last_step = step

    # --- what the runner calls ---------------------------------------------------

    def add(self, name: str, value: float, step: int | None = None) -> None:
        """Queue one row at the current step (the sampler uses this). NaN is dropped, as in `step`."""
        value = float(value)
        if value == value:
            self._queue.append((self.last_step if step is None else step, time.time(), name, value))

    def request_stop(self) -> None:
        """Ask the lab to checkpoint and return; safe to call from a signal handler."""
        self.should_stop = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="metrics-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write everything still queued (retrying briefly), then stop the writer thread."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        deadline = time.time() + 30
        self._last_heartbeat = float("-inf")  # one last beat even without rows: the run's final step is exact
        while time.time() < deadline:
            if self.flush() and not (self._queue or self._retry):
                break
            time.sleep(0.2)

    # --- the writer ------------------------------------------------------------

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(FLUSH_INTERVAL_S)
            if self._closing:
                break
            try:
                self.flush()
            except Exception:  # never let the writer die: its heartbeat is how the app knows we live
                traceback.print_exc()

    def flush(self) -> bool:
        """Write queued rows and the heartbeat in one transaction; False if it must be retried."""
        rows = self._retry
        self._retry = []
        queue = self._queue
        for _ in range(len(queue)):  # popleft is thread-safe against the lab's append
            step, t, name, value = queue.popleft()
            rows.append({"run_id": self.run_id, "step": step, "t": t, "name": name, "value": value, "rank": self.rank})
        now = time.time()
        if not rows and (not self.heartbeat or now - self._last_heartbeat < HEARTBEAT_INTERVAL_S):
            return True
        revived = Run.status == "interrupted"
        try:
            with self.engine.begin() as conn:
                if rows:
                    conn.execute(sa.insert(Metric.__table__), rows)
                if self.heartbeat:
                    conn.execute(
                        sa.update(Run.__table__)
                        .where(Run.id == self.run_id)
                        .values(
                            heartbeat_at=utcnow(),
                            step=max(self.last_step, 0),
                            # a run marked interrupted while this process was suspended is alive after all
                            status=sa.case((revived, "running"), else_=Run.status),
                            error=sa.case((revived, sa.null()), else_=Run.error),
                            finished_at=sa.case((revived, sa.null()), else_=Run.finished_at),
                        )
                    )
        except sa.exc.OperationalError as exc:  # locked or busy beyond busy_timeout: keep the rows, retry
            self._retry = rows
            self.write_errors += 1
            print(f"pathway: metrics write failed, will retry: {exc.orig}", file=sys.stderr, flush=True)
            return False
        except sa.exc.DBAPIError as exc:  # a row the database refuses: retrying cannot help
            self.write_errors += 1
            print(f"pathway: dropped {len(rows)} metric rows the database refused: {exc.orig}", file=sys.stderr, flush=True)
            return True
        self.rows_written += len(rows)
        self._last_heartbeat = now
        return True

    def _update_run(self, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(Run.__table__).where(Run.id == self.run_id).values(**values))
