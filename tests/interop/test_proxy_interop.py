"""`virtwire proxy` between real peers: virsh → proxy → real libvirtd (TCP), and
virsh → proxy (unix) → `virtwire serve`. The client's output must not change, and the
recording must be read completely by our decoder and by tshark with libvirt's dissector."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_peer
from tests.interop.test_decode_interop import have_tshark, our_headers, tshark_headers

pytestmark = pytest.mark.interop

COMMANDS = (
    ("list", "--all"),
    ("domstate", "test"),
    ("dumpxml", "test"),
    ("version",),
    ("net-list", "--all"),
)


@contextlib.contextmanager
def running_proxy(listen: str, upstream: str, record: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "virtwire.tools.cli",
            "proxy",
            "--listen",
            listen,
            "--upstream",
            upstream,
            "--record",
            str(record),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"listening on (\S+),", line)
        assert m, (
            f"proxy did not start: {line}{proc.stderr.read() if proc.poll() is not None else ''}"
        )
        yield m.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0


def _outputs(run_virsh, uri: str) -> list[tuple[int, str, str]]:
    out = []
    for args in COMMANDS:
        done = run_virsh(uri, *args)
        out.append((done.returncode, done.stdout, done.stderr))
    return out


def _check_recording(record: Path, port: int, connections: int) -> None:
    ours, records, summary = our_headers(record, port)
    assert summary["connections"] == connections
    assert not summary["malformed"] and not summary["resyncs"] and not summary["gaps"]
    assert summary["unanswered_calls"] == []
    assert all("body_error" not in r for r in records)
    need_peer(have_tshark(), "tshark + dumpcap + libvirt-wireshark dissector")
    assert ours == tshark_headers(record, port)


def test_virsh_through_proxy_to_real_libvirtd_over_tcp(libvirtd_peer, run_virsh, tmp_path):
    direct = _outputs(run_virsh, libvirtd_peer.tcp_uri)
    record = tmp_path / "tcp.pcapng"
    with running_proxy("tcp:127.0.0.1:0", libvirtd_peer.tcp_uri, record) as where:
        port = int(where.rsplit(":", 1)[1])
        proxied = _outputs(run_virsh, f"test+tcp://127.0.0.1:{port}/default")
    assert proxied == direct
    # the recording shows the upstream's real address: the daemon's port
    _check_recording(record, libvirtd_peer.port, len(COMMANDS))


def test_virsh_through_unix_proxy_to_virtwire_serve(virtwire_server, run_virsh):
    base = Path(tempfile.mkdtemp(prefix="vwpx-"))
    record = base / "unix.pcapng"
    direct = _outputs(run_virsh, virtwire_server.unix_uri())
    try:
        with running_proxy(f"unix:{base / 'p.sock'}", virtwire_server.unix_uri(), record):
            proxied = _outputs(run_virsh, f"test+unix:///default?socket={base / 'p.sock'}")
        assert proxied == direct
        assert not (base / "p.sock").exists()
        # unix ends get synthesized loopback addresses, the server side port 16509
        _check_recording(record, 16509, len(COMMANDS))
    finally:
        shutil.rmtree(base, ignore_errors=True)
