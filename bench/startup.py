"""Time to first frame: `pathway` vs a minimal Textual app, side by side.

Each sample is a fresh Python process (imports count, as they do for a user) that builds the
app, runs it headless until its first frame, and exits. The two alternate so that noise on this
shared machine hits both alike; the median ratio is the figure (goal: at most 1.5x).
Also prints pathway's time until its data (database + course) is loaded, which happens after
the first frame, in a worker.

    python bench/startup.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap

MINIMAL = textwrap.dedent(
    """
    import time; start = time.perf_counter()
    from textual.app import App
    from textual.widgets import Footer, Static

    class Minimal(App):
        def compose(self):
            yield Static("hello")
            yield Footer()

    async def first_frame(pilot):
        print(f"first_frame {time.perf_counter() - start:.4f}")
        pilot.app.exit()

    Minimal().run(headless=True, size=(80, 24), auto_pilot=first_frame)
    """
)

PATHWAY = textwrap.dedent(
    """
    import time; start = time.perf_counter()
    import sys
    from pathway.tui.app import make_app

    async def first_frame(pilot):
        print(f"first_frame {time.perf_counter() - start:.4f}")
        while pilot.app.data is None:
            await pilot.pause(0.005)
        print(f"data_ready {time.perf_counter() - start:.4f}")
        pilot.app.exit()

    make_app(home=sys.argv[1]).run(headless=True, size=(80, 24), auto_pilot=first_frame)
    """
)


def sample(code: str, *args: str) -> dict[str, float]:
    wall = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return {name: float(value) for name, value in (line.split() for line in wall.stdout.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        sample(PATHWAY, home)  # first run creates and migrates the database; not counted
        sample(MINIMAL)
        minimal, pathway, ready = [], [], []
        for _ in range(args.repeats):
            minimal.append(sample(MINIMAL)["first_frame"])
            result = sample(PATHWAY, home)
            pathway.append(result["first_frame"])
            ready.append(result["data_ready"])
    ratios = [p / m for p, m in zip(pathway, minimal)]
    print(f"{'':22}{'median':>9}{'min':>9}{'max':>9}   (seconds, {args.repeats} runs each)")
    for name, values in [("minimal Textual app", minimal), ("pathway first frame", pathway), ("pathway data loaded", ready)]:
        print(f"{name:22}{statistics.median(values):9.3f}{min(values):9.3f}{max(values):9.3f}")
    print(f"first-frame ratio pathway/minimal: median {statistics.median(ratios):.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
