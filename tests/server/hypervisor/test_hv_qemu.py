"""qemu:///session|system: lifecycle in QEMU's order, memory hotplug rules, device aliases."""

from __future__ import annotations

import uuid

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.events import DomainRef

GUEST_NS = "https://virtwire.dev/xmlns/guest/1.0"


def domain_xml(
    name: str = "hp1", *, slots: int = 4, numa: bool = True, unplug: str | None = None
) -> str:
    max_mem = f"<maxMemory slots='{slots}' unit='KiB'>4194304</maxMemory>" if slots else ""
    cpu = (
        "<cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>"
        if numa
        else ""
    )
    meta = (
        f"<metadata><vw:guest xmlns:vw='{GUEST_NS}' unplug='{unplug}'/></metadata>"
        if unplug
        else ""
    )
    return (
        f"<domain type='qemu'><name>{name}</name>{meta}{max_mem}"
        "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
        f"{cpu}<features><acpi/></features><devices>"
        "<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"
        "<custom-thing answer='42'>kept</custom-thing>"
        "</devices></domain>"
    )


def dimm(size_kib: int = 524288, node: int = 0, slot: int | None = None) -> str:
    addr = f"<address type='dimm' slot='{slot}'/>" if slot is not None else ""
    return (
        f"<memory model='dimm'><target><size unit='KiB'>{size_kib}</size><node>{node}</node>"
        f"</target>{addr}</memory>"
    )


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///session")


@pytest.fixture
def running(drv):
    dom = drv.domain_define_xml_flags(domain_xml())
    return drv.domain_create_with_flags(dom)


def test_facts(drv):
    assert drv.type_name == "QEMU" and drv.connect_get_version() == 7002000
    assert drv.node_get_info().model == "x86_64"
    assert drv.connect_list_all_domains(3) == []


