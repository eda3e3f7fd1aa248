"""Fuzz targets: one function per attack surface, each with its oracle.

Every target takes an input (bytes, text or a list of frames) and either returns normally or
raises :class:`FuzzCrash`: the input made the code under test do something it must never do
(raise an undocumented exception, hang, stop serving). Expected rejections (the documented
error types) are a normal return. The same targets are driven by hypothesis in the test suite
(``tests/fuzz``) and by the mutation loop of ``virtwire fuzz`` (:mod:`virtwire.tools.fuzz`).

* ``frames``: :class:`~virtwire.protocol.framing.FrameDecoder` fed in arbitrary chunks may only
  raise :class:`~virtwire.protocol.framing.RemoteProtocolError`; what it decodes re-encodes to
  the very bytes it came from.
* ``codecs``: every generated codec (each type of each program's ``CODECS``, which includes
  every procedure's args/ret/msg) decoding any bytes may only raise
  :class:`~virtwire.xdr.runtime.XdrError`; a value it accepts encodes again, and that encoding
  decodes to an equal encoding.
* ``domxml``: a domain document (valid ones mutated) is a domain or a
  :class:`~virtwire.protocol.errors.LibvirtError`; a domain formats back to text.
* ``session``: a live in-process daemon gets a sequence of frames on one connection: every
  CALL with a well-formed header gets a reply or the connection is closed; no exception
  reaches asyncio's handler; a second client is served afterwards.
"""

from __future__ import annotations

import logging
import math
import socket
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    RemoteProtocolError,
    encode_frame,
)
from virtwire.protocol.generated import (
    admin_protocol,
    lxc_protocol,
    qemu_protocol,
    remote_protocol,
    virkeepaliveprotocol,
    virnetprotocol,
)
from virtwire.server.hypervisor import domxml
from virtwire.xdr.runtime import Codec, XdrError

__all__ = [
    "CODECS",
    "DOMAIN_SEEDS",
    "FuzzCrash",
    "SessionTarget",
    "check_codec",
    "check_domxml",
    "check_frames",
    "seed_frames",
    "zero_encoding",
]


class FuzzCrash(AssertionError):
    """An input broke a target's oracle; ``target`` and ``data`` reproduce it."""

    def __init__(self, target: str, detail: str, data: object) -> None:
        super().__init__(f"{target}: {detail}")
        self.target = target
        self.detail = detail
        self.data = data


# --- frames ------------------------------------------------------------------------------


def check_frames(data: bytes, cuts: Sequence[int] = ()) -> int:
    """Feed ``data`` split at ``cuts``; return how many frames it decoded."""
    decoder = FrameDecoder()
    frames: list[Frame] = []
    failed = False
    bounds = sorted({c for c in cuts if 0 < c < len(data)})
    start = 0
    try:
        for end in [*bounds, len(data)]:
            frames += decoder.feed(data[start:end])
            start = end
    except RemoteProtocolError as exc:
        frames += exc.frames
        failed = True
    except Exception as exc:  # the oracle: nothing else may escape
        raise FuzzCrash("frames", f"{type(exc).__name__}: {exc}", data) from exc
    again = b"".join(encode_frame(f.header, f.payload, f.nfds) for f in frames)
    if not data.startswith(again):
        raise FuzzCrash("frames", "decoded frames do not re-encode to their input", data)
    if not failed and len(again) + decoder.buffered != len(data):
        raise FuzzCrash("frames", "bytes lost between frames and the partial buffer", data)
    return len(frames)


# --- codecs ------------------------------------------------------------------------------

_MODULES = (
    remote_protocol,
    qemu_protocol,
    lxc_protocol,
    admin_protocol,
    virnetprotocol,
    virkeepaliveprotocol,
)

#: every generated codec by ``module.type_name``; procedures' args/ret/msg are among them
CODECS: dict[str, Codec] = {
    f"{module.__name__.rsplit('.', 1)[1]}.{name}": codec
    for module in _MODULES
    for name, codec in sorted(module.CODECS.items())
}


