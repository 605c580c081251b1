"""The states of a lab run, in one place.

    queued -> running -> succeeded | failed | stopped | diverged | interrupted

`interrupted` is set by reconciliation when a runner died without saying how
its run ended (killed, machine rebooted). A stopped or interrupted run can be
resumed from its last checkpoint; so can a failed or diverged one.
"""

from __future__ import annotations

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, STOPPED, DIVERGED, INTERRUPTED = "succeeded", "failed", "stopped", "diverged", "interrupted"

ACTIVE = (QUEUED, RUNNING)  # a runner owns the row (or is about to)
FINISHED = (SUCCEEDED, FAILED, STOPPED, DIVERGED, INTERRUPTED)
ALL = ACTIVE + FINISHED
OK = (SUCCEEDED, STOPPED)  # endings a command reports with exit code 0: the work did what was asked


def exit_code(status: str) -> int:
    """What a foreground `pathway lab run` exits with when its run ends in `status`."""
    return 0 if status in OK else 1


def is_good(status: str) -> bool:
    """Green on screen: running, or finished as asked."""
    return status in ACTIVE or status == SUCCEEDED
