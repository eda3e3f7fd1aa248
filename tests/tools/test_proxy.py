"""`virtwire proxy` in-process: bytes pass unchanged both ways, the recording decodes to them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.framing import FrameDecoder, Header, MessageStatus, MessageType, encode_frame
from virtwire.tools import decode, proxy
from virtwire.tools.capture import read_packets


def _frame(proc: int, mtype: MessageType, serial: int, payload: bytes = b"") -> bytes:
    return encode_frame(Header(REMOTE_PROGRAM, 1, proc, mtype, serial, MessageStatus.OK), payload)


class FakeDaemon:
    """Answers every CALL with a REPLY carrying the call's payload back; one event first."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.sent = bytearray()
        self.writers: list[asyncio.StreamWriter] = []

    async def close(self) -> None:
        """Close the accepted connections (a closed server does not close them)."""
        for writer in self.writers:
            writer.close()
        for writer in self.writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        decoder = FrameDecoder()
        first = True
        while data := await reader.read(65536):
            self.received += data
            for frame in decoder.feed(data):
                out = b""
                if first:
                    out += _frame(318, MessageType.MESSAGE, 1, b"\x00" * 8)
                    first = False
                out += _frame(
                    frame.header.proc, MessageType.REPLY, frame.header.serial, frame.payload
                )
                self.sent += out
                writer.write(out)
                await writer.drain()
        writer.close()


async def _round(listen: str, upstream_uri: str, record: Path, connect, daemon: FakeDaemon):
    p = proxy.Proxy(listen, upstream_uri, record)
    where = await p.start()
    try:
        reader, writer = await connect(where)
        big = os.urandom(1 << 20)
        calls = [
            _frame(66, MessageType.CALL, 0),
            _frame(3, MessageType.CALL, 1, big),
            _frame(4, MessageType.CALL, 2, b"abcd"),
        ]
        sent = b"".join(calls)
        # odd chunking: a frame split across writes, several frames in one write
        for i in range(0, len(sent), 70001):
            writer.write(sent[i : i + 70001])
            await writer.drain()
        got = bytearray()
        decoder = FrameDecoder()
        replies = 0
        while replies < 3:
            data = await asyncio.wait_for(reader.read(65536), 10)
            assert data
            got += data
            replies += sum(f.header.type == MessageType.REPLY for f in decoder.feed(data))
        writer.close()
        await writer.wait_closed()
    finally:
        await p.stop()
    return sent, bytes(got)


def _check_recording(record: Path, sent: bytes, got: bytes, server_port: int) -> None:
    streams: dict[bool, bytearray] = {True: bytearray(), False: bytearray()}
    for pkt in read_packets(record):
        streams[pkt.dport == server_port] += pkt.data
    assert bytes(streams[True]) == sent and bytes(streams[False]) == got
    records, summary = decode.decode_file(record, decode.DecodeOptions(ports=(server_port,)))

    def side(direction: str) -> list[tuple[str, int]]:
        return [(r["type"], r["serial"]) for r in records if r["direction"] == direction]

    assert side("C>S") == [("CALL", 0), ("CALL", 1), ("CALL", 2)]
    assert side("S>C") == [("MESSAGE", 1), ("REPLY", 0), ("REPLY", 1), ("REPLY", 2)]
    assert summary["unanswered_calls"] == []
    # the fake daemon echoes random payloads: bodies fail to decode, framing never does
    assert all(" body: " in m["reason"] for m in summary["malformed"]), summary["malformed"]
    assert not summary["resyncs"] and not summary["gaps"]
    assert len(records) == 7


@pytest.fixture
def base():
    """A short private directory (unix socket paths are limited to ~107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="vwp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unix_to_unix_bytes_unchanged_and_recorded(base: Path) -> None:
    daemon = FakeDaemon()

    async def scenario():
        up = await asyncio.start_unix_server(daemon.handle, path=str(base / "up.sock"))
        try:
            return await _round(
                f"unix:{base / 'p.sock'}",
                f"test+unix:///default?socket={base / 'up.sock'}",
                base / "rec.pcapng",
                lambda where: asyncio.open_unix_connection(where.split(":", 1)[1]),
                daemon,
            )
        finally:
            up.close()
            await daemon.close()

    sent, got = asyncio.run(scenario())
    assert bytes(daemon.received) == sent and bytes(daemon.sent) == got
    _check_recording(base / "rec.pcapng", sent, got, 16509)
    assert not (base / "p.sock").exists()


def test_tcp_to_tcp_uses_real_addresses(base: Path) -> None:
    daemon = FakeDaemon()

    async def scenario():
        up = await asyncio.start_server(daemon.handle, "127.0.0.1", 0)
        port = up.sockets[0].getsockname()[1]
        try:
            result = await _round(
                "tcp:127.0.0.1:0",
                f"test+tcp://127.0.0.1:{port}/default",
                base / "rec.pcapng",
                lambda where: asyncio.open_connection("127.0.0.1", int(where.rsplit(":", 1)[1])),
                daemon,
            )
        finally:
            up.close()
            await daemon.close()
        return result, port

    (sent, got), port = asyncio.run(scenario())
    assert bytes(daemon.received) == sent and bytes(daemon.sent) == got
    _check_recording(base / "rec.pcapng", sent, got, port)


def test_unsupported_upstream_and_bad_listen(capsys) -> None:
    with pytest.raises(ValueError, match="not supported"):
        proxy.Proxy("unix:/tmp/x", "test+tls://example.org/default", "/tmp/x.pcapng")
    assert (
        proxy.main(
            [
                "--listen",
                "unix:/tmp/x",
                "--upstream",
                "qemu+ssh://h/system",
                "--record",
                "/tmp/x.pcapng",
            ]
        )
        == 1
    )
    assert "not supported" in capsys.readouterr().err
