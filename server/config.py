"""The daemon's settings: libvirtd.conf syntax and names, libvirt's defaults.

A team that already runs libvirtd can point ``virtwire serve --config`` at a file written
for libvirtd: the keys we support keep libvirt's names and defaults
(``remote_daemon_config.c``), keys we do not know are reported with a warning instead of
stopping the daemon, and a value of the wrong type is a clear startup error naming the
file and line.

The syntax is libvirt's ``virconf`` subset that real configuration files use::

    # comment
    max_clients = 5000
    auth_tcp = "none"            # double or single quotes
    listen_addr = '127.0.0.1'
    some_list = [ "a",
                  "b" ]           # lists may span lines
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

__all__ = [
    "AUTH_SCHEMES",
    "CONTROL_SOCKET_NAME",
    "MAX_CLIENT_EVENT_CALLBACKS",
    "ConfigError",
    "ServerConfig",
    "default_socket_dir",
    "default_state_dir",
    "load_config",
    "parse_config_text",
]

log = logging.getLogger("virtwire.server")

AUTH_SCHEMES = ("none", "sasl", "polkit")
"""Values libvirt accepts for ``auth_*``; only ``none`` is implemented here (on the TLS
listener the verified client certificate is the authentication, as with libvirt's
``auth_tls = "none"``)."""


MAX_CLIENT_EVENT_CALLBACKS = 4096
"""Default of ``max_client_event_callbacks``: event registrations one client may hold."""


class ConfigError(Exception):
    """A configuration file (or option) the daemon cannot start with."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Every setting the daemon reads, with libvirtd's default values.

    ``max_client_queue`` is ours: libvirtd has no bound on a client's outgoing queue; we
    disconnect a client whose queue passes it (logged), so that a client that stops
    reading cannot make the daemon grow without limit and no event is dropped silently.
    ``max_client_queue_bytes`` is ours too: the same bound in bytes of framed messages
    (a few large replies or many events weigh what they weigh, not one message each).
    ``max_client_event_callbacks`` is ours: libvirt 9.0 has no limit on the event
    callbacks one client registers (any UUID may be given as the domain filter); past it a
    registration fails with an RPC error, as libvirtd's other per-call limits do.
    """

    max_clients: int = 5000
    max_anonymous_clients: int = 20
    max_client_requests: int = 5
    keepalive_interval: float = 5
    keepalive_count: int = 5
    auth_unix_rw: str = "none"
    auth_unix_ro: str = "none"
    auth_tcp: str = "none"
    unix_sock_dir: str | None = None
    unix_sock_ro_perms: str = "0777"
    unix_sock_rw_perms: str = "0700"
    listen_tcp: int = 0
    listen_addr: str = "127.0.0.1"
    tcp_port: str = "16509"
    listen_tls: int = 0
    tls_port: str = "16514"
    auth_tls: str = "none"
    key_file: str | None = None
    cert_file: str | None = None
    ca_file: str | None = None
    crl_file: str | None = None
    tls_no_verify_certificate: int = 0
    tls_allowed_dn_list: tuple[str, ...] | None = None
    unix_sock_group: str | None = None
    max_client_queue: int = 1000
    max_client_queue_bytes: int = 64 * 1024 * 1024
    max_client_event_callbacks: int = MAX_CLIENT_EVENT_CALLBACKS
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def ro_perms(self) -> int:
        return int(self.unix_sock_ro_perms, 8)

    @property
    def rw_perms(self) -> int:
        return int(self.unix_sock_rw_perms, 8)

    def with_overrides(self, **changes: object) -> ServerConfig:
        """A copy with some values replaced (validated like file values)."""
        cfg = replace(self, **changes)
        _validate(cfg, "<override>")
        return cfg


# key -> expected kind; "str_or_int" accepts both (libvirt's tcp_port is a string).
_KINDS: dict[str, str] = {
    "max_clients": "int",
    "max_anonymous_clients": "int",
    "max_client_requests": "int",
    "keepalive_interval": "number",
    "keepalive_count": "int",
    "auth_unix_rw": "str",
    "auth_unix_ro": "str",
    "auth_tcp": "str",
    "unix_sock_dir": "str",
    "unix_sock_ro_perms": "str",
    "unix_sock_rw_perms": "str",
    "listen_tcp": "int",
    "listen_addr": "str",
    "tcp_port": "str_or_int",
    "listen_tls": "int",
    "tls_port": "str_or_int",
    "auth_tls": "str",
    "key_file": "str",
    "cert_file": "str",
    "ca_file": "str",
    "crl_file": "str",
    "tls_no_verify_certificate": "int",
    "tls_allowed_dn_list": "str_list",
    "unix_sock_group": "str",
    "max_client_queue": "int",
    "max_client_queue_bytes": "int",
    "max_client_event_callbacks": "int",
}

# libvirtd keys a copied libvirtd.conf commonly has; accepted with a milder warning.
_LIBVIRTD_IGNORED = frozenset(
    {
        "unix_sock_admin_perms",
        "auth_unix_admin",
        "log_level",
        "log_filters",
        "log_outputs",
        "max_queued_clients",
        "min_workers",
        "max_workers",
        "prio_workers",
        "keepalive_required",
        "admin_keepalive_required",
        "tcp_min_ssf",
        "access_drivers",
        "sasl_allowed_username_list",
        "mdns_adv",
        "mdns_name",
        "host_uuid",
        "host_uuid_source",
        "audit_level",
        "audit_logging",
        "ovs_timeout",
        "admin_max_clients",
        "admin_max_queued_clients",
        "admin_max_client_requests",
        "admin_min_workers",
        "admin_max_workers",
        "admin_keepalive_interval",
        "admin_keepalive_count",
    }
)


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/virtwire``, else ``~/.local/state/virtwire`` (XDG base dirs)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "virtwire"


CONTROL_SOCKET_NAME = "virtwire-inject-sock"
"""The fault-injection control socket (server/control.py), next to ``libvirt-sock``."""


def default_socket_dir(state_dir: Path) -> Path:
    """``$XDG_RUNTIME_DIR/virtwire`` (sockets belong in the runtime dir), else ``STATE/run``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "virtwire"
    return state_dir / "run"


