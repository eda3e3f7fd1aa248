"""The named checks of ``virtwire conformance`` and the machinery that runs them.

A check is a function ``(ctx, ev) -> str`` registered with :func:`check`: it opens raw
connections through ``ctx`` (every frame lands in ``ev``, its evidence), calls
:func:`expect` / :func:`expect_error` / :func:`skip`, and returns a one-line summary on
success. Its docstring says what libvirt does and, where libvirtd and virtwire may
legitimately differ, why the check accepts both.

Expected values are libvirt 9.0's (``spec/libvirt-protocol.md`` §7.5 and §9); libvirt 11+
sends error templates in the ``"%1$s"`` form, which compares equal to ``"%s"`` here.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import threading
import time
import traceback
import uuid as uuidlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from virtwire.client.uri import ConnectURI, parse_uri
from virtwire.protocol import procedures
from virtwire.protocol.constants import (
    FRAME_MIN,
    KEEPALIVE_PROC_PING,
    KEEPALIVE_PROC_PONG,
    KEEPALIVE_PROGRAM,
    MESSAGE_MAX,
    REMOTE_PROGRAM,
    Feature,
)
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.framing import Frame, Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.tools.conformance_wire import (
    ConnectionClosed,
    Evidence,
    UnsupportedTransport,
    WireConn,
    connect_socket,
    error_dict,
)

__all__ = [
    "CHECKS",
    "Check",
    "CheckFailed",
    "CheckSkipped",
    "Context",
    "Result",
    "run_checks",
    "select_checks",
]

# --- registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    doc: str
    fn: Callable[[Context, Evidence], str]


CHECKS: list[Check] = []


def check(name: str, title: str):
    def register(fn: Callable[[Context, Evidence], str]) -> Callable[[Context, Evidence], str]:
        doc = " ".join((fn.__doc__ or "").split())
        CHECKS.append(Check(name, title, doc, fn))
        return fn

    return register


class CheckFailed(Exception):
    pass


class CheckSkipped(Exception):
    pass


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def skip(reason: str) -> None:
    raise CheckSkipped(reason)


def _template(text: str | None) -> str | None:
    """libvirt 11+ writes positional templates ("%1$s"); 9.0 writes "%s"."""
    return None if text is None else text.replace("%1$s", "%s")


def expect_error(
    ev: Evidence,
    err: LibvirtError | None,
    code: int,
    domain: int,
    detail: str | None,
    what: str,
) -> LibvirtError:
    """``err`` must carry exactly the 11 fields libvirt's error helper would fill."""
    expected = LibvirtError.make(code, domain, detail)
    if err is None:
        raise CheckFailed(f"{what}: the call succeeded; expected error {expected.message!r}")
    ev.note(f"expected error fields: {error_dict(expected)}")
    names = (
        "code",
        "domain",
        "message",
        "level",
        "dom",
        "str1",
        "str2",
        "str3",
        "int1",
        "int2",
        "net",
    )
    got = list(err.fields())
    want = list(expected.fields())
    got[5], want[5] = _template(got[5]), _template(want[5])
    wrong = [
        f"{n}={g!r} (expected {w!r})"
        for n, g, w in zip(names, got, want)
        if (int(g) if n in ("code", "domain", "level") else g)
        != (int(w) if n in ("code", "domain", "level") else w)
    ]
    if wrong:
        raise CheckFailed(f"{what}: wrong error fields: " + "; ".join(wrong))
    return err


def reply_error(frame: Frame) -> LibvirtError | None:
    if frame.header.status != MessageStatus.ERROR:
        return None
    return LibvirtError.unpack(frame.payload, False)


# --- results and context -----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    title: str
    status: str  # "pass" | "fail" | "skip"
    message: str
    doc: str
    duration: float
    evidence: Evidence = field(repr=False, default_factory=Evidence)


TEST_DOMAIN_NAME = "test"
LIFECYCLE = 0
DEVICE_REMOVED = 15
DEVICE_ADDED = 19
PROC_LIFECYCLE = procedures.resolve("DOMAIN_EVENT_CALLBACK_LIFECYCLE").number
PROC_DEVICE_ADDED = procedures.resolve("DOMAIN_EVENT_CALLBACK_DEVICE_ADDED").number
PROC_DEVICE_REMOVED = procedures.resolve("DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED").number


class Context:
    """What every check shares: the target URI, limits, and the keepalive observation."""

    def __init__(self, uri: str, *, timeout: float = 5.0, keepalive_budget: float = 40.0) -> None:
        self.uri_text = uri
        self.uri: ConnectURI = parse_uri(uri)
        self.timeout = timeout
        self.keepalive_budget = keepalive_budget
        self._ka_thread: threading.Thread | None = None
        self._ka: KeepaliveObservation | None = None
        self._label = 0

    @property
    def driver(self) -> str:
        return self.uri.driver

    @property
    def open_name(self) -> str:
        return self.uri.open_name()

    def connect(self, ev: Evidence, label: str | None = None) -> WireConn:
        self._label += 1
        sock = connect_socket(self.uri, self.timeout)
        return WireConn(sock, label or f"c{self._label}", ev, self.timeout)

    def opened(self, ev: Evidence, readonly: bool = False, label: str | None = None) -> WireConn:
        """A connection after AUTH_LIST and CONNECT_OPEN of the URI's driver (as virsh)."""
        conn = self.connect(ev, label)
        conn.call_ok("AUTH_LIST")
        conn.call_ok("CONNECT_OPEN", name=self.open_name, flags=self.uri.open_flags(readonly))
        return conn

    # keepalive runs in the background while the other checks run, since it must wait
    def start_keepalive_observation(self) -> None:
        if self._ka_thread is None:
            self._ka = KeepaliveObservation(self)
            self._ka_thread = threading.Thread(target=self._ka.run, daemon=True)
            self._ka_thread.start()

    def keepalive_observation(self) -> KeepaliveObservation:
        self.start_keepalive_observation()
        assert self._ka_thread is not None and self._ka is not None
        self._ka_thread.join()
        return self._ka


# --- helpers used by several checks --------------------------------------------------------------


def lookup(conn: WireConn, name: str) -> Any:
    return conn.call_ok("DOMAIN_LOOKUP_BY_NAME", name=name).dom


def find_test_domain(ctx: Context, conn: WireConn) -> Any:
    """The test driver's built-in running domain, or skip."""
    if ctx.driver != "test":
        skip(f"needs the test driver's '{TEST_DOMAIN_NAME}' domain (URI driver is '{ctx.driver}')")
    try:
        dom = lookup(conn, TEST_DOMAIN_NAME)
    except LibvirtError as err:
        skip(f"no '{TEST_DOMAIN_NAME}' domain on this host: {err}")
    state = conn.call_ok("DOMAIN_GET_STATE", dom=dom, flags=0).state
    if state != 1:
        skip(f"domain '{TEST_DOMAIN_NAME}' is not running (state {state})")
    return dom


@contextlib.contextmanager
def running_domain(ctx: Context, conn: WireConn) -> Iterator[Any]:
    """The test driver's domain 'test'; on other drivers a scratch guest this defines, starts,
    and destroys and undefines afterwards (skip when the host cannot run one)."""
    if ctx.driver == "test":
        yield find_test_domain(ctx, conn)
        return
    name = scratch_name()
    try:
        dom = conn.call_ok("DOMAIN_DEFINE_XML", xml=minimal_domain_xml(ctx.driver, name)).dom
    except LibvirtError as err:
        skip(f"cannot define a scratch {ctx.driver} guest: {err}")
    try:
        try:
            conn.call_ok("DOMAIN_CREATE", dom=dom)
        except LibvirtError as err:
            skip(f"cannot start a scratch {ctx.driver} guest: {err}")
        yield lookup(conn, name)
    finally:
        try:
            if _state(conn, dom) != 5:
                conn.call_ok("DOMAIN_DESTROY", dom=dom)
        finally:
            conn.call_ok("DOMAIN_UNDEFINE", dom=dom)


