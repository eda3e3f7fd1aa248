"""Network filters and filter bindings of the QEMU hosts (libvirt 9.0's nwfilter driver).

A fresh host has libvirt's shipped filters (``clean-traffic``, ``no-mac-spoofing``,
``allow-dhcp``, … from src/nwfilter/xml, in nwfilter_defaults.py), each given a UUID the
first time the host starts.  Filters are parsed and printed as ``virNWFilterDefParseXML``
/ ``virNWFilterDefFormat`` do (chain and its default priority, rule action, direction
and priority, filter references with parameters) and persisted one file each in
``<state>/nwfilter/NAME.xml`` (atomic writes).  Bindings are what libvirt instantiates
for a running guest's ``<interface>`` with a ``<filterref>`` (its port device, MAC and
filter parameters) plus those created with ``nwfilter-binding-create`` (kept in
``<state>/nwfilter-binding/PORTDEV.xml``); a filter a binding uses, directly or through
references, cannot be undefined (``nwfilter is in use``).
"""

from __future__ import annotations

import logging
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNwfilter as Filter
from virtwire.protocol.generated.remote_protocol import (
    RemoteNonnullNwfilterBinding as Binding,
)
from virtwire.server.hypervisor.domxml import parse_document
from virtwire.server.hypervisor.nwfilter_defaults import DEFAULT_FILTERS
from virtwire.server.hypervisor.persistence import DomainStore

if TYPE_CHECKING:
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["NWFilterDef", "QemuNWFilters", "format_filter", "parse_filter"]

log = logging.getLogger("virtwire.server")

NWFILTER_DIR, BINDING_DIR = "nwfilter", "nwfilter-binding"
DEFINE_VALIDATE = 1  # VIR_NWFILTER_DEFINE_VALIDATE
BINDING_CREATE_VALIDATE = 1  # VIR_NWFILTER_BINDING_CREATE_VALIDATE
RULE_PRIORITY_DEFAULT = 500
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
# chain prefix → default priority (nwfilter_conf.c chain_priorities)
CHAIN_PRIORITIES = {"root": 0, "stp": -810, "mac": -800, "vlan": -750, "ipv4": -700,
                    "ipv6": -600, "arp": -500, "rarp": -400}  # fmt: skip
RULE_ACTIONS = ("drop", "accept", "reject", "return", "continue")
RULE_DIRECTIONS = ("in", "out", "inout")


def _nwf_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.NWFILTER, detail)


@dataclass
class NWFilterDef:
    name: str
    uuid: bytes
    chain: str
    priority: int
    entries: list[ET.Element]  # <rule> and <filterref> elements, normalised

    def references(self) -> list[str]:
        return [e.get("filter", "") for e in self.entries if e.tag == "filterref"]

    def handle(self) -> Filter:
        return Filter(self.name, self.uuid)


def parse_filter(text: str, *, uuid: bytes | None = None) -> NWFilterDef:
    """virNWFilterDefParseXML, for what virsh shows back."""
    root = parse_document(text, "nwfilter")
    if root.tag != "filter":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"expecting root element of 'filter', not '{root.tag}'",
        )
    name = root.get("name")
    if not name:
        raise _nwf_error(ErrorCode.NO_NAME, "filter has no name")
    priority_text = root.get("priority")
    priority = None
    if priority_text is not None:
        try:
            priority = int(priority_text)
        except ValueError:
            priority = MAX_PRIORITY + 1
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise _nwf_error(
                ErrorCode.INVALID_ARG,
                f"Priority '{priority_text}' is outside valid range of [{MIN_PRIORITY},{MAX_PRIORITY}]",
            )
    chain = root.get("chain") or "root"
    prefix = chain.split("-", 1)[0]
    if prefix not in CHAIN_PRIORITIES or (prefix == "root" and chain != "root"):
        raise _nwf_error(
            ErrorCode.INVALID_ARG,
            f"Invalid chain name '{chain}'. Please use a chain name called 'root' or one "
            "starting with 'mac', 'vlan', 'stp', 'arp', 'rarp', 'ipv4', 'ipv6'",
        )
    if priority is None:
        priority = CHAIN_PRIORITIES[prefix]
    uuid_text = root.findtext("uuid")
    if uuid_text:
        try:
            uuid = uuidlib.UUID(uuid_text.strip()).bytes
        except ValueError:
            raise _nwf_error(ErrorCode.INTERNAL_ERROR, "malformed uuid element") from None
    entries = []
    for child in root:
        if child.tag == "rule":
            entries.append(_parse_rule(child))
        elif child.tag == "filterref":
            if not child.get("filter"):
                raise _nwf_error(ErrorCode.INTERNAL_ERROR, "rule node requires action attribute")
            ref = ET.Element("filterref", {"filter": child.get("filter", "")})
            for param in child.findall("parameter"):
                ET.SubElement(ref, "parameter", {"name": param.get("name", ""),
                                                 "value": param.get("value", "")})  # fmt: skip
            entries.append(ref)
    return NWFilterDef(name, uuid or uuidlib.uuid4().bytes, chain, priority, entries)


