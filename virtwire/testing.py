"""pytest plugin: a virtwire daemon per test for projects that test VM-management software.

Installed with virtwire (entry point ``pytest11``), so any suite whose environment has
virtwire gets the ``virtwire_daemon`` fixture with no ``conftest.py``::

    def test_lists_domains(virtwire_daemon):
        conn = libvirt.open(virtwire_daemon.uri("test"))   # test+unix:///default?socket=...
        assert [d.name() for d in conn.listAllDomains()] == ["test"]

Each test gets a fresh state directory and a private unix socket (plus a free loopback TCP
port with ``tcp=True``); after it, the daemon is stopped and its socket, state directory and
process (``mode="subprocess"``) are gone. Options, per test with the ``virtwire`` marker::

    @pytest.mark.virtwire(mode="subprocess", tcp=True)

``mode``: "inprocess" (default: the daemon runs on its own event loop in a thread of the test
process) or "subprocess" (``python -m virtwire serve``: a separate process, as a real
libvirtd would be; what the test's own asyncio or fork use cannot disturb). ``tcp``: also
listen on 127.0.0.1, port chosen by the kernel. Unknown options are an error (host fixtures
such as a test-driver XML file and TLS options come with those features). Faults are\ninjected at run time with ``virtwire_daemon.inject(...)``.
``--virtwire-mode`` on the pytest command line sets the default mode.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["VirtwireDaemon", "virtwire_daemon"]

MODES = ("inprocess", "subprocess")
_OPTIONS = {"mode", "tcp"}
_START_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on (unix|tcp):(\S+)")


@dataclass(frozen=True, slots=True)
class VirtwireDaemon:
    """The daemon of one test: its URIs, state directory and (subprocess mode) process."""

    socket: Path
    state_dir: Path
    tcp: tuple[str, int] | None = None
    process: subprocess.Popen[str] | None = None

    def uri(self, driver: str = "qemu", transport: str = "unix") -> str:
        """``qemu`` → ``qemu+unix:///session?socket=...``, ``test`` → ``test+unix:///default...``,
        ``qemu:///system`` → ``qemu+unix:///system?socket=...``; ``transport="tcp"`` for
        ``qemu+tcp://127.0.0.1:PORT/session`` (needs ``tcp=True``)."""
        if ":///" in driver:
            driver, rest = driver.split(":///", 1)
            path = "/" + rest
        else:
            path = "/default" if driver == "test" else "/session"
        if transport == "unix":
            return f"{driver}+unix://{path}?socket={self.socket}"
        if transport == "tcp":
            if self.tcp is None:
                raise ValueError("no TCP listener: use @pytest.mark.virtwire(tcp=True)")
            return f"{driver}+tcp://{self.tcp[0]}:{self.tcp[1]}{path}"
        raise ValueError(f"unknown transport {transport!r} (unix or tcp)")

    def inject(self, *args: str) -> dict[str, Any]:
        """Fault injection (docs/server.md), with ``virtwire inject``'s arguments::

            virtwire_daemon.inject("fail", "DOMAIN_CREATE", "--code", "OPERATION_FAILED")
            virtwire_daemon.inject("reset")

        Returns the daemon's answer; a refused request raises ``RuntimeError``."""
        from virtwire.server.config import CONTROL_SOCKET_NAME
        from virtwire.tools import inject

        message = inject.message_for(list(args))
        answer = inject.request(self.socket.parent / CONTROL_SOCKET_NAME, message)
        if not answer.get("ok"):
            raise RuntimeError(f"virtwire inject {' '.join(args)}: {answer.get('error')}")
        return answer

    @property
    def uris(self) -> dict[str, str]:
        """``{"qemu+unix": ..., "test+unix": ..., "qemu+tcp": ..., "test+tcp": ...}``."""
        transports = ("unix", "tcp") if self.tcp else ("unix",)
        return {f"{d}+{t}": self.uri(d, t) for t in transports for d in ("qemu", "test")}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("virtwire")
    group.addoption(
        "--virtwire-mode",
        choices=MODES,
        default="inprocess",
        help="how the virtwire_daemon fixture runs its daemon (default: inprocess)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "virtwire(mode='inprocess'|'subprocess', tcp=False): options of the virtwire_daemon fixture",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {"mode": request.config.getoption("virtwire_mode"), "tcp": False}
    marker = request.node.get_closest_marker("virtwire")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.virtwire takes keyword options only")
        unknown = set(marker.kwargs) - _OPTIONS
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.virtwire: unknown option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        options.update(marker.kwargs)
    if options["mode"] not in MODES:
        raise pytest.UsageError(f"@pytest.mark.virtwire: mode must be one of {MODES}")
    return options


def _in_process(stack: ExitStack, root: Path, tcp: bool) -> VirtwireDaemon:
    from virtwire.server.embed import serve_sync

    served = stack.enter_context(
        serve_sync(
            state_dir=root / "state",
            unix=root / "libvirt-sock",
            tcp="127.0.0.1:0" if tcp else None,
        )
    )
    assert served.socket is not None
    return VirtwireDaemon(served.socket, served.state_dir, served.tcp)


def _subprocess(stack: ExitStack, root: Path, tcp: bool) -> VirtwireDaemon:
    sock = root / "libvirt-sock"
    cmd = [sys.executable, "-m", "virtwire", "serve", "--state-dir", str(root / "state")]
    cmd += ["--unix", str(sock)] + (["--tcp", "127.0.0.1:0"] if tcp else [])
    log_path = root / "serve.log"
    log = stack.enter_context(open(log_path, "w+", encoding="utf-8"))  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    stack.callback(_stop, proc)
    wanted = 1 + int(tcp)
    deadline = time.monotonic() + _START_TIMEOUT
    found: dict[str, str] = {}
    while len(found) < wanted:
        found = dict(_LISTENING.findall(log_path.read_text(encoding="utf-8")))
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"virtwire serve did not start (exit {proc.returncode}):\n"
                + log_path.read_text(encoding="utf-8")
            )
        if len(found) < wanted:
            time.sleep(0.02)  # polling the log for the announced listeners, with a deadline
    address = None
    if tcp:
        host, _, port = found["tcp"].rpartition(":")
        address = (host, int(port))
    return VirtwireDaemon(sock, root / "state", address, proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def virtwire_daemon(request: pytest.FixtureRequest) -> Iterator[VirtwireDaemon]:
    """A fresh virtwire daemon for this test (see :mod:`virtwire.testing`)."""
    options = _options(request)
    # not tmp_path: a unix socket path must fit in 107 bytes, pytest's paths can be long
    root = Path(tempfile.mkdtemp(prefix="vwt-", dir=os.environ.get("VIRTWIRE_TEST_TMPDIR")))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        start = _subprocess if options["mode"] == "subprocess" else _in_process
        yield start(stack, root, bool(options["tcp"]))
