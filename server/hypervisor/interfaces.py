"""Host interfaces of ``test:///default``, as libvirt 9.0's test driver keeps them.

The test driver starts with one interface, ``eth1`` (active).  A definition is a plain
model rendered in ``virInterfaceDefFormat``'s order (start, mtu, protocols, then the MAC).
:class:`TestInterfaces` is the mixin the test driver composes: listing, lookup by name and
MAC, XML, define/undefine (no "is active" check, as in the test driver), create/destroy, and
the change transaction (begin/commit/rollback) the test driver implements.  Interfaces have
no events in libvirt.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullInterface as Iface
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.networks import _q

__all__ = ["DEFAULT_INTERFACE_XML", "InterfaceDef", "InterfaceObj", "TestInterfaces"]

DEFAULT_INTERFACE_XML = """<interface type="ethernet" name="eth1">
  <start mode="onboot"/>
  <mac address="aa:bb:cc:dd:ee:ff"/>
  <mtu size="1492"/>
  <protocol family="ipv4">
    <ip address="192.168.0.5" prefix="24"/>
    <route gateway="192.168.0.1"/>
  </protocol>
</interface>
"""

LIST_INACTIVE, LIST_ACTIVE = 1, 2
DEFINE_VALIDATE = 1
TYPES = ("ethernet", "bridge", "bond", "vlan")


def _if_error(code: ErrorCode, detail: str | None = None) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.INTERFACE, detail)


def _format_elem(elem: ET.Element, indent: str) -> str:
    """An element the model keeps as is, in libvirt's two-space, single-quote style."""
    attrs = "".join(f" {k}='{_q(v)}'" for k, v in elem.attrib.items())
    children = list(elem)
    text = (elem.text or "").strip()
    if not children and not text:
        return f"{indent}<{elem.tag}{attrs}/>\n"
    if not children:
        return f"{indent}<{elem.tag}{attrs}>{text}</{elem.tag}>\n"
    inner = "".join(_format_elem(c, indent + "  ") for c in children)
    return f"{indent}<{elem.tag}{attrs}>\n{inner}{indent}</{elem.tag}>\n"


@dataclass
class InterfaceDef:
    type: str
    name: str
    start: str | None = None
    mtu: str | None = None
    mac: str | None = None
    protocols: list[ET.Element] = field(default_factory=list)
    others: list[ET.Element] = field(default_factory=list)  # bridge/bond/vlan contents

    def format(self) -> str:
        out = [f"<interface type='{_q(self.type)}' name='{_q(self.name)}'>\n"]
        if self.start:
            out.append(f"  <start mode='{_q(self.start)}'/>\n")
        out.extend(_format_elem(e, "  ") for e in self.others)
        if self.mtu:
            out.append(f"  <mtu size='{_q(self.mtu)}'/>\n")
        out.extend(_format_elem(e, "  ") for e in self.protocols)
        if self.mac:
            out.append(f"  <mac address='{_q(self.mac)}'/>\n")
        out.append("</interface>\n")
        return "".join(out)


def parse_interface(xml: str) -> InterfaceDef:
    try:
        root = domxml.parse_document(xml, "interface_definition")
    except LibvirtError as exc:
        raise LibvirtError(
            exc.code, ErrorDomain.INTERFACE, exc.message, str1=exc.str1, str2=exc.str2
        ) from None
    if root.tag != "interface":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"expecting root element of 'interface', not '{root.tag}'",
        )
    itype = root.get("type")
    if itype is None:
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            "Missing required attribute 'type' in element 'interface'",
        )
    if itype not in TYPES:
        raise _if_error(ErrorCode.XML_ERROR, f"unknown interface type {itype}")
    name = root.get("name")
    if not name:
        raise _if_error(ErrorCode.XML_ERROR, "interface has no name")
    idef = InterfaceDef(itype, name)
    for child in root:
        if child.tag == "start":
            idef.start = child.get("mode")
        elif child.tag == "mtu":
            idef.mtu = child.get("size")
        elif child.tag == "mac":
            idef.mac = child.get("address")
        elif child.tag == "protocol":
            idef.protocols.append(child)
        elif child.tag in ("bridge", "bond", "vlan", "link"):
            idef.others.append(child)
    return idef


@dataclass
class InterfaceObj:
    defn: InterfaceDef
    active: bool = False

    def handle(self) -> Iface:
        return Iface(self.defn.name, self.defn.mac or "")