def _parse_rule(rule: ET.Element) -> ET.Element:
    action, direction = rule.get("action"), rule.get("direction")
    if action is None:
        raise _nwf_error(ErrorCode.INTERNAL_ERROR, "rule node requires action attribute")
    if action not in RULE_ACTIONS:
        raise _nwf_error(ErrorCode.INTERNAL_ERROR, "unknown rule action attribute value")
    if direction is None:
        raise _nwf_error(ErrorCode.INTERNAL_ERROR, "rule node requires direction attribute")
    if direction not in RULE_DIRECTIONS:
        raise _nwf_error(ErrorCode.INTERNAL_ERROR, "unknown rule direction attribute value")
    priority = rule.get("priority") or str(RULE_PRIORITY_DEFAULT)
    out = ET.Element("rule", {"action": action, "direction": direction, "priority": priority})
    if (rule.get("statematch") or "").lower() in ("0", "false"):
        out.set("statematch", "false")
    for proto in rule:
        if isinstance(proto.tag, str):
            out.append(ET.Element(proto.tag, dict(proto.attrib)))
    return out


def format_filter(fdef: NWFilterDef) -> str:
    """virNWFilterDefFormat."""
    head = f"<filter name='{fdef.name}' chain='{fdef.chain}'"
    if fdef.priority:
        head += f" priority='{fdef.priority}'"
    lines = [head + ">", f"  <uuid>{uuidlib.UUID(bytes=fdef.uuid)}</uuid>"]
    for entry in fdef.entries:
        lines += _format_elem(entry, 1)
    lines.append("</filter>")
    return "\n".join(lines) + "\n"


def _format_elem(elem: ET.Element, depth: int) -> list[str]:
    pad = "  " * depth
    attrs = "".join(f" {k}='{_quote(v)}'" for k, v in elem.attrib.items())
    if not len(elem):
        return [f"{pad}<{elem.tag}{attrs}/>"]
    out = [f"{pad}<{elem.tag}{attrs}>"]
    for child in elem:
        out += _format_elem(child, depth + 1)
    return out + [f"{pad}</{elem.tag}>"]


