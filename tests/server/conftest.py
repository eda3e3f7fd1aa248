"""Fixtures for the daemon tests: an in-process daemon on its own loop thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from virtwire.server.config import ServerConfig

from tests.server.wire import DaemonThread


@pytest.fixture
def daemon_thread() -> Iterator[DaemonThread]:
    """A daemon with default settings (unix rw/ro + TCP on an ephemeral port)."""
    d = DaemonThread().start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture
def make_daemon() -> Iterator:
    """``make_daemon(**config_values)`` → a started :class:`DaemonThread`; all stopped after."""
    made: list[DaemonThread] = []

    def make(dispatcher=None, **values) -> DaemonThread:
        d = DaemonThread(ServerConfig(**values), dispatcher=dispatcher)
        made.append(d)
        return d.start()

    try:
        yield make
    finally:
        for d in made:
            d.stop()
