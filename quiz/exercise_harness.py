"""Runs exercise code and its tests inside a child process. Standard library only.

This file is not imported by pathway: `exercise_runner` hands its source to
`python -I -c` so that nothing of pathway (or of the learner's cwd) is on the
path. It reads one JSON request on stdin:

    {"mode": "single", "job": JOB}           one job
    {"mode": "batch",  "jobs": [JOB, ...]}   many: heavy modules are imported once

Either way each job runs in a forked child, so the learner's code never has the app as its
parent: `os.getppid()` is this harness (killing it only ends the harness; the runner then kills
the rest of the process group).

    JOB = {"kind": "tests", "code": str, "tests": str, "result": path,
           "timeout_s": float, "memory_mb": int, "seed": int}
        | {"kind": "derivation", "source": str, "result": path, "timeout_s": float, "memory_mb": int}

and appends JSON lines to the job's `result` file as it goes, so a job that is
killed still leaves what it finished: {"event": "ready"}, per test {"event":
"start", "name"} and {"event": "test", "name", "passed", "message"}, then {"event": "done", "status",
"message"}; a derivation ends with {"event": "value", "value"}.
"""

import json
import linecache
import os
import random
import resource
import sys
import threading
import time
import traceback

MB = 1024 * 1024
MEMORY_WORDS = ("can't allocate memory", "cannot allocate memory", "out of memory", "std::bad_alloc")


def _emit(path, **event):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event) + "\n")


def _preload(sources):
    """Import the heavy libraries a job uses before the memory limit is set."""
    text = "\n".join(sources)
    for module in ("numpy", "torch"):
        if module in text:
            try:
                __import__(module)
            except ImportError:
                pass
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(1)
        _warm_up(torch)


def _warm_up(torch):
    """Pay torch's lazy start-up (kernels, autograd, optimizers) once, before children fork."""
    try:
        layer = torch.nn.Linear(4, 2)
        loss = torch.nn.functional.cross_entropy(layer(torch.randn(3, 4)), torch.tensor([0, 1, 1]))
        loss.backward()
        torch.optim.SGD(layer.parameters(), lr=0.1).step()
        torch.nn.functional.conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3))
    except Exception:  # noqa: BLE001 - a warm-up is only an optimisation
        pass


def _virtual_size():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(job):
    """Memory: what is mapped now plus the job's budget. CPU: a backstop to the watchdog."""
    budget = int(job.get("memory_mb", 1024)) * MB
    size = _virtual_size() + budget
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    seconds = int(job["timeout_s"]) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def _watchdog(job):
    """Kill this process at the time limit even when it is stuck inside C code."""

    def fire():
        time.sleep(job["timeout_s"])
        try:
            _emit(job["result"], event="done", status="timeout", message="")
        finally:
            os.kill(os.getpid(), 9)

    threading.Thread(target=fire, daemon=True).start()


def _seed(seed):
    random.seed(seed)
    for name in ("numpy", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            (module.random.seed if name == "numpy" else module.manual_seed)(seed)


def _register(filename, source):
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _is_memory(exc):
    return isinstance(exc, MemoryError) or any(w in str(exc).lower() for w in MEMORY_WORDS)


def _failure(exc, tests_file):
    """One readable message: the assertion's text or the exception, with the test's line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in (tests_file, "<exercise>")]
    where = frames[-1] if frames else None
    if isinstance(exc, AssertionError):
        detail = str(exc) or (where.line if where else "assertion failed")
        head = "AssertionError: " + detail
    else:
        head = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if where is not None:
        label = "tests" if where.filename == tests_file else "your code"
        head += f" ({label}, line {where.lineno})"
    return head


def run_tests(job):
    code_file, tests_file = "<exercise>", "<tests>"
    _register(code_file, job["code"])
    _register(tests_file, job["tests"])
    namespace = {"__name__": "exercise"}
    try:
        exec(compile(job["code"], code_file, "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - any failure of learner code is a result
        status = "memory" if _is_memory(exc) else "error"
        if isinstance(exc, SyntaxError):
            message = f"SyntaxError: {exc.msg} (your code, line {exc.lineno})"
        else:
            message = _failure(exc, tests_file)
        _emit(job["result"], event="done", status=status, message=message)
        return
    try:
        exec(compile(job["tests"], tests_file, "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001
        _emit(job["result"], event="done", status="error", message="the tests could not load: " + _failure(exc, tests_file))
        return
    names = [
        name
        for name, value in namespace.items()
        if name.startswith("test_") and getattr(getattr(value, "__code__", None), "co_filename", None) == tests_file
    ]
    if not names:
        _emit(job["result"], event="done", status="error", message="the tests define no test_* function")
        return
    failed = memory = False
    for name in names:
        _emit(job["result"], event="start", name=name)
        _seed(job.get("seed", 0))
        try:
            namespace[name]()
        except BaseException as exc:  # noqa: BLE001
            failed = True
            memory = _is_memory(exc)
            _emit(job["result"], event="test", name=name, passed=False, message=_failure(exc, tests_file))
            if memory:
                break  # the next test would most likely hit the wall again, slowly
        else:
            _emit(job["result"], event="test", name=name, passed=True, message="")
    status = "memory" if memory else "failed" if failed else "passed"
    _emit(job["result"], event="done", status=status, message="")


def run_derivation(job):
    source = job["source"]
    _register("<derivation>", source)
    namespace = {"__name__": "derivation"}
    try:
        try:
            code = compile(source, "<derivation>", "eval")
        except SyntaxError:
            exec(compile(source, "<derivation>", "exec"), namespace)
            if "answer" not in namespace:
                raise NameError("the snippet does not assign `answer`") from None
            value = namespace["answer"]
        else:
            value = eval(code, namespace)
        value = float(value)
    except BaseException as exc:  # noqa: BLE001
        _emit(job["result"], event="done", status="error", message=f"{type(exc).__name__}: {exc}")
        return
    _emit(job["result"], event="value", value=value)
    _emit(job["result"], event="done", status="passed", message="")


def run_job(job):
    """Run one job in this process, then leave without running anyone's cleanup."""
    sys.stdout.flush()
    try:
        _limit(job)
        _watchdog(job)
        _emit(job["result"], event="ready")
        (run_tests if job["kind"] == "tests" else run_derivation)(job)
    except BaseException as exc:  # noqa: BLE001
        try:
            _emit(job["result"], event="done", status="crashed", message=f"{type(exc).__name__}: {exc}")
        except BaseException:  # noqa: BLE001
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_batch(jobs):
    """Fork one child per job (heavy imports are paid once); kill a child that overruns."""
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            run_job(job)
        deadline = time.monotonic() + job["timeout_s"] + 2
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                status = -9
                break
            time.sleep(0.005)
        if status == -9 or os.WIFSIGNALED(status):
            _emit(job["result"], event="exit", signal=9 if status == -9 else os.WTERMSIG(status), code=None)
        elif os.WEXITSTATUS(status) != 0:
            _emit(job["result"], event="exit", signal=None, code=os.WEXITSTATUS(status))


def main():
    request = json.loads(sys.stdin.read())
    jobs = [request["job"]] if request["mode"] == "single" else request["jobs"]
    _preload([j.get("code", "") + j.get("tests", "") + j.get("source", "") for j in jobs])
    run_batch(jobs)


if __name__ == "__main__":
    main()
