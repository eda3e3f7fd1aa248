"""Where virDomainDefFormat puts each top-level element of a ``<domain>`` (libvirt 9.0).

One table for the mixins that add an element a definition did not have, so it lands
where libvirtd would print it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

__all__ = ["DOMAIN_TOP_ORDER", "top_child"]

DOMAIN_TOP_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo",
    "bootloader", "bootloader_args", "os", "idmap", "features", "cpu", "clock",
    "on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "pm", "perf", "devices",
    "seclabel", "keywrap", "launchSecurity",
)  # fmt: skip


def top_child(root: ET.Element, tag: str) -> ET.Element:
    """``root``'s ``tag`` child, created at its place in DOMAIN_TOP_ORDER when missing."""
    found = root.find(tag)
    if found is not None:
        return found
    before = set(DOMAIN_TOP_ORDER[: DOMAIN_TOP_ORDER.index(tag)])
    at = max((i + 1 for i, child in enumerate(root) if child.tag in before), default=0)
    elem = ET.Element(tag)
    root.insert(at, elem)
    return elem
