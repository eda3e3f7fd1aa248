"""Waiting on a condition in the client tests: poll it until it holds, or fail at a deadline
(never a fixed sleep that a loaded machine could outrun)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)  # the poll interval, not a wait for something to happen
