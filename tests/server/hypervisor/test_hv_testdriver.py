"""test:///default: libvirt's test driver semantics (errors, ids, events, devices)."""

from __future__ import annotations

import uuid

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.events import DomainRef

TEST_UUID = uuid.UUID("6695eb01-f6a4-8304-79aa-97f2502e193f").bytes
N1 = "<domain type='test'><name>n1</name><memory>1048576</memory><os><type>hvm</type></os></domain>"


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


@pytest.fixture
def drv(registry):
    return registry.open("test:///default")


def test_default_domain(drv):
    dom = drv.domain_lookup_by_name("test")
    assert (dom.name, dom.uuid, dom.id) == ("test", TEST_UUID, 1)
    info = drv.domain_get_info(dom)
    assert (info.state, info.max_mem, info.memory, info.nr_virt_cpu) == (1, 8388608, 2097152, 2)
    assert drv.domain_get_state(dom) == (1, 0)
    assert drv.domain_get_os_type(dom) == "linux"
    assert drv.domain_is_persistent(dom) and drv.domain_is_active(dom)
    assert not drv.domain_get_autostart(dom) and not drv.domain_has_managed_save_image(dom)
    assert drv.domain_get_security_label(dom) == ("libvirt-test", 1)
    assert drv.domain_get_messages(dom) == [] and drv.domain_snapshot_num(dom) == 0
    assert drv.domain_lookup_by_id(1) == dom and drv.domain_lookup_by_uuid(TEST_UUID) == dom
    assert drv.connect_list_all_domains(3) == [dom]
    assert drv.connect_num_of_domains() == 1 and drv.connect_list_domains(10) == [1]
    assert drv.connect_num_of_defined_domains() == 0


def test_connection_facts(drv):
    assert drv.type_name == "TEST" and drv.connect_get_version() == 2
    info = drv.node_get_info()
    assert tuple(info) == ("i686", 3145728, 16, 1400, 2, 2, 2, 2)
    assert drv.node_get_security_model() == ("testSecurity", "")
    assert "<capabilities>" in drv.connect_get_capabilities()
    assert drv.connect_get_hostname()


def test_default_xml_matches_libvirt(drv):
    xml = drv.domain_get_xml_desc(drv.domain_lookup_by_name("test"))
    assert xml.startswith("<domain type='test' id='1'>\n  <name>test</name>\n")
    assert "<target dev='testnet0'/>" in xml
    assert "<currentMemory unit='KiB'>2097152</currentMemory>" in xml
    inactive = drv.domain_get_xml_desc(drv.domain_lookup_by_name("test"), 2)
    assert inactive.startswith("<domain type='test'>\n")


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.domain_lookup_by_name("nope"),
        lambda d: d.domain_lookup_by_id(99),
        lambda d: d.domain_lookup_by_uuid(b"\x01" * 16),
    ],
)
def test_lookup_miss(drv, call):
    with pytest.raises(LibvirtError) as ei:
        call(drv)
    assert err(ei) == (42, 12, "Domain not found")
    assert ei.value.str2 is None


