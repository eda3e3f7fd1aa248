"""The conformance suite's raw wire client: blocking sockets, the sans-IO framing, evidence.

Every frame sent or received through a :class:`WireConn` is recorded, decoded (header fields
plus the body: args / ret / event message / the 11 ``remote_error`` fields), in the
:class:`Evidence` of the check that owns the connection, so that a failing check can show
exactly what went over the wire. Malformed frames are sent with :meth:`WireConn.send_raw`.
"""

from __future__ import annotations

import dataclasses
import enum
import socket
import time
from typing import Any

from virtwire.client.uri import ConnectURI
from virtwire.protocol import procedures
from virtwire.protocol.constants import KEEPALIVE_PROGRAM, PROGRAM_NAMES, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain, ErrorLevel, LibvirtError
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    RemoteProtocolError,
    encode_frame,
)
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.xdr.runtime import TrailingBytes

__all__ = [
    "ConnectionClosed",
    "Evidence",
    "UnsupportedTransport",
    "WireConn",
    "args_for",
    "connect_socket",
    "decode_body",
    "describe_header",
    "error_dict",
    "jsonable",
    "render_item",
]


class ConnectionClosed(Exception):
    """The server closed the connection (EOF or reset)."""


class UnsupportedTransport(Exception):
    """The URI's transport is not one the suite can open a raw socket on."""


def connect_socket(uri: ConnectURI, timeout: float) -> socket.socket:
    """A connected stream socket to the daemon ``uri`` names (tcp and unix transports)."""
    transport = uri.effective_transport
    if transport == "tcp":
        port = uri.effective_port
        assert port is not None
        return socket.create_connection((uri.effective_host, port), timeout=timeout)
    if transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(uri.socket_path(readonly=False))
        except OSError:
            sock.close()
            raise
        return sock
    raise UnsupportedTransport(
        f"transport '{transport}' is not supported by the conformance suite (use tcp or unix)"
    )


# --- decoding for evidence ----------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Decoded XDR values as plain JSON data (bytes as hex, dataclasses as dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return int(value.value) if isinstance(value, enum.IntEnum) else value.name
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def _enum_name(enum_cls: type[enum.IntEnum], value: int) -> str:
    try:
        return enum_cls(value).name
    except ValueError:
        return "?"


def error_dict(err: LibvirtError) -> dict[str, Any]:
    """All 11 ``remote_error`` fields, with the names of code, domain and level."""
    return {
        "code": int(err.code),
        "code_name": _enum_name(ErrorCode, int(err.code)),
        "domain": int(err.domain),
        "domain_name": _enum_name(ErrorDomain, int(err.domain)),
        "message": err.message,
        "level": int(err.level),
        "level_name": _enum_name(ErrorLevel, int(err.level)),
        "dom": jsonable(err.dom),
        "str1": err.str1,
        "str2": err.str2,
        "str3": err.str3,
        "int1": err.int1,
        "int2": err.int2,
        "net": jsonable(err.net),
    }


def describe_header(header: Header, length: int) -> dict[str, Any]:
    return {
        "length": length,
        "prog": header.prog,
        "prog_name": PROGRAM_NAMES.get(header.prog, f"0x{header.prog:08x}"),
        "vers": header.vers,
        "proc": header.proc,
        "proc_name": procedures.name_of(header.prog, header.vers, header.proc),
        "type": int(header.type),
        "type_name": _enum_name(MessageType, int(header.type)),
        "serial": header.serial,
        "status": int(header.status),
        "status_name": _enum_name(MessageStatus, int(header.status)),
    }


def decode_body(header: Header, payload: bytes) -> Any:
    """The payload decoded as far as the registry knows its type; raw hex otherwise."""
    if header.status == MessageStatus.ERROR and header.type in (
        MessageType.REPLY,
        MessageType.REPLY_WITH_FDS,
        MessageType.STREAM,
    ):
        try:
            return {"error": error_dict(LibvirtError.unpack(payload, False))}
        except Exception as exc:  # noqa: BLE001 - evidence, never fatal
            return {"undecodable_error": str(exc), "raw": payload[:256].hex()}
    proc = None
    if header.prog != KEEPALIVE_PROGRAM:
        proc = procedures.lookup(header.prog, header.vers, header.proc)
    codec = None
    if proc is not None:
        if header.type in (MessageType.CALL, MessageType.CALL_WITH_FDS):
            codec = proc.args
        elif header.type in (MessageType.REPLY, MessageType.REPLY_WITH_FDS):
            codec = proc.ret
        elif header.type == MessageType.MESSAGE:
            codec = proc.msg
    if codec is None:
        return {"raw": payload[:256].hex()} if payload else None
    try:
        return jsonable(codec.unpack(payload))
    except TrailingBytes as exc:
        return {"value": jsonable(exc.value), "trailing_bytes": True}
    except Exception as exc:  # noqa: BLE001
        return {"undecodable": str(exc), "raw": payload[:256].hex()}


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value)


