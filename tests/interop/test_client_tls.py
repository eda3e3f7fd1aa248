"""The tls transport against a real libvirtd 9.0 listening with TLS (started by this module,
with a throw-away PKI), side by side with python3-libvirt."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import virtwire.client as vc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.interop.conftest import SYSTEM_PYTHON, free_port

pytestmark = pytest.mark.interop

PEER_USER = "libvirt-peer"  # created by the libvirtd_peer fixture (start-libvirtd.sh)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "virtwire tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(cn, key, signer, issuer, *, ca=False, san=None, eku=None):
    now = datetime.datetime.now(datetime.UTC)
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if ca:
        usage.update(key_cert_sign=True, crl_sign=True)
    else:
        usage.update(digital_signature=True, key_encipherment=True)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _write_pki(pki: Path) -> None:
    pem = serialization.Encoding.PEM

    def key_bytes(key) -> bytes:
        return key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )

    def new_key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    ca_key = new_key()
    ca = _cert("test CA", ca_key, ca_key, "test CA", ca=True)
    srv_key = new_key()
    srv = _cert(
        "127.0.0.1",
        srv_key,
        ca_key,
        "test CA",
        san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    cli_key = new_key()
    cli = _cert("client", cli_key, ca_key, "test CA", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    pki.mkdir(parents=True)
    (pki / "cacert.pem").write_bytes(ca.public_bytes(pem))
    (pki / "servercert.pem").write_bytes(srv.public_bytes(pem))
    (pki / "serverkey.pem").write_bytes(key_bytes(srv_key))
    (pki / "clientcert.pem").write_bytes(cli.public_bytes(pem))
    (pki / "clientkey.pem").write_bytes(key_bytes(cli_key))
    # client PKIs with a revocation list: one revokes the server's certificate, one another
    for suffix, serial in (("-revoked", srv.serial_number), ("-crl", cli.serial_number + 1)):
        d = pki.with_name(pki.name + suffix)
        d.mkdir()
        for name in ("cacert.pem", "clientcert.pem", "clientkey.pem"):
            shutil.copy(pki / name, d / name)
        (d / "cacrl.pem").write_bytes(_crl(ca_key, serial).public_bytes(pem))


def _crl(ca_key, revoked_serial: int) -> x509.CertificateRevocationList:
    now = datetime.datetime.now(datetime.UTC)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(revoked_serial)
        .revocation_date(now - datetime.timedelta(minutes=5))
        .build()
    )
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(_name("test CA"))
        .last_update(now - datetime.timedelta(hours=1))
        .next_update(now + datetime.timedelta(days=1))
        .add_revoked_certificate(entry)
        .sign(ca_key, hashes.SHA256())
    )


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class TlsLibvirtd:
    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.port = port
        self.pki = base / "pki"

    @property
    def uri(self) -> str:
        return f"test+tls://127.0.0.1:{self.port}/default?pkipath={self.pki}"


@pytest.fixture(scope="module")
def tls_libvirtd(libvirtd_peer) -> Iterator[TlsLibvirtd]:
    """A second private libvirtd with `listen_tls = 1` (same recipe as start-libvirtd.sh)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run libvirtd as the peer user")
    base = Path(tempfile.mkdtemp(prefix="lvtls-"))
    port = free_port()
    peer = TlsLibvirtd(base, port)
    d = base / "d"
    for sub in ("sock", "config", "cache", "runtime"):
        (d / sub).mkdir(parents=True)
    _write_pki(peer.pki)
    (d / "libvirtd.conf").write_text(
        f"""listen_tls = 1
listen_tcp = 0
listen_addr = "127.0.0.1"
tls_port = "{port}"
auth_tls = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_dir = "{d}/sock"
key_file = "{peer.pki}/serverkey.pem"
cert_file = "{peer.pki}/servercert.pem"
ca_file = "{peer.pki}/cacert.pem"
log_outputs = "3:file:{d}/libvirtd.log"
"""
    )
    os.chmod(base, 0o755)
    subprocess.run(["chown", "-R", f"{PEER_USER}:", str(base)], check=True)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(d),
        "XDG_CONFIG_HOME": str(d / "config"),
        "XDG_CACHE_HOME": str(d / "cache"),
        "XDG_RUNTIME_DIR": str(d / "runtime"),
    }
    pidfile = d / "libvirtd.pid"
    subprocess.run(
        ["setpriv", f"--reuid={PEER_USER}", f"--regid={PEER_USER}", "--clear-groups",
         "/usr/sbin/libvirtd", "-d", "-l", "-f", str(d / "libvirtd.conf"), "-p", str(pidfile)],
        cwd=d, env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and _port_open(port)):
            if time.monotonic() > deadline:
                pytest.fail("TLS libvirtd did not start")
            time.sleep(0.1)
        yield peer
    finally:
        if pidfile.exists():
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(base, ignore_errors=True)


