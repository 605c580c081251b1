"""The states of a lab run, in one place.

    queued -> running -> succeeded | check failed | failed | stopped | diverged | interrupted

`check failed` is a run that finished every step but missed one of its lab's
goals (`contract.Goal`: accuracy above chance, loss below chance, a correctness
check): the work ran, the result is wrong. `interrupted` is set by
reconciliation when a runner died without saying how its run ended (killed,
machine rebooted). A stopped or interrupted run can be resumed from its last
checkpoint; so can a failed or diverged one. Succeeded and check-failed runs
are done: start a new run with other settings.
"""

from __future__ import annotations

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, STOPPED, DIVERGED, INTERRUPTED = "succeeded", "failed", "stopped", "diverged", "interrupted"
CHECK_FAILED = "check failed"

ACTIVE = (QUEUED, RUNNING)  # a runner owns the row (or is about to)
FINISHED = (SUCCEEDED, CHECK_FAILED, FAILED, STOPPED, DIVERGED, INTERRUPTED)
ALL = ACTIVE + FINISHED
OK = (SUCCEEDED, STOPPED)  # endings a command reports with exit code 0: the work did what was asked
DONE = (SUCCEEDED, CHECK_FAILED)  # ran every step: nothing left to resume
CHECK_PREFIX = "The run finished, but its result fails the lab's check: "  # how a check-failed run's reason starts
CHECK_FAILED_EXIT = 3  # `pathway lab run` exit code of a run that finished but missed its goals


def exit_code(status: str) -> int:
    """What a foreground `pathway lab run` exits with when its run ends in `status`:
    0 succeeded or stopped, 3 check failed, 1 failed, diverged or interrupted."""
    if status in OK:
        return 0
    return CHECK_FAILED_EXIT if status == CHECK_FAILED else 1


def is_good(status: str) -> bool:
    """Green on screen: running, or finished as asked."""
    return status in ACTIVE or status == SUCCEEDED


def color(status: str) -> str:
    """The colour a status is drawn in: green as asked, amber (yellow) finished but wrong, red otherwise."""
    if is_good(status):
        return "green"
    return "yellow" if status == CHECK_FAILED else "red"
