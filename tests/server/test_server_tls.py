"""The daemon's TLS listener: libvirt's confirmation byte, refusals, DN allow-list, limits.

Refused clients (other CA, expired, DN not allowed, no certificate, plain TCP) never get
the ``\\x01`` byte nor any RPC, the refusal is logged with the client's address, and a
good client connected throughout keeps working.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import shutil
import socket
import ssl
import struct
import warnings
from pathlib import Path

import pytest
import virtwire.client as vc
from virtwire.protocol.errors import LibvirtError
from virtwire.server.config import ServerConfig
from virtwire.server.daemon import Daemon, DaemonError, ListenSpec
from virtwire.server.tls import TLSFiles
from virtwire.tools import pki

from tests.server.wire import DaemonThread

DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def pkis(tmp_path_factory) -> dict[str, Path]:
    """A good PKI and client credential dirs that must be refused."""
    base = tmp_path_factory.mktemp("tlspki")
    good = base / "good"
    pki.write_pki(good)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca = pki.Issued(
        x509.load_pem_x509_certificate((good / "cacert.pem").read_bytes()),
        serialization.load_pem_private_key((good / "cakey.pem").read_bytes(), None),  # type: ignore[arg-type]
    )
    out = {"good": good}

    def client_dir(name: str, issued: pki.Issued) -> None:
        d = base / name
        d.mkdir()
        shutil.copy(good / "cacert.pem", d / "cacert.pem")
        pki.write_cert(d / "clientcert.pem", issued.cert)
        pki.write_key(d / "clientkey.pem", issued.key)
        out[name] = d

    client_dir("other_ca", pki.issue(pki.make_ca("other CA"), "stranger", "client"))
    past = datetime.datetime.now(datetime.UTC) - 10 * DAY
    client_dir("expired", pki.issue(ca, "old client", "client", days=1, start=past))
    client_dir("other_dn", pki.issue(ca, "intruder", "client"))
    from cryptography.x509.oid import ExtendedKeyUsageOID

    client_dir("server_eku", pki.issue(ca, "virtwire client", "client",
                                       eku=[ExtendedKeyUsageOID.SERVER_AUTH]))  # fmt: skip
    return out


class TlsDaemon(DaemonThread):
    """A daemon with a unix socket and a TLS listener on an ephemeral port."""

    def __init__(self, config: ServerConfig, files: TLSFiles) -> None:
        super().__init__(config)
        self.files = files

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.daemon = Daemon(
                self.config,
                self.state_dir,
                [ListenSpec("unix", path=self.unix_path), ListenSpec("tls", host="127.0.0.1")],
                tls_files=self.files,
            )
            try:
                await self.daemon.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self.tcp_port = int(self.daemon.addresses()[-1].rsplit(":", 1)[1])
            self._ready.set()
            await self.daemon.serve_forever()

        asyncio.run(main())

    def uri(self, pki_dir: Path, host: str = "127.0.0.1") -> str:
        return f"test+tls://{host}:{self.tcp_port}/default?pkipath={pki_dir}"


@pytest.fixture
def tls_daemon(pkis):
    made: list[TlsDaemon] = []

    def make(**values) -> TlsDaemon:
        d = TlsDaemon(ServerConfig(**values), TLSFiles.from_pki_dir(pkis["good"]))
        made.append(d)
        return d.start()

    try:
        yield make
    finally:
        for d in made:
            d.stop()


def raw_tls(port: int, pki_dir: Path | None, *, cert: bool = True) -> bytes | Exception:
    """Handshake with the daemon and read what it sends first (b"" = closed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert and pki_dir is not None:
        ctx.load_cert_chain(pki_dir / "clientcert.pem", pki_dir / "clientkey.pem")
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            ctx.wrap_socket(raw) as s,
        ):
            return s.recv(16)
    except (ssl.SSLError, OSError) as exc:
        return exc


async def get_type(uri: str) -> str:
    async with await vc.connect(uri) as conn:
        return await conn.get_type()


def test_good_client_gets_the_confirmation_byte_then_rpc(tls_daemon, pkis):
    d = tls_daemon()
    assert raw_tls(d.tcp_port, pkis["good"]) == b"\x01"
    assert asyncio.run(asyncio.wait_for(get_type(d.uri(pkis["good"])), 20)) == "TEST"
    assert asyncio.run(asyncio.wait_for(get_type(d.uri(pkis["good"], "localhost")), 20)) == "TEST"


@pytest.mark.parametrize("which", ["other_ca", "expired", "server_eku", "no_cert"])
def test_bad_certificates_are_refused_without_a_byte(tls_daemon, pkis, which, caplog):
    d = tls_daemon()
    with caplog.at_level(logging.WARNING, logger="virtwire.server"):
        if which == "no_cert":
            got = raw_tls(d.tcp_port, pkis["good"], cert=False)
        else:
            got = raw_tls(d.tcp_port, pkis[which])
        assert got != b"\x01"
        assert isinstance(got, Exception) or got == b""
        for _ in range(50):
            if "TLS client refused" in caplog.text:
                break
            asyncio.run(asyncio.sleep(0.05))
    assert "TLS client refused" in caplog.text and "127.0.0.1:" in caplog.text
    assert d.session_count() == 0


