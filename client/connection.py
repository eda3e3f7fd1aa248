"""The asyncio client connection: drives the sans-IO :class:`~virtwire.client.core.ClientCore`.

The state transitions of a client connection (serials, reply matching, keepalive, call
deadlines, event routing, stream state, registration bookkeeping) live in
:mod:`virtwire.client.core`, which takes bytes and ``now`` and returns frames and events.
This module only does the I/O around it: it dials (``transports``), runs libvirt's prologue
(AUTH_LIST, SUPPORTS_FEATURE 10, CONNECT_OPEN, 14, 15, as libvirt's client sends them), feeds
every read to the core with ``loop.time()``, writes ``data_to_send()``, arms one timer at
``next_wakeup()``, resolves the future of each completed call, and hands events to the
connection's :class:`EventState`, which dispatches them on a later loop turn. Close
callbacks and the opt-in reconnect (back-off from :class:`ReconnectSchedule`) are here too.

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
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from virtwire.client import transports
from virtwire.client.baton import Baton
from virtwire.client.core import (
    CallCompleted,
    CallFailed,
    ClientCore,
    CloseReason,
    ConnectionClosed,
    CoreEvent,
    DomainEventReceived,
    ReconnectPolicy,
    ReconnectSchedule,
    ServerClosed,
    StreamUpdated,
    closed_error,
)
from virtwire.client.stream import Stream
from virtwire.client.uri import ConnectURI, resolve_uri
from virtwire.protocol import procedures
from virtwire.protocol.constants import (
    LXC_PROGRAM,
    PROTOCOL_VERSION,
    QEMU_PROGRAM,
    REMOTE_PROGRAM,
    Feature,
)
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_state import EventState
from virtwire.protocol.event_types import DomainEventID, DomainRef
from virtwire.protocol.framing import Frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.receive_buffer import RECEIVE_SIZE as _READ_SIZE
from virtwire.protocol.records import NodeInfo
from virtwire.xdr.runtime import TrailingBytes

if TYPE_CHECKING:  # the event classes load with the first event, not with the client
    from virtwire.protocol.event_classes import DomainEvent

__all__ = [
    "CloseReason",
    "Connection",
    "ConnectionGap",
    "EventOverflow",
    "EventStream",
    "ReconnectPolicy",
    "Stream",
    "connect",
]

log = logging.getLogger("virtwire.client")

P = rp.RemoteProcedure
_DEFAULT: Any = object()  # "use the connection's call_timeout"
_CLOSE_TIMEOUT = 5.0
_PROGRAM_PREFIXES = {
    "REMOTE_PROC_": REMOTE_PROGRAM,
    "QEMU_PROC_": QEMU_PROGRAM,
    "LXC_PROC_": LXC_PROGRAM,
}
_PREFIX_OF_PROGRAM = {prog: prefix for prefix, prog in _PROGRAM_PREFIXES.items()}


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
        self.waiters: dict[int, asyncio.Future[bytes]] = {}  # serial -> future of the payload
        self.streams: dict[int, Stream] = {}  # serial of the opening call -> stream
        self.reader_task: asyncio.Task[None] | None = None
        self.alive = True
        self.direct = False  # received bytes go straight to the connection (_read_directly)
        self.hangup_on_eof = _hangup_on_eof(writer)
        # a plain socket's fd: other threads may then write their CALLs themselves
        self.fd: int | None = _plain_fd(writer)
        self.rest_pending = False  # the rest of a partly written CALL waits for the loop
        # threads read their own replies (the sync facade; see virtwire.client.baton)
        self.baton: Baton | None = None


def _read_directly(link: _Link, sink: Callable[[bytes], None]) -> None:
    """Have an asyncio StreamReader hand received bytes to ``sink`` at once.

    asyncio's stream protocol calls ``reader.feed_data`` from the transport's
    ``data_received``; the bytes would wait in the reader's buffer for the reader task's
    next step (one more loop iteration per reply). With the instance's ``feed_data``
    replaced, the read loop only ever sees the end of the stream or an error. Readers of
    other types (the ssh/ext pipes) keep the task-based path.
    """
    reader = link.reader
    if type(reader) is not asyncio.StreamReader:
        return
    buffered = bytes(reader._buffer)  # nothing is expected before our first call
    reader._buffer.clear()
    reader.feed_data = sink  # type: ignore[method-assign]
    link.direct = True
    if buffered:
        sink(buffered)


def _plain_fd(writer: Any) -> int | None:
    """The fd of a plain (not TLS, not pipe) asyncio socket transport, else None."""
    transport = getattr(writer, "transport", None)
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    if type(transport).__name__ != "_SelectorSocketTransport":
        return None
    sock = transport.get_extra_info("socket")
    return None if sock is None else sock.fileno()


def _end_of_file(link: _Link) -> tuple[CloseReason, str | None]:
    """A clean end of file: EOF where libvirt's poll() sees a hangup, else ERROR; the
    waiters get "End of file while reading data" either way (detail None)."""
    return (CloseReason.EOF if link.hangup_on_eof else CloseReason.ERROR), None


def _read_error(exc: OSError) -> tuple[CloseReason, str | None]:
    """A failed read: a reset makes poll() report POLLHUP on every socket type, so
    libvirt says EOF; anything else is an ERROR."""
    reason = CloseReason.EOF if isinstance(exc, ConnectionResetError) else CloseReason.ERROR
    return reason, exc.strerror or str(exc)


def _read_baton(link: _Link, baton: Baton) -> bytes | tuple[CloseReason, str | None] | None:
    """One read by the baton's owner: the bytes, None when there were none after all,
    or why the link ended (a failed read, the end of the stream)."""
    try:
        data = baton.recv()
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        return _read_error(exc)
    return data if data else _end_of_file(link)


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
        thread_reads: bool = False,
    ) -> None:
        self._uri = uri
        # calls from other threads read their own replies (virtwire.client.baton)
        self._thread_reads = thread_reads
        self.readonly = readonly
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout
        if reconnect is True:
            reconnect = ReconnectPolicy()
        self._reconnect: ReconnectPolicy | None = reconnect or None
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.event_state = EventState(self._loop.call_soon)
        self._core = ClientCore()
        # held while serials are handed out and while anything is written to the socket:
        # the loop thread and threads writing their own CALLs (_send_from_thread)
        self._wlock = threading.RLock()
        self._link: _Link | None = None
        self._state = "new"
        self._ready = asyncio.Event()
        self._closed_by_client = False
        self._features: dict[int, bool] = {}
        self._server_uri: str | None = None
        self._register_locks: dict[tuple[int, bytes | None], asyncio.Lock] = {}
        self._object_events: dict[int, tuple[str, int]] = {}  # local ID -> (kind, remote ID)
        self._close_callbacks: list[Callable[[CloseReason], object]] = []
        self._close_callback_registered = False
        self._gap_callbacks: list[Callable[[ConnectionGap], object]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._batch: list[tuple[int, int]] = []  # (prog, serial) of CALLs not yet written
        self._reconnect_task: asyncio.Task[None] | None = None
        self._reconnect_schedule: ReconnectSchedule | None = None
        self._streams: set[EventStream] = set()

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

    @property
    def core(self) -> ClientCore:
        """The sans-IO core this connection drives (for tools and tests)."""
        return self._core

    @property
    def _remote_events(self) -> Any:
        return self._core.remote_events

    def supports(self, feature: int) -> bool:
        """What the server answered to CONNECT_SUPPORTS_FEATURE during the prologue."""
        return self._features.get(int(feature), False)

    async def _open(self) -> None:
        await self._establish()
        self._state = "open"
        self._ready.set()

    async def _establish(self) -> None:
        """Dial, then run libvirt's prologue on the fresh link."""
        reader, writer = await transports.open_transport(
            self._uri, self.readonly, timeout=self.connect_timeout
        )
        link = _Link(reader, writer)
        self._link = link
        self._core.connection_made(self._loop.time())
        _read_directly(link, lambda data: self._on_data(link, data))
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
        if self._thread_reads and link.fd is not None and link.alive:
            self._start_baton(link)

    # ---------------------------------------------------------------------------------------
    # the baton: threads read their own replies (see virtwire.client.baton)
    # ---------------------------------------------------------------------------------------

    def _start_baton(self, link: _Link) -> None:
        """On the loop: from now on the socket is read through the baton, by the thread
        waiting for a reply or, while none does, by the loop."""
        assert link.fd is not None
        link.writer.transport.pause_reading()  # what it had received went to _on_data
        baton = link.baton = Baton(link.fd)
        self._loop.add_reader(baton.watch_fd(), self._baton_ready, link, baton)

    def _baton_ready(self, link: _Link, baton: Baton) -> None:
        """On the loop: the socket is readable and no thread reads it."""
        if not baton.loop_enter():
            return
        try:
            data = _read_baton(link, baton)
            if isinstance(data, bytes):
                self._on_data(link, data)
            elif data is not None:
                self._on_link_lost(link, *data)
        finally:
            finish = baton.hand_off()
            if finish is not None:
                self._finish_baton(baton)

    def _finish_baton(self, baton: Baton) -> None:
        """On the loop: the link is gone and nobody reads: drop the watch, close the fds."""
        with contextlib.suppress(Exception):
            self._loop.remove_reader(baton.watch_fd())
        baton.finalize()

    def _read_as_owner(self, waiter: ThreadWaiter, baton: Baton, timeout: float) -> bool:
        """On the calling thread, holding the baton: read until ``waiter`` has its reply
        (or ``timeout`` s pass), resolving every thread's reply on the way; then hand the
        baton on. True when the reply is there."""
        link = waiter.link
        assert link is not None
        deadline = time.monotonic() + timeout
        try:
            while not waiter.done() and link.alive:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not baton.readable(remaining):
                    continue
                data = _read_baton(link, baton)
                if data is None:
                    continue
                if not isinstance(data, bytes):
                    if link.alive:  # not our own wake-up (SHUT_RD) of a link already gone
                        self._lost_from_thread(link, *data)
                    break
                if not self._absorb_on_thread(link, data):
                    break
        finally:
            if baton.hand_off() is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: exit
                    self._loop.call_soon_threadsafe(self._finish_baton, baton)
        return waiter.done()

    def _absorb_on_thread(self, link: _Link, data: bytes) -> bool:
        """The baton's owner read ``data``: resolve the thread waiters it completes here;
        hand the rest (events, the loop's own calls, PONGs to write) to the loop. False
        when the link has a stream: its bytes go to the loop, which reads from now on."""
        loop_events: list[CoreEvent] = []
        with self._wlock:
            if not link.alive:
                return False
            if link.streams:  # stream state lives on the loop: it takes these bytes too
                self._loop.call_soon_threadsafe(self._on_data, link, data)
                return False
            waiters = link.waiters
            for event in self._core.receive_data(data, time.monotonic()):
                if type(event) is CallCompleted or type(event) is CallFailed:
                    waiter = waiters.get(event.serial)
                    if type(waiter) is ThreadWaiter:
                        del waiters[event.serial]
                        if type(event) is CallCompleted:
                            waiter.set_result(event.payload)
                        else:
                            waiter.set_exception(event.error)
                        continue
                loop_events.append(event)
            if loop_events or self._core.has_data_to_send():
                self._loop.call_soon_threadsafe(self._process, link, loop_events)
        return link.alive

    def _lost_from_thread(self, link: _Link, reason: CloseReason, detail: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: exit
            self._loop.call_soon_threadsafe(self._on_link_lost, link, reason, detail)

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
            self._disarm()
        if link is not None:
            await _wait_closed(link)
            await self._reap(link.reader_task)
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
    # the driver: bytes to the core, its output to futures, the EventState and the socket
    # ---------------------------------------------------------------------------------------

    async def _read_loop(self, link: _Link) -> None:
        reason, detail = _end_of_file(link)
        try:
            while True:
                data = await link.reader.read(_READ_SIZE)
                if not data:
                    break
                self._receive(link, data)
                if not link.alive:
                    return  # the core closed the connection (bad frame, unexpected reply)
        except OSError as exc:
            reason, detail = _read_error(exc)
        except asyncio.CancelledError:
            return
        except Exception as exc:  # a bug must not leave waiters hanging
            log.exception("reader failed")
            reason, detail = CloseReason.ERROR, repr(exc)
        self._on_link_lost(link, reason, detail)

    def _on_data(self, link: _Link, data: bytes) -> None:
        """Bytes straight from the transport's ``data_received`` (see :func:`_read_directly`):
        replies resolve their waiters in the same loop turn, without a reader task step."""
        if not link.alive or not data:
            return
        try:
            self._receive(link, data)
        except Exception as exc:  # a bug must not leave waiters hanging
            log.exception("reader failed")
            self._on_link_lost(link, CloseReason.ERROR, repr(exc))

    def _receive(self, link: _Link, data: bytes) -> None:
        with self._wlock:  # a thread holding the baton may have read just before
            events = self._core.receive_data(data, self._loop.time())
        self._process(link, events)

    def add_frame_listener(self, listener: Callable[[Frame], object]) -> None:
        """Call ``listener(frame)`` for every frame received, before it is routed.

        For tools that show the wire (``virtwire demo``, debugging); it runs on the reader
        path, so it must be quick and must not call back into the connection.
        """
        self._core.frame_listeners.append(listener)

    def _process(self, link: _Link, events: list[CoreEvent]) -> None:
        """Act on the core's output: write, resolve futures, queue events, re-arm the timer."""
        with contextlib.suppress(LibvirtError):
            self._flush(link)
        for event in events:
            if isinstance(event, CallCompleted):
                future = link.waiters.pop(event.serial, None)
                if future is not None and not future.done():
                    future.set_result(event.payload)
            elif isinstance(event, CallFailed):
                future = link.waiters.pop(event.serial, None)
                if future is not None and not future.done():
                    future.set_exception(event.error)
            elif isinstance(event, DomainEventReceived):
                self.event_state.queue(event.event, remote_id=event.remote_id)
            elif isinstance(event, StreamUpdated):
                stream = link.streams.get(event.serial)
                if stream is not None:
                    stream._wake()
            elif isinstance(event, ServerClosed):
                for callback in list(self._close_callbacks):
                    self._loop.call_soon(_safe_call, callback, event.reason)
            elif isinstance(event, ConnectionClosed):
                self._on_link_lost(link, event.reason, event.detail)
        if link is self._link:
            self._arm()

    def _flush(self, link: _Link) -> None:
        """Write what the core has queued (raises "client socket is closed" when gone)."""
        with self._wlock:
            data = self._core.data_to_send()
            if not data:
                return
            if not link.alive:
                raise closed_error()
            try:
                link.writer.write(data)
            except (ConnectionError, RuntimeError, OSError) as exc:
                raise closed_error() from exc

    def _flush_batch(self, link: _Link) -> None:
        """Write the CALLs gathered this loop turn; if that fails, so do those calls."""
        batch, self._batch = self._batch, []
        try:
            self._flush(link)
        except LibvirtError as exc:
            for prog, serial in batch:
                self._core.abandon_call(prog, serial)
                future = link.waiters.pop(serial, None)
                if future is not None and not future.done():
                    future.set_exception(exc)

    def _arm(self) -> None:
        """One timer, at the core's next wake-up (keepalive or the nearest call deadline)."""
        with self._wlock:  # threads add and resolve calls while we look
            wake = self._core.next_wakeup()
        if wake == self._timer_at and (wake is None or self._timer is not None):
            return
        self._disarm()
        if wake is not None:
            self._timer_at = wake
            self._timer = self._loop.call_at(wake, self._on_timer, wake)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self, when: float) -> None:
        self._timer = None
        self._timer_at = None
        link = self._link
        if link is None or not link.alive:
            return
        # asyncio may run a timer up to its clock resolution early: never tell the core
        # a time before the one it asked to be woken at
        now = max(self._loop.time(), when)
        with self._wlock:
            events = self._core.handle_timer(now)
        self._process(link, events)

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
            for stream in list(self._streams):
                stream._finish(None)

    def _drop_link(
        self, link: _Link, reason: CloseReason, detail: str | None, *, notify: bool
    ) -> None:
        """Fail every waiter, close the socket, tell the close callbacks (later turn)."""
        if not link.alive:
            return
        # under the lock: a thread writing its own CALL sees the link dead, or its waiter is
        # here; a thread holding the baton has finished with the core
        with self._wlock:
            link.alive = False
            if link is self._link:
                self._disarm()
                for event in self._core.connection_lost(reason, detail):
                    if isinstance(event, CallFailed):
                        future = link.waiters.pop(event.serial, None)
                        if future is not None and not future.done():
                            future.set_exception(event.error)  # one per waiter
            for future in link.waiters.values():
                if not future.done():
                    future.set_exception(closed_error())
            link.waiters.clear()
        if link.baton is not None and link.baton.close():
            self._finish_baton(link.baton)
        for stream in link.streams.values():
            stream._wake()
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
        proc: int | str | procedures.Procedure,
        args: Any = None,
        *,
        prog: int = REMOTE_PROGRAM,
        timeout: Any = _DEFAULT,
        stream: Stream | None = None,
    ) -> Any:
        """Call any procedure; return the decoded ret struct (None for a void ret).

        ``proc`` is a procedure number of ``prog`` (the REMOTE program by default), a name
        with or without its program prefix (``"DOMAIN_GET_XML_DESC"``,
        ``"REMOTE_PROC_DOMAIN_GET_XML_DESC"``, ``"QEMU_PROC_DOMAIN_MONITOR_COMMAND"``) or a
        :class:`~virtwire.protocol.procedures.Procedure`. ``args`` is the generated args
        struct, a ``dict`` of its fields, or None for void args. ``stream`` (from
        :meth:`new_stream`) makes this the call that opens that stream.

        ``timeout`` defaults to the connection's ``call_timeout``; ``None`` waits forever.
        Raises :class:`LibvirtError` with the server's 11 fields on an error reply, NO_SUPPORT
        for a procedure this client cannot encode, and libvirt's RPC errors when the
        connection fails or (with a timeout) no reply comes.
        """
        if timeout is _DEFAULT:
            timeout = self.call_timeout
        procedure = _resolve(proc, prog)
        if stream is None and threading.get_ident() != self._loop_thread:
            # driven by the sync facade on its own thread (see ThreadWaiter)
            return await self._call_from_thread(procedure, args, timeout)
        link = self._link
        if self._state != "open" or link is None or not link.alive:
            link = await self._usable_link(timeout)  # reconnecting: wait; closed: its error
        # _call_on, inlined: one coroutine frame per call instead of three
        reply = await self._call_raw(
            link,
            procedure.number,
            _encode_args(procedure, args),
            prog=procedure.program,
            timeout=timeout,
            stream=stream,
        )
        return _decode_ret(procedure, reply)

    async def _call_from_thread(
        self, procedure: procedures.Procedure, args: Any, timeout: float | None
    ) -> Any:
        """A call from a thread other than the loop's: encode and decode here, and hand only
        the CALL to the loop (one ``call_soon_threadsafe``, no task, no concurrent future);
        the loop's reader resolves the :class:`ThreadWaiter` this thread blocks on."""
        payload = _encode_args(procedure, args)
        waiter = ThreadWaiter(self, procedure.program)
        if timeout is not None or not self._send_from_thread(procedure, payload, waiter):
            try:
                self._loop.call_soon_threadsafe(
                    self._start_threaded, procedure, payload, timeout, waiter
                )
            except RuntimeError:  # the loop is closed (interpreter exit)
                raise closed_error() from None
        reply = await waiter
        return _decode_ret(procedure, reply)

    def _send_from_thread(
        self, procedure: procedures.Procedure, payload: bytes, waiter: ThreadWaiter
    ) -> bool:
        """Write a CALL from the calling thread, as python3-libvirt does: the loop wakes
        only for the reply. False when the loop must send it (not a plain socket, not
        open, or the transport still holds unwritten bytes that must go first)."""
        link = self._link
        fd = None if link is None else link.fd
        if fd is None or self._state != "open":
            return False
        assert link is not None
        with self._wlock:
            if not link.alive or link.rest_pending or link.writer.transport.get_write_buffer_size():
                return False
            try:
                serial, frame = self._core.start_call_frame(
                    procedure.program, procedure.number, payload
                )
            except LibvirtError as exc:
                waiter.set_exception(exc)
                return True
            waiter.serial = serial
            link.waiters[serial] = waiter  # type: ignore[assignment]
            if link.baton is not None:
                waiter.link = link
                # before the CALL goes out: else the loop could wake for the reply
                waiter.holding = not link.streams and link.baton.take(waiter)
            try:
                written = os.write(fd, frame)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as exc:  # the loop fails this call with the connection
                self._loop.call_soon_threadsafe(
                    self._on_link_lost, link, CloseReason.ERROR, exc.strerror or str(exc)
                )
                return True
            if written < len(frame):
                link.rest_pending = True
                self._loop.call_soon_threadsafe(self._write_rest, link, frame[written:])
        return True

    def _write_rest(self, link: _Link, rest: bytes) -> None:
        """On the loop: the part of a CALL another thread could not write at once."""
        with self._wlock:
            link.rest_pending = False
            if link.alive:
                try:
                    link.writer.write(rest)
                except (ConnectionError, RuntimeError, OSError) as exc:
                    self._on_link_lost(link, CloseReason.ERROR, str(exc))

    def _start_threaded(
        self,
        procedure: procedures.Procedure,
        payload: bytes,
        timeout: float | None,
        waiter: ThreadWaiter,
    ) -> None:
        """On the loop: what :meth:`_call_raw` does before it waits, with a thread waiter."""
        link = self._link
        if self._state != "open" or link is None or not link.alive:
            # reconnecting (wait for it) or closed (its error): the ordinary path decides
            task = self._loop.create_task(self._call_threaded_slow(procedure, payload, timeout))
            task.add_done_callback(waiter.resolve_from)
            return
        core = self._core
        try:
            with self._wlock:
                serial = core.start_call(
                    procedure.program,
                    procedure.number,
                    payload,
                    now=self._loop.time(),
                    timeout=timeout,
                )
        except LibvirtError as exc:
            waiter.set_exception(exc)
            return
        waiter.serial = serial
        link.waiters[serial] = waiter  # type: ignore[assignment]
        try:
            self._flush(link)
        except LibvirtError as exc:
            core.abandon_call(procedure.program, serial)
            link.waiters.pop(serial, None)
            waiter.set_exception(exc)
            return
        if timeout is not None:
            self._arm()

    async def _call_threaded_slow(
        self, procedure: procedures.Procedure, payload: bytes, timeout: float | None
    ) -> bytes:
        link = await self._usable_link(timeout)
        return await self._call_raw(
            link, procedure.number, payload, prog=procedure.program, timeout=timeout
        )

    def _abandon_threaded(self, waiter: ThreadWaiter) -> None:
        """On the loop: the blocked thread gave up (KeyboardInterrupt): drop its call."""
        link = self._link
        if waiter.serial is None or link is None:
            return
        with self._wlock:
            self._core.abandon_call(waiter.prog, waiter.serial)
            link.waiters.pop(waiter.serial, None)
        if link.alive:
            self._arm()

    def new_stream(self, flags: int = 0) -> Stream:
        """virStreamNew: a stream to hand to :meth:`call` (``stream=``) of a stream procedure."""
        return Stream(self, flags)

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
            raise closed_error()
        return link

    async def _call_on(
        self,
        link: _Link,
        proc: int | str | procedures.Procedure,
        args: Any,
        *,
        prog: int = REMOTE_PROGRAM,
        timeout: float | None = None,
        stream: Stream | None = None,
    ) -> Any:
        procedure = _resolve(proc, prog)
        payload = _encode_args(procedure, args)
        reply = await self._call_raw(
            link,
            procedure.number,
            payload,
            prog=procedure.program,
            timeout=timeout,
            stream=stream,
        )
        return _decode_ret(procedure, reply)

    async def _call_raw(
        self,
        link: _Link,
        proc: int,
        payload: bytes,
        *,
        prog: int = REMOTE_PROGRAM,
        timeout: float | None = None,
        stream: Stream | None = None,
    ) -> bytes:
        """Send one CALL on ``link`` and wait for its REPLY (the raw ret payload)."""
        if not link.alive:
            raise closed_error()
        core = self._core
        if stream is not None:
            stream._check_unused()
        with self._wlock:
            serial = core.start_call(
                prog,
                proc,
                payload,
                now=self._loop.time(),
                timeout=timeout,
                stream=stream is not None,
            )
        future: asyncio.Future[bytes] = self._loop.create_future()
        link.waiters[serial] = future
        if stream is not None:
            state = core.stream(prog, serial)
            assert state is not None
            stream._attach(link, state)
            link.streams[serial] = stream
        if stream is None and (self._batch or len(link.waiters) > 1):
            # other calls are in flight: write once this loop turn is over, together with
            # the CALLs the other tasks start in it (one send for a burst, not one each)
            self._batch.append((prog, serial))
            if len(self._batch) == 1:
                self._loop.call_soon(self._flush_batch, link)
        else:
            try:
                self._flush(link)
            except LibvirtError:
                core.abandon_call(prog, serial)
                link.waiters.pop(serial, None)
                raise
        if timeout is not None:
            self._arm()
        try:
            return await future
        except asyncio.CancelledError:
            with self._wlock:
                core.abandon_call(prog, serial)
                link.waiters.pop(serial, None)
            if link.alive:
                self._arm()
            raise

    # ---------------------------------------------------------------------------------------
    # keepalive
    # ---------------------------------------------------------------------------------------

    async def set_keepalive(self, interval: float, count: int) -> int:
        """virConnectSetKeepAlive: ping after ``interval`` s of silence, give up after
        ``count`` unanswered pings. Returns 1 when the server cannot do keepalive (nothing
        changes), 0 otherwise; ``interval <= 0`` stops our pings (PINGs are still answered).
        """
        if self._state not in ("open", "reconnecting"):
            raise closed_error()
        if count < 0:
            raise LibvirtError.invalid_arg("count must be non-negative", ErrorDomain.RPC)
        if not self.supports(Feature.PROGRAM_KEEPALIVE):
            return 1
        self._core.start_keepalive(self._loop.time(), interval, count)
        if self._link is not None and self._link.alive:
            self._arm()
        return 0

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

    async def _reconnect_loop(self, reason: CloseReason) -> None:
        assert self._reconnect is not None
        schedule = self._reconnect_schedule = ReconnectSchedule(self._reconnect)
        lost_at = time.time()
        next_at: float | None = schedule.lost(self._loop.time())
        while not self._closed_by_client and next_at is not None:
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))
            attempts = schedule.attempt()
            try:
                await self._establish()
                await self._restore_registrations()
            except (LibvirtError, OSError) as exc:
                log.info("reconnect attempt %d failed: %s", attempts, exc)
                if self._link is not None:
                    self._drop_link(self._link, CloseReason.ERROR, None, notify=False)
                next_at = schedule.failed(self._loop.time())
                continue
            if self._closed_by_client:  # close() was called while we were dialling
                if self._link is not None:
                    self._drop_link(self._link, CloseReason.CLIENT, None, notify=False)
                return
            self._state = "open"
            self._ready.set()
            self._core.resume_keepalive(self._loop.time())
            self._arm()
            gap = ConnectionGap(reason, lost_at, time.time(), attempts)
            log.info("reconnected after %d attempt(s)", attempts)
            for stream in list(self._streams):
                stream._offer(gap)
            for callback in list(self._gap_callbacks):
                self._loop.call_soon(_safe_call, callback, gap)
            return
        if not self._closed_by_client:
            log.warning("giving up reconnecting after %d attempts", schedule.attempts)
            self._state = "closed"
            self._ready.set()
            for stream in list(self._streams):
                stream._finish(None)

    async def _restore_registrations(self) -> None:
        """Re-register on the server every (eventID, domain) that has local callbacks."""
        link = self._link
        assert link is not None
        book = self._core.registrations
        for event_id, dom, members in book.groups():
            remote_id = await self._server_register(link, event_id, dom)
            book.set_remote_id(members[0], remote_id)
            for callback_id in members:
                self.event_state.set_remote_id(callback_id, remote_id)

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
        book = self._core.registrations
        group = book.group_key(event_id, dom)
        lock = self._register_locks.setdefault(group, asyncio.Lock())
        async with lock:
            link = await self._usable_link(self.call_timeout)
            callback_id = self.event_state.register(
                int(event_id), callback, key=group[1], remote_id=-1
            )
            shared = book.add(callback_id, int(event_id), dom)
            if shared is not None:
                self.event_state.set_remote_id(callback_id, shared)
                return callback_id
            try:
                remote_id = await self._server_register(link, int(event_id), dom)
            except BaseException:
                book.remove(callback_id)
                with contextlib.suppress(LibvirtError):
                    self.event_state.deregister(callback_id)
                raise
            for member in book.set_remote_id(callback_id, remote_id):
                self.event_state.set_remote_id(member, remote_id)
            return callback_id

    async def deregister_event(self, callback_id: int) -> None:
        """Remove a local callback; the last one of its (eventID, domain) leaves the server."""
        record = self.event_state.find(callback_id)
        book = self._core.registrations
        reg = book.get(callback_id)
        if record is None or reg is None:
            # the remote driver's wording (the daemon's EventState words it differently)
            raise LibvirtError.invalid_arg(
                f"event callback id {callback_id} not registered", ErrorDomain.NONE
            )
        event_id, dom = reg
        lock = self._register_locks.setdefault(book.group_key(event_id, dom), asyncio.Lock())
        async with lock:
            self.event_state.deregister(callback_id)
            removed = book.remove(callback_id)
            if removed is None or not removed[3]:
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
            elif event_id == DomainEventID.LIFECYCLE and dom is None:
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
                    rp.RemoteConnectDomainEventDeregisterAnyArgs(eventID=event_id),
                    timeout=self.call_timeout,
                )

    # --- events of the other object kinds (network, storage pool, node device, secret) ---

    async def register_object_event(
        self,
        kind: str,
        event_id: int,
        callback: Callable[[Any, int], object],
        obj: Any = None,
    ) -> int:
        """Register ``callback(event, callback_id)`` for ``kind`` events ``event_id``.

        ``kind`` is ``"network"``, ``"storage_pool"``, ``"node_device"`` or ``"secret"``;
        ``obj`` the wire handle to filter on (``remote_nonnull_network`` ...) or None. Each
        local callback has its own server registration (CONNECT_<KIND>_EVENT_REGISTER_ANY;
        the server filters by object). Returns the local callback ID. Not restored by a
        reconnect (domain events are).
        """
        register, _deregister, field = _OBJECT_EVENT_REGISTER[kind]
        return await self._register_remote_event(
            kind, int(event_id), callback, register, {"eventID": int(event_id), field: obj}
        )

    async def register_qemu_monitor_event(
        self,
        callback: Callable[[Any, int], object],
        dom: Any = None,
        event: str | None = None,
        flags: int = 0,
    ) -> int:
        """QMP events of ``dom`` (a ``remote_nonnull_domain``, or None for every domain)
        named ``event`` (None: all; with VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX
        in ``flags`` a regular expression), as ``virConnectDomainQemuMonitorEventRegister``."""
        register = _OBJECT_EVENT_REGISTER["qemu_monitor"][0]
        return await self._register_remote_event(
            "qemu_monitor", 0, callback, register, {"dom": dom, "event": event, "flags": flags}
        )

    async def _register_remote_event(
        self, kind: str, event_id: int, callback: Callable[[Any, int], object], proc: str,
        args: dict[str, Any],
    ) -> int:  # fmt: skip
        link = await self._usable_link(self.call_timeout)
        callback_id = self.event_state.register(
            event_id, callback, key=None, remote_id=-1, kind=kind
        )
        try:
            ret = await self._call_on(link, proc, args, timeout=self.call_timeout)
        except BaseException:
            with contextlib.suppress(LibvirtError):
                self.event_state.deregister(callback_id)
            raise
        self.event_state.set_remote_id(callback_id, int(ret.callbackID))
        self._object_events[callback_id] = (kind, int(ret.callbackID))
        return callback_id

    async def deregister_object_event(self, callback_id: int) -> None:
        """Undo :meth:`register_object_event` / :meth:`register_qemu_monitor_event`
        (INVALID_ARG for an unknown ID, as libvirt's remote driver says)."""
        found = self._object_events.pop(callback_id, None)
        if found is None:
            raise LibvirtError.invalid_arg(
                f"event callback id {callback_id} not registered", ErrorDomain.NONE
            )
        kind, remote_id = found
        self.event_state.deregister(callback_id)
        link = await self._usable_link(self.call_timeout)
        await self._call_on(
            link,
            _OBJECT_EVENT_REGISTER[kind][1],
            {"callbackID": remote_id},
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


_closed_error = closed_error  # the name client/libvirt.py imports


def _no_support(name: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.NO_SUPPORT, ErrorDomain.REMOTE, name)


# kind -> (registration procedure, deregistration procedure, its object field), from the .x
_OBJECT_EVENT_REGISTER: dict[str, tuple[str, str, str]] = {
    kind: (f"CONNECT_{stem}_EVENT_REGISTER_ANY", f"CONNECT_{stem}_EVENT_DEREGISTER_ANY", field)
    for kind, stem, field in (
        ("network", "NETWORK", "net"),
        ("storage_pool", "STORAGE_POOL", "pool"),
        ("node_device", "NODE_DEVICE", "dev"),
        ("secret", "SECRET", "secret"),
    )
}
_OBJECT_EVENT_REGISTER["qemu_monitor"] = (
    "QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER",
    "QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER",
    "dom",
)


def _resolve(
    proc: int | str | procedures.Procedure, prog: int = REMOTE_PROGRAM
) -> procedures.Procedure:
    """The registry entry for a number (of ``prog``), a name or a Procedure; else NO_SUPPORT."""
    if isinstance(proc, procedures.Procedure):
        return proc
    if isinstance(proc, str):
        name = proc.strip().upper()
        program = next((p for x, p in _PROGRAM_PREFIXES.items() if name.startswith(x)), None)
        if program is None:
            program = prog
            name = _PREFIX_OF_PROGRAM.get(prog, "REMOTE_PROC_") + name
        found = procedures.by_name(name)
        if found is None or found.program != program:
            raise _no_support(name)
        return found
    found = procedures.lookup(prog, PROTOCOL_VERSION, int(proc))
    if found is None:
        raise _no_support(procedures.name_of(prog, PROTOCOL_VERSION, int(proc)))
    return found


def _args_class(codec: Any) -> Any:
    """The generated struct class of an args codec (``pack_remote_x_args`` → ``RemoteXArgs``)."""
    pack = codec.pack
    name = getattr(pack, "__name__", "")
    module = sys.modules.get(getattr(pack, "__module__", ""))
    if module is not None and name.startswith("pack_"):
        cls_name = "".join(part.capitalize() for part in name.removeprefix("pack_").split("_"))
        cls = getattr(module, cls_name, None)
        if isinstance(cls, type):
            return cls
    return None


def _encode_args(procedure: procedures.Procedure, args: Any) -> bytes:
    """Pack ``args`` (struct, dict of its fields, or None) for ``procedure``."""
    if procedure.args is None:
        if args is not None:
            raise LibvirtError.invalid_arg(f"{procedure.name} takes no arguments", ErrorDomain.NONE)
        return b""
    if args is None:
        raise LibvirtError.invalid_arg(f"{procedure.name} needs arguments", ErrorDomain.NONE)
    if isinstance(args, dict):
        cls = _args_class(procedure.args)
        if cls is None:
            raise TypeError(f"cannot build the arguments of {procedure.name} from a dict")
        try:
            args = cls(**args)
        except TypeError as exc:
            raise LibvirtError.invalid_arg(
                f"bad arguments for {procedure.name}: {exc}", ErrorDomain.NONE
            ) from None
    try:
        return procedure.args.pack(args)
    except Exception as exc:
        raise LibvirtError.make(
            ErrorCode.RPC, ErrorDomain.RPC, f"Unable to encode message payload: {exc}"
        ) from exc


def _decode_ret(procedure: procedures.Procedure, reply: bytes) -> Any:
    """The ret struct of ``procedure`` from its REPLY payload (None for a void ret)."""
    if procedure.ret is None:
        return None
    try:
        return procedure.ret.unpack(reply)
    except TrailingBytes as extra:  # libvirt's client ignores bytes after the value too
        return extra.value
    except Exception as exc:
        if procedure.program == REMOTE_PROGRAM and procedure.number in (
            P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER,
            P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER,
        ):
            return None  # libvirt's client decodes these replies as void
        raise LibvirtError.make(
            ErrorCode.RPC, ErrorDomain.RPC, f"Unable to decode message payload: {exc}"
        ) from exc


class ThreadWaiter:
    """What a thread blocked in the sync facade waits on: the reply payload of one call.

    It has the part of an asyncio future's interface the connection uses on its waiters
    (``done``, ``set_result``, ``set_exception``), callable from any thread, and a blocking
    :meth:`wait` for the calling thread. ``await waiter`` yields the waiter itself to the
    driver of the coroutine (``virtwire.client.libvirt``), which blocks in :meth:`wait`
    and resumes the coroutine; awaited on an event loop it would be an error.

    On a link with a :class:`~virtwire.client.baton.Baton` (its CALL written by this thread,
    no deadline), :meth:`wait` reads the socket itself when it can take the baton, and
    otherwise sleeps until its reply is in or the baton is handed to it (:meth:`promote`).
    """

    __slots__ = (
        "_conn", "_done", "_error", "_lock", "_promoted", "_released", "_result",
        "holding", "link", "prog", "serial",
    )  # fmt: skip

    def __init__(self, conn: Connection, prog: int) -> None:
        self._conn = conn
        self.prog = prog
        self.serial: int | None = None
        self.link: _Link | None = None  # set when this thread wrote the CALL on a baton link
        self._done = False
        self._result: bytes = b""
        self._error: BaseException | None = None
        self._promoted = False
        self._released = False  # the lock is released and nobody has taken it yet
        self.holding = False  # this waiter holds its link's baton
        self._lock = threading.Lock()
        self._lock.acquire()

    def done(self) -> bool:
        return self._done

    @property
    def baton(self) -> Baton | None:
        return None if self.link is None else self.link.baton

    def _wake(self) -> None:
        """Under _SIGNAL: release the lock the thread sleeps on, once per sleep."""
        if not self._released:
            self._released = True
            self._lock.release()

    def set_result(self, payload: bytes) -> None:
        with _SIGNAL:
            if not self._done:
                self._result = payload
                self._done = True
                self._wake()

    def set_exception(self, error: BaseException) -> None:
        with _SIGNAL:
            if not self._done:
                self._error = error
                self._done = True
                self._wake()

    def promote(self) -> bool:
        """The baton is handed to this waiter (see Baton.hand_off): wake it to read."""
        with _SIGNAL:
            if self._done:
                return False
            self._promoted = True
            self._wake()
            return True

    def resolve_from(self, task: asyncio.Task[bytes]) -> None:
        if task.cancelled():
            self.set_exception(closed_error())
        elif task.exception() is not None:
            self.set_exception(task.exception())  # type: ignore[arg-type]
        else:
            self.set_result(task.result())

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` s for the reply; True once it is there."""
        baton = self.baton
        if not self.holding:
            if self._done:
                return True
            link = self.link
            # with a stream on the link the loop reads (it owns their state)
            if baton is not None and link is not None and link.alive and not link.streams:
                self.holding = baton.take(self)
        if not self.holding:
            if not self._lock.acquire(timeout=timeout):
                return self._done
            with _SIGNAL:
                self._released = False
                self.holding, self._promoted = self._promoted, False
            if not self.holding:
                return self._done
        assert baton is not None
        self.holding = False
        return self._conn._read_as_owner(self, baton, timeout)

    def abandon(self) -> None:
        """The waiting thread gives up: tell the loop to drop the call (and pass the baton
        on, should it have been handed to this thread meanwhile)."""
        baton = self.baton
        if baton is not None:
            baton.forget(self)
            with _SIGNAL:
                holding = self.holding or self._promoted
                self.holding = self._promoted = False
                self._done = True  # never promoted again
            if holding:
                self._conn._read_as_owner(self, baton, 0.0)  # only hands the baton on
        with contextlib.suppress(RuntimeError):
            self._conn._loop.call_soon_threadsafe(self._conn._abandon_threaded, self)

    def __await__(self) -> Any:
        if not self._done:
            yield self
        if self._error is not None:
            raise self._error
        return self._result


# Guards every ThreadWaiter's wake-up: a reply, an error and the baton may all come at once.
_SIGNAL = threading.Lock()


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
    thread_reads: bool = False,
) -> Connection:
    """Open a connection: ``async with await virtwire.client.connect(uri) as conn``.

    ``uri`` defaults to ``$LIBVIRT_DEFAULT_URI``, else the system daemon's socket (the
    daemon then picks the driver, as with libvirt). ``keepalive=(interval, count)`` starts
    client pings at once; ``reconnect=True`` (or a :class:`ReconnectPolicy`) re-opens and
    re-registers every event callback after a loss and then reports a :class:`ConnectionGap`.
    ``thread_reads=True`` is for connections that threads other than the loop's call (the
    sync facade): each such call then reads its own reply (:mod:`virtwire.client.baton`).
    """
    conn = Connection(
        resolve_uri(uri),
        readonly=readonly,
        call_timeout=call_timeout,
        connect_timeout=connect_timeout,
        reconnect=reconnect,
        thread_reads=thread_reads,
    )
    await conn._open()
    if keepalive is not None:
        await conn.set_keepalive(*keepalive)
    return conn


from virtwire.client.domain import Domain, _chars_to_str  # noqa: E402  (Domain methods call back into us)
