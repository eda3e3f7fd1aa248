"""URI parsing as libvirt's remote driver does it (table tests; expectations checked against
python3-libvirt 9.0 and libvirt's remote_driver.c)."""

from __future__ import annotations

import pytest
from virtwire.client.uri import ConnectURI, parse_uri, resolve_uri
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

# uri, open name, transport, host, port
TABLE = [
    ("test+tcp://127.0.0.1:16510/default", "test:///default", "tcp", "127.0.0.1", 16510),
    ("qemu+tcp://127.0.0.1:16510/session", "qemu:///session", "tcp", "127.0.0.1", 16510),
    ("test+tcp://host/default", "test:///default", "tcp", "host", 16509),
    ("test+tcp:///default", "test:///default", "tcp", "localhost", 16509),
    ("qemu://host/system", "qemu:///system", "tls", "host", 16514),
    ("qemu+tls://host:1234/system", "qemu:///system", "tls", "host", 1234),
    ("qemu:///system", "qemu:///system", "unix", "localhost", None),
    ("test:///default", "test:///default", "unix", "localhost", None),
    ("test+unix:///default?socket=/tmp/s", "test:///default", "unix", "localhost", None),
    ("qemu+ssh://root@host/system", "qemu:///system", "ssh", "host", None),
    ("test+tcp://[::1]:5/default", "test:///default", "tcp", "::1", 5),
    # transport parameters are consumed, others are passed to the daemon
    (
        "test+tcp://h/default?no_verify=1&foo=bar&pkipath=/p&keyfile=/k",
        "test:///default?foo=bar",
        "tcp",
        "h",
        16509,
    ),
    ("test+tcp://h/default?name=qemu:///system", "qemu:///system", "tcp", "h", 16509),
    ("remote+tcp://h/", "", "tcp", "h", 16509),
    ("test+tcp://user@h:7/default#frag", "test:///default#frag", "tcp", "h", 7),
]


@pytest.mark.parametrize(("uri", "name", "transport", "host", "port"), TABLE)
def test_uri_table(uri, name, transport, host, port):
    parsed = parse_uri(uri)
    assert parsed.open_name() == name
    assert parsed.effective_transport == transport
    assert parsed.effective_host == host
    assert parsed.effective_port == port
    assert parsed.original == uri


def test_user_and_params():
    parsed = parse_uri("qemu+ssh://root@example.org:2222/system?keyfile=/k&no_verify=1")
    assert parsed.user == "root"
    assert parsed.param("keyfile") == "/k"
    assert parsed.flag_param("no_verify") is True
    assert parsed.flag_param("no_tty") is False


def test_open_flags():
    assert parse_uri("test+tcp://h/default").open_flags(False) == 0
    assert parse_uri("test+tcp://h/default").open_flags(True) == 1
    # the per-user daemon gets libvirt's USER|AUTOSTART bits (the daemon only honours RO)
    assert parse_uri("qemu:///session").open_flags(False) == 6
    assert parse_uri("qemu:///session").open_flags(True) == 7


def test_default_socket_paths(monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert parse_uri("qemu:///system").socket_path(False) == "/var/run/libvirt/libvirt-sock"
    assert parse_uri("qemu:///system").socket_path(True) == "/var/run/libvirt/libvirt-sock-ro"
    session = parse_uri("qemu:///session")
    assert session.socket_path(False) == "/run/user/1000/libvirt/libvirt-sock"
    assert session.socket_path(True) == "/run/user/1000/libvirt/libvirt-sock"
    assert parse_uri("qemu+unix:///system?socket=/x").socket_path(True) == "/x"


@pytest.mark.parametrize(
    ("uri", "code", "domain", "message"),
    [
        (
            "::::",
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.URI,
            "internal error: Unable to parse URI ::::",
        ),
        (
            "test+tcp://127.0.0.1:abc/default",
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.URI,
            "internal error: Unable to parse URI test+tcp://127.0.0.1:abc/default",
        ),
        (
            "test+tcp://[::1:16611/default",
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.URI,
            "internal error: Unable to parse URI test+tcp://[::1:16611/default",
        ),
        (
            "bogus+foo://x/y",
            ErrorCode.INVALID_ARG,
            ErrorDomain.REMOTE,
            "invalid argument: remote_open: transport in URL not recognised "
            "(should be tls|unix|ssh|ext|tcp|libssh2|libssh)",
        ),
        (
            "test+unix://host/default",
            ErrorCode.INVALID_ARG,
            ErrorDomain.REMOTE,
            "invalid argument: using unix socket and remote server 'host' is not supported.",
        ),
    ],
)
def test_bad_uris_raise_libvirts_errors(uri, code, domain, message):
    with pytest.raises(LibvirtError) as info:
        parse_uri(uri)
    assert (info.value.code, info.value.domain, str(info.value)) == (code, domain, message)


def test_default_uri_from_environment(monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test+tcp://envhost/default")
    parsed = resolve_uri(None)
    assert isinstance(parsed, ConnectURI)
    assert parsed.effective_host == "envhost"
    assert resolve_uri("qemu:///system").driver == "qemu"
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    assert resolve_uri(None) is None


def test_non_string_uri_is_type_error():
    with pytest.raises(TypeError):
        parse_uri(42)  # type: ignore[arg-type]