def register(conn: WireConn, event_id: int, dom: Any = None) -> int:
    return conn.call_ok(
        "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=event_id, dom=dom
    ).callbackID


def lifecycle_pairs(frames: list[Frame]) -> list[tuple[int, int]]:
    out = []
    for f in frames:
        msg = rp.unpack_remote_domain_event_callback_lifecycle_msg(f.payload)
        out.append((int(msg.msg.event), int(msg.msg.detail)))
    return out


def scratch_name() -> str:
    return f"vwconf-{os.getpid()}-{uuidlib.uuid4().hex[:6]}"


def minimal_domain_xml(driver: str, name: str) -> str:
    if driver == "test":
        return (
            f"<domain type='test'><name>{name}</name><memory unit='KiB'>8192</memory>"
            "<os><type>hvm</type></os></domain>"
        )
    return (
        f"<domain type='qemu'><name>{name}</name><memory unit='KiB'>262144</memory>"
        "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices/></domain>"
    )


def hotplug_domain_xml(name: str) -> str:
    """A QEMU guest that can take DIMMs: maxMemory slots, a NUMA cell and ACPI."""
    return (
        f"<domain type='qemu'><name>{name}</name>"
        "<maxMemory slots='4' unit='KiB'>4194304</maxMemory>"
        "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os>"
        "<cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>"
        "<features><acpi/></features><devices/></domain>"
    )


DIMM_XML = (
    "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>"
)


def expect_no_reply_and_closed(ctx: Context, conn: WireConn, what: str) -> str:
    try:
        conn.poll(ctx.timeout)
    except ConnectionClosed:
        pass
    got = [f for f in conn.pending if f.header.type == MessageType.REPLY]
    expect(not got, f"{what}: the server answered instead of closing the connection")
    expect(conn.closed, f"{what}: the connection stayed open for {ctx.timeout:g} s")
    return f"{what}: connection closed, nothing sent"


# --- framing --------------------------------------------------------------------------------------


@check("framing.length-too-small", "a length word below 28 closes the connection")
def _length_too_small(ctx: Context, ev: Evidence) -> str:
    """libvirt decodes the length word first; a message shorter than the 28-byte minimum (4-byte
    length + 24-byte header) cannot hold a header, so the daemon drops the connection without
    any reply. The check sends the length word 27 followed by 23 bytes."""
    conn = ctx.connect(ev)
    conn.send_raw((FRAME_MIN - 1).to_bytes(4, "big") + bytes(23))
    return expect_no_reply_and_closed(ctx, conn, "length 27")


@check("framing.length-too-large", "a length word above MESSAGE_MAX + 4 closes the connection")
def _length_too_large(ctx: Context, ev: Evidence) -> str:
    """The largest length word libvirt accepts is VIR_NET_MESSAGE_MAX + 4 = 33554436; a larger
    one is refused as soon as its 4 bytes are in (before any body is read), and the connection
    is closed without a reply. The check sends 33554437 and a valid-looking header."""
    conn = ctx.connect(ev)
    header = encode_frame(Header(REMOTE_PROGRAM, 1, 66, 0, 0, 0))[4:]
    conn.send_raw((MESSAGE_MAX + 5).to_bytes(4, "big") + header)
    return expect_no_reply_and_closed(ctx, conn, "length 33554437")


@check("framing.length-max-accepted", "a message of exactly MESSAGE_MAX + 4 bytes is accepted")
def _length_max(ctx: Context, ev: Evidence) -> str:
    """The boundary: a length word of 33554436 is the largest libvirt reads. The check sends an
    AUTH_LIST call padded to that size with zero bytes; libvirt decodes the (void) arguments and
    ignores the bytes after them, so the call is answered normally."""
    conn = ctx.connect(ev)
    total = MESSAGE_MAX + 4
    header = Header(REMOTE_PROGRAM, 1, 66, 0, 0, 0)
    padding = bytes(total - FRAME_MIN)
    data = encode_frame(header, padding)
    ev.frame(
        conn.label, "sent", Frame(header, b""), f"padded with {len(padding)} zero bytes", total
    )
    conn.sock.sendall(data)
    reply = conn.reply(0, max(ctx.timeout, 10.0))
    expect(reply.header.status == MessageStatus.OK, "AUTH_LIST of maximal length failed")
    return f"{total}-byte message answered"


@check("framing.split-byte-by-byte", "a call sent one byte per write is still answered")
def _split(ctx: Context, ev: Evidence) -> str:
    """A stream socket has no message boundaries: the daemon must reassemble a frame that arrives
    in 28 separate one-byte writes (AUTH_LIST, serial 0) and answer it."""
    conn = ctx.connect(ev)
    data = encode_frame(Header(REMOTE_PROGRAM, 1, 66, 0, 0, 0))
    ev.frame(
        conn.label,
        "sent",
        Frame(Header(REMOTE_PROGRAM, 1, 66, 0, 0, 0), b""),
        "28 writes of 1 byte",
    )
    for i in range(len(data)):
        conn.sock.sendall(data[i : i + 1])
        time.sleep(0.005)
    reply = conn.reply(0)
    expect(reply.header.status == MessageStatus.OK, "AUTH_LIST failed")
    return "answered a frame delivered byte by byte"


@check("framing.two-calls-one-write", "two calls in one write get two replies")
def _two_in_one(ctx: Context, ev: Evidence) -> str:
    """The opposite split: two complete frames in one segment must both be answered."""
    conn = ctx.connect(ev)
    frames = [Frame(Header(REMOTE_PROGRAM, 1, 66, 0, s, 0), b"") for s in (0, 1)]
    for f in frames:
        ev.frame(conn.label, "sent", f, "both in one write")
    conn.sock.sendall(b"".join(encode_frame(f.header) for f in frames))
    conn.reply(0)
    conn.reply(1)
    return "both answered"


# --- header validation ----------------------------------------------------------------------------


def _expect_rpc_error(ctx, ev, conn, frame_kw, message, *, echo=None) -> Frame:
    serial = conn.send(**frame_kw)
    try:
        reply = conn.reply(serial)
    except TimeoutError:
        raise CheckFailed(f"no reply with serial {serial} (expected {message!r})") from None
    if echo is not None:
        prog, vers = echo
        expect(
            (reply.header.prog, reply.header.vers) == (prog, vers),
            f"the reply's header has prog/vers {reply.header.prog}/{reply.header.vers}; "
            f"libvirt echoes the caller's {prog}/{vers}",
        )
    expect(reply.header.type == MessageType.REPLY, "not a REPLY")
    proc = frame_kw["proc"]
    if isinstance(proc, str):
        proc = procedures.resolve(proc).number
    expect(reply.header.proc == proc, f"reply proc {reply.header.proc}, call proc {proc}")
    expect_error(ev, reply_error(reply), ErrorCode.RPC, ErrorDomain.RPC, message, "reply")
    return reply


