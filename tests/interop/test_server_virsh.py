"""Real virsh against `virtwire serve` (TCP and unix), compared with real libvirtd where both apply."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.interop

HP_XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <maxMemory slots='4' unit='KiB'>4194304</maxMemory>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>
  <features><acpi/></features>
  <devices/>
</domain>
"""
DIMM_XML = """<memory model='dimm'>
  <target>
    <size unit='KiB'>524288</size>
    <node>0</node>
  </target>
</memory>
"""


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def mask_cpu_time(text: str) -> str:
    return re.sub(r"CPU time:\s+\S+", "CPU time: X", text)


@pytest.fixture
def files(tmp_path):
    dom_uuid = str(uuid.uuid4())
    hp = tmp_path / "hp1.xml"
    hp.write_text(HP_XML.format(name="hp1", uuid=dom_uuid))
    dimm = tmp_path / "dimm.xml"
    dimm.write_text(DIMM_XML)
    return {"hp": hp, "dimm": dimm, "uuid": dom_uuid}


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_read_commands_match_libvirtd(virtwire_server, libvirtd_peer, run_virsh, transport):
    ours = virtwire_server.tcp_uri() if transport == "tcp" else virtwire_server.unix_uri()
    theirs = libvirtd_peer.tcp_uri if transport == "tcp" else libvirtd_peer.unix_uri
    commands = (
        ("list", "--all"),
        ("list", "--inactive"),
        ("list", "--all", "--name"),
        ("domstate", "test"),
        ("domstate", "test", "--reason"),
        ("dominfo", "test"),
        ("dumpxml", "test"),
        ("domuuid", "test"),
        ("domid", "test"),
        ("nodeinfo",),
        ("hostname",),
        ("version",),
    )
    for args in commands:
        mine = mask_cpu_time(ok(run_virsh(ours, *args)))
        real = mask_cpu_time(ok(run_virsh(theirs, *args)))
        assert mine == real, f"virsh {' '.join(args)} differs:\n{mine}\n--- libvirtd:\n{real}"
    assert "Running against daemon: 9.0.0" in ok(run_virsh(ours, "version", "--daemon"))
    xml = ok(run_virsh(ours, "dumpxml", "test"))
    assert "<name>test</name>" in xml and "6695eb01-f6a4-8304-79aa-97f2502e193f" in xml


def test_lifecycle_hotplug_and_setmem_on_qemu_session(virtwire_server, run_virsh, files):
    uri = virtwire_server.tcp_uri("qemu", "/session")
    assert "Domain 'hp1' defined" in ok(run_virsh(uri, "define", str(files["hp"])))
    assert "shut off" in ok(run_virsh(uri, "list", "--all"))
    ok(run_virsh(uri, "start", "hp1"))
    assert ok(run_virsh(uri, "domstate", "hp1")).strip() == "running"
    ok(run_virsh(uri, "suspend", "hp1"))
    assert ok(run_virsh(uri, "domstate", "hp1")).strip() == "paused"
    ok(run_virsh(uri, "resume", "hp1"))
    assert "Device attached successfully" in ok(
        run_virsh(uri, "attach-device", "hp1", str(files["dimm"]), "--live")
    )
    info = ok(run_virsh(uri, "dominfo", "hp1"))
    assert re.search(r"Max memory:\s+1572864 KiB", info)
    assert re.search(r"Used memory:\s+1572864 KiB", info)
    xml = ok(run_virsh(uri, "dumpxml", "hp1"))
    assert "<alias name='dimm0'/>" in xml
    assert "Device detached successfully" in ok(
        run_virsh(uri, "detach-device", "hp1", str(files["dimm"]), "--live")
    )
    ok(run_virsh(uri, "setmem", "hp1", "524288"))
    assert re.search(r"Used memory:\s+524288 KiB", ok(run_virsh(uri, "dominfo", "hp1")))
    ok(run_virsh(uri, "destroy", "hp1"))
    assert ok(run_virsh(uri, "domstate", "hp1")).strip() == "shut off"
    ok(run_virsh(uri, "undefine", "hp1"))
    assert "hp1" not in ok(run_virsh(uri, "list", "--all"))


def test_event_loop_prints_another_virshs_events(virtwire_server, run_virsh, files):
    uri = virtwire_server.unix_uri("qemu", "/session")
    listener = subprocess.Popen(
        ["virsh", "-c", uri, "event", "--all", "--loop", "--timeout", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # let it register its 27 callbacks
        actor = virtwire_server.tcp_uri("qemu", "/session")
        ok(run_virsh(actor, "define", str(files["hp"])))
        ok(run_virsh(actor, "start", "hp1"))
        ok(run_virsh(actor, "attach-device", "hp1", str(files["dimm"]), "--live"))
        ok(run_virsh(actor, "detach-device", "hp1", str(files["dimm"]), "--live"))
        ok(run_virsh(actor, "destroy", "hp1"))
        out, err = listener.communicate(timeout=20)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    lines = out.splitlines()
    expected = [
        "event 'lifecycle' for domain 'hp1': Defined Added",
        "event 'lifecycle' for domain 'hp1': Resumed Unpaused",
        "event 'lifecycle' for domain 'hp1': Started Booted",
        "event 'device-added' for domain 'hp1': memdimm0",
        "event 'device-removed' for domain 'hp1': dimm0",
        "event 'lifecycle' for domain 'hp1': Stopped Destroyed",
    ]
    assert [line for line in lines if line in expected] == expected, out + err


def test_read_only_socket_refuses_destroy(virtwire_server, run_virsh):
    r = run_virsh(virtwire_server.ro_unix_uri(), "destroy", "test")
    assert r.returncode == 1
    assert "operation forbidden: read only access prevents virDomainDestroy" in r.stderr
    assert ok(run_virsh(virtwire_server.ro_unix_uri(), "domstate", "test")).strip() == "running"


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_defined_domains_survive_restart_and_kill9(virtwire_server, run_virsh, files, how):
    uri = virtwire_server.tcp_uri("qemu", "/system")
    ok(run_virsh(uri, "define", str(files["hp"])))
    before = ok(run_virsh(uri, "dumpxml", "--inactive", "hp1"))
    if how == "restart":
        virtwire_server.restart()
    else:
        virtwire_server.kill9()
        virtwire_server.start()
    uri = virtwire_server.tcp_uri("qemu", "/system")
    assert ok(run_virsh(uri, "domuuid", "hp1")).strip() == files["uuid"]
    assert ok(run_virsh(uri, "dumpxml", "--inactive", "hp1")) == before
    assert "hp1" in ok(run_virsh(uri, "list", "--all"))
