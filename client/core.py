"""The sans-IO client connection core: bytes and ``now`` in; frames, replies and events out.

One :class:`ClientCore` holds every state transition of one client connection that does not
need a socket or a clock (h11 / aioquic style): serial allocation, matching replies on
(prog, vers, serial), the rule that a reply nobody waits for closes the connection,
keepalive (:class:`~virtwire.protocol.keepalive.KeepAlive`), routing of event MESSAGEs
through the ``remote_events`` table, call deadlines, stream state and the bookkeeping of
which local event callbacks share which server registration. The time is always an
argument; nothing here sleeps, reads or writes.

The driver (``client/connection.py`` for asyncio, or a test with a fake clock) does::

    core.connection_made(now)                  # a fresh transport (serials restart at 0)
    serial = core.start_call(prog, proc, payload, now=now, timeout=5.0)
    sock.send(core.data_to_send())
    for event in core.receive_data(sock.recv(), now):   # CallCompleted, CallFailed,
        ...                                             # DomainEventReceived, ...
    wake = core.next_wakeup()                           # arm one timer; then
    events = core.handle_timer(now)                     # PINGs, deadlines, keepalive death

Rules kept, all libvirt's (spec §1.4, §2, §6): any number of calls in flight, replies in any
order; MESSAGEs and keepalive frames at any moment; a PING is always answered; an
unexpected REPLY, a MESSAGE of an unknown program or a CALL from the server closes the
connection; STREAM packets for no known stream are ignored.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from virtwire.client.remote_events import RemoteEvents
from virtwire.protocol import procedures, wirelog
from virtwire.protocol.constants import (
    LXC_PROGRAM,
    PROTOCOL_VERSION,
    QEMU_PROGRAM,
    REMOTE_PROGRAM,
)
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_types import DomainRef
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    ProtocolError,
    decode_stream_hole,
    encode_call,
    encode_frame,
    encode_stream_hole,
)
from virtwire.protocol.keepalive import PONG_FRAME, KeepAlive, KeepAliveAction, is_keepalive

if TYPE_CHECKING:  # the event classes load with the first event, not with the client
    from virtwire.protocol.event_classes import DomainEvent

__all__ = [
    "STREAM_CHUNK_MAX",
    "CallCompleted",
    "CallFailed",
    "ClientCore",
    "CloseReason",
    "ConnectionClosed",
    "CoreEvent",
    "DomainEventReceived",
    "ReconnectPolicy",
    "ReconnectSchedule",
    "RegistrationBook",
    "ServerClosed",
    "StreamUpdated",
    "closed_error",
    "loss_error",
]

log = logging.getLogger("virtwire.client")

STREAM_CHUNK_MAX = 262120
"""VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX: libvirt's client sends stream data in chunks this big."""


class CloseReason(IntEnum):
    """virConnectCloseReason: why a connection went away."""

    ERROR = 0
    EOF = 1
    KEEPALIVE = 2
    CLIENT = 3


# ------------------------------------------------------------------------------------------
# errors libvirt's client reports
# ------------------------------------------------------------------------------------------


def closed_error() -> LibvirtError:
    return LibvirtError.internal_error("client socket is closed")


def loss_error(reason: CloseReason, detail: str | None) -> LibvirtError:
    """The error every waiting call gets when the connection dies under it (libvirt's).

    ``detail`` None means the server closed the socket cleanly: libvirt's read then fails
    with "End of file" whichever reason (EOF or, over TCP, ERROR) the close callback gets.
    """
    if reason is CloseReason.KEEPALIVE:
        return LibvirtError.internal_error("connection closed due to keepalive timeout")
    if reason is CloseReason.CLIENT:
        return closed_error()
    if detail is None:
        return LibvirtError.make(
            ErrorCode.SYSTEM_ERROR,
            ErrorDomain.RPC,
            "End of file while reading data: Input/output error",
        )
    return LibvirtError.make(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, f"Cannot recv data: {detail}")


def _timeout_error(prog: int, proc: int, serial: int, timeout: float) -> LibvirtError:
    return LibvirtError.make(
        ErrorCode.OPERATION_TIMEOUT,
        ErrorDomain.RPC,
        f"no reply to {procedures.name_of(prog, PROTOCOL_VERSION, proc)} "
        f"(serial {serial}) within {timeout:g} s",
    )


