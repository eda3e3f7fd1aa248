"""Real virsh and python3-libvirt against `virtwire serve` on qemu:///system: vCPU hot-plug,
pinning (vCPUs, emulator, IOThreads), metadata, schedinfo, blkiotune, memtune, guest agent answers, cpu-stats,
cpu-models (compared with libvirtd 9.0), node devices, nwfilters and their bindings, the
METADATA_CHANGE and TUNABLE events, and persistence across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

GUEST = """<domain type='kvm'>
  <name>g1</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu current='2'>4</vcpu>
  <iothreads>1</iothreads>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/g1.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:01'/>
      <source network='default'/>
      <filterref filter='clean-traffic'/>
    </interface>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
  </devices>
</domain>
"""


def virsh_ok(run_virsh, uri: str, *args: str) -> str:
    proc = run_virsh(uri, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_virsh_tuning_tour(virtwire_server, run_virsh, tmp_path: Path):
    uri = virtwire_server.unix_uri("qemu", "/system")
    (tmp_path / "g1.xml").write_text(GUEST)
    virsh_ok(run_virsh, uri, "define", str(tmp_path / "g1.xml"))
    virsh_ok(run_virsh, uri, "start", "g1")
    virsh_ok(run_virsh, uri, "setvcpus", "g1", "4", "--live")
    virsh_ok(run_virsh, uri, "setvcpus", "g1", "3", "--config")
    virsh_ok(run_virsh, uri, "setvcpus", "g1", "6", "--maximum", "--config")
    count = virsh_ok(run_virsh, uri, "vcpucount", "g1").split()
    assert count == ["maximum", "config", "6", "maximum", "live", "4",
                     "current", "config", "3", "current", "live", "4"]  # fmt: skip
    bad = run_virsh(uri, "setvcpus", "g1", "1", "--live")
    assert bad.returncode == 1
    assert "failed to find appropriate hotpluggable vcpus" in bad.stderr
    bad = run_virsh(uri, "setvcpus", "g1", "9", "--live")
    assert "requested vcpus is greater than max allowable vcpus for the live domain: 9 > 4" in (
        bad.stderr
    )
    virsh_ok(run_virsh, uri, "vcpupin", "g1", "1", "2-3", "--live", "--config")
    pins = virsh_ok(run_virsh, uri, "vcpupin", "g1").split("\n")
    assert " 1      2-3" in pins and " 0      0-7" in pins
    virsh_ok(run_virsh, uri, "emulatorpin", "g1", "0-1", "--config")
    assert "*: 0-1" in virsh_ok(run_virsh, uri, "emulatorpin", "g1", "--config")
    virsh_ok(run_virsh, uri, "iothreadpin", "g1", "1", "0-1", "--config")
    assert " 1             0-1" in virsh_ok(run_virsh, uri, "iothreadinfo", "g1", "--config")
    assert " 1             0-7" in virsh_ok(run_virsh, uri, "iothreadinfo", "g1")
    virsh_ok(run_virsh, uri, "metadata", "g1", "--uri", "http://example.org/app", "--key",
             "app", "--set", "<item n='1'>x</item>", "--config")  # fmt: skip
    out = virsh_ok(run_virsh, uri, "metadata", "g1", "--uri", "http://example.org/app", "--config")
    assert out.strip() == '<item n="1">x</item>'
    virsh_ok(run_virsh, uri, "desc", "g1", "--title", "--config", "Web server")
    assert virsh_ok(run_virsh, uri, "desc", "g1", "--title", "--config").strip() == "Web server"
    sched = virsh_ok(run_virsh, uri, "schedinfo", "g1", "--set", "cpu_shares=512", "--config")
    assert "cpu_shares     : 512" in sched and "Scheduler      : posix" in sched
    virsh_ok(run_virsh, uri, "blkiotune", "g1", "--weight", "300", "--config")
    assert "weight         : 300" in virsh_ok(run_virsh, uri, "blkiotune", "g1", "--config")
    assert "weight         : 100" in virsh_ok(run_virsh, uri, "blkiotune", "g1", "--live")
    virsh_ok(run_virsh, uri, "memtune", "g1", "--hard-limit", "2G", "--config")
    mem = virsh_ok(run_virsh, uri, "memtune", "g1", "--config")
    assert "hard_limit     : 2097152" in mem and "soft_limit     : unlimited" in mem

    lease = virsh_ok(run_virsh, uri, "domifaddr", "g1").splitlines()
    assert lease[2].split()[:3] == ["vnet0", "52:54:00:aa:bb:01", "ipv4"]
    address = lease[2].split()[3]
    assert address.startswith("192.168.122.") and address.endswith("/24")
    agent = virsh_ok(run_virsh, uri, "domifaddr", "g1", "--source", "agent")
    assert "127.0.0.1/8" in agent and address in agent and "fe80::5054:ff:feaa:bb01/64" in agent
    arp = virsh_ok(run_virsh, uri, "domifaddr", "g1", "--source", "arp")
    assert address.replace("/24", "/0") in arp
    fsinfo = virsh_ok(run_virsh, uri, "domfsinfo", "g1").splitlines()
    assert fsinfo[2].split() == ["/", "vda1", "ext4", "vda"]
    virsh_ok(run_virsh, uri, "domtime", "g1", "--time", "1000000000")
    assert virsh_ok(run_virsh, uri, "domtime", "g1", "--pretty").startswith("Time: 2001-09-09")
    assert virsh_ok(run_virsh, uri, "domhostname", "g1").strip() == "g1"
    assert virsh_ok(run_virsh, uri, "domhostname", "g1", "--source", "lease").strip() == "g1"
    total = virsh_ok(run_virsh, uri, "cpu-stats", "g1", "--total")
    assert "cpu_time" in total and "user_time" in total and "system_time" in total
    percpu = virsh_ok(run_virsh, uri, "cpu-stats", "g1", "--start", "0", "--count", "2")
    assert "CPU0:" in percpu and "CPU1:" in percpu and "vcpu_time" in percpu

    tree = virsh_ok(run_virsh, uri, "nodedev-list", "--tree")
    assert tree.splitlines()[0] == "computer"
    for name in ("pci_0000_00_1f_6", "net_eno1_3c_ec_ef_6a_21_5e", "scsi_host0", "usb_usb1"):
        assert f"+- {name}" in tree
    assert "<interface>eno1</interface>" in virsh_ok(
        run_virsh, uri, "nodedev-dumpxml", "net_eno1_3c_ec_ef_6a_21_5e"
    )
    filters = virsh_ok(run_virsh, uri, "nwfilter-list")
    for name in ("clean-traffic", "no-mac-spoofing", "allow-dhcp"):
        assert f"   {name}\n" in filters
    dump = virsh_ok(run_virsh, uri, "nwfilter-dumpxml", "no-mac-spoofing")
    assert dump.startswith("<filter name='no-mac-spoofing' chain='mac' priority='-800'>")
    bindings = virsh_ok(run_virsh, uri, "nwfilter-binding-list").splitlines()
    assert bindings[2].split() == ["vnet0", "clean-traffic"]
    busy = run_virsh(uri, "nwfilter-undefine", "no-mac-spoofing")
    assert "nwfilter is in use" in busy.stderr

    virtwire_server.restart()  # config changes and the filters' UUIDs survive
    xml = virsh_ok(run_virsh, uri, "dumpxml", "g1", "--inactive")
    for part in ("<vcpu placement='static' current='3'>6</vcpu>", "<title>Web server</title>",
                 '<app:item xmlns:app="http://example.org/app" n="1">x</app:item>',
                 "<weight>300</weight>", "<hard_limit unit='KiB'>2097152</hard_limit>",
                 "<shares>512</shares>", "<vcpupin vcpu='1' cpuset='2-3'/>",
                 "<emulatorpin cpuset='0-1'/>", "<iothreadpin iothread='1' cpuset='0-1'/>"):  # fmt: skip
        assert part in xml
    assert virsh_ok(run_virsh, uri, "nwfilter-dumpxml", "no-mac-spoofing") == dump


def test_cpu_models_as_libvirtd(virtwire_server, libvirtd_peer, run_virsh):
    """libvirtd's test driver lists the same cpu_map models (virCPUGetModels)."""
    ours = virsh_ok(run_virsh, virtwire_server.unix_uri("qemu", "/system"), "cpu-models", "x86_64")
    real = virsh_ok(run_virsh, libvirtd_peer.tcp_uri, "cpu-models", "x86_64")
    assert ours == real
    assert "Skylake-Client-IBRS" in ours.split()


