"""``virtwire decode``: libvirt RPC traffic in a pcap/pcapng capture, frame by frame.

    virtwire decode CAPTURE [--port N]... [--format text|json] [--x-file F.x [--const N=V]...] [-v]

Pipeline: :mod:`virtwire.tools.capture` reads the file and reassembles each TCP direction;
each direction's bytes are cut into frames by the sans-IO :class:`FrameDecoder` (the same one
the daemon and the client use); every frame is named and its body decoded through the
procedure registry (or through codecs loaded from libvirt's own ``.x`` with ``--x-file``).
Replies are paired with their calls (latency), events and keepalive are marked, and a
summary closes the output (stderr in text mode, the last JSON line in JSON mode).

A direction whose beginning is not in the capture (no SYN), or that lost a segment, or that
carried bytes the framing refuses, is resynchronised on the next plausible libvirt header;
the output says so (``resync`` on the first frame after it, and in the summary).

Ports: 16509 (TCP) and 16514 (TLS, counted but opaque) unless ``--port`` is given; ``--port
auto`` takes any connection that carries a plausible libvirt header.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TextIO

from virtwire.protocol import procedures
from virtwire.protocol.constants import (
    ADMIN_PROGRAM,
    FRAME_MIN,
    KEEPALIVE_PROGRAM,
    LENGTH_SIZE,
    LXC_PROGRAM,
    MESSAGE_MAX,
    PROGRAM_NAMES,
    QEMU_PROGRAM,
    REMOTE_PROGRAM,
)
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    MessageStatus,
    MessageType,
    ProtocolError,
    decode_stream_hole,
)
from virtwire.protocol.generated import remote_protocol
from virtwire.tools.capture import (
    TH_FIN,
    TH_RST,
    TH_SYN,
    CaptureError,
    Packet,
    ReadStats,
    TcpStream,
    format_addr,
    read_packets,
)
from virtwire.xdr import TrailingBytes, XdrError

__all__ = ["DecodeOptions", "Decoder", "decode_file", "main"]

DEFAULT_PORTS = (16509, 16514)
TLS_PORT = 16514
PREVIEW = 16  # stream data bytes shown

_TYPE_NAMES = {int(t): t.name for t in MessageType}
_STATUS_NAMES = {int(s): s.name for s in MessageStatus}
_PLAUSIBLE_PROGS = (REMOTE_PROGRAM, KEEPALIVE_PROGRAM, QEMU_PROGRAM, LXC_PROGRAM, ADMIN_PROGRAM)
_PROG_PATTERNS = tuple(p.to_bytes(4, "big") for p in _PLAUSIBLE_PROGS)
_MAX_LENGTH = MESSAGE_MAX + LENGTH_SIZE
_REMOTE_ERROR = remote_protocol.CODECS["remote_error"]
_KEEPALIVE_NAMES = {1: "PING", 2: "PONG"}

_SYNC, _RESYNC = 0, 1
_PROBE = "probing for libvirt (--port auto)"


# --------------------------------------------------------------------------------------------
# procedure table: (prog, vers, proc) -> how to name and decode it


@dataclass(frozen=True, slots=True)
class _Proc:
    name: str
    short: str
    args: Any
    ret: Any
    msg: Any


def _registry_table() -> dict[tuple[int, int, int], _Proc]:
    table = {}
    for p in procedures.all_procedures():
        table[(p.program, p.version, p.number)] = _Proc(
            p.name, p.name.split("_PROC_", 1)[-1], p.args, p.ret, p.msg
        )
    return table


def load_x_files(
    paths: Iterable[str], constants: dict[str, int]
) -> dict[tuple[int, int, int], _Proc]:
    """Procedure entries from libvirt's own ``.x`` files (loaded by :func:`virtwire.xdr.load`).

    A file that uses types from an earlier one (``qemu_protocol.x`` needs
    ``remote_protocol.x``) is loaded with the earlier files' text in front, as libvirt's build
    does with ``%#include``.
    """
    from virtwire.protocol.regenerate import constants_for
    from virtwire.xdr.loader import load_spec
    from virtwire.xdr.parser import parse

    table: dict[tuple[int, int, int], _Proc] = {}
    texts: list[str] = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        module = None
        for source in (text, "\n".join([*texts, text])):
            consts = {**constants_for(source), **constants}
            try:
                module = load_spec(parse(source, str(path), consts))
                break
            except XdrError as exc:
                error = exc
        if module is None:
            raise SystemExit(f"virtwire decode: cannot load {path}: {error}")
        texts.append(text)
        for pdef in getattr(module, "PROCEDURES", ()):
            prefix, _, short = pdef.name.partition("_PROC_")
            prog = getattr(module, f"{prefix}_PROGRAM", None)
            vers = getattr(module, f"{prefix}_PROTOCOL_VERSION", 1)
            if prog is None:
                continue
            stem = f"{prefix.lower()}_{short.lower()}"
            codecs = module.CODECS
            table[(int(prog), int(vers), pdef.number)] = _Proc(
                pdef.name,
                short,
                codecs.get(f"{stem}_args"),
                codecs.get(f"{stem}_ret"),
                codecs.get(f"{stem}_msg"),
            )
    return table


# --------------------------------------------------------------------------------------------
# values -> JSON


_KINDS: dict[type, Any] = {}


def jsonable(value: Any) -> Any:
    """A decoded XDR value as JSON types: structs → objects, enums → names, bytes → hex
    (16 bytes → a UUID), optional → value or null."""
    t = type(value)
    if t is int or t is str or value is None or t is bool or t is float:
        return value
    if t is list:
        return [jsonable(v) for v in value]
    if t is bytes:
        return str(uuid.UUID(bytes=value)) if len(value) == 16 else value.hex()
    kind = _KINDS.get(t)
    if kind is None:
        if isinstance(value, enum.Enum):
            kind = _KINDS[t] = "enum"
        elif is_dataclass(value):
            kind = _KINDS[t] = tuple(f.name for f in fields(value))
        else:
            kind = _KINDS[t] = "repr"
    if kind == "enum":
        return value.name
    if kind == "repr":
        return repr(value)
    return {name: jsonable(getattr(value, name)) for name in kind}


# --------------------------------------------------------------------------------------------
# connections


class _Side:
    """One direction of one connection: reassembly, buffered partial frame, framing state."""

    __slots__ = (
        "conn",
        "stream",
        "buf",
        "need",
        "decoder",
        "mode",
        "reason",
        "skipped",
        "src",
        "dst",
        "to_server",
        "opaque_bytes",
        "probe_bytes",
        "offset",
    )

    def __init__(self, conn: _Conn, src: str, dst: str, to_server: bool) -> None:
        self.conn = conn
        self.stream = TcpStream()
        self.buf = bytearray()
        self.need = 0
        self.decoder = FrameDecoder()
        self.mode = _SYNC
        self.reason = ""
        self.skipped = 0
        self.src = src
        self.dst = dst
        self.to_server = to_server
        self.opaque_bytes = 0
        self.probe_bytes = 0
        self.offset = 0  # stream offset of buf[0] / of the next unconsumed byte


@dataclass(slots=True)
class _Conn:
    id: int
    client: str
    server: str
    sides: dict[tuple[bytes, int], _Side] = field(default_factory=dict)
    opaque: str | None = None
    frames: int = 0
    closed: bool = False


@dataclass(slots=True)
class DecodeOptions:
    ports: tuple[int, ...] = DEFAULT_PORTS
    auto: bool = False
    verbose: bool = False
    bodies: bool = True
    x_table: dict[tuple[int, int, int], _Proc] | None = None


def _plausible(data: bytes, i: int) -> int:
    """Length of the frame at ``i`` if its header looks like libvirt's, else 0."""
    length = int.from_bytes(data[i : i + 4], "big")
    if length < FRAME_MIN or length > _MAX_LENGTH:
        return 0
    if int.from_bytes(data[i + 4 : i + 8], "big") not in _PLAUSIBLE_PROGS:
        return 0
    if data[i + 8 : i + 12] != b"\x00\x00\x00\x01":
        return 0
    mtype = int.from_bytes(data[i + 16 : i + 20], "big")
    status = int.from_bytes(data[i + 24 : i + 28], "big")
    proc = int.from_bytes(data[i + 12 : i + 16], "big")
    if mtype > 6 or status > 2 or proc > 0xFFFF:
        return 0
    return length


