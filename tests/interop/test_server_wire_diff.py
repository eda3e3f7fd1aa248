"""The same raw frames to real libvirtd and to `virtwire serve`: the replies must be identical bytes."""

from __future__ import annotations

import socket

import pytest
from virtwire.protocol.framing import MessageStatus, MessageType
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.wire import WireClient

pytestmark = pytest.mark.interop

OPEN = rp.RemoteConnectOpenArgs(name="test:///default", flags=0).pack()
TEST_DOM = rp.RemoteNonnullDomain(
    name="test", uuid=bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), id=1
)

# (description, needs OPEN first, proc, payload, header overrides)
CASES = [
    ("auth list", False, 66, b"", {}),
    ("feature 10 before open", False, 60, b"\x00\x00\x00\x0a", {}),
    ("feature 14 before open", False, 60, b"\x00\x00\x00\x0e", {}),
    ("get type before open", False, 3, b"", {}),
    ("unknown procedure", True, 9999, b"", {}),
    ("procedure 0", True, 0, b"", {}),
    ("event procedure as call", True, 354, b"", {}),
    ("unknown program", True, 3, b"", {"prog": 0x12345678}),
    ("unknown version", True, 3, b"", {"vers": 7}),
    ("bad status", True, 3, b"", {"status": MessageStatus.ERROR}),
    ("garbage payload", True, 23, b"\x00\x00\x00\xff", {}),
    ("second open", True, 1, OPEN, {}),
    ("get type", True, 3, b"", {}),
    ("lookup missing", True, 23, rp.RemoteDomainLookupByNameArgs(name="nosuch").pack(), {}),
    ("list all", True, 273, rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=0).pack(), {}),
    ("get info", True, 16, rp.RemoteDomainGetInfoArgs(dom=TEST_DOM).pack(), {}),
    ("register lifecycle legacy", True, 105, b"", {}),
    ("register 316 after 105", True, 316, b"\x00\x00\x00\x00\x00\x00\x00\x00", {}),
    ("register any 16", True, 167, b"\x00\x00\x00\x10", {}),
    ("deregister unknown callback", True, 317, b"\x00\x00\x03\xe7", {}),
    ("list domains", True, 37, b"\x00\x00\x00\x10", {}),
    ("list domains -1", True, 37, b"\xff\xff\xff\xff", {}),
    ("list domains too many", True, 37, b"\x00\x01\x00\x01", {}),
    ("list defined -1", True, 21, b"\xff\xff\xff\xff", {}),
    ("num of domains", True, 51, b"", {}),
    ("lookup id 99", True, 22, b"\x00\x00\x00\x63", {}),
    ("node info", True, 6, b"", {}),
    ("security model", True, 122, b"", {}),
    ("security label", True, 121, rp.RemoteDomainGetSecurityLabelArgs(dom=TEST_DOM).pack(), {}),
    ("lib version", True, 157, b"", {}),
    ("version", True, 4, b"", {}),
    ("hostname", True, 59, b"", {}),
    ("uri", True, 110, b"", {}),
    ("feature 9", True, 60, b"\x00\x00\x00\x09", {}),
    ("feature 16", True, 60, b"\x00\x00\x00\x10", {}),
    ("feature 99", True, 60, b"\x00\x00\x00\x63", {}),
    ("close", True, 2, b"", {}),
]


def exchange(client: WireClient, proc: int, payload: bytes, overrides: dict) -> bytes:
    serial = client.send_call(proc, payload, **overrides)
    reply = client.next_frame(
        5, lambda f: f.header.type == MessageType.REPLY and f.header.serial == serial
    )
    h = reply.header
    return b"%d %d %d %d %d|" % (h.prog, h.vers, h.proc, h.status, h.serial) + reply.payload


def run_cases(port: int) -> list[tuple[str, bytes]]:
    client = WireClient(socket.create_connection(("127.0.0.1", port)))
    results = []
    opened = False
    for name, needs_open, proc, payload, overrides in CASES:
        if needs_open and not opened:
            exchange(client, 1, OPEN, {})
            opened = True
        results.append((name, exchange(client, proc, payload, overrides)))
    return results


def test_replies_identical_to_libvirtd(virtwire_server, libvirtd_peer):
    theirs = run_cases(libvirtd_peer.port)
    ours = run_cases(virtwire_server.tcp_port)
    diffs = [
        f"{name}:\n  libvirtd: {real!r}\n  virtwire: {mine!r}"
        for (name, real), (_, mine) in zip(theirs, ours)
        if mine != real
    ]
    assert not diffs, "\n".join(diffs)


RO_OPEN = rp.RemoteConnectOpenArgs(name="test:///default", flags=1).pack()
RO_CASES = [
    ("ro destroy", 12, rp.RemoteDomainDestroyArgs(dom=TEST_DOM).pack()),
    ("ro suspend", 34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM).pack()),
    ("ro define", 11, rp.RemoteDomainDefineXmlArgs(xml="<domain/>").pack()),
    ("ro secure xml", 14, rp.RemoteDomainGetXmlDescArgs(dom=TEST_DOM, flags=1).pack()),
    ("ro state", 212, rp.RemoteDomainGetStateArgs(dom=TEST_DOM, flags=0).pack()),
]


def run_ro_cases(port: int) -> list[tuple[str, bytes]]:
    client = WireClient(socket.create_connection(("127.0.0.1", port)))
    exchange(client, 66, b"", {})
    exchange(client, 1, RO_OPEN, {})
    return [(name, exchange(client, proc, payload, {})) for name, proc, payload in RO_CASES]


def test_read_only_replies_identical_to_libvirtd(virtwire_server, libvirtd_peer):
    theirs = run_ro_cases(libvirtd_peer.port)
    ours = run_ro_cases(virtwire_server.tcp_port)
    for (name, real), (_, mine) in zip(theirs, ours):
        assert mine == real, f"{name}:\n  libvirtd: {real!r}\n  virtwire: {mine!r}"


def run_event_case(port: int) -> list[bytes]:
    """Listener registers lifecycle (316) on test:///default; another client suspends/resumes."""
    listener = WireClient(socket.create_connection(("127.0.0.1", port)))
    exchange(listener, 1, OPEN, {})
    reply = exchange(listener, 316, b"\x00\x00\x00\x00\x00\x00\x00\x00", {})
    callback_id = reply.split(b"|", 1)[1]
    actor = WireClient(socket.create_connection(("127.0.0.1", port)))
    exchange(actor, 1, OPEN, {})
    exchange(actor, 34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM).pack(), {})
    exchange(actor, 28, rp.RemoteDomainResumeArgs(dom=TEST_DOM).pack(), {})
    frames = []
    for _ in range(2):
        f = listener.next_frame(5, lambda f: f.header.type == MessageType.MESSAGE)
        h = f.header
        assert f.payload[:4] == callback_id
        # the callback ID depends on what registered before on that host: compare the rest
        frames.append(
            b"%d %d %d %d %d|" % (h.prog, h.vers, h.proc, h.serial, h.status) + f.payload[4:]
        )
    return frames


def test_event_frames_identical_to_libvirtd(virtwire_server, libvirtd_peer):
    assert run_event_case(virtwire_server.tcp_port) == run_event_case(libvirtd_peer.port)
