"""Networks, interfaces and node devices of test:///default: real virsh and python3-libvirt
against a private libvirtd 9.0 and against `virtwire serve`, output compared byte for byte.

Each scenario is one virsh invocation (commands separated by ";"), so it runs on one
connection from the fresh default state (test:///default starts afresh when its last
connection closes). Only generated UUIDs are normalised.
"""

from __future__ import annotations

import difflib
import re
import subprocess

import pytest

pytestmark = pytest.mark.interop

NET1_XML = """<network>
  <name>net1</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <bridge name='virbr5'/>
  <ip address='10.0.5.1' netmask='255.255.255.0'>
    <dhcp><range start='10.0.5.2' end='10.0.5.9'/></dhcp>
  </ip>
</network>
"""
ISO_XML = "<network><name>iso</name></network>\n"
TR_XML = (
    "<network><name>tr</name><bridge name='br9' stp='off' delay='3'/>"
    "<mac address='52:54:00:aa:bb:cc'/><domain name='ex.com'/><mtu size='9000'/></network>\n"
)
ROUTE_XML = "<network><name>rt</name><forward mode='route'/></network>\n"
ETH2_XML = (
    "<interface type='ethernet' name='eth2'><start mode='none'/>"
    "<mac address='aa:bb:cc:dd:ee:01'/></interface>\n"
)
VHBA_XML = (
    "<device><parent>scsi_host1</parent><capability type='scsi_host'>"
    "<capability type='fc_host'><wwnn>2000000011112222</wwnn><wwpn>1000000011112222</wwpn>"
    "</capability></capability></device>\n"
)