def find_header(data: bytes, pos: int) -> tuple[int, bool]:
    """The first offset ≥ ``pos`` where a plausible libvirt frame starts.

    Returns ``(offset, True)``; ``(offset, False)`` when fewer than a header's bytes remain
    from a possible start at ``offset`` (wait for more data); ``(-1, False)`` when none.
    A candidate whose frame is complete must be followed by another plausible header (or
    the end of the data), which rules out header-like bytes inside payloads.
    """
    n = len(data)
    start = pos
    while True:
        best = -1
        for pattern in _PROG_PATTERNS:
            j = data.find(pattern, start + 4)
            if j >= 0 and (best < 0 or j < best):
                best = j
        if best < 0:
            tail = max(pos, n - (FRAME_MIN - 1))
            return tail, False
        i = best - 4
        if n - i < FRAME_MIN:
            return i, False
        length = _plausible(data, i)
        if length:
            nxt = i + length
            if nxt == n or n - nxt < FRAME_MIN or _plausible(data, nxt):
                return i, True
        start = i + 1


class Decoder:
    """Feed :class:`Packet` objects; get one record (a JSON-ready ``dict``) per libvirt frame.

    After the last packet call :meth:`finish` (flushes unfilled holes, lists unanswered
    calls) and :meth:`summary`.
    """

    def __init__(self, options: DecodeOptions | None = None) -> None:
        self.options = options or DecodeOptions()
        self.table = _registry_table()
        if self.options.x_table:
            self.table.update(self.options.x_table)
        self.ports = frozenset(self.options.ports)
        self.conns: dict[tuple[bytes, int, bytes, int], _Conn] = {}
        self.next_conn = 1
        self.index = 0
        self.first_time: float | None = None
        self.calls: dict[tuple[int, int, int, int], tuple[float, int, str, int]] = {}
        self.latencies: list[float] = []
        self.by_procedure: dict[str, int] = {}
        self.by_type: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0
        self.events = 0
        self.keepalive = 0
        self.malformed: list[dict[str, Any]] = []
        self.resyncs: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self.stats = ReadStats()

    # -- connections ------------------------------------------------------------------------

    def _conn_for(self, pkt: Packet) -> _Conn | None:
        key = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
        conn = self.conns.get(key)
        syn_only = pkt.flags & TH_SYN and not pkt.flags & 0x10
        if conn is not None and not (syn_only and conn.closed):
            return conn
        if conn is None:
            rkey = (pkt.dst, pkt.dport, pkt.src, pkt.sport)
            conn = self.conns.get(rkey)
            if conn is not None and not (syn_only and conn.closed):
                return conn
        # a new connection: which end is the server?
        ports = self.ports
        if pkt.dport in ports and pkt.sport not in ports:
            to_server = True
        elif pkt.sport in ports and pkt.dport not in ports:
            to_server = False
        elif not self.options.auto and pkt.dport not in ports:
            return None
        elif pkt.flags & TH_SYN:
            to_server = not pkt.flags & 0x10
        else:
            to_server = pkt.dport <= pkt.sport
        a = (pkt.src, pkt.sport)
        b = (pkt.dst, pkt.dport)
        client, server = (a, b) if to_server else (b, a)
        cs, ss = format_addr(*client), format_addr(*server)
        conn = _Conn(self.next_conn, cs, ss)
        self.next_conn += 1
        conn.sides[client] = _Side(conn, cs, ss, True)
        conn.sides[server] = _Side(conn, ss, cs, False)
        if server[1] == TLS_PORT:
            conn.opaque = "TLS (port 16514)"
        elif server[1] not in ports:  # --port auto: probe for a libvirt header
            for side in conn.sides.values():
                side.mode = _RESYNC
                side.reason = _PROBE
        self.conns[(client[0], client[1], server[0], server[1])] = conn
        self.conns[(server[0], server[1], client[0], client[1])] = conn
        return conn

    def _swap_roles(self, conn: _Conn) -> None:
        """The first frame showed the ends the wrong way round (``--port auto``, mid-stream)."""
        conn.client, conn.server = conn.server, conn.client
        for side in conn.sides.values():
            side.to_server = not side.to_server

    # -- packets ----------------------------------------------------------------------------

    def feed(self, pkt: Packet) -> list[dict[str, Any]]:
        """Records of the frames this segment completes."""
        conn = self._conn_for(pkt)
        if conn is None:
            return []
        if self.first_time is None:
            self.first_time = pkt.time
        side = conn.sides[(pkt.src, pkt.sport)]
        flags = pkt.flags
        if flags & TH_SYN:
            side.stream.syn(pkt.seq)
            return []
        if flags & (TH_FIN | TH_RST):
            conn.closed = True
        data = pkt.data
        if not data:
            return []
        stream = side.stream
        fresh = stream.next_seq is None
        data = stream.add(pkt.seq, data)
        if fresh:
            side.mode = _RESYNC
            if side.reason != _PROBE:
                side.reason = "capture starts mid-stream"
        if stream.pending_bytes > stream.MAX_PENDING:
            missing, more = stream.flush_gap()
            data += self._gap(side, pkt, missing) + more
        if not data:
            return []
        out: list[dict[str, Any]] = []
        self._bytes(side, data, pkt, out)
        return out

    def _gap(self, side: _Side, pkt: Packet, missing: int) -> bytes:
        self.gaps.append(
            {
                "conn": side.conn.id,
                "src": side.src,
                "dst": side.dst,
                "frame": pkt.number,
                "missing_bytes": missing,
            }
        )
        side.buf.clear()
        side.need = 0
        side.mode = _RESYNC
        side.reason = f"{missing} bytes missing from the capture"
        return b""

    def _bytes(self, side: _Side, data: bytes, pkt: Packet, out: list[dict[str, Any]]) -> None:
        conn = side.conn
        if conn.opaque is None and side.stream.delivered == len(data) and data[:2] == b"\x16\x03":
            # a TLS handshake record; as a length word it would exceed the 32 MiB limit
            conn.opaque = "TLS"
        if conn.opaque is not None:
            side.opaque_bytes += len(data)
            return
        buf = side.buf
        if buf:
            buf += data
            if len(buf) < side.need:
                return
            data = bytes(buf)
            buf.clear()
        n = len(data)
        pos = 0
        length = 0
        while True:
            if side.mode == _RESYNC:
                off, sure = find_header(data, pos)
                if not sure:
                    side.skipped += off - pos
                    if self.options.auto and side.stream.delivered > 65536 and not conn.frames:
                        conn.opaque = "no libvirt header found"
                        side.opaque_bytes += n
                        return
                    side.buf = bytearray(data[off:])
                    side.need = 0
                    return
                side.skipped += off - pos
                side.mode = _SYNC
                side.decoder = FrameDecoder()
                pos = off
                if side.reason == _PROBE and not side.skipped:
                    resync_note = None  # a connection that simply starts with libvirt
                else:
                    self.resyncs.append(
                        {
                            "conn": conn.id,
                            "src": side.src,
                            "dst": side.dst,
                            "frame": pkt.number,
                            "skipped_bytes": side.skipped,
                            "reason": side.reason,
                        }
                    )
                    resync_note = {"skipped_bytes": side.skipped, "reason": side.reason}
                side.skipped = 0
                just_synced = True
            else:
                resync_note = None
                just_synced = False
            start = pos
            bad = False
            while n - pos >= 4:
                length = int.from_bytes(data[pos : pos + 4], "big")
                if length < FRAME_MIN or length > _MAX_LENGTH:
                    bad = True
                    break
                if n - pos < length:
                    break
                pos += length
            if pos > start:
                chunk = data if start == 0 and pos == n else data[start:pos]
                failure = None
                try:
                    frames = side.decoder.feed(chunk)
                except ProtocolError as exc:
                    frames = exc.frames
                    failure = str(exc)
                self._emit(side, frames, pkt, out, resync_note)
                if failure is not None:
                    at = start + sum(_wire_size(f) for f in frames)
                    self._malformed(side, pkt, failure)
                    side.mode = _RESYNC
                    side.reason = f"after malformed data ({failure})"
                    pos = at + 1
                    continue
            elif just_synced and not bad:
                # synchronised on a frame that is not complete yet: decide again when it is
                if resync_note is not None:
                    side.skipped = resync_note["skipped_bytes"]
                    self.resyncs.pop()
                side.mode = _RESYNC
                side.buf = bytearray(data[pos:])
                side.need = length if n - pos >= 4 else 0
                return
            if bad:
                self._malformed(side, pkt, f"message length {length} out of range")
                side.mode = _RESYNC
                side.reason = f"after a bad length word ({length})"
                pos += 1
                continue
            break
        if pos < n:
            side.buf = bytearray(data[pos:])
            side.need = length if n - pos >= 4 else 4
        else:
            side.need = 0

    def _malformed(self, side: _Side, pkt: Packet, reason: str) -> None:
        self.malformed.append(
            {
                "conn": side.conn.id,
                "src": side.src,
                "dst": side.dst,
                "frame": pkt.number,
                "reason": reason,
            }
        )

    # -- frames -----------------------------------------------------------------------------

    def _emit(
        self,
        side: _Side,
        frames: list[Frame],
        pkt: Packet,
        out: list[dict[str, Any]],
        resync_note: dict[str, Any] | None,
    ) -> None:
        conn = side.conn
        table = self.table
        bodies = self.options.bodies
        t = pkt.time
        for frame in frames:
            h = frame.header
            prog = h.prog
            mtype = int(h.type)
            status = int(h.status)
            # --port auto: a CALL travels to the server, a REPLY from it
            if (
                not conn.frames
                and self.options.auto
                and ((mtype in (0, 4)) != side.to_server and mtype in (0, 1, 4, 5))
            ):
                self._swap_roles(conn)
            conn.frames += 1
            self.index += 1
            entry = table.get((prog, h.vers, h.proc))
            if entry is not None:
                name = entry.name
                short = entry.short
            else:
                name = procedures.name_of(prog, h.vers, h.proc)
                short = name.split("_PROC_", 1)[-1]
            type_name = _TYPE_NAMES.get(mtype) or str(mtype)
            status_name = _STATUS_NAMES.get(status) or str(status)
            payload = frame.payload
            rec: dict[str, Any] = {
                "frame": pkt.number,
                "index": self.index,
                "time": t,
                "conn": conn.id,
                "src": side.src,
                "dst": side.dst,
                "direction": "C>S" if side.to_server else "S>C",
                "length": _wire_size(frame),
                "program": PROGRAM_NAMES.get(prog) or f"0x{prog:08x}",
                "version": h.vers,
                "procedure": h.proc,
                "procedure_name": name,
                "short_name": short,
                "type": type_name,
                "serial": h.serial,
                "status": status_name,
                "body": None,
            }
            if resync_note is not None:
                rec["resync"] = resync_note
                resync_note = None
            if mtype == 4 or mtype == 5:
                rec["nfds"] = frame.nfds
            self.by_procedure[name] = self.by_procedure.get(name, 0) + 1
            self.by_type[type_name] = self.by_type.get(type_name, 0) + 1
            codec = None
            kind = "body"
            if mtype == 0 or mtype == 4:
                codec = entry.args if entry else None
                self.calls[(conn.id, prog, h.vers, h.serial)] = (t, self.index, name, pkt.number)
            elif mtype == 1 or mtype == 5:
                call = self.calls.pop((conn.id, prog, h.vers, h.serial), None)
                if call is not None:
                    latency = t - call[0]
                    self.latencies.append(latency)
                    rec["latency"] = latency
                    rec["call_index"] = call[1]
                    rec["call_frame"] = call[3]
                if status == 1:
                    codec = _REMOTE_ERROR
                    kind = "error"
                else:
                    codec = entry.ret if entry else None
            elif mtype == 2:
                if prog == KEEPALIVE_PROGRAM:
                    rec["keepalive"] = _KEEPALIVE_NAMES.get(h.proc, str(h.proc))
                    self.keepalive += 1
                else:
                    codec = entry.msg if entry else None
                    rec["event"] = True
                    self.events += 1
            elif mtype == 3:
                if status == 2:
                    rec["body"] = {
                        "data_length": len(payload),
                        "preview": payload[:PREVIEW].hex(),
                    }
                    kind = "stream"
                elif status == 1 and not side.to_server and payload:
                    codec = _REMOTE_ERROR
                    kind = "error"
                else:
                    kind = "stream"
                    rec["body"] = {"data_length": len(payload), "end": status == 0}
            elif mtype == 6:
                kind = "hole"
                try:
                    hole_len, hole_flags = decode_stream_hole(payload)
                    rec["body"] = {"hole_length": hole_len, "flags": hole_flags}
                except ProtocolError as exc:
                    rec["body_error"] = str(exc)
            if kind == "body" or kind == "error":
                if codec is not None and (bodies or kind == "error"):
                    try:
                        value = codec.unpack(payload)
                    except TrailingBytes as exc:
                        value = exc.value
                        rec["trailing_bytes"] = len(payload)
                    except XdrError as exc:
                        value = None
                        rec["body_error"] = str(exc)
                        rec["payload_length"] = len(payload)
                        self._malformed(side, pkt, f"{name} body: {exc}")
                    if value is not None:
                        rec["body"] = jsonable(value)
                    if kind == "error" and value is not None:
                        self._error(rec, value)
                elif codec is None and payload:
                    if entry is None:
                        rec["payload_length"] = len(payload)
                        rec["payload_preview"] = payload[:64].hex()
                    elif kind == "body":
                        rec["body_error"] = f"{len(payload)} bytes for a void body"
                        rec["payload_length"] = len(payload)
            out.append(rec)

    def _error(self, rec: dict[str, Any], err: Any) -> None:
        self.error_count += 1
        try:
            code = ErrorCode(err.code).name
        except ValueError:
            code = str(err.code)
        try:
            domain = ErrorDomain(err.domain).name
        except ValueError:
            domain = str(err.domain)
        rec["error"] = {
            "code": err.code,
            "code_name": code,
            "domain": err.domain,
            "domain_name": domain,
            "message": err.message,
        }
        if len(self.errors) < 1000:
            self.errors.append(
                {
                    "index": rec["index"],
                    "frame": rec["frame"],
                    "procedure_name": rec["procedure_name"],
                    "serial": rec["serial"],
                    "code": err.code,
                    "code_name": code,
                    "domain": err.domain,
                    "message": err.message,
                }
            )

    # -- end --------------------------------------------------------------------------------

    def finish(self) -> list[dict[str, Any]]:
        """Give up on every hole still open; records of frames decoded after them."""
        out: list[dict[str, Any]] = []
        seen = set()
        for conn in self.conns.values():
            if conn.id in seen:
                continue
            seen.add(conn.id)
            for side in conn.sides.values():
                while side.stream.pending:
                    missing, data = side.stream.flush_gap()
                    fake = Packet(0, 0.0, b"", 0, b"", 0, 0, 0, b"")
                    self._gap(side, fake, missing)
                    if data:
                        self._bytes(side, data, fake, out)
                if side.buf and conn.opaque is None and side.mode == _SYNC:
                    self.malformed.append(
                        {
                            "conn": conn.id,
                            "src": side.src,
                            "dst": side.dst,
                            "frame": None,
                            "reason": f"capture ends inside a frame ({len(side.buf)} bytes buffered)",
                        }
                    )
        return out

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3)

        latency = (
            {
                "count": len(lat),
                "p50_ms": pct(0.5),
                "p90_ms": pct(0.9),
                "p99_ms": pct(0.99),
                "max_ms": round(lat[-1] * 1000, 3),
                "mean_ms": round(sum(lat) / len(lat) * 1000, 3),
            }
            if lat
            else {"count": 0}
        )
        unanswered = [
            {
                "conn": key[0],
                "serial": key[3],
                "index": index,
                "frame": frame,
                "procedure_name": name,
                "time": t,
            }
            for key, (t, index, name, frame) in self.calls.items()
        ]
        conns = {}
        for conn in self.conns.values():
            conns[conn.id] = conn
        opaque = [
            {
                "conn": c.id,
                "client": c.client,
                "server": c.server,
                "reason": c.opaque,
                "bytes": sum(s.opaque_bytes for s in c.sides.values()),
            }
            for c in conns.values()
            if c.opaque is not None
        ]
        return {
            "summary": True,
            "frames": self.index,
            "connections": sum(1 for c in conns.values() if c.frames),
            "by_type": self.by_type,
            "by_procedure": dict(sorted(self.by_procedure.items(), key=lambda kv: (-kv[1], kv[0]))),
            "errors": self.error_count,
            "error_replies": self.errors,
            "events": self.events,
            "keepalive": self.keepalive,
            "unanswered_calls": unanswered,
            "latency": latency,
            "malformed": self.malformed,
            "resyncs": self.resyncs,
            "gaps": self.gaps,
            "opaque": opaque,
            "capture": {
                "records": self.stats.records,
                "non_tcp": self.stats.non_tcp,
                "ip_fragments": self.stats.fragments,
                "truncated": self.stats.truncated,
                "unsupported_link_types": sorted(self.stats.unsupported_link),
            },
        }