def test_lifecycle_order(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_define_xml_flags(domain_xml())
    assert dom.id == -1
    drv.domain_define_xml_flags(
        domain_xml().replace("</name>", f"</name><uuid>{uuid.UUID(bytes=dom.uuid)}</uuid>")
    )
    dom = drv.domain_create_with_flags(dom)
    assert dom.id == 1
    drv.domain_suspend(dom)
    drv.domain_resume(dom)
    drv.domain_reboot(dom)
    drv.domain_shutdown_flags(dom)
    dom = drv.domain_create_with_flags(dom)
    assert dom.id == 2
    drv.domain_destroy_flags(dom)
    drv.domain_undefine_flags(dom)
    assert rec.names() == [
        ("lifecycle", 0, 0),  # DEFINED ADDED
        ("lifecycle", 0, 1),  # DEFINED UPDATED
        ("lifecycle", 4, 0),  # RESUMED UNPAUSED (QEMU starts paused, then continues)
        ("lifecycle", 2, 0),  # STARTED BOOTED
        ("lifecycle", 3, 0),
        ("lifecycle", 4, 0),
        ("RebootEvent",),
        ("lifecycle", 6, 1),  # SHUTDOWN GUEST
        ("lifecycle", 5, 0),  # STOPPED SHUTDOWN
        ("lifecycle", 4, 0),
        ("lifecycle", 2, 0),
        ("lifecycle", 5, 1),  # STOPPED DESTROYED
        ("lifecycle", 1, 0),  # UNDEFINED REMOVED
    ]
    assert drv.connect_list_all_domains(0) == []


def test_start_paused(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_create_with_flags(drv.domain_define_xml_flags(domain_xml()), 1)
    assert drv.domain_get_state(dom) == (3, 1)
    assert rec.names()[1:] == [("lifecycle", 2, 0), ("lifecycle", 3, 0)]


def test_qemu_errors(drv, running):
    with pytest.raises(LibvirtError) as ei:
        drv.domain_lookup_by_name("nope")
    assert err(ei) == (42, 10, "Domain not found: no domain with matching name 'nope'")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_lookup_by_id(77)
    assert err(ei) == (42, 10, "Domain not found: no domain with matching id 77")
    ghost = DomainRef("ghost", b"\x03" * 16, -1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_destroy_flags(ghost)
    assert err(ei) == (
        42,
        10,
        "Domain not found: no domain with matching uuid '03030303-0303-0303-0303-030303030303' (ghost)",
    )
    with pytest.raises(LibvirtError) as ei:
        drv.domain_create_with_flags(running)
    assert err(ei) == (55, 10, "Requested operation is not valid: domain is already running")
    drv.domain_destroy_flags(running)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_destroy_flags(running)
    assert err(ei) == (55, 20, "Requested operation is not valid: domain is not running")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(running, dimm(), 1)
    assert err(ei) == (55, 20, "Requested operation is not valid: domain is not running")


def test_undefine_running_then_destroy(drv, running, tmp_path):
    drv.domain_undefine_flags(running)
    assert drv.domain_is_active(running) and not drv.domain_is_persistent(running)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_undefine_flags(running)
    assert err(ei)[:2] == (55, 10)
    drv.domain_destroy_flags(running)
    assert drv.connect_list_all_domains(0) == []


def test_dimm_hotplug_roundtrip(drv, running, recorder_for):
    rec = recorder_for(drv)
    drv.domain_attach_device_flags(running, dimm(524287), 1)  # aligned up to 512 MiB
    info = drv.domain_get_info(running)
    assert (info.max_mem, info.memory) == (1572864, 1572864)
    xml = drv.domain_get_xml_desc(running)
    assert "<alias name='dimm0'/>" in xml
    assert "<address type='dimm' slot='0' base='0x100000000'/>" in xml
    assert "<size unit='KiB'>524288</size>" in xml
    assert f"id='{running.id}'" in xml
    # the persistent config is untouched by a LIVE-only attach
    assert "dimm" not in drv.domain_get_xml_desc(running, 2)
    drv.domain_detach_device_flags(running, dimm(524288), 1)
    assert rec.names() == [("DeviceAddedEvent", "memdimm0"), ("DeviceRemovedEvent", "dimm0")]
    info = drv.domain_get_info(running)
    assert (info.max_mem, info.memory) == (1048576, 1048576)
    assert "dimm" not in drv.domain_get_xml_desc(running)


def test_slot_hole_reuse(drv, running, recorder_for):
    rec = recorder_for(drv)
    for _ in range(3):
        drv.domain_attach_device_flags(running, dimm(262144), 1)
    drv.domain_detach_device_alias(running, "dimm1", 1)
    drv.domain_attach_device_flags(running, dimm(262144), 1)
    assert rec.names() == [
        ("DeviceAddedEvent", "memdimm0"),
        ("DeviceAddedEvent", "memdimm1"),
        ("DeviceAddedEvent", "memdimm2"),
        ("DeviceRemovedEvent", "dimm1"),
        ("DeviceAddedEvent", "memdimm1"),
    ]
    xml = drv.domain_get_xml_desc(running)
    assert "slot='1' base='0x110000000'" in xml  # the hole in guest-physical space too


def test_explicit_slot_and_slot_errors(drv, running):
    drv.domain_attach_device_flags(running, dimm(262144, slot=2), 1)
    assert "<alias name='dimm2'/>" in drv.domain_get_xml_desc(running)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(running, dimm(262144, slot=2), 1)
    assert err(ei) == (
        67,
        10,
        "unsupported configuration: memory device slot '2' is already being used by another memory device",
    )
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(running, dimm(262144, slot=9), 1)
    assert err(ei) == (
        67,
        10,
        "unsupported configuration: memory device slot '9' exceeds slots count '4'",
    )


def test_slot_count_and_size_limits(drv):
    dom = drv.domain_create_with_flags(drv.domain_define_xml_flags(domain_xml(slots=2)))
    drv.domain_attach_device_flags(dom, dimm(262144), 1)
    drv.domain_attach_device_flags(dom, dimm(262144), 1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(dom, dimm(262144), 1)
    assert err(ei) == (
        67,
        10,
        "unsupported configuration: memory device count '3' exceeds slots count '2'",
    )
    big = drv.domain_create_with_flags(drv.domain_define_xml_flags(domain_xml("big")))
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(big, dimm(4194304), 1)
    assert err(ei) == (
        67,
        10,
        "unsupported configuration: memory device total size exceeds hotplug space",
    )


def test_requirements(drv):
    nomax = drv.domain_create_with_flags(drv.domain_define_xml_flags(domain_xml("nomax", slots=0)))
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(nomax, dimm(), 1)
    assert err(ei) == (
        67,
        10,
        "unsupported configuration: cannot use/hotplug a memory device when domain 'maxMemory' is not defined",
    )
    nonuma = drv.domain_create_with_flags(
        drv.domain_define_xml_flags(domain_xml("nonuma", numa=False))
    )
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(nonuma, dimm(), 1)
    assert err(ei) == (
        67,
        10,
        "unsupported configuration: At least one numa node has to be configured when enabling memory hotplug",
    )
    ok = drv.domain_create_with_flags(drv.domain_define_xml_flags(domain_xml("ok")))
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(ok, dimm(node=3), 1)
    assert err(ei)[:2] == (67, 20)


def test_detach_missing_memory(drv, running):
    with pytest.raises(LibvirtError) as ei:
        drv.domain_detach_device_flags(running, dimm(), 1)
    assert err(ei) == (
        99,
        10,
        "device not found: model 'dimm' memory device not present in the domain configuration",
    )
    with pytest.raises(LibvirtError) as ei:
        drv.domain_detach_device_alias(running, "dimm7", 1)
    assert err(ei) == (99, 20, "device not found: no device found with alias dimm7")


def test_guest_refuses_unplug(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_create_with_flags(
        drv.domain_define_xml_flags(domain_xml("stubborn", unplug="refuse"))
    )
    rec.take()
    drv.domain_attach_device_flags(dom, dimm(), 1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_detach_device_flags(dom, dimm(), 1)
    assert err(ei) == (9, 10, "operation failed: unplug of device was rejected by the guest")
    drv.domain_detach_device_alias(dom, "dimm0", 1)  # async API: returns, the event tells
    assert rec.names() == [
        ("DeviceAddedEvent", "memdimm0"),
        ("DeviceRemovalFailedEvent", "dimm0"),
        ("DeviceRemovalFailedEvent", "dimm0"),
    ]
    assert "dimm0" in drv.domain_get_xml_desc(dom)


def test_guest_ignores_unplug(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_create_with_flags(
        drv.domain_define_xml_flags(domain_xml("deaf", unplug="ignore"))
    )
    rec.take()
    drv.domain_attach_device_flags(dom, dimm(), 1)
    drv.domain_detach_device_flags(dom, dimm(), 1)  # libvirt's wait times out: success, no event
    assert rec.names() == [("DeviceAddedEvent", "memdimm0")]
    assert "dimm0" in drv.domain_get_xml_desc(dom)


def test_config_attach_and_detach(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_define_xml_flags(domain_xml())
    rec.take()
    drv.domain_attach_device_flags(dom, dimm(), 0)  # CURRENT on an inactive domain = CONFIG
    assert rec.names() == [("lifecycle", 0, 1)]
    assert "<memory model='dimm'>" in drv.domain_get_xml_desc(dom)
    info = drv.domain_get_info(dom)
    assert (info.max_mem, info.memory) == (1572864, 1572864)
    dom = drv.domain_create_with_flags(dom)
    assert drv.domain_get_info(dom).memory == 1572864
    assert "<alias name='dimm0'/>" in drv.domain_get_xml_desc(dom)
    drv.domain_detach_device_flags(dom, dimm(), 3)  # LIVE|CONFIG
    assert rec.names()[-1] == ("DeviceRemovedEvent", "dimm0")
    assert "dimm" not in drv.domain_get_xml_desc(dom, 2)


def test_disk_and_interface_hotplug(drv, running, recorder_for):
    rec = recorder_for(drv)
    assert "<alias name='virtio-disk0'/>" in drv.domain_get_xml_desc(running)
    drv.domain_attach_device_flags(
        running,
        "<disk type='file' device='disk'><source file='/b.img'/><target dev='vdb' bus='virtio'/></disk>",
        1,
    )
    drv.domain_attach_device_flags(
        running, "<interface type='user'><model type='virtio'/></interface>", 1
    )
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(
            running, "<disk type='file' device='disk'><target dev='vdb' bus='virtio'/></disk>", 1
        )
    assert err(ei)[:2] == (9, 10)
    drv.domain_detach_device_flags(
        running, "<disk type='file' device='disk'><target dev='vdb'/></disk>", 1
    )
    assert rec.names() == [
        ("DeviceAddedEvent", "virtio-disk1"),
        ("DeviceAddedEvent", "net0"),
        ("DeviceRemovedEvent", "virtio-disk1"),
    ]


def test_set_memory_balloon(drv, running, recorder_for):
    rec = recorder_for(drv)
    drv.domain_set_memory_flags(running, 524288, 1)
    assert drv.domain_get_info(running).memory == 524288
    assert rec.names() == [("BalloonChangeEvent", 524288)]
    with pytest.raises(LibvirtError) as ei:
        drv.domain_set_memory_flags(running, 9999999, 1)
    assert err(ei) == (8, 10, "invalid argument: cannot set memory higher than max memory")


def test_unknown_elements_round_trip(drv, running):
    xml = drv.domain_get_xml_desc(running, 2)
    assert "<custom-thing answer='42'>kept</custom-thing>" in xml
    assert "unplug" not in xml or GUEST_NS in xml


def test_create_xml_transient(drv, recorder_for):
    rec = recorder_for(drv)
    dom = drv.domain_create_xml(domain_xml("tr"))
    assert dom.id == 1 and not drv.domain_is_persistent(dom)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_create_xml(domain_xml("tr"))
    assert err(ei)[:2] == (9, 20)
    drv.domain_destroy_flags(dom)
    assert drv.connect_list_all_domains(0) == []
    assert rec.names() == [("lifecycle", 4, 0), ("lifecycle", 2, 0), ("lifecycle", 5, 1)]


def test_docs_example_works(drv, recorder_for):
    """The XML examples in docs/hosts.md define and behave as the page says."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[3] / "docs" / "hosts.md"
    domain, device = re.findall(r"```xml\n(.*?)```", page.read_text(), re.S)
    rec = recorder_for(drv)
    dom = drv.domain_create_with_flags(drv.domain_define_xml_flags(domain))
    drv.domain_attach_device_flags(dom, device, 1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_detach_device_flags(dom, device, 1)
    assert ei.value.message == "operation failed: unplug of device was rejected by the guest"
    assert rec.names()[-2:] == [
        ("DeviceAddedEvent", "memdimm0"),
        ("DeviceRemovalFailedEvent", "dimm0"),
    ]


def test_unknown_flags_rejected_before_lookup(drv):
    ghost = DomainRef("ghost", b"\x04" * 16, -1)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags(domain_xml(), 2)
    assert err(ei) == (
        8,
        10,
        "unsupported flags (0x2) in function qemuDomainDefineXMLFlags",
    )
    with pytest.raises(LibvirtError) as ei:
        drv.domain_destroy_flags(ghost, 0x10)
    assert err(ei)[:2] == (8, 10)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_attach_device_flags(ghost, dimm(), 4)
    assert err(ei)[:2] == (42, 10)  # the domain is looked up first for device APIs


def test_virtio_mem_alias(drv, running, recorder_for):
    rec = recorder_for(drv)
    vmem = (
        "<memory model='virtio-mem'><target><size unit='KiB'>1048576</size><node>0</node>"
        "<block unit='KiB'>2048</block><requested unit='KiB'>0</requested></target></memory>"
    )
    drv.domain_attach_device_flags(running, vmem, 1)
    drv.domain_attach_device_flags(running, vmem, 1)
    assert rec.names() == [
        ("DeviceAddedEvent", "memvirtiomem0"),
        ("DeviceAddedEvent", "memvirtiomem1"),
    ]


def test_unwritable_state_fails_with_system_error_and_keeps_memory_state(drv, monkeypatch):
    """issue 14 #5: setAutostart and undefine that cannot store their change fail with
    SYSTEM_ERROR (38) and leave the in-memory state as it was."""
    from virtwire.server.hypervisor import persistence

    dom = drv.domain_define_xml_flags(domain_xml())
    blocker = drv.store.directory / "autostart"
    blocker.write_text("")  # a file where the autostart directory goes: mkdir fails
    with pytest.raises(LibvirtError) as ei:
        drv.domain_set_autostart(dom, 1)
    code, domain, message = err(ei)
    assert (code, domain) == (38, 10)  # qemuDomainSetAutostart: VIR_FROM_QEMU
    assert message.startswith(f"Failed to create symlink '{blocker / 'hp1.xml'}': ")
    assert drv.domain_get_autostart(dom) == 0

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(persistence, "remove", refuse)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_undefine_flags(dom)
    code, domain, message = err(ei)
    assert (code, domain) == (38, 20)  # virDomainDeleteConfig: VIR_FROM_DOMAIN
    assert message == f"cannot remove config {drv.store.path_for('hp1')}: Permission denied"
    assert drv.domain_is_persistent(dom)
    assert [d.name for d in drv.connect_list_all_domains(0)] == ["hp1"]


def test_state_dir_skips_links_and_non_utf8_files(tmp_path, caplog):
    """issue 14 #5: a symlink is never followed and a non-UTF-8 file does not stop the
    store from loading the good definitions; both are skipped and logged."""
    from virtwire.server.hypervisor.persistence import DomainStore

    store = DomainStore(tmp_path / "st")
    store.save("good", domain_xml("good"))
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:first line of the target\n")
    (store.directory / "link.xml").symlink_to(secret)
    (store.directory / "bad.xml").write_bytes(b"<domain>\xff\xfe</domain>")
    with caplog.at_level("WARNING", logger="virtwire.server"):
        loaded = store.load_all()
    assert [p.name for p, _ in loaded] == ["good.xml"]
    assert "link.xml: not a regular file" in caplog.text
    assert "bad.xml: not UTF-8 (byte 8)" in caplog.text
    assert "first line" not in caplog.text
