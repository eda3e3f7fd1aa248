"""QEMU hosts: node devices (a fixed host tree), nwfilters and nwfilter bindings."""

from __future__ import annotations

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNwfilterBinding as Binding
from virtwire.server.hypervisor import HostRegistry
from virtwire.server.hypervisor.nwfilter_defaults import DEFAULT_FILTERS
from virtwire.server.hypervisor.nwfilters import format_filter, parse_filter

from tests.libvirt_source import libvirt_src_tree

LIST_ACTIVE = 1 << 31
GUEST = (
    "<domain type='kvm'><name>web</name><memory>524288</memory><os><type>hvm</type></os>"
    "<devices><interface type='network'><mac address='52:54:00:12:34:56'/>"
    "<source network='default'/><target dev='vnet7'/>"
    "<filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.2'/></filterref>"
    "</interface></devices></domain>"
)
MY_FILTER = (
    "<filter name='my-filter' chain='ipv4'><filterref filter='allow-dhcp'/>"
    "<rule action='drop' direction='in'><ip protocol='tcp' dstportstart='23'/></rule></filter>"
)
BINDING = (
    "<filterbinding><owner><name>ext</name><uuid>d54df46f-1ab5-4a22-8618-4560ef5fac2c</uuid>"
    "</owner><portdev name='tap9'/><mac address='52:54:00:00:00:09'/>"
    "<filterref filter='my-filter'/></filterbinding>"
)


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///system")


def test_node_device_tree(drv):
    devs, count = drv.connect_list_all_node_devices(1, LIST_ACTIVE)
    names = [d.name for d in devs]
    assert count == 13 and names[0] == "computer"  # with the GPU (pci_0000_00_02_0)
    parents = {n: drv.node_device_get_parent(n) for n in names}
    assert all(parents[n] in names for n in names[1:]) and parents["computer"] is None
    (net,) = drv.connect_list_all_node_devices(1, 1 << 4)[0]  # CAP_NET
    assert parents[net.name] == "pci_0000_00_1f_6"
    xml = drv.node_device_get_xml_desc(net.name, 0)
    assert "<interface>eno1</interface>" in xml and "<parent>pci_0000_00_1f_6</parent>" in xml
    assert drv.node_num_of_devices("storage", 0) == 1
    assert drv.node_device_list_caps("usb_usb1", 8) == ["usb_device"]
    assert drv.node_device_is_active("scsi_host0") == 1
    assert drv.connect_list_all_node_devices(1, 1 << 30) == ([], 0)  # nothing inactive
    with pytest.raises(LibvirtError) as exc:
        drv.node_device_lookup_by_name("pci_nope")
    assert (exc.value.code, exc.value.domain) == (ErrorCode.NO_NODE_DEVICE, ErrorDomain.NODEDEV)
    with pytest.raises(LibvirtError) as exc:
        drv.node_device_destroy("usb_usb1")
    assert exc.value.message == "unsupported configuration: Unsupported device type"


def test_default_filters(drv):
    names = [f.name for f in drv.connect_list_all_nw_filters(1, 0)[0]]
    assert names == sorted(DEFAULT_FILTERS) and "clean-traffic" in names
    xml = drv.nwfilter_get_xml_desc(drv.nwfilter_lookup_by_name("no-mac-spoofing"), 0)
    lines = xml.splitlines()
    assert lines[0] == "<filter name='no-mac-spoofing' chain='mac' priority='-800'>"
    assert lines[1].startswith("  <uuid>")
    assert lines[2:] == [
        "  <rule action='return' direction='out' priority='500'>",
        "    <mac srcmacaddr='$MAC'/>",
        "  </rule>",
        "  <rule action='drop' direction='out' priority='500'>",
        "    <mac/>",
        "  </rule>",
        "</filter>",
    ]
    with pytest.raises(LibvirtError) as exc:
        drv.nwfilter_lookup_by_name("nope")
    assert (exc.value.code, exc.value.domain, exc.value.message) == (
        ErrorCode.NO_NWFILTER,
        ErrorDomain.NWFILTER,
        "Network filter not found: no nwfilter with matching name 'nope'",
    )