def _wire_size(frame: Frame) -> int:
    mtype = frame.header.type
    return FRAME_MIN + len(frame.payload) + (4 if mtype == 4 or mtype == 5 else 0)


def decode_file(path: str | Path, options: DecodeOptions | None = None) -> tuple[list[dict], dict]:
    """All records of a capture and the summary (for tests and scripts)."""
    decoder = Decoder(options)
    records: list[dict] = []
    for pkt in read_packets(path, decoder.stats):
        records += decoder.feed(pkt)
    records += decoder.finish()
    return records, decoder.summary()


def iter_records(path: str | Path, decoder: Decoder) -> Iterator[dict]:
    feed = decoder.feed
    for pkt in read_packets(path, decoder.stats):
        recs = feed(pkt)
        if recs:
            yield from recs
    yield from decoder.finish()


# --------------------------------------------------------------------------------------------
# text output


def format_text(rec: dict[str, Any], t0: float, verbose: bool) -> str:
    parts = [
        f"{rec['frame']:>6} {rec['time'] - t0:10.6f} {rec['src']} > {rec['dst']} "
        f"{rec['program']} {rec['short_name']}({rec['procedure']}) {rec['type']} "
        f"serial={rec['serial']} {rec['status']}"
    ]
    if "nfds" in rec:
        parts.append(f"fds={rec['nfds']}")
    if "latency" in rec:
        parts.append(f"[reply to frame {rec['call_frame']}, {rec['latency'] * 1000:.3f} ms]")
    if rec.get("event"):
        parts.append("[event]")
    if "keepalive" in rec:
        parts.append(f"[keepalive {rec['keepalive']}]")
    err = rec.get("error")
    if err is not None:
        parts.append(
            f"error {err['code_name']}({err['code']}) from {err['domain_name']}: {err['message']}"
        )
    body = rec["body"]
    if rec["type"] == "STREAM" and body is not None and "preview" in body:
        parts.append(f"data {body['data_length']} bytes: {body['preview']}")
    elif rec["type"] == "STREAM_HOLE" and body is not None:
        parts.append(f"hole {body['hole_length']} flags={body['flags']}")
    if "resync" in rec:
        note = rec["resync"]
        parts.insert(
            0,
            f"# resynchronised ({note['reason']}): skipped {note['skipped_bytes']} bytes\n",
        )
    if "body_error" in rec:
        parts.append(f"!! {rec['body_error']}")
    line = " ".join(parts).replace("\n ", "\n")
    if verbose and body is not None:
        line += "\n    " + json.dumps(body, ensure_ascii=False)
    return line


