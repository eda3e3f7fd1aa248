"""A definition's vCPUs as libvirt keeps them: ``<vcpu current='N'>MAX</vcpu>`` and ``<vcpus>``.

libvirt models every vCPU up to the maximum with an ``online`` state, a tristate
``hotpluggable`` and an ``order``; ``<vcpus>`` (one ``<vcpu id enabled hotpluggable order/>``
each) is printed only once a definition has individual vCPU states (``individualvcpus``:
after a live hot-plug or a config change with ``--hotpluggable``), otherwise the states
follow from ``current`` (virDomainVcpuParse / virDomainCpuDefFormat).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.hostfacts import invalid_arg

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef

__all__ = [
    "VcpuState",
    "check_set_vcpus_args",
    "parse_online_count",
    "read_states",
    "write_states",
]

# virDomainVcpuFlags
VCPU_LIVE, VCPU_CONFIG, VCPU_MAXIMUM, VCPU_GUEST, VCPU_HOTPLUGGABLE = 1, 2, 4, 8, 16


@dataclass
class VcpuState:
    online: bool
    hotpluggable: str | None = None  # virTristateBool: "yes", "no" or absent
    order: int = 0


def check_set_vcpus_args(nvcpus: int, flags: int) -> None:
    """The public API's checks of virDomainSetVcpusFlags (libvirt-domain.c)."""
    fn = "virDomainSetVcpusFlags"
    if flags & VCPU_MAXIMUM and not flags & VCPU_CONFIG:
        raise invalid_arg(
            ErrorDomain.DOMAIN,
            fn,
            "flags",
            "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
        )
    if flags & VCPU_GUEST and flags & VCPU_CONFIG:
        raise invalid_arg(
            ErrorDomain.DOMAIN,
            fn,
            "flags",
            "Flags 'VIR_DOMAIN_VCPU_GUEST' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        )
    if nvcpus == 0:
        raise invalid_arg(ErrorDomain.DOMAIN, fn, "nvcpus", f"nvcpus in {fn} must not be zero")


def _xml_error(detail: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, detail)


def _parse_individual(root: ET.Element, maxvcpus: int) -> list[VcpuState] | None:
    nodes = root.findall("vcpus/vcpu")
    if not nodes:
        return None
    states = [VcpuState(False) for _ in range(maxvcpus)]
    for node in nodes:
        raw = node.get("id")
        if raw is None:
            raise _xml_error("Missing required attribute 'id' in element 'vcpu'")
        try:
            vid = int(raw)
        except ValueError:
            raise _xml_error(
                f"Invalid value for attribute 'id' in element 'vcpu': '{raw}'. "
                "Expected non-negative integer value"
            ) from None
        if not 0 <= vid < maxvcpus:
            raise _xml_error(f"vcpu id '{vid}' is out of range of maximum vcpu count")
        enabled = node.get("enabled")
        if enabled not in ("yes", "no"):
            raise _xml_error(
                "Missing required attribute 'enabled' in element 'vcpu'"
                if enabled is None
                else f"Invalid value for attribute 'enabled' in element 'vcpu': '{enabled}'. "
                "Expected one of 'yes', 'no'"
            )
        state = states[vid]
        state.online = enabled == "yes"
        state.hotpluggable = node.get("hotpluggable")
        state.order = int(node.get("order", "0") or 0)
    return states


def order_attrs(vcpu_el: ET.Element) -> None:
    """virDomainCpuDefFormat's attribute order: placement, cpuset, current."""
    attrs = dict(vcpu_el.attrib)
    vcpu_el.attrib.clear()
    for name in ("placement", "cpuset", "current"):
        if name in attrs:
            vcpu_el.set(name, attrs.pop(name))
    vcpu_el.attrib.update(attrs)


def parse_online_count(root: ET.Element, maxvcpus: int) -> int:
    """The online vCPUs of a parsed ``<domain>``: ``<vcpus>`` wins over ``current``."""
    vcpu_el = root.find("vcpu")
    if vcpu_el is not None:
        order_attrs(vcpu_el)
    individual = _parse_individual(root, maxvcpus)
    if individual is not None:
        return sum(1 for s in individual if s.online)
    raw = vcpu_el.get("current") if vcpu_el is not None else None
    if raw is None:
        return maxvcpus
    try:
        current = int(raw)
        if current < 0:
            raise ValueError(raw)
    except ValueError:
        raise _xml_error(
            f"Invalid value for attribute 'current' in element 'vcpu': '{raw}'. "
            "Expected non-negative integer value"
        ) from None
    if current > maxvcpus:  # virDomainDefSetVcpus
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG,
            ErrorDomain.DOMAIN,
            "requested vcpus is greater than max allowable vcpus for the domain: "
            f"{current} > {maxvcpus}",
        )
    if current == 0:
        raise _xml_error("Invalid number of vCPUs")
    return current


def read_states(ddef: DomainDef) -> tuple[list[VcpuState], bool]:
    """Every vCPU's state and whether the definition has individual states."""
    individual = _parse_individual(ddef.tree, ddef.max_vcpus)
    if individual is not None:
        return individual, True
    return [VcpuState(i < ddef.vcpus) for i in range(ddef.max_vcpus)], False


def write_states(ddef: DomainDef, states: list[VcpuState], individual: bool) -> None:
    """virDomainCpuDefFormat into the tree; ``vcpus``/``max_vcpus`` follow."""
    root = ddef.tree
    vcpu_el = root.find("vcpu")
    assert vcpu_el is not None  # parse_domain always adds one
    online = sum(1 for s in states if s.online)
    ddef.vcpus, ddef.max_vcpus = online, len(states)
    vcpu_el.text = str(len(states))
    if online != len(states):
        vcpu_el.set("current", str(online))
    else:
        vcpu_el.attrib.pop("current", None)
    order_attrs(vcpu_el)
    old = root.find("vcpus")
    if not individual:
        if old is not None:
            root.remove(old)
        return
    new = ET.Element("vcpus")
    for i, state in enumerate(states):
        attrs = {"id": str(i), "enabled": "yes" if state.online else "no"}
        if state.hotpluggable:
            attrs["hotpluggable"] = state.hotpluggable
        if state.order:
            attrs["order"] = str(state.order)
        ET.SubElement(new, "vcpu", attrs)
    if old is not None:
        new.tail = old.tail
        root[list(root).index(old)] = new
    else:
        at = list(root).index(vcpu_el) + 1
        new.tail = vcpu_el.tail
        root.insert(at, new)