class TestInterfaces:
    """The interface half of ``test:///default`` (``Procedure.driver == "interface"``)."""

    __test__ = False

    interfaces: dict[str, InterfaceObj]
    # error() and check_flags() come from the Driver the mixin is composed with
    error: Any
    check_flags: Any

    def init_interfaces(self) -> None:
        eth1 = parse_interface(DEFAULT_INTERFACE_XML)
        self.interfaces = {eth1.name: InterfaceObj(eth1, active=True)}
        self._iface_backup: dict[str, InterfaceObj] | None = None

    def _iface(self, name: str) -> InterfaceObj:
        obj = self.interfaces.get(name)
        if obj is None:
            raise self.error(ErrorCode.NO_INTERFACE, f"no interface with matching name '{name}'")
        return obj

    # -- listing -------------------------------------------------------------------------

    def _iface_names(self, active: bool, limit: int) -> list[str]:
        names = [n for n, o in self.interfaces.items() if o.active == active]
        return names[: max(limit, 0)]

    def connect_num_of_interfaces(self) -> int:
        return sum(1 for o in self.interfaces.values() if o.active)

    def connect_list_interfaces(self, maxnames: int) -> list[str]:
        return self._iface_names(True, maxnames)

    def connect_num_of_defined_interfaces(self) -> int:
        return sum(1 for o in self.interfaces.values() if not o.active)

    def connect_list_defined_interfaces(self, maxnames: int) -> list[str]:
        return self._iface_names(False, maxnames)

    def connect_list_all_interfaces(self, need_results: int, flags: int) -> tuple[list, int]:
        self.check_flags(flags, LIST_INACTIVE | LIST_ACTIVE, "testConnectListAllInterfaces")
        out = []
        for obj in self.interfaces.values():
            if flags & (LIST_ACTIVE | LIST_INACTIVE) and not (
                (flags & LIST_ACTIVE and obj.active) or (flags & LIST_INACTIVE and not obj.active)
            ):
                continue
            out.append(obj.handle())
        return (out if need_results else []), len(out)

    # -- lookup and XML --------------------------------------------------------------------

    def interface_lookup_by_name(self, name: str) -> Iface:
        return self._iface(name).handle()

    def interface_lookup_by_mac_string(self, mac: str) -> Iface:
        found = [o for o in self.interfaces.values() if (o.defn.mac or "").lower() == mac.lower()]
        if not found:
            raise self.error(ErrorCode.NO_INTERFACE, f"no interface with matching mac '{mac}'")
        if len(found) > 1:
            raise self.error(ErrorCode.MULTIPLE_INTERFACES)
        return Iface(found[0].defn.name, mac)

    def interface_get_xml_desc(self, iface: Iface, flags: int) -> str:
        self.check_flags(flags, 0, "testInterfaceGetXMLDesc")
        return self._iface(iface.name).defn.format()

    def interface_is_active(self, iface: Iface) -> int:
        return int(self._iface(iface.name).active)

    # -- lifecycle -------------------------------------------------------------------------

    def interface_define_xml(self, xml: str, flags: int) -> Iface:
        self.check_flags(flags, DEFINE_VALIDATE, "testInterfaceDefineXML")
        idef = parse_interface(xml)
        obj = self.interfaces.get(idef.name)
        if obj is None:
            obj = self.interfaces[idef.name] = InterfaceObj(idef)
        else:
            obj.defn = idef  # virInterfaceObjListAssignDef replaces the definition
        return obj.handle()

    def interface_undefine(self, iface: Iface) -> None:
        del self.interfaces[self._iface(iface.name).defn.name]

    def interface_create(self, iface: Iface, flags: int) -> None:
        self.check_flags(flags, 0, "testInterfaceCreate")
        obj = self._iface(iface.name)
        if obj.active:
            raise self.error(ErrorCode.OPERATION_INVALID)
        obj.active = True

    def interface_destroy(self, iface: Iface, flags: int) -> None:
        self.check_flags(flags, 0, "testInterfaceDestroy")
        obj = self._iface(iface.name)
        if not obj.active:
            raise self.error(ErrorCode.OPERATION_INVALID)
        obj.active = False

    # -- the change transaction ------------------------------------------------------------

    def interface_change_begin(self, flags: int) -> None:
        self.check_flags(flags, 0, "testInterfaceChangeBegin")
        if self._iface_backup is not None:
            raise self.error(ErrorCode.OPERATION_INVALID, "there is another transaction running.")
        # virInterfaceObjListClone copies the definitions only: a rollback leaves every
        # interface inactive (as libvirtd 9.0 shows)
        self._iface_backup = {
            name: InterfaceObj(copy.deepcopy(obj.defn)) for name, obj in self.interfaces.items()
        }

    def interface_change_commit(self, flags: int) -> None:
        self.check_flags(flags, 0, "testInterfaceChangeCommit")
        if self._iface_backup is None:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "no transaction running, nothing to be committed."
            )
        self._iface_backup = None

    def interface_change_rollback(self, flags: int) -> None:
        self.check_flags(flags, 0, "testInterfaceChangeRollback")
        if self._iface_backup is None:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "no transaction running, nothing to rollback."
            )
        self.interfaces = self._iface_backup
        self._iface_backup = None
