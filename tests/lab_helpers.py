"""Helpers for tests that start real lab runs through the runner."""

from __future__ import annotations

import os
import signal

from pathway.labs.engine import jobs, records


def run_to_the_end(engine, run_id: int, timeout: float = 120.0):
    """The run once it has ended; its process group is killed if it is still going (no runner outlives a test)."""
    try:
        jobs.wait_for(engine, run_id, lambda r: r.status not in records.ACTIVE, timeout=timeout)
    finally:
        run = jobs.get_run(engine, run_id)
        if jobs.is_alive(run):
            os.killpg(run.pid, signal.SIGKILL)
    return run
