"""Client test fixtures: a way to run coroutines with a hard deadline (nothing may hang)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from virtwire.client import libvirt

from tests.client.fake_daemon import FakeDaemon


@pytest.fixture
def arun() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """``arun(coro)`` runs ``coro`` on a fresh loop and fails the test after 15 s."""

    def run(coro: Coroutine[Any, Any, Any], timeout: float = 15.0) -> Any:
        return asyncio.run(asyncio.wait_for(coro, timeout))

    return run


class DaemonThread:
    """The fake daemon on a private loop so the facade's blocking calls cannot stall it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.daemon: FakeDaemon = self.run(FakeDaemon().start())

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def call(self, fn, *args):
        async def wrapper():
            return fn(*args)

        return self.run(wrapper())

    def stop(self) -> None:
        self.run(self.daemon.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def fake() -> Iterator[DaemonThread]:
    server = DaemonThread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def event_loop_thread() -> Iterator[None]:
    """The usual libvirt-python pattern: a daemon thread looping virEventRunDefaultImpl."""
    libvirt.virEventRegisterDefaultImpl()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            libvirt.virEventRunDefaultImpl()

    thread = threading.Thread(target=loop, name="app-event-loop", daemon=True)
    thread.start()
    yield
    stop.set()
    libvirt._IMPL.wake()
    thread.join(5)