_GEN_UUID = re.compile(
    r"\b(?!11111111-)(?!dd8fe884-)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)


def normalise(text: str) -> str:
    """Generated UUIDs differ run to run; the fixed ones stay."""
    return _GEN_UUID.sub("<uuid>", text)


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in (
        ("net1", NET1_XML),
        ("iso", ISO_XML),
        ("tr", TR_XML),
        ("route", ROUTE_XML),
        ("eth2", ETH2_XML),
        ("vhba", VHBA_XML),
    ):
        path = tmp_path / f"{name}.xml"
        path.write_text(text)
        out[name] = str(path)
    return out


def both(run_virsh, libvirtd_peer, virtwire_server, script: str, transport: str = "tcp"):
    ours_uri = virtwire_server.tcp_uri() if transport == "tcp" else virtwire_server.unix_uri()
    theirs_uri = libvirtd_peer.tcp_uri if transport == "tcp" else libvirtd_peer.unix_uri
    theirs = run_virsh(theirs_uri, script)
    ours = run_virsh(ours_uri, script)
    return theirs, ours


def same_text(theirs: str, ours: str) -> None:
    """Equal after normalisation; else fail with a unified diff (libvirtd's side first)."""
    a, b = normalise(theirs), normalise(ours)
    if a != b:
        diff = difflib.unified_diff(
            a.splitlines(True), b.splitlines(True), "libvirtd", "virtwire", n=1
        )
        pytest.fail("".join(diff), pytrace=False)


def assert_same(theirs: subprocess.CompletedProcess, ours: subprocess.CompletedProcess) -> None:
    same_text(theirs.stdout, ours.stdout)
    same_text(theirs.stderr, ours.stderr)
    assert ours.returncode == theirs.returncode


READ_SCRIPT = "; ".join(
    [
        "net-list --all",
        "net-list",
        "net-list --name",
        "net-list --uuid",
        "net-info default",
        "net-dumpxml default",
        "net-dumpxml --inactive default",
        "net-uuid default",
        "net-name dd8fe884-6c02-601e-7551-cca97df1c5df",
        "net-autostart default --disable",
        "net-dhcp-leases default",
        "net-port-list default",
        "net-info nope",
        "net-uuid nope",
        "net-name 00000000-0000-0000-0000-000000000000",
        "net-dumpxml nope",
        "iface-list --all",
        "iface-list",
        "iface-list --inactive",
        "iface-dumpxml eth1",
        "iface-dumpxml lo",
        "iface-mac eth1",
        "iface-name aa:bb:cc:dd:ee:ff",
        "iface-mac nope",
        "iface-name 00:11:22:33:44:55",
        "nodedev-list",
        "nodedev-list --all",
        "nodedev-list --cap scsi_host",
        "nodedev-list --tree",
        "nodedev-dumpxml computer",
        "nodedev-dumpxml scsi_host1",
        "nodedev-dumpxml scsi_host2",
        "nodedev-dumpxml scsi_host11",
        "nodedev-info computer",
        "nodedev-info scsi_host11",
        "nodedev-dumpxml nope",
    ]
)


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_read_commands_match_libvirtd(virtwire_server, libvirtd_peer, run_virsh, transport):
    theirs, ours = both(run_virsh, libvirtd_peer, virtwire_server, READ_SCRIPT, transport)
    assert "virbr0" in theirs.stdout and "scsi_host11" in theirs.stdout
    assert_same(theirs, ours)


def test_network_lifecycle_matches_libvirtd(virtwire_server, libvirtd_peer, run_virsh, files):
    script = "; ".join(
        [
            f"net-define {files['net1']}",
            "net-list --all",
            "net-dumpxml net1",
            "net-info net1",
            "net-start net1",
            "net-start net1",
            "net-undefine net1",
            "net-list --all",
            "net-destroy net1",
            "net-destroy net1",
            "net-autostart net1",
            "net-info net1",
            "net-list --all --autostart",
            "net-list --all --no-autostart",
            "net-autostart --disable net1",
            "net-undefine net1",
            "net-undefine net1",
            "net-uuid net1",
            f"net-define {files['iso']}",
            "net-dumpxml iso",
            "net-info iso",
            f"net-create {files['iso']}",
            f"net-create {files['route']}",
            f"net-create {files['tr']}",
            "net-dumpxml tr",
            "net-list --all --transient",
            "net-list --all --persistent",
            "net-list --inactive",
            "net-destroy tr",
            "net-info tr",
            "net-list --all",
            "net-destroy default",
            "net-list --all",
            "net-start default",
        ]
    )
    theirs, ours = both(run_virsh, libvirtd_peer, virtwire_server, script)
    assert "Network net1 defined" in theirs.stdout
    assert_same(theirs, ours)


def test_network_update_matches_libvirtd(virtwire_server, libvirtd_peer, run_virsh, files):
    host1 = "\"<host mac='52:54:00:00:00:01' name='vm1' ip='192.168.122.10'/>\""
    script = "; ".join(
        [
            f"net-update default add ip-dhcp-host {host1}",
            f"net-update default add ip-dhcp-host {host1}",
            "net-update default modify ip-dhcp-host "
            "\"<host mac='52:54:00:00:00:01' name='vm2' ip='192.168.122.11'/>\"",
            "net-dumpxml default",
            "net-update default modify ip-dhcp-host \"<host mac='52:54:00:00:00:07' ip='1.2.3.4'/>\"",
            "net-update default delete ip-dhcp-host \"<host mac='52:54:00:00:00:01'/>\"",
            "net-update default delete ip-dhcp-host \"<host mac='52:54:00:00:00:09'/>\"",
            "net-update default add ip-dhcp-host \"<host mac='52:54:00:00:00:01'/>\" --parent-index 3",
            "net-update default add ip-dhcp-range "
            "\"<range start='192.168.122.100' end='192.168.122.120'/>\" --parent-index 0",
            "net-update default add-first ip-dhcp-range "
            "\"<range start='192.168.122.100' end='192.168.122.120'/>\"",
            "net-update default add dns-host \"<host ip='192.168.122.5'><hostname>foo</hostname></host>\"",
            "net-update default add bridge \"<bridge name='x'/>\"",
            "net-update default add forward-interface \"<interface dev='eth9'/>\"",
            "net-update default add portgroup \"<portgroup name='pg'/>\"",
            "net-update default add-first dns-txt \"<txt name='t' value='v'/>\"",
            "net-dumpxml default",
            "net-update default delete ip-dhcp-range "
            "\"<range start='192.168.122.100' end='192.168.122.120'/>\"",
            f"net-define {files['net1']}",
            "net-update net1 add ip-dhcp-host \"<host mac='52:54:00:00:00:01' ip='10.0.5.5'/>\" --live",
            "net-update net1 add ip-dhcp-host \"<host mac='52:54:00:00:00:01' ip='10.0.5.5'/>\" --config",
            "net-dumpxml net1",
            "net-start net1",
            "net-update net1 add ip-dhcp-host \"<host mac='52:54:00:00:00:02' ip='10.0.5.6'/>\" --config",
            "net-dumpxml net1",
            "net-update net1 delete ip-dhcp-host "
            "\"<host mac='52:54:00:00:00:01' ip='10.0.5.5'/>\" --live --config",
            "net-dumpxml net1",
            "net-update nope add ip-dhcp-host \"<host mac='52:54:00:00:00:01'/>\"",
        ]
    )
    theirs, ours = both(run_virsh, libvirtd_peer, virtwire_server, script)
    assert "Updated network default live state" in theirs.stdout
    assert_same(theirs, ours)


def test_interfaces_match_libvirtd(virtwire_server, libvirtd_peer, run_virsh, files):
    script = "; ".join(
        [
            f"iface-define {files['eth2']}",
            "iface-list --all",
            "iface-dumpxml eth2",
            "iface-mac eth2",
            "iface-name aa:bb:cc:dd:ee:01",
            "iface-destroy eth2",
            "iface-start eth2",
            "iface-start eth2",
            "iface-list",
            "iface-destroy eth2",
            "iface-begin",
            "iface-begin",
            "iface-undefine eth2",
            "iface-list --all",
            "iface-rollback",
            "iface-list --all",
            "iface-rollback",
            "iface-commit",
            "iface-begin",
            "iface-undefine eth2",
            "iface-commit",
            "iface-list --all",
            "iface-undefine eth2",
        ]
    )
    theirs, ours = both(run_virsh, libvirtd_peer, virtwire_server, script)
    assert "eth2" in theirs.stdout
    assert_same(theirs, ours)


def test_node_devices_match_libvirtd(virtwire_server, libvirtd_peer, run_virsh, files):
    script = "; ".join(
        [
            f"nodedev-create {files['vhba']}",
            "nodedev-dumpxml scsi_host12",
            "nodedev-info scsi_host12",
            "nodedev-destroy scsi_host12",
            "nodedev-dumpxml scsi_host12",
            "nodedev-destroy nope",
            "nodedev-detach computer",
        ]
    )
    theirs, ours = both(run_virsh, libvirtd_peer, virtwire_server, script)
    assert "scsi_host12" in theirs.stdout
    assert_same(theirs, ours)


EVENTS_SCRIPT = r"""
import sys, time, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []
def cb(conn, net, event, detail, opaque):
    seen.append(("net", net.name(), event, detail, opaque))
def devcb(conn, dev, event, detail, opaque):
    seen.append(("dev", dev.name(), event, detail, opaque))
ids = [c.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, cb, "all")]
n = c.networkLookupByName("default")
ids.append(c.networkEventRegisterAny(n, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, cb, "default"))
ids.append(c.nodeDeviceEventRegisterAny(
    None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, devcb, "dev"))
print("ids", ids)
n.destroy(); n.create()
x = c.networkDefineXML(sys.argv[2]); x.create(); x.destroy(); x.undefine()
t = c.networkCreateXML("<network><name>tr</name></network>"); t.destroy()
d = c.nodeDeviceCreateXML(sys.argv[3], 0); d.destroy()
end = time.time() + 5
while len(seen) < 12 and time.time() < end:
    libvirt.virEventRunDefaultImpl()
for cid in ids[:2]:
    c.networkEventDeregisterAny(cid)
c.nodeDeviceEventDeregisterAny(ids[2])
try:
    c.networkEventDeregisterAny(ids[0])
except libvirt.libvirtError as e:
    print("dereg", e.get_error_code(), e.get_error_domain())
for s in sorted(seen, key=repr) if False else seen:
    print(*s)
"""


def test_network_events_match_libvirtd(virtwire_server, libvirtd_peer, run_pylibvirt):
    args = (NET1_XML, VHBA_XML)
    theirs = run_pylibvirt(EVENTS_SCRIPT, libvirtd_peer.tcp_uri, *args)
    ours = run_pylibvirt(EVENTS_SCRIPT, virtwire_server.tcp_uri(), *args)
    assert theirs.returncode == 0, theirs.stderr
    assert "net default 3 0 default" in theirs.stdout
    same_text(theirs.stdout, ours.stdout)
    assert ours.returncode == 0, ours.stderr


API_SCRIPT = r"""
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
def show(label, fn):
    try:
        print(label, repr(fn()))
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), e.get_error_message())
show("listNetworks", c.listNetworks)
show("listDefinedNetworks", c.listDefinedNetworks)
show("numOfNetworks", c.numOfNetworks)
show("numOfDefinedNetworks", c.numOfDefinedNetworks)
show("listAllNetworks", lambda: [n.name() for n in c.listAllNetworks(0)])
show("listAllNetworks bad flag", lambda: c.listAllNetworks(1 << 10))
n = c.networkLookupByName("default")
show("UUIDString", n.UUIDString)
show("byUUID", lambda: c.networkLookupByUUIDString(n.UUIDString()).name())
show("bridgeName", n.bridgeName)
show("autostart", n.autostart)
show("isActive", n.isActive)
show("isPersistent", n.isPersistent)
show("XMLDesc flag", lambda: n.XMLDesc(1))
show("DHCPLeases", n.DHCPLeases)
show("listAllPorts", n.listAllPorts)
show("update bad flag", lambda: n.update(3, 4, -1, "<host mac='52:54:00:00:00:01'/>", 4))
show("update bad section", lambda: n.update(3, 99, -1, "<x/>", 0))
show("define no name", lambda: c.networkDefineXML("<network/>"))
show("define bad uuid", lambda: c.networkDefineXML("<network><name>x</name><uuid>zz</uuid></network>"))
show("define bad root", lambda: c.networkDefineXML("<netw/>"))
show("define dup uuid", lambda: c.networkDefineXML(
    "<network><name>other</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>"))
show("create active", lambda: c.networkCreateXML(
    "<network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>"))
iso = c.networkDefineXML("<network><name>iso</name></network>")
show("iso bridgeName", iso.bridgeName)
show("listDefinedNetworks 2", c.listDefinedNetworks)
show("listInterfaces", c.listInterfaces)
show("listDefinedInterfaces", c.listDefinedInterfaces)
show("numOfInterfaces", c.numOfInterfaces)
show("numOfDefinedInterfaces", c.numOfDefinedInterfaces)
show("listAllInterfaces", lambda: [i.name() for i in c.listAllInterfaces(0)])
show("listAllInterfaces active", lambda: [i.name() for i in c.listAllInterfaces(2)])
i = c.interfaceLookupByName("eth1")
show("iface isActive", i.isActive)
show("iface MAC", i.MACString)
show("iface create active", lambda: i.create(0))
show("iface XMLDesc flag", lambda: i.XMLDesc(1))
show("iface define no type", lambda: c.interfaceDefineXML("<interface/>", 0))
show("iface define no name", lambda: c.interfaceDefineXML("<interface type='ethernet'/>", 0))
# libvirtd lists node devices in hash-table order, seeded per process: compare sorted
show("listDevices", lambda: sorted(c.listDevices(None, 0)))
for cap in ("scsi_host", "fc_host", "vports", "system", "pci"):
    show("listDevices " + cap, lambda: sorted(c.listDevices(cap, 0)))
    show("numOfDevices " + cap, lambda: c.numOfDevices(cap, 0))
show("numOfDevices flag", lambda: c.numOfDevices(None, 1))
for flags in (0, 1, 1 << 5, 1 << 9, 1 << 10, 0x3FFFFF, 1 << 31):
    show("listAllDevices %#x" % flags, lambda: sorted(d.name() for d in c.listAllDevices(flags)))
for name in ("computer", "scsi_host1", "scsi_host11"):
    d = c.nodeDeviceLookupByName(name)
    show(name + " parent", d.parent)
    show(name + " listCaps", d.listCaps)
    show(name + " numOfCaps", d.numOfCaps)
show("nodedev XMLDesc flag", lambda: c.nodeDeviceLookupByName("computer").XMLDesc(1))
show("byWWN", lambda: c.nodeDeviceLookupSCSIHostByWWN("2000000012341234", "1000000012341234", 0))
show("nodedev create no wwn", lambda: c.nodeDeviceCreateXML(
    "<device><capability type='scsi_host'><capability type='fc_host'/></capability></device>", 0))
show("nodedev create bad parent", lambda: c.nodeDeviceCreateXML(
    "<device><parent>computer</parent><capability type='scsi_host'><capability type='fc_host'>"
    "<wwnn>2000000011112223</wwnn><wwpn>1000000011112223</wwpn></capability></capability></device>", 0))
show("nodedev create no parent", lambda: c.nodeDeviceCreateXML(
    "<device><parent>nope</parent><capability type='scsi_host'><capability type='fc_host'>"
    "<wwnn>2000000011112223</wwnn><wwpn>1000000011112223</wwpn></capability></capability></device>", 0))
show("destroy computer", lambda: c.nodeDeviceLookupByName("computer").destroy())
show("nodedev define", lambda: c.nodeDeviceDefineXML("<device/>", 0))
"""


def test_python_api_matches_libvirtd(virtwire_server, libvirtd_peer, run_pylibvirt):
    theirs = run_pylibvirt(API_SCRIPT, libvirtd_peer.tcp_uri)
    ours = run_pylibvirt(API_SCRIPT, virtwire_server.tcp_uri())
    assert theirs.returncode == 0, theirs.stderr
    same_text(theirs.stdout, ours.stdout)
    assert ours.returncode == 0, ours.stderr
