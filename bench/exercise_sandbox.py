"""What the exercise sandbox costs a learner who presses Ctrl+R: start-up per backend, vs no sandbox.

Runs the same small exercise through the real runner (`run_exercise`) with each backend forced
by PATHWAY_SANDBOX, alternating backends each round so that noise on a shared machine hits all
alike, and prints the median seconds and the ratio to `plain` (no namespaces: the runner's
launch as it was before the sandbox, plus the one fork the harness now makes). Two exercises:
one in plain Python, one that imports torch (most of the course's exercises do).

    python bench/exercise_sandbox.py [--repeats 7] [--no-torch]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from pathway.quiz import sandbox
from pathway.quiz.exercise_runner import run_exercise

EXERCISES = {
    "python": ("def add(a, b):\n    return a + b\n", "def test_add():\n    assert add(1, 2) == 3\n"),
    "torch": (
        "import torch\ndef add(a, b):\n    return a + b\n",
        "import torch\ndef test_add():\n    assert add(torch.ones(2), torch.ones(2)).sum().item() == 4\n",
    ),
}


def time_once(backend: str, code: str, tests: str) -> float:
    os.environ[sandbox.FORCE_VARIABLE] = backend
    started = time.perf_counter()
    result = run_exercise(code, tests, timeout_s=30)
    elapsed = time.perf_counter() - started
    if not result.passed:
        raise SystemExit(f"the {backend} run did not pass ({result.status}: {result.summary()}); the bench needs a working sandbox")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-torch", action="store_true", help="only the plain-Python exercise")
    args = parser.parse_args()
    backends = [b for b in sandbox.BACKENDS if sandbox._works(b)]
    missing = sorted(set(sandbox.BACKENDS) - set(backends))
    print(f"backends here: {', '.join(backends)}" + (f" (cannot start: {', '.join(missing)})" if missing else ""))
    names = ["python"] if args.no_torch else list(EXERCISES)
    for name in names:
        code, tests = EXERCISES[name]
        for backend in backends:  # warm the page cache and the probes before timing
            time_once(backend, code, tests)
        samples: dict[str, list[float]] = {b: [] for b in backends}
        for _ in range(args.repeats):
            for backend in backends:
                samples[backend].append(time_once(backend, code, tests))
        base = statistics.median(samples["plain"])
        for backend in backends:
            median = statistics.median(samples[backend])
            print(f"{name:>6} exercise  {backend:>7}: median {median * 1000:7.1f} ms  ratio to plain {median / base:5.2f}x")


if __name__ == "__main__":
    main()
