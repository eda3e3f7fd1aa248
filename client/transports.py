"""Transports: how the client reaches a daemon's byte stream.

Why pluggable: libvirt's remote driver knows seven transports (tls, unix, ssh, ext, tcp,
libssh2, libssh); virtwire implements unix, tcp, tls (client certificates from libvirt's
PKI locations), ssh (the system ssh client plus virt-ssh-helper or netcat on the host) and
ext (any command whose stdin/stdout is the connection), and keeps a registry so that the
rest can be added without touching the connection core. A transport only turns a
parsed URI into an asyncio ``(StreamReader, StreamWriter)`` pair; everything above the byte
stream (framing, auth, keepalive) is the connection's job.

Failures are raised as libvirt raises them (VIR_ERR_SYSTEM_ERROR from the RPC domain, with
libvirt's message texts), so that scripts that match on them behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import re
import ssl
from collections.abc import Awaitable, Callable
from errno import EIO

from virtwire.client.uri import ConnectURI
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

__all__ = [
    "StreamPair",
    "TransportOpener",
    "open_transport",
    "register_transport",
    "registered_transports",
]

log = logging.getLogger("virtwire.client")

StreamPair = tuple[asyncio.StreamReader, asyncio.StreamWriter]
#: ``opener(uri, readonly) -> (reader, writer)``; ``uri`` is None when the caller gave none.
TransportOpener = Callable[[ConnectURI | None, bool], Awaitable[StreamPair]]

#: asyncio's default 64 KiB line limit is irrelevant for us, but StreamReader.readexactly is
#: not; a larger buffer cuts the number of reads for large replies (capabilities, XML).
_READ_LIMIT = 1 << 20


def _system_error(detail: str, errno: int | None = None) -> LibvirtError:
    """libvirt's virReportSystemError: SYSTEM_ERROR, and ``int1`` carries the errno."""
    err = LibvirtError.make(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, detail)
    if errno is not None:
        err.int1 = errno
    return err


_ERRNO_RE = re.compile(r"\[Errno (\d+)\]")


def _errno_of(exc: BaseException) -> int | None:
    """The errno behind ``exc``; asyncio folds several attempts into one message."""
    errno = getattr(exc, "errno", None)
    if errno:
        return errno
    match = _ERRNO_RE.search(str(exc))
    return int(match.group(1)) if match else None


def _strerror(exc: BaseException) -> str:
    errno = _errno_of(exc)
    return os.strerror(errno) if errno else str(exc)


async def _open_unix(uri: ConnectURI | None, readonly: bool) -> StreamPair:
    """Dial a unix socket: ``socket=`` or libvirt's default path for the URI."""
    if uri is None:
        path = "/var/run/libvirt/libvirt-sock-ro" if readonly else "/var/run/libvirt/libvirt-sock"
    else:
        path = uri.socket_path(readonly)
    try:
        return await asyncio.open_unix_connection(path, limit=_READ_LIMIT)
    except OSError as exc:
        raise _system_error(
            f"Failed to connect socket to '{path}': {_strerror(exc)}", _errno_of(exc)
        ) from exc


async def _open_tcp(uri: ConnectURI | None, readonly: bool) -> StreamPair:
    """Dial TCP (no encryption, as libvirt's tcp transport)."""
    assert uri is not None
    host = uri.effective_host
    port = uri.effective_port
    try:
        return await asyncio.open_connection(host, port, limit=_READ_LIMIT)
    except (OSError, OverflowError) as exc:
        raise _system_error(
            f"unable to connect to server at '{host}:{port}': {_strerror(exc)}", _errno_of(exc)
        ) from exc


SYSTEM_CACERT = "/etc/pki/CA/cacert.pem"
SYSTEM_CLIENT_CERT = "/etc/pki/libvirt/clientcert.pem"
SYSTEM_CLIENT_KEY = "/etc/pki/libvirt/private/clientkey.pem"
SYSTEM_CACRL = "/etc/pki/CA/cacrl.pem"


