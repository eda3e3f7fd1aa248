"""Mediated devices on qemu:///system: libvirt 9.0's nodedev driver over mdevctl (define,
start, destroy, undefine, autostart, createXML), its errors and its event order, and the
definitions kept across a restart."""

from __future__ import annotations

import json

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.qemudriver import QemuDriver

GPU = "pci_0000_00_02_0"
UUID = "6b2c0b5e-1f4a-4d67-9c3e-2a1b0c9d8e7f"
NAME = "mdev_6b2c0b5e_1f4a_4d67_9c3e_2a1b0c9d8e7f_0000_00_02_0"
ALL, ACTIVE, INACTIVE = 0, 1 << 31, 1 << 30
CAP_MDEV, CAP_MDEV_TYPES = 1 << 14, 1 << 13


def mdev_xml(uuid: str | None = UUID, parent: str | None = GPU, type_id="i915-GVTg_V5_4") -> str:
    parent_el = f"<parent>{parent}</parent>" if parent else ""
    uuid_el = f"<uuid>{uuid}</uuid>" if uuid else ""
    return (
        f"<device>{parent_el}<capability type='mdev'><type id='{type_id}'/>{uuid_el}"
        "<attr name='x' value='1'/></capability></device>"
    )


def recorded(driver) -> list:
    driver.queued = []
    driver.events.queue = lambda e, remote_id=-1: driver.queued.append(e)
    return driver.queued


def short(events: list) -> list[tuple]:
    return [(type(e).__name__, e.dev.name, getattr(e, "event", None)) for e in events]


def fails(fn, *args) -> LibvirtError:
    with pytest.raises(LibvirtError) as info:
        fn(*args)
    return info.value


@pytest.fixture
def drv(tmp_path):
    return QemuDriver("qemu:///system", lambda fn: None, tmp_path)


def names(drv, flags: int) -> list[str]:
    return [d.name for d in drv.connect_list_all_node_devices(1, flags)[0]]


def test_the_gpu_is_the_only_mdev_parent(drv):
    assert names(drv, CAP_MDEV_TYPES) == [GPU]
    xml = drv.node_device_get_xml_desc(GPU, 0)
    assert "<capability type='mdev_types'>\n      <type id='i915-GVTg_V5_4'>" in xml
    assert xml.index("mdev_types") < xml.index("<iommuGroup")
    assert "<availableInstances>2</availableInstances>" in xml
    assert drv.node_device_list_caps(GPU, 10) == ["pci", "mdev_types"]


def test_define_start_destroy_undefine_events_and_state(drv, tmp_path):
    queued = recorded(drv)
    dev = drv.node_device_define_xml(mdev_xml(), 0)
    assert dev.name == NAME
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 2)]  # DEFINED
    assert (drv.node_device_is_active(NAME), drv.node_device_is_persistent(NAME)) == (0, 1)
    assert names(drv, INACTIVE) == [NAME]
    assert NAME not in names(drv, ACTIVE)
    xml = drv.node_device_get_xml_desc(NAME, 0)
    assert "<path>" not in xml and f"<parent>{GPU}</parent>" in xml
    assert "<parent_addr>0000:00:02.0</parent_addr>" in xml
    assert "<attr name='x' value='1'/>" in xml
    stored = tmp_path / "mdevctl.d" / "0000:00:02.0" / UUID
    assert json.loads(stored.read_text()) == {
        "mdev_type": "i915-GVTg_V5_4",
        "start": "manual",
        "attrs": [{"x": "1"}],
    }
    queued.clear()
    drv.node_device_create(NAME, 0)
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 0)]  # CREATED
    xml = drv.node_device_get_xml_desc(NAME, 0)
    assert f"<path>/sys/devices/pci0000:00/0000:00:02.0/{UUID}</path>" in xml
    assert "<iommuGroup number='32'/>" in xml
    assert "<availableInstances>1</availableInstances>" in drv.node_device_get_xml_desc(GPU, 0)
    err = fails(drv.node_device_create, NAME, 0)
    assert (err.code, err.message) == (
        ErrorCode.OPERATION_INVALID,
        "Requested operation is not valid: Device is already active",
    )
    queued.clear()
    drv.node_device_set_autostart(NAME, 1)
    drv.node_device_set_autostart(NAME, 1)  # unchanged: no mdevctl call, no event
    assert short(queued) == [("NodeDeviceUpdateEvent", NAME, None)]
    assert drv.node_device_get_autostart(NAME) == 1
    assert json.loads(stored.read_text())["start"] == "auto"
    queued.clear()
    drv.node_device_destroy(NAME)
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 1)]  # DELETED
    assert drv.node_device_is_active(NAME) == 0  # still defined
    err = fails(drv.node_device_destroy, NAME)
    assert err.message == f"Requested operation is not valid: Device '{NAME}' is not active"
    queued.clear()
    drv.node_device_undefine(NAME, 0)
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 3)]  # UNDEFINED
    assert NAME not in drv.devices and not stored.exists()


