"""Connection URIs parsed the way libvirt's remote driver reads them.

``driver[+transport]://[user@][host][:port]/path[?params][#fragment]``

Why a module of its own: the URI decides three separate things that must each match libvirt
exactly — which transport and endpoint to dial, which name goes into CONNECT_OPEN (the URI with
transport, user, host, port and the transport-only parameters removed), and which remote-driver
open flags accompany it. Errors use libvirt's codes and texts so that a script that inspects
``get_error_code()`` behaves the same with either library.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

__all__ = [
    "DEFAULT_TCP_PORT",
    "DEFAULT_TLS_PORT",
    "KNOWN_TRANSPORTS",
    "TRANSPORT_PARAMS",
    "ConnectURI",
    "parse_uri",
    "resolve_uri",
]

DEFAULT_TCP_PORT = 16509
DEFAULT_TLS_PORT = 16514

#: Transports libvirt's remote driver recognises (its error text lists them in this order).
KNOWN_TRANSPORTS = ("tls", "unix", "ssh", "ext", "tcp", "libssh2", "libssh")

#: Query parameters the remote driver consumes itself and never forwards to the daemon.
TRANSPORT_PARAMS = frozenset(
    {
        "name",
        "command",
        "socket",
        "auth",
        "sshauth",
        "netcat",
        "keyfile",
        "pkipath",
        "known_hosts",
        "known_hosts_verify",
        "no_sanity",
        "no_verify",
        "no_tty",
        "tls_priority",
        "mode",
        "proxy",
        "tls",
        "authfile",
    }
)

# Remote-driver open flags sent in CONNECT_OPEN (libvirt's VIR_DRV_OPEN_REMOTE_*).
OPEN_REMOTE_RO = 1
OPEN_REMOTE_USER = 2
OPEN_REMOTE_AUTOSTART = 4

SYSTEM_SOCKET = "/var/run/libvirt/libvirt-sock"
SYSTEM_SOCKET_RO = "/var/run/libvirt/libvirt-sock-ro"

# RFC 3986 shape, permissive like libxml2's parser: scheme, optional authority, path, query,
# fragment. The authority is split further below so that a bad port is a parse error.
_URI_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):"
    r"(?://(?P<authority>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?$"
)
_HOSTPORT_RE = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\[\]:]*)(?::(?P<port>[0-9]*))?$")


def _parse_error(uri: str) -> LibvirtError:
    """libvirt's virURIParse failure: INTERNAL_ERROR from the URI domain."""
    return LibvirtError.make(
        ErrorCode.INTERNAL_ERROR, ErrorDomain.URI, f"Unable to parse URI {uri}"
    )


def _invalid_arg(detail: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, detail)