@check("header.unknown-program", "an unknown program gets 'Cannot find program P version V'")
def _unknown_program(ctx: Context, ev: Evidence) -> str:
    """The daemon matches (prog, vers) exactly; for an unknown pair it replies RPC error (39, 7)
    "Cannot find program P version V" (decimal) and echoes the caller's prog and vers in the
    reply header."""
    conn = ctx.connect(ev)
    prog = 0x12345678
    _expect_rpc_error(
        ctx,
        ev,
        conn,
        {"proc": 3, "prog": prog},
        f"Cannot find program {prog} version 1",
        echo=(prog, 1),
    )
    return "error with the caller's prog/vers echoed"


@check("header.unknown-version", "a known program with another version is refused")
def _unknown_version(ctx: Context, ev: Evidence) -> str:
    """REMOTE program version 7 is not REMOTE version 1: same "Cannot find program" error,
    version echoed."""
    conn = ctx.connect(ev)
    _expect_rpc_error(
        ctx,
        ev,
        conn,
        {"proc": 3, "vers": 7},
        f"Cannot find program {REMOTE_PROGRAM} version 7",
        echo=(REMOTE_PROGRAM, 7),
    )
    return "refused with the version echoed"


@check("header.status-not-ok", "a CALL whose status is not OK is refused")
def _bad_status(ctx: Context, ev: Evidence) -> str:
    """A CALL must carry status OK; libvirt answers "Unexpected message status N" (39, 7)."""
    conn = ctx.connect(ev)
    _expect_rpc_error(ctx, ev, conn, {"proc": 66, "status": 1}, "Unexpected message status 1")
    return "refused"


@check("header.unknown-procedure", "unknown procedure numbers get 'unknown procedure: N'")
def _unknown_proc(ctx: Context, ev: Evidence) -> str:
    """Numbers without a handler (9999, 0, and event procedures such as 318 used as a CALL) get
    RPC error "unknown procedure: N" (39, 7); libvirt's client turns that into NO_SUPPORT."""
    conn = ctx.connect(ev)
    conn.call_ok("AUTH_LIST")
    for proc in (9999, 0, PROC_LIFECYCLE):
        _expect_rpc_error(ctx, ev, conn, {"proc": proc}, f"unknown procedure: {proc}")
    return "9999, 0 and event 318 refused"


@check("header.undecodable-payload", "a payload that does not decode is refused")
def _undecodable(ctx: Context, ev: Evidence) -> str:
    """DOMAIN_LOOKUP_BY_NAME whose string claims 255 bytes but carries none: "Unable to decode
    message payload" (39, 7), and the connection stays usable."""
    conn = ctx.opened(ev)
    _expect_rpc_error(
        ctx,
        ev,
        conn,
        {"proc": "DOMAIN_LOOKUP_BY_NAME", "payload": b"\x00\x00\x00\xff"},
        "Unable to decode message payload",
    )
    conn.call_ok("CONNECT_GET_LIB_VERSION")
    return "refused; connection still usable"


@check("header.validation-order", "program, then status, then procedure, then payload")
def _order(ctx: Context, ev: Evidence) -> str:
    """libvirt validates a CALL in this order: the (prog, vers) pair, the status, the procedure
    number, then the payload. Frames with several faults at once must get the error of the
    first one in that order."""
    conn = ctx.opened(ev)
    _expect_rpc_error(
        ctx,
        ev,
        conn,
        {"proc": 9999, "prog": 0x12345678, "status": 1, "payload": b"\xff"},
        f"Cannot find program {0x12345678} version 1",
        echo=(0x12345678, 1),
    )
    _expect_rpc_error(
        ctx,
        ev,
        conn,
        {"proc": 9999, "status": 2, "payload": b"\xff"},
        "Unexpected message status 2",
    )
    _expect_rpc_error(ctx, ev, conn, {"proc": 9999, "payload": b"\xff"}, "unknown procedure: 9999")
    return "program > status > procedure > payload"


@check("header.non-call-ignored", "REPLY/MESSAGE types from a client are dropped silently")
def _non_call(ctx: Context, ev: Evidence) -> str:
    """A client must not send REPLYs or (non-keepalive) MESSAGEs; libvirtd drops them without a
    reply and keeps the connection. The check sends one of each, then AUTH_LIST, and expects
    only the AUTH_LIST reply."""
    conn = ctx.connect(ev)
    conn.send(66, mtype=MessageType.REPLY, serial=40)
    conn.send(66, mtype=MessageType.MESSAGE, serial=41)
    serial = conn.send(66, serial=42)
    conn.reply(serial)
    conn.poll(0.2)
    extra = [f for f in conn.pending if f.header.serial in (40, 41)]
    expect(not extra, "the server answered a non-CALL message")
    return "dropped; the next call was answered"


# --- serials --------------------------------------------------------------------------------------


@check("serial.echoed", "replies carry the serial of their call")
def _serial_echo(ctx: Context, ev: Evidence) -> str:
    """The serial is the client's to choose (libvirt counts from 0) and every REPLY, error
    replies included, copies it. Tried: 0, 7, 0x7fffffff, 0xffffffff."""
    conn = ctx.connect(ev)
    for serial in (0, 7, 0x7FFFFFFF, 0xFFFFFFFF):
        conn.send(66, serial=serial)
        try:
            conn.reply(serial)
        except TimeoutError:
            others = sorted({f.header.serial for _, f in conn.received if f.header.type == 1})
            raise CheckFailed(
                f"no reply with serial {serial}; replies seen carry serials {others}"
            ) from None
    conn.send(9999, serial=12345)
    try:
        reply = conn.reply(12345)
    except TimeoutError:
        raise CheckFailed("the error reply to serial 12345 did not carry that serial") from None
    expect(reply.header.status == MessageStatus.ERROR, "proc 9999 did not fail")
    return "every serial echoed"


@check("serial.many-in-flight", "40 calls in flight at once, replies matched by serial")
def _in_flight(ctx: Context, ev: Evidence) -> str:
    """libvirtd runs up to max_client_requests calls of one client at once, so replies may come
    in any order; each must carry its call's serial and procedure, exactly once."""
    conn = ctx.opened(ev)
    procs = [3, 4, 157, 51]
    sent: dict[int, int] = {}
    chunks = []
    for i in range(40):
        serial = (1000 + i * 7919) & 0xFFFFFFFF
        proc = procs[i % len(procs)]
        header = Header(REMOTE_PROGRAM, 1, proc, 0, serial, 0)
        ev.frame(conn.label, "sent", Frame(header, b""), "all 40 in one write")
        chunks.append(encode_frame(header))
        sent[serial] = proc
    conn.sock.sendall(b"".join(chunks))
    seen: dict[int, int] = {}
    deadline = time.monotonic() + ctx.timeout * 2
    while len(seen) < len(sent) and time.monotonic() < deadline:
        try:
            f = conn.next_frame(0.5, lambda f: f.header.type == MessageType.REPLY)
        except TimeoutError:
            continue
        expect(f.header.serial in sent, f"reply with serial {f.header.serial} that no call had")
        expect(f.header.serial not in seen, f"two replies with serial {f.header.serial}")
        expect(
            f.header.proc == sent[f.header.serial],
            f"reply serial {f.header.serial} has proc {f.header.proc}, its call had {sent[f.header.serial]}",
        )
        expect(f.header.status == MessageStatus.OK, f"call serial {f.header.serial} failed")
        seen[f.header.serial] = f.header.proc
    missing = sorted(set(sent) - set(seen))
    expect(not missing, f"no replies for serials {missing}")
    in_order = list(seen) == list(sent)
    return f"40 replies matched ({'in call order' if in_order else 'out of call order'})"


