"""Grade code exercises in a sandboxed child process, with time, memory and output limits.

    result = run_exercise(code, tests, timeout_s=10)
    result.status            # passed | failed | error | timeout | memory | crashed
    for t in result.tests: print(t.name, t.passed, t.message)

The child is `python -I -c <exercise_harness.py>` inside the strongest sandbox this machine
offers (`sandbox.py`: bubblewrap, else unshare's namespaces, else a plain child), with an
environment of its own (PATH, HOME, LANG and thread limits; nothing of the app's) and a private
temporary HOME and working directory that are removed afterwards. The harness forks the
learner's code into a grandchild, sets RLIMIT_AS to what it has mapped after importing
torch/numpy (when the code uses them) plus `memory_mb`, and a watchdog thread kills it at
`timeout_s`. The parent reads the child's output as it comes and keeps the first
OUTPUT_KEEP_BYTES; an exercise that prints more than FLOOD_LIMIT_BYTES is killed. The parent waits
at most `timeout_s` plus STARTUP_ALLOWANCE_S (interpreter start and the torch import, ~2 s idle,
more on a busy machine), then kills the whole process group. The call blocks its thread for at
most that long: the TUI calls it from a thread worker.

`run_exercises` grades many jobs for the content checker, and `evaluate_derivations` computes its
numeric derivations, through the same sandbox: a few harness processes import torch once each and
fork one child per job.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from pathway.quiz.sandbox import child_env, sandbox_backend, wrap

if TYPE_CHECKING:
    from pathway.content.questions import CodeQuestion

HARNESS = Path(__file__).with_name("exercise_harness.py")
DEFAULT_MEMORY_MB = 1024  # on top of what the interpreter and torch map before the learner's code runs
STARTUP_ALLOWANCE_S = 20.0
OUTPUT_KEEP_BYTES = 64 * 1024  # of the child's stdout and stderr (merged, in order), the first this many are kept
FLOOD_LIMIT_BYTES = 4 * 1024 * 1024  # an exercise printing more than this is stopped: it is a print in a loop
DRAIN_S = 0.5  # after the harness exits, how long a grandchild holding the pipe open may keep it
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
    output: str = ""  # what the code printed, the first OUTPUT_KEEP_BYTES, with a note when cut
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


@dataclass
class _Output:
    """What a harness printed: the first OUTPUT_KEEP_BYTES of it, and how much there was in all."""

    kept: bytearray = field(default_factory=bytearray)
    total: int = 0

    def take(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = OUTPUT_KEEP_BYTES - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    @property
    def flooded(self) -> bool:
        return self.total > FLOOD_LIMIT_BYTES

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.total > OUTPUT_KEEP_BYTES:
            text += f"\n[output truncated after {OUTPUT_KEEP_BYTES // 1024} KiB]"
        return text


@dataclass
class _Harness:
    """How a harness process ended: its exit status (None when it was killed) and its output."""

    returncode: int | None
    output: _Output
    flooded: bool  # killed because it printed past FLOOD_LIMIT_BYTES


# --- one exercise ---------------------------------------------------------------


def run_exercise(
    code: str, tests: str, *, timeout_s: float = 10.0, memory_mb: int = DEFAULT_MEMORY_MB, seed: int = 0
) -> ExerciseResult:
    """Run `tests` against `code` in a sandboxed child process; never blocks past the limits."""
    job = ExerciseJob(code=code, tests=tests, timeout_s=timeout_s, memory_mb=memory_mb, seed=seed)
    with _WorkDir("pathway-exercise-") as tmp:
        pending = _pending(job, tmp, 0)
        harness = _run_harness({"mode": "single", "job": pending.request}, tmp, timeout_s + STARTUP_ALLOWANCE_S, stop_on_flood=True)
        result = _result(job, pending, harness.returncode, harness.output.text())
        if harness.flooded:
            message = (
                f"Stopped after printing more than {FLOOD_LIMIT_BYTES // (1024 * 1024)} MiB "
                f"(output truncated after {OUTPUT_KEEP_BYTES // 1024} KiB): look for a print inside a loop."
            )
            result = ExerciseResult("crashed", result.tests, message, result.output, result.seconds)
        return result


def grade_code(question: "CodeQuestion", code: str, *, memory_mb: int = DEFAULT_MEMORY_MB) -> ExerciseResult:
    """Run a code question's tests on the learner's code."""
    return run_exercise(code, question.tests, timeout_s=question.timeout_s, memory_mb=memory_mb)


# --- many exercises (the content checker) ----------------------------------------


def run_exercises(jobs: Sequence[ExerciseJob], *, workers: int | None = None) -> list[ExerciseResult]:
    """Grade many jobs in `workers` harness processes (default: one per CPU); results in job order."""
    if not jobs:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    with _WorkDir("pathway-check-") as tmp:
        pendings = [_pending(job, tmp, index) for index, job in enumerate(jobs)]
        shares = [list(range(w, len(jobs), workers)) for w in range(workers)]

        def run_share(w: int) -> None:
            mine = shares[w]
            budget = STARTUP_ALLOWANCE_S + sum(jobs[i].timeout_s + 3 for i in mine)
            request = {"mode": "batch", "jobs": [pendings[i].request for i in mine]}
            _run_harness(request, tmp, budget, stop_on_flood=False)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_share, range(workers)))
        return [_result(job, pending, 0, "") for job, pending in zip(jobs, pendings)]


def evaluate_derivations(sources: Sequence[str], *, timeout_s: float = 5.0, workers: int | None = None) -> list[float | str]:
    """Compute numeric derivations in sandboxed child processes: a float each, or an error message."""
    if not sources:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(sources)))
    with _WorkDir("pathway-derive-") as tmp:
        requests = [
            {"kind": "derivation", "source": source, "result": str(tmp / f"d{i}.jsonl"), "timeout_s": timeout_s, "memory_mb": DEFAULT_MEMORY_MB}
            for i, source in enumerate(sources)
        ]
        shares = [requests[w::workers] for w in range(workers)]

        def run_share(w: int) -> None:
            budget = STARTUP_ALLOWANCE_S + len(shares[w]) * (timeout_s + 3)
            _run_harness({"mode": "batch", "jobs": shares[w]}, tmp, budget, stop_on_flood=False)

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


class _WorkDir(tempfile.TemporaryDirectory):
    """The run's temporary directory (results, and the child's HOME inside it), by its real path:
    bubblewrap binds it at the same place, so the paths in the request hold on both sides."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix=prefix, ignore_cleanup_errors=True)

    def __enter__(self) -> Path:  # type: ignore[override]
        return Path(os.path.realpath(self.name))


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