def _error_from_payload(payload: bytes) -> LibvirtError:
    try:
        return LibvirtError.unpack(payload)
    except Exception:
        return LibvirtError.make(ErrorCode.RPC, ErrorDomain.RPC, "Unable to decode message payload")


# ------------------------------------------------------------------------------------------
# what the core reports (frozen, slotted: h11 style)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """A REPLY with status OK arrived for ``serial``; ``payload`` is the undecoded ret."""

    serial: int
    prog: int
    proc: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class CallFailed:
    """The call ``serial`` failed: an error reply, its deadline, or the connection died."""

    serial: int
    prog: int
    proc: int
    error: LibvirtError


@dataclass(frozen=True, slots=True)
class DomainEventReceived:
    """A typed event to queue on the local EventState with ``remote_id`` (-1 legacy)."""

    event: DomainEvent
    remote_id: int


@dataclass(frozen=True, slots=True)
class ServerClosed:
    """CONNECT_EVENT_CONNECTION_CLOSED: the daemon's hypervisor connection went away."""

    reason: CloseReason


@dataclass(frozen=True, slots=True)
class StreamUpdated:
    """Stream ``serial`` has something new: data, a hole, its end, an error, or it closed."""

    serial: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The connection is finished (every pending call got a :class:`CallFailed` first)."""

    reason: CloseReason
    detail: str | None


CoreEvent = (
    CallCompleted
    | CallFailed
    | DomainEventReceived
    | ServerClosed
    | StreamUpdated
    | ConnectionClosed
)


# ------------------------------------------------------------------------------------------
# internal records
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    prog: int
    proc: int
    serial: int
    deadline: float | None
    timeout: float | None


@dataclass(slots=True)
class StreamState:
    """The client side of one stream, keyed by the (prog, proc, serial) of its call.

    ``rx`` holds received items in wire order: ``bytes`` for data, ``int`` for a hole.
    """

    prog: int
    proc: int
    serial: int
    rx: deque[bytes | int] = field(default_factory=deque)
    offset: int = 0  # bytes of rx[0] already consumed
    hole: int = 0  # zeros still to hand out from a hole taken off rx
    eof: bool = False
    error: LibvirtError | None = None
    closing: int | None = None  # MessageStatus.OK (finish) or ERROR (abort) sent, unconfirmed
    closed: bool = False


class _EventSink:
    """What RemoteEvents needs of a connection, collecting into the core's output."""

    def __init__(self, out: list[CoreEvent]) -> None:
        self.out = out
        self.event_state = self

    def queue(self, event: DomainEvent, remote_id: int = -1) -> bool:
        self.out.append(DomainEventReceived(event, remote_id))
        return True

    def _server_closed(self, reason: int) -> None:
        try:
            why = CloseReason(reason)
        except ValueError:
            why = CloseReason.ERROR
        self.out.append(ServerClosed(why))


class _Unmatched(Exception):
    """A frame libvirt's client would not accept: the connection closes."""


# ------------------------------------------------------------------------------------------
# the core
# ------------------------------------------------------------------------------------------


