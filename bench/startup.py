"""Start-up as a user sees it: `pathway` in a real terminal until Home shows your progress, vs a minimal Textual app.

Each sample starts a fresh tmux session (80x24) running one command, and polls the
screen until the text that matters is on it: for pathway, the "N / M lessons done"
line of Home (the first frame is drawn before it, while the database and the course
load in a worker); for the anchor, a minimal Textual app's one line. The two
alternate so that noise on this shared machine hits both alike; the figure is the
ratio of medians (goal: at most 2.0x, stretch 1.5x).

    python bench/startup.py [--repeats 5] [--home DIR]

Without --home each pathway sample uses one fresh temporary home, created (and
migrated) once before timing starts, as a returning learner's would be.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MINIMAL = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Footer, Static

    class Minimal(App):
        def compose(self):
            yield Static("hello from a minimal app")
            yield Footer()

    Minimal().run()
    """
)
PATHWAY_READY = re.compile(r"\d+ / \d+ lessons done|已学完 \d+ / \d+ 课")  # a home whose learner chose Chinese
MINIMAL_READY = re.compile(r"hello from a minimal app")
TIMEOUT_S = 30.0
_SESSIONS = itertools.count()


def time_until(command: list[str], ready: re.Pattern, session: str) -> float:
    """Seconds from starting `command` in a new tmux session until `ready` matches its screen."""
    session = f"{session}-{os.getpid()}-{next(_SESSIONS)}"  # a fresh name: a just-killed session may linger
    shell_cmd = " ".join(map(_quote, command))
    started = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", shell_cmd], check=True)
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if ready.search(screen):
                return time.perf_counter() - started
            time.sleep(0.01)
        raise TimeoutError(f"{command[0]}: {ready.pattern!r} not on screen after {TIMEOUT_S:.0f} s:\n{screen}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--home", help="the pathway home to open (default: a fresh one, migrated before timing)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("bench/startup.py needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    # One idle session keeps the tmux server up: a server that exits with its last session races
    # the next new-session, which then fails now and then.
    keeper = f"bench-keep-{os.getpid()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", keeper, "sleep 3600"], check=True)
    try:
        return bench(args)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", keeper], capture_output=True)


def bench(args: argparse.Namespace) -> int:
    pathway = str(Path(sys.executable).with_name("pathway"))
    home = args.home or tempfile.mkdtemp(prefix="pathway-bench-")
    env_home = ["env", f"PATHWAY_HOME={home}", "TERM=xterm-256color"]
    time_until([*env_home, pathway], PATHWAY_READY, "bench-warmup")  # creates and migrates the home once
    script = Path(tempfile.mkdtemp()) / "minimal.py"
    script.write_text(MINIMAL)
    times: dict[str, list[float]] = {"minimal": [], "pathway": []}
    for i in range(args.repeats):
        times["minimal"].append(time_until(["env", "TERM=xterm-256color", sys.executable, str(script)], MINIMAL_READY, "bench-minimal"))
        times["pathway"].append(time_until([*env_home, pathway], PATHWAY_READY, "bench-pathway"))
        print(f"  run {i + 1}: minimal {times['minimal'][-1]:.2f} s, pathway {times['pathway'][-1]:.2f} s", flush=True)
    minimal, ours = statistics.median(times["minimal"]), statistics.median(times["pathway"])
    print(f"minimal Textual app, first text:      median {minimal:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['minimal'])})")
    print(f"pathway, Home shows lessons done:     median {ours:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['pathway'])})")
    print(f"ratio (pathway / minimal): {ours / minimal:.2f}x   goal <= 2.0x, stretch 1.5x   load now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