def test_refused_clients_do_not_disturb_a_connected_one(tls_daemon, pkis, caplog):
    d = tls_daemon(tls_allowed_dn_list=("O=virtwire,CN=virtwire client",))

    async def scenario():
        async with await vc.connect(d.uri(pkis["good"])) as conn:
            assert await conn.get_type() == "TEST"
            loop = asyncio.get_running_loop()
            for which in ("other_ca", "expired", "other_dn"):
                got = await loop.run_in_executor(None, raw_tls, d.tcp_port, pkis[which])
                assert got != b"\x01", which
            got = await loop.run_in_executor(None, lambda: raw_tls(d.tcp_port, None, cert=False))
            assert got != b"\x01"
            plain = await loop.run_in_executor(None, plain_rpc_on_tls_port, d.tcp_port)
            assert not plain.startswith(b"\x00\x00"), plain  # nothing that looks like RPC
            with pytest.raises(LibvirtError) as exc:
                await get_type(d.uri(pkis["other_dn"]))
            # what libvirt's client says when the daemon drops it after the handshake
            assert str(exc.value) == "Unable to read TLS confirmation: Input/output error"
            dom = await conn.lookup_by_name("test")
            assert (await dom.info()).state == 1
            return await conn.get_hostname()

    with caplog.at_level(logging.INFO, logger="virtwire.server"):
        assert asyncio.run(asyncio.wait_for(scenario(), 30))
    assert "not on tls_allowed_dn_list; DN 'O=virtwire,CN=intruder'" in caplog.text
    assert "TLS client accepted, DN 'O=virtwire,CN=virtwire client'" in caplog.text


def plain_rpc_on_tls_port(port: int) -> bytes:
    """A libvirt CALL (AUTH_LIST) in clear text: the daemon must not answer it."""
    frame = struct.pack(">IIIIiiI", 28, 0x20008086, 1, 66, 0, 0, 0)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(frame)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except OSError:
            pass
    return data


def test_empty_dn_list_refuses_everyone(tls_daemon, pkis):
    d = tls_daemon(tls_allowed_dn_list=())
    got = raw_tls(d.tcp_port, pkis["good"])
    assert got == b"" or isinstance(got, Exception)


def test_no_verify_lets_a_client_without_certificate_in(tls_daemon, pkis):
    d = tls_daemon(tls_no_verify_certificate=1)
    assert raw_tls(d.tcp_port, None, cert=False) == b"\x01"


def test_tls_1_1_is_refused(tls_daemon):
    d = tls_daemon()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that the client really offers it
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with (
        socket.create_connection(("127.0.0.1", d.tcp_port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),  # the daemon closes on a TLS 1.1 ClientHello
    ):
        ctx.wrap_socket(raw)


def test_max_clients_counts_tls_clients(tls_daemon, pkis, caplog):
    d = tls_daemon(max_clients=1)

    async def scenario():
        first = await vc.connect(d.uri(pkis["good"]))
        second = asyncio.ensure_future(get_type(d.uri(pkis["good"])))
        # condition wait: the daemon has stopped accepting (it does at max_clients)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while d.call_in_loop(lambda: d.daemon._accepting):
            assert loop.time() < deadline, "the daemon kept accepting at max_clients"
            await asyncio.sleep(0.01)
        assert d.session_count() == 1
        assert not second.done()  # waits in the kernel backlog, not refused
        await first.close()
        return await asyncio.wait_for(second, 10)

    with caplog.at_level(logging.WARNING, logger="virtwire.server"):
        assert asyncio.run(asyncio.wait_for(scenario(), 30)) == "TEST"
    assert "max_clients (1) reached" in caplog.text


def start_error(tmp_path: Path, files: TLSFiles, **values) -> str:
    async def main():
        daemon = Daemon(ServerConfig(**values), tmp_path / "state",
                        [ListenSpec("tls", host="127.0.0.1")], tls_files=files)  # fmt: skip
        with pytest.raises(DaemonError) as exc:
            await daemon.start()
        return str(exc.value)

    return asyncio.run(main())


def test_daemon_refuses_to_start_with_bad_credentials(tmp_path, pkis):
    good = TLSFiles.from_pki_dir(pkis["good"])
    msg = start_error(tmp_path, TLSFiles(good.ca, tmp_path / "none.pem", good.key))
    assert msg == f"Cannot read server certificate '{tmp_path}/none.pem': No such file or directory"
    # a client certificate is no server certificate
    bad = TLSFiles(good.ca, pkis["good"] / "clientcert.pem", pkis["good"] / "clientkey.pem")
    msg = start_error(tmp_path, bad)
    assert msg.startswith("TLS credentials are not usable:")
    assert "purpose does not allow use as a TLS server" in msg
    # a key that is not the certificate's
    msg = start_error(tmp_path, TLSFiles(good.ca, good.cert, pkis["good"] / "clientkey.pem"))
    assert "private key does not match servercert.pem" in msg
