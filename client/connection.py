"""The asyncio client core: one connection to a libvirt daemon.

This module owns every state transition of a client connection, and only this module: the
prologue (AUTH_LIST, SUPPORTS_FEATURE 10, CONNECT_OPEN, 14, 15, as libvirt's client sends
them), serial allocation, matching replies to waiting calls, keepalive, call timeouts, the
close callback, event registrations and the opt-in reconnect. The bytes themselves are
handled by the sans-IO pieces of :mod:`virtwire.protocol` (framing, keepalive, EventState).

Rules it keeps, all libvirt's (spec §1.4, §2, §6):

- any number of calls may be in flight; a reply is matched on (prog, vers, serial) in any
  order, and a reply nobody waits for closes the connection;
- event MESSAGEs and keepalive frames may arrive at any moment, also between a call and
  its reply; a PING is always answered, whether or not our own keepalive runs;
- user code never runs on the reader path: events are re-queued on the connection's own
  :class:`EventState` and dispatched on a later loop turn; close callbacks likewise;
- if the server dies, every waiter gets an error at once; nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from virtwire.client import transports
from virtwire.client.remote_events import RemoteEvents
from virtwire.client.uri import ConnectURI, resolve_uri
from virtwire.protocol import procedures, wirelog
from virtwire.protocol.constants import (
    LXC_PROGRAM,
    PROTOCOL_VERSION,
    QEMU_PROGRAM,
    REMOTE_PROGRAM,
    Feature,
)
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_state import EventState
from virtwire.protocol.events import DomainEvent, DomainEventID, DomainRef
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    ProtocolError,
    encode_frame,
)
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.keepalive import PONG_FRAME, KeepAlive, KeepAliveAction, is_keepalive
from virtwire.protocol.records import NodeInfo
from virtwire.xdr.runtime import TrailingBytes

__all__ = [
    "CloseReason",
    "Connection",
    "ConnectionGap",
    "EventOverflow",
    "EventStream",
    "ReconnectPolicy",
    "connect",
]

log = logging.getLogger("virtwire.client")

P = rp.RemoteProcedure
_READ_SIZE = 256 * 1024
_DEFAULT: Any = object()  # "use the connection's call_timeout"
_CLOSE_TIMEOUT = 5.0


class CloseReason(IntEnum):
    """virConnectCloseReason: why a connection went away."""

    ERROR = 0
    EOF = 1
    KEEPALIVE = 2
    CLIENT = 3


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Opt-in automatic reconnect: exponential backoff between attempts.

    ``max_attempts=None`` retries until :meth:`Connection.close` is called.
    """

    initial_delay: float = 0.2
    max_delay: float = 10.0
    factor: float = 2.0
    max_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectionGap:
    """Told to the application after a reconnect: events may have been missed.

    Delivered to every :meth:`Connection.events` stream (as an item) and to every callback
    added with :meth:`Connection.register_gap_callback`. Between ``lost_at`` and
    ``restored_at`` (``time.time()`` values) the client was not subscribed to anything.
    """

    event_id: ClassVar[None] = None
    reason: CloseReason
    lost_at: float
    restored_at: float
    attempts: int


class EventOverflow(Exception):
    """An :class:`EventStream` with ``overflow="error"`` received more than it could hold."""


def _closed_error() -> LibvirtError:
    return LibvirtError.internal_error("client socket is closed")


def _eof_error() -> LibvirtError:
    return LibvirtError.make(
        ErrorCode.SYSTEM_ERROR,
        ErrorDomain.RPC,
        "End of file while reading data: Input/output error",
    )


def _loss_error(reason: CloseReason, detail: str | None) -> LibvirtError:
    """The error every waiting call gets when the connection dies under it (libvirt's).

    ``detail`` None means the server closed the socket cleanly: libvirt's read then fails
    with "End of file" whichever reason (EOF or, over TCP, ERROR) the close callback gets.
    """
    if reason is CloseReason.KEEPALIVE:
        return LibvirtError.internal_error("connection closed due to keepalive timeout")
    if reason is CloseReason.CLIENT:
        return _closed_error()
    if detail is None:
        return _eof_error()
    return LibvirtError.make(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, f"Cannot recv data: {detail}")


def _hangup_on_eof(writer: Any) -> bool:
    """Whether libvirt's poll() would see POLLHUP when this server closes its end.

    libvirt's client names the close reason after the poll flags, not after the read: with
    POLLHUP it reports EOF, otherwise the failed read is an ERROR. Linux raises POLLHUP on a
    unix socket (and on the socketpair libvirt gives an ssh/ext helper) as soon as the peer
    closes, but on TCP only once both directions are shut or a reset arrived; so a daemon
    that exits (SIGTERM or kill -9, both send FIN) is "end of file" over unix and "I/O
    error" over TCP/TLS, exactly what virsh prints for each.
    """
    sock = writer.get_extra_info("socket") if hasattr(writer, "get_extra_info") else None
    family = getattr(sock, "family", None)
    return family not in (socket.AF_INET, socket.AF_INET6)


