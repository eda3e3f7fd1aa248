"""Virtual networks of ``test:///default``, as libvirt 9.0's test driver keeps them.

A network is a plain model (:class:`NetworkDef`) parsed from client XML with defusedxml and
rendered the way ``virNetworkDefFormat`` prints it (element order, ``stp``/``delay``
defaults, ``<forward>`` normalised to its mode).  :class:`TestNetworks` is the mixin the test
driver composes: lookups, define/undefine/create/destroy, autostart, XML, bridge name,
``virNetworkUpdate`` for the sections libvirt's ``virNetworkDefUpdateSection`` handles, and
NETWORK lifecycle events on every transition (details always 0).

Facts of the 9.0 test driver kept here (checked against libvirtd): ``GetXMLDesc`` refuses
every flag (so ``--inactive`` fails); ``Destroy`` does not check that the network runs (it
"destroys" an inactive one and still emits STOPPED); a CONFIG update of a running network
goes to a pending definition that the test driver never shows nor promotes; no DHCP leases,
no ports, no metadata (NO_SUPPORT).
"""

from __future__ import annotations

import copy
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html import escape
from typing import Any

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNetwork as Net
from virtwire.server.hypervisor import domxml

__all__ = ["DEFAULT_NETWORK_XML", "NetworkDef", "NetworkObj", "TestNetworks", "parse_network"]

DEFAULT_NETWORK_XML = """<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"""

# virNetworkEventLifecycleType
DEFINED, UNDEFINED, STARTED, STOPPED = range(4)

# virConnectListAllNetworksFlags
LIST_INACTIVE, LIST_ACTIVE = 1, 2
LIST_PERSISTENT, LIST_TRANSIENT = 4, 8
LIST_AUTOSTART, LIST_NO_AUTOSTART = 16, 32
LIST_FILTERS_ALL = 63

# virNetworkUpdateFlags / virNetworkUpdateCommand / virNetworkUpdateSection
UPDATE_AFFECT_LIVE, UPDATE_AFFECT_CONFIG = 1, 2
CMD_MODIFY, CMD_DELETE, CMD_ADD_LAST, CMD_ADD_FIRST = 1, 2, 3, 4
SECTIONS = (
    "none",
    "bridge",
    "domain",
    "ip",
    "ip-dhcp-host",
    "ip-dhcp-range",
    "forward",
    "forward-interface",
    "forward-pf",
    "portgroup",
    "dns-host",
    "dns-txt",
    "dns-srv",
)
DEFINE_VALIDATE = 1

FORWARD_MODES = ("nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev")
_STP_MODES = (None, "nat", "route", "open")  # the modes whose <bridge> shows stp/delay


def _q(value: str) -> str:
    """An attribute value as libvirt's virBufferEscapeString writes it."""
    return escape(value, quote=True).replace("&#x27;", "&apos;")


def _net_error(code: ErrorCode, detail: str | None = None) -> LibvirtError:
    """Errors of libvirt's network config layer (network_conf.c, virnetworkobj.c)."""
    return LibvirtError.make(code, ErrorDomain.NETWORK, detail)


def _invalid(detail: str) -> LibvirtError:
    return _net_error(ErrorCode.OPERATION_INVALID, detail)


def _attrs(elem: ET.Element, names: tuple[str, ...]) -> dict[str, str]:
    return {n: elem.get(n) for n in names if elem.get(n) is not None}  # type: ignore[misc]


def _fmt_attrs(values: dict[str, str], order: tuple[str, ...]) -> str:
    return "".join(f" {n}='{_q(values[n])}'" for n in order if n in values)


HOST_ATTRS = ("mac", "id", "name", "ip")
RANGE_ATTRS = ("start", "end")
IP_ATTRS = ("family", "address", "netmask", "prefix", "localPtr")
TXT_ATTRS = ("name", "value")
SRV_ATTRS = ("service", "protocol", "domain", "target", "port", "priority", "weight")


@dataclass
class DnsHost:
    ip: str
    hostnames: list[str]

    def format(self, indent: str) -> str:
        inner = "".join(f"{indent}  <hostname>{escape(h)}</hostname>\n" for h in self.hostnames)
        return f"{indent}<host ip='{_q(self.ip)}'>\n{inner}{indent}</host>\n"