def format_summary_text(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['frames']} frames on {summary['connections']} connection(s); "
        f"{summary['errors']} error replies, {summary['events']} events, "
        f"{summary['keepalive']} keepalive"
    ]
    lat = summary["latency"]
    if lat["count"]:
        lines.append(
            f"latency over {lat['count']} replies: p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms,"
            f" p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms"
        )
    for name, count in summary["by_procedure"].items():
        lines.append(f"  {count:>7}  {name}")
    for call in summary["unanswered_calls"]:
        lines.append(
            f"unanswered: frame {call['frame']} {call['procedure_name']} serial={call['serial']}"
        )
    for item in summary["resyncs"]:
        lines.append(
            f"resync: conn {item['conn']} {item['src']} > {item['dst']}: {item['reason']},"
            f" skipped {item['skipped_bytes']} bytes"
        )
    for item in summary["gaps"]:
        lines.append(
            f"gap: conn {item['conn']} {item['src']} > {item['dst']}: "
            f"{item['missing_bytes']} bytes missing"
        )
    for item in summary["malformed"]:
        lines.append(
            f"malformed: conn {item['conn']} {item['src']} > {item['dst']}: {item['reason']}"
        )
    for item in summary["opaque"]:
        lines.append(
            f"opaque: conn {item['conn']} {item['client']} <> {item['server']}: "
            f"{item['reason']}, {item['bytes']} bytes not decoded"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# command line


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="virtwire decode",
        description="Decode libvirt RPC traffic in a pcap or pcapng capture.",
    )
    parser.add_argument("capture", help="pcap or pcapng file")
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="N",
        help="server port carrying libvirt (repeatable; default 16509 and 16514 (TLS, opaque));"
        " 'auto': any port with a plausible libvirt header",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--x-file",
        action="append",
        default=[],
        metavar="F.x",
        help="decode with libvirt's own .x file (repeatable)",
    )
    parser.add_argument(
        "--const",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a constant the .x file uses but does not define",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="text: show decoded bodies")
    return parser.parse_args(argv)


def _options(args: argparse.Namespace) -> DecodeOptions:
    ports: list[int] = []
    auto = False
    for value in args.port:
        for item in value.split(","):
            if item == "auto":
                auto = True
            else:
                try:
                    ports.append(int(item))
                except ValueError:
                    raise SystemExit(f"virtwire decode: bad --port {item!r}") from None
    consts: dict[str, int] = {}
    for item in args.const:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"virtwire decode: bad --const {item!r} (want NAME=VALUE)")
        consts[name] = int(value, 0)
    if args.const and not args.x_file:
        raise SystemExit("virtwire decode: --const needs --x-file")
    x_table = load_x_files(args.x_file, consts) if args.x_file else None
    if not ports and not auto:
        ports = list(DEFAULT_PORTS)
    return DecodeOptions(
        ports=tuple(ports),
        auto=auto,
        verbose=args.verbose,
        bodies=args.format == "json" or args.verbose,
        x_table=x_table,
    )