def _tls_credentials(uri: ConnectURI) -> tuple[str, str, str]:
    """(CA, client certificate, client key) where libvirt looks for them
    (``virNetTLSContextLocateCredentials``).

    ``pkipath=DIR`` → DIR/{cacert,clientcert,clientkey}.pem, whether they exist or not.
    Else, for a non-root user, ``~/.pki/libvirt/cacert.pem`` when it exists and the
    ``clientcert.pem``/``clientkey.pem`` pair there when both exist; whatever is missing
    comes from the system PKI (/etc/pki/CA/cacert.pem, /etc/pki/libvirt/clientcert.pem,
    /etc/pki/libvirt/private/clientkey.pem), which root always uses.
    """
    pkipath = uri.param("pkipath")
    if pkipath:
        base = pkipath.rstrip("/")
        return f"{base}/cacert.pem", f"{base}/clientcert.pem", f"{base}/clientkey.pem"
    cacert, cert, key = SYSTEM_CACERT, SYSTEM_CLIENT_CERT, SYSTEM_CLIENT_KEY
    if os.geteuid() != 0:
        user = os.path.join(os.path.expanduser("~"), ".pki", "libvirt")
        user_ca = os.path.join(user, "cacert.pem")
        user_cert = os.path.join(user, "clientcert.pem")
        user_key = os.path.join(user, "clientkey.pem")
        if os.path.exists(user_ca):
            cacert = user_ca
        if os.path.exists(user_cert) and os.path.exists(user_key):  # a pair, as in libvirt
            cert, key = user_cert, user_key
    return cacert, cert, key


def _tls_crl(uri: ConnectURI) -> str:
    """The CA's revocation list where libvirt looks for it: DIR/cacrl.pem with ``pkipath``,
    else a normal user's ``~/.pki/libvirt/cacrl.pem`` when it exists, else the system's.
    A missing file means no list (libvirt skips a non-existent CRL)."""
    pkipath = uri.param("pkipath")
    if pkipath:
        return f"{pkipath.rstrip('/')}/cacrl.pem"
    if os.geteuid() != 0:
        user = os.path.join(os.path.expanduser("~"), ".pki", "libvirt", "cacrl.pem")
        if os.path.exists(user):
            return user
    return SYSTEM_CACRL


def _tls_context(uri: ConnectURI) -> ssl.SSLContext:
    """A client context with libvirt's PKI files; ``no_verify=1`` skips server checks."""
    cacert, cert, key = _tls_credentials(uri)
    no_verify = uri.flag_param("no_verify")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # libvirt's client needs the CA; a missing certificate or key is skipped (the client
    # then offers none, and a daemon that wants one refuses it)
    if not os.path.exists(cacert):
        raise _system_error(f"Cannot read CA certificate '{cacert}': {os.strerror(2)}", 2)
    with_cert = os.path.exists(cert) and os.path.exists(key)
    if not uri.flag_param("no_sanity"):
        _sanity_check(cacert, cert if os.access(cert, os.R_OK) else None)
    try:
        if no_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx.load_verify_locations(cafile=cacert)
            crl = _tls_crl(uri)
            if os.path.exists(crl):  # a revoked server certificate then fails verification
                ctx.load_verify_locations(cafile=crl)
                ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        if with_cert:
            ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise LibvirtError.make(
            ErrorCode.AUTH_FAILED, ErrorDomain.RPC, f"unable to load TLS credentials: {exc}"
        ) from exc
    return ctx


def _sanity_check(cacert: str, cert: str | None) -> None:
    """libvirt checks its own certificate against the CA before dialling (``no_sanity=1``
    skips it), so a wrong PKI fails with a clear local message instead of a refusal."""
    from cryptography import x509  # only for TLS: a plain client never imports cryptography
    from cryptography.exceptions import InvalidSignature

    if cert is None:  # nothing of ours to check (virNetTLSContextSanityCheckCredentials)
        return
    try:
        with open(cacert, "rb") as f:
            cas = x509.load_pem_x509_certificates(f.read())
        with open(cert, "rb") as f:
            ours = x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError) as exc:
        raise _system_error(f"Unable to parse TLS certificates: {exc}") from exc
    reason = None
    now = datetime.datetime.now(datetime.UTC)
    if ours.not_valid_after_utc < now:
        reason = "The certificate has expired"
    elif ours.not_valid_before_utc > now:
        reason = "The certificate is not yet activated"
    else:
        for ca in cas:
            try:
                ours.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            break
        else:
            reason = "The certificate hasn't got a known issuer"
    if reason is not None:
        raise _system_error(
            f"Our own certificate {cert} failed validation against {cacert}: {reason}."
        )