def _quote(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")


@dataclass
class BindingDef:
    owner_name: str
    owner_uuid: bytes
    portdev: str
    mac: str
    filter: str
    params: list[tuple[str, str]]
    linkdev: str | None = None

    def handle(self) -> Binding:
        return Binding(self.portdev, self.filter)

    def format(self) -> str:
        """virNWFilterBindingDefFormatBuf."""
        out = ["<filterbinding>", "  <owner>", f"    <name>{self.owner_name}</name>",
               f"    <uuid>{uuidlib.UUID(bytes=self.owner_uuid)}</uuid>", "  </owner>",
               f"  <portdev name='{self.portdev}'/>"]  # fmt: skip
        if self.linkdev:
            out.append(f"  <linkdev name='{self.linkdev}'/>")
        out.append(f"  <mac address='{self.mac}'/>")
        if self.params:
            out.append(f"  <filterref filter='{self.filter}'>")
            out += [f"    <parameter name='{n}' value='{_quote(v)}'/>" for n, v in self.params]
            out.append("  </filterref>")
        else:
            out.append(f"  <filterref filter='{self.filter}'/>")
        return "\n".join(out + ["</filterbinding>"]) + "\n"


def parse_binding(text: str) -> BindingDef:
    """virNWFilterBindingDefParseXML."""
    root = parse_document(text, "nwfilterbinding")
    if root.tag != "filterbinding":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"expecting root element of 'filterbinding', not '{root.tag}'",
        )
    owner_name = root.findtext("owner/name")
    if not owner_name:
        raise _nwf_error(ErrorCode.XML_ERROR, "owner name must be specified")
    owner_uuid_text = root.findtext("owner/uuid")
    if not owner_uuid_text:
        raise _nwf_error(ErrorCode.XML_ERROR, "owner UUID must be specified")
    try:
        owner_uuid = uuidlib.UUID(owner_uuid_text.strip()).bytes
    except ValueError:
        raise _nwf_error(ErrorCode.XML_ERROR, f"Unable to parse UUID '{owner_uuid_text}'") from None
    portdev = root.find("portdev").get("name") if root.find("portdev") is not None else None  # type: ignore[union-attr]
    if not portdev:
        raise _nwf_error(ErrorCode.XML_ERROR, "portdev name must be specified")
    mac_el = root.find("mac")
    mac = mac_el.get("address") if mac_el is not None else None
    if not mac:
        raise _nwf_error(ErrorCode.XML_ERROR, "mac address must be specified")
    ref = root.find("filterref")
    if ref is None or not ref.get("filter"):
        raise _nwf_error(ErrorCode.XML_ERROR, "filter must be specified")
    linkdev_el = root.find("linkdev")
    params = [(p.get("name", ""), p.get("value", "")) for p in ref.findall("parameter")]
    return BindingDef(owner_name, owner_uuid, portdev, mac.lower(), ref.get("filter", ""),
                      params, linkdev_el.get("name") if linkdev_el is not None else None)  # fmt: skip


