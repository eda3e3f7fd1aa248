"""Test helpers: an in-process daemon on a private loop thread, and a raw-frame client.

The client speaks frames with the generated codecs and nothing else, so tests see exactly
what a libvirt client would see on the wire (serials, message types, error fields).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import KEEPALIVE_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    encode_frame,
)
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.config import ServerConfig
from virtwire.server.daemon import Daemon, ListenSpec
from virtwire.server.dispatch import Dispatcher, ProcedureHandler

TEST_UUID = bytes.fromhex("6695eb01f6a4830479aa97f2502e193f")
TEST_DOM = rp.RemoteNonnullDomain(name="test", uuid=TEST_UUID, id=1)

GUEST_NS = "https://virtwire.dev/xmlns/guest/1.0"


def hotplug_domain_xml(name: str = "hp1", uuid: str | None = None) -> str:
    """A QEMU guest that can take DIMMs: maxMemory slots, a NUMA cell, ACPI."""
    uuid_elem = f"<uuid>{uuid}</uuid>" if uuid else ""
    return (
        f"<domain type='qemu'><name>{name}</name>{uuid_elem}"
        "<maxMemory slots='4' unit='KiB'>4194304</maxMemory>"
        "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
        "<cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>"
        "<features><acpi/></features><devices/></domain>"
    )


DIMM_XML = (
    "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>"
)


class DaemonThread:
    """A :class:`Daemon` on its own loop thread with unix rw/ro and TCP listeners."""

    def __init__(self, config: ServerConfig | None = None, dispatcher: Any = None) -> None:
        self.config = config or ServerConfig()
        self.base = Path(tempfile.mkdtemp(prefix="vws-"))
        self.unix_path = self.base / "libvirt-sock"
        self.ro_path = self.base / "libvirt-sock-ro"
        self.state_dir = self.base / "state"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.daemon: Daemon | None = None
        self.dispatcher = dispatcher
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.tcp_port = 0

    def start(self) -> DaemonThread:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("daemon did not start")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.daemon = Daemon(
                self.config,
                self.state_dir,
                [
                    ListenSpec("unix", path=self.unix_path),
                    ListenSpec("unix", readonly=True, path=self.ro_path),
                    ListenSpec("tcp", host="127.0.0.1", port=0),
                ],
                dispatcher=self.dispatcher,
            )
            try:
                await self.daemon.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self.tcp_port = int(self.daemon.addresses()[-1].rsplit(":", 1)[1])
            self._ready.set()
            await self.daemon.serve_forever()

        asyncio.run(main())

    def call_in_loop(self, fn, *args):
        """Run ``fn(*args)`` on the daemon's loop and return its result."""
        assert self.loop is not None
        done = threading.Event()
        box: list[Any] = []

        def runner() -> None:
            try:
                box.append(fn(*args))
            except BaseException as exc:  # pragma: no cover - surfaced below
                box.append(exc)
            done.set()

        self.loop.call_soon_threadsafe(runner)
        assert done.wait(5)
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def stop(self) -> None:
        if self.loop is not None and self.daemon is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.daemon.request_stop)
            except RuntimeError:  # the loop finished meanwhile (the test stopped it)
                pass
        if self._thread is not None:
            self._thread.join(15)
        shutil.rmtree(self.base, ignore_errors=True)

    def session_count(self) -> int:
        return self.call_in_loop(lambda: len(self.daemon.sessions))

    def tcp(self, **kw: Any) -> WireClient:
        return WireClient.connect_tcp(self.tcp_port, **kw)

    def unix(self, readonly: bool = False) -> WireClient:
        return WireClient.connect_unix(self.ro_path if readonly else self.unix_path)


class ConnectionClosed(Exception):
    pass


