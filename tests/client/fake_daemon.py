"""A scriptable in-process libvirt daemon for client tests.

It speaks real frames with the generated codecs, answers the prologue and a few calls the way
libvirtd does, and lets a test take over any procedure to reorder replies, interleave events
and keepalive PINGs, or die mid-call. Everything the client sends is recorded per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import KEEPALIVE_PROGRAM, PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.events import DomainEvent, DomainRef, LifecycleEvent, to_message
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    encode_frame,
)
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.keepalive import PING_FRAME, PONG_FRAME

TEST_DOM = DomainRef("test", bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), 1)
OTHER_DOM = DomainRef("other", bytes.fromhex("00112233445566778899aabbccddeeff"), -1)

Handler = Callable[["Session", Frame, Any], Awaitable[None] | None]


class Session:
    """One client connection as the fake daemon sees it."""

    def __init__(
        self, daemon: FakeDaemon, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.daemon = daemon
        self.reader = reader
        self.writer = writer
        self.calls: list[tuple[int, int, Any]] = []  # (serial, proc, decoded args)
        self.keepalive: list[int] = []  # keepalive procs received (1 PING, 2 PONG)
        self.registrations: dict[int, tuple[int, Any]] = {}  # server callbackID -> (eventID, dom)
        self.pong = asyncio.Event()
        self.closed = asyncio.Event()
        self.stream_frames: list[Frame] = []  # STREAM / STREAM_HOLE packets received
        self.stream_changed = asyncio.Event()

    # -- sending ---------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def reply(self, frame: Frame, ret: Any = None) -> None:
        proc = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, frame.header.proc)
        payload = b"" if proc is None or proc.ret is None else proc.ret.pack(ret)
        h = frame.header
        self.send(
            encode_frame(
                Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial, MessageStatus.OK),
                payload,
            )
        )

    def reply_error(self, frame: Frame, err: LibvirtError) -> None:
        h = frame.header
        self.send(
            encode_frame(
                Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial, MessageStatus.ERROR),
                err.pack(),
            )
        )

    def send_event(self, event: DomainEvent, callback_id: int | None) -> None:
        proc, msg = to_message(event, callback_id)
        payload = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, proc).msg.pack(msg)
        self.send_message(proc, payload)

    def send_message(self, proc: int, payload: bytes = b"", prog: int = REMOTE_PROGRAM) -> None:
        self.send(
            encode_frame(Header(prog, 1, proc, MessageType.MESSAGE, 1, MessageStatus.OK), payload)
        )

    def send_stream(
        self, call: Frame, status: int, payload: bytes = b"", *, hole: bool = False
    ) -> None:
        """A STREAM (or STREAM_HOLE) packet on the prog/proc/serial of ``call``."""
        h = call.header
        mtype = MessageType.STREAM_HOLE if hole else MessageType.STREAM
        self.send(encode_frame(Header(h.prog, h.vers, h.proc, mtype, h.serial, status), payload))

    async def wait_stream(self, predicate, timeout: float = 5.0) -> None:
        """Wait until ``predicate(self.stream_frames)`` holds."""

        async def wait() -> None:
            while not predicate(self.stream_frames):
                self.stream_changed.clear()
                await self.stream_changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def callback_id_for(self, event_id: int) -> int:
        for cid, (eid, _dom) in self.registrations.items():
            if eid == event_id:
                return cid
        raise KeyError(event_id)

    def lifecycle(self, event: int, detail: int, dom: DomainRef = TEST_DOM) -> None:
        """Send a LIFECYCLE event to this session's lifecycle registration."""
        self.send_event(LifecycleEvent(dom, event, detail), self.callback_id_for(0))

    async def kill(self) -> None:
        """Drop the connection abruptly (no reply to anything in flight)."""
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0) instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    def procs(self) -> list[int]:
        return [proc for _serial, proc, _args in self.calls]