@dataclass
class IpDef:
    attrs: dict[str, str]
    ranges: list[dict[str, str]] = field(default_factory=list)
    hosts: list[dict[str, str]] = field(default_factory=list)
    has_dhcp: bool = False

    @property
    def family(self) -> str:
        fam = self.attrs.get("family")
        if fam:
            return fam
        return "ipv6" if ":" in self.attrs.get("address", "") else "ipv4"

    def format(self) -> str:
        out = f"  <ip{_fmt_attrs(self.attrs, IP_ATTRS)}>\n"
        if self.ranges or self.hosts:
            out += "    <dhcp>\n"
            for rng in self.ranges:
                out += f"      <range{_fmt_attrs(rng, RANGE_ATTRS)}/>\n"
            for host in self.hosts:
                out += f"      <host{_fmt_attrs(host, HOST_ATTRS)}/>\n"
            out += "    </dhcp>\n"
        # virNetworkIPDefFormat always closes <ip> on its own line, even when empty
        return out + "  </ip>\n"


def _format_nat(nat: dict[str, str] | None) -> list[str]:
    """virNetworkForwardNatDefFormat, at the indentation of <forward>'s children."""
    if not nat:
        return []
    head = "    <nat" + (f" ipv6='{_q(nat['ipv6'])}'" if "ipv6" in nat else "")
    if not any(k in nat for k in ("addr_start", "addr_end", "port_start", "port_end")):
        return [head + "/>\n"]
    out = [head + ">\n"]
    if "addr_start" in nat:
        end = f" end='{_q(nat['addr_end'])}'" if "addr_end" in nat else ""
        out.append(f"      <address start='{_q(nat['addr_start'])}'{end}/>\n")
    if "port_start" in nat or "port_end" in nat:
        end = f" end='{_q(nat['port_end'])}'" if "port_end" in nat else ""
        out.append(f"      <port start='{_q(nat.get('port_start', '0'))}'{end}/>\n")
    return out + ["    </nat>\n"]


@dataclass
class NetworkDef:
    """What libvirt's virNetworkDef keeps of a network, in the order it formats it."""

    name: str
    uuid: bytes
    forward_mode: str | None = None  # None: isolated (no <forward>)
    forward_dev: str | None = None
    forward_ifaces: list[str] = field(default_factory=list)
    # <forward mode='nat'><nat ipv6=…><address start end/><port start end/></nat>
    forward_nat: dict[str, str] | None = None
    bridge: str | None = None
    stp: bool = True
    delay: str = "0"
    mtu: str | None = None
    mac: str | None = None
    domain: dict[str, str] | None = None
    dns_txts: list[dict[str, str]] = field(default_factory=list)
    dns_srvs: list[dict[str, str]] = field(default_factory=list)
    dns_hosts: list[DnsHost] = field(default_factory=list)
    ips: list[IpDef] = field(default_factory=list)
    portgroups: list[dict[str, str]] = field(default_factory=list)

    @property
    def uuid_str(self) -> str:
        return str(uuidlib.UUID(bytes=self.uuid))

    def format(self) -> str:
        out = ["<network>\n", f"  <name>{escape(self.name)}</name>\n"]
        out.append(f"  <uuid>{self.uuid_str}</uuid>\n")
        if self.forward_mode is not None:
            dev = self.forward_dev or (self.forward_ifaces[0] if self.forward_ifaces else None)
            head = "  <forward" + (f" dev='{_q(dev)}'" if dev else "")
            head += f" mode='{self.forward_mode}'"
            nat = _format_nat(self.forward_nat) if self.forward_mode == "nat" else []
            if self.forward_ifaces or nat:
                out.append(head + ">\n")
                out.extend(nat)
                out.extend(f"    <interface dev='{_q(i)}'/>\n" for i in self.forward_ifaces)
                out.append("  </forward>\n")
            else:
                out.append(head + "/>\n")
        if self.forward_mode in _STP_MODES:
            name = f" name='{_q(self.bridge)}'" if self.bridge else ""
            stp = "on" if self.stp else "off"
            out.append(f"  <bridge{name} stp='{stp}' delay='{_q(self.delay)}'/>\n")
        elif self.bridge:
            out.append(f"  <bridge name='{_q(self.bridge)}'/>\n")
        if self.mtu:
            out.append(f"  <mtu size='{_q(self.mtu)}'/>\n")
        if self.mac:
            out.append(f"  <mac address='{_q(self.mac)}'/>\n")
        if self.domain:
            out.append(f"  <domain{_fmt_attrs(self.domain, ('name', 'localOnly'))}/>\n")
        if self.dns_txts or self.dns_srvs or self.dns_hosts:
            out.append("  <dns>\n")
            out.extend(f"    <txt{_fmt_attrs(t, TXT_ATTRS)}/>\n" for t in self.dns_txts)
            out.extend(f"    <srv{_fmt_attrs(s, SRV_ATTRS)}/>\n" for s in self.dns_srvs)
            out.extend(h.format("    ") for h in self.dns_hosts)
            out.append("  </dns>\n")
        out.extend(ip.format() for ip in self.ips)
        for pg in self.portgroups:
            default = " default='yes'" if pg.get("default") == "yes" else ""
            out.append(f"  <portgroup name='{_q(pg['name'])}'{default}>\n  </portgroup>\n")
        out.append("</network>\n")
        return "".join(out)


