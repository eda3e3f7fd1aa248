"""The daemon's log stays bounded under a flood (issue 14, finding 7): repeated warnings
are rate-limited per peer, a client's failing call is one line without a traceback, and a
bug of ours still logs its traceback."""

from __future__ import annotations

import dataclasses
import io
import logging
import socket
import struct
from collections.abc import Iterator

import pytest
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.dispatch import Dispatcher
from virtwire.server.hypervisor import TestDriver
from virtwire.server.logthrottle import LogThrottle, peer_host

LOOKUP_BY_NAME = rp.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME
GET_HOSTNAME = rp.REMOTE_PROC_CONNECT_GET_HOSTNAME


@pytest.fixture
def daemon_log() -> Iterator[io.StringIO]:
    """Everything ``virtwire.server`` logs at INFO and above (the daemon's default level),
    formatted as ``virtwire serve`` writes it."""
    logger = logging.getLogger("virtwire.server")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    handler.setLevel(logging.INFO)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_logs_a_burst_then_one_summary_per_interval(caplog) -> None:
    clock = FakeClock()
    logger = logging.getLogger("tests.throttle")
    throttle = LogThrottle(logger, burst=3, interval=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="tests.throttle"):
        for i in range(100):
            throttle.log(logging.WARNING, f"10.0.0.1:{5000 + i}", "bad frame %d", i)
        throttle.log(logging.WARNING, "10.0.0.2:7", "bad frame %d", 0)  # another peer
        throttle.log(logging.WARNING, "10.0.0.1:9", "other kind")  # another kind
        clock.now += 61
        throttle.log(logging.WARNING, "10.0.0.1:1", "bad frame %d", 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "bad frame 0",
        "bad frame 1",
        "bad frame 2",
        "bad frame 0",
        "other kind",
        "bad frame 100  [suppressed 97 similar messages from 10.0.0.1 in the last 61 s]",
    ]


def test_peer_host() -> None:
    assert peer_host("127.0.0.1:40112") == "127.0.0.1"
    assert peer_host("[::1]:40112") == "[::1]"
    assert peer_host("unix:/run/libvirt-sock") == "unix:/run/libvirt-sock"


def test_thousand_bad_length_connections_write_a_bounded_log(daemon_thread, daemon_log) -> None:
    good = daemon_thread.tcp().open()
    for i in range(1_000):
        s = socket.create_connection(("127.0.0.1", daemon_thread.tcp_port))
        s.sendall(struct.pack(">I", 3 if i % 2 else 0x7FFFFFFF))
        s.close()
    # every connection was handled (and its warning considered) before we measure
    assert good.call(GET_HOSTNAME).hostname
    for _ in range(500):  # bounded wait on a condition: the dropped sessions are gone
        if daemon_thread.session_count() == 1:
            break
        good.call(GET_HOSTNAME)
    assert daemon_thread.session_count() == 1
    text = daemon_log.getvalue()
    assert "closing connection" in text  # the first ones are still reported
    assert len(text.encode()) < 4_096, f"{len(text.encode())} bytes of log:\n{text[:2000]}"


def test_a_failing_call_is_one_line_without_traceback(daemon_thread, daemon_log) -> None:
    client = daemon_thread.tcp().open()
    err = client.call_error(LOOKUP_BY_NAME, rp.RemoteDomainLookupByNameArgs(name="missing"))
    assert err.code == ErrorCode.NO_DOMAIN
    client.call(GET_HOSTNAME)  # the failure was logged before this reply
    text = daemon_log.getvalue()
    failures = [line for line in text.splitlines() if "failed" in line]
    assert "Traceback" not in text and len(failures) == 1
    assert failures[0].endswith("REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME failed: Domain not found")


def test_an_internal_bug_still_logs_its_traceback(make_daemon, daemon_log) -> None:
    table = Dispatcher().table_for(TestDriver).copy()
    key = (REMOTE_PROGRAM, int(GET_HOSTNAME))

    def broken(session, args):
        raise KeyError("a bug")

    table[key] = dataclasses.replace(table[key], handler=broken)
    daemon = make_daemon(dispatcher=Dispatcher(table))
    client = daemon.tcp().open()
    err = client.call_error(GET_HOSTNAME)
    assert err.code == ErrorCode.INTERNAL_ERROR
    text = daemon_log.getvalue()
    assert "CONNECT_GET_HOSTNAME failed" in text
    assert "Traceback" in text and "KeyError: 'a bug'" in text
