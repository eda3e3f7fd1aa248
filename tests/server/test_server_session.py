"""ClientSession with a fake transport: back-pressure, queue bound, delayed close, deferral."""

from __future__ import annotations

import asyncio
from pathlib import Path

from virtwire.protocol.framing import FrameDecoder, Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.config import ServerConfig
from virtwire.server.dispatch import Dispatcher
from virtwire.server.hypervisor import HostRegistry
from virtwire.server.session import ClientSession, SessionHost


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.reading = True

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def frames(self):
        return FrameDecoder().feed(b"".join(self.written))


def call(proc: int, serial: int, payload: bytes = b"") -> bytes:
    return encode_frame(
        Header(0x20008086, 1, proc, MessageType.CALL, serial, MessageStatus.OK), payload
    )


def make_session(tmp_path: Path, **config) -> tuple[ClientSession, FakeTransport, list]:
    closed: list[ClientSession] = []
    loop = asyncio.get_running_loop()
    host = SessionHost(
        ServerConfig(**config), HostRegistry(tmp_path, loop.call_soon), Dispatcher(), closed.append
    )
    session = ClientSession(host, 1, readonly=False, peer="test")
    transport = FakeTransport()
    session.connection_made(transport)
    return session, transport, closed


OPEN = rp.RemoteConnectOpenArgs(name="test:///default", flags=0).pack()


def test_replies_wait_in_queue_while_transport_is_full(tmp_path):
    async def main():
        s, t, _ = make_session(tmp_path, max_client_queue=5)
        s.data_received(call(1, 0, OPEN))
        s.pause_writing()
        s.data_received(b"".join(call(3, n) for n in range(1, 4)))
        assert len(t.written) == 1 and s.queued == 3
        s.resume_writing()
        assert s.queued == 0
        assert [f.header.serial for f in t.frames()] == [0, 1, 2, 3]
        s.connection_lost(None)

    asyncio.run(main())


def test_queue_over_the_bound_disconnects(tmp_path):
    async def main():
        s, t, closed = make_session(tmp_path, max_client_queue=3)
        s.data_received(call(1, 0, OPEN))
        s.pause_writing()
        s.data_received(b"".join(call(3, n) for n in range(1, 5)))
        assert t.aborted
        s.connection_lost(None)
        assert closed == [s] and s.driver is None

    asyncio.run(main())


def test_connect_close_waits_for_queued_data(tmp_path):
    async def main():
        s, t, _ = make_session(tmp_path)
        s.data_received(call(1, 0, OPEN))
        s.pause_writing()
        s.data_received(call(3, 1) + call(2, 2) + call(3, 3))  # the call after CLOSE is ignored
        assert not t.closed and not t.reading
        s.resume_writing()
        assert t.closed
        assert [f.header.serial for f in t.frames()] == [0, 1, 2]
        s.connection_lost(None)

    asyncio.run(main())


def test_reply_follows_the_events_its_call_queued(tmp_path):
    async def main():
        s, t, _ = make_session(tmp_path)
        s.data_received(call(1, 0, OPEN))
        s.data_received(
            call(316, 1, rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(0, None).pack())
        )
        dom = rp.RemoteNonnullDomain("test", bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), 1)
        s.data_received(call(34, 2, rp.RemoteDomainSuspendArgs(dom).pack()))
        assert [f.header.serial for f in t.frames()] == [0, 1]  # reply 2 not yet sent
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        kinds = [(f.header.type, f.header.serial) for f in t.frames()]
        assert kinds[2:] == [(MessageType.MESSAGE, 1), (MessageType.REPLY, 2)]
        s.connection_lost(None)

    asyncio.run(main())


def test_protocol_error_answers_earlier_calls_then_closes(tmp_path):
    async def main():
        s, t, _ = make_session(tmp_path)
        s.data_received(call(66, 7) + b"\x00\x00\x00\x01")
        assert [f.header.serial for f in t.frames()] == [7]
        assert t.closed and not t.aborted
        s.connection_lost(None)

    asyncio.run(main())


def _received(session: ClientSession, data: bytes) -> None:
    """What an asyncio transport does for a BufferedProtocol: recv_into, then report."""
    buf = session.get_buffer(-1)
    buf[: len(data)] = data
    session.buffer_updated(len(data))


def test_buffered_receive_keeps_each_sessions_bytes(tmp_path):
    """Sessions receive into one buffer per thread (no 256 KiB bytes object per read):
    interleaved partial reads of two sessions still assemble each one's own calls."""

    async def main():
        a, ta, _ = make_session(tmp_path)
        b, tb, _ = make_session(tmp_path)
        assert isinstance(a, asyncio.BufferedProtocol)
        assert a.get_buffer(-1) is b.get_buffer(-1)  # shared, so an idle session holds none
        wire_a = call(1, 7, OPEN) + call(3, 8)
        wire_b = call(1, 9, OPEN) + call(3, 10)
        for i in range(0, max(len(wire_a), len(wire_b)), 5):  # 5-byte reads, alternating
            if wire_a[i : i + 5]:
                _received(a, wire_a[i : i + 5])
            if wire_b[i : i + 5]:
                _received(b, wire_b[i : i + 5])
        assert [(f.header.serial, f.header.status) for f in ta.frames()] == [
            (7, MessageStatus.OK),
            (8, MessageStatus.OK),
        ]
        assert [f.header.serial for f in tb.frames()] == [9, 10]
        a.connection_lost(None)
        b.connection_lost(None)

    asyncio.run(main())