EVENTS = r"""import sys
import libvirt

libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []

def meta_cb(conn, dom, mtype, nsuri, opaque):
    seen.append(("metadata", dom.name(), mtype, nsuri))

def tunable_cb(conn, dom, params, opaque):
    seen.append(("tunable", dom.name(), sorted(params.items())))

c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, meta_cb, None)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE, tunable_cb, None)
dom = c.createXML(sys.argv[2], 0)
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<x/>", "k", "urn:k",
                libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "hello", None, None, 0)
dom.pinVcpuFlags(1, (False, False, True, True), libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.pinEmulator((True, True), libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.setSchedulerParametersFlags({"cpu_shares": 256}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
while len(seen) < 5:
    libvirt.virEventRunDefaultImpl()
for item in seen:
    print(item)
print(dom.vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM), dom.maxVcpus())
print(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "urn:k", 0))
print(dom.getCPUStats(True)[0]["cpu_time"] > 0)
"""


def test_pylibvirt_metadata_and_tunable_events(virtwire_server, run_pylibvirt):
    uri = virtwire_server.unix_uri("qemu", "/system")
    proc = run_pylibvirt(EVENTS, uri, GUEST.replace("<name>g1", "<name>ev1"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "('metadata', 'ev1', 2, 'urn:k')",
        "('metadata', 'ev1', 0, None)",
        "('tunable', 'ev1', [('cputune.vcpupin1', '2-3')])",
        "('tunable', 'ev1', [('cputune.emulatorpin', '0-1')])",
        "('tunable', 'ev1', [('cputune.cpu_shares', 256)])",
        "4 4",
        "<x/>",
        "True",
    ]
