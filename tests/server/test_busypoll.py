"""Adaptive busy polling (server/busypoll.py): the policy with a fake clock, the selector
on a real socket pair, and `virtwire serve`'s loop."""

from __future__ import annotations

import asyncio
import selectors
import socket

import pytest
from virtwire.server import busypoll
from virtwire.server.busypoll import AdaptivePollPolicy, AdaptivePollSelector
from virtwire.server.daemon import loop_factory

US = 1e-6


def test_window_grows_while_wake_ups_come_soon_and_resets_when_idle():
    policy = AdaptivePollPolicy(100 * US)
    assert policy.window == 0  # an idle daemon starts without polling
    windows = []
    for _ in range(6):
        policy.slept(30 * US, woke_for_io=True)
        windows.append(round(policy.window / US))
    assert windows == [10, 20, 40, 80, 100, 100]  # KVM's start, doubled, capped
    policy.slept(150 * US, woke_for_io=True)  # a client that thinks: stop polling
    assert policy.window == 0


def test_timer_wake_ups_do_not_grow_the_window():
    policy = AdaptivePollPolicy(100 * US)
    policy.slept(5 * US, woke_for_io=False)
    assert policy.window == 0


def test_zero_turns_polling_off():
    policy = AdaptivePollPolicy(0)
    policy.slept(0, woke_for_io=True)
    assert policy.window == 0


class FakeClock:
    """Each reading advances by ``step``: a poll loop ends after window/step polls."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def polls(monkeypatch):
    """The timeouts the selector passes to epoll, in order."""
    seen: list[float | None] = []
    inner = selectors.EpollSelector.select
    monkeypatch.setattr(
        selectors.EpollSelector,
        "select",
        lambda self, timeout=None: seen.append(timeout) or inner(self, timeout),
    )
    return seen


def test_selector_polls_its_window_then_sleeps(pair, polls, monkeypatch):
    a, b = pair
    yields: list[None] = []
    monkeypatch.setattr(busypoll, "_yield", lambda: yields.append(None))
    selector = AdaptivePollSelector(100 * US, clock=FakeClock(10 * US))
    selector.register(a, selectors.EVENT_READ)
    try:
        selector.policy.window = 40 * US
        assert selector.select(timeout=0.001) == []  # nothing comes: poll, then sleep
        zero_polls = [t for t in polls if t == 0]
        assert 2 <= len(zero_polls) <= 5  # ~window / clock step
        # between polls the vCPU is offered to whatever the kernel queued on it
        assert len(yields) == len(zero_polls) - 1
        assert polls[-1] is not None and 0 < polls[-1] < 0.001  # the rest of the timeout
        polls.clear()
        b.send(b"x")
        ready = selector.select(timeout=None)  # it is there: the first poll returns it
        assert [key.fileobj for key, _ in ready] == [a]
        assert polls == [0]
    finally:
        selector.close()


def test_selector_never_polls_for_a_zero_timeout(pair, polls):
    a, _b = pair
    selector = AdaptivePollSelector(100 * US, clock=FakeClock(1 * US))
    selector.register(a, selectors.EVENT_READ)
    try:
        selector.policy.window = 100 * US
        selector.select(timeout=0)  # asyncio has callbacks ready: one non-blocking look
        assert polls == [0]
    finally:
        selector.close()


def test_selector_learns_from_real_sleeps(pair):
    """A wake-up that comes sooner than max_poll opens the window; an idle one closes it."""
    a, b = pair
    # a 20 µs sleep; then a poll that finds nothing, and a sleep of 0.5 s
    clock_readings = iter([0.0, 20 * US, 1.0, 2.0, 2.0, 2.0, 2.5])
    selector = AdaptivePollSelector(100 * US, clock=lambda: next(clock_readings))
    selector.register(a, selectors.EVENT_READ)
    try:
        b.send(b"x")
        assert selector.select(timeout=None)
        assert selector.policy.window == pytest.approx(10 * US)
        a.recv(1)
        selector.policy.window = 80 * US
        assert selector.select(timeout=0.01) == []
        assert selector.policy.window == 0
    finally:
        selector.close()


def test_serve_loop_uses_it_and_zero_turns_it_off():
    factory = loop_factory("asyncio", busy_poll_us=100)
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop._selector, AdaptivePollSelector)  # type: ignore[attr-defined]
        assert loop._selector.policy.max_poll == pytest.approx(100 * US)  # type: ignore[attr-defined]

        async def echo() -> bytes:
            reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
            writer.write(b"ping")
            data = await reader.readexactly(4)
            writer.close()
            await writer.wait_closed()
            return data

        async def handle(reader, writer):  # noqa: ANN001
            writer.write(await reader.readexactly(4))
            await writer.drain()
            writer.close()

        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        assert loop.run_until_complete(echo()) == b"ping"
        server.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        loop.close()
    assert loop_factory("asyncio", busy_poll_us=0) is None  # asyncio's own loop
    plain = busypoll.new_event_loop(0)
    try:
        assert not isinstance(plain._selector, AdaptivePollSelector)  # type: ignore[attr-defined]
    finally:
        plain.close()


def test_serve_option():
    from virtwire.tools.serve import build_parser

    assert build_parser().parse_args([]).busy_poll == busypoll.DEFAULT_MAX_POLL_US
    assert build_parser().parse_args(["--busy-poll", "0"]).busy_poll == 0


@pytest.mark.parametrize("bad", ["-5", "nan", "inf", "abc"])
def test_serve_option_refuses_what_is_not_a_duration(bad, capsys):
    from virtwire.tools.serve import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--busy-poll", bad])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--busy-poll" in err and repr(bad) in err