class QemuNWFilters:
    """The ``nwfilter`` kind of a QEMU host (see the module docstring)."""

    if TYPE_CHECKING:

        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...

        domains: dict[bytes, DomainObj]

    nwfilters: dict[str, NWFilterDef]
    nwfilter_store: DomainStore
    nwbinding_store: DomainStore
    nwbindings: dict[str, BindingDef]

    def init_qemu_nwfilters(self, state_dir: Path) -> None:
        self.nwfilter_store = DomainStore(state_dir / NWFILTER_DIR)
        self.nwbinding_store = DomainStore(state_dir / BINDING_DIR)
        self.nwfilters, self.nwbindings = {}, {}
        self._nwfilter_deleted_ports: set[tuple[bytes, int, str]] = set()
        stored = self.nwfilter_store.load_all()
        for path, text in stored:
            try:
                fdef = parse_filter(text)
            except LibvirtError as exc:
                log.error("ignoring unreadable nwfilter file %s: %s", path, exc)
                continue
            self.nwfilters[fdef.name] = fdef
        if not stored:  # a fresh host: libvirt's shipped filters, given UUIDs once
            for text in DEFAULT_FILTERS.values():
                fdef = parse_filter(text)
                self.nwfilters[fdef.name] = fdef
                self.nwfilter_store.save(fdef.name, format_filter(fdef))
        for path, text in self.nwbinding_store.load_all():
            try:
                bdef = parse_binding(text)
            except LibvirtError as exc:
                log.error("ignoring unreadable nwfilter binding %s: %s", path, exc)
                continue
            self.nwbindings[bdef.portdev] = bdef

    # -- filters -----------------------------------------------------------------------------

    def _nwfilter(self, handle: Filter) -> NWFilterDef:
        for fdef in self.nwfilters.values():
            if fdef.uuid == bytes(handle.uuid):
                return fdef
        raise _nwf_error(
            ErrorCode.NO_NWFILTER,
            f"no nwfilter with matching uuid '{uuidlib.UUID(bytes=bytes(handle.uuid))}' "
            f"({handle.name})",
        )

    def _nwfilter_sorted(self) -> list[NWFilterDef]:
        return sorted(self.nwfilters.values(), key=lambda f: f.name)

    def connect_num_of_nw_filters(self) -> int:
        return len(self.nwfilters)

    def connect_list_nw_filters(self, maxnames: int) -> list[str]:
        return [f.name for f in self._nwfilter_sorted()][: max(maxnames, 0)]

    def connect_list_all_nw_filters(self, need_results: int, flags: int) -> tuple[list, int]:
        self.check_flags(flags, 0, "nwfilterConnectListAllNWFilters")
        filters = [f.handle() for f in self._nwfilter_sorted()]
        return (filters if need_results else []), len(filters)

    def nwfilter_lookup_by_name(self, name: str) -> Filter:
        fdef = self.nwfilters.get(name)
        if fdef is None:
            raise _nwf_error(ErrorCode.NO_NWFILTER, f"no nwfilter with matching name '{name}'")
        return fdef.handle()

    def nwfilter_lookup_by_uuid(self, uuid: bytes) -> Filter:
        for fdef in self.nwfilters.values():
            if fdef.uuid == bytes(uuid):
                return fdef.handle()
        raise _nwf_error(
            ErrorCode.NO_NWFILTER,
            f"no nwfilter with matching uuid '{uuidlib.UUID(bytes=bytes(uuid))}'",
        )

    def nwfilter_get_xml_desc(self, nwfilter: Filter, flags: int) -> str:
        self.check_flags(flags, 0, "nwfilterGetXMLDesc")
        return format_filter(self._nwfilter(nwfilter))

    def nwfilter_define_xml(self, xml: str) -> Filter:
        return self.nwfilter_define_xml_flags(xml, 0)

    def nwfilter_define_xml_flags(self, xml: str, flags: int) -> Filter:
        self.check_flags(flags, DEFINE_VALIDATE, "nwfilterDefineXMLFlags")
        fdef = parse_filter(xml)
        uuid_given = "<uuid>" in xml
        existing = self.nwfilters.get(fdef.name)
        for other in self.nwfilters.values():
            if uuid_given and other.uuid == fdef.uuid and other.name != fdef.name:
                raise _nwf_error(
                    ErrorCode.OPERATION_FAILED,
                    f"filter with same UUID but different name ('{other.name}') already exists",
                )
        if existing is not None:
            if uuid_given and existing.uuid != fdef.uuid:
                raise _nwf_error(
                    ErrorCode.OPERATION_FAILED,
                    f"filter '{fdef.name}' already exists with uuid "
                    f"{uuidlib.UUID(bytes=existing.uuid)}",
                )
            fdef.uuid = existing.uuid
        if self._nwfilter_loops(fdef):
            raise _nwf_error(ErrorCode.OPERATION_FAILED, "filter would introduce a loop")
        self.nwfilter_store.save(fdef.name, format_filter(fdef))
        self.nwfilters[fdef.name] = fdef
        return fdef.handle()

    def _nwfilter_loops(self, new: NWFilterDef) -> bool:
        seen: set[str] = set()
        todo = list(new.references())
        while todo:
            name = todo.pop()
            if name == new.name:
                return True
            if name in seen:
                continue
            seen.add(name)
            ref = self.nwfilters.get(name)
            todo += ref.references() if ref is not None else []
        return False

    def _nwfilter_closure(self, name: str) -> set[str]:
        out, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in out:
                continue
            out.add(current)
            ref = self.nwfilters.get(current)
            todo += ref.references() if ref is not None else []
        return out

    def nwfilter_undefine(self, nwfilter: Filter) -> None:
        fdef = self._nwfilter(nwfilter)
        for binding in self._nwfilter_bindings():
            if fdef.name in self._nwfilter_closure(binding.filter):
                raise _nwf_error(ErrorCode.OPERATION_INVALID, "nwfilter is in use")
        path = self.nwfilter_store.path_for(fdef.name)
        try:
            self.nwfilter_store.delete(fdef.name)
        except OSError as exc:
            raise LibvirtError.make(
                ErrorCode.SYSTEM_ERROR,
                ErrorDomain.NWFILTER,
                f"cannot remove config file '{path}': {exc.strerror or exc}",
            ) from None
        del self.nwfilters[fdef.name]

    # -- bindings ------------------------------------------------------------------------------

    def _nwfilter_bindings(self) -> list[BindingDef]:
        """Created bindings, then one per filtered interface of each running guest."""
        out = dict(self.nwbindings)
        for obj in sorted(self.domains.values(), key=lambda o: o.name):
            if obj.live is None:
                continue
            for i, net in enumerate(obj.live.devices.findall("interface")):
                ref = net.find("filterref")
                mac_el = net.find("mac")
                if ref is None or not ref.get("filter") or mac_el is None:
                    continue
                target = net.find("target")
                portdev = (target.get("dev") if target is not None else None) or f"vnet{i}"
                if (obj.uuid, obj.id, portdev) in self._nwfilter_deleted_ports:
                    continue
                params = [(p.get("name", ""), p.get("value", "")) for p in ref.findall("parameter")]
                out.setdefault(portdev, BindingDef(
                    obj.name, obj.uuid, portdev, (mac_el.get("address") or "").lower(),
                    ref.get("filter", ""), params))  # fmt: skip
        return sorted(out.values(), key=lambda b: b.portdev)

    def _nwbinding(self, portdev: str) -> BindingDef:
        for binding in self._nwfilter_bindings():
            if binding.portdev == portdev:
                return binding
        raise _nwf_error(
            ErrorCode.NO_NWFILTER_BINDING, f"no nwfilter binding for port dev '{portdev}'"
        )

    def connect_list_all_nw_filter_bindings(
        self, need_results: int, flags: int
    ) -> tuple[list, int]:
        self.check_flags(flags, 0, "nwfilterConnectListAllNWFilterBindings")
        bindings = [b.handle() for b in self._nwfilter_bindings()]
        return (bindings if need_results else []), len(bindings)

    def nwfilter_binding_lookup_by_port_dev(self, name: str) -> Binding:
        return self._nwbinding(name).handle()

    def nwfilter_binding_get_xml_desc(self, nwfilter: Binding, flags: int) -> str:
        self.check_flags(flags, 0, "nwfilterBindingGetXMLDesc")
        return self._nwbinding(nwfilter.portdev).format()

    def nwfilter_binding_create_xml(self, xml: str, flags: int) -> Binding:
        self.check_flags(flags, BINDING_CREATE_VALIDATE, "nwfilterBindingCreateXML")
        bdef = parse_binding(xml)
        if any(b.portdev == bdef.portdev for b in self._nwfilter_bindings()):
            raise _nwf_error(
                ErrorCode.OPERATION_FAILED,
                f"filter binding for portdev '{bdef.portdev}' already exists",
            )
        if bdef.filter not in self.nwfilters:
            raise _nwf_error(ErrorCode.NO_NWFILTER, f"referenced filter '{bdef.filter}' is missing")
        self.nwbinding_store.save(bdef.portdev, bdef.format())
        self.nwbindings[bdef.portdev] = bdef
        return bdef.handle()

    def nwfilter_binding_delete(self, nwfilter: Binding) -> None:
        binding = self._nwbinding(nwfilter.portdev)
        if binding.portdev in self.nwbindings:
            self.nwbinding_store.delete(binding.portdev)
            del self.nwbindings[binding.portdev]
            return
        for obj in self.domains.values():
            if obj.live is not None and obj.uuid == binding.owner_uuid:
                self._nwfilter_deleted_ports.add((obj.uuid, obj.id, binding.portdev))
