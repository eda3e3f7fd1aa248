"""Node devices of the QEMU hosts: a fixed, plausible udev tree and libvirt's nodedev driver.

The host (``computer``) has a PCI host bridge, an Intel UHD Graphics 630 GPU
(``pci_0000_00_02_0``) able to host mediated devices (GVT-g, ``mdev_types``), an Intel
I219-V NIC (``pci_0000_00_1f_6``) whose interface is ``eno1``, a SATA controller with a
SCSI host, target, LUN and its disk (``block_sda_…``, 500 GB) and an xHCI controller with a
USB root hub and its interface.  Listing, lookup, XML, parent, capabilities and the
active/persistent/autostart queries follow libvirt 9.0's ``node_device_driver.c``
(``virsh nodedev-list``'s ACTIVE flag is accepted, unlike the test driver); mediated
devices are defined, started, stopped and undefined as libvirt does with mdevctl
(``qemu_mdevs.py``); ``nodedev-create``/``destroy`` of a vHBA give its errors, since the
host has no fibre-channel HBA.  The listing/lookup code is :class:`nodedevs.TestNodeDevices`'
own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNodeDevice as Dev
from virtwire.server.hypervisor.nodedevs import (
    CAP_FLAGS,
    FILTERS_CAP,
    TestNodeDevices,
    _parse_create,
    parse_device_document,
)
from virtwire.server.hypervisor.qemu_mdevs import (
    Mdev,
    MdevType,
    QemuMdevs,
    check_nodedev_flags,
    parse_mdev_request,
)

__all__ = ["HostDevice", "QemuNodeDevices", "qemu_host_devices"]

LIST_INACTIVE, LIST_ACTIVE = 1 << 30, 1 << 31  # VIR_CONNECT_LIST_NODE_DEVICES_(IN)ACTIVE
HOST_MAC = "3c:ec:ef:6a:21:5e"
DISK_SERIAL = "S3Z9NB0K812345A"


@dataclass
class HostDevice:
    """One udev device: its name, parent, top-level capabilities and XML body."""

    name: str
    parent: str | None
    caps: list[str]
    body: str  # the lines between <name>/<parent> and </device>, as libvirt prints them
    path: str = ""
    extra: list[str] = field(default_factory=list)  # lines after <path> (devnode, …)
    address: str | None = None  # nodeDeviceObjFormatAddress (PCI: 0000:00:02.0)
    mdev_types: list[MdevType] = field(default_factory=list)
    active = True  # udev devices exist while the host runs; none is defined or autostarted
    persistent = False
    autostart = False

    def has_cap(self, cap: str) -> bool:
        return cap in self.caps

    def format(self, available: Callable[[MdevType], int] | None = None) -> str:
        out = f"<device>\n  <name>{self.name}</name>\n"
        if self.path:
            out += f"  <path>{self.path}</path>\n"
        out += "".join(f"  {line}\n" for line in self.extra)
        if self.parent:
            out += f"  <parent>{self.parent}</parent>\n"
        body = self.body
        if self.mdev_types:  # virNodeDeviceCapMdevTypesFormat, before the <iommuGroup>
            cut = body.index("    <iommuGroup")
            body = body[:cut] + self._mdev_types_xml(available) + body[cut:]
        return out + body + "</device>\n"

    def _mdev_types_xml(self, available: Callable[[MdevType], int] | None) -> str:
        out = "    <capability type='mdev_types'>\n"
        for t in self.mdev_types:
            count = available(t) if available else t.max_instances
            out += (
                f"      <type id='{t.id}'>\n"
                f"        <name>{t.name}</name>\n"
                f"        <deviceAPI>{t.device_api}</deviceAPI>\n"
                f"        <availableInstances>{count}</availableInstances>\n"
                "      </type>\n"
            )
        return out + "    </capability>\n"

    def handle(self) -> Dev:
        return Dev(self.name)


def _pci(slot: int, function: int, klass: str, product: tuple[str, str], driver: str) -> HostDevice:
    addr = f"0000:00:{slot:02x}.{function}"
    name = f"pci_0000_00_{slot:02x}_{function}"
    body = (
        f"  <driver>\n    <name>{driver}</name>\n  </driver>\n"
        "  <capability type='pci'>\n"
        f"    <class>{klass}</class>\n"
        "    <domain>0</domain>\n    <bus>0</bus>\n"
        f"    <slot>{slot}</slot>\n    <function>{function}</function>\n"
        f"    <product id='{product[0]}'>{product[1]}</product>\n"
        "    <vendor id='0x8086'>Intel Corporation</vendor>\n"
        f"    <iommuGroup number='{slot}'>\n"
        f"      <address domain='0x0000' bus='0x00' slot='0x{slot:02x}' function='0x{function}'/>\n"
        "    </iommuGroup>\n"
        "  </capability>\n"
    )
    return HostDevice(
        name, "computer", ["pci"], body, f"/sys/devices/pci0000:00/{addr}", address=addr
    )


# the GPU's GVT-g types (i915 on Coffee Lake: a low and a high resolution vGPU)
GVT_TYPES = [
    MdevType("i915-GVTg_V5_4", "GVTg_V5_4", "vfio-pci", 2),
    MdevType("i915-GVTg_V5_8", "GVTg_V5_8", "vfio-pci", 4),
]


def _gpu() -> HostDevice:
    gpu = _pci(2, 0, "0x030000", ("0x3e92", "CoffeeLake-S GT2 [UHD Graphics 630]"), "i915")
    gpu.caps = ["pci", "mdev_types"]  # virNodeDeviceObjHasCap: the PCI_MDEV flag
    gpu.mdev_types = list(GVT_TYPES)
    return gpu


def qemu_host_devices(host_uuid: str) -> dict[str, HostDevice]:
    """The host's devices, parents before children."""
    sata = "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0"
    disk = f"block_sda_Samsung_SSD_860_EVO_500GB_{DISK_SERIAL}"
    mac_name = HOST_MAC.replace(":", "_")
    devs = [
        HostDevice(
            "computer",
            None,
            ["system"],
            "  <capability type='system'>\n"
            "    <product>Simulated QEMU host</product>\n"
            "    <hardware>\n"
            "      <vendor>virtwire</vendor>\n"
            "      <version>1.0</version>\n"
            "      <serial>VW-0001</serial>\n"
            f"      <uuid>{host_uuid}</uuid>\n"
            "    </hardware>\n"
            "    <firmware>\n"
            "      <vendor>SeaBIOS</vendor>\n"
            "      <version>1.16.2-debian-1.16.2-1</version>\n"
            "      <release_date>04/01/2014</release_date>\n"
            "    </firmware>\n"
            "  </capability>\n",
        ),
        _pci(0, 0, "0x060000", ("0x3e30", "8th Gen Core 8-core Desktop Processor Host Bridge/DRAM Registers [Coffee Lake S]"), "skl_uncore"),
        _gpu(),
        _pci(0x14, 0, "0x0c0330", ("0xa36d", "Cannon Lake PCH USB 3.1 xHCI Host Controller"), "xhci_hcd"),
        _pci(0x17, 0, "0x010601", ("0xa352", "Cannon Lake PCH SATA AHCI Controller"), "ahci"),
        _pci(0x1F, 6, "0x020000", ("0x15bc", "Ethernet Connection (7) I219-V"), "e1000e"),
        HostDevice(
            f"net_eno1_{mac_name}",
            "pci_0000_00_1f_6",
            ["net"],
            "  <capability type='net'>\n"
            "    <interface>eno1</interface>\n"
            f"    <address>{HOST_MAC}</address>\n"
            "    <link speed='1000' state='up'/>\n"
            "    <feature name='rx'/>\n    <feature name='tx'/>\n    <feature name='sg'/>\n"
            "    <feature name='tso'/>\n    <feature name='gso'/>\n    <feature name='gro'/>\n"
            "    <feature name='rxhash'/>\n"
            "    <capability type='80203'/>\n"
            "  </capability>\n",
            "/sys/devices/pci0000:00/0000:00:1f.6/net/eno1",
        ),
        HostDevice(
            "scsi_host0",
            "pci_0000_00_17_0",
            ["scsi_host"],
            "  <capability type='scsi_host'>\n    <host>0</host>\n"
            "    <unique_id>1</unique_id>\n  </capability>\n",
            f"{sata}/scsi_host/host0",
        ),
        HostDevice(
            "scsi_target0_0_0",
            "scsi_host0",
            ["scsi_target"],
            "  <capability type='scsi_target'>\n    <target>target0:0:0</target>\n"
            "  </capability>\n",
            f"{sata}/target0:0:0",
        ),
        HostDevice(
            "scsi_0_0_0_0",
            "scsi_target0_0_0",
            ["scsi"],
            "  <driver>\n    <name>sd</name>\n  </driver>\n"
            "  <capability type='scsi'>\n    <host>0</host>\n    <bus>0</bus>\n"
            "    <target>0</target>\n    <lun>0</lun>\n    <type>disk</type>\n"
            "  </capability>\n",
            f"{sata}/target0:0:0/0:0:0:0",
        ),
        HostDevice(
            disk,
            "scsi_0_0_0_0",
            ["storage"],
            "  <capability type='storage'>\n    <block>/dev/sda</block>\n    <bus>ata</bus>\n"
            "    <drive_type>disk</drive_type>\n    <model>Samsung SSD 860</model>\n"
            f"    <vendor>ATA</vendor>\n    <serial>Samsung_SSD_860_EVO_500GB_{DISK_SERIAL}</serial>\n"
            "    <size>500107862016</size>\n    <logical_block_size>512</logical_block_size>\n"
            "    <num_blocks>976773168</num_blocks>\n  </capability>\n",
            f"{sata}/target0:0:0/0:0:0:0/block/sda",
            ["<devnode type='dev'>/dev/sda</devnode>",
             f"<devnode type='link'>/dev/disk/by-id/ata-Samsung_SSD_860_EVO_500GB_{DISK_SERIAL}</devnode>"],
        ),
        HostDevice(
            "usb_usb1",
            "pci_0000_00_14_0",
            ["usb_device"],
            "  <driver>\n    <name>usb</name>\n  </driver>\n"
            "  <capability type='usb_device'>\n    <bus>1</bus>\n    <device>1</device>\n"
            "    <product id='0x0002'>2.0 root hub</product>\n"
            "    <vendor id='0x1d6b'>Linux Foundation</vendor>\n  </capability>\n",
            "/sys/devices/pci0000:00/0000:00:14.0/usb1",
            ["<devnode type='dev'>/dev/bus/usb/001/001</devnode>"],
        ),
        HostDevice(
            "usb_1_0_1_0",
            "usb_usb1",
            ["usb"],
            "  <driver>\n    <name>hub</name>\n  </driver>\n"
            "  <capability type='usb'>\n    <number>0</number>\n    <class>9</class>\n"
            "    <subclass>0</subclass>\n    <protocol>0</protocol>\n  </capability>\n",
            "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-0:1.0",
        ),
    ]  # fmt: skip
    return {d.name: d for d in devs}


