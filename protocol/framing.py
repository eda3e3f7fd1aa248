"""libvirt's message framing, sans-IO: bytes in -> frames out, frames -> bytes.

A message is a 4-byte big-endian length that counts the whole message (itself included),
a 24-byte header (six words: prog, vers, proc, type, serial, status) and a payload. This
is libvirt's own framing, not ONC RPC record marking.

The decoder checks in libvirt's order so that a hostile peer cannot make us allocate: the
length word is judged as soon as its 4 bytes are in (before any of the body is buffered),
then the header (and for ``*_WITH_FDS`` types the fd-count word), and the payload is
handed out as raw ``bytes`` for the layer that knows its type. At most one partial message
(never more than ``max_message + 4`` bytes) is ever buffered.

The header is packed/unpacked by hand with one precompiled ``struct.Struct`` because this
is the hot path; a test checks it against the codec generated from ``defs/virnetprotocol.x``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from virtwire.protocol.constants import (
    FRAME_MIN,
    HEADER_SIZE,
    LENGTH_SIZE,
    MESSAGE_MAX,
    NUM_FDS_MAX,
    PROTOCOL_VERSION,
)

__all__ = [
    "Frame",
    "FrameDecoder",
    "Header",
    "LocalProtocolError",
    "MessageStatus",
    "MessageType",
    "ProtocolError",
    "RemoteProtocolError",
    "decode_stream_hole",
    "encode_call",
    "encode_frame",
    "encode_stream_hole",
]


class MessageType(IntEnum):
    """virNetMessageType: what the payload of a message is."""

    CALL = 0
    REPLY = 1
    MESSAGE = 2
    STREAM = 3
    CALL_WITH_FDS = 4
    REPLY_WITH_FDS = 5
    STREAM_HOLE = 6


class MessageStatus(IntEnum):
    """virNetMessageStatus."""

    OK = 0
    ERROR = 1
    CONTINUE = 2


class ProtocolError(Exception):
    """A framing violation; the connection cannot continue.

    ``remote`` is True when the peer sent bad bytes (:class:`RemoteProtocolError`) and
    False when we were asked to produce something the protocol cannot carry
    (:class:`LocalProtocolError`). ``frames`` holds the complete, valid frames that the
    failing :meth:`FrameDecoder.feed` call decoded before the bad one, so that a caller
    can still act on them exactly as libvirt does (it processes messages one by one).
    """

    remote: bool = False

    def __init__(self, message: str, frames: list[Frame] | None = None) -> None:
        super().__init__(message)
        self.frames: list[Frame] = frames if frames is not None else []


class LocalProtocolError(ProtocolError):
    """We tried to encode something libvirt's framing cannot carry."""

    remote = False


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that are not a valid libvirt message stream."""

    remote = True


@dataclass(frozen=True, slots=True)
class Header:
    """virNetMessageHeader.

    ``type`` and ``status`` are :class:`MessageType` / :class:`MessageStatus` members when
    the value is one libvirt defines, otherwise the plain ``int`` from the wire: like
    libvirt, framing does not reject unknown values; the dispatcher decides (and
    :func:`encode_frame` can reproduce such a header byte for byte).
    """

    prog: int
    vers: int
    proc: int
    type: MessageType | int
    serial: int
    status: MessageStatus | int


@dataclass(frozen=True, slots=True)
class Frame:
    """One message: its header, its payload bytes and, for ``*_WITH_FDS``, the fd count.

    ``payload`` excludes the length word, the header and the fd-count word. For STREAM
    data it is the raw, unpadded data.
    """

    header: Header
    payload: bytes
    nfds: int = 0


# length word + header, in one go (prog, vers unsigned; proc, type, status signed).
_PREFIX = struct.Struct(">IIIiiIi")
_PREFIX_FDS = struct.Struct(">IIIiiIiI")
_WORD = struct.Struct(">I")
_HOLE = struct.Struct(">qI")
_unpack_prefix = _PREFIX.unpack_from
_unpack_word = _WORD.unpack_from
_pack_prefix = _PREFIX.pack
_pack_prefix_fds = _PREFIX_FDS.pack

_TYPES = {int(t): t for t in MessageType}
_CALL = int(MessageType.CALL)
_OK = int(MessageStatus.OK)
_STATUSES = {int(s): s for s in MessageStatus}
_WITH_FDS = (MessageType.CALL_WITH_FDS, MessageType.REPLY_WITH_FDS)

assert _PREFIX.size == FRAME_MIN == LENGTH_SIZE + HEADER_SIZE


# Mutable twins with the same slot layout as the frozen classes: the decoder fills one with
# plain stores and then switches its __class__, which builds a normal Header/Frame about
# five times faster than the frozen __init__ (one object.__setattr__ per field).
class _HeaderBuilder:
    __slots__ = Header.__slots__


class _FrameBuilder:
    __slots__ = Frame.__slots__


_probe = _HeaderBuilder()
_probe.__class__ = Header  # fails at import time if the layouts ever diverge
_probe = _FrameBuilder()
_probe.__class__ = Frame
del _probe


class FrameDecoder:
    """Incremental decoder: :meth:`feed` any chunks, get complete frames back.

    Partial input is kept between calls. A violation raises :class:`RemoteProtocolError`
    (with the frames decoded before it in ``.frames``); after that the decoder is dead and
    every later :meth:`feed` raises again, because a byte stream cannot be resynchronised.
    """

    __slots__ = ("max_message", "_max_length", "_buf", "_failed")

    def __init__(self, max_message: int = MESSAGE_MAX) -> None:
        self.max_message = max_message
        self._max_length = max_message + LENGTH_SIZE
        self._buf = bytearray()
        self._failed: str | None = None

    @property
    def buffered(self) -> int:
        """Bytes held of an incomplete message (non-zero at EOF means a truncated stream)."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Consume ``data``; return every message it completes, in order."""
        if self._failed is not None:
            raise RemoteProtocolError(f"decoder already failed: {self._failed}")
        frames: list[Frame] = []
        try:
            src = data if type(data) is bytes else memoryview(data).cast("B")
            pos = 0
            if self._buf:
                pos = self._complete(src, frames)
                if pos < 0:
                    return frames
            end = self._parse(src, pos, frames)
            if end < len(src):
                self._buf = bytearray(memoryview(src)[end:])
        except RemoteProtocolError as exc:
            self._failed = str(exc)
            self._buf = bytearray()
            exc.frames = frames
            raise
        return frames

    def _complete(self, src: bytes | memoryview, frames: list[Frame]) -> int:
        """Top up the buffered partial message from ``src``.

        Returns how many bytes of ``src`` were used, or -1 when ``src`` ran out first.
        """
        buf = self._buf
        if type(src) is bytes:
            src = memoryview(src)  # slice without copying; `buf +=` copies once
        pos = 0
        if len(buf) < LENGTH_SIZE:
            chunk = src[: LENGTH_SIZE - len(buf)]
            buf += chunk
            pos = len(chunk)
            if len(buf) < LENGTH_SIZE:
                return -1
            self._check_length(_unpack_word(buf, 0)[0])
        (length,) = _unpack_word(buf, 0)
        chunk = src[pos : pos + length - len(buf)]
        buf += chunk
        pos += len(chunk)
        if len(buf) < length:
            return -1
        self._buf = bytearray()
        with memoryview(buf) as view:
            self._parse(view, 0, frames)
        return pos

    def _check_length(self, length: int) -> None:
        if length < FRAME_MIN:
            raise RemoteProtocolError(
                f"message length {length} is too small: a header alone needs {FRAME_MIN} bytes"
            )
        if length > self._max_length:
            raise RemoteProtocolError(
                f"message length {length} is too large (at most {self._max_length} bytes)"
            )

    def _parse(self, src: bytes | memoryview, pos: int, frames: list[Frame]) -> int:
        """Decode whole messages from ``src[pos:]``; return where the first partial one starts."""
        n = len(src)
        max_length = self._max_length
        append = frames.append
        types = _TYPES
        statuses = _STATUSES
        while n - pos >= LENGTH_SIZE:
            (length,) = _unpack_word(src, pos)
            if length < FRAME_MIN or length > max_length:
                self._check_length(length)
            if n - pos < length:
                break
            _, prog, vers, proc, mtype, serial, status = _unpack_prefix(src, pos)
            start = pos + FRAME_MIN
            end = pos + length
            nfds = 0
            if mtype == 4 or mtype == 5:
                if length < FRAME_MIN + 4:
                    raise RemoteProtocolError(
                        f"{MessageType(mtype).name} message of {length} bytes has no fd count"
                    )
                (nfds,) = _unpack_word(src, start)
                if nfds > NUM_FDS_MAX:
                    raise RemoteProtocolError(
                        f"message announces {nfds} file descriptors (at most {NUM_FDS_MAX})"
                    )
                start += 4
            header = _HeaderBuilder()
            header.prog = prog
            header.vers = vers
            header.proc = proc
            header.type = types.get(mtype, mtype)
            header.serial = serial
            header.status = statuses.get(status, status)
            header.__class__ = Header
            frame = _FrameBuilder()
            frame.header = header
            frame.payload = bytes(src[start:end])
            frame.nfds = nfds
            frame.__class__ = Frame
            append(frame)
            pos = end
        return pos


