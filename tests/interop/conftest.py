"""Fixtures that start real peers (libvirtd, virsh, python3-libvirt) and our own daemon.

Every process a fixture starts is stopped by that fixture; every listener is on 127.0.0.1 with
an ephemeral port or on a unix socket in a private temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import need_peer
from tests.processes import stop_process

PEER_DIR = Path(__file__).parent / "peer"
SYSTEM_PYTHON = "/usr/bin/python3"
LIBVIRTD = "/usr/sbin/libvirtd"
LISTEN_RE = re.compile(r"listening on (\w+):(\S+)")


def have_virsh() -> bool:
    return shutil.which("virsh") is not None


def have_pylibvirt() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=30)
    return probe.returncode == 0


def have_libvirtd() -> bool:
    return os.access(LIBVIRTD, os.X_OK) and have_virsh()


def free_port() -> int:
    """An ephemeral loopback port for daemons that cannot report the one they bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _uri(driver: str, transport: str, path: str, host: str = "", query: str = "") -> str:
    uri = f"{driver}+{transport}://{host}{path}"
    return f"{uri}?{query}" if query else uri


@dataclass
class VirtwireServer:
    """A `virtwire serve` subprocess with a private state dir and three listeners."""

    base: Path
    extra_args: list[str] = field(default_factory=list)
    config_text: str | None = None
    proc: subprocess.Popen | None = None
    tcp_port: int = 0
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.base / "state"

    @property
    def unix_path(self) -> Path:
        return self.base / "run" / "libvirt-sock"

    @property
    def ro_unix_path(self) -> Path:
        return self.base / "run" / "libvirt-sock-ro"

    def tcp_uri(self, driver: str = "test", path: str = "/default") -> str:
        return _uri(driver, "tcp", path, host=f"127.0.0.1:{self.tcp_port}")

    def unix_uri(self, driver: str = "test", path: str = "/default") -> str:
        return _uri(driver, "unix", path, query=f"socket={self.unix_path}")

    def ro_unix_uri(self, driver: str = "test", path: str = "/default") -> str:
        return _uri(driver, "unix", path, query=f"socket={self.ro_unix_path}")

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "virtwire.tools.cli",
            "serve",
            "--state-dir",
            str(self.state_dir),
            "--unix",
            str(self.unix_path),
            "--unix-ro",
            str(self.ro_unix_path),
            # keep the port across restarts so URIs stay valid
            "--tcp",
            f"127.0.0.1:{self.tcp_port}",
        ]
        if self.config_text is not None:
            conf = self.base / "virtwire.conf"
            conf.write_text(self.config_text)
            cmd += ["--config", str(conf)]
        return cmd + self.extra_args

    def start(self, timeout: float = 20.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.base / "run").mkdir(parents=True, exist_ok=True)
        self.stderr_lines = []
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # one "listening on KIND:WHERE" line per listener: two unix sockets and TCP
        wanted = {"unix": 2, "tcp": 1}
        seen = {"unix": 0, "tcp": 0}
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._drain, args=(self.proc, lines), daemon=True).start()
        deadline = time.monotonic() + timeout
        while any(seen[k] < n for k, n in wanted.items()):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise RuntimeError("virtwire serve did not start:\n" + self.log)
            m = LISTEN_RE.search(line)
            if m:
                kind, where = m.groups()
                seen[kind] = seen.get(kind, 0) + 1
                if kind == "tcp":
                    self.tcp_port = int(where.rsplit(":", 1)[1])

    def _drain(self, proc: subprocess.Popen, lines: queue.Queue) -> None:
        """Keep reading stderr so the daemon never blocks on a full pipe."""
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr_lines.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        proc, self.proc = self.proc, None
        return stop_process(proc, sig, timeout)

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def log(self) -> str:
        return "".join(self.stderr_lines)


@contextlib.contextmanager
def started_virtwire_server() -> Iterator[VirtwireServer]:
    """Our daemon in a fresh short base directory; stopped and removed afterwards."""
    # unix socket paths are limited to ~107 bytes: keep the base short
    base = Path(tempfile.mkdtemp(prefix="vw-"))
    server = VirtwireServer(base=base)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def virtwire_server(tmp_path: Path) -> Iterator[VirtwireServer]:
    """Our daemon; started before the test, stopped after it."""
    with started_virtwire_server() as server:
        yield server


@pytest.fixture
def virtwire_server_factory() -> Iterator:
    """Make daemons with a custom config or arguments: `factory(config_text=..., extra_args=[...])`."""
    made: list[VirtwireServer] = []

    def make(config_text: str | None = None, extra_args: list[str] | None = None) -> VirtwireServer:
        base = Path(tempfile.mkdtemp(prefix="vw-"))
        server = VirtwireServer(base=base, config_text=config_text, extra_args=extra_args or [])
        made.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in made:
            server.stop()
            shutil.rmtree(server.base, ignore_errors=True)


@dataclass
class LibvirtdPeer:
    """A real, private, unprivileged libvirtd serving the test driver."""

    port: int
    dir: Path

    @property
    def tcp_uri(self) -> str:
        return f"test+tcp://127.0.0.1:{self.port}/default"

    @property
    def unix_uri(self) -> str:
        return f"test+unix:///default?socket={self.dir}/sock/libvirt-sock"

    @property
    def socket_path(self) -> Path:
        return self.dir / "sock" / "libvirt-sock"


@pytest.fixture(scope="session")
def libvirtd_peer() -> Iterator[LibvirtdPeer]:
    """One real libvirtd for the whole run (it starts in ~0.3 s but needs a user and dirs)."""
    need_peer(have_libvirtd(), "libvirtd (Debian package libvirt-daemon) and virsh")
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="lvpeer-"))
    os.chmod(base, 0o755)
    peer_dir = base / "d"
    start = subprocess.run(
        ["bash", str(PEER_DIR / "start-libvirtd.sh"), str(port), str(peer_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if start.returncode != 0:
        pytest.fail(f"could not start libvirtd: {start.stderr}")
    try:
        yield LibvirtdPeer(port=port, dir=peer_dir)
    finally:
        subprocess.run(
            ["bash", str(PEER_DIR / "stop-libvirtd.sh"), str(port), str(peer_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def run_virsh():
    """Run the real virsh: `run_virsh(uri, "list", "--all")` → CompletedProcess (text)."""
    need_peer(have_virsh(), "virsh (Debian package libvirt-clients)")

    def run(uri: str, *args: str, timeout: float = 30, input: str | None = None):
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        env.pop("LIBVIRT_DEFAULT_URI", None)
        return subprocess.run(
            ["virsh", "-c", uri, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input,
        )

    return run


@pytest.fixture
def run_pylibvirt(tmp_path: Path):
    """Run a script with /usr/bin/python3 and the real python3-libvirt module."""
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    counter = iter(range(1_000_000))

    def run(script: str, *args: str, timeout: float = 30):
        path = tmp_path / f"pylibvirt_{next(counter)}.py"
        path.write_text(script)
        return subprocess.run(
            [SYSTEM_PYTHON, str(path), *args], capture_output=True, text=True, timeout=timeout
        )

    return run


@pytest.fixture
def run_virtwire():
    """Run our own CLI: `run_virtwire("-c", uri, "list", "--all")` → CompletedProcess (text)."""

    def run(*args: str, timeout: float = 30, input: str | None = None):
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        env.pop("LIBVIRT_DEFAULT_URI", None)
        return subprocess.run(
            [sys.executable, "-m", "virtwire.tools.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input,
        )

    return run
