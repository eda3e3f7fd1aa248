"""test:///default networks, interfaces and node devices at the driver level."""

from __future__ import annotations

import uuid

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNetwork as Net
from virtwire.server.hypervisor.driver_api import (
    InterfaceDriver,
    NetworkDriver,
    NodeDeviceDriver,
)
from virtwire.server.hypervisor.networks import parse_network

DEFAULT_UUID = uuid.UUID("dd8fe884-6c02-601e-7551-cca97df1c5df").bytes
NET1 = (
    "<network><name>net1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
    "<bridge name='virbr5'/><ip address='10.0.5.1' netmask='255.255.255.0'>"
    "<dhcp><range start='10.0.5.2' end='10.0.5.9'/></dhcp></ip></network>"
)
DEFAULT_XML = """<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"""
VHBA = (
    "<device><parent>scsi_host1</parent><capability type='scsi_host'>"
    "<capability type='fc_host'><wwnn>2000000011112222</wwnn><wwpn>1000000011112222</wwpn>"
    "</capability></capability></device>"
)


@pytest.fixture
def drv(registry):
    return registry.open("test:///default")


@pytest.fixture
def seen(drv, scheduler):
    """Records network and node-device events delivered by the driver's EventState."""
    out: list = []
    drv.events.register(0, lambda e, c: out.append(e), kind="network")
    drv.events.register(0, lambda e, c: out.append(e), kind="node_device")

    def take():
        scheduler.run()
        got = [(e.net.name if hasattr(e, "net") else e.dev.name, e.event) for e in out]
        out.clear()
        return got

    return take


def fails(fn, *args) -> tuple[int, int, str]:
    with pytest.raises(LibvirtError) as info:
        fn(*args)
    return int(info.value.code), int(info.value.domain), info.value.message


def test_protocols_and_kinds(drv):
    assert {"network", "interface", "nodedev"} <= type(drv).kinds
    assert isinstance(drv, NetworkDriver)
    assert isinstance(drv, InterfaceDriver)
    assert isinstance(drv, NodeDeviceDriver)


def test_default_network(drv):
    net = drv.network_lookup_by_name("default")
    assert (net.name, net.uuid) == ("default", DEFAULT_UUID)
    assert drv.network_lookup_by_uuid(DEFAULT_UUID) == net
    assert drv.network_get_xml_desc(net, 0) == DEFAULT_XML
    assert drv.network_get_bridge_name(net) == "virbr0"
    assert (drv.network_is_active(net), drv.network_is_persistent(net)) == (1, 1)
    assert drv.network_get_autostart(net) == 0
    assert drv.connect_list_networks(10) == ["default"]
    assert drv.connect_num_of_defined_networks() == 0
    nets, count = drv.connect_list_all_networks(1, 0)
    assert (nets, count) == ([net], 1)
    assert drv.connect_list_all_networks(0, 1) == ([], 0)  # INACTIVE


def test_network_errors(drv):
    net = drv.network_lookup_by_name("default")
    assert fails(drv.network_lookup_by_name, "x") == (
        ErrorCode.NO_NETWORK,
        ErrorDomain.TEST,
        "Network not found: no network with matching name 'x'",
    )
    assert fails(drv.network_lookup_by_uuid, bytes(16))[2].endswith(
        "uuid '00000000-0000-0000-0000-000000000000'"
    )
    assert fails(drv.network_get_xml_desc, net, 1)[2] == (
        "unsupported flags (0x1) in function testNetworkGetXMLDesc"
    )
    assert fails(drv.network_define_xml, "<network/>")[:2] == (ErrorCode.NO_NAME, 19)
    assert (
        "already exists with uuid"
        in fails(drv.network_create_xml, "<network><name>default</name></network>")[2]
    )
    code, domain, text = fails(
        drv.network_define_xml, "<network><name>x</name><forward/></network>"
    )
    assert text.endswith("nat forwarding requested, but no IP address provided for network 'x'")


def test_network_lifecycle_and_events(drv, seen):
    net = drv.network_define_xml(NET1)
    assert seen() == [("net1", 0)]
    assert drv.connect_list_defined_networks(5) == ["net1"]
    drv.network_create(net)
    assert "already running" in fails(drv.network_create, net)[2]
    assert "still running" in fails(drv.network_undefine, net)[2]
    drv.network_destroy(net)
    drv.network_destroy(net)  # the test driver does not check: STOPPED again
    drv.network_set_autostart(net, 1)
    assert drv.network_get_autostart(net) == 1
    assert drv.connect_list_all_networks(1, 16)[1] == 1  # AUTOSTART
    drv.network_undefine(net)
    assert seen() == [("net1", 2), ("net1", 3), ("net1", 3), ("net1", 1)]
    tr = drv.network_create_xml_flags("<network><name>tr</name></network>", 0)
    assert drv.network_is_persistent(tr) == 0
    assert fails(drv.network_get_bridge_name, tr)[2].endswith(
        "network 'tr' does not have a bridge name."
    )
    drv.network_destroy(tr)
    assert seen() == [("tr", 2), ("tr", 3)]
    assert fails(drv.network_lookup_by_name, "tr")[0] == ErrorCode.NO_NETWORK