class WireClient:
    """A blocking raw-frame client that records events and keepalive frames it sees."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = FrameDecoder()
        self.serial = 0
        self.frames: list[Frame] = []  # received, not yet consumed
        self.closed = False

    @classmethod
    def connect_tcp(cls, port: int, rcvbuf: int | None = None) -> WireClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect(("127.0.0.1", port))
        return cls(sock)

    @classmethod
    def connect_unix(cls, path: Path) -> WireClient:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    # --- raw I/O ----------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            raise ConnectionClosed("server closed the connection")
        self.frames.extend(self.decoder.feed(data))

    def next_frame(self, timeout: float = 5.0, pred=None) -> Frame:
        """The first received frame matching ``pred`` (others stay queued)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, frame in enumerate(self.frames):
                if pred is None or pred(frame):
                    return self.frames.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            self._fill(min(left, 0.5))

    def wait_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._fill(min(0.2, deadline - time.monotonic()))
        except ConnectionClosed:
            return True
        return False

    # --- calls ------------------------------------------------------------------------------

    def send_call(
        self,
        proc: int,
        payload: bytes = b"",
        *,
        prog: int = REMOTE_PROGRAM,
        vers: int = 1,
        status: int = MessageStatus.OK,
        mtype: int = MessageType.CALL,
        serial: int | None = None,
    ) -> int:
        if serial is None:
            serial = self.serial
            self.serial += 1
        self.send_raw(encode_frame(Header(prog, vers, proc, mtype, serial, status), payload))
        return serial

    def reply_to(self, serial: int, timeout: float = 5.0) -> Frame:
        return self.next_frame(
            timeout, lambda f: f.header.type == MessageType.REPLY and f.header.serial == serial
        )

    def call_raw(self, proc: int, payload: bytes = b"", **kw: Any) -> Frame:
        return self.reply_to(self.send_call(proc, payload, **kw))

    def call(self, proc: int, args: Any = None) -> Any:
        """Call ``proc`` with a generated args struct; return the decoded ret (or raise)."""
        p = procedures.lookup(REMOTE_PROGRAM, 1, proc)
        assert p is not None, proc
        payload = p.args.pack(args) if p.args is not None else b""
        reply = self.call_raw(proc, payload)
        if reply.header.status == MessageStatus.ERROR:
            raise LibvirtError.from_remote_error(
                rp.unpack_remote_error(reply.payload), rewrite_unknown_procedure=False
            )
        assert reply.header.status == MessageStatus.OK
        if p.ret is None:
            assert reply.payload == b""
            return None
        return p.ret.unpack(reply.payload)

    def call_error(self, proc: int, args: Any = None) -> LibvirtError:
        try:
            self.call(proc, args)
        except LibvirtError as err:
            return err
        raise AssertionError(f"proc {proc} did not fail")

    def prologue(self, uri: str = "test:///default", flags: int = 0) -> None:
        """What virsh sends: AUTH_LIST, feature 10, OPEN, features 14/15, close callback."""
        assert self.call(66).types == [rp.RemoteAuthType.REMOTE_AUTH_NONE]
        assert self.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=10)).supported == 1
        self.call(1, rp.RemoteConnectOpenArgs(name=uri, flags=flags))
        assert self.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=14)).supported == 1
        assert self.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=15)).supported == 1
        self.call(360)

    def open(self, uri: str = "test:///default", flags: int = 0) -> WireClient:
        """The python3-libvirt prologue without feature 10 (no server pings)."""
        self.call(66)
        self.call(1, rp.RemoteConnectOpenArgs(name=uri, flags=flags))
        return self

    def event(self, proc: int | None = None, timeout: float = 5.0) -> Frame:
        return self.next_frame(
            timeout,
            lambda f: (
                f.header.type == MessageType.MESSAGE
                and f.header.prog == REMOTE_PROGRAM
                and (proc is None or f.header.proc == proc)
            ),
        )

    def keepalive(self, timeout: float = 5.0) -> Frame:
        return self.next_frame(timeout, lambda f: f.header.prog == KEEPALIVE_PROGRAM)


def filled_args(proc: int, dom: Any = TEST_DOM) -> Any:
    """A plausible args struct for ``proc``: dom → ``dom``, strings "x", numbers 0."""
    p = procedures.lookup(REMOTE_PROGRAM, 1, proc)
    assert p is not None and p.args is not None
    stem = p.name.removeprefix("REMOTE_PROC_").lower()
    cls_name = "Remote" + "".join(part.capitalize() for part in f"{stem}_args".split("_"))
    cls = getattr(rp, cls_name)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name == "dom":
            values[f.name] = dom
        elif f.name in ("xml", "xml_desc", "alias"):
            values[f.name] = "<x/>"
        else:
            values[f.name] = 0
    return cls(**values)


def zero_payload(proc: procedures.Procedure) -> bytes:
    """The shortest run of zero bytes that decodes as ``proc``'s args: empty strings and
    arrays, 0, NULL pointers, union arm 0 (valid XDR for every args struct)."""
    if proc.args is None:
        return b""
    for size in range(0, 4096, 4):
        try:
            proc.args.unpack(bytes(size))
        except ValueError:
            continue
        return bytes(size)
    raise AssertionError(f"{proc.name}: no all-zero encoding")


def zero_args(proc: procedures.Procedure, dom: Any = TEST_DOM) -> Any:
    """``proc``'s args decoded from zeros, with a ``dom`` field pointing at ``dom``."""
    if proc.args is None:
        return None
    args = proc.args.unpack(zero_payload(proc))
    if isinstance(getattr(args, "dom", None), rp.RemoteNonnullDomain):
        args = dataclasses.replace(args, dom=dom)
    return args


def slow_table(futures: list[asyncio.Future]) -> dict[tuple[int, int], ProcedureHandler]:
    """A dispatch table whose CONNECT_GET_TYPE calls finish only when the test says so."""
    from virtwire.server.hypervisor import TestDriver

    table = Dispatcher().table_for(TestDriver).copy()
    key = (REMOTE_PROGRAM, procedures.resolve("CONNECT_GET_TYPE").number)

    def handler(session, args):
        fut = asyncio.get_running_loop().create_future()
        futures.append(fut)
        return fut

    table[key] = dataclasses.replace(table[key], handler=handler, needs_conn=False)
    return table
