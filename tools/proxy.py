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
READ_SIZE = 256 * 1024


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
        self._tasks: set[asyncio.Task] = set()
        self.connections = 0

    async def start(self) -> str:
        self._fh = self.record_path.open("wb")
        self.writer = PcapngWriter(self._fh)
        kind, _, where = self.listen.partition(":")
        if kind == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(where)
            self.server = await asyncio.start_unix_server(self._client, path=where)
            return f"unix:{where}"
        if kind == "tcp":
            host, _, port = where.rpartition(":")
            host = host.strip("[]") or "127.0.0.1"
            self.server = await asyncio.start_server(self._client, host, int(port))
            sockname = self.server.sockets[0].getsockname()
            return f"tcp:{sockname[0]}:{sockname[1]}"
        raise ValueError(f"--listen wants unix:PATH or tcp:HOST:PORT, not {self.listen!r}")

    async def _dial(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        up = self.upstream
        if up.effective_transport == "unix":
            return await asyncio.open_unix_connection(up.socket_path(readonly=False))
        return await asyncio.open_connection(up.effective_host, up.effective_port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        up_writer = None
        try:
            try:
                up_reader, up_writer = await self._dial()
            except OSError as exc:
                log.warning("cannot reach upstream %s: %s", self.upstream.original, exc)
                writer.close()
                return
            conv = TcpConversation(
                self.writer, self._client_addr(writer), self._server_addr(up_writer)
            )
            conv.open(time.time_ns())
            _tune(writer)
            _tune(up_writer)
            done = {True: False, False: False}
            await asyncio.gather(
                self._pump(reader, up_writer, conv, True, done),
                self._pump(up_reader, writer, conv, False, done),
            )
        finally:
            writer.close()
            if up_writer is not None:
                up_writer.close()
            if task is not None:
                self._tasks.discard(task)

    def _client_addr(self, writer: asyncio.StreamWriter) -> tuple[str, int]:
        peer = writer.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            return peer[0], peer[1]
        return "127.0.0.1", next(self._ports)

    def _server_addr(self, writer: asyncio.StreamWriter) -> tuple[str, int]:
        peer = writer.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            return peer[0], peer[1]
        return SYNTH_SERVER

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conv: TcpConversation,
        from_client: bool,
        done: dict[bool, bool],
    ) -> None:
        try:
            while True:
                data = await reader.read(READ_SIZE)
                now = time.time_ns()
                if not data:
                    break
                conv.data(from_client, data, now)
                writer.write(data)
                if writer.transport.get_write_buffer_size() > READ_SIZE:
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            conv.close(from_client, time.time_ns())
            done[from_client] = True
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof() and not done[not from_client]:
                    writer.write_eof()
                else:
                    writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._fh is not None:
            self._fh.close()
        kind, _, where = self.listen.partition(":")
        if kind == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(where)


def _tune(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
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