class FakeDaemon:
    """An asyncio unix-socket server; ``await daemon.start()`` then connect to ``daemon.uri``."""

    def __init__(self) -> None:
        self.handlers: dict[int, Handler] = {}
        self.stream_handler: Callable[[Session, Frame], None] | None = None
        self.sessions: list[Session] = []
        self.new_session = asyncio.Event()
        self.auth_types = [rp.RemoteAuthType.REMOTE_AUTH_NONE]
        self.answer_pings = True
        self._ids = itertools.count()
        self._tmp = tempfile.TemporaryDirectory(prefix="vwfake-")
        self.path = str(Path(self._tmp.name) / "sock")
        self._server: asyncio.AbstractServer | None = None

    @property
    def uri(self) -> str:
        return f"test+unix:///default?socket={self.path}"

    async def start(self) -> FakeDaemon:
        self._server = await asyncio.start_unix_server(self._serve, self.path)
        return self

    async def start_tls(self, context: Any, confirm: bytes = b"\x01") -> int:
        """Listen with TLS on 127.0.0.1 (port returned); send libvirt's check byte first."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(confirm)
            await self._serve(reader, writer)

        self._server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
        return self._server.sockets[0].getsockname()[1]

    async def start_tcp(self) -> int:
        """Listen on plain TCP 127.0.0.1 (port returned): libvirt's poll sees no hangup on
        a TCP FIN, so close reasons differ from the unix socket's."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for session in self.sessions:
            session.writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        self._tmp.cleanup()

    async def pause_listening(self) -> None:
        """Stop accepting (the socket path disappears) so reconnects fail for a while."""
        if self._server is not None:
            self._server.close()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                Path(self.path).unlink()

    async def resume_listening(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, self.path)

    def on(self, proc: int, handler: Handler) -> None:
        self.handlers[int(proc)] = handler

    async def wait_session(self, index: int, timeout: float = 5.0) -> Session:
        async def wait() -> Session:
            while len(self.sessions) <= index:
                self.new_session.clear()
                await self.new_session.wait()
            return self.sessions[index]

        return await asyncio.wait_for(wait(), timeout)

    # -- serving ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.append(session)
        self.new_session.set()
        decoder = FrameDecoder()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    await self._handle(session, frame)
        except (ConnectionError, OSError):
            pass
        finally:
            session.closed.set()
            writer.close()

    async def _handle(self, session: Session, frame: Frame) -> None:
        h = frame.header
        if h.prog == KEEPALIVE_PROGRAM:
            session.keepalive.append(h.proc)
            if h.proc == 1 and self.answer_pings:
                session.send(PONG_FRAME)
            if h.proc == 2:
                session.pong.set()
            return
        if h.type in (MessageType.STREAM, MessageType.STREAM_HOLE):
            session.stream_frames.append(frame)
            session.stream_changed.set()
            if self.stream_handler is not None:
                self.stream_handler(session, frame)
            return
        proc = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, h.proc)
        args = None
        if proc is not None and proc.args is not None:
            args = proc.args.unpack(frame.payload)
        session.calls.append((h.serial, h.proc, args))
        handler = self.handlers.get(h.proc)
        if handler is not None:
            result = handler(session, frame, args)
            if asyncio.iscoroutine(result):
                # run concurrently so a handler may wait for later frames (PONG, other calls)
                asyncio.get_running_loop().create_task(result)
            return
        self._default(session, frame, args)

    def _default(self, session: Session, frame: Frame, args: Any) -> None:
        proc = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, frame.header.proc)
        answer = DEFAULT_ANSWERS.get(proc.short_name) if proc is not None else None
        if answer is None:
            session.reply_error(frame, LibvirtError.rpc(f"unknown procedure: {frame.header.proc}"))
            return
        answer(self, session, frame, args)


# --- what the fake daemon answers unless a test takes a procedure over -----------------------

Answer = Callable[[FakeDaemon, Session, Frame, Any], None]
DEFAULT_ANSWERS: dict[str, Answer] = {}
"""Procedure name (without ``REMOTE_PROC_``) → default answer."""


def answers(*names: str) -> Callable[[Answer], Answer]:
    def register(fn: Answer) -> Answer:
        for name in names:
            assert procedures.resolve(name) is not None, name
            DEFAULT_ANSWERS[name] = fn
        return fn

    return register


@answers("AUTH_LIST")
def _auth_list(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.reply(frame, rp.RemoteAuthListRet(types=list(daemon.auth_types)))


@answers("CONNECT_SUPPORTS_FEATURE")
def _supports_feature(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.reply(frame, rp.RemoteConnectSupportsFeatureRet(supported=1))


@answers("CONNECT_OPEN", "CONNECT_REGISTER_CLOSE_CALLBACK", "CONNECT_UNREGISTER_CLOSE_CALLBACK")
def _void(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.reply(frame)


@answers("CONNECT_CLOSE")
def _close(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.reply(frame)
    session.writer.close()


@answers("CONNECT_GET_LIB_VERSION")
def _lib_version(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.reply(frame, rp.RemoteConnectGetLibVersionRet(lib_ver=9000000))


@answers("CONNECT_GET_HOSTNAME")
def _hostname(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.reply(frame, rp.RemoteConnectGetHostnameRet(hostname="fakehost"))


@answers("DOMAIN_LOOKUP_BY_NAME")
def _lookup_by_name(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    if args.name == "test":
        session.reply(frame, rp.RemoteDomainLookupByNameRet(dom=_wire(TEST_DOM)))
    else:
        session.reply_error(frame, LibvirtError.make(ErrorCode.NO_DOMAIN, ErrorDomain.TEST))


@answers("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY")
def _register(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    cid = next(daemon._ids)
    session.registrations[cid] = (args.eventID, args.dom)
    session.reply(frame, rp.RemoteConnectDomainEventCallbackRegisterAnyRet(callbackID=cid))


@answers("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY")
def _deregister(daemon: FakeDaemon, session: Session, frame: Frame, args: Any) -> None:
    session.registrations.pop(args.callbackID, None)
    session.reply(frame)


def _wire(dom: DomainRef) -> Any:
    return rp.RemoteNonnullDomain(name=dom.name, uuid=dom.uuid, id=dom.id)


__all__ = ["OTHER_DOM", "PING_FRAME", "TEST_DOM", "FakeDaemon", "Session"]
