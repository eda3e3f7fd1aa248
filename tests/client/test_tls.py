"""The tls transport: libvirt's PKI file layout, client certificates, server verification
and the one-byte confirmation, against the fake daemon behind an ssl listener."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
import virtwire.client as vc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from virtwire.protocol.errors import ErrorCode, LibvirtError

from tests.client.fake_daemon import FakeDaemon


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, signer, *, ca=False, san=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """CA, a server certificate for 127.0.0.1, and a client certificate in libvirt's names."""
    base = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("virtwire test CA", "virtwire test CA", ca_key, ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _cert(
        "127.0.0.1",
        "virtwire test CA",
        srv_key,
        ca_key,
        san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    cli_key = ec.generate_private_key(ec.SECP256R1())
    cli = _cert("client", "virtwire test CA", cli_key, ca_key)
    pem = serialization.Encoding.PEM
    (base / "cacert.pem").write_bytes(ca.public_bytes(pem))
    (base / "cakey.pem").write_bytes(_pem_key(ca_key))
    (base / "servercert.pem").write_bytes(srv.public_bytes(pem))
    (base / "serverkey.pem").write_bytes(_pem_key(srv_key))
    (base / "clientcert.pem").write_bytes(cli.public_bytes(pem))
    (base / "clientkey.pem").write_bytes(_pem_key(cli_key))
    return base


def _server_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "servercert.pem", pki / "serverkey.pem")
    ctx.load_verify_locations(pki / "cacert.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED  # like libvirtd: a client certificate is the auth
    return ctx


def test_tls_connection_with_client_certificate(arun, pki):
    async def scenario():
        daemon = FakeDaemon()
        port = await daemon.start_tls(_server_context(pki))
        try:
            uri = f"test+tls://127.0.0.1:{port}/default?pkipath={pki}"
            async with await vc.connect(uri) as conn:
                assert await conn.get_lib_version() == 9000000
                open_args = daemon.sessions[0].calls[2][2]
                assert open_args.name == "test:///default"  # pkipath is not forwarded
        finally:
            await daemon.stop()

    arun(scenario())


def test_tls_server_refusing_us_is_reported(arun, pki):
    async def scenario():
        daemon = FakeDaemon()
        port = await daemon.start_tls(_server_context(pki), confirm=b"\x00")
        try:
            with pytest.raises(LibvirtError) as info:
                await vc.connect(f"test+tls://127.0.0.1:{port}/default?pkipath={pki}")
            assert info.value.code == ErrorCode.RPC
            assert "server verification (of our certificate or IP address) failed" in str(
                info.value
            )
        finally:
            await daemon.stop()

    arun(scenario())


def test_tls_untrusted_server_and_no_verify(arun, pki, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    # a different CA: the server's certificate cannot be verified
    key = ec.generate_private_key(ec.SECP256R1())
    (other / "cacert.pem").write_bytes(
        _cert("other CA", "other CA", key, key, ca=True).public_bytes(serialization.Encoding.PEM)
    )
    for name in ("clientcert.pem", "clientkey.pem"):
        (other / name).write_bytes((pki / name).read_bytes())

    async def scenario():
        daemon = FakeDaemon()
        port = await daemon.start_tls(_server_context(pki))
        try:
            base = f"test+tls://127.0.0.1:{port}/default?pkipath={other}"
            # libvirt first checks our own certificate against our CA (no_sanity skips it)
            with pytest.raises(LibvirtError) as info:
                await vc.connect(base)
            assert info.value.code == ErrorCode.SYSTEM_ERROR
            assert str(info.value) == (
                f"Our own certificate {other}/clientcert.pem failed validation against "
                f"{other}/cacert.pem: The certificate hasn't got a known issuer."
            )
            # then the server's certificate against our CA (no_verify skips it)
            with pytest.raises(LibvirtError) as info:
                await vc.connect(base + "&no_sanity=1")
            assert info.value.code == ErrorCode.AUTH_FAILED
            assert str(info.value) == "authentication failed: Failed to verify peer's certificate"
            async with await vc.connect(base + "&no_sanity=1&no_verify=1") as conn:
                assert await conn.get_hostname() == "fakehost"
        finally:
            await daemon.stop()

    arun(scenario())


def test_tls_missing_credentials(arun, tmp_path):
    async def scenario():
        with pytest.raises(LibvirtError) as info:
            await vc.connect(f"test+tls://127.0.0.1:1/default?pkipath={tmp_path}")
        assert info.value.code == ErrorCode.SYSTEM_ERROR
        assert str(info.value) == (
            f"Cannot read CA certificate '{tmp_path}/cacert.pem': No such file or directory"
        )

    arun(scenario())


def _as_user(monkeypatch, home: Path) -> Path:
    """Pretend to be a normal user whose $HOME is ``home``; returns ~/.pki/libvirt."""
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(home))
    user = home / ".pki" / "libvirt"
    user.mkdir(parents=True)
    return user


SYSTEM = (
    "/etc/pki/CA/cacert.pem",
    "/etc/pki/libvirt/clientcert.pem",
    "/etc/pki/libvirt/private/clientkey.pem",
)


@pytest.mark.parametrize(
    "present, expected",
    [
        ((), SYSTEM),
        (("cacert.pem",), ("USER/cacert.pem", SYSTEM[1], SYSTEM[2])),
        # the certificate and key go as a pair (virNetTLSContextLocateCredentials)
        (("clientcert.pem",), SYSTEM),
        (("clientcert.pem", "clientkey.pem"), (SYSTEM[0], "USER/clientcert.pem", "USER/clientkey.pem")),
        (("cacert.pem", "clientcert.pem", "clientkey.pem"),
         ("USER/cacert.pem", "USER/clientcert.pem", "USER/clientkey.pem")),
    ],
)  # fmt: skip
def test_tls_default_locations_for_a_user(monkeypatch, tmp_path, present, expected):
    from virtwire.client.transports import _tls_credentials
    from virtwire.client.uri import parse_uri

    user = _as_user(monkeypatch, tmp_path)
    for name in present:
        (user / name).write_text("x")
    got = _tls_credentials(parse_uri("test+tls://127.0.0.1/default"))
    assert got == tuple(p.replace("USER", str(user)) for p in expected)


def test_tls_default_locations_for_root(monkeypatch, tmp_path):
    import os

    from virtwire.client.transports import _tls_credentials
    from virtwire.client.uri import parse_uri

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("HOME", str(tmp_path))
    user = tmp_path / ".pki" / "libvirt"
    user.mkdir(parents=True)
    for name in ("cacert.pem", "clientcert.pem", "clientkey.pem"):
        (user / name).write_text("x")  # ignored: root always uses /etc/pki
    assert _tls_credentials(parse_uri("test+tls://127.0.0.1/default")) == SYSTEM


def test_tls_connects_with_the_users_pki(arun, pki, monkeypatch, tmp_path):
    user = _as_user(monkeypatch, tmp_path)
    for name in ("cacert.pem", "clientcert.pem", "clientkey.pem"):
        (user / name).write_bytes((pki / name).read_bytes())

    async def scenario():
        daemon = FakeDaemon()
        port = await daemon.start_tls(_server_context(pki))
        try:
            async with await vc.connect(f"test+tls://127.0.0.1:{port}/default") as conn:
                assert await conn.get_lib_version() == 9000000
        finally:
            await daemon.stop()

    arun(scenario())


def test_tls_hostname_must_match_unless_no_verify(arun, pki, tmp_path):
    """A server whose certificate (from our CA) names another host: libvirt's error, and
    no_verify=1 connects anyway."""
    ca_key = serialization.load_pem_private_key((pki / "cakey.pem").read_bytes(), None)
    elsewhere_key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("elsewhere.example", "virtwire test CA", elsewhere_key, ca_key,
                 san=[x509.DNSName("elsewhere.example")])  # fmt: skip
    srv = tmp_path / "srv"
    srv.mkdir()
    (srv / "servercert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (srv / "serverkey.pem").write_bytes(_pem_key(elsewhere_key))
    (srv / "cacert.pem").write_bytes((pki / "cacert.pem").read_bytes())

    async def scenario():
        daemon = FakeDaemon()
        port = await daemon.start_tls(_server_context(srv))
        try:
            for host in ("127.0.0.1", "localhost"):
                base = f"test+tls://{host}:{port}/default?pkipath={pki}"
                with pytest.raises(LibvirtError) as info:
                    await vc.connect(base)
                assert info.value.code == ErrorCode.AUTH_FAILED
                assert str(info.value) == (
                    "authentication failed: Failed to verify peer's certificate"
                )
                async with await vc.connect(base + "&no_verify=1") as conn:
                    assert await conn.get_lib_version() == 9000000
        finally:
            await daemon.stop()

    arun(scenario())
