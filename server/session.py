"""One client connection: read loop, bounded send queue, keepalive, request limit.

A :class:`ClientSession` is an :class:`asyncio.Protocol`: the transport hands it bytes,
the sans-IO :class:`~virtwire.protocol.framing.FrameDecoder` turns them into frames, and
each CALL goes through the :class:`~virtwire.server.dispatch.Dispatcher`. Because the
simulated drivers are synchronous, a call normally completes inside ``data_received`` and
its reply is written at once: no task, no queue hop, one ``transport.write`` of the
already-framed bytes. A handler that returns an awaitable runs as a task and counts
against ``max_client_requests`` until its reply has been written (a reply waiting in our
queue because the client is not reading still counts, as on libvirtd's transmit queue);
while a client has that many calls counted we stop reading its socket (libvirt does the
same), keeping decoded-but-not-started calls aside.

Outgoing data (replies, events, keepalive) goes straight to the transport while it
accepts more; when the transport signals back-pressure (the client is not reading) it
waits in our own queue, counted in messages and in bytes. Passing ``max_client_queue`` or
``max_client_queue_bytes`` disconnects the client with a logged reason: memory stays bounded and no event is ever dropped while the
connection lives.

Keepalive is libvirt's (spec §2): every client gets a :class:`KeepAlive`, PINGs are
always answered, and our own PINGs start only when the client asks
CONNECT_SUPPORTS_FEATURE(10). The timer is lazy: it is armed for the next deadline and,
when it fires, asks the state machine what to do, so traffic does not reschedule it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from virtwire.protocol import wirelog
from virtwire.protocol.framing import Frame, FrameDecoder, Header, ProtocolError
from virtwire.protocol.keepalive import KeepAlive, KeepAliveAction, is_keepalive
from virtwire.protocol.receive_buffer import RECEIVE
from virtwire.server.hypervisor.caller import CALLER
from virtwire.server.logthrottle import LogThrottle
from virtwire.server.streams import STREAM_TYPES, SessionStreams

if TYPE_CHECKING:
    from virtwire.server.config import ServerConfig
    from virtwire.server.dispatch import Dispatcher
    from virtwire.server.relay import EventRelay

__all__ = ["ClientSession", "SessionHost"]

log = logging.getLogger("virtwire.server")

#: What an idle session's queues hold: nothing, and no empty deque (~600 bytes each) per
#: connection either; the first frame or message that has to wait creates the real queue.
_EMPTY: tuple = ()


class DriverKinds(Mapping[str, Any]):
    """``{kind: driver}`` for every ``Procedure.driver`` kind one driver serves, read from
    its class's ``kinds`` (a view of two words instead of a dict per connection)."""

    __slots__ = ("_driver",)

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    def __getitem__(self, kind: str) -> Any:
        if kind in type(self._driver).kinds:
            return self._driver
        raise KeyError(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(type(self._driver).kinds))

    def __len__(self) -> int:
        return len(type(self._driver).kinds)


_NO_DRIVERS: Mapping[str, Any] = {}


