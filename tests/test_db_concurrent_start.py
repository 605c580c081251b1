"""Several pathway processes starting at once on a new home: all succeed, the schema is created once.

Each process imports everything first, then waits at a file barrier, so the database
opening itself (create, migrate, first learner row) is what races.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from pathway.db.location import HEAD_REVISION, sqlite_revision

FIXTURE_CONTENT = Path(__file__).parent / "fixtures" / "content"
PROCESSES = 4

# Runs `pathway --home H stats` in a child once the barrier file appears.
CHILD = """
import sys, time
from pathlib import Path
from pathway.cli import main
import pathway.cli.progress, pathway.db.engine, pathway.db.migrate, pathway.db.transfer  # noqa: F401 (imports done before the barrier)
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.001)
sys.exit(main(["--home", sys.argv[3], "--content-dir", sys.argv[4], "stats", "--json"]))
"""


def start_together(home: Path, tmp: Path, n: int) -> list[subprocess.CompletedProcess]:
    go = tmp / "go"
    ready = [tmp / f"ready-{i}" for i in range(n)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go), str(ready[i]), str(home), str(FIXTURE_CONTENT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.monotonic() + 120
    while not all(path.exists() for path in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return results


def test_processes_starting_at_once_on_a_new_home_all_succeed(tmp_path: Path) -> None:
    for attempt in range(3):  # the race is timing-dependent: three fresh homes make a miss unlikely
        home = tmp_path / f"home-{attempt}"
        sync = tmp_path / f"sync-{attempt}"
        sync.mkdir()
        results = start_together(home, sync, PROCESSES)
        failures = [f"exit {r.returncode}: {r.stderr.strip()}" for r in results if r.returncode != 0]
        assert not failures, f"attempt {attempt}: " + "\n".join(failures)
        assert sqlite_revision(home / "pathway.db") == HEAD_REVISION
        assert not list(home.glob("pathway.db.bak-*")), "a new database needs no backup"