# --- connection setup -----------------------------------------------------------------------------


@check("connect.auth-list", "AUTH_LIST is answered before anything else")
def _auth_list(ctx: Context, ev: Evidence) -> str:
    """AUTH_LIST (66) is the first call of every libvirt client, even with auth none; it returns
    the socket's one auth type. The rest of this suite needs REMOTE_AUTH_NONE(0)."""
    conn = ctx.connect(ev)
    types = [int(t) for t in conn.call_ok("AUTH_LIST").types]
    expect(types, "empty auth list")
    expect(types == [0], f"auth types {types}: only auth 'none' (0) lets a client in without SASL")
    return "auth types [NONE]"


def _feature(conn: WireConn, feature: int) -> int:
    return conn.call_ok("CONNECT_SUPPORTS_FEATURE", feature=feature).supported


@check("connect.feature-keepalive", "feature 10 (PROGRAM_KEEPALIVE) is supported before OPEN")
def _feature10(ctx: Context, ev: Evidence) -> str:
    """The daemon answers CONNECT_SUPPORTS_FEATURE(10) itself, before CONNECT_OPEN, with 1."""
    conn = ctx.connect(ev)
    conn.call_ok("AUTH_LIST")
    got = _feature(conn, Feature.PROGRAM_KEEPALIVE)
    expect(got == 1, f"supported={got}")
    return "supported=1 before CONNECT_OPEN"


@check("connect.feature-callbacks", "features 14 and 15 (event/close callbacks) are supported")
def _feature14(ctx: Context, ev: Evidence) -> str:
    """After CONNECT_OPEN, REMOTE_EVENT_CALLBACK (14) and REMOTE_CLOSE_CALLBACK (15) are answered
    1 by the daemon (a client then uses procs 316/317 for events)."""
    conn = ctx.opened(ev)
    for feature in (Feature.REMOTE_EVENT_CALLBACK, Feature.REMOTE_CLOSE_CALLBACK):
        got = _feature(conn, feature)
        expect(got == 1, f"feature {int(feature)}: supported={got}")
    return "14 and 15 supported"


@check("connect.call-before-open", "a call before CONNECT_OPEN is refused")
def _before_open(ctx: Context, ev: Evidence) -> str:
    """Calls that need a hypervisor connection fail before CONNECT_OPEN with INTERNAL_ERROR,
    domain RPC: "internal error: hypervisor connection not open" (GET_TYPE, GET_URI and
    SUPPORTS_FEATURE(14))."""
    conn = ctx.connect(ev)
    conn.call_ok("AUTH_LIST")
    for proc, kw in (
        ("CONNECT_GET_TYPE", {}),
        ("CONNECT_GET_URI", {}),
        ("CONNECT_SUPPORTS_FEATURE", {"feature": 14}),
    ):
        expect_error(
            ev,
            conn.call_error(proc, **kw),
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.RPC,
            "hypervisor connection not open",
            proc,
        )
    return "refused with 'hypervisor connection not open'"


@check("connect.open", "CONNECT_OPEN of the URI's driver succeeds")
def _open(ctx: Context, ev: Evidence) -> str:
    """CONNECT_OPEN carries the URI without transport, host and port (test+tcp://h:p/default →
    test:///default); afterwards CONNECT_GET_TYPE answers and a second OPEN is refused with
    INTERNAL_ERROR (1, 7) "connection already open"."""
    conn = ctx.opened(ev)
    kind = conn.call_ok("CONNECT_GET_TYPE").type
    err = conn.call_error("CONNECT_OPEN", name=ctx.open_name, flags=0)
    expect_error(
        ev, err, ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, "connection already open", "second OPEN"
    )
    return f"opened {ctx.open_name!r} (type {kind!r})"


@check("connect.close", "CONNECT_CLOSE is answered, then the server closes")
def _close(ctx: Context, ev: Evidence) -> str:
    """libvirt's daemon flushes the CONNECT_CLOSE reply and then closes the socket."""
    conn = ctx.opened(ev)
    conn.call_ok("CONNECT_CLOSE")
    expect(conn.wait_closed(ctx.timeout), "the connection stayed open after CONNECT_CLOSE")
    return "reply, then EOF"


@check("errors.no-domain", "looking up a missing domain gives NO_DOMAIN from the driver")
def _no_domain(ctx: Context, ev: Evidence) -> str:
    """NO_DOMAIN (42) with the driver's error domain (TEST 12, QEMU 10). libvirt 9.0's test
    driver says just "Domain not found" (no str2); other drivers and newer releases add a
    detail ("no domain with matching name '…'"): both are accepted, the other fields are
    compared exactly."""
    conn = ctx.opened(ev)
    name = scratch_name()
    err = conn.call_error("DOMAIN_LOOKUP_BY_NAME", name=name)
    expect(err is not None, "lookup of a missing domain succeeded")
    domain = {"test": ErrorDomain.TEST, "qemu": ErrorDomain.QEMU}.get(ctx.driver, int(err.domain))
    expect_error(ev, err, ErrorCode.NO_DOMAIN, domain, err.str2, "lookup")
    return f"NO_DOMAIN, domain {int(err.domain)}: {err.message!r}"


# --- read-only connections ------------------------------------------------------------------------


RO_REFUSED = (
    ("DOMAIN_SUSPEND", {}),
    ("DOMAIN_RESUME", {}),
    ("DOMAIN_DESTROY", {}),
    ("DOMAIN_CREATE", {}),
    ("DOMAIN_SHUTDOWN", {}),
    ("DOMAIN_REBOOT", {"flags": 0}),
    ("DOMAIN_UNDEFINE", {}),
    ("DOMAIN_SET_MEMORY_FLAGS", {"memory": 1048576, "flags": 1}),
    ("DOMAIN_ATTACH_DEVICE_FLAGS", {"xml": DIMM_XML, "flags": 1}),
    ("DOMAIN_DETACH_DEVICE_FLAGS", {"xml": DIMM_XML, "flags": 1}),
    ("DOMAIN_DEFINE_XML", None),
)


def _ro_domain(ctx: Context, conn: WireConn) -> Any:
    if ctx.driver == "test":
        try:
            return lookup(conn, TEST_DOMAIN_NAME)
        except LibvirtError:
            pass
    # the read-only check comes before any lookup of the handle, so a made-up domain does
    return rp.RemoteNonnullDomain(name=scratch_name(), uuid=uuidlib.uuid4().bytes, id=-1)


@check("readonly.state-changing-refused", "a read-only connection cannot change state")
def _ro_refused(ctx: Context, ev: Evidence) -> str:
    """CONNECT_OPEN with flag VIR_CONNECT_RO (1) makes the connection read-only; libvirt's API
    layer then refuses every state-changing API with OPERATION_DENIED (29), domain DOMAIN (20):
    "operation forbidden: read only access prevents virXxx", before looking at the domain."""
    conn = ctx.opened(ev, readonly=True)
    dom = _ro_domain(ctx, conn)
    refused = []
    for name, extra in RO_REFUSED:
        proc = procedures.resolve(name)
        fields = (
            {"xml": minimal_domain_xml(ctx.driver, scratch_name())}
            if extra is None
            else {"dom": dom, **extra}
        )
        expect(proc.changes_state and proc.api, f"registry: {name} is not marked state-changing")
        err = conn.call_error(name, **fields)
        expect_error(
            ev,
            err,
            ErrorCode.OPERATION_DENIED,
            ErrorDomain[proc.error_domain],
            f"read only access prevents {proc.api}",
            name,
        )
        refused.append(proc.api)
    if ctx.driver == "test" and dom.name == TEST_DOMAIN_NAME:
        state = conn.call_ok("DOMAIN_GET_STATE", dom=dom, flags=0).state
        expect(state == 1, f"domain 'test' changed state to {state} on a read-only connection")
    return f"{len(refused)} APIs refused"