def _nodedev_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.NODEDEV, detail)


class QemuNodeDevices(QemuMdevs, TestNodeDevices):
    """libvirt's node device driver as a QEMU host's connection serves it."""

    def init_qemu_nodedevs(self, host_uuid: str, state_dir: Path) -> None:
        self.devices = qemu_host_devices(host_uuid)  # type: ignore[assignment]
        self.init_qemu_mdevs(state_dir)

    def _dev(self, name: str) -> HostDevice | Mdev:  # type: ignore[override]
        """nodeDeviceObjFindByName: its error is in domain NODEDEV."""
        dev = self.devices.get(name)
        if dev is None:
            raise _nodedev_error(
                ErrorCode.NO_NODE_DEVICE, f"no node device with matching name '{name}'"
            )
        return dev  # type: ignore[return-value]

    def _mdev(self, name: str) -> Mdev | None:
        dev = self._dev(name)
        return dev if isinstance(dev, Mdev) else None

    def node_num_of_devices(self, cap: str | None, flags: int) -> int:
        check_nodedev_flags(flags, 0, "nodeNumOfDevices")
        return len(self._with_cap(cap))

    def node_list_devices(self, cap: str | None, maxnames: int, flags: int) -> list[str]:
        check_nodedev_flags(flags, 0, "nodeListDevices")
        return [d.name for d in self._with_cap(cap)][: max(maxnames, 0)]

    def connect_list_all_node_devices(self, need_results: int, flags: int) -> tuple[list, int]:
        check_nodedev_flags(flags, FILTERS_CAP | LIST_ACTIVE | LIST_INACTIVE,
                            "nodeConnectListAllNodeDevices")  # fmt: skip
        wanted = [cap for cap, bit in CAP_FLAGS.items() if flags & bit]
        by_state = flags & (LIST_ACTIVE | LIST_INACTIVE)
        devs = [
            d.handle()
            for d in self.devices.values()
            if (not wanted or any(d.has_cap(cap) for cap in wanted))
            and (
                not by_state
                or (flags & LIST_ACTIVE and d.active)
                or (flags & LIST_INACTIVE and not d.active)
            )
        ]
        return (devs if need_results else []), len(devs)

    def node_device_get_xml_desc(self, name: str, flags: int) -> str:
        check_nodedev_flags(flags, 0, "nodeDeviceGetXMLDesc")
        dev = self._dev(name)
        if isinstance(dev, HostDevice) and dev.address and dev.mdev_types:
            addr = dev.address
            return dev.format(lambda t: self.available_instances(addr, t))
        return dev.format()

    def node_device_is_active(self, name: str) -> int:
        return int(self._dev(name).active)

    def node_device_is_persistent(self, name: str) -> int:
        return int(self._dev(name).persistent)  # udev devices have no definition

    def node_device_get_autostart(self, name: str) -> int:
        return int(self._dev(name).autostart)

    def node_device_set_autostart(self, name: str, autostart: int) -> None:
        mdev = self._mdev(name)
        if mdev is None:
            raise _nodedev_error(ErrorCode.OPERATION_UNSUPPORTED, "Unsupported device type")
        self.mdev_set_autostart(mdev, bool(autostart))

    def node_device_create_xml(self, xml_desc: str, flags: int) -> Dev:
        """nodeDeviceCreateXML: vHBAs (this host has no FC HBA) and mediated devices."""
        check_nodedev_flags(flags, 1, "nodeDeviceCreateXML")  # ..._CREATE_XML_VALIDATE
        req = parse_mdev_request(parse_device_document(xml_desc))
        if "mdev" in req.caps:
            self.resolve_mdev_parent(req)  # the parser's validation comes first
        if "scsi_host" in req.caps:
            parent, wwnn, wwpn = _parse_create(xml_desc)
            pdev = self.devices.get(parent) if parent else None
            if pdev is None:
                raise _nodedev_error(
                    ErrorCode.INTERNAL_ERROR, "Could not find parent device for 'new device'"
                )
            raise _nodedev_error(
                ErrorCode.INTERNAL_ERROR,
                f"Parent device {pdev.name} is not capable of vport operations",
            )
        if "mdev" in req.caps:
            return self.mdev_create_xml(req)
        raise _nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, "Unsupported device type")

    def node_device_destroy(self, name: str) -> None:
        dev = self._dev(name)
        if dev.has_cap("scsi_host"):
            raise _nodedev_error(ErrorCode.INTERNAL_ERROR, "Device is not a fibre channel HBA")
        if isinstance(dev, Mdev):
            return self.mdev_destroy(dev)
        raise _nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, "Unsupported device type")

    def node_device_undefine(self, name: str, flags: int) -> None:
        """nodeDeviceUndefine: only a defined (mdevctl) device."""
        check_nodedev_flags(flags, 0, "nodeDeviceUndefine")
        dev = self._dev(name)
        if not dev.persistent:
            raise _nodedev_error(
                ErrorCode.OPERATION_INVALID, f"Node device '{name}' is not defined"
            )
        if not isinstance(dev, Mdev):
            raise _nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, "Unsupported device type")
        self.mdev_undefine(dev)

    def node_device_create(self, name: str, flags: int) -> None:
        """nodeDeviceCreate: start a defined, inactive device."""
        check_nodedev_flags(flags, 0, "nodeDeviceCreate")
        dev = self._dev(name)
        if dev.active:
            raise _nodedev_error(ErrorCode.OPERATION_INVALID, "Device is already active")
        if not isinstance(dev, Mdev):
            raise _nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, "Unsupported device type")
        self.mdev_start(dev)