class SessionHost:
    """What a session needs from the daemon (kept small so tests can build one)."""

    def __init__(
        self,
        config: ServerConfig,
        registry: Any,
        dispatcher: Dispatcher,
        on_closed: Callable[[ClientSession], None] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.dispatcher = dispatcher
        self.on_closed = on_closed
        # repeated warnings per peer (bad frames, failing calls) are rate-limited
        self.log_throttle = LogThrottle(log)


class ClientSession(asyncio.BufferedProtocol):
    """The daemon side of one client connection (libvirt's virNetServerClient + private data).

    Slotted, and its queues and task set exist only once something waits in them: an
    idle connection costs the daemon about what one costs libvirtd. It receives into a
    buffer shared by the thread's sessions (:mod:`virtwire.protocol.receive_buffer`).
    """

    __slots__ = (
        "__weakref__",
        "host",
        "client_id",
        "peer",
        "readonly",
        "socket_readonly",
        "driver",
        "drivers",
        "close_callback_registered",
        "_relay",
        "_loop",
        "_dispatch",
        "_decoder",
        "_keepalive",
        "_ka_handle",
        "_max_requests",
        "_max_queue",
        "_max_queue_bytes",
        "_queued_bytes",
        "_transport",
        "_write_paused",
        "_outq",
        "_unsent_replies",
        "_corked_replies",
        "_deferred",
        "_backlog",
        "_in_flight",
        "_tasks",
        "_reading_paused",
        "_closing",
        "_close_when_flushed",
        "_lost",
        "_cork",
        "closed",
        "streams",
        "current_header",
    )

    def __init__(self, host: SessionHost, client_id: int, *, readonly: bool, peer: str) -> None:
        self.host = host
        self.client_id = client_id
        self.peer = peer
        self.readonly = readonly
        self.socket_readonly = readonly
        self.driver: Any = None  # the hypervisor driver (HypervisorDriver)
        # Procedure.driver kind -> the object serving it
        self.drivers: Mapping[str, Any] = _NO_DRIVERS
        self.close_callback_registered = False
        self._relay: EventRelay | None = None
        self._loop = asyncio.get_running_loop()
        cfg = host.config
        self._dispatch = host.dispatcher.dispatch
        self._decoder = FrameDecoder()
        self._keepalive = KeepAlive(cfg.keepalive_interval, cfg.keepalive_count)
        self._ka_handle: asyncio.TimerHandle | None = None
        self._max_requests = cfg.max_client_requests
        self._max_queue = cfg.max_client_queue
        self._max_queue_bytes = cfg.max_client_queue_bytes
        self._queued_bytes = 0  # framed bytes waiting in _outq
        self._transport: asyncio.Transport | None = None
        self._write_paused = False
        # (framed bytes, is a reply): a reply still here has not been written yet and keeps
        # counting against max_client_requests, as on libvirtd's transmit queue
        self._outq: collections.deque[tuple[bytes, bool]] | tuple = _EMPTY
        self._unsent_replies = 0
        self._corked_replies = 0  # replies gathered by the batch's cork, not yet written
        self._deferred: collections.deque[bytes] | tuple = _EMPTY
        self._backlog: collections.deque[Frame] | tuple = _EMPTY
        self._in_flight = 0
        self._tasks: set[asyncio.Task] | None = None  # calls running as tasks
        self._reading_paused = False
        self._closing = False  # no more calls: CONNECT_CLOSE, shutdown, or an error
        self._close_when_flushed = False
        self._lost = False
        # while the frames of one read run, what they send is gathered here and written
        # with one transport.write (one send syscall) when the batch is done
        self._cork: list[bytes] | None = None
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self.streams = SessionStreams(self)
        self.current_header: Header | None = None  # of the call being dispatched

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        log.debug(
            "client %d connected from %s%s",
            self.client_id,
            self.peer,
            " (read-only socket)" if self.socket_readonly else "",
        )

    def get_buffer(self, sizehint: int) -> memoryview:
        return RECEIVE.view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(RECEIVE.view[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        error: ProtocolError | None = None
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as exc:
            frames, error = exc.frames, exc
        if frames and not self._closing:
            self._keepalive.received(self._loop.time())
            if self._backlog or self._busy() >= self._max_requests:
                self._waiting_frames().extend(frames)
                self._pause_reading()
            elif len(frames) == 1:
                self._run_frames(frames)
            else:
                self._run_batch(frames)
        if error is not None:
            # like libvirtd: the messages before the bad one are answered, then it closes
            self.host.log_throttle.log(
                logging.WARNING,
                self.peer,
                "client %d (%s): closing connection: %s",
                self.client_id,
                self.peer,
                error,
            )
            self._begin_close()

    def eof_received(self) -> bool:
        log.debug("client %d: end of stream", self.client_id)
        if self._decoder.buffered:
            log.debug(
                "client %d: %d bytes of an unfinished message discarded",
                self.client_id,
                self._decoder.buffered,
            )
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        if exc is not None:
            log.debug("client %d: connection lost: %s", self.client_id, exc)
        self._cleanup()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        transport = self._transport
        outq = self._outq
        written_replies = 0
        while outq and not self._write_paused and transport is not None:
            data, is_reply = outq.popleft()
            written_replies += is_reply
            self._queued_bytes -= len(data)
            transport.write(data)
        if written_replies:
            self._unsent_replies -= written_replies
            if not self._closing:
                self._drain_backlog()
        if transport is not None and not outq and self._closing and self._close_when_flushed:
            transport.close()  # _begin_close already sent any deferred replies

    # --- frames in ---------------------------------------------------------------------------

    def _busy(self) -> int:
        """Calls that count against max_client_requests: running, or replied but unwritten."""
        return self._in_flight + self._unsent_replies + self._corked_replies

    def _run_frames(self, frames: list[Frame] | collections.deque[Frame]) -> None:
        """Process frames in order until the request limit is reached; keep the rest."""
        it = iter(frames)
        for frame in it:
            if self._closing:
                return
            self._run_frame(frame)
            if self._busy() >= self._max_requests:
                rest = list(it)
                if rest:
                    self._waiting_frames().extend(rest)
                self._pause_reading()
                return

    def _run_batch(self, frames: list[Frame]) -> None:
        """The frames of one read, their replies written with one ``transport.write``.

        Corked replies count against max_client_requests until that write, so a read
        holding hundreds of pipelined calls runs only as many as the limit allows; the
        rest wait in the backlog until their predecessors' replies are written.
        """
        self._cork = []
        try:
            self._run_frames(frames)
        finally:
            self._uncork()
        if self._busy() < self._max_requests:  # the cork was what held the limit
            self._drain_backlog()

    def _run_frame(self, frame: Frame) -> None:
        if wirelog.enabled():
            wirelog.dump_frame(f"client {self.client_id}", "->", frame)
        header = frame.header
        if is_keepalive(header):
            pong = self._keepalive.on_frame(header)
            if pong is not None:
                self.send(pong)
            return
        if header.type in STREAM_TYPES:
            self.streams.on_frame(frame)
            return
        self.current_header = header
        caller = CALLER.set(self)  # who calls (close callbacks); a task started here keeps it
        try:
            result = self._dispatch(self, frame)
            self.current_header = None
            if result is None:
                return
            if type(result) is bytes:
                self._reply(result)
                self.streams.after_reply()
                if self._close_when_flushed and not self._deferred:
                    self._begin_close()
                return
            task = self._loop.create_task(self._finish(result))
        finally:
            CALLER.reset(caller)
        self._in_flight += 1
        tasks = self._tasks
        if tasks is None:
            tasks = self._tasks = set()
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _finish(self, pending: Awaitable[bytes]) -> None:
        try:
            reply = await pending
        except asyncio.CancelledError:
            raise
        except Exception:  # the dispatcher already turns errors into replies
            log.exception("client %d: call failed", self.client_id)
            reply = None
        self._in_flight -= 1
        if reply is not None and not self._lost:
            self._reply(reply)
            if self._close_when_flushed and not self._deferred:
                self._begin_close()
                return
        self._drain_backlog()

    def _waiting_frames(self) -> collections.deque[Frame]:
        """The backlog, created by the first frame that has to wait."""
        backlog = self._backlog
        if not backlog:
            backlog = self._backlog = collections.deque()
        return backlog  # type: ignore[return-value]

    def _drain_backlog(self) -> None:
        """Run waiting frames while the limit allows: as many as it allows at a time, their
        replies corked into one write (as the frames of one read are), then the next lot
        once that write has brought the count down."""
        backlog = self._backlog
        while self._may_run(backlog):
            self._cork = []  # never set here: batches uncork before they drain
            try:
                while self._may_run(backlog):
                    self._run_frame(backlog.popleft())
            finally:
                self._uncork()
        if not self._backlog and self._busy() < self._max_requests:
            self._resume_reading()

    def _may_run(self, backlog: collections.deque[Frame] | tuple) -> bool:
        return bool(backlog) and self._busy() < self._max_requests and not self._closing

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None and not self._lost:
            self._reading_paused = True
            self._transport.pause_reading()
            if self._busy() >= self._max_requests:
                log.debug(
                    "client %d: %d calls in flight or unwritten (max_client_requests); not reading",
                    self.client_id,
                    self._busy(),
                )

    def _resume_reading(self) -> None:
        if self._reading_paused and self._transport is not None and not self._closing:
            self._reading_paused = False
            self._transport.resume_reading()

    # --- frames out --------------------------------------------------------------------------

    def send(self, data: bytes, *, reply: bool = False) -> None:
        """Queue one framed message for the client (replies, events, keepalive)."""
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            return
        if wirelog.enabled():
            wirelog.dump_bytes(f"client {self.client_id}", "<-", data)
        cork = self._cork
        if cork is not None and not self._write_paused and not self._outq:
            cork.append(data)
            self._corked_replies += reply
            return
        if self._write_paused or self._outq:
            outq = self._outq
            if not outq:
                outq = self._outq = collections.deque()
            outq.append((data, reply))
            self._unsent_replies += reply
            self._queued_bytes += len(data)
            if len(outq) > self._max_queue or self._queued_bytes > self._max_queue_bytes:
                self._overflow()
        else:
            transport.write(data)

    def _uncork(self) -> None:
        """Write what the batch gathered, in order, in one go."""
        cork, self._cork = self._cork, None
        self._corked_replies = 0
        if not cork:
            return
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            return
        transport.write(cork[0] if len(cork) == 1 else b"".join(cork))

    def _overflow(self) -> None:
        """The outgoing queue passed its bound: say why, and drop the connection."""
        log.warning(
            "client %d: disconnecting: %d messages (%d bytes) waiting to be written, over "
            "max_client_queue=%d or max_client_queue_bytes=%d (the client reads its socket "
            "slower than it makes us write, or not at all)",
            self.client_id,
            len(self._outq),
            self._queued_bytes,
            self._max_queue,
            self._max_queue_bytes,
        )
        self.abort()

    def send_event(self, data: bytes) -> None:
        if not self.host.dispatcher.faults.hold_event(self, data):  # stalled events (inject)
            self.send(data)

    def _reply(self, data: bytes) -> None:
        """Send a reply, after the events its call queued when there are any.

        The driver's event state flushes on the next loop turn (``call_soon``); a reply
        that follows it through ``call_soon`` goes out after those events. libvirtd
        usually sends a call's events before its reply too, and clients that deregister
        right after a call then still get the events the call caused.
        """
        driver = self.driver
        if self._deferred or (driver is not None and driver.events.pending):
            deferred = self._deferred
            if not deferred:
                self._loop.call_soon(self._send_deferred)
                deferred = self._deferred = collections.deque()
            deferred.append(data)
        else:
            self.send(data, reply=True)

    def _send_deferred(self) -> None:
        deferred = self._deferred
        while deferred:
            self.send(deferred.popleft(), reply=True)
        if self._close_when_flushed:
            self._begin_close()

    """Events share the FIFO with replies, as on libvirtd's transmit queue."""

    @property
    def queued(self) -> int:
        """Messages waiting because the client is not reading fast enough."""
        return len(self._outq)

    @property
    def is_gone(self) -> bool:
        """The connection is closing or closed: nothing more will be written."""
        return self._lost or self._closing

    # --- what handlers call --------------------------------------------------------------

    def open_driver(self, uri: str) -> None:
        """CONNECT_OPEN: attach this client to the simulated host named by ``uri``."""
        name = uri.split("?", 1)[0]
        self.driver = self.host.registry.open(name)
        self.drivers = DriverKinds(self.driver)
        log.debug(
            "client %d: opened %s%s", self.client_id, name, " read-only" if self.readonly else ""
        )

    def close_driver(self) -> None:
        """Release the hypervisor connection: event registrations first, then the driver."""
        relay, self._relay = self._relay, None
        if relay is not None:
            try:
                relay.close()
            except Exception:
                log.exception("client %d: removing event registrations failed", self.client_id)
        driver, self.driver = self.driver, None
        self.drivers = _NO_DRIVERS
        if driver is not None:
            try:
                driver.connection_closed(self)
            except Exception:
                log.exception("client %d: the driver's close callback failed", self.client_id)
            try:
                self.host.registry.close(driver)
            except Exception:
                log.exception("client %d: closing the driver connection failed", self.client_id)

    def event_relay(self) -> EventRelay:
        """This client's registrations on its driver's event state (created on first use)."""
        relay = self._relay
        if relay is None:
            # imported with the first registration: the typed events and their wire tables
            # (~40 ms of imports) are not needed before a client asks for events
            from virtwire.server.relay import EventRelay

            relay = self._relay = EventRelay(
                self, self, self.driver.events, self.host.config.max_client_event_callbacks
            )
        return relay

    def close_after_reply(self) -> None:
        """CONNECT_CLOSE: reply, then close once everything queued has been written."""
        self._close_when_flushed = True

    def start_keepalive(self) -> None:
        """SUPPORTS_FEATURE(10): start pinging a silent client (config interval/count)."""
        if self._keepalive.start(self._loop.time()):
            self._arm_keepalive()

    # --- keepalive timer ---------------------------------------------------------------------

    def _arm_keepalive(self) -> None:
        if self._ka_handle is not None:
            self._ka_handle.cancel()
            self._ka_handle = None
        when = self._keepalive.next_wakeup()
        if when is None or self._lost:
            return
        self._ka_handle = self._loop.call_at(when, self._on_keepalive_timer)

    def _on_keepalive_timer(self) -> None:
        self._ka_handle = None
        if self._lost:
            return
        action = self._keepalive.handle_timer(self._loop.time())
        if action is KeepAliveAction.DEAD:
            log.warning(
                "client %d (%s): connection closed due to keepalive timeout",
                self.client_id,
                self.peer,
            )
            self.abort()
            return
        if action is KeepAliveAction.PING and action.data is not None:
            log.debug("client %d: keepalive ping", self.client_id)
            self.send(action.data)
        when = self._keepalive.next_wakeup()
        if when is not None:
            # never spin: a deadline in the past still waits one loop tick
            self._ka_handle = self._loop.call_at(
                max(when, self._loop.time() + 0.001), self._on_keepalive_timer
            )

    # --- closing -----------------------------------------------------------------------------

    def _begin_close(self) -> None:
        """Stop taking calls; close the socket after what is queued has been written."""
        self._closing = True
        self._close_when_flushed = True
        self._backlog = _EMPTY
        self._uncork()  # replies gathered before the close go out first
        deferred = self._deferred
        while deferred:
            self.send(deferred.popleft(), reply=True)
        transport = self._transport
        if transport is None or self._lost:
            return
        if not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()
        if not self._outq:
            transport.close()  # flushes the transport's own buffer first

    def abort(self) -> None:
        """Drop the connection now (protocol error, overflow, keepalive death)."""
        self._closing = True
        self._backlog = _EMPTY
        if self._outq:  # the same deque: a resume_writing loop over it stops too
            self._outq.clear()
        self._cork = None
        self.streams.close()
        self._queued_bytes = 0
        self._unsent_replies = 0
        if self._transport is not None and not self._lost:
            self._transport.abort()

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Daemon stop: finish calls in flight, flush replies, close; abort after ``timeout``."""
        self._closing = True
        self._backlog = _EMPTY
        if self._transport is not None and not self._lost and not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        self._begin_close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            log.warning("client %d: not flushed within %.1f s; dropping", self.client_id, timeout)
            self.abort()

    def _cleanup(self) -> None:
        """Connection gone: keepalive off, calls cancelled, registrations and driver released."""
        if self._ka_handle is not None:
            self._ka_handle.cancel()
            self._ka_handle = None
        self._keepalive.stop()
        for task in list(self._tasks or ()):
            task.cancel()
        self._backlog = _EMPTY
        if self._outq:  # the same deque: a resume_writing loop over it stops too
            self._outq.clear()
        self._queued_bytes = 0
        self._unsent_replies = 0
        self.streams.close()  # open streams are aborted (libvirtd's daemonRemoveClientStream)
        self.close_driver()
        log.debug("client %d: closed", self.client_id)
        if not self.closed.done():
            self.closed.set_result(None)
        if self.host.on_closed is not None:
            self.host.on_closed(self)