SCRIPT = r"""import sys
import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
def show(label, fn):
    try:
        print(label, "OK", repr(fn()))
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), str(e))

uri, port, pki = sys.argv[1], sys.argv[2], sys.argv[3]
conn = libvirt.open(uri)
show("type", conn.getType)
show("secure", lambda: (conn.isSecure(), conn.isEncrypted()))
show("names", lambda: [d.name() for d in conn.listAllDomains(0)])
conn.close()
show("hostname-mismatch", lambda: libvirt.open(f"test+tls://localhost:{port}/default?pkipath={pki}"))
show("no-verify", lambda: libvirt.open(f"test+tls://localhost:{port}/default?pkipath={pki}&no_verify=1").getType())
show("no-pki", lambda: libvirt.open(f"test+tls://127.0.0.1:{port}/default?pkipath={pki}/none"))
show("server-revoked", lambda: libvirt.open(f"test+tls://127.0.0.1:{port}/default?pkipath={pki}-revoked"))
show("other-revoked", lambda: libvirt.open(f"test+tls://127.0.0.1:{port}/default?pkipath={pki}-crl").getType())
"""


def test_tls_side_by_side_with_python3_libvirt(tls_libvirtd, run_pylibvirt, tmp_path):
    args = (tls_libvirtd.uri, str(tls_libvirtd.port), str(tls_libvirtd.pki))
    real = run_pylibvirt(SCRIPT, *args)
    ours_path = tmp_path / "ours.py"
    ours_path.write_text(
        SCRIPT.replace("import libvirt\n", "from virtwire.client import libvirt\n", 1)
    )
    ours = subprocess.run(
        [sys.executable, str(ours_path), *args], capture_output=True, text=True, timeout=60
    )
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    lines = ours.stdout.splitlines()
    assert lines[0] == "type OK 'TEST'"
    assert (
        "hostname-mismatch ERR 45 7 authentication failed: Failed to verify peer's certificate"
        in lines
    )
    assert "other-revoked OK 'TEST'" in lines
    assert (
        "server-revoked ERR 45 7 authentication failed: Failed to verify peer's certificate"
        in lines
    )
    assert ours.stdout == real.stdout


def test_tls_async_api(tls_libvirtd):
    async def scenario():
        async with await vc.connect(tls_libvirtd.uri) as conn:
            dom = await conn.lookup_by_name("test")
            return await conn.get_type(), (await dom.info()).state

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == ("TEST", 1)


DEFAULT_PKI_SCRIPT = r"""import os, sys
if sys.argv[2] != "real":  # ours, run as root, told it is the user (os.geteuid decides)
    os.geteuid = lambda: int(sys.argv[2])
    from virtwire.client import libvirt
else:
    import libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
try:
    print("OK", libvirt.open(sys.argv[1]).getType())
except libvirt.libvirtError as e:
    print("ERR", e.get_error_code(), e.get_error_domain(), str(e))
"""


@pytest.mark.skipif(os.path.exists("/etc/pki"), reason="a system PKI exists on this machine")
def test_default_pki_locations_side_by_side_with_python3_libvirt(tls_libvirtd):
    """No pkipath: a normal user's ~/.pki/libvirt (the CA alone, the certificate and key as
    a pair), else /etc/pki; root always /etc/pki. Real python3-libvirt runs as the peer
    user; ours as root told the peer user's uid."""
    import pwd

    uid = pwd.getpwnam(PEER_USER).pw_uid
    base = Path(tempfile.mkdtemp(prefix="vwhome-"))
    try:
        os.chmod(base, 0o755)
        script = base / "open.py"
        script.write_text(DEFAULT_PKI_SCRIPT)
        uri = f"test+tls://127.0.0.1:{tls_libvirtd.port}/default"
        layouts = {
            "all": ("cacert.pem", "clientcert.pem", "clientkey.pem"),
            "ca only": ("cacert.pem",),
            "pair only": ("clientcert.pem", "clientkey.pem"),
            "nothing": (),
        }
        results = {}
        for name, files in layouts.items():
            home = base / name.replace(" ", "_")
            user = home / ".pki" / "libvirt"
            user.mkdir(parents=True)
            for f in files:
                shutil.copy(tls_libvirtd.pki / f, user / f)
            subprocess.run(["chown", "-R", f"{PEER_USER}:", str(home)], check=True)
            env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
            real = subprocess.run(
                ["setpriv", f"--reuid={PEER_USER}", f"--regid={PEER_USER}", "--clear-groups",
                 SYSTEM_PYTHON, str(script), uri, "real"],
                capture_output=True, text=True, timeout=60, env=env,
            )  # fmt: skip
            ours = subprocess.run(
                [sys.executable, str(script), uri, str(uid)],
                capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)},
            )  # fmt: skip
            assert real.returncode == 0 and ours.returncode == 0, real.stderr + ours.stderr
            results[name] = (real.stdout.strip(), ours.stdout.strip())
        # root: /etc/pki whatever $HOME holds
        root = [
            subprocess.run(
                [python, str(script), uri, which], capture_output=True, text=True, timeout=60,
                env={**os.environ, "HOME": str(base / "all")},
            ).stdout.strip()
            for python, which in ((SYSTEM_PYTHON, "real"), (sys.executable, "0"))
        ]  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for name, (real, ours) in results.items():
        print(f"{name}: libvirt {real!r} / virtwire {ours!r}")
        assert ours == real, name
    assert results["all"][0] == "OK TEST"
    # no certificate of our own is no local error: the client offers none, the daemon refuses
    assert "Unable to read TLS confirmation" in results["ca only"][0]
    assert "/etc/pki/CA/cacert.pem" in results["pair only"][0]
    print(f"root: libvirt {root[0]!r} / virtwire {root[1]!r}")
    assert root[0] == root[1] and "/etc/pki/CA/cacert.pem" in root[0]
