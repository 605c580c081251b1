"""`pathway lab ...`: the labs from the command line, for scripts and SSH sessions.

    pathway lab list
    pathway lab run mlp-digits --set lr=0.01 [--detach]
    pathway lab status [RUN] [--json]
    pathway lab stop RUN
    pathway lab resume RUN [--detach]
    pathway lab logs RUN [-f]

Exit codes: 0 success, 1 the run failed or diverged, 2 bad usage or input,
3 the run finished but missed its lab's goals ("check failed"), 130 when
Ctrl+C stopped a followed run.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from pathway.errors import PathwayError
from pathway.labs.engine.status import ACTIVE, ALL, CHECK_FAILED, CHECK_PREFIX, DONE, color
from pathway.cli.lab_follow import fmt, follow, iso, pct
from pathway.durations import format_duration


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add `lab` and its actions to the top-level subcommands."""
    lab = sub.add_parser("lab", help="list, run, watch, stop and resume PyTorch labs", description=__doc__.split("\n\n")[0])
    actions = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    p = actions.add_parser("list", help="the labs, their lessons and expected time on this machine")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    p = actions.add_parser("run", help="start a lab (follows it until it ends unless --detach)")
    p.add_argument("lab", help="lab id, see `pathway lab list`")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help="change a setting; repeatable")
    p.add_argument("--detach", action="store_true", help="print the run id and return; the run keeps going")
    p.set_defaults(handler=cmd_run)

    p = actions.add_parser("status", help="all runs, or one run in detail")
    p.add_argument("run", nargs="?", type=int, help="run id")
    p.add_argument("--lab", help="only runs of this lab")
    p.add_argument("--status", dest="status_filter", help="only runs with this status: " + ", ".join(ALL) + ' (quote "check failed")')
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)

    p = actions.add_parser("stop", help="stop a run (it saves a checkpoint first)")
    p.add_argument("run", type=int)
    p.set_defaults(handler=cmd_stop)

    p = actions.add_parser("resume", help="continue a stopped or interrupted run from its checkpoint")
    p.add_argument("run", type=int)
    p.add_argument("--detach", action="store_true", help="return at once; the run keeps going")
    p.set_defaults(handler=cmd_resume)

    p = actions.add_parser("logs", help="print a run's log")
    p.add_argument("run", type=int)
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    p.set_defaults(handler=cmd_logs)


def _with_db(command: Callable[[argparse.Namespace, Path, Any], int], *, reads_only: bool = False) -> Callable[[argparse.Namespace], int]:
    """Open the home's database for one command (reconciling dead runs first) and close it after.

    `reads_only` commands (status, logs) also work on a database that cannot be written:
    they skip reconciling, which writes, and show the rows as they are.

    Closing matters: pathway.db.engine.open_database reads the file's header
    with a plain open()/close(), and on POSIX that close drops the SQLite locks
    of every other connection this process still holds to the file.
    """

    @functools.wraps(command)
    def handler(args: argparse.Namespace) -> int:
        from pathway.db.engine import open_database, read_only_reason
        from pathway.home import resolve_home
        from pathway.labs.engine import jobs

        home = resolve_home(getattr(args, "home", None))
        engine = open_database(home, allow_read_only=reads_only)
        try:
            if not (reads_only and read_only_reason(home)):
                jobs.reconcile(engine)
            return command(args, home, engine)
        finally:
            engine.dispose()

    return handler


def _reading_db(command: Callable[[argparse.Namespace, Path, Any], int]) -> Callable[[argparse.Namespace], int]:
    return _with_db(command, reads_only=True)


# --- list ------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from pathway.labs import catalog
    from pathway.labs.engine.gpu import default_provider

    provider = default_provider()
    snap = provider.sample()
    provider.close()
    cuda = bool(snap.devices)
    labs = catalog.all_labs()
    if args.json:
        print(json.dumps([
            {"id": s.id, "title": s.title, "description": s.description, "lesson_ids": list(s.lesson_ids),
             "expected_time": s.expected_time(cuda), "settings": {k.name: {"default": k.default, "allowed": k.allowed, "help": k.help} for k in s.knobs()},
             "goals": [{"metric": g.metric, "above": g.above, "below": g.below, "why": g.why, "required": g.required}
                       for g in s.goals_for(s.config_cls(**catalog.default_values(s.id, cuda)))]}
            for s in labs
        ], indent=2))
        return 0
    table = Table(title=f"Labs (this machine: {'NVIDIA GPU' if cuda else snap.reason})")
    for col in ("lab", "title", "expected", "lessons"):
        table.add_column(col)
    for s in labs:
        table.add_row(s.id, s.title, s.expected_time(cuda), ", ".join(s.lesson_ids))
    console = Console()
    console.print(table)
    console.print("Settings: `pathway lab run LAB --set key=value`; each lab's settings are in `pathway lab list --json`.")
    return 0


# --- run / resume / follow ------------------------------------------------------------


@_with_db
def cmd_run(args: argparse.Namespace, home: Path, engine) -> int:
    from pathway.labs.engine import jobs, settings

    # jobs.start checks the settings on the config that will run before anything starts
    run_id = jobs.start(engine, home, args.lab, settings.parse_assignments(args.settings))
    if args.detach:
        print(f"run {run_id} started ({args.lab}). Follow it: pathway lab status {run_id} | pathway lab logs {run_id} -f")
        return 0
    return follow(engine, run_id)


@_with_db
def cmd_resume(args: argparse.Namespace, home: Path, engine) -> int:
    from pathway.labs.engine import jobs

    jobs.resume(engine, home, args.run)
    if args.detach:
        print(f"run {args.run} resumed.")
        return 0
    return follow(engine, args.run)


# --- status ---------------------------------------------------------------------------


