"""Frame dumps on the ``virtwire.wire`` logger at DEBUG: what crossed the socket, decoded.

"Why did my event never arrive?" is answered fastest by the frames themselves, so the daemon
and the client log every frame they receive and send here, with the procedure's name. The
callers test :func:`enabled` once per frame (a cached level check), so the hot path pays
nothing measurable while DEBUG is off.
"""

from __future__ import annotations

import logging
import struct

from virtwire.protocol.framing import Frame, MessageStatus, MessageType, encode_frame
from virtwire.protocol.procedures import name_of

__all__ = ["dump_bytes", "dump_frame", "enabled", "format_frame", "hex_words"]

log = logging.getLogger("virtwire.wire")

_HEADER_END = 28
_HEADER = struct.Struct(">IIiiIi")  # prog, vers, proc (signed), type, serial, status


def enabled() -> bool:
    return log.isEnabledFor(logging.DEBUG)


def _enum_name(enum: type, value: int) -> str:
    try:
        return enum(value).name
    except ValueError:
        return str(value)


def hex_words(raw: bytes, indent: str = "  ") -> str:
    """Bytes as 4-byte big-endian words, eight to a line: how libvirt's frames read best."""
    words = [raw[i : i + 4].hex() for i in range(0, len(raw), 4)]
    return "\n".join(indent + " ".join(words[i : i + 8]) for i in range(0, len(words), 8))


def format_frame(raw: bytes) -> str:
    """One summary line and the frame's bytes as 4-byte words, eight to a line."""
    if len(raw) < _HEADER_END:
        return f"short frame ({len(raw)} bytes): {raw.hex()}"
    prog, vers, proc, mtype, serial, status = _HEADER.unpack_from(raw, 4)
    summary = (
        f"{name_of(prog, vers, proc)} {_enum_name(MessageType, mtype)}"
        f" serial={serial} status={_enum_name(MessageStatus, status)} ({len(raw)} bytes)"
    )
    return summary + "\n" + hex_words(raw)


def dump_bytes(who: str, direction: str, raw: bytes) -> None:
    """Log one framed message (length word included) sent or received by ``who``."""
    log.debug("%s %s %s", who, direction, format_frame(raw))


def dump_frame(who: str, direction: str, frame: Frame) -> None:
    """Log a decoded frame, re-framed to show its bytes as they were on the wire."""
    dump_bytes(who, direction, encode_frame(frame.header, frame.payload, frame.nfds))
