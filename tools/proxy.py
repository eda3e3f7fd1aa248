"""``virtwire proxy``: a transparent relay between a libvirt client and a libvirt server that
records every byte, both ways, as pcapng.

    virtwire proxy --listen unix:PATH|tcp:HOST:PORT --upstream URI --record FILE

Why: unix-socket traffic — what virsh and libvirt-python use by default — never reaches a
packet capture. The proxy sits on a socket of its own, dials the upstream daemon named by a
libvirt URI for every client (``test+tcp://127.0.0.1:16510/default``,
``qemu+unix:///session?socket=/run/user/1000/libvirt/libvirt-sock``; parsed by
:mod:`virtwire.client.uri` as the client does), relays bytes unchanged and writes each chunk
with its timestamp and direction into a pcapng file of synthesized TCP/IP
(:mod:`virtwire.tools.pcapng_writer`). For TCP the recording uses the real addresses; unix
ends are given 127.0.0.1, the server side port 16509 (libvirt's dissector's port) and the
client side a port per connection from 40000 up. Read it with ``virtwire decode FILE`` or
``tshark -r FILE -d tcp.port==16509,libvirt``.

What it cannot relay: file descriptors passed with SCM_RIGHTS on unix sockets (the few
``*_WITH_FDS`` procedures); their dummy data bytes are relayed and recorded, the fds are not.
TLS/SSH upstreams are not supported (the relay is byte-transparent, not a TLS endpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from virtwire.client.uri import parse_uri
from virtwire.protocol.errors import LibvirtError
from virtwire.tools.pcapng_writer import PcapngWriter, TcpConversation

__all__ = ["Proxy", "main"]

log = logging.getLogger("virtwire.proxy")

SYNTH_SERVER = ("127.0.0.1", 16509)


class _Half(asyncio.Protocol):
    """One socket of a relayed pair: what it reads is recorded, then written to the other.

    Protocol callbacks rather than streams: a chunk goes from ``data_received`` straight to
    the peer transport, with no task switch on the way (the relay's latency is mostly that).
    """

    def __init__(self, link: _Link, from_client: bool) -> None:
        self.link = link
        self.from_client = from_client
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        _nodelay(transport)

    def data_received(self, data: bytes) -> None:
        self.link.relay(self.from_client, data)

    def eof_received(self) -> bool:
        self.link.eof(self.from_client)
        return True  # keep the other direction open (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost(self.from_client)

    def pause_writing(self) -> None:  # our peer's output is backed up: stop reading the other
        other = self.link.half(not self.from_client)
        if other is not None and other.transport is not None:
            other.transport.pause_reading()

    def resume_writing(self) -> None:
        other = self.link.half(not self.from_client)
        if other is not None and other.transport is not None:
            other.transport.resume_reading()


class _Link:
    """A client connection, its upstream connection and their recording."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.client: _Half | None = None
        self.upstream: _Half | None = None
        self.conv: TcpConversation | None = None
        self.early: list[bytes] = []  # client bytes that came before upstream was up
        self.eofs: set[bool] = set()
        self.closed = False

    def half(self, from_client: bool) -> _Half | None:
        return self.client if from_client else self.upstream

    def relay(self, from_client: bool, data: bytes) -> None:
        now = time.time_ns()
        peer = self.half(not from_client)
        if peer is None or peer.transport is None or self.conv is None:
            self.early.append(data)
            return
        self.conv.data(from_client, data, now)
        peer.transport.write(data)

    def ready(self) -> None:
        """The upstream is connected: start the recording, forward what already came."""
        assert self.client is not None and self.upstream is not None
        assert self.client.transport is not None and self.upstream.transport is not None
        self.conv = TcpConversation(
            self.proxy.writer,
            self.proxy._client_addr(self.client.transport),
            self.proxy._server_addr(self.upstream.transport),
        )
        self.conv.open(time.time_ns())
        early, self.early = self.early, []
        for data in early:
            self.relay(True, data)
        if True in self.eofs:
            self.eofs.discard(True)
            self.eof(True)
        self.client.transport.resume_reading()

    def eof(self, from_client: bool) -> None:
        peer = self.half(not from_client)
        if self.conv is None or peer is None or peer.transport is None:
            self.eofs.add(from_client)
            return
        self.conv.close(from_client, time.time_ns())
        self.eofs.add(from_client)
        if len(self.eofs) == 2 or not peer.transport.can_write_eof():
            self.close()
        else:
            peer.transport.write_eof()

    def lost(self, from_client: bool) -> None:
        if self.conv is not None:
            self.conv.close(from_client, time.time_ns())
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for half in (self.client, self.upstream):
            if half is not None and half.transport is not None:
                half.transport.close()
        self.proxy.links.discard(self)


class Proxy:
    """Accepts clients on ``listen`` and relays each to a fresh upstream connection."""

    def __init__(self, listen: str, upstream: str, record: str | Path) -> None:
        self.listen = listen
        self.upstream = parse_uri(upstream)
        transport = self.upstream.effective_transport
        if transport not in ("tcp", "unix"):
            raise ValueError(
                f"upstream transport '{transport}' is not supported: the proxy relays plain "
                "bytes (use a tcp or unix URI)"
            )
        self.record_path = Path(record)
        self._fh = None
        self.writer: PcapngWriter | None = None
        self.server: asyncio.base_events.Server | None = None
        self._ports = itertools.count(40000)
        self.links: set[_Link] = set()
        self._dials: set[asyncio.Task] = set()
        self.connections = 0

    async def start(self) -> str:
        self._fh = self.record_path.open("wb")
        self.writer = PcapngWriter(self._fh)
        loop = asyncio.get_running_loop()
        kind, _, where = self.listen.partition(":")
        if kind == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(where)
            self.server = await loop.create_unix_server(self._accept, path=where)
            return f"unix:{where}"
        if kind == "tcp":
            host, _, port = where.rpartition(":")
            host = host.strip("[]") or "127.0.0.1"
            self.server = await loop.create_server(self._accept, host, int(port))
            sockname = self.server.sockets[0].getsockname()
            return f"tcp:{sockname[0]}:{sockname[1]}"
        raise ValueError(f"--listen wants unix:PATH or tcp:HOST:PORT, not {self.listen!r}")

    def _accept(self) -> _Half:
        link = _Link(self)
        self.links.add(link)
        self.connections += 1
        link.client = _ClientHalf(link, True)
        return link.client

    def _dial(self, link: _Link) -> None:
        task = asyncio.get_running_loop().create_task(self._connect(link))
        self._dials.add(task)
        task.add_done_callback(self._dials.discard)

    async def _connect(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        up = self.upstream
        half = _Half(link, False)
        try:
            if up.effective_transport == "unix":
                await loop.create_unix_connection(lambda: half, up.socket_path(readonly=False))
            else:
                await loop.create_connection(lambda: half, up.effective_host, up.effective_port)
        except OSError as exc:
            log.warning("cannot reach upstream %s: %s", up.original, exc)
            link.close()
            return
        link.upstream = half
        if link.closed:
            half.transport.close()
            return
        link.ready()

    def _client_addr(self, transport: asyncio.BaseTransport) -> tuple[str, int]:
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            return peer[0], peer[1]
        return "127.0.0.1", next(self._ports)

    def _server_addr(self, transport: asyncio.BaseTransport) -> tuple[str, int]:
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            return peer[0], peer[1]
        return SYNTH_SERVER

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._dials):
            task.cancel()
        for link in list(self.links):
            link.close()
        await asyncio.sleep(0)
        if self._fh is not None:
            self._fh.close()
        kind, _, where = self.listen.partition(":")
        if kind == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(where)


class _ClientHalf(_Half):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.pause_reading()  # type: ignore[attr-defined]  # until upstream is up
        self.link.proxy._dial(self.link)


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _run(args: argparse.Namespace) -> int:
    proxy = Proxy(args.listen, args.upstream, args.record)
    where = await proxy.start()
    print(
        f"listening on {where}, relaying to {args.upstream}, recording {args.record}",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proxy.stop()
    print(f"proxy stopped after {proxy.connections} connection(s)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="virtwire proxy",
        description="Relay libvirt RPC between a client and a server, recording it as pcapng.",
    )
    parser.add_argument("--listen", required=True, help="unix:PATH or tcp:HOST:PORT")
    parser.add_argument("--upstream", required=True, help="libvirt URI of the real server")
    parser.add_argument("--record", required=True, help="pcapng file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="virtwire proxy: %(message)s")
    try:
        return asyncio.run(_run(args))
    except (ValueError, LibvirtError, OSError) as exc:
        print(f"virtwire proxy: {exc}", file=sys.stderr)
        return 1
