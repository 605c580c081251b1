"""Following a run from the terminal: a Rich progress line with the lab's main metric, throughput and ETA, then a summary.

Used by `pathway lab run` and `pathway lab resume` without --detach. It reads
the run from the database (the runner is another process) every half second;
Ctrl+C stops the run the way `pathway lab stop` does, with a checkpoint. The
progress line is transient: when the run ends it gives way to a short summary
(status, steps, elapsed, the headline metrics, the verdict of the lab's goals);
every final metric is in `pathway lab status RUN`.
"""

from __future__ import annotations

import sys
import time

from pathway.durations import format_duration
from pathway.labs.engine.status import ACTIVE, CHECK_FAILED, color, exit_code

POLL_S = 0.5


def follow(engine, run_id: int) -> int:
    """Show a live progress display until the run ends; Ctrl+C stops the run (with a checkpoint)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from pathway.labs.engine import jobs

    console = Console(stderr=False)
    run = jobs.get_run(engine, run_id)
    watched = followed_metric(run.lab)
    columns = (
        TextColumn("[bold]run {task.fields[run]}[/] {task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{watched.removeprefix('train/')} {{task.fields[value]}}  {{task.fields[speed]}}  ETA {{task.fields[eta]}}"),
    )
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("", total=None, run=run_id, status=run.status, value="-", speed="-", eta="-")
            while True:
                run = jobs.get_run(engine, run_id)
                latest = jobs.latest_metrics(engine, run_id, names=(watched, "train/samples_per_s"))
                prog = jobs.progress(engine, run)
                bar.update(
                    task, total=run.total_steps, completed=run.step, status=run.status,
                    value=f"{latest[watched].value:.4f}" if watched in latest else "-",
                    speed=f"{latest['train/samples_per_s'].value:,.0f} samples/s" if "train/samples_per_s" in latest else "-",
                    eta=format_duration(prog.eta_s, missing="-"),
                )
                if run.status not in ACTIVE:
                    break
                if not jobs.is_alive(run) and run.pid:
                    jobs.reconcile(engine, stale_after_s=jobs.STALE_HEARTBEAT_S)
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        console.print(f"Stopping run {run_id} (it saves a checkpoint first)...")
        status = jobs.stop(engine, run_id)
        console.print(f"run {run_id}: {status}. Continue it with `pathway lab resume {run_id}`.")
        return 130
    return report_end(console, jobs.get_run(engine, run_id))


def followed_metric(lab_id: str) -> str:
    """The number the progress line shows: the first metric the lab's chart draws (train/loss for most)."""
    from pathway.labs import catalog

    named = [name for name in catalog.get_lab(lab_id).chart_metrics if not any(c in name for c in "*?[")]
    return named[0] if named else "train/loss"


HEADLINE_MAX = 6  # metrics in the summary; the rest are in `pathway lab status RUN`


def headline_metrics(lab_id: str, final: dict[str, float]) -> dict[str, float]:
    """The few final metrics worth a line: those the lab's goals judge, then its chart's, then eval/*."""
    from fnmatch import fnmatch

    from pathway.labs import catalog

    try:
        spec = catalog.get_lab(lab_id)
        wanted = [g.metric for g in spec.goals_for(spec.config_cls())] + list(spec.chart_metrics)
    except Exception:  # noqa: BLE001 - a run of a lab this version no longer has
        wanted = []
    names: list[str] = []
    for pattern in [*wanted, "eval/*", "train/loss"]:
        names += [n for n in final if fnmatch(n, pattern) and n not in names]
    return {n: final[n] for n in names[:HEADLINE_MAX]}


def report_end(console, run) -> int:
    """Print how the run ended in a few lines; the exit code: 0 succeeded or stopped, 3 check failed, 1 otherwise."""
    from rich.text import Text

    from pathway.labs.engine import jobs

    final = jobs.final_metrics(run)
    steps = f" · step {run.step}" + (f"/{run.total_steps}" if run.total_steps else "")
    elapsed = jobs.running_seconds(run)
    console.print(f"[bold]run {run.id}:[/] [{color(run.status)}]{run.status}[/]{steps} · {format_duration(elapsed, missing='-')} running",
                  highlight=False)
    shown = headline_metrics(run.lab, final)
    if shown:
        more = len(final) - len(shown)
        console.print("  " + " · ".join(f"{k} {fmt(v)}" for k, v in shown.items())
                      + (f"  [dim](+{more} more: pathway lab status {run.id})[/]" if more > 0 else ""), highlight=False)
    if run.status == CHECK_FAILED:  # the verdict is the result, not an error: stdout
        console.print(Text(f"  {run.error}", style="yellow"))
    elif run.error:
        print(run.error, file=sys.stderr)
    return exit_code(run.status)


# --- formatting shared with `pathway lab status` ---------------------------------------


def iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def pct(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:.{digits}%}"