class _Link:
    """One transport-level connection (a fresh one after each reconnect)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.serial = 0
        self.pending: dict[tuple[int, int, int], asyncio.Future[Frame]] = {}
        self.abandoned: set[tuple[int, int, int]] = set()
        self.reader_task: asyncio.Task[None] | None = None
        self.alive = True
        self.hangup_on_eof = _hangup_on_eof(writer)

    def next_serial(self) -> int:
        serial = self.serial
        self.serial = (serial + 1) & 0xFFFFFFFF
        return serial


@dataclass(slots=True)
class _Registration:
    """Bookkeeping for one local event callback (EventState has the callback itself)."""

    event_id: int
    dom: DomainRef | None

    @property
    def key(self) -> bytes | None:
        return None if self.dom is None else self.dom.uuid


class Connection:
    """An open connection to a libvirt daemon (use :func:`connect`).

    Calls are coroutines; the connection is safe to use from many tasks at once on its
    loop. ``async with`` closes it.
    """

    def __init__(
        self,
        uri: ConnectURI | None,
        *,
        readonly: bool = False,
        call_timeout: float | None = None,
        connect_timeout: float | None = 30.0,
        reconnect: ReconnectPolicy | bool | None = None,
    ) -> None:
        self._uri = uri
        self.readonly = readonly
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout
        if reconnect is True:
            reconnect = ReconnectPolicy()
        self._reconnect: ReconnectPolicy | None = reconnect or None
        self._loop = asyncio.get_running_loop()
        self.event_state = EventState(self._loop.call_soon)
        self._remote_events = RemoteEvents(self)
        self._link: _Link | None = None
        self._state = "new"
        self._ready = asyncio.Event()
        self._closed_by_client = False
        self._features: dict[int, bool] = {}
        self._server_uri: str | None = None
        self._registrations: dict[int, _Registration] = {}
        self._register_locks: dict[tuple[int, bytes | None], asyncio.Lock] = {}
        self._close_callbacks: list[Callable[[CloseReason], object]] = []
        self._close_callback_registered = False
        self._gap_callbacks: list[Callable[[ConnectionGap], object]] = []
        self._keepalive = KeepAlive(-1, 0)
        self._keepalive_settings: tuple[float, int] | None = None
        self._keepalive_wake = asyncio.Event()
        self._keepalive_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._streams: set[EventStream] = set()
        self._frame_listeners: list[Callable[[Frame], object]] = []

    # ---------------------------------------------------------------------------------------
    # opening and closing
    # ---------------------------------------------------------------------------------------

    @property
    def uri(self) -> str | None:
        """The URI as the application gave it (libvirt's virConnectGetURI answers this)."""
        if self._uri is not None:
            return self._uri.original
        return self._server_uri

    @property
    def is_open(self) -> bool:
        return self._state == "open"

    @property
    def state(self) -> str:
        """ "new", "open", "reconnecting" or "closed"."""
        return self._state

    def supports(self, feature: int) -> bool:
        """What the server answered to CONNECT_SUPPORTS_FEATURE during the prologue."""
        return self._features.get(int(feature), False)

    async def _open(self) -> None:
        await self._establish()
        self._state = "open"
        self._ready.set()
        self._keepalive_task = self._loop.create_task(self._keepalive_loop())

    async def _establish(self) -> None:
        """Dial, then run libvirt's prologue on the fresh link."""
        reader, writer = await transports.open_transport(
            self._uri, self.readonly, timeout=self.connect_timeout
        )
        link = _Link(reader, writer)
        self._link = link
        self._keepalive.received(self._loop.time())
        link.reader_task = self._loop.create_task(self._read_loop(link))
        try:
            await self._prologue(link)
        except asyncio.CancelledError:
            self._drop_link(link, CloseReason.ERROR, None, notify=False)
            raise
        except BaseException:
            self._drop_link(link, CloseReason.ERROR, None, notify=False)
            await _wait_closed(link)
            raise

    async def _prologue(self, link: _Link) -> None:
        timeout = self.connect_timeout
        auth = await self._call_on(link, P.REMOTE_PROC_AUTH_LIST, None, timeout=timeout)
        types = [int(t) for t in auth.types]
        if types and rp.RemoteAuthType.REMOTE_AUTH_NONE not in types:
            raise LibvirtError.make(
                ErrorCode.AUTH_FAILED,
                ErrorDomain.REMOTE,
                f"unsupported authentication type {types[0]}",
            )
        self._features = {}
        self._features[Feature.PROGRAM_KEEPALIVE] = await self._probe(
            link, Feature.PROGRAM_KEEPALIVE
        )
        name = self._uri.open_name() if self._uri is not None else ""
        flags = self._uri.open_flags(self.readonly) if self._uri is not None else int(self.readonly)
        await self._call_on(
            link,
            P.REMOTE_PROC_CONNECT_OPEN,
            rp.RemoteConnectOpenArgs(name=name, flags=flags),
            timeout=timeout,
        )
        for feature in (Feature.REMOTE_EVENT_CALLBACK, Feature.REMOTE_CLOSE_CALLBACK):
            self._features[feature] = await self._probe(link, feature)
        if self._uri is None:
            ret = await self._call_on(link, P.REMOTE_PROC_CONNECT_GET_URI, None, timeout=timeout)
            self._server_uri = ret.uri
        if self._close_callback_registered and self.supports(Feature.REMOTE_CLOSE_CALLBACK):
            await self._call_on(
                link, P.REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, None, timeout=timeout
            )

    async def _probe(self, link: _Link, feature: int) -> bool:
        """CONNECT_SUPPORTS_FEATURE; a failure means "no", as in libvirt's client."""
        try:
            ret = await self._call_on(
                link,
                P.REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
                rp.RemoteConnectSupportsFeatureArgs(feature=int(feature)),
                timeout=self.connect_timeout,
            )
        except LibvirtError as exc:
            log.debug("feature %d probe failed: %s", feature, exc)
            return False
        return bool(ret.supported)

    async def close(self) -> int:
        """CONNECT_CLOSE, then drop the socket; the close callback sees CLIENT. Idempotent."""
        if self._closed_by_client:
            return 0
        self._closed_by_client = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        for stream in list(self._streams):
            stream._finish(None)
        link = self._link
        try:
            if link is not None and link.alive and self._state == "open":
                with contextlib.suppress(LibvirtError, TimeoutError):
                    await self._call_on(
                        link, P.REMOTE_PROC_CONNECT_CLOSE, None, timeout=_CLOSE_TIMEOUT
                    )
        finally:
            self._state = "closed"
            self._ready.set()
            if link is not None:
                self._drop_link(link, CloseReason.CLIENT, None, notify=True)
            if self._keepalive_task is not None:
                self._keepalive_task.cancel()
            self._keepalive_wake.set()
        if link is not None:
            await _wait_closed(link)
            await self._reap(link.reader_task)
        await self._reap(self._keepalive_task)
        await self._reap(self._reconnect_task)
        return 0

    async def _reap(self, task: asyncio.Task[Any] | None) -> None:
        """Cancel ``task`` and wait until it has finished (bounded; never ourselves).

        A task left pending when the connection is gone is what asyncio reports as "Task
        was destroyed but it is pending!" once it is collected; so every close and loss
        path ends its tasks and waits for them.
        """
        if task is None or task.done() or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait({task}, timeout=_CLOSE_TIMEOUT)  # never raises the task's error

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---------------------------------------------------------------------------------------
    # the reader: frames in, routed; never runs user code
    # ---------------------------------------------------------------------------------------

    async def _read_loop(self, link: _Link) -> None:
        decoder = FrameDecoder()
        # a clean end of file: EOF where libvirt's poll() sees a hangup, else ERROR; the
        # waiters get "End of file while reading data" either way (detail None)
        reason = CloseReason.EOF if link.hangup_on_eof else CloseReason.ERROR
        detail: str | None = None
        try:
            while True:
                data = await link.reader.read(_READ_SIZE)
                if not data:
                    break
                self._keepalive.received(self._loop.time())
                for frame in decoder.feed(data):
                    self._route(link, frame)
        except ProtocolError as exc:
            # libvirt handles messages one by one: act on those before the bad bytes
            for frame in exc.frames:
                try:
                    self._route(link, frame)
                except _UnmatchedReply:
                    break
            reason, detail = CloseReason.ERROR, str(exc)
            log.warning("closing connection: %s", exc)
        except ConnectionResetError as exc:
            # a reset makes poll() report POLLHUP on every socket type: libvirt says EOF
            reason, detail = CloseReason.EOF, exc.strerror or str(exc)
        except (ConnectionError, OSError) as exc:
            reason, detail = CloseReason.ERROR, exc.strerror or str(exc)
        except asyncio.CancelledError:
            return
        except _UnmatchedReply as exc:
            reason, detail = CloseReason.ERROR, str(exc)
            log.warning("closing connection: %s", exc)
        except Exception as exc:  # a bug must not leave waiters hanging
            log.exception("reader failed")
            reason, detail = CloseReason.ERROR, repr(exc)
        self._on_link_lost(link, reason, detail)
        if self._state == "closed":
            await self._reap(self._keepalive_task)  # nothing of ours outlives the connection

    def add_frame_listener(self, listener: Callable[[Frame], object]) -> None:
        """Call ``listener(frame)`` for every frame received, before it is routed.

        For tools that show the wire (``virtwire demo``, debugging); it runs on the reader
        path, so it must be quick and must not call back into the connection.
        """
        self._frame_listeners.append(listener)

    def _route(self, link: _Link, frame: Frame) -> None:
        if wirelog.enabled():
            wirelog.dump_frame("server", "->", frame)
        for listener in self._frame_listeners:
            listener(frame)
        header = frame.header
        if is_keepalive(header):
            pong = self._keepalive.on_frame(header)
            if pong is None and header.proc == 1:
                pong = PONG_FRAME
            if pong is not None:
                with contextlib.suppress(LibvirtError):
                    self._send(link, pong)
            return
        mtype = header.type
        if mtype in (MessageType.REPLY, MessageType.REPLY_WITH_FDS):
            key = (header.prog, header.vers, header.serial)
            future = link.pending.pop(key, None)
            if future is None:
                if key in link.abandoned:
                    link.abandoned.discard(key)
                    log.debug("dropping late reply to abandoned call serial %d", header.serial)
                    return
                raise _UnmatchedReply(
                    f"no call waiting for reply prog=0x{header.prog:x} vers={header.vers} "
                    f"serial={header.serial}"
                )
            if not future.done():
                future.set_result(frame)
            return
        if mtype == MessageType.MESSAGE:
            if header.prog == REMOTE_PROGRAM and header.vers == PROTOCOL_VERSION:
                self._remote_events.dispatch(frame)
                return
            if header.prog in (QEMU_PROGRAM, LXC_PROGRAM) and header.vers == PROTOCOL_VERSION:
                log.debug("ignoring event proc %d of program 0x%x", header.proc, header.prog)
                return
            raise _UnmatchedReply(f"event for unknown program 0x{header.prog:x} v{header.vers}")
        if mtype in (MessageType.STREAM, MessageType.STREAM_HOLE):
            log.debug("ignoring stream packet for serial %d (no streams open)", header.serial)
            return
        raise _UnmatchedReply(f"unexpected message type {mtype!r} from server")

    def _send(self, link: _Link, data: bytes) -> None:
        if not link.alive:
            raise _closed_error()
        if wirelog.enabled():
            wirelog.dump_bytes("server", "<-", data)
        try:
            link.writer.write(data)
        except (ConnectionError, RuntimeError, OSError) as exc:
            raise _closed_error() from exc

    def _on_link_lost(self, link: _Link, reason: CloseReason, detail: str | None) -> None:
        if not link.alive:
            return
        if self._closed_by_client:
            reason = CloseReason.CLIENT  # the EOF that answers our CONNECT_CLOSE
        else:
            log.info("connection lost (%s): %s", reason.name, detail or "")
        self._drop_link(link, reason, detail, notify=True)
        if self._state != "open":
            return
        if self._reconnect is not None and not self._closed_by_client:
            self._state = "reconnecting"
            self._ready.clear()
            self._reconnect_task = self._loop.create_task(self._reconnect_loop(reason))
        else:
            self._state = "closed"
            self._ready.set()
            if self._keepalive_task is not None:
                self._keepalive_task.cancel()
            for stream in list(self._streams):
                stream._finish(None)

    def _drop_link(
        self, link: _Link, reason: CloseReason, detail: str | None, *, notify: bool
    ) -> None:
        """Fail every waiter, close the socket, tell the close callbacks (later turn)."""
        if not link.alive:
            return
        link.alive = False
        for future in link.pending.values():
            if not future.done():
                future.set_exception(_loss_error(reason, detail))  # one per waiter
        link.pending.clear()
        if link.reader_task is not None and link.reader_task is not asyncio.current_task():
            link.reader_task.cancel()
        with contextlib.suppress(Exception):
            link.writer.close()
        if notify:
            for callback in list(self._close_callbacks):
                self._loop.call_soon(_safe_call, callback, reason)

    # ---------------------------------------------------------------------------------------
    # calls
    # ---------------------------------------------------------------------------------------

    async def call(
        self,
        proc: int,
        args: Any = None,
        *,
        prog: int = REMOTE_PROGRAM,
        timeout: Any = _DEFAULT,
    ) -> Any:
        """Call ``proc`` with the generated ``args`` struct; return the decoded ret (or None).

        ``timeout`` defaults to the connection's ``call_timeout``; ``None`` waits forever.
        Raises :class:`LibvirtError` with the server's 11 fields on an error reply, and
        libvirt's RPC errors when the connection fails or (with a timeout) no reply comes.
        """
        if timeout is _DEFAULT:
            timeout = self.call_timeout
        link = await self._usable_link(timeout)
        return await self._call_on(link, proc, args, prog=prog, timeout=timeout)

    async def _usable_link(self, timeout: float | None) -> _Link:
        if self._state == "reconnecting":
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                raise LibvirtError.make(
                    ErrorCode.OPERATION_TIMEOUT, ErrorDomain.RPC, "waiting for reconnect"
                ) from None
        link = self._link
        if self._state != "open" or link is None or not link.alive:
            raise _closed_error()
        return link

    async def _call_on(
        self,
        link: _Link,
        proc: int,
        args: Any,
        *,
        prog: int = REMOTE_PROGRAM,
        timeout: float | None = None,
    ) -> Any:
        procedure = procedures.lookup(prog, PROTOCOL_VERSION, int(proc))
        if procedure is None:
            raise LibvirtError.make(
                ErrorCode.NO_SUPPORT,
                ErrorDomain.REMOTE,
                procedures.name_of(prog, PROTOCOL_VERSION, int(proc)),
            )
        payload = procedure.args.pack(args) if procedure.args is not None else b""
        frame = await self._call_raw(link, int(proc), payload, prog=prog, timeout=timeout)
        if procedure.ret is None:
            return None
        try:
            return procedure.ret.unpack(frame.payload)
        except TrailingBytes as extra:  # libvirt's client ignores bytes after the value too
            return extra.value
        except Exception as exc:
            if int(proc) in (
                P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER,
                P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER,
            ):
                return None  # libvirt's client decodes these replies as void
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, f"Unable to decode message payload: {exc}"
            ) from exc

    async def _call_raw(
        self,
        link: _Link,
        proc: int,
        payload: bytes,
        *,
        prog: int = REMOTE_PROGRAM,
        timeout: float | None = None,
    ) -> Frame:
        """Send one CALL on ``link`` and wait for its REPLY frame (status OK)."""
        serial = link.next_serial()
        key = (prog, PROTOCOL_VERSION, serial)
        future: asyncio.Future[Frame] = self._loop.create_future()
        link.pending[key] = future
        header = Header(prog, PROTOCOL_VERSION, proc, MessageType.CALL, serial, MessageStatus.OK)
        try:
            data = encode_frame(header, payload)
        except ProtocolError as exc:
            link.pending.pop(key, None)
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, f"Unable to encode message payload: {exc}"
            ) from exc
        try:
            self._send(link, data)
        except LibvirtError:
            link.pending.pop(key, None)
            raise
        try:
            if timeout is None:
                frame = await future
            else:
                frame = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            if link.pending.pop(key, None) is not None:
                link.abandoned.add(key)
            raise LibvirtError.make(
                ErrorCode.OPERATION_TIMEOUT,
                ErrorDomain.RPC,
                f"no reply to {procedures.name_of(prog, PROTOCOL_VERSION, proc)} "
                f"(serial {serial}) within {timeout:g} s",
            ) from None
        except asyncio.CancelledError:
            if link.pending.pop(key, None) is not None:
                link.abandoned.add(key)
            raise
        status = frame.header.status
        if status == MessageStatus.OK:
            return frame
        if status == MessageStatus.ERROR:
            try:
                raise LibvirtError.unpack(frame.payload)
            except LibvirtError:
                raise
            except Exception as exc:
                raise LibvirtError.make(
                    ErrorCode.RPC, ErrorDomain.RPC, "Unable to decode message payload"
                ) from exc
        raise LibvirtError.make(
            ErrorCode.RPC, ErrorDomain.RPC, f"Unexpected message status {int(status)}"
        )

    # ---------------------------------------------------------------------------------------
    # keepalive
    # ---------------------------------------------------------------------------------------

    async def set_keepalive(self, interval: float, count: int) -> int:
        """virConnectSetKeepAlive: ping after ``interval`` s of silence, give up after
        ``count`` unanswered pings. Returns 1 when the server cannot do keepalive (nothing
        changes), 0 otherwise; ``interval <= 0`` stops our pings (PINGs are still answered).
        """
        if self._state not in ("open", "reconnecting"):
            raise _closed_error()
        if count < 0:
            raise LibvirtError.invalid_arg("count must be non-negative", ErrorDomain.RPC)
        if not self.supports(Feature.PROGRAM_KEEPALIVE):
            return 1
        if interval <= 0:
            self._keepalive_settings = None
            self._keepalive.stop()
        else:
            self._keepalive_settings = (interval, count)
            self._keepalive.start(self._loop.time(), interval, count)
        self._keepalive_wake.set()
        return 0

    async def _keepalive_loop(self) -> None:
        while self._state != "closed":
            wake = self._keepalive.next_wakeup()
            self._keepalive_wake.clear()
            delay = None if wake is None else max(0.0, wake - self._loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._keepalive_wake.wait(), delay)
                continue
            link = self._link
            if link is None or not link.alive or self._state != "open":
                # between links: wait for the reconnect to restart the timer
                self._keepalive.stop()
                continue
            action = self._keepalive.handle_timer(self._loop.time())
            if action is KeepAliveAction.PING:
                log.debug("sending keepalive PING")
                with contextlib.suppress(LibvirtError):
                    self._send(link, action.data or b"")
            elif action is KeepAliveAction.DEAD:
                log.warning("no keepalive response from the server: closing the connection")
                self._on_link_lost(link, CloseReason.KEEPALIVE, None)
                await self._reap(link.reader_task)

    # ---------------------------------------------------------------------------------------
    # close callback and reconnect
    # ---------------------------------------------------------------------------------------

    async def register_close_callback(self, callback: Callable[[CloseReason], object]) -> None:
        """Call ``callback(reason)`` (on a later loop turn) when the connection goes away.

        The first one also asks the server (feature 15) to tell us when its side of the
        hypervisor connection closes, as libvirt's client does.
        """
        self._close_callbacks.append(callback)
        if not self._close_callback_registered:
            self._close_callback_registered = True
            if self.supports(Feature.REMOTE_CLOSE_CALLBACK) and self._state == "open":
                await self.call(P.REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK)

    async def unregister_close_callback(self, callback: Callable[[CloseReason], object]) -> None:
        """Remove a close callback (LibvirtError INVALID_ARG if it is not registered)."""
        if callback not in self._close_callbacks:
            raise LibvirtError.invalid_arg("A different callback was requested", ErrorDomain.NONE)
        last = len(self._close_callbacks) == 1
        if last and self._close_callback_registered:
            if self.supports(Feature.REMOTE_CLOSE_CALLBACK) and self._state != "reconnecting":
                # libvirt asks the server first and keeps the callback when that fails (as
                # on a lost connection: "client socket is closed")
                await self.call(P.REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK)
            self._close_callback_registered = False
        self._close_callbacks.remove(callback)

    def register_gap_callback(self, callback: Callable[[ConnectionGap], object]) -> None:
        """Call ``callback(gap)`` after each successful reconnect."""
        self._gap_callbacks.append(callback)

    def _server_closed(self, reason: int) -> None:
        """CONNECT_EVENT_CONNECTION_CLOSED: the daemon's hypervisor connection went away."""
        try:
            why = CloseReason(reason)
        except ValueError:
            why = CloseReason.ERROR
        for callback in list(self._close_callbacks):
            self._loop.call_soon(_safe_call, callback, why)

    async def _reconnect_loop(self, reason: CloseReason) -> None:
        policy = self._reconnect
        assert policy is not None
        lost_at = time.time()
        delay = policy.initial_delay
        attempts = 0
        while not self._closed_by_client:
            await asyncio.sleep(delay)
            attempts += 1
            try:
                await self._establish()
                await self._restore_registrations()
            except (LibvirtError, OSError) as exc:
                log.info("reconnect attempt %d failed: %s", attempts, exc)
                if self._link is not None:
                    self._drop_link(self._link, CloseReason.ERROR, None, notify=False)
                if policy.max_attempts is not None and attempts >= policy.max_attempts:
                    log.warning("giving up reconnecting after %d attempts", attempts)
                    self._state = "closed"
                    self._ready.set()
                    for stream in list(self._streams):
                        stream._finish(None)
                    await self._reap(self._keepalive_task)
                    return
                delay = min(delay * policy.factor, policy.max_delay)
                continue
            if self._closed_by_client:  # close() was called while we were dialling
                if self._link is not None:
                    self._drop_link(self._link, CloseReason.CLIENT, None, notify=False)
                return
            self._state = "open"
            self._ready.set()
            if self._keepalive_settings is not None:
                interval, count = self._keepalive_settings
                self._keepalive.start(self._loop.time(), interval, count)
                self._keepalive_wake.set()
            gap = ConnectionGap(reason, lost_at, time.time(), attempts)
            log.info("reconnected after %d attempt(s)", attempts)
            for stream in list(self._streams):
                stream._offer(gap)
            for callback in list(self._gap_callbacks):
                self._loop.call_soon(_safe_call, callback, gap)
            return

    async def _restore_registrations(self) -> None:
        """Re-register on the server every (eventID, domain) that has local callbacks."""
        link = self._link
        assert link is not None
        done: dict[tuple[int, bytes | None], int] = {}
        for callback_id, reg in list(self._registrations.items()):
            group = (reg.event_id, reg.key)
            if group not in done:
                done[group] = await self._server_register(link, reg.event_id, reg.dom)
            self.event_state.set_remote_id(callback_id, done[group])

    # ---------------------------------------------------------------------------------------
    # event registrations (spec §6.4)
    # ---------------------------------------------------------------------------------------

    async def _server_register(self, link: _Link, event_id: int, dom: DomainRef | None) -> int:
        """One server registration; returns the remote ID (-1 for a legacy server)."""
        if self.supports(Feature.REMOTE_EVENT_CALLBACK):
            wire_dom = None if dom is None else _wire_dom(dom)
            ret = await self._call_on(
                link,
                P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
                rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(
                    eventID=int(event_id), dom=wire_dom
                ),
                timeout=self.call_timeout,
            )
            return int(ret.callbackID)
        if event_id == DomainEventID.LIFECYCLE and dom is None:
            await self._call_on(
                link, P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER, None, timeout=self.call_timeout
            )
        else:
            await self._call_on(
                link,
                P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY,
                rp.RemoteConnectDomainEventRegisterAnyArgs(eventID=int(event_id)),
                timeout=self.call_timeout,
            )
        return -1

    async def register_event_raw(
        self,
        event_id: int,
        callback: Callable[[DomainEvent, int], object],
        dom: DomainRef | None = None,
    ) -> int:
        """Register ``callback(event, callback_id)`` on the local EventState.

        The first local callback for an (eventID, domain) pair registers on the server;
        later ones share that registration. Returns the *local* callback ID. A second
        registration of the same callable for the same pair is refused ("event callback
        already tracked"), as libvirt's client does.
        """
        if not 0 <= int(event_id) <= max(DomainEventID):
            raise LibvirtError.invalid_arg(f"unsupported event ID {event_id}", ErrorDomain.NONE)
        key = None if dom is None else dom.uuid
        lock = self._register_locks.setdefault((int(event_id), key), asyncio.Lock())
        async with lock:
            link = await self._usable_link(self.call_timeout)
            shared = self.event_state.remote_id_for(int(event_id), key)
            legacy_server = not self.supports(Feature.REMOTE_EVENT_CALLBACK)
            if legacy_server and self.event_state.count(int(event_id), key) > 0:
                shared = -1
            callback_id = self.event_state.register(
                int(event_id), callback, key=key, remote_id=-1 if shared is None else shared
            )
            self._registrations[callback_id] = _Registration(int(event_id), dom)
            if shared is not None:
                return callback_id
            try:
                remote_id = await self._server_register(link, int(event_id), dom)
            except BaseException:
                self._registrations.pop(callback_id, None)
                with contextlib.suppress(LibvirtError):
                    self.event_state.deregister(callback_id)
                raise
            self.event_state.set_remote_id(callback_id, remote_id)
            return callback_id

    async def deregister_event(self, callback_id: int) -> None:
        """Remove a local callback; the last one of its (eventID, domain) leaves the server."""
        record = self.event_state.find(callback_id)
        reg = self._registrations.get(callback_id)
        if record is None or reg is None:
            # the remote driver's wording (the daemon's EventState words it differently)
            raise LibvirtError.invalid_arg(
                f"event callback id {callback_id} not registered", ErrorDomain.NONE
            )
        lock = self._register_locks.setdefault((reg.event_id, reg.key), asyncio.Lock())
        async with lock:
            self.event_state.deregister(callback_id)
            self._registrations.pop(callback_id, None)
            if self.event_state.count(reg.event_id, reg.key) > 0:
                return
            if self._state == "reconnecting":
                return  # nothing to undo on the server; a reconnect will not restore it
            # libvirt's remote driver drops the local callback first, then asks the server:
            # on a lost connection that call fails ("client socket is closed")
            link = await self._usable_link(self.call_timeout)
            if self.supports(Feature.REMOTE_EVENT_CALLBACK):
                await self._call_on(
                    link,
                    P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
                    rp.RemoteConnectDomainEventCallbackDeregisterAnyArgs(
                        callbackID=record.remote_id
                    ),
                    timeout=self.call_timeout,
                )
            elif reg.event_id == DomainEventID.LIFECYCLE and reg.dom is None:
                await self._call_on(
                    link,
                    P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER,
                    None,
                    timeout=self.call_timeout,
                )
            else:
                await self._call_on(
                    link,
                    P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY,
                    rp.RemoteConnectDomainEventDeregisterAnyArgs(eventID=reg.event_id),
                    timeout=self.call_timeout,
                )

    async def register_event(
        self,
        event_id: int,
        callback: Callable[[DomainEvent], object],
        dom: Any = None,
    ) -> int:
        """Call ``callback(event)`` for every ``event_id`` event (of ``dom`` if given).

        ``dom`` is a :class:`~virtwire.client.domain.Domain` or a DomainRef. Returns the
        local callback ID for :meth:`deregister_event`.
        """

        def trampoline(event: DomainEvent, _callback_id: int) -> None:
            callback(event)

        return await self.register_event_raw(event_id, trampoline, _as_ref(dom))

    def events(
        self,
        event_ids: Any = None,
        dom: Any = None,
        *,
        maxsize: int = 1024,
        overflow: str = "error",
    ) -> EventStream:
        """An async iterator of typed events (and :class:`ConnectionGap` after reconnects).

        ``event_ids``: one ID or an iterable (default: every domain event ID the server
        accepts). ``maxsize`` bounds the queue; ``overflow`` says what happens when it is
        full: ``"error"`` (the iterator raises :class:`EventOverflow` after the queued
        events; nothing is dropped silently), ``"drop_oldest"`` or ``"drop_newest"``
        (counted in ``stream.dropped``).
        """
        return EventStream(self, event_ids, _as_ref(dom), maxsize=maxsize, overflow=overflow)

    # ---------------------------------------------------------------------------------------
    # connection-level API (each one procedure)
    # ---------------------------------------------------------------------------------------

    async def get_type(self) -> str:
        return (await self.call(P.REMOTE_PROC_CONNECT_GET_TYPE)).type

    async def get_version(self) -> int:
        return (await self.call(P.REMOTE_PROC_CONNECT_GET_VERSION)).hv_ver

    async def get_lib_version(self) -> int:
        return (await self.call(P.REMOTE_PROC_CONNECT_GET_LIB_VERSION)).lib_ver

    async def get_hostname(self) -> str:
        return (await self.call(P.REMOTE_PROC_CONNECT_GET_HOSTNAME)).hostname

    async def get_uri(self) -> str:
        """The URI the daemon says it opened (CONNECT_GET_URI)."""
        return (await self.call(P.REMOTE_PROC_CONNECT_GET_URI)).uri

    async def get_capabilities(self) -> str:
        return (await self.call(P.REMOTE_PROC_CONNECT_GET_CAPABILITIES)).capabilities

    async def get_max_vcpus(self, type: str | None = None) -> int:
        ret = await self.call(
            P.REMOTE_PROC_CONNECT_GET_MAX_VCPUS, rp.RemoteConnectGetMaxVcpusArgs(type=type)
        )
        return ret.max_vcpus

    async def node_get_info(self) -> NodeInfo:
        """NODE_GET_INFO: ``model`` (str), ``memory`` (KiB), cpus, mhz, nodes, sockets, cores,
        threads."""
        ret = await self.call(P.REMOTE_PROC_NODE_GET_INFO)
        return NodeInfo(
            _chars_to_str(ret.model),
            ret.memory,
            ret.cpus,
            ret.mhz,
            ret.nodes,
            ret.sockets,
            ret.cores,
            ret.threads,
        )

    async def node_get_security_model(self) -> tuple[str, str]:
        ret = await self.call(P.REMOTE_PROC_NODE_GET_SECURITY_MODEL)
        return _chars_to_str(ret.model), _chars_to_str(ret.doi)

    async def num_of_domains(self) -> int:
        return (await self.call(P.REMOTE_PROC_CONNECT_NUM_OF_DOMAINS)).num

    async def list_domains(self, maxids: int | None = None) -> list[int]:
        if maxids is None:
            maxids = await self.num_of_domains()
        ret = await self.call(
            P.REMOTE_PROC_CONNECT_LIST_DOMAINS, rp.RemoteConnectListDomainsArgs(maxids=maxids)
        )
        return list(ret.ids)

    async def num_of_defined_domains(self) -> int:
        return (await self.call(P.REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS)).num

    async def list_defined_domains(self, maxnames: int | None = None) -> list[str]:
        if maxnames is None:
            maxnames = await self.num_of_defined_domains()
        ret = await self.call(
            P.REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS,
            rp.RemoteConnectListDefinedDomainsArgs(maxnames=maxnames),
        )
        return list(ret.names)

    async def list_all_domains(self, flags: int = 0) -> list[Domain]:
        ret = await self.call(
            P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
            rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=flags),
        )
        return [Domain(self, _ref(d)) for d in ret.domains]

    async def lookup_by_name(self, name: str) -> Domain:
        ret = await self.call(
            P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, rp.RemoteDomainLookupByNameArgs(name=name)
        )
        return Domain(self, _ref(ret.dom))

    async def lookup_by_uuid(self, uuid: bytes | str) -> Domain:
        if isinstance(uuid, str):
            uuid = _parse_uuid(uuid)
        ret = await self.call(
            P.REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, rp.RemoteDomainLookupByUuidArgs(uuid=bytes(uuid))
        )
        return Domain(self, _ref(ret.dom))

    async def lookup_by_id(self, id: int) -> Domain:
        ret = await self.call(
            P.REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, rp.RemoteDomainLookupByIdArgs(id=id)
        )
        return Domain(self, _ref(ret.dom))

    async def define_xml(self, xml: str, flags: int = 0) -> Domain:
        """DOMAIN_DEFINE_XML (flags 0, as libvirt's client) or DEFINE_XML_FLAGS."""
        if flags:
            ret = await self.call(
                P.REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS,
                rp.RemoteDomainDefineXmlFlagsArgs(xml=xml, flags=flags),
            )
        else:
            ret = await self.call(
                P.REMOTE_PROC_DOMAIN_DEFINE_XML, rp.RemoteDomainDefineXmlArgs(xml=xml)
            )
        return Domain(self, _ref(ret.dom))

    async def create_xml(self, xml: str, flags: int = 0) -> Domain:
        ret = await self.call(
            P.REMOTE_PROC_DOMAIN_CREATE_XML,
            rp.RemoteDomainCreateXmlArgs(xml_desc=xml, flags=flags),
        )
        return Domain(self, _ref(ret.dom))

    def domain(self, ref: Any) -> Domain:
        """Wrap a DomainRef (e.g. ``event.dom``) as a Domain of this connection."""
        return Domain(self, _as_ref(ref))

    async def is_alive(self) -> bool:
        return self._state == "open"