def test_undefine_of_an_active_device_keeps_it_transient(drv):
    drv.node_device_define_xml(mdev_xml(), 0)
    drv.node_device_create(NAME, 0)
    drv.node_device_undefine(NAME, 0)
    assert (drv.node_device_is_active(NAME), drv.node_device_is_persistent(NAME)) == (1, 0)
    err = fails(drv.node_device_set_autostart, NAME, 1)
    assert err.message == (
        "Requested operation is not valid: cannot set autostart for transient device"
    )
    err = fails(drv.node_device_undefine, NAME, 0)
    assert err.message == f"Requested operation is not valid: Node device '{NAME}' is not defined"
    queued = recorded(drv)
    drv.node_device_destroy(NAME)  # transient: gone
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 1)]
    assert NAME not in drv.devices


def test_create_xml_is_transient_and_define_makes_it_persistent(drv):
    queued = recorded(drv)
    dev = drv.node_device_create_xml(mdev_xml(), 0)
    assert dev.name == NAME
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 0)]
    assert drv.node_device_is_persistent(NAME) == 0
    err = fails(drv.node_device_create_xml, mdev_xml(), 0)
    assert err.message == (
        f"internal error: Unable to start mediated device: Device {UUID} already exists"
    )
    queued.clear()
    drv.node_device_define_xml(mdev_xml(), 0)
    assert short(queued) == [("NodeDeviceLifecycleEvent", NAME, 2)]
    assert (drv.node_device_is_active(NAME), drv.node_device_is_persistent(NAME)) == (1, 1)
    err = fails(drv.node_device_define_xml, mdev_xml(), 0)
    assert err.message == (
        "internal error: Unable to define mediated device: "
        f"Device {UUID} on 0000:00:02.0 already defined"
    )


def test_generated_uuid_and_instances_run_out(drv):
    first = drv.node_device_create_xml(mdev_xml(uuid=None), 0)
    second = drv.node_device_create_xml(mdev_xml(uuid=None), 0)
    assert first.name != second.name and first.name.startswith("mdev_")
    err = fails(drv.node_device_create_xml, mdev_xml(uuid=None), 0)
    assert err.message == (
        "internal error: Unable to start mediated device: "
        "No available instances of i915-GVTg_V5_4 on 0000:00:02.0"
    )
    assert "<availableInstances>0</availableInstances>" in drv.node_device_get_xml_desc(GPU, 0)