def _parse_root(xml: str, what: str, tag: str) -> ET.Element:
    try:
        root = domxml.parse_document(xml, what)
    except LibvirtError as exc:
        raise LibvirtError(
            exc.code, ErrorDomain.NETWORK, exc.message, str1=exc.str1, str2=exc.str2
        ) from None
    if root.tag != tag:
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"expecting root element of '{tag}', not '{root.tag}'",
        )
    return root


def _dns_host(elem: ET.Element) -> DnsHost:
    return DnsHost(elem.get("ip", ""), [h.text or "" for h in elem.findall("hostname")])


def parse_network(xml: str) -> NetworkDef:
    """virNetworkDefParseString: the parts of a <network> the test driver keeps."""
    root = _parse_root(xml, "network_definition", "network")
    name = (root.findtext("name") or "").strip()
    if not name:
        raise _net_error(ErrorCode.NO_NAME)
    if "/" in name:
        raise _net_error(ErrorCode.XML_ERROR, f"name {name} cannot contain '/'")
    text = root.findtext("uuid")
    if text is None:
        uuid = uuidlib.uuid4().bytes
    else:
        try:
            uuid = uuidlib.UUID(text.strip()).bytes
        except ValueError:
            raise _net_error(ErrorCode.INTERNAL_ERROR, "malformed uuid element") from None
    ndef = NetworkDef(name=name, uuid=uuid)
    fwd = root.find("forward")
    if fwd is not None:
        mode = fwd.get("mode", "nat")
        if mode not in FORWARD_MODES:
            raise _net_error(ErrorCode.XML_ERROR, f"unknown forwarding type '{mode}'")
        ndef.forward_mode = mode
        ndef.forward_dev = fwd.get("dev")
        ndef.forward_ifaces = [i.get("dev", "") for i in fwd.findall("interface")]
        nat = fwd.find("nat")
        if nat is not None:
            addr, port = nat.find("address"), nat.find("port")
            ndef.forward_nat = {
                k: v
                for k, v in (
                    ("ipv6", nat.get("ipv6")),
                    ("addr_start", addr.get("start") if addr is not None else None),
                    ("addr_end", addr.get("end") if addr is not None else None),
                    ("port_start", port.get("start") if port is not None else None),
                    ("port_end", port.get("end") if port is not None else None),
                )
                if v
            }
    br = root.find("bridge")
    if br is not None:
        ndef.bridge = br.get("name")
        ndef.stp = br.get("stp", "on") != "off"
        ndef.delay = br.get("delay", "0")
    mtu = root.find("mtu")
    if mtu is not None:
        ndef.mtu = mtu.get("size")
    mac = root.find("mac")
    if mac is not None:
        ndef.mac = mac.get("address")
    dom = root.find("domain")
    if dom is not None:
        ndef.domain = _attrs(dom, ("name", "localOnly"))
    dns = root.find("dns")
    if dns is not None:
        ndef.dns_txts = [_attrs(t, TXT_ATTRS) for t in dns.findall("txt")]
        ndef.dns_srvs = [_attrs(s, SRV_ATTRS) for s in dns.findall("srv")]
        ndef.dns_hosts = [_dns_host(h) for h in dns.findall("host")]
    for ip in root.findall("ip"):
        ipdef = IpDef(_attrs(ip, IP_ATTRS))
        dhcp = ip.find("dhcp")
        if dhcp is not None:
            ipdef.has_dhcp = True
            ipdef.ranges = [_attrs(r, RANGE_ATTRS) for r in dhcp.findall("range")]
            ipdef.hosts = [_attrs(h, HOST_ATTRS) for h in dhcp.findall("host")]
        ndef.ips.append(ipdef)
    ndef.portgroups = [_attrs(p, ("name", "default")) for p in root.findall("portgroup")]
    if ndef.forward_mode in ("nat", "route") and not any(
        ip.attrs.get("address") for ip in ndef.ips
    ):
        raise _net_error(
            ErrorCode.XML_ERROR,
            f"{ndef.forward_mode} forwarding requested, but no IP address provided "
            f"for network '{name}'",
        )
    return ndef


