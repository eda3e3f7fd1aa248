"""The daemon: listeners, client accounting, lifecycle and signals.

Listeners are plain non-blocking sockets watched with ``loop.add_reader``, not
``asyncio.Server``, because libvirt's client limit does not refuse connections: at
``max_clients`` the daemon simply stops accepting on every socket and starts again when
a client leaves (the kernel backlog holds the waiting ones). asyncio's servers cannot
pause accepting; a reader callback can.

Sockets follow libvirtd's layout: ``libvirt-sock`` (read-write, mode
``unix_sock_rw_perms``) and ``libvirt-sock-ro`` (read-only, ``unix_sock_ro_perms``),
and TCP or TLS only when asked for. Every listener is announced with one
``listening on unix:/path`` / ``listening on tcp:HOST:PORT`` / ``listening on
tls:HOST:PORT`` log line (the real port when 0 was asked), which scripts and tests parse.

TLS (:mod:`virtwire.server.tls`): the handshake runs before the client becomes a session
that reads RPC; a client whose certificate passes libvirt's checks and
``tls_allowed_dn_list`` is sent the one byte ``\x01`` (inside TLS), then served; any other
is closed with nothing sent and the refusal logged with its address (and DN when the
handshake got that far). Handshaking clients count against ``max_clients``, as in
libvirtd, where a client is added to the server when accepted.

Client limits are libvirtd's (``virNetServerCheckLimits``): at ``max_clients`` clients,
or ``max_anonymous_clients`` clients still waiting to authenticate, stop accepting on
every listener; start again below both. With only ``auth_* = "none"`` (and TLS client
certificates, checked before the session starts) no client ever waits to authenticate,
so, as in libvirtd with those settings, ``max_anonymous_clients`` never bites.

Stopping (SIGTERM/SIGINT or :meth:`Daemon.request_stop`): stop accepting, remove the
socket files, let every session finish its calls and flush its replies, close them,
return 0 from :func:`run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import grp
import logging
import os
import signal
import socket
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from virtwire.server.config import ServerConfig
from virtwire.server.control import CONTROL_SOCKET_NAME, ControlServer
from virtwire.server.dispatch import Dispatcher
from virtwire.server.session import ClientSession, SessionHost

if TYPE_CHECKING:  # server.tls (cryptography, ~50 ms) is imported only when TLS is used
    from virtwire.server.tls import TLSFiles

__all__ = ["Daemon", "DaemonError", "ListenSpec", "parse_tcp_address", "run"]

log = logging.getLogger("virtwire.server")

_ACCEPT_BATCH = 64
_TLS_HANDSHAKE_TIMEOUT = 30.0


class DaemonError(Exception):
    """The daemon cannot start (a socket in use, a path too long, ...)."""


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """One address to listen on: ``kind`` is "unix" (``path``), "tcp" or "tls" (``host``, ``port``)."""

    kind: str
    readonly: bool = False
    path: Path | None = None
    host: str = ""
    port: int = 0


def parse_tcp_address(text: str, option: str = "--tcp") -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` → (host, port); a clear error otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise DaemonError(f"{option} expects HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise DaemonError(f"{option}: {port_text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise DaemonError(f"{option}: port {port} is out of range")
    return host, port


@dataclass(slots=True)
class _Listener:
    spec: ListenSpec
    sock: socket.socket
    display: str
    path: Path | None = None
    inode: tuple[int, int] | None = None


def _format_tcp(addr: tuple[Any, ...], kind: str = "tcp") -> str:
    host, port = addr[0], addr[1]
    if ":" in host:
        return f"{kind}:[{host}]:{port}"
    return f"{kind}:{host}:{port}"


def _resolvable(host: str) -> str | bytes | None:
    """``host`` for ``getaddrinfo``: None for any address; a numeric IPv4/IPv6 address as its
    ASCII bytes, which is what the ``idna`` codec would make of it (a ``str`` host always goes
    through that codec, whose import is ~1 ms of start-up); a name as given."""
    if not host:
        return None
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return host.encode("ascii")
    return host


def tls_files_from_config(config: ServerConfig, pki_dir: str | os.PathLike[str] | None) -> TLSFiles:
    from virtwire.server.tls import (
        DEFAULT_CA_FILE,
        DEFAULT_CERT_FILE,
        DEFAULT_CRL_FILE,
        DEFAULT_KEY_FILE,
        TLSFiles,
    )

    """``--pki-dir`` (libvirt's pkipath layout), else ``key_file`` & co., else /etc/pki."""
    if pki_dir is not None:
        return TLSFiles.from_pki_dir(pki_dir)
    crl = config.crl_file
    if crl is None and os.path.exists(DEFAULT_CRL_FILE):
        crl = DEFAULT_CRL_FILE
    return TLSFiles(
        Path(config.ca_file or DEFAULT_CA_FILE),
        Path(config.cert_file or DEFAULT_CERT_FILE),
        Path(config.key_file or DEFAULT_KEY_FILE),
        Path(crl) if crl else None,
    )


class _TlsGate(asyncio.Protocol):
    """Runs once the TLS handshake is done: check the client, send ``\x01``, hand over."""

    def __init__(self, daemon: Daemon, session: ClientSession) -> None:
        self.daemon = daemon
        self.session = session
        self.handed_over = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        session = self.session
        cfg = self.daemon.config
        dn = ""
        if not cfg.tls_no_verify_certificate:
            sslobj = transport.get_extra_info("ssl_object")
            der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
            from virtwire.server.tls import refusal_reason

            dn, reason = refusal_reason(der, cfg.tls_allowed_dn_list)
            if reason is not None:
                log.warning(
                    "client %d (%s): TLS client refused: %s; DN %r",
                    session.client_id,
                    session.peer,
                    reason,
                    dn,
                )
                transport.abort()  # like libvirtd: the socket is closed, nothing is sent
                return
        log.info("client %d (%s): TLS client accepted, DN %r", session.client_id, session.peer, dn)
        transport.write(b"\x01")  # virNetServerClientCheckAccess's confirmation byte
        self.handed_over = True
        transport.set_protocol(session)  # type: ignore[attr-defined]
        session.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handed_over:
            self.session.connection_lost(exc)


STATE_LOCK_NAME = "daemon.lock"


def lock_state_dir(state_dir: Path) -> int:
    """Take ``STATE_DIR/daemon.lock`` (flock, released by the kernel when the process dies):
    a second daemon on the same state directory would race the first over every file."""
    path = state_dir / STATE_LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise DaemonError(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        try:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            holder = ""
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise DaemonError(
                f"state directory {state_dir} is in use by another virtwire daemon{who}"
            ) from None
        raise DaemonError(f"cannot lock {path}: {exc.strerror or exc}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


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
        tls_files: TLSFiles | None = None,
        lock_state: bool = True,
    ) -> None:
        self.config = config
        # one daemon per state directory (a fleet locks its root once, not every host's)
        self.lock_state = lock_state
        self._lock_fd: int | None = None
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
        self.tls_files = tls_files
        self._tls_context: ssl.SSLContext | None = None
        self._control: ControlServer | None = None

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
        if self.lock_state:
            self._lock_fd = lock_state_dir(self.state_dir)
        try:
            await self._start_locked()
        except BaseException:
            self._unlock()
            raise

    async def _start_locked(self) -> None:
        if self.dispatcher is None:
            self.dispatcher = Dispatcher()
        if self.registry is None:
            from virtwire.server.hypervisor import HostRegistry

            self.registry = HostRegistry(
                self.state_dir, self._loop.call_soon, self.dispatcher.faults
            )
        if any(spec.kind == "tls" for spec in self.listens):
            self._tls_context = self._make_tls_context()
        self._host = SessionHost(self.config, self.registry, self.dispatcher, self._session_closed)
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
        await self._start_control()
        self._resume_accepting()

    def control_socket_path(self) -> Path:
        """Where ``virtwire inject`` finds this daemon: next to the read-write unix socket,
        else in ``STATE_DIR/run``."""
        for spec in self.listens:
            if spec.kind == "unix" and not spec.readonly and spec.path is not None:
                return Path(spec.path).parent / CONTROL_SOCKET_NAME
        return self.state_dir / "run" / CONTROL_SOCKET_NAME

    async def _start_control(self) -> None:
        """The fault-injection socket; a daemon that cannot make it still serves clients."""
        assert self.dispatcher is not None
        path = self.control_socket_path()
        if len(os.fsencode(path)) >= 108:
            log.warning("fault injection disabled: socket path too long: %s", path)
            return
        control = ControlServer(path, self.dispatcher.faults, lambda: list(self.sessions))
        try:
            await control.start()
        except OSError as exc:
            log.warning("fault injection disabled: cannot listen on %s: %s", path, exc)
            return
        self._control = control

    def _make_tls_context(self) -> ssl.SSLContext:
        """libvirt checks its own credentials at start; so do we, with its messages."""
        from virtwire.server.tls import check_pki, server_context

        files = self.tls_files or tls_files_from_config(self.config, None)
        self.tls_files = files
        for path, what in ((files.ca, "CA certificate"), (files.cert, "server certificate"),
                           (files.key, "server key")):  # fmt: skip
            if not os.access(path, os.R_OK):
                raise DaemonError(f"Cannot read {what} '{path}': "
                                  f"{os.strerror(2 if not path.exists() else 13)}")  # fmt: skip
        if files.crl is not None and not os.access(files.crl, os.R_OK):
            raise DaemonError(f"Cannot read CA revocation list '{files.crl}'")
        defects = [d for d in check_pki(files.ca, [("server", files.cert, files.key)]) if d.fatal]
        if defects:
            raise DaemonError(
                "TLS credentials are not usable:\n  " + "\n  ".join(str(d) for d in defects)
            )
        try:
            return server_context(files, verify_client=not self.config.tls_no_verify_certificate)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise DaemonError(f"cannot load TLS credentials: {exc}") from None

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
            if self.config.unix_sock_group is not None:
                os.chown(path, -1, self._socket_gid(self.config.unix_sock_group))
            os.chmod(path, self.config.ro_perms if spec.readonly else self.config.rw_perms)
            sock.listen(1000)
            sock.setblocking(False)
            st = os.stat(path)
        except OSError as exc:
            sock.close()
            raise DaemonError(f"cannot listen on unix:{path}: {exc.strerror or exc}") from None
        except BaseException:  # an unknown unix_sock_group: the socket must not stay open
            sock.close()
            raise
        return _Listener(spec, sock, f"unix:{path}", path, (st.st_dev, st.st_ino))

    @staticmethod
    def _socket_gid(group: str) -> int:
        """``unix_sock_group``: a group name, or a number (libvirt accepts both)."""
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            if group.isdigit():
                return int(group)
            raise DaemonError(f"unix_sock_group: no group named {group!r}") from None

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
        except OSError as exc:
            # a busy daemon (backlog full: EAGAIN or a timeout) is alive: only a refused
            # connection proves the socket stale
            raise DaemonError(
                f"{path} is in use (connecting to it failed with {exc.strerror or exc!r}); "
                "another daemon may be listening on it"
            ) from None
        finally:
            probe.close()
        raise DaemonError(f"another daemon is already listening on unix:{path}")

    def _bind_tcp(self, spec: ListenSpec) -> list[_Listener]:
        try:
            infos = socket.getaddrinfo(
                _resolvable(spec.host), spec.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
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
                    f"cannot listen on {_format_tcp(addr, spec.kind)}: {exc.strerror or exc}"
                ) from None
            bound = sock.getsockname()
            port = bound[1]  # with port 0, every address family shares the first one's port
            out.append(_Listener(spec, sock, _format_tcp(bound, spec.kind)))
        if not out:
            raise DaemonError(f"no usable address for {spec.kind}:{spec.host}:{spec.port}")
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
            over = self._over_limit()
            if over is not None:
                log.warning("%s reached; not accepting until a client leaves", over)
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

    def _over_limit(self) -> str | None:
        """virNetServerCheckLimits: the limit that stops accepting, or None."""
        cfg = self.config
        if len(self.sessions) >= cfg.max_clients:
            return f"max_clients ({cfg.max_clients})"
        if cfg.max_anonymous_clients:
            waiting = sum(1 for s in self.sessions if getattr(s, "auth_pending", False))
            if waiting >= cfg.max_anonymous_clients:
                return f"max_anonymous_clients ({cfg.max_anonymous_clients})"
        return None

    def _retry_accepting(self) -> None:
        self._retry_handle = None
        if self._over_limit() is None:
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
        task = self._loop.create_task(self._connect(conn, session, listener.spec.kind == "tls"))
        self._pending_starts.add(task)
        task.add_done_callback(self._pending_starts.discard)

    async def _connect(self, conn: socket.socket, session: ClientSession, tls: bool) -> None:
        assert self._loop is not None
        if tls:
            await self._connect_tls(conn, session)
            return
        try:
            await self._loop.connect_accepted_socket(lambda: session, sock=conn)
        except Exception as exc:
            log.warning("client %d: could not set up the connection: %s", session.client_id, exc)
            conn.close()
            self._session_closed(session)

    async def _connect_tls(self, conn: socket.socket, session: ClientSession) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(
                lambda: _TlsGate(self, session),
                sock=conn,
                ssl=self._tls_context,
                ssl_handshake_timeout=_TLS_HANDSHAKE_TIMEOUT,
            )
        except asyncio.CancelledError:  # the daemon is stopping
            conn.close()
            self._session_closed(session)
            raise
        except Exception as exc:
            if isinstance(exc, ssl.SSLCertVerificationError):
                reason = f"certificate verify failed: {exc.verify_message}"
            elif isinstance(exc, ssl.SSLError):
                reason = exc.reason or str(exc)
            elif isinstance(exc, TimeoutError):
                reason = "handshake timed out"
            else:
                reason = str(exc) or type(exc).__name__
            session.host.log_throttle.log(
                logging.WARNING,
                session.peer,
                "client %d (%s): TLS client refused: handshake failed: %s",
                session.client_id,
                session.peer,
                reason,
            )
            conn.close()
            self._session_closed(session)

    def _session_closed(self, session: ClientSession) -> None:
        self.sessions.discard(session)
        if (
            not self._accepting
            and not self._stopping
            and self._over_limit() is None
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
        control, self._control = self._control, None
        if control is not None:
            await control.close()
        for task in self._pending_starts:  # TLS handshakes still running: give up on them
            task.cancel()
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
        self._unlock()
        log.info("stopped")

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the flock

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


EVENT_LOOPS = ("asyncio", "uvloop")


def run(daemon: Daemon, event_loop: str = "asyncio", busy_poll_us: float = 0) -> int:
    """Run ``daemon`` until SIGTERM/SIGINT; 0 after a clean shutdown.

    ``event_loop="uvloop"`` runs it on uvloop (the optional extra ``virtwire[uvloop]``);
    ``busy_poll_us``: asyncio's loop polls up to that long before it sleeps
    (:mod:`virtwire.server.busypoll`).
    """
    factory = loop_factory(event_loop, busy_poll_us)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_run_async(daemon))
    return 0


def loop_factory(
    event_loop: str = "asyncio", busy_poll_us: float = 0
) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the event loop of ``virtwire serve`` (None: asyncio's default)."""
    factory = None
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise DaemonError(
                "--event-loop uvloop needs the uvloop package (pip install 'virtwire[uvloop]')"
            ) from None
        factory = uvloop.new_event_loop
    elif event_loop != "asyncio":
        raise DaemonError(f"unknown event loop {event_loop!r} (one of {', '.join(EVENT_LOOPS)})")
    elif busy_poll_us > 0:
        from virtwire.server import busypoll

        def factory() -> asyncio.AbstractEventLoop:
            return busypoll.new_event_loop(busy_poll_us)

    return factory
