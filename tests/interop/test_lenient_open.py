"""A client that sends CONNECT_OPEN's optional ``name`` flag as a non-1 word (0x01000000, the
byte-swapped 1 a pure-Go client wrote): libvirtd accepts it (``xdr_pointer`` reads the flag
with ``xdr_bool``, any non-zero word is TRUE), and so must `virtwire serve`.

The same raw frames go to a real libvirtd and to our daemon, side by side; the replies (header
and body bytes) must be identical, CONNECT_OPEN must answer OK and CONNECT_GET_TYPE "TEST".
"""

from __future__ import annotations

import socket
import struct

import pytest
from virtwire.protocol.framing import Frame, MessageStatus, MessageType
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.wire import WireClient

pytestmark = pytest.mark.interop

NAME = b"test:///default"


def open_payload(flag_word: int, pad: bytes = b"\0", trailing: bytes = b"") -> bytes:
    """remote_connect_open_args {remote_string name; unsigned int flags} with a raw flag."""
    padded = NAME + pad * (-len(NAME) & 3)
    return struct.pack(">II", flag_word, len(NAME)) + padded + struct.pack(">I", 0) + trailing


def call(client: WireClient, proc: int, payload: bytes = b"") -> Frame:
    serial = client.send_call(proc, payload)
    return client.next_frame(
        5, lambda f: f.header.type == MessageType.REPLY and f.header.serial == serial
    )


def summary(frame: Frame) -> bytes:
    h = frame.header
    return b"%d %d %d %d %d %d|" % (h.prog, h.vers, h.proc, h.type, h.serial, h.status) + (
        frame.payload
    )


def session(port: int, flag_word: int, **variant: bytes) -> list[bytes]:
    """The prologue (AUTH_LIST, feature 10), the lenient OPEN, then GET_TYPE and CLOSE."""
    client = WireClient(socket.create_connection(("127.0.0.1", port)))
    try:
        replies = [
            call(client, 66),
            call(client, 60, struct.pack(">i", 10)),
            call(client, 1, open_payload(flag_word, **variant)),
            call(client, 3),
            call(client, 2),
        ]
    finally:
        client.close()
    auth, feature, opened, get_type, _ = replies
    assert auth.header.status == MessageStatus.OK
    assert feature.header.status == MessageStatus.OK
    assert opened.header.status == MessageStatus.OK, rp.unpack_remote_error(opened.payload)
    assert opened.payload == b""
    assert get_type.header.status == MessageStatus.OK
    assert rp.unpack_remote_connect_get_type_ret(get_type.payload).type == "TEST"
    return [summary(f) for f in replies]


@pytest.mark.parametrize("flag_word", [0x01000000, 0xFFFFFFFF, 2])
def test_open_with_non_canonical_name_flag(virtwire_server, libvirtd_peer, flag_word) -> None:  # noqa: ANN001
    theirs = session(libvirtd_peer.port, flag_word)
    ours = session(virtwire_server.tcp_port, flag_word)
    assert ours == theirs


@pytest.mark.parametrize(
    "variant", [{"pad": b"\xff"}, {"trailing": b"\0\0\0\0"}], ids=["pad-ff", "trailing"]
)
def test_open_variants_libvirtd_accepts(virtwire_server, libvirtd_peer, variant) -> None:  # noqa: ANN001
    theirs = session(libvirtd_peer.port, 0x01000000, **variant)
    ours = session(virtwire_server.tcp_port, 0x01000000, **variant)
    assert ours == theirs
