"""Keepalive: the captured PING/PONG bytes (spec §2) and the timer driven by a fake clock."""

from __future__ import annotations

import pytest
from virtwire.protocol import constants
from virtwire.protocol.framing import FrameDecoder, Header, MessageStatus, MessageType
from virtwire.protocol.keepalive import (
    PING_FRAME,
    PONG_FRAME,
    KeepAlive,
    KeepAliveAction,
    is_keepalive,
)

PING = bytes.fromhex("0000001c 6b656570 00000001 00000001 00000002 00000000 00000000")
PONG = bytes.fromhex("0000001c 6b656570 00000001 00000002 00000002 00000000 00000000")


def ka_header(proc: int, mtype: int = MessageType.MESSAGE) -> Header:
    return Header(constants.KEEPALIVE_PROGRAM, 1, proc, mtype, 0, MessageStatus.OK)


def test_ping_pong_bytes_are_the_captured_ones() -> None:
    assert PING_FRAME == PING and len(PING_FRAME) == 28
    assert PONG_FRAME == PONG and len(PONG_FRAME) == 28
    (ping,) = FrameDecoder().feed(PING)
    assert is_keepalive(ping.header) and ping.header.proc == constants.KEEPALIVE_PROC_PING
    assert KeepAliveAction.PING.data == PING
    assert KeepAliveAction.NONE.data is None and KeepAliveAction.DEAD.data is None


def test_ping_is_answered_even_when_never_started() -> None:
    ka = KeepAlive(-1, 0)  # the client library default: own timer disabled
    assert ka.on_frame(ka_header(1)) == PONG
    assert ka.on_frame(ka_header(2)) is None  # PONG does nothing
    assert ka.on_frame(ka_header(3)) is None  # unknown keepalive proc: ignored
    assert ka.next_wakeup() is None
    assert ka.handle_timer(1000.0) is KeepAliveAction.NONE


def test_only_keepalive_messages_are_keepalive() -> None:
    assert is_keepalive(ka_header(1))
    assert not is_keepalive(ka_header(1, MessageType.CALL))
    other = Header(constants.REMOTE_PROGRAM, 1, 1, MessageType.MESSAGE, 0, MessageStatus.OK)
    assert not is_keepalive(other)
    assert KeepAlive(5, 5).on_frame(other) is None
    wrong_version = Header(constants.KEEPALIVE_PROGRAM, 2, 1, MessageType.MESSAGE, 0, 0)
    assert not is_keepalive(wrong_version)
    assert KeepAlive(5, 5).on_frame(wrong_version) is None


def run_silence(ka: KeepAlive, until: float) -> list[tuple[float, KeepAliveAction]]:
    """Follow next_wakeup() like an event loop would, with nothing received."""
    events = []
    while (wake := ka.next_wakeup()) is not None and wake <= until:
        action = ka.handle_timer(wake)
        events.append((wake, action))
        if action is KeepAliveAction.DEAD:
            break
    return events


def test_death_after_interval_times_count_plus_one() -> None:
    ka = KeepAlive(5, 5)  # daemon defaults
    assert ka.start(100.0)
    assert ka.next_wakeup() == 105.0
    events = run_silence(ka, 1000.0)
    assert events == [
        (105.0, KeepAliveAction.PING),
        (110.0, KeepAliveAction.PING),
        (115.0, KeepAliveAction.PING),
        (120.0, KeepAliveAction.PING),
        (125.0, KeepAliveAction.PING),
        (130.0, KeepAliveAction.DEAD),
    ]
    assert ka.dead and ka.next_wakeup() is None
    assert ka.handle_timer(131.0) is KeepAliveAction.DEAD


def test_count_zero_closes_after_one_silent_interval_without_pinging() -> None:
    ka = KeepAlive(5, 0)
    ka.start(0.0)
    assert run_silence(ka, 100.0) == [(5.0, KeepAliveAction.DEAD)]


def test_early_timer_does_nothing() -> None:
    ka = KeepAlive(5, 2)
    ka.start(0.0)
    assert ka.handle_timer(4.999) is KeepAliveAction.NONE
    assert ka.handle_timer(5.0) is KeepAliveAction.PING
    assert ka.handle_timer(9.0) is KeepAliveAction.NONE
    assert ka.next_wakeup() == 10.0


def test_any_received_frame_resets_the_countdown() -> None:
    ka = KeepAlive(5, 2)
    ka.start(0.0)
    assert ka.handle_timer(5.0) is KeepAliveAction.PING
    assert ka.handle_timer(10.0) is KeepAliveAction.PING
    ka.received(12.0)  # e.g. the PONG, or any reply
    assert ka.next_wakeup() == 17.0
    assert ka.handle_timer(17.0) is KeepAliveAction.PING
    assert ka.handle_timer(22.0) is KeepAliveAction.PING
    assert ka.handle_timer(27.0) is KeepAliveAction.DEAD


def test_traffic_keeps_it_quiet() -> None:
    ka = KeepAlive(5, 5)
    ka.start(0.0)
    for t in range(1, 100, 3):
        ka.received(float(t))
        wake = ka.next_wakeup()
        assert wake == t + 5.0
        assert ka.handle_timer(t + 4.0) is KeepAliveAction.NONE


@pytest.mark.parametrize("interval", [0, -1])
def test_interval_not_positive_disables(interval: int) -> None:
    ka = KeepAlive(interval, 5)
    assert ka.start(0.0) is False
    assert ka.next_wakeup() is None
    assert ka.handle_timer(1e9) is KeepAliveAction.NONE
    assert ka.on_frame(ka_header(1)) == PONG


def test_start_counts_silence_already_elapsed() -> None:
    ka = KeepAlive(5, 1)
    ka.received(10.0)
    ka.start(12.0)  # heard 2 s ago: first ping 3 s from now
    assert ka.next_wakeup() == 15.0
    quiet = KeepAlive(5, 1)
    quiet.received(0.0)
    quiet.start(60.0)  # silent for longer than an interval: ping right away
    assert quiet.next_wakeup() <= 60.0
    assert quiet.handle_timer(60.0) is KeepAliveAction.PING


def test_stop_and_restart_with_new_settings() -> None:
    ka = KeepAlive(-1, 0)
    assert ka.start(0.0, interval=2, count=1)
    assert ka.handle_timer(2.0) is KeepAliveAction.PING
    ka.stop()
    assert ka.next_wakeup() is None
    assert ka.handle_timer(100.0) is KeepAliveAction.NONE
    assert ka.start(100.0)
    assert run_silence(ka, 1000.0) == [
        (102.0, KeepAliveAction.PING),
        (104.0, KeepAliveAction.DEAD),
    ]


def test_constants_agree_with_defs() -> None:
    import importlib

    try:
        gen = importlib.import_module("virtwire.protocol.generated.virkeepaliveprotocol")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("virtwire.protocol.generated"):
            pytest.skip("virkeepaliveprotocol not generated yet")
        raise
    assert gen.KEEPALIVE_PROGRAM == constants.KEEPALIVE_PROGRAM
    assert gen.KEEPALIVE_PROTOCOL_VERSION == constants.KEEPALIVE_PROTOCOL_VERSION
    assert [(p.name, p.number) for p in gen.PROCEDURES] == [
        ("KEEPALIVE_PROC_PING", constants.KEEPALIVE_PROC_PING),
        ("KEEPALIVE_PROC_PONG", constants.KEEPALIVE_PROC_PONG),
    ]
