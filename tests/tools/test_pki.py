"""`virtwire pki init|check`: libvirt's layout, modes, and one line per defect libvirt rejects."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from virtwire.server.tls import dn_allowed, gnutls_dn, host_matches
from virtwire.tools import pki
from virtwire.tools.cli import main as cli_main

DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki") / "good"
    assert pki.main(["init", str(d)]) == 0
    return d


def copy(good: Path, tmp_path: Path) -> Path:
    d = tmp_path / "pki"
    shutil.copytree(good, d)
    return d


def ca_of(d: Path) -> pki.Issued:
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate((d / "cacert.pem").read_bytes())
    key = serialization.load_pem_private_key((d / "cakey.pem").read_bytes(), None)
    return pki.Issued(cert, key)  # type: ignore[arg-type]


def replace(d: Path, role: str, issued: pki.Issued) -> None:
    (d / f"{role}cert.pem").unlink()
    (d / f"{role}key.pem").unlink()
    pki.write_cert(d / f"{role}cert.pem", issued.cert)
    pki.write_key(d / f"{role}key.pem", issued.key)


def run_check(capsys, d: Path, *extra: str) -> tuple[int, list[str]]:
    rc = pki.main(["check", str(d), *extra])
    return rc, capsys.readouterr().out.splitlines()


def test_init_writes_libvirts_layout_with_private_keys_0600(good):
    names = sorted(p.name for p in good.iterdir())
    assert names == sorted(pki.FILES)
    for p in good.iterdir():
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o600 if p.name.endswith("key.pem") else 0o644), p.name
    server = x509.load_pem_x509_certificate((good / "servercert.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    ku = server.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_encipherment
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    client = x509.load_pem_x509_certificate((good / "clientcert.pem").read_bytes())
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_good_pki_checks_clean(good, capsys):
    rc, lines = run_check(capsys, good, "--host", "localhost")
    assert rc == 0 and lines == [f"{good}: OK (server, client; host localhost)"]


def test_init_never_overwrites_without_force(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    before = (d / "cacert.pem").read_bytes()
    assert pki.main(["init", str(d)]) == 1
    assert "use --force" in capsys.readouterr().err
    assert (d / "cacert.pem").read_bytes() == before
    assert pki.main(["init", str(d), "--force", "--server-san", "host.example",
                     "--server-cn", "host.example", "--days", "2"]) == 0  # fmt: skip
    assert (d / "cacert.pem").read_bytes() != before
    rc, lines = run_check(capsys, d, "--host", "host.example")
    assert rc == 0, lines
    rc, lines = run_check(capsys, d, "--host", "localhost")
    assert rc == 1
    assert lines == [f"error: {d}/servercert.pem: no subject alternative name matches 'localhost'"]


def test_cli_dispatches_to_pki(good, capsys):
    assert cli_main(["pki", "check", str(good)]) == 0


def test_expired_client_certificate(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    start = datetime.datetime.now(datetime.UTC) - 10 * DAY
    replace(d, "client", pki.issue(ca_of(d), "old", "client", days=2, start=start))
    rc, lines = run_check(capsys, d)
    assert rc == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {d}/clientcert.pem: the client certificate has expired")


def test_not_yet_valid_server_certificate(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    start = datetime.datetime.now(datetime.UTC) + 2 * DAY
    replace(d, "server", pki.issue(ca_of(d), "localhost", "server", start=start,
                                   sans=["localhost"]))  # fmt: skip
    rc, lines = run_check(capsys, d)
    assert rc == 1 and "the server certificate is not yet active" in lines[0]


def test_wrong_purpose(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    replace(d, "server", pki.issue(ca_of(d), "localhost", "server", sans=["localhost"],
                                   eku=[ExtendedKeyUsageOID.CLIENT_AUTH]))  # fmt: skip
    rc, lines = run_check(capsys, d)
    assert rc == 1
    assert lines == [
        f"error: {d}/servercert.pem: purpose does not allow use as a TLS server "
        "(extended key usage lacks serverAuth)"
    ]


def test_mismatched_key(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    (d / "clientkey.pem").unlink()
    pki.write_key(d / "clientkey.pem", pki.new_key())
    rc, lines = run_check(capsys, d)
    assert rc == 1
    assert lines == [f"error: {d}/clientkey.pem: private key does not match clientcert.pem"]


def test_signed_by_another_ca(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    other = pki.make_ca("other CA")
    replace(d, "client", pki.issue(other, "stranger", "client"))
    rc, lines = run_check(capsys, d)
    assert rc == 1
    assert lines == [f"error: {d}/clientcert.pem: not signed by the CA in {d}/cacert.pem"]


def test_missing_san_for_host(good, capsys):
    rc, lines = run_check(capsys, good, "--host", "192.0.2.7")
    assert rc == 1
    assert lines == [
        f"error: {good}/servercert.pem: no subject alternative name matches '192.0.2.7'"
    ]


def test_readable_key_is_a_warning_only(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    (d / "clientkey.pem").chmod(0o644)
    rc, lines = run_check(capsys, d)
    assert rc == 0
    assert (
        lines[0]
        == f"warning: {d}/clientkey.pem: private key is readable by others (mode 0644; use 0600)"
    )


def test_several_defects_one_line_each(good, tmp_path, capsys):
    d = copy(good, tmp_path)
    other = pki.make_ca("other CA")
    start = datetime.datetime.now(datetime.UTC) - 10 * DAY
    replace(d, "client", pki.issue(other, "x", "client", days=1, start=start))
    (d / "serverkey.pem").unlink()
    rc, lines = run_check(capsys, d)
    assert rc == 1 and len(lines) == 3
    assert any("has expired" in x for x in lines)
    assert any("not signed by the CA" in x for x in lines)
    assert any("missing (the server private key)" in x for x in lines)


def test_gnutls_dn_keeps_certificate_order_and_escapes():
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme, Inc"),
        x509.NameAttribute(NameOID.COMMON_NAME, "client1"),
    ])  # fmt: skip
    dn = gnutls_dn(name)
    assert dn == "C=GB,O=Acme\\, Inc,CN=client1"
    assert dn_allowed(dn, None)
    assert not dn_allowed(dn, [])
    assert dn_allowed(dn, ["C=GB,*,CN=client*"])
    assert not dn_allowed(dn, ["CN=client1,*"])  # not the reversed RFC 4514 order
    assert not dn_allowed(dn, ["c=gb,*"])  # case-sensitive, like fnmatch(3)


def test_host_matching(good):
    cert = x509.load_pem_x509_certificate((good / "servercert.pem").read_bytes())
    assert host_matches(cert, "localhost") and host_matches(cert, "LOCALHOST")
    assert host_matches(cert, "127.0.0.1") and host_matches(cert, "::1")
    assert not host_matches(cert, "127.0.0.2") and not host_matches(cert, "otherhost")