@dataclass
class NetworkObj:
    """virNetworkObj: the definition shown, and the test driver's flags."""

    defn: NetworkDef
    active: bool = False
    persistent: bool = True
    autostart: bool = False
    pending: NetworkDef | None = None  # newDef: a CONFIG update of a running network

    @property
    def name(self) -> str:
        return self.defn.name

    def handle(self) -> Net:
        return Net(self.defn.name, self.defn.uuid)

    def ref(self) -> ev.NetworkRef:
        return ev.NetworkRef(self.defn.name, self.defn.uuid)


# --- virNetworkDefUpdateSection ---------------------------------------------------------------


def _update_elem(xml: str, tag: str) -> ET.Element:
    root = _parse_root(xml, "network_update_xml", root_tag(xml) or tag)
    if root.tag != tag:
        raise _net_error(ErrorCode.XML_ERROR, f"unexpected element <{root.tag}>, expecting <{tag}>")
    return root


def root_tag(xml: str) -> str | None:
    """The root tag of an update snippet (so the error names what the client sent)."""
    try:
        return domxml.parse_document(xml, "network_update_xml").tag
    except LibvirtError:
        return None


def _ip_by_index(ndef: NetworkDef, index: int, what: str) -> IpDef:
    if index >= 0:
        if index < len(ndef.ips):
            return ndef.ips[index]
        raise _invalid(
            f"couldn't update {what} entry - no <ip> element found at index {index} "
            f"in network '{ndef.name}'"
        )
    for ip in ndef.ips:
        if ip.ranges or ip.hosts:
            return ip
    for family in ("ipv4", "ipv6"):
        for ip in ndef.ips:
            if ip.family == family:
                return ip
    raise _invalid(f"couldn't update {what} entry - no <ip> element found in network '{ndef.name}'")


def _add(items: list, item: Any, command: int) -> None:
    if command == CMD_ADD_FIRST:
        items.insert(0, item)
    else:
        items.append(item)


def _matches(entry: dict[str, str], want: dict[str, str]) -> bool:
    return all(entry.get(k) == v for k, v in want.items())


def _update_dhcp_host(ndef: NetworkDef, command: int, index: int, xml: str) -> None:
    ip = _ip_by_index(ndef, index, "dhcp host")
    host = _attrs(_update_elem(xml, "host"), HOST_ATTRS)
    if command == CMD_MODIFY:
        for i, old in enumerate(ip.hosts):
            if old.get("mac") == host.get("mac") and host.get("mac"):
                ip.hosts[i] = host
                return
        shown = " ".join(f"\"{k}='{host.get(k, '(null)')}'\"" for k in ("mac", "name", "ip"))
        raise _invalid(
            f"couldn't locate an existing dhcp host entry with {shown} in network '{ndef.name}'"
        )
    if command == CMD_DELETE:
        for old in ip.hosts:
            if host and _matches(old, host):
                ip.hosts.remove(old)
                return
        raise _invalid(f"couldn't locate a matching dhcp host entry in network '{ndef.name}'")
    for old in ip.hosts:
        if any(old.get(k) == host.get(k) for k in ("mac", "name", "ip") if host.get(k)):
            raise _invalid(
                f"there is an existing dhcp host entry in network '{ndef.name}' that matches "
                f'"<host{_fmt_attrs(host, HOST_ATTRS)}/>"'
            )
    _add(ip.hosts, host, command)