@check("readonly.secure-xml-refused", "read-only connections cannot get secure XML")
def _ro_secure(ctx: Context, ev: Evidence) -> str:
    """DOMAIN_GET_XML_DESC is allowed read-only, except with VIR_DOMAIN_XML_SECURE (1):
    OPERATION_DENIED "operation forbidden: virDomainGetXMLDesc with secure flag"."""
    conn = ctx.opened(ev, readonly=True)
    dom = _ro_domain(ctx, conn)
    err = conn.call_error("DOMAIN_GET_XML_DESC", dom=dom, flags=1)
    expect_error(
        ev,
        err,
        ErrorCode.OPERATION_DENIED,
        ErrorDomain.DOMAIN,
        "virDomainGetXMLDesc with secure flag",
        "secure XML",
    )
    return "refused"


@check("readonly.queries-allowed", "a read-only connection may query and register for events")
def _ro_allowed(ctx: Context, ev: Evidence) -> str:
    """Lookups, listing, state, info and event (de)registration are allowed read-only."""
    conn = ctx.opened(ev, readonly=True)
    conn.call_ok("CONNECT_LIST_ALL_DOMAINS", need_results=1, flags=0)
    conn.call_ok("CONNECT_GET_LIB_VERSION")
    if ctx.driver == "test":
        dom = lookup(conn, TEST_DOMAIN_NAME)
        conn.call_ok("DOMAIN_GET_STATE", dom=dom, flags=0)
        conn.call_ok("DOMAIN_GET_INFO", dom=dom)
        conn.call_ok("DOMAIN_GET_XML_DESC", dom=dom, flags=0)
    cb = register(conn, LIFECYCLE)
    conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    return "queries and event registration allowed"


# --- events ----------------------------------------------------------------------------------------


@check("events.callback-ids-increasing", "CALLBACK_REGISTER_ANY returns increasing callback IDs")
def _ids(ctx: Context, ev: Evidence) -> str:
    """Callback IDs come from the driver's event state: driver-wide (shared by all clients),
    starting at 0, never reused. Three registrations on one connection and one on a second must
    return strictly increasing IDs; each deregisters with a void reply."""
    a = ctx.opened(ev, label="a")
    b = ctx.opened(ev, label="b")
    ids = [register(a, eid) for eid in (0, 1, 2)]
    ids.append(register(b, 0))
    expect(all(x < y for x, y in zip(ids, ids[1:])), f"callback IDs not increasing: {ids}")
    for cb in ids[:3]:
        a.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    b.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=ids[3])
    again = register(a, 0)
    expect(again > ids[-1], f"ID {again} after deregistering {ids}: IDs are never reused")
    return f"IDs {ids + [again]}"


@check("events.deregister-unknown", "deregistering an unknown callback ID is refused")
def _dereg_unknown(ctx: Context, ev: Evidence) -> str:
    """CALLBACK_DEREGISTER_ANY of an ID this client does not hold: INTERNAL_ERROR (1, 7)
    "internal error: domain event callback N not registered" — also for an ID that another
    client holds."""
    a = ctx.opened(ev, label="a")
    b = ctx.opened(ev, label="b")
    expect_error(
        ev,
        a.call_error("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=999999),
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.RPC,
        "domain event callback 999999 not registered",
        "unknown ID",
    )
    theirs = register(b, LIFECYCLE)
    expect_error(
        ev,
        a.call_error("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=theirs),
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.RPC,
        f"domain event callback {theirs} not registered",
        "another client's ID",
    )
    b.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=theirs)
    return "refused for unknown and foreign IDs"


@check("events.unsupported-event-id", "event IDs out of range are refused")
def _bad_event_id(ctx: Context, ev: Evidence) -> str:
    """Legacy REGISTER_ANY (167) takes only event IDs 0..15 and CALLBACK_REGISTER_ANY (316)
    0..VIR_DOMAIN_EVENT_ID_LAST-1: otherwise INTERNAL_ERROR "unsupported event ID N"."""
    conn = ctx.opened(ev)
    expect_error(
        ev,
        conn.call_error("CONNECT_DOMAIN_EVENT_REGISTER_ANY", eventID=16),
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.RPC,
        "unsupported event ID 16",
        "167 with 16",
    )
    expect_error(
        ev,
        conn.call_error("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=9999, dom=None),
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.RPC,
        "unsupported event ID 9999",
        "316 with 9999",
    )
    return "16 (legacy) and 9999 refused"


@check("events.duplicate-registration", "a second registration of the same event is refused")
def _dup(ctx: Context, ev: Evidence) -> str:
    """One client holds at most one server registration per (event ID, domain filter), and
    legacy and callback registrations compete: after legacy CONNECT_DOMAIN_EVENT_REGISTER (105)
    a second 105, REGISTER_ANY(0) (167) and CALLBACK_REGISTER_ANY(0) (316) all fail with
    INVALID_ARG, domain NONE: "invalid argument: event callback already tracked". 105's reply
    carries cb_registered (4 bytes, libvirtd sends 0); a void reply is accepted too."""
    conn = ctx.opened(ev)
    conn.call_ok("CONNECT_DOMAIN_EVENT_REGISTER")
    for name, kw in (
        ("CONNECT_DOMAIN_EVENT_REGISTER", {}),
        ("CONNECT_DOMAIN_EVENT_REGISTER_ANY", {"eventID": 0}),
        ("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", {"eventID": 0, "dom": None}),
    ):
        expect_error(
            ev,
            conn.call_error(name, **kw),
            ErrorCode.INVALID_ARG,
            ErrorDomain.NONE,
            "event callback already tracked",
            name,
        )
    conn.call_ok("CONNECT_DOMAIN_EVENT_DEREGISTER")
    cb = register(conn, LIFECYCLE)
    conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    return "duplicates refused; registration works again after deregistering"


@check("events.domain-filter-and-deregister", "filtered callbacks get only their domain's events")
def _filter(ctx: Context, ev: Evidence) -> str:
    """A registration with a domain (316 with dom set) gets only that domain's events; one
    without gets every domain's; after CALLBACK_DEREGISTER_ANY nothing more arrives for it, and
    legacy CONNECT_DOMAIN_EVENT_DEREGISTER (106) without a registration fails with
    INTERNAL_ERROR "domain event 0 not registered"."""
    conn = ctx.opened(ev)
    expect_error(
        ev,
        conn.call_error("CONNECT_DOMAIN_EVENT_DEREGISTER"),
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.RPC,
        "domain event 0 not registered",
        "106 without registration",
    )
    with running_domain(ctx, conn) as dom:
        other = ctx.opened(ev, label="all")
        filtered = register(conn, LIFECYCLE, dom)
        unfiltered = register(other, LIFECYCLE)
        name = scratch_name()
        try:
            scratch = conn.call_ok(
                "DOMAIN_DEFINE_XML", xml=minimal_domain_xml(ctx.driver, name)
            ).dom
        except LibvirtError as err:
            skip(f"cannot define a scratch domain: {err}")
        try:
            got = other.wait_events(PROC_LIFECYCLE, 1)
            expect(lifecycle_pairs(got) == [(0, 0)], f"unfiltered: {lifecycle_pairs(got)}")
            conn.poll(0.3)
            stray = conn.events(PROC_LIFECYCLE)
            expect(not stray, f"the callback filtered on {dom.name!r} got {name!r}'s DEFINED")
        finally:
            conn.call_ok("DOMAIN_UNDEFINE", dom=scratch)
        other.wait_events(PROC_LIFECYCLE, 1)
        conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=filtered)
        conn.call_ok("DOMAIN_SUSPEND", dom=dom)
        try:
            got = other.wait_events(PROC_LIFECYCLE, 1)
            expect(lifecycle_pairs(got) == [(3, 0)], f"unfiltered after suspend: {got}")
            conn.poll(0.3)
            stray = conn.events(PROC_LIFECYCLE)
            expect(not stray, f"events after deregistering: {lifecycle_pairs(stray)}")
        finally:
            conn.call_ok("DOMAIN_RESUME", dom=dom)
        other.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=unfiltered)
        other.close()
    return "filter and deregistration honoured"


