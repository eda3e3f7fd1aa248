"""Fixtures for the simulated hosts: a fake scheduler and an event recorder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from virtwire.protocol.events import DomainEventID
from virtwire.server.hypervisor import HostRegistry


class FakeScheduler:
    """Collects what the EventState schedules; ``run()`` plays it like a loop turn."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, fn: Callable[[], None]) -> None:
        self.pending.append(fn)

    def run(self) -> None:
        while self.pending:
            self.pending.pop(0)()


class Recorder:
    """Registers for every event ID on a driver and records what is delivered, in order."""

    def __init__(self, driver, scheduler: FakeScheduler) -> None:
        self.driver = driver
        self.scheduler = scheduler
        self.events: list = []
        for event_id in DomainEventID:
            driver.events.register(int(event_id), lambda ev, cid: self.events.append(ev))

    def take(self) -> list:
        self.scheduler.run()
        out, self.events = self.events, []
        return out

    def names(self) -> list[tuple]:
        """Compact form: ("lifecycle", event, detail) or (class name, alias/value)."""
        out = []
        for ev in self.take():
            kind = type(ev).__name__
            if kind == "LifecycleEvent":
                out.append(("lifecycle", ev.event, ev.detail))
            elif hasattr(ev, "dev_alias"):
                out.append((kind, ev.dev_alias))
            elif hasattr(ev, "actual"):
                out.append((kind, ev.actual))
            else:
                out.append((kind,))
        return out


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def registry(tmp_path: Path, scheduler: FakeScheduler) -> HostRegistry:
    return HostRegistry(tmp_path / "state", scheduler)


@pytest.fixture
def recorder_for(scheduler: FakeScheduler):
    return lambda driver: Recorder(driver, scheduler)
