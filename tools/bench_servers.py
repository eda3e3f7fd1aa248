"""The servers `virtwire bench` runs: a private libvirtd, `virtwire serve`, the floor's echo.

Every server is started in its own temporary directory on an ephemeral loopback port and
stopped by its PID; :meth:`stop` removes the directory. Also the two daemon-side
measurements that need a fresh or a known process: the time from start to the first
answered call, and the resident memory each idle connection costs.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = [
    "EchoServer",
    "LibvirtdServer",
    "ServerUnavailable",
    "VirtwireServer",
    "free_port",
    "python_env",
    "raise_fd_limit",
    "rss_kib",
    "rss_per_connection",
]

LIBVIRTD = "/usr/sbin/libvirtd"
PEER_USER = "libvirt-peer"
WORKER = Path(__file__).with_name("bench_worker.py")
_START_TIMEOUT = 30.0
CONTROL_SOCKET_NAME = "virtwire-inject-sock"  # server/config.py (not imported: see _frame)


class ServerUnavailable(Exception):
    """This machine cannot run that server (told in the report, not fatal)."""


def python_env(pycache: Path | None) -> dict[str, str]:
    """The environment of our Python children: with a bytecode cache.

    With PYTHONDONTWRITEBYTECODE set (as in some CI images) every start would compile the
    generated codecs again (~1.5 s here): not what an installed virtwire does. Then the
    children write their bytecode under ``pycache`` (the bench's own temporary directory).
    """
    env = dict(os.environ)
    env.pop("LIBVIRT_DEFAULT_URI", None)
    if pycache is not None and env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit, for us and the servers we start (a fanout
    holds a socket per client on both sides; 1024, a common soft limit, is too few)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        return want
    return soft


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peer_scripts() -> Path | None:
    """Where start-libvirtd.sh / stop-libvirtd.sh are (the repository's copy first)."""
    candidates = [
        os.environ.get("VIRTWIRE_PEER_SCRIPTS", ""),
        str(Path(__file__).resolve().parents[1] / "tests" / "interop" / "peer"),
        "/work/shared/peer",
    ]
    for c in candidates:
        if c and (Path(c) / "start-libvirtd.sh").exists():
            return Path(c)
    return None


def _frame(name: str, serial: int, payload: bytes = b"") -> bytes:
    # imported here: the generated codecs are big, and bench.main first sets up a
    # bytecode cache for them (see bench.bytecode_cache)
    from virtwire.protocol import procedures
    from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM
    from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame

    proc = procedures.by_name(name)
    assert proc is not None
    header = Header(
        REMOTE_PROGRAM, PROTOCOL_VERSION, proc.number, MessageType.CALL, serial, MessageStatus.OK
    )
    return encode_frame(header, payload)


def _open_payload(name: str) -> bytes:
    from virtwire.protocol import procedures

    proc = procedures.by_name("REMOTE_PROC_CONNECT_OPEN")
    assert proc is not None and proc.args is not None
    from virtwire.protocol.generated import remote_protocol as rp

    return proc.args.pack(rp.RemoteConnectOpenArgs(name=name, flags=0))


def _recv_frames(sock: socket.socket, count: int) -> None:
    """Read ``count`` whole frames (any kind) or raise."""
    buf = b""
    while count:
        while len(buf) < 4 or len(buf) < int.from_bytes(buf[:4], "big"):
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            buf += data
        buf = buf[int.from_bytes(buf[:4], "big") :]
        count -= 1


def first_reply(port: int, deadline: float) -> bool:
    """Connect (retrying until ``deadline``) and get AUTH_LIST answered."""
    auth = _frame("REMOTE_PROC_AUTH_LIST", 0)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(auth)
                _recv_frames(sock, 1)
                return True
        except OSError:
            time.sleep(0.001)  # not listening yet: poll again
    return False


def _reap(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Wait ``grace`` seconds for a child that was asked to stop, then kill it; reaped."""
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ValueError(f"no VmRSS for pid {pid}")


def rss_per_connection(pid: int, port: int, count: int) -> dict:
    """Open ``count`` idle connections (AUTH_LIST + CONNECT_OPEN test:///default each)."""
    prologue = _frame("REMOTE_PROC_AUTH_LIST", 0) + _frame(
        "REMOTE_PROC_CONNECT_OPEN", 1, _open_payload("test:///default")
    )
    socks: list[socket.socket] = []

    def opened() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(prologue)
        _recv_frames(sock, 2)
        return sock

    try:
        socks.append(opened())  # the shared driver state and lazy imports exist now
        before = rss_kib(pid)
        for _ in range(count):
            socks.append(opened())
        after = rss_kib(pid)
    finally:
        for sock in socks:
            sock.close()
    return {"value": (after - before) / count, "before_kib": before, "after_kib": after}


# ------------------------------------------------------------------------------------------


class _Server:
    name = ""
    pid: int = 0
    port: int = 0
    base: Path | None = None

    @property
    def uri(self) -> str:
        return f"test+tcp://127.0.0.1:{self.port}/default"

    @property
    def hotplug_uri(self) -> str | None:
        """Where a device can be hot-plugged (None: libvirt 9.0's test driver cannot)."""
        return None

    def _cleanup_dir(self) -> None:
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/status") as f:
                if any(line.startswith("State:") and "Z" in line for line in f):
                    return True
        except OSError:
            return True
        time.sleep(0.01)
    return False


class LibvirtdServer(_Server):
    """A private unprivileged libvirtd (spec/peers.md §2), through the peer scripts."""

    name = "libvirtd"

    def __init__(self) -> None:
        self.scripts = peer_scripts()

    @staticmethod
    def check() -> str | None:
        if not os.access(LIBVIRTD, os.X_OK):
            return f"{LIBVIRTD} not installed (Debian package libvirt-daemon)"
        if os.geteuid() != 0:
            return "libvirtd is started as the unprivileged peer user: needs root"
        if peer_scripts() is None:
            return "start-libvirtd.sh not found (set VIRTWIRE_PEER_SCRIPTS)"
        return None

    def start(self) -> None:
        why = self.check()
        if why:
            raise ServerUnavailable(why)
        assert self.scripts is not None
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="vwbench-lv-"))
        os.chmod(self.base, 0o755)
        done = subprocess.run(
            ["bash", str(self.scripts / "start-libvirtd.sh"), str(self.port), str(self.dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            self._cleanup_dir()
            raise ServerUnavailable(f"start-libvirtd.sh failed: {done.stderr.strip()[-300:]}")
        self.pid = int(done.stdout.split()[-1])

    @property
    def dir(self) -> Path:
        assert self.base is not None
        return self.base / "d"

    def stop(self) -> None:
        if self.base is None:
            return
        assert self.scripts is not None
        subprocess.run(
            ["bash", str(self.scripts / "stop-libvirtd.sh"), str(self.port), str(self.dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self._cleanup_dir()

    def fresh(self, rss_connections: int = 0) -> dict:
        """A second libvirtd with the same settings: start → first answered call (ms), then
        its RSS per idle connection over ``rss_connections`` (a fresh heap, not one that
        earlier workloads have grown)."""
        assert self.base is not None
        port = free_port()
        d = self.base / f"startup-{port}"
        for sub in ("sock", "config", "cache", "runtime"):
            (d / sub).mkdir(parents=True)
        os.chmod(d / "runtime", 0o700)
        conf = (self.dir / "libvirtd.conf").read_text()
        conf = conf.replace(str(self.dir), str(d)).replace(f'"{self.port}"', f'"{port}"')
        (d / "libvirtd.conf").write_text(conf)
        subprocess.run(["chown", "-R", f"{PEER_USER}:", str(d)], check=True)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(d),
            "XDG_CONFIG_HOME": str(d / "config"),
            "XDG_CACHE_HOME": str(d / "cache"),
            "XDG_RUNTIME_DIR": str(d / "runtime"),
        }
        cmd = [
            "setpriv",
            f"--reuid={PEER_USER}",
            f"--regid={PEER_USER}",
            "--clear-groups",
            LIBVIRTD,
            "-d",
            "-l",
            "-f",
            str(d / "libvirtd.conf"),
            "-p",
            str(d / "libvirtd.pid"),
        ]
        pidfile = d / "libvirtd.pid"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            ok = first_reply(port, time.monotonic() + _START_TIMEOUT)
            result = {"value": (time.perf_counter() - t0) * 1e3}
            proc.wait(10)  # the -d parent exits once the daemon is set up
            if ok and rss_connections:
                pid = int(pidfile.read_text().split()[0])
                result["rss"] = rss_per_connection(pid, port, rss_connections)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            if pidfile.exists():
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, signal.SIGTERM)
                if not _wait_gone(pid, 10):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(d, ignore_errors=True)
        if not ok:
            raise ServerUnavailable("the second libvirtd did not answer")
        return result


class VirtwireServer(_Server):
    """`virtwire serve` with a private state directory and a TCP listener."""

    name = "virtwire"

    def __init__(
        self,
        extra_args: list[str] | None = None,
        name: str = "virtwire",
        pycache: Path | None = None,
    ) -> None:
        self.name = name
        self.env = python_env(pycache)
        self.proc: subprocess.Popen | None = None
        self.extra_args = extra_args or []
        self.log: list[str] = []

    @property
    def hotplug_uri(self) -> str | None:
        return f"qemu+tcp://127.0.0.1:{self.port}/session"

    def _command(self, base: Path, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "virtwire.tools.cli",
            "serve",
            "--state-dir",
            str(base / "state"),
            "--tcp",
            f"127.0.0.1:{port}",
            *self.extra_args,
        ]

    def start(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="vwbench-vw-"))
        self.port = free_port()
        self.proc = subprocess.Popen(
            self._command(self.base, self.port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self.pid = self.proc.pid
        ready = threading.Event()

        def drain() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line)
                if "listening on tcp:" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(_START_TIMEOUT) or self.proc.poll() is not None:
            self.stop()
            raise ServerUnavailable("virtwire serve did not start: " + "".join(self.log)[-500:])

    @property
    def control(self) -> Path:
        """The daemon's owner-only control socket (no unix listener: STATE_DIR/run)."""
        assert self.base is not None
        return self.base / "state" / "run" / CONTROL_SOCKET_NAME

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            _reap(proc)
        self._cleanup_dir()

    def fresh(self, rss_connections: int = 0) -> dict:
        """A second `virtwire serve`: start → first answered call (ms), then its RSS per
        idle connection over ``rss_connections``."""
        base = Path(tempfile.mkdtemp(prefix="vwbench-vw-"))
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            self._command(base, port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        try:
            ok = first_reply(port, time.monotonic() + _START_TIMEOUT)
            result = {"value": (time.perf_counter() - t0) * 1e3}
            if ok and rss_connections:
                result["rss"] = rss_per_connection(proc.pid, port, rss_connections)
        finally:
            proc.send_signal(signal.SIGTERM)
            _reap(proc)
            shutil.rmtree(base, ignore_errors=True)
        if not ok:
            raise ServerUnavailable("the second virtwire serve did not answer")
        return result


class EchoServer(_Server):
    """The floor: a minimal asyncio server echoing 28-byte frames (bench_worker.py)."""

    name = "echo"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "echo-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.stop()
            raise ServerUnavailable("the echo server did not start")
        self.port = int(line)
        self.pid = self.proc.pid

    def fresh(self) -> dict:
        """A second echo server on a known port: start → first echoed frame (ms), the floor
        of any Python asyncio daemon's start (the interpreter, asyncio, one listener)."""
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), "echo-server", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        try:
            # AUTH_LIST's CALL is one 28-byte frame: the echo is a whole frame back
            ok = first_reply(port, time.monotonic() + _START_TIMEOUT)
            result = {"value": (time.perf_counter() - t0) * 1e3}
        finally:
            self._end(proc)
        if not ok:
            raise ServerUnavailable("the second echo server did not answer")
        return result

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            self._end(proc, grace=5)

    @staticmethod
    def _end(proc: subprocess.Popen, grace: float = 10.0) -> None:
        """Close its stdin (the echo server's way of stopping) and reap it."""
        if proc.stdin is not None:
            proc.stdin.close()
        _reap(proc, grace)