@check("events.between-call-and-reply", "events and replies interleave on one connection")
def _interleave(ctx: Context, ev: Evidence) -> str:
    """An event caused by a call may reach the client before or after that call's REPLY (libvirt
    gives no order); both must arrive on the same connection, the event as a MESSAGE with
    status OK. libvirtd always sends event serial 1 (clients ignore it); the serial seen is
    reported."""
    conn = ctx.opened(ev)
    with running_domain(ctx, conn) as dom:
        cb = register(conn, LIFECYCLE)
        orders = []
        serials: set[int] = set()
        try:
            for name in ("DOMAIN_SUSPEND", "DOMAIN_RESUME"):
                orders.append(f"{name}: {_call_and_event(ctx, conn, name, dom, cb, serials)}")
        finally:
            if _state(conn, dom) == 3:
                conn.call_ok("DOMAIN_RESUME", dom=dom)
        conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    return "; ".join(orders) + f"; event serials {sorted(serials)}"


def _call_and_event(
    ctx: Context, conn: WireConn, name: str, dom: Any, cb: int, serials: set[int]
) -> str:
    serial = conn.send(name, dom=dom)

    def wanted(f: Frame) -> bool:
        h = f.header
        return (h.type == MessageType.REPLY and h.serial == serial) or (
            h.type == MessageType.MESSAGE and h.proc == PROC_LIFECYCLE
        )

    order = None
    deadline = time.monotonic() + ctx.timeout
    got_reply = got_event = False
    while not (got_reply and got_event) and time.monotonic() < deadline:
        try:
            f = conn.next_frame(max(deadline - time.monotonic(), 0.01), wanted)
        except TimeoutError:
            break
        if f.header.type == MessageType.REPLY:
            expect(f.header.status == MessageStatus.OK, f"{name} failed")
            got_reply = True
            order = order or "reply first"
        else:
            expect(f.header.status == MessageStatus.OK, "event status is not OK")
            msg = rp.unpack_remote_domain_event_callback_lifecycle_msg(f.payload)
            expect(msg.callbackID == cb, f"event callbackID {msg.callbackID}, registered {cb}")
            serials.add(f.header.serial)
            got_event = True
            order = order or "event first"
    expect(got_reply and got_event, f"{name}: reply arrived {got_reply}, event arrived {got_event}")
    return order or ""


# --- lifecycle --------------------------------------------------------------------------------------


def _step(
    conn: WireConn,
    dom: Any,
    name: str,
    expected: list[list[tuple[int, int]]],
    ev: Evidence,
    timeout: float,
) -> list[tuple[int, int]]:
    """Call ``name`` on ``dom``; its lifecycle events must be one of ``expected``."""
    conn.call_ok(name, dom=dom)
    want = max(len(e) for e in expected)
    frames = conn.wait_events(PROC_LIFECYCLE, want, timeout)
    conn.poll(0.1)
    frames += conn.events(PROC_LIFECYCLE)
    got = lifecycle_pairs(frames)
    ev.note(f"{name}: lifecycle events {got}")
    expect(
        got in [list(e) for e in expected],
        f"{name}: events {got}, expected {' or '.join(map(str, expected))}",
    )
    return got


def _state(conn: WireConn, dom: Any) -> int:
    return conn.call_ok("DOMAIN_GET_STATE", dom=dom, flags=0).state


@check("lifecycle.suspend-resume", "suspend and resume produce SUSPENDED and RESUMED events")
def _suspend_resume(ctx: Context, ev: Evidence) -> str:
    """On the test driver's running domain 'test' (other drivers: a scratch guest the check
    defines and starts): SUSPEND → event SUSPENDED/PAUSED (3, 0), state PAUSED (3); RESUME →
    RESUMED/UNPAUSED (4, 0), state RUNNING (1)."""
    conn = ctx.opened(ev)
    with running_domain(ctx, conn) as dom:
        cb = register(conn, LIFECYCLE, dom)
        try:
            _step(conn, dom, "DOMAIN_SUSPEND", [[(3, 0)]], ev, ctx.timeout)
            expect(_state(conn, dom) == 3, "not PAUSED after suspend")
            _step(conn, dom, "DOMAIN_RESUME", [[(4, 0)]], ev, ctx.timeout)
            expect(_state(conn, dom) == 1, "not RUNNING after resume")
        finally:
            if _state(conn, dom) == 3:
                conn.call_ok("DOMAIN_RESUME", dom=dom)
        conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    return f"{dom.name}: (3,0) then (4,0)"


@check("lifecycle.destroy-start", "destroy and start produce STOPPED and STARTED events")
def _destroy_start(ctx: Context, ev: Evidence) -> str:
    """DESTROY → STOPPED/DESTROYED (5, 1), state SHUTOFF (5), domain id -1 in the event; CREATE →
    STARTED/BOOTED (2, 0), state RUNNING, a new positive id. (libvirt's QEMU driver sends
    RESUMED (4, 0) before STARTED since QEMU starts paused; that form is accepted too.)"""
    conn = ctx.opened(ev)
    with running_domain(ctx, conn) as dom:
        cb = register(conn, LIFECYCLE, dom)
        try:
            conn.call_ok("DOMAIN_DESTROY", dom=dom)
            frames = conn.wait_events(PROC_LIFECYCLE, 1, ctx.timeout)
            got = lifecycle_pairs(frames)
            ev.note(f"DOMAIN_DESTROY: lifecycle events {got}")
            expect(got == [(5, 1)], f"DESTROY: events {got}, expected [(5, 1)]")
            ev_dom = rp.unpack_remote_domain_event_callback_lifecycle_msg(frames[0].payload).msg.dom
            expect(ev_dom.id == -1, f"STOPPED event carries id {ev_dom.id}, expected -1")
            expect(_state(conn, dom) == 5, "not SHUTOFF after destroy")
            _step(conn, dom, "DOMAIN_CREATE", [[(2, 0)], [(4, 0), (2, 0)]], ev, ctx.timeout)
            new = lookup(conn, dom.name)
            expect(_state(conn, dom) == 1, "not RUNNING after create")
            expect(new.id > 0, f"id {new.id} after start")
        finally:
            if _state(conn, dom) == 5:
                conn.call_ok("DOMAIN_CREATE", dom=dom)
        conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    return f"{dom.name}: (5,1) then (2,0); new id {new.id}"


