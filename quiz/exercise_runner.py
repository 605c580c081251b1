"""Grade code exercises in a child process, with a time limit and a memory limit.

    result = run_exercise(code, tests, timeout_s=10)
    result.status            # passed | failed | error | timeout | memory | crashed
    for t in result.tests: print(t.name, t.passed, t.message)

The child is `python -I -c <exercise_harness.py>` in its own session and a
temporary directory. It sets RLIMIT_AS to what it has mapped after importing
torch/numpy (when the code uses them) plus `memory_mb`, and a watchdog thread
kills it at `timeout_s`. The parent waits at most `timeout_s` plus
STARTUP_ALLOWANCE_S (interpreter start and the torch import, ~2 s idle, more on
a busy machine), then kills the whole process group. The call blocks its
thread for at most that long: the TUI calls it from a thread worker.

`run_exercises` grades many jobs for the content checker: a few harness
processes import torch once each and fork one child per job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from pathway.content.questions import CodeQuestion

HARNESS = Path(__file__).with_name("exercise_harness.py")
DEFAULT_MEMORY_MB = 1024  # on top of what the interpreter and torch map before the learner's code runs
STARTUP_ALLOWANCE_S = 20.0
OUTPUT_LIMIT = 4000  # characters of the child's stdout/stderr kept (the tail)
CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
STATUSES = ("passed", "failed", "error", "timeout", "memory", "crashed")


@dataclass(frozen=True)
class TestOutcome:
    name: str
    passed: bool
    message: str = ""  # why it failed: the assertion text or the exception, with its line


@dataclass(frozen=True)
class ExerciseResult:
    """What running the tests on some code gave."""

    status: str  # one of STATUSES
    tests: tuple[TestOutcome, ...] = ()
    message: str = ""  # one sentence for statuses other than passed/failed
    output: str = ""  # the tail of what the code printed
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed_tests(self) -> list[TestOutcome]:
        return [t for t in self.tests if not t.passed]

    def summary(self) -> str:
        """One line: "3/4 tests passed", or why nothing could be said."""
        if self.status in ("passed", "failed"):
            good = sum(t.passed for t in self.tests)
            return f"{good}/{len(self.tests)} tests passed"
        return self.message


@dataclass(frozen=True)
class ExerciseJob:
    code: str
    tests: str
    timeout_s: float = 10.0
    memory_mb: int = DEFAULT_MEMORY_MB
    seed: int = 0


@dataclass
class _Pending:
    """A job handed to a harness, with the file its events land in."""

    request: dict
    result_path: Path
    started: float = field(default_factory=time.monotonic)


# --- one exercise ---------------------------------------------------------------


def run_exercise(
    code: str, tests: str, *, timeout_s: float = 10.0, memory_mb: int = DEFAULT_MEMORY_MB, seed: int = 0
) -> ExerciseResult:
    """Run `tests` against `code` in a child process; never blocks past the limits."""
    job = ExerciseJob(code=code, tests=tests, timeout_s=timeout_s, memory_mb=memory_mb, seed=seed)
    with tempfile.TemporaryDirectory(prefix="pathway-exercise-") as tmp:
        pending = _pending(job, Path(tmp), 0)
        output_path = Path(tmp) / "output.txt"
        returncode = _run_harness({"mode": "single", "job": pending.request}, Path(tmp), output_path, timeout_s + STARTUP_ALLOWANCE_S)
        output = _tail(output_path)
        return _result(job, pending, returncode, output)


def grade_code(question: "CodeQuestion", code: str, *, memory_mb: int = DEFAULT_MEMORY_MB) -> ExerciseResult:
    """Run a code question's tests on the learner's code."""
    return run_exercise(code, question.tests, timeout_s=question.timeout_s, memory_mb=memory_mb)


# --- many exercises (the content checker) ----------------------------------------


def run_exercises(jobs: Sequence[ExerciseJob], *, workers: int | None = None) -> list[ExerciseResult]:
    """Grade many jobs in `workers` harness processes (default: one per CPU); results in job order."""
    if not jobs:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    with tempfile.TemporaryDirectory(prefix="pathway-check-") as tmp:
        pendings = [_pending(job, Path(tmp), index) for index, job in enumerate(jobs)]
        shares = [list(range(w, len(jobs), workers)) for w in range(workers)]

        def run_share(w: int) -> int | None:
            mine = shares[w]
            budget = STARTUP_ALLOWANCE_S + sum(jobs[i].timeout_s + 3 for i in mine)
            request = {"mode": "batch", "jobs": [pendings[i].request for i in mine]}
            return _run_harness(request, Path(tmp), Path(tmp) / f"output-{w}.txt", budget)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_share, range(workers)))
        return [_result(job, pending, 0, "") for job, pending in zip(jobs, pendings)]


def evaluate_derivations(sources: Sequence[str], *, timeout_s: float = 5.0, workers: int | None = None) -> list[float | str]:
    """Compute numeric derivations in child processes: a float each, or an error message."""
    if not sources:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(sources)))
    with tempfile.TemporaryDirectory(prefix="pathway-derive-") as tmp:
        requests = [
            {"kind": "derivation", "source": source, "result": str(Path(tmp) / f"d{i}.jsonl"), "timeout_s": timeout_s, "memory_mb": DEFAULT_MEMORY_MB}
            for i, source in enumerate(sources)
        ]
        shares = [requests[w::workers] for w in range(workers)]

        def run_share(w: int) -> None:
            budget = STARTUP_ALLOWANCE_S + len(shares[w]) * (timeout_s + 3)
            _run_harness({"mode": "batch", "jobs": shares[w]}, Path(tmp), Path(tmp) / f"out-{w}.txt", budget)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_share, range(workers)))
        values: list[float | str] = []
        for request in requests:
            events = _events(Path(request["result"]))
            value = next((e["value"] for e in events if e["event"] == "value"), None)
            done = next((e for e in events if e["event"] == "done"), None)
            if value is not None:
                values.append(float(value))
            elif done and done["status"] == "timeout":
                values.append(f"did not finish within {timeout_s:g} s")
            else:
                values.append(done["message"] if done else "the derivation process died")
        return values


# --- process handling -----------------------------------------------------------


def _pending(job: ExerciseJob, tmp: Path, index: int) -> _Pending:
    path = tmp / f"job-{index}.jsonl"
    request = {
        "kind": "tests",
        "code": job.code,
        "tests": job.tests,
        "result": str(path),
        "timeout_s": float(job.timeout_s),
        "memory_mb": int(job.memory_mb),
        "seed": int(job.seed),
    }
    return _Pending(request=request, result_path=path)


def _run_harness(request: dict, cwd: Path, output_path: Path, wait_s: float) -> int | None:
    """Start the harness, feed it the request, wait up to `wait_s`; None when it had to be killed."""
    env = {**os.environ, **CHILD_ENV}
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", HARNESS.read_text(encoding="utf-8")],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own process group: anything it spawns dies with it
        )
        try:
            process.stdin.write(json.dumps(request).encode("utf-8"))
            process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            returncode: int | None = process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            returncode = None
        _kill_group(process.pid)
        if returncode is None:
            process.wait()
    return returncode


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _events(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
    return events


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-OUTPUT_LIMIT:]


def _result(job: ExerciseJob, pending: _Pending, returncode: int | None, output: str) -> ExerciseResult:
    events = _events(pending.result_path)
    tests = tuple(TestOutcome(e["name"], e["passed"], e["message"]) for e in events if e["event"] == "test")
    finished = {t.name for t in tests}
    running = next((e["name"] for e in reversed(events) if e["event"] == "start" and e["name"] not in finished), None)
    done = next((e for e in events if e["event"] == "done"), None)
    exit_event = next((e for e in events if e["event"] == "exit"), None)
    seconds = time.monotonic() - pending.started
    ready = any(e["event"] == "ready" for e in events)
    if done is not None:
        status, message = done["status"], done["message"]
    elif not ready and returncode is None:
        status, message = "timeout", "the exercise process did not start in time (the machine may be very busy)"
    elif returncode is None or (exit_event and exit_event.get("signal") == 9):
        status, message = "timeout", ""
    else:
        code = exit_event.get("code") if exit_event else returncode
        sig = exit_event.get("signal") if exit_event else (-returncode if returncode and returncode < 0 else None)
        status = "crashed"
        message = f"the code ended the process (killed by signal {sig})" if sig else f"the code ended the process (exit code {code})"
        if sig == signal.SIGXCPU:
            status, message = "timeout", ""
    if status == "timeout":
        where = f" while running {running}" if running else ""
        message = f"Stopped at the time limit of {job.timeout_s:g} s{where}: look for a loop that never ends."
    elif status == "memory":
        detail = f" ({message})" if message else ""
        message = f"Stopped at the memory limit of {job.memory_mb} MB{detail}: something allocates far too much."
    elif status == "error" and not message:
        message = "the code could not run"
    return ExerciseResult(status=status, tests=tests, message=message, output=output, seconds=seconds)
