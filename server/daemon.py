"""The daemon: listeners, client accounting, lifecycle and signals.

Listeners are plain non-blocking sockets watched with ``loop.add_reader``, not
``asyncio.Server``, because libvirt's client limit does not refuse connections: at
``max_clients`` the daemon simply stops accepting on every socket and starts again when
a client leaves (the kernel backlog holds the waiting ones). asyncio's servers cannot
pause accepting; a reader callback can.

Sockets follow libvirtd's layout: ``libvirt-sock`` (read-write, mode
``unix_sock_rw_perms``) and ``libvirt-sock-ro`` (read-only, ``unix_sock_ro_perms``),
and TCP only when asked for. Every listener is announced with one
``listening on unix:/path`` / ``listening on tcp:HOST:PORT`` log line (the real port
when 0 was asked), which scripts and tests parse.

Stopping (SIGTERM/SIGINT or :meth:`Daemon.request_stop`): stop accepting, remove the
socket files, let every session finish its calls and flush its replies, close them,
return 0 from :func:`run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from virtwire.server.config import ServerConfig
from virtwire.server.dispatch import Dispatcher
from virtwire.server.session import ClientSession, SessionHost

__all__ = ["Daemon", "DaemonError", "ListenSpec", "parse_tcp_address", "run"]

log = logging.getLogger("virtwire.server")

_ACCEPT_BATCH = 64


class DaemonError(Exception):
    """The daemon cannot start (a socket in use, a path too long, ...)."""


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """One address to listen on: ``kind`` is "unix" (``path``) or "tcp" (``host``, ``port``)."""

    kind: str
    readonly: bool = False
    path: Path | None = None
    host: str = ""
    port: int = 0


def parse_tcp_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` → (host, port); a clear error otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise DaemonError(f"--tcp expects HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise DaemonError(f"--tcp: {port_text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise DaemonError(f"--tcp: port {port} is out of range")
    return host, port


@dataclass(slots=True)
class _Listener:
    spec: ListenSpec
    sock: socket.socket
    display: str
    path: Path | None = None
    inode: tuple[int, int] | None = None


def _format_tcp(addr: tuple[Any, ...]) -> str:
    host, port = addr[0], addr[1]
    if ":" in host:
        return f"tcp:[{host}]:{port}"
    return f"tcp:{host}:{port}"


class Daemon:
    """The whole server: a host registry, the dispatcher, listeners and sessions."""

    def __init__(
        self,
        config: ServerConfig,
        state_dir: Path,
        listens: list[ListenSpec],
        *,
        registry: Any = None,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.listens = listens
        self.registry = registry
        self.dispatcher = dispatcher
        self.sessions: set[ClientSession] = set()
        self.listeners: list[_Listener] = []
        self._next_client_id = 0
        self._accepting = False
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self._host: SessionHost | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending_starts: set[asyncio.Task] = set()
        self._retry_handle: asyncio.TimerHandle | None = None

    # --- start ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the hosts, bind every listener, then announce them and start accepting."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DaemonError(
                f"cannot create state directory {self.state_dir}: {exc.strerror or exc}"
            ) from None
        if self.registry is None:
            from virtwire.server.hypervisor import HostRegistry

            self.registry = HostRegistry(self.state_dir, self._loop.call_soon)
        self._host = SessionHost(
            self.config, self.registry, self.dispatcher or Dispatcher(), self._session_closed
        )
        try:
            for spec in self.listens:
                if spec.kind == "unix":
                    self.listeners.append(self._bind_unix(spec))
                else:
                    self.listeners.extend(self._bind_tcp(spec))
        except BaseException:
            self._close_listeners()
            raise
        for listener in self.listeners:
            log.info(
                "listening on %s%s",
                listener.display,
                " (read-only)" if listener.spec.readonly else "",
            )
        self._resume_accepting()

    def _bind_unix(self, spec: ListenSpec) -> _Listener:
        assert spec.path is not None
        path = Path(spec.path)
        if len(os.fsencode(path)) >= 108:
            raise DaemonError(f"unix socket path is too long (max 107 bytes): {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_socket(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old_umask = os.umask(0o077)  # no window where the socket is more open than asked
            try:
                sock.bind(os.fspath(path))
            finally:
                os.umask(old_umask)
            os.chmod(path, self.config.ro_perms if spec.readonly else self.config.rw_perms)
            sock.listen(1000)
            sock.setblocking(False)
            st = os.stat(path)
        except OSError as exc:
            sock.close()
            raise DaemonError(f"cannot listen on unix:{path}: {exc.strerror or exc}") from None
        return _Listener(spec, sock, f"unix:{path}", path, (st.st_dev, st.st_ino))

    @staticmethod
    def _remove_stale_socket(path: Path) -> None:
        """A socket file left by a killed daemon is removed; a live one is an error."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise DaemonError(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(os.fspath(path))
        except (ConnectionRefusedError, FileNotFoundError):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        finally:
            probe.close()
        raise DaemonError(f"another daemon is already listening on unix:{path}")

    def _bind_tcp(self, spec: ListenSpec) -> list[_Listener]:
        try:
            infos = socket.getaddrinfo(
                spec.host or None, spec.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as exc:
            raise DaemonError(f"cannot resolve {spec.host!r}: {exc}") from None
        out: list[_Listener] = []
        port = spec.port
        seen: set[tuple[Any, ...]] = set()
        for family, socktype, proto, _, addr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            addr = (addr[0], port, *addr[2:])
            if (family, addr[0]) in seen:
                continue
            seen.add((family, addr[0]))
            sock = socket.socket(family, socktype, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(addr)
                sock.listen(1000)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                for done in out:
                    done.sock.close()
                raise DaemonError(
                    f"cannot listen on {_format_tcp(addr)}: {exc.strerror or exc}"
                ) from None
            bound = sock.getsockname()
            port = bound[1]  # with port 0, every address family shares the first one's port
            out.append(_Listener(spec, sock, _format_tcp(bound)))
        if not out:
            raise DaemonError(f"no usable address for tcp:{spec.host}:{spec.port}")
        return out

    # --- accepting --------------------------------------------------------------------------

    def _resume_accepting(self) -> None:
        if self._accepting or self._stopping or self._loop is None:
            return
        self._accepting = True
        for listener in self.listeners:
            self._loop.add_reader(listener.sock.fileno(), self._on_acceptable, listener)

    def _pause_accepting(self) -> None:
        if not self._accepting or self._loop is None:
            return
        self._accepting = False
        for listener in self.listeners:
            self._loop.remove_reader(listener.sock.fileno())

    def _on_acceptable(self, listener: _Listener) -> None:
        for _ in range(_ACCEPT_BATCH):
            if len(self.sessions) >= self.config.max_clients:
                log.warning(
                    "max_clients (%d) reached; not accepting until a client leaves",
                    self.config.max_clients,
                )
                self._pause_accepting()
                return
            try:
                conn, addr = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accept on %s failed: %s", listener.display, exc)
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # out of descriptors: back off instead of spinning on a readable socket
                    self._pause_accepting()
                    assert self._loop is not None
                    self._retry_handle = self._loop.call_later(0.1, self._retry_accepting)
                return
            self._start_session(conn, addr, listener)

    def _retry_accepting(self) -> None:
        self._retry_handle = None
        if len(self.sessions) < self.config.max_clients:
            self._resume_accepting()

    def _start_session(self, conn: socket.socket, addr: Any, listener: _Listener) -> None:
        assert self._loop is not None and self._host is not None
        conn.setblocking(False)
        self._next_client_id += 1
        if listener.spec.kind == "unix":
            peer = listener.display
        else:
            peer = _format_tcp(addr).removeprefix("tcp:")
        session = ClientSession(
            self._host, self._next_client_id, readonly=listener.spec.readonly, peer=peer
        )
        self.sessions.add(session)
        task = self._loop.create_task(self._connect(conn, session))
        self._pending_starts.add(task)
        task.add_done_callback(self._pending_starts.discard)

    async def _connect(self, conn: socket.socket, session: ClientSession) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(lambda: session, sock=conn)
        except Exception as exc:
            log.warning("client %d: could not set up the connection: %s", session.client_id, exc)
            conn.close()
            self._session_closed(session)

    def _session_closed(self, session: ClientSession) -> None:
        self.sessions.discard(session)
        if (
            not self._accepting
            and not self._stopping
            and len(self.sessions) < self.config.max_clients
            and self._retry_handle is None
        ):
            self._resume_accepting()

    # --- stop -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask :meth:`serve_forever` to return (safe from a signal handler)."""
        if self._stop_event is not None:
            self._stop_event.set()

    async def serve_forever(self) -> None:
        assert self._stop_event is not None
        await self._stop_event.wait()
        await self.stop()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, remove socket files, flush and close every session."""
        if self._stopping:
            return
        self._stopping = True
        log.info("shutting down: %d client(s) connected", len(self.sessions))
        if self._retry_handle is not None:
            self._retry_handle.cancel()
            self._retry_handle = None
        self._pause_accepting()
        self._close_listeners()
        if self._pending_starts:
            await asyncio.wait(set(self._pending_starts), timeout=timeout)
        sessions = list(self.sessions)
        if sessions:
            await asyncio.gather(*(s.shutdown(timeout) for s in sessions), return_exceptions=True)
        close = getattr(self.registry, "shutdown", None) or getattr(
            self.registry, "close_all", None
        )
        if close is not None:
            try:
                result = close()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("closing the simulated hosts failed")
        log.info("stopped")

    def _close_listeners(self) -> None:
        for listener in self.listeners:
            with contextlib.suppress(OSError):
                listener.sock.close()
            if listener.path is not None:
                self._unlink_own_socket(listener)
        self.listeners = []

    @staticmethod
    def _unlink_own_socket(listener: _Listener) -> None:
        """Remove the socket file only if it is still ours (not a newer daemon's)."""
        assert listener.path is not None
        try:
            st = os.lstat(listener.path)
        except FileNotFoundError:
            return
        if listener.inode is None or (st.st_dev, st.st_ino) == listener.inode:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(listener.path)

    # --- convenience --------------------------------------------------------------------------

    def addresses(self) -> list[str]:
        """The ``unix:...`` / ``tcp:...`` strings of the bound listeners."""
        return [listener.display for listener in self.listeners]


async def _run_async(daemon: Daemon) -> None:
    loop = asyncio.get_running_loop()
    await daemon.start()
    installed: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, daemon.request_stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    try:
        await daemon.serve_forever()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run(daemon: Daemon) -> int:
    """Run ``daemon`` until SIGTERM/SIGINT; 0 after a clean shutdown."""
    asyncio.run(_run_async(daemon))
    return 0