@check("lifecycle.define-undefine", "define and undefine produce DEFINED and UNDEFINED events")
def _define_undefine(ctx: Context, ev: Evidence) -> str:
    """DEFINE_XML of a new domain → DEFINED/ADDED (0, 0), id -1; UNDEFINE → UNDEFINED/REMOVED
    (1, 0). The check defines a scratch domain of its own and removes it."""
    conn = ctx.opened(ev)
    cb = register(conn, LIFECYCLE)
    name = scratch_name()
    try:
        dom = conn.call_ok("DOMAIN_DEFINE_XML", xml=minimal_domain_xml(ctx.driver, name)).dom
    except LibvirtError as err:
        skip(f"this host does not define a minimal {ctx.driver} domain: {err}")
    try:
        expect(dom.name == name and dom.id == -1, f"defined {dom}")
        frames = conn.wait_events(PROC_LIFECYCLE, 1, ctx.timeout)
        expect(lifecycle_pairs(frames) == [(0, 0)], f"DEFINE: events {lifecycle_pairs(frames)}")
    finally:
        conn.call_ok("DOMAIN_UNDEFINE", dom=dom)
    frames = conn.wait_events(PROC_LIFECYCLE, 1, ctx.timeout)
    expect(lifecycle_pairs(frames) == [(1, 0)], f"UNDEFINE: events {lifecycle_pairs(frames)}")
    expect(conn.call_error("DOMAIN_LOOKUP_BY_NAME", name=name) is not None, "still defined")
    conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    return "(0,0) then (1,0)"


# --- memory hot-plug ----------------------------------------------------------------------------------