def test_isolated_network_xml():
    ndef = parse_network(
        "<network><name>iso</name><uuid>11111111-2222-3333-4444-555555555555</uuid></network>"
    )
    assert ndef.format() == (
        "<network>\n  <name>iso</name>\n  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n"
        "  <bridge stp='on' delay='0'/>\n</network>\n"
    )


def test_network_update(drv):
    net = drv.network_lookup_by_name("default")
    host = "<host mac='52:54:00:00:00:01' name='vm1' ip='192.168.122.10'/>"
    drv.network_update(net, 3, 4, -1, host, 0)
    assert host in drv.network_get_xml_desc(net, 0)
    assert (
        "there is an existing dhcp host entry"
        in fails(drv.network_update, net, 3, 4, -1, host, 0)[2]
    )
    assert "no <ip> element found at index 3" in fails(drv.network_update, net, 3, 4, 3, host, 0)[2]
    drv.network_update(net, 2, 4, -1, "<host mac='52:54:00:00:00:01'/>", 0)
    assert "<host" not in drv.network_get_xml_desc(net, 0)
    assert fails(drv.network_update, net, 3, 1, -1, "<bridge/>", 0)[:2] == (
        ErrorCode.OPERATION_UNSUPPORTED,
        ErrorDomain.NETWORK,
    )
    # CONFIG on a running network goes to a definition the test driver never shows
    drv.network_update(net, 3, 4, -1, host, 2)
    assert "<host" not in drv.network_get_xml_desc(net, 0)
    n1 = drv.network_define_xml(NET1)
    assert fails(drv.network_update, n1, 3, 4, -1, host, 1)[2].endswith("network is not running")
    drv.network_update(n1, 4, 5, 0, "<range start='10.0.5.20' end='10.0.5.30'/>", 0)
    xml = drv.network_get_xml_desc(n1, 0)
    assert xml.index("10.0.5.20") < xml.index("10.0.5.2'")


def test_interfaces(drv):
    eth1 = drv.interface_lookup_by_name("eth1")
    assert (eth1.name, eth1.mac) == ("eth1", "aa:bb:cc:dd:ee:ff")
    assert drv.interface_lookup_by_mac_string("aa:bb:cc:dd:ee:ff").name == "eth1"
    assert drv.interface_get_xml_desc(eth1, 0).startswith(
        "<interface type='ethernet' name='eth1'>\n  <start mode='onboot'/>\n  <mtu size='1492'/>"
    )
    assert fails(drv.interface_lookup_by_name, "lo")[2] == (
        "Interface not found: no interface with matching name 'lo'"
    )
    assert fails(drv.interface_create, eth1, 0)[:2] == (ErrorCode.OPERATION_INVALID, 12)
    eth2 = drv.interface_define_xml(
        "<interface type='ethernet' name='eth2'><mac address='aa:bb:cc:dd:ee:01'/></interface>", 0
    )
    assert drv.connect_list_defined_interfaces(5) == ["eth2"]
    drv.interface_change_begin(0)
    assert "another transaction" in fails(drv.interface_change_begin, 0)[2]
    drv.interface_undefine(eth2)
    drv.interface_change_rollback(0)
    assert drv.connect_list_all_interfaces(1, 0)[1] == 2
    assert drv.connect_num_of_interfaces() == 0  # the rollback's clone is inactive
    assert "nothing to be committed" in fails(drv.interface_change_commit, 0)[2]


def test_node_devices(drv, seen):
    assert drv.node_list_devices(None, 10, 0) == [
        "computer",
        "scsi_host2",
        "scsi_host11",
        "scsi_host1",
    ]
    assert drv.node_list_devices("vports", 10, 0) == ["scsi_host2", "scsi_host1"]
    assert drv.node_num_of_devices("fc_host", 0) == 3
    assert drv.connect_list_all_node_devices(0, 1) == ([], 1)
    assert "0x80000000" in fails(drv.connect_list_all_node_devices, 1, 1 << 31)[2]
    assert drv.node_device_get_parent("computer") is None
    assert drv.node_device_get_parent("scsi_host11") == "scsi_host1"
    assert drv.node_device_list_caps("scsi_host1", 5) == ["scsi_host"]
    assert drv.node_device_num_of_caps("computer") == 1
    assert "<max_vports>0</max_vports>" in drv.node_device_get_xml_desc("scsi_host2", 0)
    dev = drv.node_device_create_xml(VHBA, 0)
    assert dev.name == "scsi_host12"
    xml = drv.node_device_get_xml_desc("scsi_host12", 0)
    assert "<wwnn>2000000011112222</wwnn>" in xml and "<host>11</host>" in xml
    drv.node_device_destroy("computer")  # no WWNs: "success", nothing happens
    drv.node_device_destroy("scsi_host12")
    assert seen() == [("scsi_host12", 0), ("scsi_host12", 1)]
    assert (
        "not capable of vport operations"
        in fails(drv.node_device_create_xml, VHBA.replace("scsi_host1<", "computer<"), 0)[2]
    )
    assert not hasattr(drv, "node_device_lookup_scsi_host_by_wwn")


def test_state_is_fresh_after_last_close(registry):
    drv = registry.open("test:///default")
    drv.network_destroy(Net("default", DEFAULT_UUID))
    registry.close(drv)
    again = registry.open("test:///default")
    assert again.network_is_active(Net("default", DEFAULT_UUID)) == 1