def render_item(item: dict[str, Any]) -> str:
    """One evidence item as a line of text."""
    t = f"[{item['t']:7.3f}s]"
    if item["kind"] == "note":
        return f"{t} note: {item['text']}"
    arrow = "→" if item["kind"] == "sent" else "←"
    if item["kind"] == "closed":
        return f"{t} {item['conn']} {arrow} connection closed by the server"
    if "header" not in item:
        return f"{t} {item['conn']} {arrow} raw {item['bytes']} bytes: {item['hex']}"
    h = item["header"]
    head = (
        f"{h['type_name']} {h['prog_name']}/{h['vers']} {h['proc_name']}({h['proc']}) "
        f"serial={h['serial']} status={h['status_name']}({h['status']}) len={h['length']}"
    )
    body = item.get("body")
    text = f"{t} {item['conn']} {arrow} {head}"
    if item.get("raw_note"):
        text += f" [{item['raw_note']}]"
    if body is not None:
        text += " " + _fmt(body)
    return text


class Evidence:
    """What one check saw: frames sent and received (decoded) and notes, time-stamped."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.items: list[dict[str, Any]] = []

    def _now(self) -> float:
        return round(time.monotonic() - self.t0, 4)

    def note(self, text: str) -> None:
        self.items.append({"kind": "note", "t": self._now(), "text": text})

    def frame(
        self,
        conn: str,
        kind: str,
        frame: Frame,
        note: str | None = None,
        length: int | None = None,
    ) -> None:
        if length is None:
            length = 28 + len(frame.payload) + (4 if frame.header.type in (4, 5) else 0)
        item: dict[str, Any] = {
            "kind": kind,
            "t": self._now(),
            "conn": conn,
            "header": describe_header(frame.header, length),
            "body": decode_body(frame.header, frame.payload),
        }
        if note:
            item["raw_note"] = note
        self.items.append(item)

    def raw(self, conn: str, data: bytes) -> None:
        self.items.append(
            {
                "kind": "sent",
                "t": self._now(),
                "conn": conn,
                "bytes": len(data),
                "hex": data[:64].hex(),
            }
        )

    def closed(self, conn: str) -> None:
        self.items.append({"kind": "closed", "t": self._now(), "conn": conn})

    def lines(self) -> list[str]:
        return [render_item(item) for item in self.items]


def args_for(proc: procedures.Procedure, fields: dict[str, Any]) -> Any:
    """The generated args dataclass of ``proc`` built from keyword ``fields``."""
    stem = proc.name.removeprefix("REMOTE_PROC_").lower()
    cls_name = "Remote" + "".join(part.capitalize() for part in f"{stem}_args".split("_"))
    cls = getattr(rp, cls_name)
    return cls(**fields)


class WireConn:
    """A blocking raw-frame connection; frames not yet asked for stay queued."""

    def __init__(self, sock: socket.socket, label: str, evidence: Evidence, timeout: float) -> None:
        self.sock = sock
        self.label = label
        self.evidence = evidence
        self.timeout = timeout
        self.decoder = FrameDecoder()
        self.serial = 0
        self.pending: list[Frame] = []
        self.received: list[tuple[float, Frame]] = []
        self.closed = False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # --- sending --------------------------------------------------------------------------------

    def send_raw(self, data: bytes, decoded: Frame | None = None, note: str | None = None) -> None:
        if decoded is not None:
            self.evidence.frame(self.label, "sent", decoded, note)
        else:
            self.evidence.raw(self.label, data)
        self.sock.sendall(data)

    def send(
        self,
        proc: int | str,
        args: Any = None,
        *,
        payload: bytes | None = None,
        prog: int = REMOTE_PROGRAM,
        vers: int = 1,
        mtype: int = MessageType.CALL,
        status: int = MessageStatus.OK,
        serial: int | None = None,
        **fields: Any,
    ) -> int:
        """Send one message (a CALL unless told otherwise); returns its serial."""
        number = proc
        if isinstance(proc, str):
            found = procedures.resolve(proc)
            if found is None:
                raise ValueError(f"unknown procedure {proc}")
            number = found.number
            if payload is None:
                if args is None and fields:
                    args = args_for(found, fields)
                payload = found.args.pack(args) if found.args is not None else b""
        if payload is None:
            payload = b""
        if serial is None:
            serial = self.serial
            self.serial += 1
        header = Header(prog, vers, int(number), mtype, serial, status)
        data = encode_frame(header, payload)
        self.send_raw(data, Frame(header, payload))
        return serial

    # --- receiving ------------------------------------------------------------------------------

    def _fill(self, timeout: float) -> None:
        if self.closed:
            raise ConnectionClosed(f"{self.label}: connection closed by the server")
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(262144)
        except TimeoutError:
            return
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            self.evidence.closed(self.label)
            raise ConnectionClosed(f"{self.label}: connection closed by the server")
        try:
            frames = self.decoder.feed(data)
        except RemoteProtocolError as exc:
            frames = exc.frames
            self.evidence.note(f"{self.label}: undecodable bytes from the server: {exc}")
            self.closed = True
        now = time.monotonic()
        for frame in frames:
            self.evidence.frame(self.label, "received", frame)
            self.received.append((now, frame))
        self.pending.extend(frames)

    def next_frame(self, timeout: float | None = None, pred=None) -> Frame:
        """The first received frame matching ``pred``; TimeoutError when none comes."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for i, frame in enumerate(self.pending):
                if pred is None or pred(frame):
                    return self.pending.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.label}: no matching frame within the time limit")
            self._fill(min(left, 0.25))

    def poll(self, timeout: float) -> None:
        """Read whatever arrives within ``timeout`` (frames stay queued)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._fill(min(left, 0.25))

    def reply(self, serial: int, timeout: float | None = None) -> Frame:
        return self.next_frame(
            timeout,
            lambda f: (
                f.header.type in (MessageType.REPLY, MessageType.REPLY_WITH_FDS)
                and f.header.serial == serial
            ),
        )

    def wait_closed(self, timeout: float) -> bool:
        """True when the server closes the connection within ``timeout``."""
        try:
            self.poll(timeout)
        except ConnectionClosed:
            return True
        return self.closed

    def call(self, proc: int | str, args: Any = None, **kw: Any) -> Frame:
        """Send a CALL and return its REPLY frame (OK or ERROR)."""
        return self.reply(self.send(proc, args, **kw))

    def call_ok(self, proc: str, args: Any = None, **fields: Any) -> Any:
        """Call ``proc``; return the decoded ret (None for void); LibvirtError on an error."""
        found = procedures.resolve(proc)
        assert found is not None, proc
        reply = self.call(proc, args, **fields)
        if reply.header.status == MessageStatus.ERROR:
            raise LibvirtError.unpack(reply.payload, False)
        if found.ret is None:
            return None
        try:
            return found.ret.unpack(reply.payload)
        except TrailingBytes as exc:
            return exc.value

    def call_error(self, proc: str, args: Any = None, **fields: Any) -> LibvirtError | None:
        """Call ``proc`` expecting an error reply; None when it succeeded."""
        try:
            self.call_ok(proc, args, **fields)
        except LibvirtError as err:
            return err
        return None

    def events(self, proc: int | None = None) -> list[Frame]:
        """Take every queued event MESSAGE (of ``proc``) in arrival order."""
        taken = [
            f
            for f in self.pending
            if f.header.type == MessageType.MESSAGE
            and f.header.prog != KEEPALIVE_PROGRAM
            and (proc is None or f.header.proc == proc)
        ]
        self.pending = [f for f in self.pending if f not in taken]
        return taken

    def wait_events(self, proc: int, count: int, timeout: float | None = None) -> list[Frame]:
        """Queued plus newly arriving events of ``proc`` until ``count`` (or the time limit)."""
        got = self.events(proc)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._fill(min(left, 0.25))
            got += self.events(proc)
        return got
