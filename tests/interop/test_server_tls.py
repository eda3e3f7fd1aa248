"""TLS against real peers: virsh over test+tls:// to `virtwire serve --tls`, a real libvirtd
9.0 taking `virtwire pki init`'s files, libvirt's DN form, max_clients with virsh, and a
capture showing no clear-text RPC."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import virtwire.client as vc
from virtwire.tools import pki
from virtwire.tools.demo import DIMM_XML, DOMAIN_XML

from tests.conftest import need_peer
from tests.interop.conftest import SYSTEM_PYTHON, free_port, have_pylibvirt
from tests.interop.live_capture import capturing

pytestmark = pytest.mark.interop

PEER_USER = "libvirt-peer"


@pytest.fixture(scope="module")
def pki_dirs() -> Iterator[dict[str, Path]]:
    """`virtwire pki init` output, plus client dirs with a stranger's and an unlisted cert."""
    base = Path(tempfile.mkdtemp(prefix="vwpki-"))
    good = base / "good"
    pki.write_pki(good)  # what `virtwire pki init DIR` writes
    out = {"good": good}
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca = pki.Issued(
        x509.load_pem_x509_certificate((good / "cacert.pem").read_bytes()),
        serialization.load_pem_private_key((good / "cakey.pem").read_bytes(), None),  # type: ignore[arg-type]
    )
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    for name, issued in (
        ("other_ca", pki.issue(pki.make_ca("other CA"), "virtwire client", "client")),
        ("other_dn", pki.issue(ca, "intruder", "client")),
        ("expired", pki.issue(ca, "virtwire client", "client", days=1, start=past)),
    ):
        d = base / name
        d.mkdir()
        shutil.copy(good / "cacert.pem", d / "cacert.pem")
        pki.write_cert(d / "clientcert.pem", issued.cert)
        pki.write_key(d / "clientkey.pem", issued.key)
        out[name] = d
    try:
        yield out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def tls_port_of(server, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.stderr_lines:
            if "listening on tls:" in line:
                return int(line.strip().rsplit(":", 1)[1])
        time.sleep(0.05)
    raise AssertionError("no tls listener announced:\n" + server.log)


@pytest.fixture
def tls_server(virtwire_server_factory, pki_dirs):
    def make(config_text: str | None = None):
        server = virtwire_server_factory(
            config_text=config_text,
            extra_args=["--tls", "127.0.0.1:0", "--pki-dir", str(pki_dirs["good"])],
        )
        return server, tls_port_of(server)

    return make


def test_virsh_lists_domains_over_tls(tls_server, pki_dirs, run_virsh):
    server, port = tls_server()
    for host in ("localhost", "127.0.0.1"):
        uri = f"test+tls://{host}:{port}/default?pkipath={pki_dirs['good']}"
        r = run_virsh(uri, "list", "--all")
        assert r.returncode == 0, r.stderr + server.log
        assert r.stdout.split("\n")[2].split() == ["1", "test", "running"]
    r = run_virsh(uri, "version")
    assert r.returncode == 0 and "Running hypervisor: TEST" in r.stdout
    assert "TLS client accepted, DN 'O=virtwire,CN=virtwire client'" in server.log


def test_virsh_refused_like_libvirtd_refuses(tls_server, tls_libvirtd, pki_dirs, run_virsh):
    """A client certificate outside tls_allowed_dn_list: the same virsh error from both."""
    server, port = tls_server('tls_allowed_dn_list = ["O=virtwire,CN=virtwire client"]\n')
    ours = run_virsh(f"test+tls://localhost:{port}/default?pkipath={pki_dirs['other_dn']}", "list")
    real = run_virsh(
        f"test+tls://localhost:{tls_libvirtd.port}/default?pkipath={tls_libvirtd.pki['other_dn']}",
        "list",
    )
    print("virtwire:", ours.stderr.strip())
    print("libvirtd:", real.stderr.strip())
    assert ours.returncode == real.returncode == 1
    assert ours.stderr == real.stderr
    assert "not on tls_allowed_dn_list; DN 'O=virtwire,CN=intruder'" in server.log
    # and the listed DN, written in virtwire's idea of GnuTLS's DN form, gets in on both
    for p in (port, tls_libvirtd.port):
        ok = run_virsh(f"test+tls://localhost:{p}/default?pkipath={pki_dirs['good']}", "list")
        assert ok.returncode == 0, ok.stderr


def test_virsh_with_a_stranger_ca_is_refused_by_both(tls_server, tls_libvirtd, pki_dirs, run_virsh):
    server, port = tls_server()
    # no_sanity=1: virsh would otherwise refuse its own stranger certificate before dialling
    query = f"pkipath={pki_dirs['other_ca']}&no_sanity=1"
    ours = run_virsh(f"test+tls://localhost:{port}/default?{query}", "list")
    real = run_virsh(f"test+tls://localhost:{tls_libvirtd.port}/default?{query}", "list")
    # libvirtd completes the handshake and closes; OpenSSL refuses the certificate with an
    # alert instead. virsh usually cannot tell the two apart (the same message from both);
    # when the alert arrives while virsh is still writing, virsh dies of SIGPIPE (-13)
    # before it prints anything: a known difference of the handshake-time refusal.
    assert real.returncode == 1
    assert ours.returncode in (1, -13), ours
    if ours.returncode == 1:
        assert ours.stderr == real.stderr
        assert "Unable to read TLS confirmation" in ours.stderr
    assert "TLS client refused: handshake failed: certificate verify failed" in server.log


class TlsLibvirtd:
    def __init__(self, base: Path, port: int, pki_dirs: dict[str, Path]) -> None:
        self.base, self.port = base, port
        self.pki = {k: base / k for k in pki_dirs}


def established_to(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (accepted or in the
    listen backlog), from /proc/net/tcp{,6}."""
    count = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as table:
            next(table)
            for line in table:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def tls_libvirtd(libvirtd_peer, pki_dirs) -> Iterator[TlsLibvirtd]:
    """A private libvirtd 9.0 with listen_tls=1 and exactly `virtwire pki init`'s files."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run libvirtd as the peer user")
    base = Path(tempfile.mkdtemp(prefix="lvtls2-"))
    port = free_port()
    peer = TlsLibvirtd(base, port, pki_dirs)
    for name, src in pki_dirs.items():
        shutil.copytree(src, base / name)
    good = peer.pki["good"]
    d = base / "d"
    for sub in ("sock", "config", "cache", "runtime"):
        (d / sub).mkdir(parents=True)
    (d / "libvirtd.conf").write_text(
        f"""listen_tls = 1
listen_tcp = 0
listen_addr = "127.0.0.1"
tls_port = "{port}"
auth_tls = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_dir = "{d}/sock"
key_file = "{good}/serverkey.pem"
cert_file = "{good}/servercert.pem"
ca_file = "{good}/cacert.pem"
tls_allowed_dn_list = ["O=virtwire,CN=virtwire client"]
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
                log = (d / "libvirtd.log").read_text() if (d / "libvirtd.log").exists() else ""
                pytest.fail("TLS libvirtd did not start with virtwire's PKI:\n" + log)
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


def test_real_libvirtd_accepts_virtwire_pki(tls_libvirtd, run_virsh):
    """libvirtd's own start-up sanity checks pass and virsh gets in with the client files."""
    good = tls_libvirtd.pki["good"]
    for host in ("localhost", "127.0.0.1"):
        r = run_virsh(
            f"test+tls://{host}:{tls_libvirtd.port}/default?pkipath={good}", "list", "--all"
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.split("\n")[2].split() == ["1", "test", "running"]


def test_our_client_against_libvirtd_with_virtwire_pki(tls_libvirtd):
    uri = f"test+tls://localhost:{tls_libvirtd.port}/default?pkipath={tls_libvirtd.pki['good']}"

    async def scenario():
        async with await vc.connect(uri) as conn:
            return await conn.get_type()

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == "TEST"


def test_max_clients_third_virsh_waits_then_is_served(tls_server, pki_dirs, run_virsh):
    server, port = tls_server("max_clients = 2\n")
    uri = f"test+tls://localhost:{port}/default?pkipath={pki_dirs['good']}"
    env = dict(os.environ, LC_ALL="C.UTF-8")
    env.pop("LIBVIRT_DEFAULT_URI", None)

    async def scenario():
        a = await vc.connect(uri)
        b = await vc.connect(uri)
        assert await a.get_type() == await b.get_type() == "TEST"
        third = await asyncio.create_subprocess_exec(
            "virsh", "-c", uri, "list", "--all", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            # condition wait: the third virsh's connection sits in the listen backlog
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while established_to(port) < 3:
                assert loop.time() < deadline, "the third virsh never connected"
                await asyncio.sleep(0.02)
            assert "max_clients (2) reached" in server.log
            assert third.returncode is None, "the third client was not held back"
            await a.close()
            out, err = await asyncio.wait_for(third.communicate(), 20)
        finally:
            if third.returncode is None:
                third.kill()
                await third.wait()
        assert await b.get_type() == "TEST"
        await b.close()
        return third.returncode, out.decode(), err.decode()

    rc, out, err = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert rc == 0, err
    assert out.split("\n")[2].split() == ["1", "test", "running"]
    assert "max_clients (2) reached" in server.log


@pytest.mark.skipif(
    shutil.which("tshark") is None or shutil.which("dumpcap") is None, reason="needs tshark"
)
def test_capture_of_a_tls_session_has_no_clear_text_rpc(tls_server, pki_dirs, run_virsh, tmp_path):
    server, port = tls_server()
    pcap = tmp_path / "tls.pcap"
    with capturing(pcap, port):
        r = run_virsh(f"test+tls://localhost:{port}/default?pkipath={pki_dirs['good']}",
                      "dumpxml", "test")  # fmt: skip
        assert r.returncode == 0 and "<name>test</name>" in r.stdout
    raw = pcap.read_bytes()
    assert len(raw) > 2000  # the session was captured
    for clear in (b"test:///default", b"<name>test</name>", b"\x20\x00\x80\x86", b"<domain"):
        assert clear not in raw, clear
    records = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", f"tcp.port=={port},tls", "-T", "fields",
         "-e", "tls.record.content_type", "-e", "tls.record.opaque_type"],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    # TLS 1.3 labels encrypted records with an opaque type of 23 (application data)
    kinds = {k for field in records.split() for k in field.split(",")}
    assert "22" in kinds and "23" in kinds, records  # handshake and application-data records


GOOD_CLIENT = """
import sys, threading, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(sys.argv[1])
added = threading.Event()
aliases = []
def on_added(c, dom, alias, opaque):
    aliases.append(alias); added.set()
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, on_added, None)
print("ready", flush=True)
for line in sys.stdin:
    cmd = line.strip()
    try:
        if cmd == "ping":
            print("ok", conn.getLibVersion(), len(conn.listAllDomains(0)), flush=True)
        elif cmd == "event":
            print("event" if added.wait(20) else "no-event", ",".join(aliases), flush=True)
        elif cmd == "quit":
            break
    except libvirt.libvirtError as e:
        print("error", e, flush=True)
conn.close()
"""


class LineProcess:
    """A subprocess driven line by line, each answer awaited with a deadline."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def ask(self, command: str | None, timeout: float = 30) -> str:
        if command is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise AssertionError("the client died: " + (self.proc.stderr.read() or ""))
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _no_cert_tls_client(port: int, ca: Path) -> bytes | Exception:
    """A TLS client that trusts the CA but offers no certificate: what does it get?"""
    ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            return tls.recv(1)
    except (OSError, ssl.SSLError) as exc:
        return exc


def test_qemu_tls_dimm_hotplug_event_while_bad_clients_are_refused(
    tls_server, pki_dirs, run_virsh, tmp_path
):
    """virsh over qemu+tls:// attaches a DIMM, a python3-libvirt client connected over TLS
    the whole time gets DEVICE_ADDED and no error, while every bad client is refused."""
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    server, port = tls_server('tls_allowed_dn_list = ["O=virtwire,CN=virtwire client"]\n')
    good = f"qemu+tls://localhost:{port}/system?pkipath={pki_dirs['good']}"
    script = tmp_path / "good_client.py"
    script.write_text(GOOD_CLIENT)
    client = LineProcess([SYSTEM_PYTHON, str(script), good])
    try:
        assert client.ask(None) == "ready"
        dom_xml, dimm_xml = tmp_path / "dom.xml", tmp_path / "dimm.xml"
        dom_xml.write_text(DOMAIN_XML)
        dimm_xml.write_text(DIMM_XML)
        for args in (("define", str(dom_xml)), ("start", "demo-vm")):
            r = run_virsh(good, *args)
            assert r.returncode == 0, r.stderr + server.log
        r = run_virsh(good, "list")
        assert r.returncode == 0 and "demo-vm" in r.stdout and "running" in r.stdout
        assert client.ask("ping").startswith("ok ")

        # the refused ones: each fails, and the good client goes on as if nothing happened
        bad = {
            "other CA": f"qemu+tls://localhost:{port}/system?pkipath={pki_dirs['other_ca']}&no_sanity=1",
            "expired": f"qemu+tls://localhost:{port}/system?pkipath={pki_dirs['expired']}&no_sanity=1",
            "DN not listed": f"qemu+tls://localhost:{port}/system?pkipath={pki_dirs['other_dn']}",
            "plain TCP": f"qemu+tcp://localhost:{port}/system",
        }
        for what, uri in bad.items():
            r = run_virsh(uri, "list", timeout=60)
            assert r.returncode != 0, (what, r.stdout)
            print(f"{what}: rc {r.returncode}: {r.stderr.strip()}")
            assert client.ask("ping").startswith("ok "), what
        got = _no_cert_tls_client(port, pki_dirs["good"] / "cacert.pem")
        assert got != b"\x01" and (isinstance(got, Exception) or got == b""), got
        assert client.ask("ping").startswith("ok ")

        r = run_virsh(good, "attach-device", "demo-vm", str(dimm_xml), "--live")
        assert r.returncode == 0, r.stderr + server.log
        assert client.ask("event") == "event memdimm0"
        r = run_virsh(good, "dumpxml", "demo-vm")
        assert "<memory model='dimm'" in r.stdout and "dimm0" in r.stdout
        assert client.ask("ping").startswith("ok ")
    finally:
        client.stop()
    log = server.log
    assert log.count("TLS client refused") >= 5, log
    assert "not on tls_allowed_dn_list; DN 'O=virtwire,CN=intruder'" in log
    assert "certificate verify failed" in log
