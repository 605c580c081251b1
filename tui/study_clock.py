"""Measured study time: how long the app is in use, by mode, for the plan's "hours this week".

    clock = StudyClock()
    clock.touch("learn")          # on every key, click or scroll
    clock.take()                  # {"learn": 42.0}: seconds since the last take, then zero

Time between two inputs counts toward the mode of the first when they are at most
IDLE_SECONDS apart; a longer gap is time away (a lesson left open over lunch is not
study). Reading counts because reading scrolls; a run watched without touching a key
counts up to IDLE_SECONDS after the last input.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable

IDLE_SECONDS = 300.0


class StudyClock:
    def __init__(self, idle_seconds: float = IDLE_SECONDS, now: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.now = now
        self.last: float | None = None
        self.mode = ""
        self.pending: dict[str, float] = defaultdict(float)

    def touch(self, mode: str) -> None:
        at = self.now()
        if self.last is not None and at - self.last <= self.idle_seconds:
            self.pending[self.mode] += at - self.last
        self.last, self.mode = at, mode

    def take(self) -> dict[str, float]:
        taken = {mode: seconds for mode, seconds in self.pending.items() if seconds > 0}
        self.pending.clear()
        return taken