def _update_dhcp_range(ndef: NetworkDef, command: int, index: int, xml: str) -> None:
    ip = _ip_by_index(ndef, index, "dhcp range")
    rng = _attrs(_update_elem(xml, "range"), RANGE_ATTRS)
    if command == CMD_MODIFY:
        raise _net_error(
            ErrorCode.NO_SUPPORT, "dhcp ranges cannot be modified, only added or deleted"
        )
    found = next((r for r in ip.ranges if r == rng), None)
    text = f'"<range{_fmt_attrs(rng, RANGE_ATTRS)}/>"'
    if command == CMD_DELETE:
        if found is None:
            raise _invalid(f"couldn't locate a matching dhcp range entry in network '{ndef.name}'")
        ip.ranges.remove(found)
        return
    if found is not None:
        raise _invalid(
            f"there is an existing dhcp range entry in network '{ndef.name}' that matches {text}"
        )
    _add(ip.ranges, rng, command)


def _update_list(
    ndef: NetworkDef, items: list, item: Any, key: Any, command: int, what: str
) -> None:
    """The add/delete/modify rules shared by forward-interface, portgroup and dns-*."""
    found = next((i for i, old in enumerate(items) if key(old) == key(item)), None)
    if command == CMD_DELETE:
        if found is None:
            raise _invalid(f"couldn't locate a matching {what} in network '{ndef.name}'")
        del items[found]
    elif command == CMD_MODIFY:
        if found is None:
            raise _invalid(f"couldn't find a matching {what} in network '{ndef.name}'")
        items[found] = item
    else:
        if found is not None:
            raise _invalid(f"there is an existing {what} in network '{ndef.name}'")
        _add(items, item, command)


def update_section(ndef: NetworkDef, command: int, section: int, index: int, xml: str) -> None:
    """Apply one ``virNetworkUpdate`` to ``ndef`` in place (callers pass a copy)."""
    if command not in (CMD_MODIFY, CMD_DELETE, CMD_ADD_LAST, CMD_ADD_FIRST):
        raise _net_error(ErrorCode.NO_SUPPORT, f"can't update network '{ndef.name}'")
    name = SECTIONS[section] if 0 <= section < len(SECTIONS) else None
    if name == "ip-dhcp-host":
        _update_dhcp_host(ndef, command, index, xml)
    elif name == "ip-dhcp-range":
        _update_dhcp_range(ndef, command, index, xml)
    elif name == "forward-interface":
        dev = _update_elem(xml, "interface").get("dev", "")
        _update_list(ndef, ndef.forward_ifaces, dev, str, command, "interface")
    elif name == "portgroup":
        pg = _attrs(_update_elem(xml, "portgroup"), ("name", "default"))
        _update_list(ndef, ndef.portgroups, pg, lambda p: p.get("name"), command, "portgroup")
    elif name == "dns-host":
        host = _dns_host(_update_elem(xml, "host"))
        _update_list(ndef, ndef.dns_hosts, host, lambda h: h.ip, command, "DNS host")
    elif name == "dns-txt":
        txt = _attrs(_update_elem(xml, "txt"), TXT_ATTRS)
        _update_list(ndef, ndef.dns_txts, txt, lambda t: t.get("name"), command, "DNS TXT record")
    elif name == "dns-srv":
        srv = _attrs(_update_elem(xml, "srv"), SRV_ATTRS)
        _update_list(ndef, ndef.dns_srvs, srv, dict.copy, command, "DNS SRV record")
    elif name is None or name == "none":
        raise _net_error(
            ErrorCode.OPERATION_UNSUPPORTED, "can't update unrecognized section of network"
        )
    else:
        raise _net_error(
            ErrorCode.OPERATION_UNSUPPORTED,
            f"can't update '{name}' section of network '{ndef.name}'",
        )


# --- the driver mixin -------------------------------------------------------------------------


