"""Node devices of ``test:///default``: libvirt 9.0's test driver's fixed device tree.

``computer`` (system) with three SCSI hosts under it (``scsi_host1``, ``scsi_host2``, both
vport capable, and ``scsi_host11``, a vHBA of ``scsi_host1``), listed in the order libvirtd
9.0 lists them.  :class:`TestNodeDevices` is the mixin the test driver composes: listing
(with a capability filter), lookup, XML, parent, capabilities, and the test driver's mock
vHBA: ``createXML`` clones ``scsi_host11`` as ``scsi_host12`` with the requested WWNs (the
test driver changes nothing else: host 11, unique_id 10, parent ``scsi_host1``), and
``destroy`` removes any fibre-channel host.  NODE_DEVICE CREATED/DELETED events follow.

Facts of the 9.0 test driver kept here (checked against libvirtd): ``ListAllNodeDevices``
accepts only the capability flags, so virsh's ``nodedev-list`` (which adds ACTIVE) fails
with "unsupported flags (0x80000000)"; ``destroy`` of a device without WWNs returns success
and does nothing; the parent of ``computer`` is an empty answer, not an error; there is no
``lookupSCSIHostByWWN``, define/undefine/create or autostart (NO_SUPPORT).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNodeDevice as Dev
from virtwire.server.hypervisor import domxml

__all__ = ["NodeDevice", "TestNodeDevices", "default_devices", "parse_device_document"]

CREATED, DELETED = 0, 1

# virConnectListAllNodeDeviceFlags: capability bits (libvirt 9.0: SYSTEM .. VPD)
CAP_FLAGS = {
    "system": 1 << 0,
    "pci": 1 << 1,
    "usb_device": 1 << 2,
    "usb": 1 << 3,
    "net": 1 << 4,
    "scsi_host": 1 << 5,
    "scsi_target": 1 << 6,
    "scsi": 1 << 7,
    "storage": 1 << 8,
    "fc_host": 1 << 9,
    "vports": 1 << 10,
    "scsi_generic": 1 << 11,
    "drm": 1 << 12,
    "mdev_types": 1 << 13,
    "mdev": 1 << 14,
    "ccw": 1 << 15,
    "css": 1 << 16,
    "vdpa": 1 << 17,
    "ap_card": 1 << 18,
    "ap_queue": 1 << 19,
    "ap_matrix": 1 << 20,
    "vpd": 1 << 21,
}
FILTERS_CAP = (1 << 22) - 1

SYSTEM_BODY = """  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
"""


@dataclass
class ScsiHost:
    host: int
    unique_id: int
    wwnn: str
    wwpn: str
    fabric_wwn: str
    vport_ops: bool  # libvirtd 9.0 shows max_vports/vports as 0 (no sysfs behind them)

    def format(self) -> str:
        out = (
            "  <capability type='scsi_host'>\n"
            f"    <host>{self.host}</host>\n"
            f"    <unique_id>{self.unique_id}</unique_id>\n"
            "    <capability type='fc_host'>\n"
            f"      <wwnn>{self.wwnn}</wwnn>\n"
            f"      <wwpn>{self.wwpn}</wwpn>\n"
            f"      <fabric_wwn>{self.fabric_wwn}</fabric_wwn>\n"
            "    </capability>\n"
        )
        if self.vport_ops:
            out += (
                "    <capability type='vport_ops'>\n"
                "      <max_vports>0</max_vports>\n"
                "      <vports>0</vports>\n"
                "    </capability>\n"
            )
        return out + "  </capability>\n"


@dataclass
class NodeDevice:
    name: str
    parent: str | None
    scsi: ScsiHost | None = None  # None: the system device
    # a device of a test:///PATH.xml host that is not an FC SCSI host: its capability
    # types and <capability> elements as written (server/hypervisor/testfile.py)
    raw_caps: tuple[str, ...] = ()
    raw_body: str | None = None

    @property
    def caps(self) -> list[str]:
        """The top-level capabilities (what listCaps/numOfCaps count in the test driver)."""
        if self.raw_body is not None:
            return list(self.raw_caps)
        return ["scsi_host"] if self.scsi else ["system"]

    def has_cap(self, cap: str) -> bool:
        """virNodeDeviceObjHasCap: fc_host and vports count as capabilities of a SCSI host."""
        if cap in self.caps:
            return True
        return self.scsi is not None and (
            cap == "fc_host" or (cap == "vports" and self.scsi.vport_ops)
        )

    def format(self) -> str:
        out = f"<device>\n  <name>{self.name}</name>\n"
        if self.parent:
            out += f"  <parent>{self.parent}</parent>\n"
        if self.raw_body is not None:
            out += self.raw_body
        else:
            out += self.scsi.format() if self.scsi else SYSTEM_BODY
        return out + "</device>\n"

    def handle(self) -> Dev:
        return Dev(self.name)


def default_devices() -> dict[str, NodeDevice]:
    """The test driver's devices, in libvirtd 9.0's listing order."""
    devs = [
        NodeDevice("computer", None),
        NodeDevice(
            "scsi_host2",
            "computer",
            ScsiHost(2, 1, "2000000056785678", "1000000056785678", "2000000087658765", True),
        ),
        NodeDevice(
            "scsi_host11",
            "scsi_host1",
            ScsiHost(11, 10, "2000000034563456", "1000000034563456", "2000000043214321", False),
        ),
        NodeDevice(
            "scsi_host1",
            "computer",
            ScsiHost(1, 0, "2000000012341234", "1000000012341234", "2000000043214321", True),
        ),
    ]
    return {d.name: d for d in devs}


def _nodedev_error(detail: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.INTERNAL_ERROR, ErrorDomain.NODEDEV, detail)


def parse_device_document(xml: str) -> ET.Element:
    """virXMLParse of a node device document: its errors in domain NODEDEV, root <device>."""
    try:
        root = domxml.parse_document(xml, "node_device_definition")
    except LibvirtError as exc:
        raise LibvirtError(
            exc.code, ErrorDomain.NODEDEV, exc.message, str1=exc.str1, str2=exc.str2
        ) from None
    if root.tag != "device":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"expecting root element of 'device', not '{root.tag}'",
        )
    return root


def _parse_create(xml: str) -> tuple[str | None, str | None, str | None]:
    """The parent and WWNs of a vHBA request (virNodeDeviceDefParseString, CREATE_DEVICE)."""
    root = parse_device_document(xml)
    parent = root.findtext("parent")
    fc: ET.Element | None = None
    scsi = None
    for cap in root.findall("capability"):
        if cap.get("type") == "scsi_host":
            scsi = cap
            for sub in cap.findall("capability"):
                if sub.get("type") == "fc_host":
                    fc = sub
    if scsi is None or fc is None:
        raise _nodedev_error("Device is not a fibre channel HBA")
    return parent, fc.findtext("wwnn"), fc.findtext("wwpn")


class TestNodeDevices:
    """The node-device half of ``test:///default`` (``Procedure.driver == "nodedev"``)."""

    __test__ = False

    devices: dict[str, NodeDevice]
    # error(), check_flags() and emit() come from the Driver the mixin is composed with
    error: Any
    check_flags: Any
    emit: Any

    def init_nodedevs(self) -> None:
        self.devices = default_devices()

    def _dev(self, name: str) -> NodeDevice:
        dev = self.devices.get(name)
        if dev is None:
            raise self.error(
                ErrorCode.NO_NODE_DEVICE, f"no node device with matching name '{name}'"
            )
        return dev

    def _dev_event(self, name: str, event: int) -> None:
        self.emit(ev.NodeDeviceLifecycleEvent(ev.NodeDeviceRef(name), event, 0))

    # -- listing ---------------------------------------------------------------------------

    def _with_cap(self, cap: str | None) -> list[NodeDevice]:
        return [d for d in self.devices.values() if cap is None or d.has_cap(cap)]

    def node_num_of_devices(self, cap: str | None, flags: int) -> int:
        self.check_flags(flags, 0, "testNodeNumOfDevices")
        return len(self._with_cap(cap))

    def node_list_devices(self, cap: str | None, maxnames: int, flags: int) -> list[str]:
        self.check_flags(flags, 0, "testNodeListDevices")
        return [d.name for d in self._with_cap(cap)][: max(maxnames, 0)]

    def connect_list_all_node_devices(self, need_results: int, flags: int) -> tuple[list, int]:
        self.check_flags(flags, FILTERS_CAP, "testConnectListAllNodeDevices")
        wanted = [cap for cap, bit in CAP_FLAGS.items() if flags & bit]
        devs = [
            d.handle()
            for d in self.devices.values()
            if not wanted or any(d.has_cap(cap) for cap in wanted)
        ]
        return (devs if need_results else []), len(devs)

    # -- one device ------------------------------------------------------------------------

    def node_device_lookup_by_name(self, name: str) -> Dev:
        return self._dev(name).handle()

    def node_device_get_xml_desc(self, name: str, flags: int) -> str:
        self.check_flags(flags, 0, "testNodeDeviceGetXMLDesc")
        return self._dev(name).format()

    def node_device_get_parent(self, name: str) -> str | None:
        # testNodeDeviceGetParent's "no parent for this device" never reaches the client:
        # virNodeDeviceGetParent ignores it and the daemon answers a NULL parent
        return self._dev(name).parent

    def node_device_num_of_caps(self, name: str) -> int:
        return len(self._dev(name).caps)

    def node_device_list_caps(self, name: str, maxnames: int) -> list[str]:
        return self._dev(name).caps[: max(maxnames, 0)]

    # -- the mock vHBA ---------------------------------------------------------------------

    def node_device_create_xml(self, xml_desc: str, flags: int) -> Dev:
        self.check_flags(flags, 0, "testNodeDeviceCreateXML")
        parent, wwnn, wwpn = _parse_create(xml_desc)
        if not wwnn or not wwpn:
            raise _nodedev_error("no WWNN supplied for 'new device', and auto-generation failed")
        pdev = self.devices.get(parent) if parent else None
        if pdev is None:
            raise _nodedev_error("Could not find parent device for 'new device'")
        if not pdev.has_cap("vports"):
            raise _nodedev_error(f"Parent device {pdev.name} is not capable of vport operations")
        return self.mock_create_vport(wwnn, wwpn).handle()

    def mock_create_vport(self, wwnn: str, wwpn: str) -> NodeDevice:
        """testNodeDeviceMockCreateVport: ``scsi_host11`` copied as ``scsi_host12``."""
        template = self.devices.get("scsi_host11")
        if template is None or template.scsi is None:
            raise self.error(
                ErrorCode.NO_NODE_DEVICE, "no node device with matching name 'scsi_host11'"
            )
        new = copy.deepcopy(template)
        new.name = "scsi_host12"
        assert new.scsi is not None
        new.scsi.wwnn, new.scsi.wwpn = wwnn, wwpn
        self.devices[new.name] = new
        self._dev_event(new.name, CREATED)
        return new

    def node_device_destroy(self, name: str) -> None:
        dev = self._dev(name)
        if dev.scsi is None:
            return  # testNodeDeviceDestroy: no WWNs → "success", nothing happens
        if dev.parent not in self.devices:
            raise _nodedev_error(f"cannot find parent '{dev.parent}' definition")
        self._dev_event(name, DELETED)
        del self.devices[name]