def test_stale_ref(drv):
    ghost = DomainRef("ghost", b"\x02" * 16, -1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_get_info(ghost)
    assert err(ei) == (
        42,
        12,
        "Domain not found: no domain with matching uuid '02020202-0202-0202-0202-020202020202' (ghost)",
    )


def test_lifecycle_events_and_ids(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_lookup_by_name("test")
    drv.domain_suspend(dom)
    drv.domain_resume(dom)
    drv.domain_destroy_flags(dom)
    dom = drv.domain_create_with_flags(dom)
    assert dom.id == 2
    n1 = drv.domain_define_xml_flags(N1)
    drv.domain_define_xml_flags(
        N1.replace("<name>n1</name>", f"<name>n1</name><uuid>{uuid.UUID(bytes=n1.uuid)}</uuid>")
    )
    n1 = drv.domain_create_with_flags(n1)
    assert n1.id == 3
    drv.domain_shutdown_flags(n1)
    drv.domain_reboot(dom)
    drv.domain_undefine_flags(n1)
    assert rec.names() == [
        ("lifecycle", 3, 0),
        ("lifecycle", 4, 0),
        ("lifecycle", 5, 1),
        ("lifecycle", 2, 0),
        ("lifecycle", 0, 0),
        ("lifecycle", 0, 1),
        ("lifecycle", 2, 0),
        ("lifecycle", 5, 0),
        ("lifecycle", 1, 0),
    ]


def test_start_flags_refused(drv):
    dom = drv.domain_lookup_by_name("test")
    drv.domain_destroy_flags(dom)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_create_with_flags(dom, 1)
    assert err(ei) == (
        8,
        12,
        "unsupported flags (0x1) in function testDomainCreateWithFlags",
    )


def test_destroy_event_has_id_minus_one(drv, recorder_for):
    rec = recorder_for(drv)
    drv.domain_destroy_flags(drv.domain_lookup_by_name("test"))
    (event,) = rec.take()
    assert event.dom.id == -1 and event.dom.name == "test"


def test_state_errors(drv):
    dom = drv.domain_lookup_by_name("test")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_create_with_flags(dom)
    assert err(ei) == (1, 12, "internal error: Domain 'test' is already running")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_resume(dom)
    assert err(ei) == (1, 12, "internal error: domain 'test' not paused")
    drv.domain_destroy_flags(dom)
    for call in (drv.domain_destroy_flags, drv.domain_reboot):
        with pytest.raises(LibvirtError) as ei:
            call(dom)
        assert err(ei) == (55, 20, "Requested operation is not valid: domain is not running")
    for call in (drv.domain_suspend, drv.domain_shutdown_flags):
        with pytest.raises(LibvirtError) as ei:
            call(dom)
        assert err(ei) == (1, 12, "internal error: domain 'test' not running")


def test_set_memory(drv):
    dom = drv.domain_lookup_by_name("test")
    drv.domain_set_memory_flags(dom, 1024, 1)
    assert drv.domain_get_info(dom).memory == 1024
    with pytest.raises(LibvirtError) as ei:
        drv.domain_set_memory_flags(dom, 99999999, 1)
    assert err(ei) == (8, 12, "invalid argument: cannot set memory higher than max memory")
    drv.domain_destroy_flags(dom)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_set_memory_flags(dom, 1024, 1)
    assert err(ei)[:2] == (55, 20)


def test_define_clashes(drv):
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags(N1.replace("n1", "test"))
    assert err(ei) == (
        9,
        20,
        "operation failed: domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f",
    )


def test_transient_domain_vanishes_on_destroy(drv):
    t1 = drv.domain_create_xml(N1.replace("n1", "t1"))
    assert t1.id == 2 and not drv.domain_is_persistent(t1)
    drv.domain_destroy_flags(t1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_get_info(t1)
    assert err(ei)[:2] == (42, 12)


def test_undefine_running_makes_transient(drv, recorder_for):
    dom = drv.domain_lookup_by_name("test")
    drv.domain_undefine_flags(dom)
    assert drv.domain_is_active(dom) and not drv.domain_is_persistent(dom)
    drv.domain_destroy_flags(dom)
    assert drv.connect_list_all_domains(0) == []


def test_no_device_hotplug_as_in_libvirt_9():
    """libvirt 9.0's test driver has no attach/detach member at all (virsh attach-device,
    attach-disk, detach-device-alias: NO_SUPPORT through libvirtd, compared in the virsh
    tour); an absent member is answered NO_SUPPORT by the daemon."""
    from virtwire.server.hypervisor.testdriver import TestDriver

    for member in (
        "domain_attach_device",
        "domain_attach_device_flags",
        "domain_detach_device",
        "domain_detach_device_flags",
        "domain_detach_device_alias",
        "domain_update_device_flags",
    ):
        assert not hasattr(TestDriver, member), member


def test_xml_errors(drv):
    cases = {
        "<domain><name>broken": 35,
        "": 35,
        "not xml": 35,
        "<domain type='test'><name>b</name></domain>": 27,
    }
    for xml, code in cases.items():
        with pytest.raises(LibvirtError) as ei:
            drv.domain_define_xml_flags(xml)
        assert (ei.value.code, ei.value.domain) == (code, 20), xml
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags("<domain type='test'><name>b</name></domain>")
    assert ei.value.message == "XML error: an os <type> must be specified"
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags("<domain><name>broken")
    assert ei.value.message.startswith("(domain_definition):1: ")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags("<domain type='test'><os><type>hvm</type></os></domain>")
    assert err(ei) == (21, 20, "missing name information")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags(
            "<domain type='bogus'><name>b</name><os><type>hvm</type></os></domain>"
        )
    assert err(ei) == (67, 20, "unsupported configuration: invalid domain type bogus")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags("<domain><name>b</name><os><type>hvm</type></os></domain>")
    assert err(ei) == (1, 20, "internal error: missing domain type attribute")


def test_list_filters(drv):
    n1 = drv.domain_define_xml_flags(N1)
    test = drv.domain_lookup_by_name("test")
    assert drv.connect_list_all_domains(1) == [test]
    assert drv.connect_list_all_domains(2) == [n1]
    assert drv.connect_list_all_domains(64) == [n1]
    assert drv.connect_list_all_domains(16) == [test]
    assert drv.connect_list_defined_domains(10) == ["n1"]
    assert drv.connect_list_defined_domains(0) == []


def test_sysinfo(drv):
    assert drv.connect_get_sysinfo(0).startswith("<sysinfo type='smbios'>\n  <bios>\n")
    with pytest.raises(LibvirtError) as ei:
        drv.connect_get_sysinfo(1)
    assert err(ei) == (8, 12, "unsupported flags (0x1) in function testConnectGetSysinfo")


def _with_interfaces(count: int, named: int = 0) -> str:
    nics = "".join(
        f"<interface type='user'><mac address='52:54:01:00:{k >> 8:02x}:{k & 255:02x}'/>"
        + (f"<target dev='testnet{k}'/>" if k < named else "")
        + "</interface>"
        for k in range(count)
    )
    return (
        "<domain type='test'><name>nics</name><memory>1048576</memory>"
        f"<os><type>hvm</type></os><devices>{nics}</devices></domain>"
    )


def test_interface_names_up_to_libvirts_limit(drv):
    """testDomainGenerateIfname: testnet0..testnet1023, then INTERNAL_ERROR (as libvirtd)."""
    xml = drv.domain_get_xml_desc(drv.domain_define_xml(_with_interfaces(1024, named=3)))
    assert xml.count("<target dev='testnet") == 1024 and "testnet1023'" in xml
    with pytest.raises(LibvirtError) as info:
        drv.domain_define_xml(_with_interfaces(1025))
    assert err(info) == (1, 12, "internal error: Exceeded max iface limit 1024")