def _run_harness(request: dict, tmp: Path, wait_s: float, *, stop_on_flood: bool) -> _Harness:
    """Start the harness in the sandbox, feed it the request, read its output as it comes, and
    kill its process group when it ends, overruns `wait_s` or (with `stop_on_flood`) floods.
    A batch does not stop on a flood: it drains and drops, so one runaway job spares the others."""
    home = tmp / "home"  # the child's HOME and cwd; tmp around it holds the result files
    home.mkdir(exist_ok=True)
    backend = sandbox_backend()
    argv = wrap([sys.executable, "-I", "-c", HARNESS.read_text(encoding="utf-8")], tmp, home, backend)
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=home,
        env=child_env(home),
        start_new_session=True,  # its own session and process group: anything it spawns dies with it
    )
    try:
        process.stdin.write(json.dumps(request).encode("utf-8"))
        process.stdin.close()
    except BrokenPipeError:
        pass
    output = _Output()
    try:
        ended = _pump(process, output, time.monotonic() + wait_s, stop_on_flood)
    finally:
        _kill_group(process.pid)
        status = process.wait()
        process.stdout.close()
    returncode = _unwrapped(status, backend) if ended == "exited" else None
    return _Harness(returncode=returncode, output=output, flooded=ended == "flood")


def _pump(process: subprocess.Popen, output: _Output, deadline: float, stop_on_flood: bool) -> str:
    """Read the child's output in chunks until it exits ("exited"), overruns ("deadline") or floods."""
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = now  # a grandchild may still hold the pipe: drain a little, then stop
            if exited_at is not None and now > exited_at + DRAIN_S:
                return "exited"
            if exited_at is None and now > deadline:
                return "deadline"
            if not selector.select(timeout=0.05):
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                break  # every writer is gone
            output.take(chunk)
            if stop_on_flood and output.flooded:
                return "flood"
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return "deadline"
    return "exited"


def _unwrapped(status: int, backend: str) -> int:
    """The harness's own exit status: bubblewrap reports a child killed by signal N as 128 + N."""
    if backend == "bwrap" and status > 128:
        return -(status - 128)
    return status


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
