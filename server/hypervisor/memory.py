"""Memory-device hotplug rules as libvirt's QEMU driver applies them (spec §10).

Pure functions over a DomainDef and a ``<memory>`` element so that the QEMU driver only
sequences them: align → validate → slot → alias → address.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.domxml import DomainDef, parse_size_kib, set_size_kib

MODELS = ("dimm", "nvdimm", "virtio-pmem", "virtio-mem", "sgx-epc")
ALIAS_PREFIX = {
    "dimm": "dimm",
    "nvdimm": "nvdimm",
    "virtio-pmem": "virtiopmem",
    "virtio-mem": "virtiomem",
    "sgx-epc": "epc",
}
# Models that occupy a DIMM slot (and whose alias index is the slot number).
SLOT_MODELS = ("dimm", "nvdimm")
# x86: QEMU needs DIMM sizes aligned to 2 MiB; other modules to 1 MiB.
DIMM_ALIGN_KIB = 2048
DEFAULT_ALIGN_KIB = 1024
# First byte of the device-memory region above a small guest's RAM.
DEVICE_MEMORY_BASE = 0x100000000


def _unsupported(detail: str, domain: ErrorDomain = ErrorDomain.QEMU) -> LibvirtError:
    """Hotplug validation lives in libvirt's QEMU driver (domain QEMU) unless noted."""
    return LibvirtError.make(ErrorCode.CONFIG_UNSUPPORTED, domain, detail)


@dataclass(frozen=True)
class MemoryDevice:
    """The fields of a ``<memory>`` device that the rules look at."""

    model: str
    size_kib: int
    node: int | None
    slot: int | None
    alias: str | None


def parse_memory_device(elem: ET.Element) -> MemoryDevice:
    model = elem.get("model")
    if model is None:
        raise LibvirtError.make(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "missing memory model")
    if model not in MODELS:
        raise LibvirtError.make(
            ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, f"invalid memory model '{model}'"
        )
    size = parse_size_kib(elem.find("target/size"))
    if size is None and model != "sgx-epc":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "missing 'size' element for memory device"
        )
    node_el = elem.find("target/node")
    node = None
    if node_el is not None:
        try:
            node = int((node_el.text or "").strip())
        except ValueError:
            raise LibvirtError.make(
                ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "invalid value of memory device node"
            ) from None
    addr = elem.find("address")
    slot = None
    if addr is not None and addr.get("slot") is not None:
        try:
            slot = int(addr.get("slot", ""), 0)
        except ValueError:
            raise LibvirtError.make(
                ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "invalid dimm slot"
            ) from None
    alias_el = elem.find("alias")
    alias = alias_el.get("name") if alias_el is not None else None
    return MemoryDevice(model, size or 0, node, slot, alias)


def device_size_kib(elem: ET.Element) -> int:
    return parse_size_kib(elem.find("target/size")) or 0


def plugged_size_kib(elem: ET.Element) -> int:
    """Memory the guest gains at once: all of a DIMM, only the requested part of virtio-mem."""
    if elem.get("model") == "virtio-mem":
        return parse_size_kib(elem.find("target/requested")) or 0
    return device_size_kib(elem)