@pytest.mark.interop
def test_default_filters_are_libvirts():
    shipped = {}
    for path in sorted((libvirt_src_tree() / "src" / "nwfilter" / "xml").glob("*.xml")):
        fdef = parse_filter(path.read_text())
        shipped[fdef.name] = fdef
    assert set(shipped) == set(DEFAULT_FILTERS)
    for name, text in DEFAULT_FILTERS.items():
        ours = parse_filter(text)
        ours.uuid = shipped[name].uuid
        assert format_filter(ours) == format_filter(shipped[name])


def test_define_undefine_bindings_and_restart(tmp_path, scheduler):
    state = tmp_path / "state"
    drv = HostRegistry(state, scheduler).open("qemu:///system")
    handle = drv.nwfilter_define_xml_flags(MY_FILTER, 0)
    assert drv.nwfilter_lookup_by_uuid(handle.uuid).name == "my-filter"
    xml = drv.nwfilter_get_xml_desc(handle, 0)
    assert "<rule action='drop' direction='in' priority='500'>" in xml
    assert "<filter name='my-filter' chain='ipv4' priority='-700'>" in xml
    with pytest.raises(LibvirtError) as exc:
        drv.nwfilter_define_xml_flags(MY_FILTER.replace("allow-dhcp", "my-filter"), 0)
    assert exc.value.message == "operation failed: filter would introduce a loop"
    with pytest.raises(LibvirtError) as exc:
        drv.nwfilter_define_xml_flags("<filter name='x' chain='bogus'/>", 0)
    assert "Invalid chain name 'bogus'" in exc.value.message
    dom = drv.domain_create_with_flags(drv.domain_define_xml_flags(GUEST))
    drv.nwfilter_binding_create_xml(BINDING, 0)
    bindings = [(b.portdev, b.filtername) for b in drv.connect_list_all_nw_filter_bindings(1, 0)[0]]
    assert bindings == [("tap9", "my-filter"), ("vnet7", "clean-traffic")]
    bxml = drv.nwfilter_binding_get_xml_desc(Binding("vnet7", "clean-traffic"), 0)
    assert "<portdev name='vnet7'/>" in bxml and "<parameter name='IP' value='10.0.0.2'/>" in bxml
    for name in ("no-mac-spoofing", "allow-dhcp"):  # used through clean-traffic / my-filter
        with pytest.raises(LibvirtError) as exc:
            drv.nwfilter_undefine(drv.nwfilter_lookup_by_name(name))
        assert exc.value.message == "Requested operation is not valid: nwfilter is in use"
    with pytest.raises(LibvirtError) as exc:
        drv.nwfilter_binding_create_xml(BINDING, 0)
    assert "already exists" in exc.value.message
    drv.domain_destroy(dom)  # the guest's binding goes with it
    assert [b.portdev for b in drv.connect_list_all_nw_filter_bindings(1, 0)[0]] == ["tap9"]
    drv.nwfilter_undefine(drv.nwfilter_lookup_by_name("no-mac-spoofing"))
    again = HostRegistry(state, scheduler).open("qemu:///system")
    assert again.nwfilter_lookup_by_name("my-filter").uuid == handle.uuid
    assert [b.portdev for b in again.connect_list_all_nw_filter_bindings(1, 0)[0]] == ["tap9"]
    with pytest.raises(LibvirtError):
        again.nwfilter_lookup_by_name("no-mac-spoofing")  # undefined stays undefined
    again.nwfilter_binding_delete(Binding("tap9", "my-filter"))
    with pytest.raises(LibvirtError) as exc:
        again.nwfilter_binding_lookup_by_port_dev("tap9")
    assert exc.value.code == ErrorCode.NO_NWFILTER_BINDING
