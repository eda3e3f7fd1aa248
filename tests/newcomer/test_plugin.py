"""The pytest plugin (entry point pytest11) and the embedding API it wraps."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import virtwire.client
from virtwire.client import libvirt
from virtwire.server import serve, serve_sync

from virtwire.testing import VirtwireDaemon


def test_plugin_is_registered_through_its_entry_point(pytestconfig: pytest.Config) -> None:
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="pytest11")}
    assert "virtwire.testing" in names
    assert pytestconfig.pluginmanager.has_plugin("virtwire")


def test_inprocess_daemon_serves_both_hosts(virtwire_daemon: VirtwireDaemon) -> None:
    assert virtwire_daemon.process is None
    assert set(virtwire_daemon.uris) == {"qemu+unix", "test+unix"}
    conn = libvirt.open(virtwire_daemon.uri("test"))
    try:
        assert [d.name() for d in conn.listAllDomains()] == ["test"]
    finally:
        conn.close()
    conn = libvirt.open(virtwire_daemon.uri("qemu"))
    try:
        assert conn.listAllDomains() == []
    finally:
        conn.close()


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_faults_through_the_fixture(request: pytest.FixtureRequest, mode: str) -> None:
    request.applymarker(pytest.mark.virtwire(mode=mode))
    daemon: VirtwireDaemon = request.getfixturevalue("virtwire_daemon")
    daemon.inject("fail", "CONNECT_GET_HOSTNAME", "--code", "OPERATION_FAILED", "--message", "x")
    conn = libvirt.open(daemon.uri("test"))
    try:
        with pytest.raises(libvirt.libvirtError) as err:
            conn.getHostname()
        assert err.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
        assert conn.getHostname()  # the count (1) is spent
        daemon.inject("fail", "CONNECT_GET_HOSTNAME", "--code", "1", "--forever")
        assert len(daemon.inject("list")["faults"]) == 1
        daemon.inject("reset")
        assert conn.getHostname()
    finally:
        conn.close()
    with pytest.raises(RuntimeError):
        daemon.inject("fail", "NO_SUCH_PROCEDURE", "--code", "1")


@pytest.mark.virtwire(mode="subprocess", tcp=True)
def test_subprocess_daemon_with_tcp(virtwire_daemon: VirtwireDaemon) -> None:
    assert virtwire_daemon.process is not None and virtwire_daemon.process.poll() is None
    assert virtwire_daemon.tcp is not None and virtwire_daemon.tcp[1] > 0
    conn = libvirt.open(virtwire_daemon.uri("test", "tcp"))
    try:
        assert conn.lookupByName("test").info()[1] == 8388608
    finally:
        conn.close()


INNER = """
import pytest
from virtwire.client import libvirt

XML = "<domain type='kvm'><name>d</name><memory>1024</memory><os><type>hvm</type></os></domain>"


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
@pytest.mark.parametrize("n", [1, 2])
def test_define(request, mode, n):
    request.applymarker(pytest.mark.virtwire(mode=mode))
    daemon = request.getfixturevalue("virtwire_daemon")
    with open(RECORD, "a") as f:
        f.write(f"{mode} {daemon.socket} {daemon.state_dir} {daemon.process.pid if daemon.process else 0}\\n")
    conn = libvirt.open(daemon.uri("qemu"))
    assert conn.listAllDomains() == []  # fresh state: the other test's domain is not here
    conn.defineXML(XML)
    conn.close()


@pytest.mark.virtwire(tls=True)
def test_unknown_option(virtwire_daemon):
    pass
"""


def test_nothing_left_running_and_bad_options_are_clear(tmp_path: Path) -> None:
    """After each test no process, socket or state directory remains, in both modes; an
    unknown marker option is a clear error."""
    record = tmp_path / "seen.txt"
    (tmp_path / "test_inner.py").write_text(f"RECORD = {str(record)!r}\n" + INNER)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "4 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "unknown option(s) ['tls']; known: ['mode', 'tcp']" in result.stdout
    lines = record.read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == ["inprocess"] * 2 + ["subprocess"] * 2
    for line in lines:
        mode, sock, state, pid = line.split()
        assert not Path(sock).exists() and not Path(state).exists()
        assert not Path(sock).parent.exists()
        if mode == "subprocess":
            with pytest.raises(ProcessLookupError):
                os.kill(int(pid), 0)


def test_serve_async_context_manager() -> None:
    async def main() -> tuple[str, list[str], Path]:
        async with serve(tcp="127.0.0.1:0") as vw:
            assert vw.socket is not None and vw.socket.exists()
            async with await virtwire.client.connect(vw.uri("test", "tcp")) as conn:
                names = [dom.name for dom in await conn.list_all_domains()]
                kind = await conn.get_type()
            return kind, names, vw.socket

    kind, names, sock = asyncio.run(main())
    assert (kind, names) == ("TEST", ["test"])
    assert not sock.exists() and not sock.parent.exists()


def test_serve_sync_keeps_a_given_state_dir(tmp_path: Path) -> None:
    xml = "<domain type='kvm'><name>kept</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    for _ in range(2):
        with serve_sync(state_dir=tmp_path / "st") as vw:
            conn = libvirt.open(vw.uri("qemu:///system"))
            try:
                names = [d.name() for d in conn.listAllDomains()]
                if not names:
                    conn.defineXML(xml)
            finally:
                conn.close()
    assert names == ["kept"]
    assert (tmp_path / "st").is_dir()