class TestNetworks:
    """The network half of ``test:///default`` (``Procedure.driver == "network"``)."""

    __test__ = False

    networks: dict[bytes, NetworkObj]

    # error(), check_flags() and emit() come from the Driver the mixin is composed with
    error: Any
    check_flags: Any
    emit: Any

    def net_error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError:
        """An error of the network driver; the test driver reports in its own domain."""
        return self.error(code, detail)

    def net_function(self, member: str) -> str:
        """libvirt's C function for a member (``NetworkUpdate`` -> ``testNetworkUpdate``)."""
        return f"test{member}"

    def init_networks(self) -> None:
        self.networks = {}
        default = parse_network(DEFAULT_NETWORK_XML)
        self.networks[default.uuid] = NetworkObj(default, active=True)

    # -- lookup ------------------------------------------------------------------------------

    def _net_by_name(self, name: str) -> NetworkObj:
        for obj in self.networks.values():
            if obj.name == name:
                return obj
        raise self.net_error(ErrorCode.NO_NETWORK, f"no network with matching name '{name}'")

    def _net_by_uuid(self, uuid: bytes) -> NetworkObj:
        obj = self.networks.get(bytes(uuid))
        if obj is None:
            text = str(uuidlib.UUID(bytes=bytes(uuid))) if len(uuid) == 16 else uuid.hex()
            raise self.net_error(ErrorCode.NO_NETWORK, f"no network with matching uuid '{text}'")
        return obj

    def _net_event(self, obj: NetworkObj, event: int) -> None:
        self.emit(ev.NetworkLifecycleEvent(obj.ref(), event, 0))

    def network_lookup_by_name(self, name: str) -> Net:
        return self._net_by_name(name).handle()

    def network_lookup_by_uuid(self, uuid: bytes) -> Net:
        return self._net_by_uuid(uuid).handle()

    # -- listing -----------------------------------------------------------------------------

    def _net_names(self, active: bool, limit: int) -> list[str]:
        names = [o.name for o in self.networks.values() if o.active == active]
        return names[: max(limit, 0)]

    def connect_num_of_networks(self) -> int:
        return sum(1 for o in self.networks.values() if o.active)

    def connect_list_networks(self, maxnames: int) -> list[str]:
        return self._net_names(True, maxnames)

    def connect_num_of_defined_networks(self) -> int:
        return sum(1 for o in self.networks.values() if not o.active)

    def connect_list_defined_networks(self, maxnames: int) -> list[str]:
        return self._net_names(False, maxnames)

    def connect_list_all_networks(self, need_results: int, flags: int) -> tuple[list[Net], int]:
        self.check_flags(flags, LIST_FILTERS_ALL, self.net_function("ConnectListAllNetworks"))
        nets = [o.handle() for o in self.networks.values() if _net_matches(o, flags)]
        return (nets if need_results else []), len(nets)

    # -- lifecycle ---------------------------------------------------------------------------

    def _assign(self, ndef: NetworkDef, *, live: bool) -> NetworkObj:
        """virNetworkObjAssignDef's duplicate rules (virnetworkobj.c texts)."""
        obj = self.networks.get(ndef.uuid)
        if obj is not None:
            if obj.name != ndef.name:
                raise _net_error(
                    ErrorCode.OPERATION_FAILED,
                    f"network '{obj.name}' is already defined with uuid {ndef.uuid_str}",
                )
            if live:
                if obj.active:
                    raise _invalid(f"network is already active as '{obj.name}'")
                obj.defn = ndef
            elif obj.active:
                obj.pending = ndef
                obj.persistent = True
            else:
                obj.defn = ndef
                obj.persistent = True
            return obj
        for other in self.networks.values():
            if other.name == ndef.name:
                raise _net_error(
                    ErrorCode.OPERATION_FAILED,
                    f"network '{ndef.name}' already exists with uuid {other.defn.uuid_str}",
                )
        obj = NetworkObj(ndef, persistent=not live)
        self.networks[ndef.uuid] = obj
        return obj

    def network_define_xml(self, xml: str) -> Net:
        return self.network_define_xml_flags(xml, 0)

    def network_define_xml_flags(self, xml: str, flags: int) -> Net:
        self.check_flags(flags, DEFINE_VALIDATE, self.net_function("NetworkDefineXMLFlags"))
        obj = self._assign(parse_network(xml), live=False)
        self._net_event(obj, DEFINED)
        return obj.handle()

    def network_create_xml(self, xml: str) -> Net:
        return self.network_create_xml_flags(xml, 0)

    def network_create_xml_flags(self, xml: str, flags: int) -> Net:
        self.check_flags(flags, 0, self.net_function("NetworkCreateXMLFlags"))
        obj = self._assign(parse_network(xml), live=True)
        obj.active = True
        self._net_event(obj, STARTED)
        return obj.handle()

    def network_undefine(self, net: Net) -> None:
        obj = self._net_by_name(net.name)
        if obj.active:
            raise self.net_error(
                ErrorCode.OPERATION_INVALID, f"Network '{net.name}' is still running"
            )
        self._net_event(obj, UNDEFINED)
        del self.networks[obj.defn.uuid]

    def network_create(self, net: Net) -> None:
        obj = self._net_by_name(net.name)
        if obj.active:
            raise self.net_error(
                ErrorCode.OPERATION_INVALID, f"Network '{net.name}' is already running"
            )
        obj.active = True
        self._net_event(obj, STARTED)

    def network_destroy(self, net: Net) -> None:
        obj = self._net_by_name(net.name)
        # testNetworkDestroy does not check that the network is running
        obj.active = False
        self._net_event(obj, STOPPED)
        if not obj.persistent:
            del self.networks[obj.defn.uuid]

    # -- queries -----------------------------------------------------------------------------

    def network_get_xml_desc(self, net: Net, flags: int) -> str:
        self.check_flags(flags, 0, self.net_function("NetworkGetXMLDesc"))
        return self._net_by_name(net.name).defn.format()

    def network_get_bridge_name(self, net: Net) -> str:
        obj = self._net_by_name(net.name)
        if not obj.defn.bridge:
            raise self.net_error(
                ErrorCode.INTERNAL_ERROR, f"network '{obj.name}' does not have a bridge name."
            )
        return obj.defn.bridge

    def network_get_autostart(self, net: Net) -> int:
        return int(self._net_by_name(net.name).autostart)

    def network_set_autostart(self, net: Net, autostart: int) -> None:
        self._net_by_name(net.name).autostart = autostart != 0

    def network_is_active(self, net: Net) -> int:
        return int(self._net_by_uuid(net.uuid).active)

    def network_is_persistent(self, net: Net) -> int:
        return int(self._net_by_uuid(net.uuid).persistent)

    def network_update(
        self, net: Net, command: int, section: int, parent_index: int, xml: str, flags: int
    ) -> None:
        self.check_flags(
            flags, UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG, self.net_function("NetworkUpdate")
        )
        obj = self._net_by_uuid(net.uuid)
        if not flags & (UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG):
            flags |= UPDATE_AFFECT_LIVE if obj.active else UPDATE_AFFECT_CONFIG
        # virNetworkObjUpdate: a live update needs a running network
        if flags & UPDATE_AFFECT_LIVE and not obj.active:
            raise _invalid("network is not running")
        config = live = None
        if flags & UPDATE_AFFECT_CONFIG:
            if not obj.persistent:
                raise _invalid("cannot change persistent config of a transient network")
            config = copy.deepcopy(obj.pending or obj.defn)
            update_section(config, command, section, parent_index, xml)
        if flags & UPDATE_AFFECT_LIVE:
            live = copy.deepcopy(obj.defn)
            update_section(live, command, section, parent_index, xml)
        if config is not None:
            if obj.active:
                obj.pending = config  # the test driver never shows nor promotes it
            else:
                obj.defn = config
        if live is not None:
            obj.defn = live


def _net_matches(obj: NetworkObj, flags: int) -> bool:
    """virNetworkObjMatch: each pair of filter flags narrows only when one side is set."""
    pairs = (
        (LIST_ACTIVE, LIST_INACTIVE, obj.active),
        (LIST_PERSISTENT, LIST_TRANSIENT, obj.persistent),
        (LIST_AUTOSTART, LIST_NO_AUTOSTART, obj.autostart),
    )
    for yes, no, value in pairs:
        if flags & (yes | no) and not ((flags & yes and value) or (flags & no and not value)):
            return False
    return True
