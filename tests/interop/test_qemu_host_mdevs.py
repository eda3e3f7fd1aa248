"""Mediated devices on qemu:///system, driven by the real virsh and python3-libvirt against
`virtwire serve`: define, start, autostart, destroy, undefine, their node device events in
libvirt 9.0's order, and definitions that survive kill -9."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.interop

GPU = "pci_0000_00_02_0"
UUID = "6b2c0b5e-1f4a-4d67-9c3e-2a1b0c9d8e7f"
NAME = "mdev_6b2c0b5e_1f4a_4d67_9c3e_2a1b0c9d8e7f_0000_00_02_0"
MDEV_XML = (
    f"<device><parent>{GPU}</parent><capability type='mdev'>"
    f"<type id='i915-GVTg_V5_4'/><uuid>{UUID}</uuid></capability></device>"
)


def virsh_ok(run_virsh, uri: str, *args: str) -> str:
    proc = run_virsh(uri, *args)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def info(run_virsh, uri: str, name: str) -> dict[str, str]:
    out = virsh_ok(run_virsh, uri, "nodedev-info", name)
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}


def test_mdev_lifecycle_with_virsh_and_kill9(virtwire_server, run_virsh, tmp_path):
    uri = virtwire_server.unix_uri("qemu", "/system")
    assert virsh_ok(run_virsh, uri, "nodedev-list", "--cap", "mdev_types").split() == [GPU]
    xml = tmp_path / "mdev.xml"
    xml.write_text(MDEV_XML)
    assert NAME in virsh_ok(run_virsh, uri, "nodedev-define", str(xml))
    assert virsh_ok(run_virsh, uri, "nodedev-list", "--inactive").split() == [NAME]
    assert NAME not in virsh_ok(run_virsh, uri, "nodedev-list")
    assert info(run_virsh, uri, NAME) == {
        "Name": NAME,
        "Parent": GPU,
        "Active": "no",
        "Persistent": "yes",
        "Autostart": "no",
    }
    again = run_virsh(uri, "nodedev-define", str(xml))
    assert f"Device {UUID} on 0000:00:02.0 already defined" in again.stderr
    virsh_ok(run_virsh, uri, "nodedev-start", NAME)
    busy = run_virsh(uri, "nodedev-start", NAME)
    assert "Requested operation is not valid: Device is already active" in busy.stderr
    virsh_ok(run_virsh, uri, "nodedev-autostart", NAME)
    dump = virsh_ok(run_virsh, uri, "nodedev-dumpxml", NAME)
    assert f"<path>/sys/devices/pci0000:00/0000:00:02.0/{UUID}</path>" in dump
    assert "<type id='i915-GVTg_V5_4'/>" in dump
    assert "<availableInstances>1</availableInstances>" in virsh_ok(
        run_virsh, uri, "nodedev-dumpxml", GPU
    )
    assert f"+- {NAME}" in virsh_ok(run_virsh, uri, "nodedev-list", "--tree")
    # a second device, defined only, and a transient one
    other = tmp_path / "other.xml"
    other.write_text(MDEV_XML.replace(UUID, "00000000-0000-0000-0000-0000000000aa"))
    other_name = "mdev_00000000_0000_0000_0000_0000000000aa_0000_00_02_0"
    virsh_ok(run_virsh, uri, "nodedev-define", str(other))
    transient = tmp_path / "transient.xml"
    transient.write_text(MDEV_XML.replace(UUID, "00000000-0000-0000-0000-0000000000bb"))
    virsh_ok(run_virsh, uri, "nodedev-create", str(transient))

    virtwire_server.kill9()
    virtwire_server.start()
    listed = virsh_ok(run_virsh, uri, "nodedev-list", "--cap", "mdev", "--all").split()
    assert sorted(listed) == sorted([NAME, other_name])  # the transient one is gone
    assert info(run_virsh, uri, NAME)["Active"] == "yes"  # autostart, at "boot"
    assert info(run_virsh, uri, NAME)["Autostart"] == "yes"
    assert info(run_virsh, uri, other_name)["Active"] == "no"
    virsh_ok(run_virsh, uri, "nodedev-autostart", NAME, "--disable")
    virsh_ok(run_virsh, uri, "nodedev-destroy", NAME)
    assert info(run_virsh, uri, NAME)["Active"] == "no"
    gone = run_virsh(uri, "nodedev-destroy", NAME)
    assert f"Device '{NAME}' is not active" in gone.stderr
    virsh_ok(run_virsh, uri, "nodedev-undefine", NAME)
    missing = run_virsh(uri, "nodedev-info", NAME)
    assert f"no node device with matching name '{NAME}'" in missing.stderr
    udev = run_virsh(uri, "nodedev-undefine", GPU)
    assert f"Node device '{GPU}' is not defined" in udev.stderr


EVENTS_SCRIPT = r"""
import sys, time, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []
def life(conn, dev, event, detail, opaque):
    seen.append(("lifecycle", dev.name(), event, detail))
def update(conn, dev, opaque):
    seen.append(("update", dev.name()))
ids = [c.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, life, 0),
       c.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE, update, 0)]
d = c.nodeDeviceDefineXML(sys.argv[2], 0)
print("defined", d.name(), d.isActive(), d.isPersistent(), d.autostart())
d.create(0)
d.setAutostart(1)
d.setAutostart(1)
print("started", d.isActive(), d.autostart())
d.destroy()
d.undefine(0)
t = c.nodeDeviceCreateXML(sys.argv[2], 0)
print("created", t.name(), t.isActive(), t.isPersistent())
t.destroy()
try:
    c.nodeDeviceLookupByName(t.name())
except libvirt.libvirtError as e:
    print("gone", e.get_error_code(), e.get_error_domain())
end = time.time() + 5
while len(seen) < 7 and time.time() < end:
    libvirt.virEventRunDefaultImpl()
for s in seen:
    print(*s)
"""


def test_mdev_events_in_libvirts_order(virtwire_server, run_pylibvirt):
    uri = virtwire_server.unix_uri("qemu", "/system")
    out = run_pylibvirt(EVENTS_SCRIPT, uri, MDEV_XML)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"defined {NAME} 0 1 0",
        "started 1 1",
        f"created {NAME} 1 0",
        "gone 53 22",  # NO_NODE_DEVICE, NODEDEV
        f"lifecycle {NAME} 2 0",  # DEFINED
        f"lifecycle {NAME} 0 0",  # CREATED
        f"update {NAME}",  # autostart changed (once)
        f"lifecycle {NAME} 1 0",  # DELETED
        f"lifecycle {NAME} 3 0",  # UNDEFINED
        f"lifecycle {NAME} 0 0",  # CREATED (transient)
        f"lifecycle {NAME} 1 0",  # DELETED
    ]