class _UnmatchedReply(Exception):
    """A reply nobody waits for, or a message libvirt's client would not accept."""


def _parse_uuid(text: str) -> bytes:
    hexdigits = text.replace("-", "").strip()
    try:
        raw = bytes.fromhex(hexdigits)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise LibvirtError.invalid_arg(f"Failed to parse UUID {text}", ErrorDomain.NONE)
    return raw


def _ref(dom: Any) -> DomainRef:
    return DomainRef(dom.name, bytes(dom.uuid), dom.id)


def _wire_dom(dom: DomainRef) -> Any:
    return rp.RemoteNonnullDomain(name=dom.name, uuid=bytes(dom.uuid), id=dom.id)


def _as_ref(dom: Any) -> DomainRef | None:
    if dom is None:
        return None
    if isinstance(dom, DomainRef):
        return dom
    ref = getattr(dom, "ref", None)
    if isinstance(ref, DomainRef):
        return ref
    return DomainRef(dom.name, bytes(dom.uuid), dom.id)


async def _wait_closed(link: _Link) -> None:
    """Let the transport finish closing (a helper process exits, a socket is released)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(link.writer.wait_closed(), 2.0)


def _safe_call(callback: Callable[..., object], *args: Any) -> None:
    try:
        callback(*args)
    except Exception:
        log.exception("callback %r raised", callback)


class EventStream:
    """Bounded async iterator over events of one connection (see :meth:`Connection.events`)."""

    def __init__(
        self,
        conn: Connection,
        event_ids: Any,
        dom: DomainRef | None,
        *,
        maxsize: int,
        overflow: str,
    ) -> None:
        if overflow not in ("error", "drop_oldest", "drop_newest"):
            raise ValueError(
                f"overflow must be 'error', 'drop_oldest' or 'drop_newest', not {overflow!r}"
            )
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._conn = conn
        if event_ids is None:
            self._explicit = False
            self._event_ids = [int(e) for e in DomainEventID]
        else:
            self._explicit = True
            if isinstance(event_ids, int):
                event_ids = [event_ids]
            self._event_ids = [int(e) for e in event_ids]
        self._dom = dom
        self.maxsize = maxsize
        self.overflow = overflow
        self.dropped = 0
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._callback_ids: list[int] = []
        self._started = False
        self._finished = False
        self._overflowed = False

    async def start(self) -> EventStream:
        """Register on the server (done implicitly by ``async with`` / first iteration)."""
        if self._started:
            return self
        self._started = True
        self._conn._streams.add(self)
        try:
            for event_id in self._event_ids:
                try:
                    cid = await self._conn.register_event_raw(event_id, self._on_event, self._dom)
                except LibvirtError as exc:
                    # a server older than our event table refuses the newest IDs (libvirtd
                    # 9.0: INTERNAL_ERROR "unsupported event ID 27"); skip those by default
                    refused = exc.code in (ErrorCode.INVALID_ARG, ErrorCode.NO_SUPPORT) or (
                        "event ID" in str(exc)
                    )
                    if self._explicit or not refused:
                        raise
                    log.debug("server refused event ID %d: %s", event_id, exc)
                    continue
                self._callback_ids.append(cid)
        except BaseException:
            await self.aclose()
            raise
        return self

    def _on_event(self, event: DomainEvent, _callback_id: int) -> None:
        self._offer(event)

    def _offer(self, item: Any) -> None:
        if self._finished or self._overflowed:
            return
        if self._items.qsize() >= self.maxsize:
            if self.overflow == "drop_newest":
                self.dropped += 1
                return
            if self.overflow == "drop_oldest":
                self._items.get_nowait()
                self.dropped += 1
            else:
                self._overflowed = True
                self._items.put_nowait(_OVERFLOW)
                return
        self._items.put_nowait(item)

    def _finish(self, _reason: Any) -> None:
        if not self._finished:
            self._finished = True
            self._items.put_nowait(_END)

    async def aclose(self) -> None:
        """Deregister every callback of this stream; the iterator then ends."""
        self._conn._streams.discard(self)
        ids, self._callback_ids = self._callback_ids, []
        for cid in ids:
            with contextlib.suppress(LibvirtError):
                await self._conn.deregister_event(cid)
        self._finish(None)

    async def __aenter__(self) -> EventStream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Any:
        if not self._started:
            await self.start()
        item = await self._items.get()
        if item is _END:
            self._items.put_nowait(_END)
            raise StopAsyncIteration
        if item is _OVERFLOW:
            await self.aclose()
            raise EventOverflow(f"more than {self.maxsize} events queued and not consumed")
        return item


_END = object()
_OVERFLOW = object()


async def connect(
    uri: str | None = None,
    readonly: bool = False,
    *,
    call_timeout: float | None = None,
    connect_timeout: float | None = 30.0,
    keepalive: tuple[float, int] | None = None,
    reconnect: ReconnectPolicy | bool | None = None,
) -> Connection:
    """Open a connection: ``async with await virtwire.client.connect(uri) as conn``.

    ``uri`` defaults to ``$LIBVIRT_DEFAULT_URI``, else the system daemon's socket (the
    daemon then picks the driver, as with libvirt). ``keepalive=(interval, count)`` starts
    client pings at once; ``reconnect=True`` (or a :class:`ReconnectPolicy`) re-opens and
    re-registers every event callback after a loss and then reports a :class:`ConnectionGap`.
    """
    conn = Connection(
        resolve_uri(uri),
        readonly=readonly,
        call_timeout=call_timeout,
        connect_timeout=connect_timeout,
        reconnect=reconnect,
    )
    await conn._open()
    if keepalive is not None:
        await conn.set_keepalive(*keepalive)
    return conn


from virtwire.client.domain import Domain, _chars_to_str  # noqa: E402  (Domain methods call back into us)
