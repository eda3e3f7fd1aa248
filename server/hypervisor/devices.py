"""Disk and interface hotplug helpers shared by the simulated hosts: aliases and matching.

Alias names follow libvirt's QEMU driver (src/qemu/qemu_alias.c): a virtio disk is
``virtio-disk<N>`` where N is the index encoded in its target name (vda → 0, vdb → 1), an
interface is ``net<N>`` with N one above the highest existing ``netN``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.domxml import DomainDef

HOTPLUG_TAGS = ("disk", "interface", "memory")


def disk_index(dev: str) -> int:
    """virDiskNameToIndex: 'vda' → 0, 'sdb' → 1, 'vdaa' → 26."""
    prefix_len = 3 if dev.startswith(("xvd", "ubd")) else 2
    letters = dev[prefix_len:]
    if not letters or not letters.isalpha() or not letters.islower():
        return 0
    idx = 0
    for ch in letters:
        idx = idx * 26 + (ord(ch) - ord("a") + 1)
    return idx - 1


def disk_target(elem: ET.Element) -> str | None:
    target = elem.find("target")
    return target.get("dev") if target is not None else None


def disk_alias(elem: ET.Element) -> str:
    target = elem.find("target")
    dev = disk_target(elem) or "vda"
    bus = (target.get("bus") if target is not None else None) or _bus_from_name(dev)
    idx = disk_index(dev)
    if bus == "virtio":
        return f"virtio-disk{idx}"
    if bus == "scsi":
        return f"scsi0-0-0-{idx}"
    if bus in ("ide", "sata"):
        return f"{bus}0-0-{idx}"
    return f"{bus}-disk{idx}"


def _bus_from_name(dev: str) -> str:
    if dev.startswith("vd"):
        return "virtio"
    if dev.startswith("sd"):
        return "scsi"
    if dev.startswith("hd"):
        return "ide"
    return "virtio"


def get_alias(elem: ET.Element) -> str | None:
    alias = elem.find("alias")
    return alias.get("name") if alias is not None else None


def set_alias(elem: ET.Element, alias: str) -> None:
    """Set ``<alias name=…/>``, placed before ``<address>`` as libvirt prints it."""
    node = elem.find("alias")
    if node is None:
        node = ET.Element("alias")
        addr = elem.find("address")
        if addr is not None:
            elem.insert(list(elem).index(addr), node)
        else:
            elem.append(node)
    node.set("name", alias)


def strip_live(elem: ET.Element) -> None:
    """Drop what only exists while running before a device goes into a persistent config."""
    for node in elem.findall("alias"):
        elem.remove(node)


def next_net_alias(ddef: DomainDef) -> str:
    indexes = []
    for dev in ddef.devices.findall("interface"):
        alias = get_alias(dev) or ""
        if alias.startswith("net") and alias[3:].isdigit():
            indexes.append(int(alias[3:]))
    return f"net{max(indexes, default=-1) + 1}"


def find_by_alias(ddef: DomainDef, alias: str) -> ET.Element | None:
    for dev in ddef.devices:
        if get_alias(dev) == alias:
            return dev
    return None


def find_disk(ddef: DomainDef, target: str) -> ET.Element | None:
    for dev in ddef.devices.findall("disk"):
        if disk_target(dev) == target:
            return dev
    return None


def interface_mac(elem: ET.Element) -> str | None:
    mac = elem.find("mac")
    return mac.get("address", "").lower() if mac is not None else None


def find_interface(ddef: DomainDef, wanted: ET.Element) -> ET.Element:
    """virDomainNetFindIdx (domain-config layer): by MAC when given, else the only one."""
    domain = ErrorDomain.DOMAIN
    nets = ddef.devices.findall("interface")
    mac = interface_mac(wanted)
    if mac:
        for dev in nets:
            if interface_mac(dev) == mac:
                return dev
        raise LibvirtError.make(
            ErrorCode.DEVICE_MISSING,
            domain,
            f"no device found at address '' matching MAC address '{mac}' and alias ''",
        )
    if len(nets) == 1:
        return nets[0]
    if not nets:
        raise LibvirtError.make(
            ErrorCode.DEVICE_MISSING,
            domain,
            "no device found at address '' matching MAC address '' and alias ''",
        )
    raise LibvirtError.make(
        ErrorCode.OPERATION_FAILED,
        domain,
        "multiple devices matching MAC address 00:00:00:00:00:00 found",
    )


def alias_missing(alias: str) -> LibvirtError:
    """virDomainDefFindDevice's error (domain-config layer, so domain DOMAIN)."""
    return LibvirtError.make(
        ErrorCode.DEVICE_MISSING, ErrorDomain.DOMAIN, f"no device found with alias {alias}"
    )


def ensure_mac(elem: ET.Element, counter: int) -> None:
    """Give an interface without MAC a stable libvirt-style one (52:54:00:…)."""
    if elem.find("mac") is None:
        mac = ET.Element("mac")
        b = counter.to_bytes(3, "big")
        mac.set("address", f"52:54:00:{b[0]:02x}:{b[1]:02x}:{b[2]:02x}")
        elem.insert(0, mac)