@dataclass(frozen=True)
class ConnectURI:
    """A parsed connection URI plus everything the client derives from it."""

    original: str
    scheme: str
    driver: str
    transport: str | None
    user: str | None
    host: str | None
    port: int | None
    path: str
    params: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    fragment: str | None = None

    # -- derived values -------------------------------------------------------------------

    def param(self, name: str) -> str | None:
        """The last value of query parameter ``name`` (libvirt keeps the last one)."""
        value = None
        for key, val in self.params:
            if key.lower() == name.lower():
                value = val
        return value

    def flag_param(self, name: str) -> bool:
        """A boolean parameter such as ``no_verify=1``: any non-zero integer is true."""
        value = self.param(name)
        if value is None:
            return False
        try:
            return int(value) != 0
        except ValueError:
            raise _invalid_arg(f"Failed to parse value of URI component {name}") from None

    @property
    def effective_transport(self) -> str:
        """The transport to dial: explicit, else unix without a host and tls with one."""
        if self.transport:
            return self.transport
        return "tls" if self.host else "unix"

    @property
    def effective_port(self) -> int | None:
        """The TCP port: explicit, else libvirt's default for tcp (16509) / tls (16514)."""
        if self.port:
            return self.port
        transport = self.effective_transport
        if transport == "tcp":
            return DEFAULT_TCP_PORT
        if transport == "tls":
            return DEFAULT_TLS_PORT
        return None

    @property
    def effective_host(self) -> str:
        """The host to dial; libvirt dials ``localhost`` when none is given."""
        host = self.host or "localhost"
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return host

    @property
    def is_session(self) -> bool:
        """A per-user (session) URI such as ``qemu:///session``."""
        return self.path == "/session"

    def open_name(self) -> str:
        """The name sent in CONNECT_OPEN.

        As libvirt's remote driver: a ``name=`` parameter wins; ``remote://`` URIs send ""
        (the daemon probes); otherwise the URI with the ``+transport`` suffix, user, host and
        port removed and the transport-only parameters dropped, other parameters kept.
        """
        explicit = self.param("name")
        if explicit is not None:
            return explicit
        if self.driver == "remote":
            return ""
        kept = [(k, v) for k, v in self.params if k.lower() not in TRANSPORT_PARAMS]
        name = f"{self.driver}://{self.path}"
        if kept:
            name += "?" + "&".join(f"{_escape(k)}={_escape(v)}" for k, v in kept)
        if self.fragment is not None:
            name += "#" + self.fragment
        return name

    @property
    def uses_user_daemon(self) -> bool:
        """Whether libvirt would dial the per-user daemon's socket for this URI.

        Session URIs always do; the test driver does for unprivileged users (it has no
        system instance worth talking to).
        """
        if self.host or self.effective_transport != "unix":
            return False
        return self.is_session or (self.driver == "test" and os.geteuid() != 0)

    def open_flags(self, readonly: bool) -> int:
        """Remote-driver open flags for CONNECT_OPEN (the daemon honours only bit 0, RO)."""
        flags = OPEN_REMOTE_RO if readonly else 0
        if self.uses_user_daemon and self.param("socket") is None:
            flags |= OPEN_REMOTE_USER | OPEN_REMOTE_AUTOSTART
        return flags

    def socket_path(self, readonly: bool) -> str:
        """The unix socket to dial: ``socket=``, else libvirt's default for this URI."""
        explicit = self.param("socket")
        if explicit:
            return explicit
        if self.uses_user_daemon:
            runtime = os.environ.get("XDG_RUNTIME_DIR")
            if not runtime:
                runtime = os.path.join(os.path.expanduser("~"), ".cache")
            return os.path.join(runtime, "libvirt", "libvirt-sock")
        return SYSTEM_SOCKET_RO if readonly else SYSTEM_SOCKET


def _escape(text: str) -> str:
    return quote(text, safe="-_.!~*'()/:")


def parse_uri(uri: str) -> ConnectURI:
    """Parse ``uri`` as libvirt does; a malformed URI raises libvirt's error."""
    if not isinstance(uri, str):
        raise TypeError(f"URI must be a string, not {type(uri).__name__}")
    match = _URI_RE.match(uri)
    if match is None:
        raise _parse_error(uri)
    scheme = match["scheme"]
    driver, plus, transport = scheme.partition("+")
    transport_name = transport.lower() if plus else None
    if transport_name is not None and transport_name not in KNOWN_TRANSPORTS:
        known = "|".join(KNOWN_TRANSPORTS)
        raise _invalid_arg(f"remote_open: transport in URL not recognised (should be {known})")

    user = host = None
    port = None
    authority = match["authority"]
    if authority:
        userinfo, at, hostport = authority.rpartition("@")
        if at:
            user = unquote(userinfo)
        hp = _HOSTPORT_RE.match(hostport)
        if hp is None:
            raise _parse_error(uri)
        host = hp["host"] or None
        if hp["port"]:
            # Like libvirt, an out-of-range port is accepted here and fails when dialling.
            port = int(hp["port"])

    params: list[tuple[str, str]] = []
    if match["query"]:
        for part in re.split(r"[&;]", match["query"]):
            if not part:
                continue
            key, _, value = part.partition("=")
            params.append((unquote(key), unquote(value)))

    parsed = ConnectURI(
        original=uri,
        scheme=scheme,
        driver=driver,
        transport=transport_name,
        user=user,
        host=host,
        port=port,
        path=match["path"],
        params=tuple(params),
        fragment=match["fragment"],
    )
    if parsed.transport == "unix" and parsed.host:
        raise _invalid_arg(f"using unix socket and remote server '{parsed.host}' is not supported.")
    return parsed


def resolve_uri(uri: str | None) -> ConnectURI | None:
    """The URI to use: ``uri``, else ``$LIBVIRT_DEFAULT_URI``, else None (the daemon probes)."""
    if uri is None or uri == "":
        uri = os.environ.get("LIBVIRT_DEFAULT_URI") or None
    if uri is None:
        return None
    return parse_uri(uri)