@pytest.mark.parametrize(
    ("xml", "code", "message"),
    [
        (mdev_xml(parent=None), ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: missing parent device"),
        (mdev_xml(parent="nope"), ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: invalid parent device 'nope'"),
        (mdev_xml(parent="usb_usb1"), ErrorCode.PARSE_FAILED,
         "failed to parse configuration file "
         "Unable to find address for parent device 'usb_usb1'"),
        (mdev_xml(uuid="zz"), ErrorCode.INTERNAL_ERROR,
         "internal error: Invalid uuid 'zz' for new mdev device"),
        ("<device><parent>computer</parent></device>", ErrorCode.INTERNAL_ERROR,
         "internal error: no device capabilities for 'new device'"),
        ("<device><capability type='mdev'/></device>", ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: missing type id attribute for 'new device'"),
        ("<device><capability type='drm'><type>render</type></capability></device>",
         ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: Unsupported device type"),
    ],
)  # fmt: skip
def test_define_errors(drv, xml, code, message):
    err = fails(drv.node_device_define_xml, xml, 0)
    assert (err.code, err.domain, err.message) == (code, ErrorDomain.NODEDEV, message)


def test_start_on_a_parent_without_mdev_support(drv):
    nic = "pci_0000_00_1f_6"
    dev = drv.node_device_define_xml(mdev_xml(parent=nic), 0)  # mdevctl defines it
    err = fails(drv.node_device_create, dev.name, 0)
    assert err.message == (
        "internal error: Unable to create mediated device: "
        "Parent 0000:00:1f.6 is not currently registered for mdev support"
    )
    bad = drv.node_device_define_xml(mdev_xml(uuid=None, type_id="i915-GVTg_V5_1"), 0)
    err = fails(drv.node_device_create, bad.name, 0)
    assert err.message.endswith("Parent 0000:00:02.0 does not support mdev type i915-GVTg_V5_1")


def test_udev_devices_refuse_the_mdev_calls(drv):
    nic = "pci_0000_00_1f_6"
    err = fails(drv.node_device_undefine, nic, 0)
    assert err.message == f"Requested operation is not valid: Node device '{nic}' is not defined"
    err = fails(drv.node_device_create, nic, 0)
    assert err.message == "Requested operation is not valid: Device is already active"
    err = fails(drv.node_device_set_autostart, nic, 1)
    assert (err.code, err.message) == (
        ErrorCode.OPERATION_UNSUPPORTED,
        "Operation not supported: Unsupported device type",
    )
    assert drv.node_device_get_autostart(nic) == 0
    err = fails(drv.node_device_undefine, NAME, 0)
    assert err.code == ErrorCode.NO_NODE_DEVICE
    err = fails(drv.node_device_undefine, GPU, 1)
    assert err.code == ErrorCode.INVALID_ARG and err.domain == ErrorDomain.NODEDEV


def test_definitions_survive_a_restart_and_autostart(tmp_path):
    drv = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    drv.node_device_define_xml(mdev_xml(), 0)
    other = drv.node_device_define_xml(mdev_xml(uuid=None, type_id="i915-GVTg_V5_8"), 0)
    drv.node_device_create(NAME, 0)
    drv.node_device_set_autostart(NAME, 1)
    drv.node_device_create_xml(mdev_xml(uuid=None), 0)  # transient: lost at "boot"
    (tmp_path / "mdevctl.d" / "0000:00:02.0" / ".x.tmp").write_text("{")
    again = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    mdevs = sorted(names(again, CAP_MDEV))
    assert mdevs == sorted([NAME, other.name])
    assert again.node_device_is_active(NAME) == 1  # autostart
    assert again.node_device_is_active(other.name) == 0
    assert again.node_device_get_autostart(NAME) == 1
    assert "<attr name='x' value='1'/>" in again.node_device_get_xml_desc(NAME, 0)
    assert not (tmp_path / "mdevctl.d" / "0000:00:02.0" / ".x.tmp").exists()


def test_a_failed_write_changes_nothing(drv, tmp_path, monkeypatch):
    drv.node_device_define_xml(mdev_xml(), 0)
    queued = recorded(drv)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("virtwire.server.hypervisor.persistence.atomic_write", refuse)
    err = fails(drv.node_device_set_autostart, NAME, 1)
    assert err.message == f"internal error: Unable to set autostart on '{NAME}': Permission denied"
    assert drv.node_device_get_autostart(NAME) == 0
    err = fails(drv.node_device_define_xml, mdev_xml(uuid=None), 0)
    assert err.message == "internal error: Unable to define mediated device: Permission denied"
    assert names(drv, CAP_MDEV) == [NAME] and queued == []