def _same(a: object, b: object) -> bool:
    """Equality that takes NaN as equal to itself (a double field may carry one)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def check_codec(name: str, data: bytes) -> bool:
    """Decode ``data`` with codec ``name``; True when it was accepted."""
    codec = CODECS[name]
    try:
        value = codec.unpack(data)
    except XdrError:
        return False
    except Exception as exc:
        raise FuzzCrash("codecs", f"{name}: {type(exc).__name__}: {exc}", (name, data)) from exc
    try:
        packed = codec.pack(value)
        repacked = codec.pack(codec.unpack(packed))
    except Exception as exc:
        raise FuzzCrash(
            "codecs", f"{name}: accepted value does not round-trip: {exc!r}", (name, data)
        ) from exc
    if packed != repacked:
        raise FuzzCrash("codecs", f"{name}: encoding is not stable", (name, data))
    return True


def zero_encoding(name: str) -> bytes | None:
    """The shortest run of zero bytes codec ``name`` accepts (a valid seed), if any ≤ 1 KiB."""
    codec = CODECS[name]
    for size in range(0, 1024, 4):
        try:
            codec.unpack(bytes(size))
        except XdrError:
            continue
        return bytes(size)
    return None


# --- domain XML --------------------------------------------------------------------------

DOMAIN_SEEDS: tuple[str, ...] = (
    "<domain type='qemu'><name>f1</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os></domain>",
    "<domain type='kvm'><name>f2</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
    "<maxMemory slots='4' unit='KiB'>4194304</maxMemory>"
    "<memory unit='GiB'>1</memory><currentMemory unit='MiB'>512</currentMemory>"
    "<vcpu placement='static'>2</vcpu><os><type arch='x86_64' machine='pc'>hvm</type>"
    "<boot dev='hd'/></os><cpu><numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>"
    "</numa></cpu><features><acpi/><apic/></features><clock offset='utc'/>"
    "<on_poweroff>destroy</on_poweroff><devices>"
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "<source file='/var/lib/libvirt/images/f2.qcow2'/><target dev='vda' bus='virtio'/></disk>"
    "<interface type='network'><source network='default'/><model type='virtio'/></interface>"
    "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target>"
    "</memory><console type='pty'/></devices></domain>",
)

_VIRT_TYPES = ("qemu", "kvm")


def check_domxml(text: str) -> bool:
    """Parse ``text`` as a domain definition; True when it is one (and formats back)."""
    try:
        ddef = domxml.parse_domain(text, _VIRT_TYPES, "x86_64")
        domxml.apply_defaults(ddef)
    except LibvirtError:
        return False
    except Exception as exc:
        raise FuzzCrash("domxml", f"{type(exc).__name__}: {exc}", text) from exc
    try:
        domxml.format_xml(ddef.tree)
    except Exception as exc:
        raise FuzzCrash("domxml", f"accepted domain does not format: {exc!r}", text) from exc
    return True


# --- live session ------------------------------------------------------------------------


def _call(proc_name: str, args: object = None, serial: int = 0) -> bytes:
    proc = procedures.resolve(proc_name)
    assert proc is not None, proc_name
    payload = proc.args.pack(args) if proc.args is not None else b""
    header = Header(REMOTE_PROGRAM, 1, proc.number, MessageType.CALL, serial, MessageStatus.OK)
    return encode_frame(header, payload)


def seed_frames() -> list[bytes]:
    """The valid calls a session is built from (a virsh-like prologue and lookups)."""
    rp = remote_protocol
    dom = rp.RemoteNonnullDomain(name="test", uuid=bytes(16), id=1)
    return [
        _call("AUTH_LIST"),
        _call("CONNECT_SUPPORTS_FEATURE", rp.RemoteConnectSupportsFeatureArgs(feature=10)),
        _call("CONNECT_OPEN", rp.RemoteConnectOpenArgs(name="test:///default", flags=0)),
        _call("CONNECT_GET_TYPE"),
        _call("CONNECT_LIST_DOMAINS", rp.RemoteConnectListDomainsArgs(maxids=16)),
        _call("DOMAIN_LOOKUP_BY_NAME", rp.RemoteDomainLookupByNameArgs(name="test")),
        _call("DOMAIN_GET_XML_DESC", rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0)),
        _call("DOMAIN_GET_INFO", rp.RemoteDomainGetInfoArgs(dom=dom)),
        _call(
            "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
            rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=0, dom=None),
        ),
        _call("DOMAIN_SUSPEND", rp.RemoteDomainSuspendArgs(dom=dom)),
        _call("DOMAIN_RESUME", rp.RemoteDomainResumeArgs(dom=dom)),
        _call("CONNECT_CLOSE"),
    ]


_WORD = struct.Struct(">I")
_REPLY_WAIT = 10.0  # a loaded 2-core machine; a hang is far longer


@dataclass
class _Inbox:
    """What a connection received and has not matched yet."""

    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    frames: list[Frame] = field(default_factory=list)


class _Escaped(logging.Handler):
    """Collects records logged with a traceback of an exception nobody handled."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "asyncio" or "exception" in record.getMessage().lower():
            self.records.append(record)


@dataclass
class SessionStats:
    sessions: int = 0
    frames: int = 0
    replies: int = 0
    closed_by_server: int = 0