# --- parsing ---------------------------------------------------------------------------------


class _Parser:
    """A tiny recursive-descent reader for libvirt's conf syntax."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.pos = 0
        self.line = 1

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}:{self.line}: {message}")

    def skip_blank(self, newlines: bool) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "#":
                while self.pos < len(text) and text[self.pos] != "\n":
                    self.pos += 1
            elif ch == "\n" and newlines:
                self.line += 1
                self.pos += 1
            elif ch in " \t\r":
                self.pos += 1
            else:
                return

    def parse(self) -> list[tuple[str, object, int]]:
        entries: list[tuple[str, object, int]] = []
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return entries
            line = self.line
            key = self.name()
            self.skip_blank(newlines=False)
            if not self.text.startswith("=", self.pos):
                raise self.error(f"expected '=' after {key!r}")
            self.pos += 1
            self.skip_blank(newlines=False)
            value = self.value()
            self.skip_blank(newlines=False)
            if self.pos < len(self.text) and self.text[self.pos] not in "\n;":
                raise self.error(f"unexpected text after the value of {key!r}")
            if self.pos < len(self.text) and self.text[self.pos] == ";":
                self.pos += 1
            entries.append((key, value, line))

    def name(self) -> str:
        start = self.pos
        text = self.text
        while self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] in "_.:"):
            self.pos += 1
        if self.pos == start or not (text[start].isalpha() or text[start] == "_"):
            raise self.error("expected a setting name")
        return text[start : self.pos]

    def value(self) -> object:
        text = self.text
        if self.pos >= len(text):
            raise self.error("missing value")
        ch = text[self.pos]
        if ch in "\"'":
            end = text.find(ch, self.pos + 1)
            if end < 0 or "\n" in text[self.pos : end]:
                raise self.error("unterminated string")
            value = text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        if ch == "[":
            self.pos += 1
            items: list[object] = []
            while True:
                self.skip_blank(newlines=True)
                if self.pos >= len(text):
                    raise self.error("unterminated list")
                if text[self.pos] == "]":
                    self.pos += 1
                    return items
                items.append(self.value())
                self.skip_blank(newlines=True)
                if self.pos < len(text) and text[self.pos] == ",":
                    self.pos += 1
                elif self.pos < len(text) and text[self.pos] != "]":
                    raise self.error("expected ',' or ']' in list")
        start = self.pos
        if ch in "+-":
            self.pos += 1
        while self.pos < len(text) and (text[self.pos].isdigit() or text[self.pos] == "."):
            self.pos += 1
        digits = text[start : self.pos]
        if not digits.lstrip("+-."):
            raise self.error(f"expected a number, a quoted string or a list, got {ch!r}")
        try:
            return float(digits) if "." in digits else int(digits)
        except ValueError:
            raise self.error(f"{digits!r} is not a number") from None


def parse_config_text(text: str, source: str = "<config>") -> ServerConfig:
    """Build a :class:`ServerConfig` from libvirtd.conf-style text."""
    values: dict[str, object] = {}
    warnings: list[str] = []
    for key, value, line in _Parser(text, source).parse():
        kind = _KINDS.get(key)
        where = f"{source}:{line}"
        if kind is None:
            if key in _LIBVIRTD_IGNORED:
                msg = f"{where}: libvirtd setting {key!r} is not supported by virtwire; ignored"
            else:
                msg = f"{where}: unknown setting {key!r}; ignored"
            log.warning("%s", msg)
            warnings.append(msg)
            continue
        if kind == "number" and not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key} must be a number, got {_show(value)}")
        if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} must be an integer, got {_show(value)}")
        if kind == "str" and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a quoted string, got {_show(value)}")
        if kind == "str_or_int":
            if isinstance(value, int):
                value = str(value)
            elif not isinstance(value, str):
                raise ConfigError(f"{where}: {key} must be a string or integer, got {_show(value)}")
        if kind == "str_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f"{where}: {key} must be a list of quoted strings, got {_show(value)}"
                )
            value = tuple(value)
        values[key] = value
    cfg = ServerConfig(**values, warnings=tuple(warnings))  # type: ignore[arg-type]
    _validate(cfg, source)
    return cfg


def load_config(path: str | os.PathLike[str] | None) -> ServerConfig:
    """Read ``path`` (or return the defaults when it is None)."""
    if path is None:
        return ServerConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc}") from None
    return parse_config_text(text, str(path))


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _validate(cfg: ServerConfig, source: str) -> None:
    """Range checks; an unsupported auth scheme stops the daemon with a clear message."""
    positive = (
        "max_clients",
        "max_client_requests",
        "max_client_queue",
        "max_client_queue_bytes",
        "max_client_event_callbacks",
    )
    for name in positive:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{source}: {name} must be at least 1, got {getattr(cfg, name)}")
    for name in ("max_anonymous_clients", "keepalive_count"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"{source}: {name} must not be negative, got {getattr(cfg, name)}")
    for name in ("listen_tcp", "listen_tls", "tls_no_verify_certificate"):
        if getattr(cfg, name) not in (0, 1):
            raise ConfigError(f"{source}: {name} must be 0 or 1, got {getattr(cfg, name)}")
    for name in ("auth_unix_rw", "auth_unix_ro", "auth_tcp", "auth_tls"):
        scheme = getattr(cfg, name)
        if scheme not in AUTH_SCHEMES:
            raise ConfigError(
                f"{source}: {name} = {scheme!r} is not an authentication scheme "
                f"(libvirt knows {', '.join(AUTH_SCHEMES)})"
            )
        if scheme != "none":
            raise ConfigError(
                f"{source}: {name} = {scheme!r} is not supported by virtwire yet; "
                'only "none" is implemented (on the TLS listener the verified client '
                "certificate is the authentication)"
            )
    for name in ("unix_sock_ro_perms", "unix_sock_rw_perms"):
        perms = getattr(cfg, name)
        try:
            mode = int(perms, 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            raise ConfigError(f'{source}: {name} must be an octal mode like "0700", got {perms!r}')
    for name in ("tcp_port", "tls_port"):
        try:
            port = int(getattr(cfg, name))
        except ValueError:
            port = -1
        if not 0 <= port <= 65535:
            raise ConfigError(f"{source}: {name} must be a port number, got {getattr(cfg, name)!r}")


def _known_keys() -> tuple[str, ...]:
    """The keys a config file may set (for docs and tests)."""
    return tuple(f.name for f in fields(ServerConfig) if f.name != "warnings")