class ClientCore:
    """All the protocol state of one client connection; no I/O, no clock.

    Calls are identified by their serial (unique per transport connection). A core starts
    closed; :meth:`connection_made` starts a fresh transport, :meth:`connection_lost` (or a
    fatal frame, or keepalive death) ends it. Settings that outlive one transport (keepalive
    interval/count, event registrations in :attr:`registrations`) survive a reconnect.
    """

    def __init__(self) -> None:
        self._out: list[CoreEvent] = []
        self._sink = _EventSink(self._out)
        self.remote_events = RemoteEvents(self._sink)  # type: ignore[arg-type]
        self.keepalive = KeepAlive(-1, 0)
        self.keepalive_settings: tuple[float, int] | None = None
        self.registrations = RegistrationBook()
        self.frame_listeners: list[Callable[[Frame], object]] = []
        self._send = bytearray()
        self._decoder = FrameDecoder()
        self._serial = 0
        self._pending: dict[tuple[int, int, int], _Call] = {}
        self._abandoned: set[tuple[int, int, int]] = set()
        self._streams: dict[tuple[int, int], StreamState] = {}  # (prog, serial) -> state
        self.is_open = False
        self.close_reason: CloseReason | None = None

    # -- transport lifecycle ---------------------------------------------------------------

    def connection_made(self, now: float) -> None:
        """A new transport is up: serials restart, nothing is pending, silence starts now."""
        self._send = bytearray()
        self._decoder = FrameDecoder()
        self._serial = 0
        self._pending.clear()
        self._abandoned.clear()
        self._streams.clear()
        self.is_open = True
        self.close_reason = None
        self.keepalive.stop()
        self.keepalive.received(now)

    def start_keepalive(self, now: float, interval: float, count: int) -> None:
        """virConnectSetKeepAlive: ``interval <= 0`` stops our pings (PINGs still answered)."""
        if interval <= 0:
            self.keepalive_settings = None
            self.keepalive.stop()
        else:
            self.keepalive_settings = (interval, count)
            if self.is_open:
                self.keepalive.start(now, interval, count)

    def resume_keepalive(self, now: float) -> None:
        """After a reconnect: restart the keepalive timer with the settings last asked for."""
        if self.keepalive_settings is not None and self.is_open:
            self.keepalive.start(now, *self.keepalive_settings)

    def connection_lost(self, reason: CloseReason, detail: str | None = None) -> list[CoreEvent]:
        """The transport is gone (or we close it): fail every waiter, end every stream."""
        if not self.is_open:
            return self._take()
        self._close(reason, detail)
        return self._take()

    def _close(self, reason: CloseReason, detail: str | None) -> None:
        self.is_open = False
        self.close_reason = reason
        self.keepalive.stop()
        calls = list(self._pending.values())
        self._pending.clear()
        self._abandoned.clear()
        for call in calls:
            self._out.append(
                CallFailed(call.serial, call.prog, call.proc, loss_error(reason, detail))
            )
        for stream in self._streams.values():
            if not stream.closed:
                stream.closed = True
                if stream.error is None:
                    stream.error = loss_error(reason, detail)
                self._out.append(StreamUpdated(stream.serial))
        self._streams.clear()
        self._send.clear()
        self._out.append(ConnectionClosed(reason, detail))

    def _take(self) -> list[CoreEvent]:
        out = list(self._out)
        self._out.clear()
        return out

    # -- sending ---------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes to write to the transport, in order; empty when there is nothing."""
        data = bytes(self._send)
        self._send.clear()
        return data

    def has_data_to_send(self) -> bool:
        return bool(self._send)

    def _queue(self, data: bytes) -> None:
        if wirelog.enabled():
            wirelog.dump_bytes("server", "<-", data)
        self._send += data

    def next_serial(self) -> int:
        serial = self._serial
        self._serial = (serial + 1) & 0xFFFFFFFF
        return serial

    def start_call(
        self,
        prog: int,
        proc: int,
        payload: bytes = b"",
        *,
        now: float,
        timeout: float | None = None,
        stream: bool = False,
    ) -> int:
        """Queue one CALL; return its serial. ``timeout`` sets a deadline of ``now + timeout``.

        ``stream=True`` registers a stream on (prog, proc, serial) before the call goes out,
        as libvirt's remote driver does, so stream packets that follow the reply are kept.
        Raises ``closed_error()`` when the connection is closed and LibvirtError RPC when
        the payload cannot be framed.
        """
        serial, data = self._frame_call(prog, proc, payload, now, timeout)
        if stream:
            self._streams[(prog, serial)] = StreamState(prog, proc, serial)
        self._queue(data)
        return serial

    def start_call_frame(self, prog: int, proc: int, payload: bytes = b"") -> tuple[int, bytes]:
        """:meth:`start_call` for a caller that writes the CALL itself: no deadline, no
        stream, nothing queued. Returns (serial, the framed CALL); the caller must write
        it before anything :meth:`data_to_send` returns later."""
        serial, data = self._frame_call(prog, proc, payload, 0.0, None)
        if wirelog.enabled():
            wirelog.dump_bytes("server", "<-", data)
        return serial, data

    def _frame_call(
        self, prog: int, proc: int, payload: bytes, now: float, timeout: float | None
    ) -> tuple[int, bytes]:
        if not self.is_open:
            raise closed_error()
        serial = self.next_serial()
        try:
            data = encode_call(prog, proc, serial, payload)
        except ProtocolError as exc:
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, f"Unable to encode message payload: {exc}"
            ) from exc
        deadline = None if timeout is None else now + timeout
        self._pending[(prog, PROTOCOL_VERSION, serial)] = _Call(
            prog, proc, serial, deadline, timeout
        )
        return serial, data

    def abandon_call(self, prog: int, serial: int) -> None:
        """The waiter gave up (cancelled): a late reply is then dropped, not fatal."""
        key = (prog, PROTOCOL_VERSION, serial)
        if self._pending.pop(key, None) is not None:
            self._abandoned.add(key)
        self._drop_stream(prog, serial)

    def _drop_stream(self, prog: int, serial: int) -> None:
        stream = self._streams.pop((prog, serial), None)
        if stream is not None:
            stream.closed = True

    def pending_serials(self) -> list[int]:
        return [call.serial for call in self._pending.values()]

    # -- receiving -------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[CoreEvent]:
        """Feed bytes from the transport; return what they completed, in order."""
        if not self.is_open:
            return self._take()
        self.keepalive.received(now)
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as exc:
            # libvirt handles messages one by one: act on those before the bad bytes
            for frame in exc.frames:
                try:
                    self._route(frame)
                except _Unmatched as unmatched:
                    log.warning("closing connection: %s", unmatched)
                    self._close(CloseReason.ERROR, str(unmatched))
                    return self._take()
            log.warning("closing connection: %s", exc)
            self._close(CloseReason.ERROR, str(exc))
            return self._take()
        for frame in frames:
            try:
                self._route(frame)
            except _Unmatched as exc:
                log.warning("closing connection: %s", exc)
                self._close(CloseReason.ERROR, str(exc))
                break
        return self._take()

    def _route(self, frame: Frame) -> None:
        if wirelog.enabled():
            wirelog.dump_frame("server", "->", frame)
        for listener in self.frame_listeners:
            listener(frame)
        header = frame.header
        if is_keepalive(header):
            pong = self.keepalive.on_frame(header)
            if pong is None and header.proc == 1:
                pong = PONG_FRAME
            if pong is not None:
                self._queue(pong)
            return
        mtype = header.type
        if mtype in (MessageType.REPLY, MessageType.REPLY_WITH_FDS):
            self._reply(frame)
            return
        if mtype == MessageType.MESSAGE:
            if header.prog in (REMOTE_PROGRAM, QEMU_PROGRAM) and header.vers == PROTOCOL_VERSION:
                self.remote_events.dispatch(frame)  # QEMU's monitor events have a table too
                return
            if header.prog == LXC_PROGRAM and header.vers == PROTOCOL_VERSION:
                log.debug("ignoring event proc %d of program 0x%x", header.proc, header.prog)
                return
            raise _Unmatched(f"event for unknown program 0x{header.prog:x} v{header.vers}")
        if mtype in (MessageType.STREAM, MessageType.STREAM_HOLE):
            self._stream_packet(frame)
            return
        raise _Unmatched(f"unexpected message type {mtype!r} from server")

    def _reply(self, frame: Frame) -> None:
        header = frame.header
        key = (header.prog, header.vers, header.serial)
        call = self._pending.pop(key, None)
        if call is None:
            if key in self._abandoned:
                self._abandoned.discard(key)
                log.debug("dropping late reply to abandoned call serial %d", header.serial)
                return
            stream = self._streams.get((header.prog, header.serial))
            if (
                stream is not None
                and stream.closing is not None
                and header.vers == PROTOCOL_VERSION
            ):
                # a finish/abort the server refused answers as an error REPLY (libvirt's
                # daemonStreamHandleFinish/Abort → virNetServerProgramSendReplyError)
                if header.status == MessageStatus.OK:
                    self._stream_closed(stream, None)
                else:
                    self._stream_closed(stream, _error_from_payload(frame.payload))
                return
            raise _Unmatched(
                f"no call waiting for reply prog=0x{header.prog:x} vers={header.vers} "
                f"serial={header.serial}"
            )
        status = header.status
        if status == MessageStatus.OK:
            self._out.append(CallCompleted(call.serial, call.prog, call.proc, frame.payload))
            return
        if status == MessageStatus.ERROR:
            error = _error_from_payload(frame.payload)
        else:
            error = LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, f"Unexpected message status {int(status)}"
            )
        # the call that would have opened a stream failed: the stream never existed
        self._drop_stream(call.prog, call.serial)
        self._out.append(CallFailed(call.serial, call.prog, call.proc, error))

    # -- timers ----------------------------------------------------------------------------

    def next_wakeup(self) -> float | None:
        """The earliest ``now`` at which :meth:`handle_timer` has something to do."""
        if not self.is_open:
            return None
        times = [c.deadline for c in self._pending.values() if c.deadline is not None]
        wake = self.keepalive.next_wakeup()
        if wake is not None:
            times.append(wake)
        return min(times) if times else None

    def handle_timer(self, now: float) -> list[CoreEvent]:
        """Advance to ``now``: expire calls whose deadline is reached, run keepalive."""
        if not self.is_open:
            return self._take()
        for key, call in list(self._pending.items()):
            if call.deadline is not None and now >= call.deadline:
                del self._pending[key]
                self._abandoned.add(key)
                self._drop_stream(call.prog, call.serial)
                assert call.timeout is not None
                self._out.append(
                    CallFailed(
                        call.serial,
                        call.prog,
                        call.proc,
                        _timeout_error(call.prog, call.proc, call.serial, call.timeout),
                    )
                )
        action = self.keepalive.handle_timer(now)
        if action is KeepAliveAction.PING:
            log.debug("sending keepalive PING")
            self._queue(action.data or b"")
        elif action is KeepAliveAction.DEAD:
            log.warning("no keepalive response from the server: closing the connection")
            self._close(CloseReason.KEEPALIVE, None)
        return self._take()

    # -- streams ---------------------------------------------------------------------------

    def stream(self, prog: int, serial: int) -> StreamState | None:
        return self._streams.get((prog, serial))

    def _stream_packet(self, frame: Frame) -> None:
        header = frame.header
        stream = self._streams.get((header.prog, header.serial))
        if (
            stream is None
            or stream.proc != header.proc
            or header.vers != PROTOCOL_VERSION
            or stream.closed
        ):
            log.debug(
                "No stream found for packet with prog=%d vers=%d serial=%d proc=%d",
                header.prog,
                header.vers,
                header.serial,
                header.proc,
            )
            return
        status = header.status
        if header.type == MessageType.STREAM_HOLE:
            try:
                length, _flags = decode_stream_hole(frame.payload)
            except ProtocolError:
                stream.error = LibvirtError.internal_error("Malformed stream hole packet")
            else:
                if length > 0:
                    stream.rx.append(length)
            self._out.append(StreamUpdated(stream.serial))
            return
        if status == MessageStatus.CONTINUE:
            if frame.payload:
                stream.rx.append(frame.payload)
            else:
                stream.eof = True  # libvirtd's read EOF: an empty CONTINUE packet
            self._out.append(StreamUpdated(stream.serial))
        elif status == MessageStatus.OK:
            if stream.closing is not None:
                self._stream_closed(stream, None)  # the finish/abort handshake confirm
            else:
                stream.eof = True  # end of stream without a finish of ours
                self._out.append(StreamUpdated(stream.serial))
        elif status == MessageStatus.ERROR:
            error = _error_from_payload(frame.payload)
            if stream.closing is not None:
                self._stream_closed(stream, error)
            else:
                stream.error = error
                stream.eof = True
                self._out.append(StreamUpdated(stream.serial))
        else:
            raise _Unmatched(
                f"Stream with unexpected serial={header.serial}, proc={header.proc}, "
                f"status={int(status)}"
            )

    def _stream_closed(self, stream: StreamState, error: LibvirtError | None) -> None:
        stream.closed = True
        if error is not None:
            stream.error = error
        self._streams.pop((stream.prog, stream.serial), None)
        self._out.append(StreamUpdated(stream.serial))

    def _stream_header(self, stream: StreamState, mtype: int, status: int) -> Header:
        return Header(stream.prog, PROTOCOL_VERSION, stream.proc, mtype, stream.serial, status)

    def _writable(self, stream: StreamState) -> None:
        if stream.error is not None:
            raise stream.error
        if stream.closed or stream.closing is not None or not self.is_open:
            raise (
                closed_error()
                if not self.is_open
                else LibvirtError.make(
                    ErrorCode.OPERATION_INVALID, ErrorDomain.NONE, "stream is closed"
                )
            )

    def stream_send(self, stream: StreamState, data: bytes | bytearray | memoryview) -> int:
        """Queue STREAM CONTINUE packets (chunks of at most :data:`STREAM_CHUNK_MAX`)."""
        self._writable(stream)
        view = memoryview(data).cast("B")
        header = self._stream_header(stream, MessageType.STREAM, MessageStatus.CONTINUE)
        for start in range(0, len(view), STREAM_CHUNK_MAX):
            self._queue(encode_frame(header, view[start : start + STREAM_CHUNK_MAX]))
        return len(view)

    def stream_send_hole(self, stream: StreamState, length: int, flags: int = 0) -> None:
        """Queue one STREAM_HOLE packet (virNetStreamHole {length, flags}), status CONTINUE."""
        self._writable(stream)
        header = self._stream_header(stream, MessageType.STREAM_HOLE, MessageStatus.CONTINUE)
        self._queue(encode_frame(header, encode_stream_hole(length, flags)))

    def stream_close(self, stream: StreamState, abort: bool) -> None:
        """Queue the finish (STREAM OK, empty) or abort (STREAM ERROR, empty) packet; the
        server's confirmation (STREAM OK, or an error) closes the stream."""
        if not self.is_open:
            raise closed_error()
        if stream.closed or stream.closing is not None:
            raise LibvirtError.make(
                ErrorCode.OPERATION_INVALID, ErrorDomain.NONE, "stream is closed"
            )
        if not abort and stream.error is not None:
            raise stream.error
        status = MessageStatus.ERROR if abort else MessageStatus.OK
        stream.closing = status
        self._queue(encode_frame(self._stream_header(stream, MessageType.STREAM, status)))

    @staticmethod
    def stream_read(
        stream: StreamState, nbytes: int, stop_at_hole: bool = False
    ) -> bytes | int | None:
        """Take up to ``nbytes`` of received data.

        Returns bytes (``b""`` at end of stream), ``None`` when nothing is there yet (wait
        for a :class:`StreamUpdated`), or, with ``stop_at_hole``, the ``int`` length of the
        hole at the current position (libvirt's -3 from virStreamRecvFlags). Without
        ``stop_at_hole`` a hole reads as zeros, as in libvirt. Raises the stream's error.
        """
        if stream.error is not None:
            raise stream.error
        if stream.hole == 0 and stream.rx and isinstance(stream.rx[0], int):
            if stop_at_hole:
                return stream.rx[0]
            stream.hole = stream.rx.popleft()  # type: ignore[assignment]
        out = bytearray()
        want = nbytes
        if stream.hole:
            take = min(want, stream.hole)
            out += bytes(take)
            stream.hole -= take
            want -= take
        while want and stream.rx and isinstance(stream.rx[0], bytes):
            chunk = stream.rx[0]
            take = chunk[stream.offset : stream.offset + want]
            out += take
            want -= len(take)
            stream.offset += len(take)
            if stream.offset >= len(chunk):
                stream.rx.popleft()
                stream.offset = 0
        if out:
            return bytes(out)
        if stream.rx:  # a hole at the head and stop_at_hole already handled above
            return None if nbytes else b""
        if stream.eof or stream.closed:
            return b""
        return None

    @staticmethod
    def stream_take_hole(stream: StreamState) -> int | None:
        """virStreamRecvHole: the length of the hole at the current position (0 if data is
        there or at end of stream), None when nothing has arrived yet."""
        if stream.error is not None:
            raise stream.error
        if stream.hole:
            length, stream.hole = stream.hole, 0
            return length
        if stream.rx:
            if isinstance(stream.rx[0], int):
                return stream.rx.popleft()  # type: ignore[return-value]
            return 0
        if stream.eof or stream.closed:
            return 0
        return None