def _write_records(
    records: Iterable[dict], out: TextIO, render: Callable[[dict], str], batch: int = 2048
) -> None:
    lines: list[str] = []
    append = lines.append
    for rec in records:
        append(render(rec))
        if len(lines) >= batch:
            lines.append("")
            out.write("\n".join(lines))
            lines.clear()
    if lines:
        lines.append("")
        out.write("\n".join(lines))


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    options = _options(args)
    decoder = Decoder(options)
    out = sys.stdout
    try:
        if args.format == "json":
            encode = json.JSONEncoder(separators=(",", ":")).encode
            _write_records(iter_records(args.capture, decoder), out, encode)
            out.write(encode(decoder.summary()) + "\n")
        else:
            t0_box: list[float] = []

            def render(rec: dict) -> str:
                if not t0_box:
                    t0_box.append(decoder.first_time or rec["time"])
                return format_text(rec, t0_box[0], options.verbose)

            _write_records(iter_records(args.capture, decoder), out, render, batch=256)
            out.flush()
            summary = decoder.summary()
            print(format_summary_text(summary), file=sys.stderr)
            if not summary["frames"] and not options.auto and not summary["opaque"]:
                print(
                    f"no libvirt traffic on port(s) {', '.join(map(str, options.ports))};"
                    " try --port N or --port auto",
                    file=sys.stderr,
                )
    except (OSError, CaptureError) as exc:
        print(f"virtwire decode: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # pragma: no cover - `| head`
        return 0
    return 0