class SessionTarget:
    """A daemon on its own loop thread that :meth:`check` drives frame sequences against."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._state_dir = state_dir
        self._manager = None
        self.served = None
        self.stats = SessionStats()
        self._escaped = _Escaped()

    def __enter__(self) -> SessionTarget:
        from virtwire.server.config import ServerConfig
        from virtwire.server.embed import serve_sync

        # small limits keep a long run cheap; the checks are the same
        config = ServerConfig(max_clients=20, max_anonymous_clients=20)
        self._manager = serve_sync(state_dir=self._state_dir, config=config)
        self.served = self._manager.__enter__()
        logging.getLogger().addHandler(self._escaped)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._escaped)
        assert self._manager is not None
        self._manager.__exit__(None, None, None)

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(_REPLY_WAIT)
        sock.connect(str(self.served.socket))
        return sock

    def check(self, frames: Sequence[bytes]) -> None:
        """Send ``frames`` one by one on a fresh connection, checking each call is answered.

        A mirror of the server's decoder sees the byte stream as the server does (a mutated
        length word makes the next "frame" start inside this one): every well-formed CALL
        it completes must be answered, and after a framing violation the server must close.
        """
        self.stats.sessions += 1
        sock = self._connect()
        decoder = _Inbox()
        mirror = FrameDecoder()
        try:
            for i, frame in enumerate(frames):
                if not self._send(sock, frame):
                    self.stats.closed_by_server += 1
                    return
                self.stats.frames += 1
                try:
                    seen = mirror.feed(frame)
                except RemoteProtocolError as exc:
                    seen = exc.frames
                    if not self._answered(sock, decoder, seen, frames, i):
                        return
                    if not self._closes(sock):
                        raise FuzzCrash(
                            "session", f"frame {i}: bad framing, connection not closed", frames
                        ) from None
                    self.stats.closed_by_server += 1
                    return
                if not self._answered(sock, decoder, seen, frames, i):
                    return
        finally:
            sock.close()
            self._check_escaped(frames)
        self._check_serving(frames)

    def _answered(
        self,
        sock: socket.socket,
        decoder: _Inbox,
        seen: list[Frame],
        frames: Sequence[bytes],
        i: int,
    ) -> bool:
        """Wait for the reply to each well-formed CALL in ``seen``; False if the server closed."""
        for frame in seen:
            h = frame.header
            if not (
                h.prog == REMOTE_PROGRAM
                and h.vers == 1
                and h.type == MessageType.CALL
                and h.status == MessageStatus.OK
            ):
                continue
            got = self._reply(sock, decoder, h.serial)
            if got is None:
                self.stats.closed_by_server += 1
                return False
            if not got:
                raise FuzzCrash("session", f"frame {i} (serial {h.serial}) unanswered", frames)
            self.stats.replies += 1
        return True

    @staticmethod
    def _closes(sock: socket.socket) -> bool:
        deadline = time.monotonic() + _REPLY_WAIT
        while time.monotonic() < deadline:
            try:
                if not sock.recv(1 << 20):
                    return True
            except TimeoutError:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False

    @staticmethod
    def _send(sock: socket.socket, frame: bytes) -> bool:
        try:
            sock.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    @staticmethod
    def _reply(sock: socket.socket, inbox: _Inbox, serial: int) -> bool | None:
        """True: the reply came; None: the server closed the connection; False: a hang."""
        deadline = time.monotonic() + _REPLY_WAIT
        while True:
            for k, frame in enumerate(inbox.frames):
                h = frame.header
                if h.type == MessageType.REPLY and h.serial == serial:
                    del inbox.frames[: k + 1]
                    return True
            inbox.frames.clear()
            if time.monotonic() >= deadline:
                return False
            try:
                data = sock.recv(1 << 20)
            except TimeoutError:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not data:
                return None
            try:
                inbox.frames = inbox.decoder.feed(data)
            except RemoteProtocolError as exc:
                raise FuzzCrash("session", f"the server sent bad framing: {exc}", []) from exc

    def _check_escaped(self, frames: Sequence[bytes]) -> None:
        if self._escaped.records:
            record = self._escaped.records[0]
            self._escaped.records.clear()
            raise FuzzCrash("session", f"unhandled exception logged: {record.getMessage()}", frames)

    def _check_serving(self, frames: Sequence[bytes]) -> None:
        """A second client still gets its prologue answered."""
        sock = self._connect()
        decoder = _Inbox()
        try:
            for serial, frame in enumerate(seed_frames()[:4]):
                frame = _with_serial(frame, serial)
                if not self._send(sock, frame) or not self._reply(sock, decoder, serial):
                    raise FuzzCrash("session", "the daemon stopped serving new clients", frames)
        finally:
            sock.close()


def _with_serial(frame: bytes, serial: int) -> bytes:
    return frame[:20] + _WORD.pack(serial & 0xFFFFFFFF) + frame[24:]


def numbered(frames: Sequence[bytes]) -> Iterator[bytes]:
    """``frames`` with serials 0, 1, 2 ... where the header is long enough to carry one."""
    for serial, frame in enumerate(frames):
        yield _with_serial(frame, serial) if len(frame) >= 24 else frame
