"""Keepalive on a live daemon with a short interval (spec §2)."""

from __future__ import annotations

import logging
import time

from virtwire.protocol.framing import MessageType
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.keepalive import PONG_FRAME

INTERVAL = 0.2
COUNT = 2


def test_silent_client_is_pinged_then_dropped(make_daemon, caplog):
    caplog.set_level(logging.WARNING, logger="virtwire.server")
    d = make_daemon(keepalive_interval=INTERVAL, keepalive_count=COUNT)
    c = d.tcp()
    start = time.monotonic()
    assert c.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=10)).supported == 1
    pings = []
    for _ in range(COUNT):
        frame = c.keepalive(timeout=2)
        pings.append(time.monotonic() - start)
        assert frame.header.proc == 1 and frame.header.type == MessageType.MESSAGE
        assert frame.header.serial == 0 and frame.payload == b""
    assert c.wait_closed(2)
    dead_after = time.monotonic() - start
    # PINGs every interval, death after interval * (count + 1)
    assert pings[0] >= INTERVAL * 0.8 and pings[1] >= 2 * INTERVAL * 0.8
    assert INTERVAL * (COUNT + 1) * 0.8 <= dead_after <= INTERVAL * (COUNT + 1) + 1.0
    assert any("keepalive timeout" in r.getMessage() for r in caplog.records)


def test_client_that_answers_stays(make_daemon):
    d = make_daemon(keepalive_interval=INTERVAL, keepalive_count=COUNT)
    c = d.tcp()
    c.prologue()
    deadline = time.monotonic() + INTERVAL * (COUNT + 1) * 3
    answered = 0
    while time.monotonic() < deadline:
        try:
            ping = c.keepalive(timeout=deadline - time.monotonic())
        except TimeoutError:
            break
        assert ping.header.proc == 1
        c.send_raw(PONG_FRAME)
        answered += 1
    assert answered >= 3
    assert c.call(3).type == "TEST"


def test_no_pings_without_feature_10(make_daemon):
    d = make_daemon(keepalive_interval=INTERVAL, keepalive_count=COUNT)
    c = d.tcp()
    c.open()
    time.sleep(INTERVAL * (COUNT + 2))
    assert c.call(3).type == "TEST"
    assert not [f for f in c.frames if f.header.type == MessageType.MESSAGE]


def test_traffic_resets_the_timer(make_daemon):
    d = make_daemon(keepalive_interval=INTERVAL, keepalive_count=COUNT)
    c = d.tcp()
    c.prologue()
    end = time.monotonic() + INTERVAL * (COUNT + 1) * 2
    while time.monotonic() < end:
        assert c.call(3).type == "TEST"
        time.sleep(INTERVAL / 4)
    assert not [f for f in c.frames if f.header.type == MessageType.MESSAGE]
