"""A daemon inside your program: ``async with serve() as vw`` (or ``with serve_sync()``).

The console-free face of :class:`virtwire.server.daemon.Daemon`: it binds a private unix
socket (and, if asked, a loopback TCP port, 0 = a free one) over a fresh state directory,
hands back the URIs libvirt clients use, and on leaving stops the daemon, removes its socket
and, when it made it, its state directory. No signal handlers, no logging set-up, nothing
printed. :func:`serve_sync` runs the same daemon on its own event loop in a thread, for
synchronous programs (python3-libvirt, subprocess-driven tools, pytest).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from virtwire.server.config import ServerConfig
from virtwire.server.daemon import Daemon, ListenSpec, parse_tcp_address

__all__ = ["Served", "serve", "serve_sync"]

_TEMP_PREFIX = "vw-"  # short: a unix socket path must fit in 107 bytes


@dataclass(frozen=True, slots=True)
class Served:
    """A running embedded daemon: where it listens and how to name its hosts."""

    daemon: Daemon
    state_dir: Path
    socket: Path | None
    tcp: tuple[str, int] | None

    def uri(self, driver: str = "qemu", transport: str | None = None) -> str:
        """A client URI for ``driver`` ("qemu" → ``/session``, "test" → ``/default``, or a
        full ``qemu:///system``-style URI's driver and path like "qemu:///system").

        ``transport`` is "unix" or "tcp" (default: unix when the daemon listens there).
        """
        if ":///" in driver:
            driver, path = driver.split(":///", 1)
            path = "/" + path
        else:
            path = "/default" if driver == "test" else "/session"
        if transport is None:
            transport = "unix" if self.socket is not None else "tcp"
        if transport == "unix":
            if self.socket is None:
                raise ValueError("this daemon has no unix socket")
            return f"{driver}+unix://{path}?socket={self.socket}"
        if transport == "tcp":
            if self.tcp is None:
                raise ValueError("this daemon has no TCP listener (serve(tcp=...))")
            host, port = self.tcp
            host = f"[{host}]" if ":" in host else host
            return f"{driver}+tcp://{host}:{port}{path}"
        raise ValueError(f"unknown transport {transport!r} (unix or tcp)")

    @property
    def uris(self) -> dict[str, str]:
        """Every URI this daemon answers: ``{"qemu+unix": ..., "test+tcp": ..., ...}``."""
        found: dict[str, str] = {}
        for transport, present in (("unix", self.socket), ("tcp", self.tcp)):
            if present is None:
                continue
            for driver in ("qemu", "test"):
                found[f"{driver}+{transport}"] = self.uri(driver, transport)
        return found


def _listens(root: Path, unix: bool | str | Path, tcp: str | None) -> list[ListenSpec]:
    specs: list[ListenSpec] = []
    if unix:
        path = root / "libvirt-sock" if unix is True else Path(unix)
        specs.append(ListenSpec("unix", path=path))
    if tcp is not None:
        host, port = parse_tcp_address(tcp)
        specs.append(ListenSpec("tcp", host=host, port=port))
    if not specs:
        raise ValueError("serve() needs a unix socket or a TCP address")
    return specs


def _served(daemon: Daemon) -> Served:
    socket_path: Path | None = None
    tcp: tuple[str, int] | None = None
    for listener in daemon.listeners:
        if listener.path is not None and socket_path is None:
            socket_path = listener.path
        elif listener.spec.kind == "tcp" and tcp is None:
            host, port = listener.sock.getsockname()[:2]
            tcp = (host, port)
    return Served(daemon, daemon.state_dir, socket_path, tcp)


@contextlib.asynccontextmanager
async def serve(
    *,
    state_dir: str | Path | None = None,
    unix: bool | str | Path = True,
    tcp: str | None = None,
    config: ServerConfig | None = None,
) -> AsyncIterator[Served]:
    """Run a daemon on the current event loop for the ``async with`` block.

    ``state_dir``: where persistent domains live (default: a fresh temporary directory,
    removed afterwards). ``unix``: True for ``libvirt-sock`` in a private temporary
    directory, a path, or False. ``tcp``: ``"127.0.0.1:0"`` for a free loopback port.
    """
    with contextlib.ExitStack() as cleanup:
        root = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX))
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        state = Path(state_dir) if state_dir is not None else root / "state"
        daemon = Daemon(config or ServerConfig(), state, _listens(root, unix, tcp))
        await daemon.start()
        try:
            yield _served(daemon)
        finally:
            await daemon.stop()


@contextlib.contextmanager
def serve_sync(
    *,
    state_dir: str | Path | None = None,
    unix: bool | str | Path = True,
    tcp: str | None = None,
    config: ServerConfig | None = None,
    timeout: float = 30.0,
) -> Iterator[Served]:
    """:func:`serve` for synchronous code: the daemon runs on its own loop in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="virtwire-daemon", daemon=True)
    thread.start()
    manager = serve(state_dir=state_dir, unix=unix, tcp=tcp, config=config)
    try:
        served = asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop).result(timeout)
        try:
            yield served
        finally:
            asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop).result(
                timeout
            )
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
