"""virStream for the asyncio client: data over STREAM and STREAM_HOLE frames.

A :class:`Stream` comes from :meth:`Connection.new_stream`; handing it to
:meth:`Connection.call` (``stream=``) makes that call the one whose reply opens the stream
(STORAGE_VOL_UPLOAD / DOWNLOAD, DOMAIN_SCREENSHOT, DOMAIN_OPEN_CONSOLE, ...). Its packets
carry the prog, proc and serial of that call. The state (received data, holes, end of
stream, errors, the finish/abort handshake) lives in the sans-IO core
(:class:`~virtwire.client.core.StreamState`); this class only waits for it.

As in libvirt's client (src/rpc/virnetclientstream.c): data goes out as STREAM packets with
status CONTINUE in chunks of at most 262120 bytes, fire and forget; ``finish()`` sends an
empty STREAM packet with status OK and ``abort()`` one with status ERROR, and both wait for
the server's confirmation (an empty STREAM OK, or an error); a STREAM ERROR from the server
carries a ``remote_error`` that every later operation raises.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from virtwire.client.core import STREAM_CHUNK_MAX, ClientCore, StreamState, closed_error
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

if TYPE_CHECKING:
    from virtwire.client.connection import Connection

__all__ = ["STREAM_CHUNK_MAX", "Stream"]


def _invalid(text: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.OPERATION_INVALID, ErrorDomain.NONE, text)


class Stream:
    """One stream of a :class:`~virtwire.client.connection.Connection` (virStreamPtr)."""

    def __init__(self, conn: Connection, flags: int = 0) -> None:
        self.conn = conn
        self.flags = flags
        self._state: StreamState | None = None
        self._link: Any = None
        self._changed = asyncio.Event()

    # -- wiring (called by the connection) -------------------------------------------------

    def _check_unused(self) -> None:
        if self._state is not None:
            raise _invalid("stream is already in use")

    def _attach(self, link: Any, state: StreamState) -> None:
        self._link = link
        self._state = state

    def _wake(self) -> None:
        self._changed.set()

    # -- introspection ---------------------------------------------------------------------

    @property
    def serial(self) -> int | None:
        """The serial of the call that opened the stream (None before that call)."""
        return None if self._state is None else self._state.serial

    @property
    def proc(self) -> int | None:
        return None if self._state is None else self._state.proc

    @property
    def closed(self) -> bool:
        return self._state is not None and self._state.closed

    # -- helpers ---------------------------------------------------------------------------

    def _opened(self) -> StreamState:
        if self._state is None:
            raise _invalid("stream is not open: pass it to Connection.call(..., stream=...)")
        return self._state

    async def _push(self) -> None:
        """Write what the core queued, and wait while the transport's buffer is full."""
        link = self._link
        self.conn._flush(link)
        try:
            await link.writer.drain()
        except (ConnectionError, OSError, RuntimeError) as exc:
            raise closed_error() from exc

    async def _wait(self) -> None:
        link = self._link
        if link is not None and not link.alive and not self._opened().closed:
            raise closed_error()
        await self._changed.wait()

    # -- the API ---------------------------------------------------------------------------

    async def send(self, data: bytes | bytearray | memoryview) -> int:
        """virStreamSend: queue ``data`` (STREAM CONTINUE packets); returns its length."""
        n = self.conn.core.stream_send(self._opened(), data)
        await self._push()
        return n

    async def send_hole(self, length: int, flags: int = 0) -> None:
        """virStreamSendHole: one STREAM_HOLE packet of ``length`` bytes."""
        if length < 0:
            raise LibvirtError.invalid_arg("length must be non-negative", ErrorDomain.NONE)
        self.conn.core.stream_send_hole(self._opened(), length, flags)
        await self._push()

    async def recv(self, nbytes: int = STREAM_CHUNK_MAX, *, stop_at_hole: bool = False) -> Any:
        """virStreamRecv(Flags): up to ``nbytes`` of data; ``b""`` at the end of the stream.

        Waits until something is there. A hole reads as zeros unless ``stop_at_hole``
        (VIR_STREAM_RECV_STOP_AT_HOLE): then data stops before it and, when the stream is
        positioned at a hole, ``None`` is returned (libvirt's -3): call :meth:`recv_hole`.
        """
        state = self._opened()
        while True:
            self._changed.clear()
            got = ClientCore.stream_read(state, nbytes, stop_at_hole)
            if isinstance(got, int):
                return None
            if got is not None:
                return got
            await self._wait()

    async def recv_hole(self, flags: int = 0) -> int:
        """virStreamRecvHole: the length of the hole at the current position (0: none)."""
        state = self._opened()
        while True:
            self._changed.clear()
            got = ClientCore.stream_take_hole(state)
            if got is not None:
                return got
            await self._wait()

    async def finish(self) -> None:
        """virStreamFinish: empty STREAM OK, then wait for the server's confirmation."""
        await self._close(abort=False)

    async def abort(self) -> None:
        """virStreamAbort: empty STREAM ERROR, then wait for the server's confirmation."""
        state = self._opened()
        if state.closed:
            return  # nothing left to abort (finished, failed, or the connection is gone)
        await self._close(abort=True)

    async def _close(self, abort: bool) -> None:
        state = self._opened()
        self.conn.core.stream_close(state, abort)
        await self._push()
        while not state.closed:
            self._changed.clear()
            if state.closed:
                break
            await self._wait()
        if state.error is not None:
            raise state.error

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        """Leaving with an exception aborts a stream that is still open."""
        if exc_type is not None and self._state is not None and not self._state.closed:
            try:
                await self.abort()
            except LibvirtError:
                pass