async def _open_tls(uri: ConnectURI | None, readonly: bool) -> StreamPair:
    """TCP + TLS with client certificates, then libvirt's one-byte server confirmation."""
    assert uri is not None
    ctx = _tls_context(uri)
    host = uri.effective_host
    port = uri.effective_port
    try:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ctx, server_hostname=host, limit=_READ_LIMIT
        )
    except ssl.SSLCertVerificationError as exc:
        log.warning("certificate check failed for %s: %s", host, exc.verify_message)
        raise LibvirtError.make(
            ErrorCode.AUTH_FAILED, ErrorDomain.RPC, "Failed to verify peer's certificate"
        ) from exc
    except ssl.SSLError as exc:
        raise LibvirtError.make(
            ErrorCode.AUTH_FAILED, ErrorDomain.RPC, f"TLS handshake failed {exc.reason or exc}"
        ) from exc
    except (OSError, OverflowError) as exc:
        raise _system_error(
            f"unable to connect to server at '{host}:{port}': {_strerror(exc)}", _errno_of(exc)
        ) from exc
    # The daemon sends one byte (1) once it has accepted our certificate and address.
    try:
        check = await reader.readexactly(1)
    except (asyncio.IncompleteReadError, OSError, ssl.SSLError) as exc:
        # a daemon refusing us drops the connection without a TLS close: GnuTLS reports
        # that as EIO and libvirt as a failed read
        writer.close()
        raise _system_error(f"Unable to read TLS confirmation: {os.strerror(EIO)}", EIO) from exc
    if check != b"\x01":
        writer.close()
        raise LibvirtError.make(
            ErrorCode.RPC,
            ErrorDomain.RPC,
            "server verification (of our certificate or IP address) failed",
        )
    return reader, writer


class _ProcessReader:
    """stdout of a helper process as the connection's byte source.

    At EOF the helper's stderr becomes the error, as libvirt reports it ("Cannot recv data:
    ssh: Could not resolve hostname h: ...: Connection reset by peer").
    """

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._stderr = bytearray()
        self._drain = asyncio.ensure_future(self._collect_stderr())

    async def _collect_stderr(self) -> None:
        assert self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(4096):
            self._stderr += chunk[: 65536 - len(self._stderr)]

    async def read(self, n: int = -1) -> bytes:
        assert self._proc.stdout is not None
        data = await self._proc.stdout.read(n)
        if data:
            return data
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._drain), 1.0)
            await asyncio.wait_for(self._proc.wait(), 1.0)
        text = self._stderr.decode("utf-8", "replace").strip().replace("\n", ": ")
        if text:
            raise ConnectionResetError(f"{text}: Connection reset by peer")
        return b""


