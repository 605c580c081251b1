"""Code exercises run in a child process: pass, fail with a message, and the limits that kill runaways."""

from __future__ import annotations

import threading
import time
import uuid

import psutil
import pytest

from pathway.quiz.exercise_runner import STARTUP_ALLOWANCE_S, ExerciseJob, run_exercise, run_exercises

TESTS = '''
def test_small():
    assert add(1, 2) == 3

def test_negative():
    assert add(-1, -1) == -2, "negatives must add up"
'''
GOOD = "def add(a, b):\n    return a + b\n"


def test_passing_code() -> None:
    result = run_exercise(GOOD, TESTS, timeout_s=10)
    assert result.status == "passed" and result.passed
    assert [(t.name, t.passed) for t in result.tests] == [("test_small", True), ("test_negative", True)]
    assert result.summary() == "2/2 tests passed"


def test_failures_say_which_test_and_why() -> None:
    result = run_exercise("def add(a, b):\n    return a - b\n", TESTS, timeout_s=10)
    assert result.status == "failed"
    small, negative = result.tests
    assert not small.passed and small.message == "AssertionError: assert add(1, 2) == 3 (tests, line 3)"
    assert negative.message == "AssertionError: negatives must add up (tests, line 6)"
    assert result.summary() == "0/2 tests passed"


def test_exceptions_in_the_learners_code_point_at_their_line() -> None:
    result = run_exercise("def add(a, b):\n    return a + c\n", TESTS, timeout_s=10)
    assert result.status == "failed"
    assert result.tests[0].message == "NameError: name 'c' is not defined (your code, line 2)"


def test_syntax_error_is_an_error_not_a_crash() -> None:
    result = run_exercise("def add(a, b)\n    return a + b\n", TESTS, timeout_s=10)
    assert result.status == "error" and result.tests == ()
    assert result.message.startswith("SyntaxError") and "line 1" in result.message


def test_print_output_is_kept_and_tests_are_seeded() -> None:
    code = "import random\nprint('hello from the learner')\ndef add(a, b):\n    return a + b\n"
    tests = "import random\ndef test_seeded():\n    assert random.random() == 0.8444218515250481\n"
    result = run_exercise(code, tests, timeout_s=10)
    assert result.passed, result
    assert "hello from the learner" in result.output


def test_no_tests_is_an_error() -> None:
    result = run_exercise(GOOD, "x = 1\n", timeout_s=10)
    assert result.status == "error" and "no test_* function" in result.message


@pytest.mark.slow
def test_infinite_loop_is_killed_at_the_limit_and_named() -> None:
    started = time.monotonic()
    result = run_exercise("def add(a, b):\n    while True:\n        pass\n", TESTS, timeout_s=1.5)
    elapsed = time.monotonic() - started
    assert result.status == "timeout"
    assert "time limit of 1.5 s while running test_small" in result.message
    assert elapsed < 1.5 + STARTUP_ALLOWANCE_S


@pytest.mark.slow
def test_loop_inside_c_code_is_killed_too() -> None:
    # time.sleep does not return to the interpreter: only the watchdog's kill ends it
    result = run_exercise("import time\ndef add(a, b):\n    time.sleep(60)\n", TESTS, timeout_s=1)
    assert result.status == "timeout"


@pytest.mark.slow
@pytest.mark.parametrize(
    "hog",
    [
        "def add(a, b):\n    block = bytearray(8 * 1024**3)\n    return a + b\n",
        "def add(a, b):\n    grow = []\n    while True:\n        grow.append(bytearray(10 * 1024**2))\n",
    ],
    ids=["one-big-block", "growing"],
)
def test_memory_hog_is_stopped_at_the_memory_limit(hog: str) -> None:
    result = run_exercise(hog, TESTS, timeout_s=20, memory_mb=256)
    assert result.status == "memory", result
    assert "memory limit of 256 MB" in result.message


@pytest.mark.slow
def test_torch_exercises_get_the_budget_on_top_of_torch() -> None:
    tests = "import torch\ndef test_sum():\n    assert add(torch.ones(2), torch.ones(2)).sum().item() == 4\n"
    assert run_exercise(GOOD, tests, timeout_s=30, memory_mb=256).passed
    hog = "import torch\ndef add(a, b):\n    return torch.zeros(2**31) + a.sum()\n"
    assert run_exercise(hog, tests, timeout_s=30, memory_mb=256).status == "memory"


def test_code_that_exits_the_process_is_reported() -> None:
    result = run_exercise("import os\ndef add(a, b):\n    os._exit(3)\n", TESTS, timeout_s=10)
    assert result.status == "crashed" and "exit code 3" in result.message


def test_children_the_code_starts_are_killed_with_it() -> None:
    # the grandchild is found by a token in its command line: its pid may be in another PID namespace
    token = f"pathway-grandchild-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {token!r}])\n"
        "def add(a, b):\n    return a + b\n"
    )
    assert run_exercise(code, TESTS, timeout_s=10).passed
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _living_with(token):
        time.sleep(0.05)
    assert not _living_with(token), "the grandchild outlived the exercise"


def _living_with(token: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if token in (process.info["cmdline"] or []) and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def test_runs_from_a_thread_like_the_tui_worker() -> None:
    results = []
    worker = threading.Thread(target=lambda: results.append(run_exercise(GOOD, TESTS, timeout_s=10)))
    worker.start()
    worker.join(timeout=60)
    assert results and results[0].passed


@pytest.mark.slow
def test_batch_keeps_job_order_and_survives_a_runaway() -> None:
    jobs = [
        ExerciseJob(GOOD, TESTS, timeout_s=5),
        ExerciseJob("def add(a, b):\n    while True: pass\n", TESTS, timeout_s=1),
        ExerciseJob("def add(a, b):\n    return 0\n", TESTS, timeout_s=5),
        ExerciseJob(GOOD, TESTS, timeout_s=5),
    ]
    assert [r.status for r in run_exercises(jobs, workers=2)] == ["passed", "timeout", "failed", "passed"]