def encode_frame(
    header: Header,
    payload: bytes | bytearray | memoryview = b"",
    nfds: int = 0,
    *,
    max_message: int = MESSAGE_MAX,
) -> bytes:
    """Serialise one message: length word, header, fd count for ``*_WITH_FDS``, payload.

    Raises :class:`LocalProtocolError` for anything the peer would reject: a message over
    ``max_message`` (+4 for the length word), an fd count on a type that cannot carry one
    or above the limit, or a header value outside its XDR range.
    """
    mtype = header.type
    try:
        if mtype == 4 or mtype == 5:
            if not 0 <= nfds <= NUM_FDS_MAX:
                raise LocalProtocolError(f"fd count {nfds} out of range 0..{NUM_FDS_MAX}")
            total = FRAME_MIN + 4 + len(payload)
            prefix = _pack_prefix_fds(
                total,
                header.prog,
                header.vers,
                header.proc,
                mtype,
                header.serial,
                header.status,
                nfds,
            )
        else:
            if nfds:
                raise LocalProtocolError(
                    f"a message of type {mtype!r} cannot carry file descriptors"
                )
            total = FRAME_MIN + len(payload)
            prefix = _pack_prefix(
                total, header.prog, header.vers, header.proc, mtype, header.serial, header.status
            )
    except struct.error as exc:
        raise LocalProtocolError(f"header {header!r} does not fit the wire: {exc}") from None
    if total > max_message + LENGTH_SIZE:
        raise LocalProtocolError(
            f"message of {total} bytes exceeds the limit of {max_message + LENGTH_SIZE}"
        )
    return prefix + payload


