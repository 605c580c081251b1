"""The runner process: runs one lab for one run row, then records how it ended.

    python -m pathway.labs.engine.runner --home HOME --run RUN_ID [--resume]

`pathway.labs.engine.jobs` starts it in a new session (so it outlives the TUI and
the shell) with stdout and stderr going to `<run dir>/run.log`. It owns the run
row while it lives: pid and create time, status, a heartbeat every second, the
effective config, the final metrics or the error.

Signals: SIGINT asks the lab to save a checkpoint and return (status stopped);
SIGTERM interrupts the lab where it is (stopped, without a fresh checkpoint);
SIGKILL leaves the row "running" with a dead pid, which `jobs.reconcile` marks
interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any lab can import huggingface_hub: nothing is downloaded
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_stop_requested = False  # set by SIGINT before the reporter exists (torch still importing)
_reporter = None


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM: unwind the lab now, record "stopped"."""


def _on_sigint(signum, frame) -> None:
    global _stop_requested
    _stop_requested = True
    if _reporter is not None:
        _reporter.request_stop()


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    # Handlers first: a stop that arrives while torch is importing must not kill us mid-write.
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m pathway.labs.engine.runner")
    parser.add_argument("--home", required=True)
    parser.add_argument("--run", type=int, required=True)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    from pathway.db.engine import database_url, make_engine
    from pathway.labs.engine.status import exit_code
    from pathway.labs.engine import records

    # The CLI or TUI that launched us already migrated the database: skip Alembic, start faster.
    engine = make_engine(database_url(Path(args.home)))
    run = records.claim(engine, args.run)  # status running, pid, create time, heartbeat
    try:
        status, error, final = _run_lab(engine, run, args.resume, Path(args.home))
    except Terminated:
        status, error, final = "stopped", "Stopped by SIGTERM before the lab saved a checkpoint; resume starts from the last periodic one.", None
    records.finish(engine, args.run, status, error=error, final_metrics=final)
    print(f"run {args.run}: {status}", flush=True)
    engine.dispose()
    return exit_code(status)


def judged_message(missed: list[str]) -> str:
    """The run's reason when it finished but missed its goals: one paragraph, each miss named."""
    from pathway.labs.engine.status import CHECK_PREFIX

    return CHECK_PREFIX + " ".join(missed)


def describe_crash(exc: BaseException, lab_id: str = "") -> str:
    """What `Run.error` says about a crash: one paragraph for running out of memory, else the traceback.

    The runner prints the traceback to the run's log in every case.
    """
    from pathway.labs.engine.memory import oom_message, out_of_memory

    kind = out_of_memory(exc)
    if kind is not None:
        return oom_message(kind, lab_id)
    return "".join(traceback.format_exception(exc))


def raised_while_terminating(exc: BaseException) -> bool:
    """True when `exc` was raised while a SIGTERM's Terminated was unwinding.

    Some code turns it into its own error on the way out: torch.save's zip writer,
    interrupted mid-record, fails in its __exit__ with "unexpected pos". That is
    the stop the user asked for, not a crash of the lab.
    """
    while exc is not None:
        if isinstance(exc, Terminated):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _run_lab(engine, run, resuming: bool, home: Path) -> tuple[str, str | None, dict | None]:
    """Run the lab; return (status, error, final metrics). Never raises, except Terminated."""
    global _reporter
    from pathway.errors import PathwayError
    from pathway.labs import catalog
    from pathway.labs.engine import records
    from pathway.labs.engine.gpu import default_provider
    from pathway.labs.engine.reporter import Diverged, Reporter
    from pathway.labs.engine.sampler import Sampler
    from pathway.labs.engine.status import CHECK_FAILED
    from pathway.home import cache_dir

    reporter = Reporter(engine, run.id, Path(run.run_dir), resuming=resuming, cache_dir=cache_dir(home))
    _reporter = reporter  # first: a SIGINT from here on reaches the reporter itself
    if _stop_requested:  # one that came while we were starting
        reporter.request_stop()
    reporter.start()
    sampler = Sampler(reporter, default_provider())
    sampler.start()
    try:
        spec = catalog.get_lab(run.lab)
        overrides = json.loads(run.config or "{}")
        from pathway.labs.programs.common import torchkit  # torch is imported here, after the row says "running"

        device = torchkit.pick_device(str(overrides.get("device", "auto")))
        # validated again on the defaults of the device it landed on: a setting that only clashes with
        # the CUDA defaults is refused here with the lab's own message, not by an assert in the model
        config = catalog.build_config(run.lab, overrides, cuda=device.type == "cuda")
        reporter.device = str(device)
        records.set_effective_config(engine, run.id, catalog.config_dict(config), str(device))

        import importlib

        module = importlib.import_module(spec.module)
        if reporter.should_stop:
            return "stopped", None, None
        final = module.train(config, reporter)
        if reporter.should_stop:
            return "stopped", None, final
        missed = spec.judge(config, final)  # a run that blew up finishes too: its numbers say whether it worked
        if missed:
            reason = judged_message(missed)
            reporter.log_text(reason)
            return CHECK_FAILED, reason, final
        return "succeeded", None, final
    except Diverged as exc:
        reporter.log_text(str(exc))
        return "diverged", str(exc), None
    except PathwayError as exc:
        reporter.log_text(exc.message)
        return "failed", exc.message, None
    except Terminated:
        raise
    except BaseException as exc:  # noqa: BLE001 - a lab's crash must become a row, not a lost process
        if raised_while_terminating(exc):
            raise Terminated() from exc
        print("".join(traceback.format_exception(exc)), file=sys.stderr, flush=True)  # the log keeps the traceback
        return "failed", describe_crash(exc, run.lab), None
    finally:
        sampler.stop()
        reporter.close()
        _reporter = None


if __name__ == "__main__":
    sys.exit(main())