class _ProcessWriter:
    """stdin of a helper process; closing it ends the helper (killed if it lingers)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        assert proc.stdin is not None
        self._stdin = proc.stdin
        self._reaper: asyncio.Future[None] | None = None

    def write(self, data: bytes) -> None:
        self._stdin.write(data)

    def is_closing(self) -> bool:
        return self._stdin.is_closing()

    def close(self) -> None:
        self._stdin.close()
        if self._reaper is None:
            self._reaper = asyncio.ensure_future(self._reap())

    async def wait_closed(self) -> None:
        """Until the helper has exited (StreamWriter's API)."""
        if self._reaper is not None:
            await asyncio.shield(self._reaper)

    async def _reap(self) -> None:
        try:
            await asyncio.wait_for(self._proc.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()


async def _spawn(argv: list[str]) -> StreamPair:
    """Run ``argv`` with pipes: its stdin/stdout carry the protocol (ext and ssh)."""
    log.debug("spawning %s", argv)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # keep ssh away from our terminal and signals
        )
    except OSError as exc:
        raise _system_error(f"Cannot run {argv[0]}: {_strerror(exc)}", _errno_of(exc)) from exc
    return _ProcessReader(proc), _ProcessWriter(proc)  # type: ignore[return-value]


async def _open_ext(uri: ConnectURI | None, readonly: bool) -> StreamPair:
    """``ext``: run ``command=PROGRAM``; its stdin/stdout are the connection."""
    command = uri.param("command") if uri is not None else None
    if not command:
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG,
            ErrorDomain.REMOTE,
            "remote_open: for 'ext' transport, command is required",
        )
    return await _spawn([command])


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def ssh_command(uri: ConnectURI, readonly: bool) -> list[str]:
    """The ``ssh`` command line for ``uri``, shaped like libvirt's ssh transport.

    On the remote side it runs ``virt-ssh-helper URI`` when available (``proxy=native``
    requires it) or else netcat on the daemon's unix socket (``proxy=netcat``; a
    ``socket=`` parameter implies netcat). ``command=`` replaces the ssh binary,
    ``netcat=`` the nc binary; ``keyfile=``, ``no_tty=1`` and ``no_verify=1`` map to ssh
    options as in libvirt.
    """
    argv = [uri.param("command") or "ssh"]
    if uri.port:
        argv += ["-p", str(uri.port)]
    if uri.user:
        argv += ["-l", uri.user]
    keyfile = uri.param("keyfile")
    if keyfile:
        argv += ["-i", keyfile]
    argv += ["-T", "-e", "none"]  # no tty, no escape character: the pipe is binary
    if uri.flag_param("no_tty"):
        argv += ["-o", "BatchMode=yes"]
    if uri.flag_param("no_verify"):
        argv += ["-o", "StrictHostKeyChecking=no"]
    proxy = (uri.param("proxy") or "auto").lower()
    if proxy not in ("auto", "netcat", "native"):
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, f"Unsupported proxy mode '{proxy}'"
        )
    socket = uri.param("socket")
    netcat = uri.param("netcat") or "nc"
    if socket is None:
        if uri.is_session and proxy == "netcat":
            raise LibvirtError.make(
                ErrorCode.OPERATION_UNSUPPORTED,
                ErrorDomain.REMOTE,
                "Connecting to session instance without socket path is not supported "
                "by the ssh connection driver",
            )
        socket = "/var/run/libvirt/libvirt-sock-ro" if readonly else "/var/run/libvirt/libvirt-sock"
    else:
        proxy = "netcat" if proxy == "auto" else proxy
    nc = (
        f"if {_shell_quote(netcat)} -q 2>&1 | grep 'requires an argument' >/dev/null 2>&1; "
        f"then ARG=-q0; else ARG=; fi; exec {_shell_quote(netcat)} $ARG -U {_shell_quote(socket)}"
    )
    helper = f"exec virt-ssh-helper {_shell_quote(uri.open_name())}"
    if proxy == "netcat":
        script = nc
    elif proxy == "native":
        script = helper
    else:
        script = f"if command -v virt-ssh-helper >/dev/null 2>&1; then {helper}; fi; {nc}"
    host = uri.host or "localhost"
    # ssh joins the remote arguments with spaces for the remote user's shell, so the script
    # must be quoted once more for that shell (as libvirt does)
    return [*argv, "--", host, "sh", "-c", _shell_quote(script)]


async def _open_ssh(uri: ConnectURI | None, readonly: bool) -> StreamPair:
    """``ssh``: the system ssh client, then a proxy to the daemon's socket on the host."""
    assert uri is not None
    return await _spawn(ssh_command(uri, readonly))


def _not_supported(name: str) -> TransportOpener:
    async def opener(uri: ConnectURI | None, readonly: bool) -> StreamPair:
        raise LibvirtError.make(
            ErrorCode.NO_SUPPORT,
            ErrorDomain.REMOTE,
            f"transport '{name}' is not supported yet by virtwire (use tcp or unix)",
        )

    return opener


_TRANSPORTS: dict[str, TransportOpener] = {
    "unix": _open_unix,
    "tcp": _open_tcp,
    "tls": _open_tls,
    "ssh": _open_ssh,
    "ext": _open_ext,
    "libssh2": _not_supported("libssh2"),
    "libssh": _not_supported("libssh"),
}


def register_transport(name: str, opener: TransportOpener) -> None:
    """Install (or replace) the opener for ``name`` — the seam for TLS and friends."""
    _TRANSPORTS[name.lower()] = opener


def registered_transports() -> dict[str, TransportOpener]:
    """A copy of the registry (for tests and diagnostics)."""
    return dict(_TRANSPORTS)


async def open_transport(
    uri: ConnectURI | None, readonly: bool, *, timeout: float | None = None
) -> StreamPair:
    """Open the byte stream for ``uri`` (None: the system daemon's unix socket)."""
    name = uri.effective_transport if uri is not None else "unix"
    opener = _TRANSPORTS.get(name)
    if opener is None:  # parse_uri already refuses unknown names; a registry edit may not
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, f"transport '{name}' is not registered"
        )
    log.debug("opening %s transport for %s", name, uri.original if uri else "<default>")
    try:
        return await asyncio.wait_for(opener(uri, readonly), timeout)
    except TimeoutError as exc:
        raise _system_error(f"timed out connecting with the {name} transport") from exc