def align_size(elem: ET.Element) -> None:
    """qemuDomainMemoryDeviceAlignSize: round the target size up in place."""
    dev = parse_memory_device(elem)
    step = DIMM_ALIGN_KIB if dev.model in ("dimm", "virtio-mem") else DEFAULT_ALIGN_KIB
    aligned = -(-dev.size_kib // step) * step
    size_el = elem.find("target/size")
    if size_el is not None:
        set_size_kib(size_el, aligned)


def validate_hotplug(ddef: DomainDef, elem: ET.Element) -> None:
    """The checks libvirt runs before a memory device may be added to ``ddef``."""
    dev = parse_memory_device(elem)
    if not ddef.max_memory:
        raise _unsupported(
            "cannot use/hotplug a memory device when domain 'maxMemory' is not defined"
        )
    if ddef.numa_cells == 0:
        raise _unsupported(
            "At least one numa node has to be configured when enabling memory hotplug"
        )
    if dev.node is not None and dev.node >= ddef.numa_cells:
        raise _unsupported(
            f"can't add memory backend for guest node '{dev.node}' as the guest has only "
            f"'{ddef.numa_cells}' NUMA nodes configured",
            ErrorDomain.DOMAIN,
        )
    existing = [parse_memory_device(m) for m in ddef.memory_devices()]
    if dev.model in SLOT_MODELS:
        used = sum(1 for m in existing if m.model in SLOT_MODELS) + 1
        if used > ddef.max_memory_slots:
            raise _unsupported(
                f"memory device count '{used}' exceeds slots count '{ddef.max_memory_slots}'"
            )
        if dev.slot is not None:
            if dev.slot >= ddef.max_memory_slots:
                raise _unsupported(
                    f"memory device slot '{dev.slot}' exceeds slots count '{ddef.max_memory_slots}'"
                )
            if any(m.slot == dev.slot for m in existing if m.model in SLOT_MODELS):
                raise _unsupported(
                    f"memory device slot '{dev.slot}' is already being used by another memory device"
                )
    hotplug_space = ddef.max_memory - ddef.base_memory
    if sum(m.size_kib for m in existing) + dev.size_kib > hotplug_space:
        raise _unsupported("memory device total size exceeds hotplug space")


def assign_slot_and_alias(ddef: DomainDef, elem: ET.Element) -> str:
    """Give the device its slot (first free, holes reused) and alias; returns the alias."""
    dev = parse_memory_device(elem)
    prefix = ALIAS_PREFIX[dev.model]
    existing = [parse_memory_device(m) for m in ddef.memory_devices() if m is not elem]
    if dev.model in SLOT_MODELS:
        slot = dev.slot
        if slot is None:
            used = {m.slot for m in existing if m.model in SLOT_MODELS}
            slot = next(i for i in range(len(used) + 1) if i not in used)
        index = slot
        addr = elem.find("address")
        if addr is None:
            addr = ET.SubElement(elem, "address")
        addr.set("type", "dimm")
        addr.set("slot", str(slot))
    else:
        indexes = [
            int(m.alias[len(prefix) :])
            for m in existing
            if m.alias and m.alias.startswith(prefix) and m.alias[len(prefix) :].isdigit()
        ]
        index = max(indexes, default=-1) + 1
    alias = f"{prefix}{index}"
    set_alias(elem, alias)
    return alias


def assign_base(ddef: DomainDef, elem: ET.Element) -> None:
    """Place a DIMM in guest-physical space: first fit above the RAM (``base='0x…'``)."""
    dev = parse_memory_device(elem)
    addr = elem.find("address")
    if dev.model not in SLOT_MODELS or addr is None or addr.get("base"):
        return
    taken = []
    for other in ddef.memory_devices():
        if other is elem:
            continue
        oaddr = other.find("address")
        if oaddr is not None and oaddr.get("base"):
            start = int(oaddr.get("base", "0"), 0)
            taken.append((start, start + device_size_kib(other) * 1024))
    above_4g = (
        max(ddef.base_memory * 1024 - 0xC0000000, 0) if ddef.base_memory * 1024 > 0xC0000000 else 0
    )
    gib = 1 << 30
    base = DEVICE_MEMORY_BASE + -(-above_4g // gib) * gib
    size = dev.size_kib * 1024
    for start, end in sorted(taken):
        if base + size <= start:
            break
        base = max(base, end)
    addr.set("base", hex(base))


def set_alias(elem: ET.Element, alias: str) -> None:
    from virtwire.server.hypervisor.devices import set_alias as set_device_alias

    set_device_alias(elem, alias)


def matches(existing: ET.Element, wanted: ET.Element) -> bool:
    """virDomainMemoryFindByDef: same model, size, node, and slot/alias when given."""
    a = parse_memory_device(existing)
    b = parse_memory_device(wanted)
    if a.model != b.model or a.size_kib != b.size_kib:
        return False
    if b.node is not None and a.node != b.node:
        return False
    if b.slot is not None and a.slot != b.slot:
        return False
    return not (b.alias is not None and a.alias != b.alias)
