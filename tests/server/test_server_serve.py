"""`virtwire serve` as a process: listening lines, defaults, signals, stale sockets, errors."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from virtwire.protocol.event_classes import LifecycleEvent
from virtwire.protocol.framing import MessageStatus
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.dispatch import Dispatcher

from tests.conftest import need_extra
from tests.server.wire import WireClient, slow_table
from virtwire import client as vc

LISTEN = re.compile(r"listening on (\w+):(\S+)")


class Serve:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "virtwire.tools.cli", "serve", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: list[str] = []

    def wait_listening(self, n: int, timeout: float = 15) -> list[tuple[str, str]]:
        found = []
        deadline = time.monotonic() + timeout
        assert self.proc.stderr is not None
        while len(found) < n and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            m = LISTEN.search(line)
            if m:
                found.append(m.groups())
        assert len(found) == n, "".join(self.lines)
        return found

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        finally:
            if self.proc.stderr and not self.proc.stderr.closed:
                self.lines.extend(self.proc.stderr.readlines())
                self.proc.stderr.close()


@pytest.fixture
def base():
    path = Path(tempfile.mkdtemp(prefix="vwp-"))
    yield path
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def test_sigterm_clean_shutdown(base):
    sock, ro = base / "libvirt-sock", base / "libvirt-sock-ro"
    s = Serve(
        [
            "--state-dir",
            str(base / "st"),
            "--unix",
            str(sock),
            "--unix-ro",
            str(ro),
            "--tcp",
            "127.0.0.1:0",
        ]
    )
    try:
        found = s.wait_listening(3)
        assert found[0] == ("unix", str(sock)) and found[1] == ("unix", str(ro))
        kind, where = found[2]
        assert kind == "tcp" and where.startswith("127.0.0.1:")
        port = int(where.rsplit(":", 1)[1])
        assert port > 0
        assert oct(os.stat(sock).st_mode & 0o777) == "0o700"
        assert oct(os.stat(ro).st_mode & 0o777) == "0o777"
        c = WireClient.connect_tcp(port)
        c.prologue()
        assert c.call(3).type == "TEST"
        assert s.stop() == 0
        assert c.wait_closed(3)
        assert not sock.exists() and not ro.exists()
    finally:
        s.stop(signal.SIGKILL)


def test_defaults_use_xdg_dirs_and_no_tcp(base):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(base / "rt"), XDG_STATE_HOME=str(base / "state"))
    (base / "rt").mkdir()
    s = Serve([], env=env)
    try:
        found = s.wait_listening(2)
        assert found == [
            ("unix", str(base / "rt" / "virtwire" / "libvirt-sock")),
            ("unix", str(base / "rt" / "virtwire" / "libvirt-sock-ro")),
        ]
        assert (base / "state" / "virtwire").is_dir()
        c = WireClient.connect_unix(base / "rt" / "virtwire" / "libvirt-sock-ro")
        c.prologue()
        err = c.call_error(
            34, rp.RemoteDomainSuspendArgs(dom=rp.RemoteNonnullDomain("test", b"\0" * 16, 1))
        )
        assert err.code == 29
        assert s.stop(signal.SIGINT) == 0
    finally:
        s.stop(signal.SIGKILL)
    assert not any("tcp" in line for line in s.lines if "listening" in line)


def test_stale_socket_replaced_live_socket_refused(base):
    sock = base / "libvirt-sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))
    stale.close()  # a socket file nobody listens on, as after kill -9
    first = Serve(["--state-dir", str(base / "st"), "--unix", str(sock)])
    try:
        first.wait_listening(1)
        second = Serve(["--state-dir", str(base / "st2"), "--unix", str(sock)])
        assert second.proc.wait(15) == 1
        err = second.proc.stderr.read()
        assert "already listening" in err
        assert sock.exists()
        # the same state directory: refused by its lock before any socket is touched
        third = Serve(["--state-dir", str(base / "st"), "--unix", str(base / "other-sock")])
        assert third.proc.wait(15) == 1
        err = third.proc.stderr.read()
        assert f"is in use by another virtwire daemon (pid {first.proc.pid})" in err, err
        assert not (base / "other-sock").exists()
    finally:
        assert first.stop() == 0


def test_config_error_exit_status(base):
    conf = base / "bad.conf"
    conf.write_text('auth_tcp = "sasl"\n')
    s = Serve(["--state-dir", str(base / "st"), "--config", str(conf), "--tcp", "127.0.0.1:0"])
    assert s.proc.wait(15) == 1
    err = s.proc.stderr.read()
    s.proc.stderr.close()
    assert "auth_tcp = 'sasl' is not supported" in err


def test_bad_tcp_argument(base):
    s = Serve(["--state-dir", str(base / "st"), "--tcp", "nonsense"])
    assert s.proc.wait(15) == 1
    assert "HOST:PORT" in s.proc.stderr.read()
    s.proc.stderr.close()


def test_stop_flushes_reply_of_call_in_flight(make_daemon):
    futures: list[asyncio.Future] = []
    d = make_daemon(dispatcher=Dispatcher(slow_table(futures)))
    c = d.tcp()
    serial = c.send_call(3)
    deadline = time.monotonic() + 5
    while not d.call_in_loop(lambda: len(futures)) and time.monotonic() < deadline:
        time.sleep(0.01)
    d.call_in_loop(d.daemon.request_stop)
    time.sleep(0.1)
    d.call_in_loop(lambda: futures[0].set_result(rp.RemoteConnectGetTypeRet(type="LATE")))
    reply = c.reply_to(serial)
    assert reply.header.status == MessageStatus.OK
    assert rp.unpack_remote_connect_get_type_ret(reply.payload).type == "LATE"
    assert c.wait_closed(5)
    assert not d.unix_path.exists()


def test_out_of_file_descriptors_backs_off_and_recovers(base):
    """EMFILE on accept must not spin or kill the daemon; it serves again once fds free up."""
    sock = base / "libvirt-sock"
    cmd = f"ulimit -n 48; exec {sys.executable} -m virtwire.tools.cli serve --state-dir {base / 'st'} --unix {sock}"
    proc = subprocess.Popen(["bash", "-c", cmd], stderr=subprocess.PIPE, text=True)
    s = Serve.__new__(Serve)
    s.proc, s.lines = proc, []
    try:
        s.wait_listening(1)
        good = WireClient.connect_unix(sock)
        good.open()
        hogs = []
        for _ in range(80):
            h = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            h.connect(str(sock))
            hogs.append(h)
        time.sleep(0.5)
        assert good.call(3).type == "TEST"  # the daemon is alive
        for h in hogs:
            h.close()
        late = WireClient.connect_unix(sock)
        late.open()
        assert late.call(3).type == "TEST"
        assert s.stop() == 0
        assert any("Too many open files" in line for line in s.lines), "".join(s.lines)
    finally:
        s.stop(signal.SIGKILL)


def test_unusable_state_dir(base):
    blocker = base / "file"
    blocker.write_text("not a directory")
    s = Serve(["--state-dir", str(blocker / "sub"), "--tcp", "127.0.0.1:0"])
    assert s.proc.wait(15) == 1
    err = s.proc.stderr.read()
    s.proc.stderr.close()
    assert "cannot create state directory" in err and "Traceback" not in err


def test_busy_socket_is_not_taken_for_stale(tmp_path):
    """issue 14 #6: only ECONNREFUSED makes a socket stale; a daemon whose backlog is full
    (connect times out or says EAGAIN) keeps its socket."""
    import socket as socket_mod

    from virtwire.server.daemon import Daemon, DaemonError

    path = tmp_path / "busy-sock"
    listener = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
    fillers = []
    try:
        listener.bind(str(path))
        listener.listen(0)
        while True:  # fill the backlog: nothing is ever accepted
            c = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
            c.setblocking(False)
            fillers.append(c)
            try:
                c.connect(str(path))
            except BlockingIOError:
                break
        with pytest.raises(DaemonError, match="is in use"):
            Daemon._remove_stale_socket(path)
        assert path.exists()
    finally:
        for c in fillers:
            c.close()
        listener.close()


def test_event_loop_uvloop_serves_calls_and_events(base):
    """`--event-loop uvloop`: the daemon runs on uvloop (its extension is loaded in the
    process) and answers calls and delivers a call's events as on asyncio's own loop."""
    need_extra("uvloop", "uvloop")
    s = Serve(["--state-dir", str(base / "st"), "--tcp", "127.0.0.1:0", "--event-loop", "uvloop"])
    try:
        ((_, where),) = s.wait_listening(1)
        maps = Path(f"/proc/{s.proc.pid}/maps").read_text()
        assert "uvloop" in maps and "loop.cpython" in maps

        async def scenario() -> list[LifecycleEvent]:
            conn = await vc.connect(f"test+tcp://{where}/default")
            try:
                assert await conn.get_lib_version() > 0
                dom = await conn.lookup_by_name("test")
                got: asyncio.Queue = asyncio.Queue()
                await conn.register_event(0, got.put_nowait)
                await dom.suspend()
                await dom.resume()
                return [await asyncio.wait_for(got.get(), 10) for _ in range(2)]
            finally:
                await conn.close()

        events = asyncio.run(scenario())
        # VIR_DOMAIN_EVENT_SUSPENDED (3) / _PAUSED (0), then RESUMED (4) / _UNPAUSED (0)
        assert [(e.dom.name, e.event, e.detail) for e in events] == [("test", 3, 0), ("test", 4, 0)]
    finally:
        assert s.stop() == 0, "".join(s.lines)


def test_event_loop_uvloop_missing_is_a_clear_error(base):
    fake = base / "nouvloop" / "uvloop"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no uvloop here')\n")
    env = dict(os.environ, PYTHONPATH=str(fake.parent))
    done = subprocess.run(
        [sys.executable, "-m", "virtwire.tools.cli", "serve", "--state-dir", str(base / "st")]
        + ["--tcp", "127.0.0.1:0", "--event-loop", "uvloop"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--event-loop uvloop needs the uvloop package (pip install 'virtwire[uvloop]')" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