def run_summary(engine, run) -> dict[str, Any]:
    """A run as a JSON-ready dict (what `status --json` prints)."""
    from pathway.labs.engine import jobs

    prog = jobs.progress(engine, run)
    latest = jobs.latest_metrics(engine, run.id, names=("train/loss", "eval/loss", "eval/acc", "train/samples_per_s"))
    return {
        "id": run.id,
        "lab": run.lab,
        "status": run.status,
        "step": run.step,
        "total_steps": run.total_steps,
        "fraction": prog.fraction,
        "steps_per_s": prog.steps_per_s,
        "eta_s": prog.eta_s,
        "elapsed_s": prog.elapsed_s,
        "device": run.device,
        "pid": run.pid,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "heartbeat_at": iso(run.heartbeat_at),
        "run_dir": run.run_dir,
        "config": json.loads(run.config or "{}"),
        "latest": {name: point.value for name, point in latest.items()},
        "final_metrics": jobs.final_metrics(run),
        "error": run.error,
    }


@_reading_db
def cmd_status(args: argparse.Namespace, home: Path, engine) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from pathway.labs.engine import jobs

    if args.run is not None:
        info = run_summary(engine, jobs.get_run(engine, args.run))
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        console = Console(highlight=False)
        for key in ("id", "lab", "status", "device", "step", "total_steps", "created_at", "finished_at", "run_dir"):
            value = info[key] if info[key] is not None else "-"
            console.print(f"[bold]{key:>12}[/] " + (f"[{color(value)}]{value}[/]" if key == "status" else escape(str(value))))
        console.print(f"[bold]{'progress':>12}[/] {pct(info['fraction'])}, ETA {format_duration(info['eta_s'], missing='-')}, elapsed {format_duration(info['elapsed_s'], missing='-')}")
        console.print(f"[bold]{'latest':>12}[/] " + (", ".join(f"{k} {fmt(v)}" for k, v in info["latest"].items()) or "-"))
        if info["final_metrics"]:
            console.print(f"[bold]{'final':>12}[/] " + ", ".join(f"{k} {fmt(v)}" for k, v in info["final_metrics"].items()))
        console.print(f"[bold]{'config':>12}[/] " + " ".join(f"{k}={v}" for k, v in info["config"].items()))
        if info["error"]:
            console.print(f"[bold]{'reason' if info['status'] == CHECK_FAILED else 'error':>12}[/]")
            console.print(info["error"], markup=False, highlight=False)
        if info["status"] not in ACTIVE and info["status"] not in DONE:
            console.print(f"[bold]{'next':>12}[/] continue it from its last checkpoint: pathway lab resume {info['id']}")
        return 0
    runs = jobs.list_runs(engine, lab=args.lab, status=args.status_filter)
    if args.json:
        print(json.dumps([run_summary(engine, r) for r in runs], indent=2))
        return 0
    if not runs:
        print("No runs yet. Start one with `pathway lab run mlp-digits`.")
        return 0
    table = Table()
    for col in ("run", "lab", "status", "progress", "loss", "acc", "elapsed", "ETA"):
        table.add_column(col, no_wrap=col in ("lab", "status"))
    for run in runs:
        info = run_summary(engine, run)
        latest = info["latest"]
        table.add_row(
            str(run.id), run.lab, f"[{color(run.status)}]{run.status}[/]", pct(info["fraction"]),
            fmt(latest.get("train/loss")), pct(latest.get("eval/acc"), 1),
            format_duration(info["elapsed_s"], missing="-"), format_duration(info["eta_s"], missing="-") if run.status in ACTIVE else "-",
        )
    console = Console(highlight=False)
    console.print(table)
    for run in [r for r in runs if r.error and r.status not in ACTIVE][:NOTES_MAX]:  # why the latest ones ended
        console.print(f"run {run.id} [{color(run.status)}]{run.status}[/]: {escape(short_reason(run.error))}")
    return 0


NOTES_MAX = 5  # reasons printed under the runs table; `pathway lab status RUN` has the whole text


def short_reason(error: str, width: int = 110) -> str:
    """One line of a run's error: the goals a check missed, or the last line of a traceback."""
    text = error.strip()
    text = text[len(CHECK_PREFIX):] if text.startswith(CHECK_PREFIX) else text.splitlines()[-1]
    return text if len(text) <= width else text[: width - 1] + "…"


# --- stop / logs --------------------------------------------------------------------------


@_with_db
def cmd_stop(args: argparse.Namespace, home: Path, engine) -> int:
    from pathway.labs.engine import jobs

    before = jobs.get_run(engine, args.run).status
    if before not in ACTIVE:
        print(f"run {args.run} is not running (status {before}).")
        return 0
    status = jobs.stop(engine, args.run)
    print(f"run {args.run}: {status}. Continue it with `pathway lab resume {args.run}`.")
    return 0


@_reading_db
def cmd_logs(args: argparse.Namespace, home: Path, engine) -> int:
    from pathway.labs.engine import jobs

    run = jobs.get_run(engine, args.run)
    path = jobs.log_path(run)
    if not path.exists() and not args.follow:
        raise PathwayError(f"Run {args.run} has no log yet ({path}).", exit_code=1)
    offset = 0
    try:
        while True:
            offset = _print_new(path, offset)
            if not args.follow:
                return 0
            run = jobs.get_run(engine, args.run)
            if run.status not in ACTIVE:
                _print_new(path, offset)
                return 0
            time.sleep(0.25)
    except KeyboardInterrupt:  # stop following; the run goes on
        return 0


def _print_new(path: Path, offset: int) -> int:
    if not path.exists():
        return offset
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
    if data:
        sys.stdout.write(data.decode("utf-8", errors="replace"))
        sys.stdout.flush()
    return offset + len(data)