@check("memory.dimm-hotplug", "a DIMM hot-plug produces DEVICE_ADDED, unplug DEVICE_REMOVED")
def _dimm(ctx: Context, ev: Evidence) -> str:
    """QEMU driver: a running guest with maxMemory slots, a NUMA cell and ACPI takes a 512 MiB
    DIMM live (ATTACH_DEVICE_FLAGS, AFFECT_LIVE): DEVICE_ADDED with devAlias "memdimm0" (the
    backend object id, as libvirt's QEMU driver reports), memory grows by 524288 KiB; DETACH
    → DEVICE_REMOVED "dimm0" (real QEMU only once the guest acknowledges: when the detach
    succeeds without the event in time, that is accepted and reported). The test driver has
    no DIMM hot-plug (9.0: NO_SUPPORT; 10+: OPERATION_UNSUPPORTED): skipped with its error."""
    conn = ctx.opened(ev)
    if ctx.driver == "test":
        dom = find_test_domain(ctx, conn)
        err = conn.call_error("DOMAIN_ATTACH_DEVICE_FLAGS", dom=dom, xml=DIMM_XML, flags=1)
        if err is not None:
            skip(f"the test driver has no DIMM hot-plug: {err.message}")
        conn.call_ok("DOMAIN_DETACH_DEVICE_FLAGS", dom=dom, xml=DIMM_XML, flags=1)
        raise CheckFailed("the test driver accepted a DIMM; libvirt's test driver refuses it")
    name = scratch_name()
    try:
        dom = conn.call_ok("DOMAIN_DEFINE_XML", xml=hotplug_domain_xml(name)).dom
    except LibvirtError as err:
        skip(f"cannot define a hot-plug guest on {ctx.open_name}: {err}")
    try:
        try:
            conn.call_ok("DOMAIN_CREATE", dom=dom)
        except LibvirtError as err:
            skip(f"cannot start a guest on {ctx.open_name}: {err}")
        dom = lookup(conn, name)
        added = register(conn, DEVICE_ADDED, dom)
        removed = register(conn, DEVICE_REMOVED, dom)
        before = conn.call_ok("DOMAIN_GET_INFO", dom=dom)
        conn.call_ok("DOMAIN_ATTACH_DEVICE_FLAGS", dom=dom, xml=DIMM_XML, flags=1)
        frames = conn.wait_events(PROC_DEVICE_ADDED, 1, ctx.timeout)
        expect(frames, "no DEVICE_ADDED event")
        msg = rp.unpack_remote_domain_event_callback_device_added_msg(frames[0].payload)
        expect(msg.callbackID == added, f"callbackID {msg.callbackID}, registered {added}")
        expect(msg.devAlias == "memdimm0", f"devAlias {msg.devAlias!r}, libvirt sends 'memdimm0'")
        after = conn.call_ok("DOMAIN_GET_INFO", dom=dom)
        expect(
            after.memory - before.memory == 524288,
            f"memory {before.memory} → {after.memory} KiB, expected +524288",
        )
        conn.call_ok("DOMAIN_DETACH_DEVICE_FLAGS", dom=dom, xml=DIMM_XML, flags=1)
        frames = conn.wait_events(PROC_DEVICE_REMOVED, 1, ctx.timeout + 1)
        note = "no DEVICE_REMOVED (guest did not acknowledge)"
        if frames:
            msg = rp.unpack_remote_domain_event_callback_device_removed_msg(frames[0].payload)
            expect(msg.callbackID == removed, f"callbackID {msg.callbackID}, registered {removed}")
            expect(
                msg.msg.devAlias == "dimm0", f"devAlias {msg.msg.devAlias!r}, libvirt sends 'dimm0'"
            )
            note = "DEVICE_REMOVED dimm0"
        for cb in (added, removed):
            conn.call_ok("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=cb)
    finally:
        if conn.call_ok("DOMAIN_GET_STATE", dom=dom, flags=0).state != 5:
            conn.call_ok("DOMAIN_DESTROY", dom=dom)
        conn.call_ok("DOMAIN_UNDEFINE", dom=dom)
    return f"DEVICE_ADDED memdimm0, +524288 KiB; {note}"


# --- keepalive --------------------------------------------------------------------------------------


class KeepaliveObservation:
    """Two idle connections watched for up to the keepalive budget.

    ``quiet`` only sends AUTH_LIST (no feature 10): libvirt never pings it. ``asked`` asks
    for feature 10 and then never answers a PING: libvirt pings it every ``interval`` seconds
    and closes it ``interval`` after its ``count``-th unanswered PING.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.quiet_ev = Evidence()
        self.asked_ev = Evidence()
        self.error: str | None = None
        self.start = 0.0
        self.asked_pings: list[tuple[float, Frame]] = []
        self.quiet_pings: list[tuple[float, Frame]] = []
        self.asked_closed_at: float | None = None
        self.quiet_closed = False
        self.elapsed = 0.0

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - reported by the checks
            self.error = f"{type(exc).__name__}: {exc}"

    def _run(self) -> None:
        quiet = self.ctx.connect(self.quiet_ev, "quiet")
        asked = self.ctx.connect(self.asked_ev, "asked")
        try:
            quiet.call_ok("AUTH_LIST")
            asked.call_ok("AUTH_LIST")
            expect(_feature(asked, Feature.PROGRAM_KEEPALIVE) == 1, "feature 10 not supported")
            self.start = time.monotonic()
            self.asked_ev.note("idle from here on; PINGs are not answered")
            self.quiet_ev.note("idle from here on (no feature 10 asked)")
            deadline = self.start + self.ctx.keepalive_budget
            while time.monotonic() < deadline:
                if self.asked_closed_at is None:
                    try:
                        asked.poll(0.1)
                    except ConnectionClosed:
                        self.asked_closed_at = time.monotonic() - self.start
                if not self.quiet_closed:
                    try:
                        quiet.poll(0.1)
                    except ConnectionClosed:
                        self.quiet_closed = True
                # watch the quiet one a little longer than the asked one lived
                if (
                    self.asked_closed_at is not None
                    and time.monotonic() - self.start > self.asked_closed_at + 1
                ):
                    break
            self.elapsed = time.monotonic() - self.start
            self.asked_pings = [(t - self.start, f) for t, f in asked.received if _is_ka(f)]
            self.quiet_pings = [(t - self.start, f) for t, f in quiet.received if _is_ka(f)]
        finally:
            quiet.close()
            asked.close()

    @property
    def interval(self) -> float | None:
        if not self.asked_pings:
            return None
        return self.asked_pings[0][0]


def _is_ka(frame: Frame) -> bool:
    return frame.header.prog == KEEPALIVE_PROGRAM


def _ka_evidence(ev: Evidence, *sources: Evidence) -> None:
    for src in sources:
        ev.items.extend(src.items)
    ev.items.sort(key=lambda item: item["t"])


def _expect_ping_frame(f: Frame, proc: int, what: str) -> None:
    h = f.header
    expect(
        (h.vers, h.proc, h.type, h.serial, h.status, f.payload)
        == (1, proc, MessageType.MESSAGE, 0, 0, b""),
        f"{what}: expected KEEPALIVE/1 proc {proc} MESSAGE serial 0 status OK with no payload, "
        f"got vers {h.vers} proc {h.proc} type {h.type} serial {h.serial} status {h.status} "
        f"payload {len(f.payload)} bytes",
    )


@check("keepalive.ping-answered", "a PING gets a PONG, without feature 10")
def _ping(ctx: Context, ev: Evidence) -> str:
    """Both ends answer a keepalive PING (prog 0x6b656570, proc 1, MESSAGE, serial 0, empty) with
    a PONG (proc 2, same header otherwise) even when keepalive was never negotiated."""
    conn = ctx.connect(ev)
    conn.call_ok("AUTH_LIST")
    conn.send(KEEPALIVE_PROC_PING, prog=KEEPALIVE_PROGRAM, mtype=MessageType.MESSAGE, serial=0)
    try:
        f = conn.next_frame(None, _is_ka)
    except TimeoutError:
        raise CheckFailed("no keepalive answer to a PING") from None
    _expect_ping_frame(f, KEEPALIVE_PROC_PONG, "answer")
    conn.call_ok("CONNECT_SUPPORTS_FEATURE", feature=Feature.PROGRAM_KEEPALIVE)
    return "PONG"


def _observation(ctx: Context, ev: Evidence) -> KeepaliveObservation:
    obs = ctx.keepalive_observation()
    _ka_evidence(ev, obs.quiet_ev, obs.asked_ev)
    if obs.error:
        raise CheckFailed(f"keepalive observation failed: {obs.error}")
    return obs


@check("keepalive.ping-after-feature", "the server pings an idle client that asked for feature 10")
def _ping_after(ctx: Context, ev: Evidence) -> str:
    """After CONNECT_SUPPORTS_FEATURE(10) the daemon sends a PING after `interval` seconds of
    silence (libvirtd: keepalive_interval = 5) and every interval after that. Skipped when no
    PING comes within --keepalive-budget (the interval may just be longer)."""
    obs = _observation(ctx, ev)
    if not obs.asked_pings:
        if obs.asked_closed_at is not None:
            skip(f"closed after {obs.asked_closed_at:.1f} s without pinging (keepalive_count 0?)")
        skip(f"no PING within the budget of {ctx.keepalive_budget:g} s (raise --keepalive-budget)")
    for _, f in obs.asked_pings:
        _expect_ping_frame(f, KEEPALIVE_PROC_PING, "server ping")
    times = [round(t, 2) for t, _ in obs.asked_pings]
    gaps = [b - a for a, b in zip(times, times[1:])]
    interval = obs.interval
    for gap in gaps:
        expect(
            abs(gap - interval) <= max(0.5, interval * 0.25),
            f"PINGs at {times} s: not every {interval:.1f} s",
        )
    return f"PINGs at {times} s (interval ≈ {interval:.1f} s)"


@check("keepalive.no-ping-without-feature", "no PINGs to a client that never asked for them")
def _no_ping(ctx: Context, ev: Evidence) -> str:
    """libvirtd starts a client's keepalive timer only when it asks for feature 10: an idle
    client that did not must see no PING while the other connection is pinged."""
    obs = _observation(ctx, ev)
    expect(not obs.quiet_pings, f"PINGs at {[round(t, 2) for t, _ in obs.quiet_pings]} s")
    if obs.interval is None:
        skip("the server sent no PINGs at all within the budget, so silence proves nothing")
    watched = obs.elapsed
    expect(not obs.quiet_closed, "the quiet connection was closed")
    return f"no PING in {watched:.1f} s (the other connection's interval ≈ {obs.interval:.1f} s)"


@check("keepalive.close-after-missed-pongs", "an unanswering client is disconnected")
def _dead(ctx: Context, ev: Evidence) -> str:
    """A client that answers none of the `count` PINGs is disconnected one interval after the
    last one (libvirtd 5 s × (5 + 1) ≈ 30 s). Skipped when that does not happen within
    --keepalive-budget."""
    obs = _observation(ctx, ev)
    n = len(obs.asked_pings)
    if obs.asked_closed_at is None:
        skip(
            f"still open after {obs.elapsed:.1f} s and {n} PINGs (budget {ctx.keepalive_budget:g} s;"
            " libvirt closes after interval × (count + 1))"
        )
    interval = obs.interval
    expect(interval is not None, f"closed after {obs.asked_closed_at:.1f} s without any PING")
    expected = interval * (n + 1)
    expect(
        abs(obs.asked_closed_at - expected) <= max(1.0, interval * 0.5),
        f"closed after {obs.asked_closed_at:.1f} s and {n} PINGs; expected ≈ {expected:.1f} s",
    )
    return f"closed after {obs.asked_closed_at:.1f} s, {n} unanswered PINGs (count = {n})"


# --- running -------------------------------------------------------------------------------------


def select_checks(patterns: list[str] | None) -> list[Check]:
    if not patterns:
        return list(CHECKS)
    return [c for c in CHECKS if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]


def run_one(ctx: Context, chk: Check) -> Result:
    ev = Evidence()
    t0 = time.monotonic()
    try:
        message = chk.fn(ctx, ev) or ""
        status = "pass"
    except CheckSkipped as exc:
        status, message = "skip", str(exc)
    except CheckFailed as exc:
        status, message = "fail", str(exc)
    except LibvirtError as exc:
        status, message = "fail", f"unexpected error reply: {exc} ({error_dict(exc)})"
    except (ConnectionClosed, TimeoutError, OSError, UnsupportedTransport) as exc:
        status, message = "fail", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a bug in the check or an undecodable reply
        status = "fail"
        message = f"check raised {type(exc).__name__}: {exc}"
        ev.note("".join(traceback.format_exception(exc)).rstrip())
    return Result(chk.name, chk.title, status, message, chk.doc, time.monotonic() - t0, ev)


def run_checks(
    ctx: Context, checks: list[Check], progress: Callable[[Result], None] | None = None
) -> list[Result]:
    """Run ``checks`` in order; the keepalive observation starts first, in the background."""
    if any(c.name.startswith("keepalive.") and c.name != "keepalive.ping-answered" for c in checks):
        ctx.start_keepalive_observation()
    results = []
    for chk in checks:
        result = run_one(ctx, chk)
        results.append(result)
        if progress is not None:
            progress(result)
    return results