# ------------------------------------------------------------------------------------------
# event registrations: which local callbacks share which server registration
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    event_id: int
    dom: DomainRef | None
    remote_id: int | None = None  # None while the server registration is in flight
    members: list[int] = field(default_factory=list)


class RegistrationBook:
    """Local callback ID → (eventID, domain) group → the one server registration.

    libvirt's remote driver registers on the server only for the first local callback of
    an (eventID, domain) pair and deregisters with the last; every other callback shares
    the server's callbackID. After a reconnect each group registers again (:meth:`groups`).
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[int, bytes | None], _Group] = {}
        self._of: dict[int, tuple[int, bytes | None]] = {}

    @staticmethod
    def group_key(event_id: int, dom: DomainRef | None) -> tuple[int, bytes | None]:
        return (int(event_id), None if dom is None else bytes(dom.uuid))

    def add(self, callback_id: int, event_id: int, dom: DomainRef | None) -> int | None:
        """Record a local callback; return the remote ID to share, or None: register first."""
        key = self.group_key(event_id, dom)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(int(event_id), dom)
        group.members.append(callback_id)
        self._of[callback_id] = key
        if len(group.members) > 1:
            return -1 if group.remote_id is None else group.remote_id
        return None

    def set_remote_id(self, callback_id: int, remote_id: int) -> list[int]:
        """The server answered: returns every local callback of the group (to update)."""
        group = self._groups[self._of[callback_id]]
        group.remote_id = remote_id
        return list(group.members)

    def remove(self, callback_id: int) -> tuple[int, DomainRef | None, int | None, bool] | None:
        """Forget a local callback: (event_id, dom, remote_id, was_last) or None if unknown."""
        key = self._of.pop(callback_id, None)
        if key is None:
            return None
        group = self._groups[key]
        group.members.remove(callback_id)
        last = not group.members
        if last:
            del self._groups[key]
        return group.event_id, group.dom, group.remote_id, last

    def get(self, callback_id: int) -> tuple[int, DomainRef | None] | None:
        key = self._of.get(callback_id)
        if key is None:
            return None
        group = self._groups[key]
        return group.event_id, group.dom

    def groups(self) -> Iterator[tuple[int, DomainRef | None, list[int]]]:
        """(event_id, dom, local callback IDs) of every group, for re-registration."""
        for group in list(self._groups.values()):
            yield group.event_id, group.dom, list(group.members)

    def __contains__(self, callback_id: int) -> bool:
        return callback_id in self._of

    def __len__(self) -> int:
        return len(self._of)


# ------------------------------------------------------------------------------------------
# reconnect back-off, on an injected clock
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Opt-in automatic reconnect: exponential backoff between attempts.

    ``max_attempts=None`` retries until :meth:`Connection.close` is called.
    """

    initial_delay: float = 0.2
    max_delay: float = 10.0
    factor: float = 2.0
    max_attempts: int | None = None


class ReconnectSchedule:
    """When to try the next reconnect: ``lost(now)``, then after each failure ``failed(now)``.

    The first attempt is ``initial_delay`` after the loss; each failure multiplies the
    delay by ``factor`` up to ``max_delay``; after ``max_attempts`` failures
    :meth:`next_attempt` is None (give up).
    """

    def __init__(self, policy: ReconnectPolicy) -> None:
        self.policy = policy
        self.attempts = 0
        self.delay = policy.initial_delay
        self._next: float | None = None

    def lost(self, now: float) -> float:
        self.attempts = 0
        self.delay = self.policy.initial_delay
        self._next = now + self.delay
        return self._next

    def attempt(self) -> int:
        """An attempt starts now; returns its number (from 1)."""
        self.attempts += 1
        return self.attempts

    def failed(self, now: float) -> float | None:
        """The attempt failed at ``now``: the next attempt time, or None to give up."""
        policy = self.policy
        if policy.max_attempts is not None and self.attempts >= policy.max_attempts:
            self._next = None
            return None
        self.delay = min(self.delay * policy.factor, policy.max_delay)
        self._next = now + self.delay
        return self._next

    def next_attempt(self) -> float | None:
        return self._next
