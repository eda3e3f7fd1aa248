"""The daemon's side of virStream (libvirt's remote_daemon_stream.c), per connection.

A stream belongs to the call that opened it (same program, procedure and serial). After
that call's REPLY, data moves in STREAM messages (status CONTINUE, raw bytes) and holes in
STREAM_HOLE messages (``remote_stream_hole``), only when the call asked for a sparse stream:

* **upload** (client → daemon): each STREAM/CONTINUE is written to the sink, each
  STREAM_HOLE skips (punches) its length; the client's STREAM/OK (``virStreamFinish``)
  and STREAM/ERROR (``virStreamAbort``) are both confirmed with an empty STREAM/OK; a
  failed write or finish is a REPLY/ERROR (``virNetServerProgramSendReplyError``).
* **download** (daemon → client): the source is read in chunks of at most
  ``LEGACY_PAYLOAD_MAX`` bytes, holes as STREAM_HOLE (``virFileInData``), then an empty
  STREAM/CONTINUE marks the end; the client's own STREAM/OK is confirmed with an empty STREAM/OK.

* **console** (both ways, DOMAIN_OPEN_CONSOLE): the client's STREAM/CONTINUE data is typed
  into the guest's terminal, what the guest writes back goes out as STREAM/CONTINUE; finish
  and abort are confirmed as for an upload. A console taken over by another client (FORCE)
  or whose guest stops fails with a STREAM/ERROR, as libvirtd's ``daemonStreamEvent`` does.

A failure while reading a download is a STREAM/ERROR carrying the error, as
``virNetServerProgramSendStreamError`` sends it. Writing is paced by the connection's
output queue, so a slow reader never makes the daemon buffer a whole volume.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from virtwire.protocol.constants import LEGACY_PAYLOAD_MAX
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.framing import (
    Frame,
    Header,
    MessageStatus,
    MessageType,
    decode_stream_hole,
    encode_frame,
    encode_stream_hole,
)

if TYPE_CHECKING:
    from virtwire.server.session import ClientSession

log = logging.getLogger("virtwire.server")

STREAM_TYPES = (MessageType.STREAM, MessageType.STREAM_HOLE)
QUEUE_HIGH = 32  # queued messages above which a download waits for the client
PACE_SECONDS = 0.002

# virFDStreamWrite past the requested length, as virReportSystemError(ENOSPC) words it
NO_SPACE = "cannot write to stream: No space left on device"

StreamKey = tuple[int, int, int]  # (program, procedure, serial)


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...
    def hole(self, length: int) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None: ...


class Duplex(Sink, Protocol):
    """A sink that also writes back (a console): ``attach`` gives it the way out."""

    def attach(self, send: Any, fail: Any) -> None: ...
    def start(self) -> None: ...


class Source(Protocol):
    def __iter__(self) -> Any: ...
    def close(self) -> None: ...


def _stream_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.STREAMS, detail)


@dataclass
class ServerStream:
    header: Header
    sparse: bool
    sink: Sink | None = None
    source: Source | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    def frame(self, mtype: MessageType, status: MessageStatus, payload: bytes = b"") -> bytes:
        h = self.header
        return encode_frame(Header(h.prog, h.vers, h.proc, mtype, h.serial, status), payload)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        for end in (self.sink, self.source):
            if end is not None:
                end.close()


class SessionStreams:
    """The open streams of one connection."""

    __slots__ = ("session", "streams", "_to_start", "_to_greet")

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.streams: dict[StreamKey, ServerStream] = {}
        self._to_start: list[ServerStream] = []
        self._to_greet: list[Duplex] = []

    @staticmethod
    def _key(header: Header) -> StreamKey:
        return header.prog, header.proc, header.serial

    def open_upload(self, header: Header, sink: Sink, *, sparse: bool) -> None:
        self.streams[self._key(header)] = ServerStream(header, sparse, sink=sink)

    def open_download(self, header: Header, source: Source, *, sparse: bool) -> None:
        stream = ServerStream(header, sparse, source=source)
        self.streams[self._key(header)] = stream
        self._to_start.append(stream)

    def open_console(self, header: Header, console: Duplex) -> None:
        stream = ServerStream(header, False, sink=console)
        key = self._key(header)
        self.streams[key] = stream

        def send(data: bytes) -> None:
            if self.streams.get(key) is stream and not self.session.is_gone:
                # b"" is the end of the data (the guest's pty closed): an empty CONTINUE
                for start in range(0, max(len(data), 1), LEGACY_PAYLOAD_MAX):
                    chunk = data[start : start + LEGACY_PAYLOAD_MAX]
                    self.session.send(
                        stream.frame(MessageType.STREAM, MessageStatus.CONTINUE, chunk)
                    )

        def fail(text: str) -> None:
            if self.streams.get(key) is stream:
                self._fail(stream, _stream_error(ErrorCode.RPC, text))

        console.attach(send, fail)
        self._to_greet.append(console)

    def after_reply(self) -> None:
        """The opening call's REPLY is queued: downloads may start sending."""
        if not (self._to_greet or self._to_start):
            return  # every call but a stream's opening one (no get_running_loop: a getpid)
        loop = asyncio.get_running_loop()
        while self._to_greet:
            loop.call_soon(self._to_greet.pop().start)
        while self._to_start:
            stream = self._to_start.pop()
            # call_soon: after a reply the session deferred behind events
            loop.call_soon(self._start, stream)

    def _start(self, stream: ServerStream) -> None:
        if self.streams.get(self._key(stream.header)) is stream:
            stream.task = asyncio.get_running_loop().create_task(self._pump(stream))

    async def _pump(self, stream: ServerStream) -> None:
        assert stream.source is not None
        session = self.session
        try:
            for kind, value in _items(stream.source):
                while session.queued > QUEUE_HIGH and not session.is_gone:
                    await asyncio.sleep(PACE_SECONDS)
                if session.is_gone:
                    return
                if kind == "hole":
                    payload = encode_stream_hole(int(value))  # type: ignore[arg-type]
                    session.send(
                        stream.frame(MessageType.STREAM_HOLE, MessageStatus.CONTINUE, payload)
                    )
                else:
                    session.send(
                        stream.frame(MessageType.STREAM, MessageStatus.CONTINUE, value)  # type: ignore[arg-type]
                    )
                await asyncio.sleep(0)
            # end of data: an empty STREAM/CONTINUE (virNetServerProgramSendStreamData with
            # data "" and length 0); STREAM/OK is only the finish handshake's confirmation
            session.send(stream.frame(MessageType.STREAM, MessageStatus.CONTINUE))
        except OSError as exc:
            self._fail(stream, _stream_error(ErrorCode.SYSTEM_ERROR, f"unable to read: {exc}"))
        except Exception:  # a bug must cost one stream, never the daemon
            log.exception("client %s: stream failed", session.client_id)
            self._fail(stream, _stream_error(ErrorCode.INTERNAL_ERROR, "stream failed"))
        finally:
            stream.source.close()

    def _fail(self, stream: ServerStream, err: LibvirtError) -> None:
        """virNetServerProgramSendStreamError; the stream is gone afterwards."""
        self.streams.pop(self._key(stream.header), None)
        stream.close()
        payload = err.to_remote_error().pack()
        self.session.send(stream.frame(MessageType.STREAM, MessageStatus.ERROR, payload))

    def _fail_reply(self, stream: ServerStream, err: LibvirtError) -> None:
        """A failed write or finish (daemonStreamHandleWrite/Finish): a REPLY/ERROR."""
        self.streams.pop(self._key(stream.header), None)
        stream.close()
        h = stream.header
        reply = Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial, MessageStatus.ERROR)
        self.session.send(encode_frame(reply, err.to_remote_error().pack()))

    def on_frame(self, frame: Frame) -> None:
        """A STREAM or STREAM_HOLE message from the client."""
        header = frame.header
        stream = self.streams.get(self._key(header))
        if stream is None:
            log.debug("client %s: no stream for serial %d", self.session.client_id, header.serial)
            return
        if header.status == MessageStatus.ERROR:
            # daemonStreamHandleAbort: the abort is confirmed like a finish
            self.streams.pop(self._key(header), None)
            stream.close()
            self.session.send(stream.frame(MessageType.STREAM, MessageStatus.OK))
            return
        if header.status == MessageStatus.OK:
            self.streams.pop(self._key(header), None)
            try:
                if stream.sink is not None:
                    stream.sink.finish()
            except OSError as exc:
                self._fail_reply(
                    stream, _stream_error(ErrorCode.SYSTEM_ERROR, f"unable to sync: {exc}")
                )
                return
            stream.close()
            self.session.send(stream.frame(MessageType.STREAM, MessageStatus.OK))
            return
        if stream.sink is None:
            self._fail_reply(stream, _stream_error(ErrorCode.RPC, "stream is not open for writing"))
            return
        try:
            if header.type == MessageType.STREAM_HOLE:
                if not stream.sparse:
                    self._fail_reply(
                        stream,
                        _stream_error(ErrorCode.RPC, "Unexpected stream hole"),
                    )
                    return
                length, _flags = decode_stream_hole(frame.payload)
                stream.sink.hole(length)
            else:
                stream.sink.write(frame.payload)
        except OverflowError:  # a hole past the requested length
            self._fail_reply(stream, _stream_error(ErrorCode.SYSTEM_ERROR, NO_SPACE))
        except OSError as exc:
            text = NO_SPACE if exc.errno == errno.ENOSPC else f"unable to write: {exc.strerror}"
            self._fail_reply(stream, _stream_error(ErrorCode.SYSTEM_ERROR, text))
        except ValueError as exc:  # a malformed STREAM_HOLE payload
            self._fail_reply(stream, _stream_error(ErrorCode.RPC, str(exc)))

    def close(self) -> None:
        """The connection ended: every stream is aborted (the partial upload stays)."""
        for stream in self.streams.values():
            stream.close()
        self.streams.clear()
        self._to_start.clear()
        self._to_greet.clear()


def _items(source: Source) -> Iterable[tuple[str, Any]]:
    return iter(source)


__all__ = ["STREAM_TYPES", "SessionStreams"]