def encode_call(
    prog: int, proc: int, serial: int, payload: bytes = b"", *, max_message: int = MESSAGE_MAX
) -> bytes:
    """``encode_frame(Header(prog, 1, proc, CALL, serial, OK), payload)`` without building
    the Header (a client's hot path: one per call); the same bytes and the same errors."""
    total = FRAME_MIN + len(payload)
    if total <= max_message + LENGTH_SIZE:
        try:
            return _pack_prefix(total, prog, PROTOCOL_VERSION, proc, _CALL, serial, _OK) + payload
        except struct.error:
            pass
    # out of range or too large: encode_frame raises its error (one place for their texts)
    header = Header(prog, PROTOCOL_VERSION, proc, MessageType.CALL, serial, MessageStatus.OK)
    return encode_frame(header, payload, max_message=max_message)


def encode_stream_hole(length: int, flags: int = 0) -> bytes:
    """Payload of a STREAM_HOLE message (virNetStreamHole: hyper length, unsigned flags)."""
    try:
        return _HOLE.pack(length, flags)
    except struct.error as exc:
        raise LocalProtocolError(f"stream hole ({length}, {flags}) out of range: {exc}") from None


def decode_stream_hole(payload: bytes | bytearray | memoryview) -> tuple[int, int]:
    """Parse a STREAM_HOLE payload into ``(length, flags)``."""
    if len(payload) != _HOLE.size:
        raise RemoteProtocolError(
            f"stream hole payload is {len(payload)} bytes, expected {_HOLE.size}"
        )
    return _HOLE.unpack(payload)
