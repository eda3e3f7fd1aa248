"""Virtual networks of the QEMU hosts, as libvirt 9.0's network driver keeps them.

:class:`QemuNetworks` reuses the network model and the ``virNetworkUpdate`` rules of
:mod:`networks` and adds what a real host's network driver does differently from the test
driver: each persistent network is one XML file in ``<state>/networks/`` (written
atomically, as ``/etc/libvirt/qemu/networks/`` is) with an autostart marker in
``autostart/``; a fresh host has libvirt's ``default`` network (NAT, ``virbr0``,
192.168.122.0/24, defined, active, autostart); autostart networks start when the daemon
starts (a restart, even after SIGKILL, loses only transient networks); bridge names and MACs
are assigned at define time; a CONFIG update of a running network becomes its pending
definition, shown by ``--inactive`` and applied when it stops; errors are in domain NETWORK
with the network driver's texts.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import random
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNetworkDhcpLease as Lease
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNetwork as Net
from virtwire.server.hypervisor.networks import (
    _STP_MODES,
    DEFAULT_NETWORK_XML,
    DEFINED,
    STARTED,
    STOPPED,
    UNDEFINED,
    UPDATE_AFFECT_CONFIG,
    UPDATE_AFFECT_LIVE,
    NetworkDef,
    NetworkObj,
    TestNetworks,
    parse_network,
)
from virtwire.server.hypervisor.persistence import DomainStore

log = logging.getLogger("virtwire.server")

NETWORKS_DIR = "networks"
XML_INACTIVE = 1  # VIR_NETWORK_XML_INACTIVE
BRIDGE_TEMPLATE = "virbr{}"
QEMU_MAC_PREFIX = "52:54:00"
LEASE_SECONDS = 3600  # dnsmasq's default lease time, as libvirt starts it
IP_ADDR_TYPE_IPV4 = 0  # VIR_IP_ADDR_TYPE_IPV4


class QemuNetworks(TestNetworks):
    """The network driver of a QEMU host (``Procedure.driver == "network"``), persistent."""

    network_store: DomainStore

    def init_qemu_networks(self, state_dir: Path) -> None:
        directory = state_dir / NETWORKS_DIR
        fresh = not directory.exists()
        self.network_store = DomainStore(directory)
        self.networks = {}
        if fresh:
            # what libvirt-daemon-config-network installs: default.xml, autostarted
            default = parse_network(DEFAULT_NETWORK_XML)
            self._net_complete(default)
            self.network_store.save(default.name, default.format())
            self.network_store.set_autostart(default.name, True)
        for path, text in self.network_store.load_all():
            try:
                ndef = parse_network(text)
            except LibvirtError as exc:
                log.error("ignoring unreadable network file %s: %s", path, exc)
                continue
            if ndef.uuid in self.networks or any(
                o.name == ndef.name for o in self.networks.values()
            ):
                log.error("ignoring %s: duplicate network %s", path, ndef.name)
                continue
            obj = NetworkObj(ndef, autostart=self.network_store.is_autostart(ndef.name))
            obj.active = obj.autostart  # networkAutostartConfigs at daemon start
            self.networks[ndef.uuid] = obj

    # -- the network driver's vocabulary -----------------------------------------------------

    def net_error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError:
        return LibvirtError.make(code, ErrorDomain.NETWORK, detail)

    def net_function(self, member: str) -> str:
        # networkDefineXMLFlags, networkConnectListAllNetworks, ...
        return "network" + member.removeprefix("Network")

    def _net_complete(self, ndef: NetworkDef) -> None:
        """networkSetBridgeName / virNetworkSetBridgeMacAddr at define time."""
        if ndef.forward_mode in _STP_MODES:
            if not ndef.bridge or "%d" in ndef.bridge:
                taken = {o.defn.bridge for o in self.networks.values() if o.defn.name != ndef.name}
                n = 0
                while BRIDGE_TEMPLATE.format(n) in taken:
                    n += 1
                ndef.bridge = BRIDGE_TEMPLATE.format(n)
            if not ndef.mac:
                tail = ":".join(f"{random.randrange(256):02x}" for _ in range(3))
                ndef.mac = f"{QEMU_MAC_PREFIX}:{tail}"

    def _save_network(self, obj: NetworkObj) -> None:
        ndef = obj.pending or obj.defn
        try:
            self.network_store.save(ndef.name, ndef.format())
        except OSError as exc:
            path = self.network_store.path_for(ndef.name)
            raise self.net_error(
                ErrorCode.SYSTEM_ERROR, f"cannot write config file '{path}': {exc.strerror}"
            ) from None

    def _net_obj(self, net: Net) -> NetworkObj:
        """networkObjFromNetwork: by UUID, the name only in the error."""
        obj = self.networks.get(bytes(net.uuid))
        if obj is None:
            uuid = NetworkDef(net.name, bytes(net.uuid)).uuid_str
            raise self.net_error(
                ErrorCode.NO_NETWORK, f"no network with matching uuid '{uuid}' ({net.name})"
            )
        return obj

    # -- lifecycle ---------------------------------------------------------------------------

    def network_define_xml_flags(self, xml: str, flags: int) -> Net:
        self.check_flags(flags, 1, self.net_function("NetworkDefineXMLFlags"))
        ndef = parse_network(xml)
        self._net_complete(ndef)
        existing = self.networks.get(ndef.uuid)
        if existing is not None and existing.name == ndef.name and not ndef.mac:
            ndef.mac = existing.defn.mac
        obj = self._assign(ndef, live=False)
        self._save_network(obj)
        self._net_event(obj, DEFINED)
        return obj.handle()

    def network_create_xml_flags(self, xml: str, flags: int) -> Net:
        self.check_flags(flags, 0, self.net_function("NetworkCreateXMLFlags"))
        ndef = parse_network(xml)
        self._net_complete(ndef)
        obj = self._assign(ndef, live=True)
        obj.active = True
        self._net_event(obj, STARTED)
        return obj.handle()

    def network_undefine(self, net: Net) -> None:
        obj = self._net_obj(net)
        if not obj.persistent:
            raise self.net_error(ErrorCode.OPERATION_INVALID, "can't undefine transient network")
        self.network_store.delete(obj.name)
        self.network_store.set_autostart(obj.name, False)
        obj.autostart = False
        self._net_event(obj, UNDEFINED)
        if obj.active:
            # networkUndefine: a running network stays, transient
            obj.persistent = False
            obj.pending = None
        else:
            del self.networks[obj.defn.uuid]

    def network_create(self, net: Net) -> None:
        obj = self._net_obj(net)
        if obj.active:
            raise self.net_error(ErrorCode.OPERATION_INVALID, "network is already active")
        obj.active = True
        self._net_event(obj, STARTED)

    def network_destroy(self, net: Net) -> None:
        obj = self._net_obj(net)
        if not obj.active:
            raise self.net_error(ErrorCode.OPERATION_INVALID, f"network '{obj.name}' is not active")
        obj.active = False
        self._net_event(obj, STOPPED)
        if obj.pending is not None:
            obj.defn, obj.pending = obj.pending, None
        if not obj.persistent:
            del self.networks[obj.defn.uuid]

    def network_set_autostart(self, net: Net, autostart: int) -> None:
        obj = self._net_obj(net)
        if not obj.persistent:
            raise self.net_error(
                ErrorCode.OPERATION_INVALID, "cannot set autostart for transient network"
            )
        self.network_store.set_autostart(obj.name, autostart != 0)
        obj.autostart = autostart != 0

    def network_get_xml_desc(self, net: Net, flags: int) -> str:
        self.check_flags(flags, XML_INACTIVE, self.net_function("NetworkGetXMLDesc"))
        obj = self._net_obj(net)
        if flags & XML_INACTIVE and obj.pending is not None:
            return obj.pending.format()
        return obj.defn.format()

    def network_update(
        self, net: Net, command: int, section: int, parent_index: int, xml: str, flags: int
    ) -> None:
        obj = self._net_obj(net)
        before = copy.deepcopy(obj.pending or obj.defn)
        super().network_update(net, command, section, parent_index, xml, flags)
        if not flags & (UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG) and not obj.active:
            flags |= UPDATE_AFFECT_CONFIG
        if flags & UPDATE_AFFECT_CONFIG and obj.persistent:
            try:
                self._save_network(obj)
            except LibvirtError:
                obj.pending = before if obj.active else None
                if not obj.active:
                    obj.defn = before
                raise

    # -- DHCP leases ---------------------------------------------------------------------------

    def network_get_dhcp_leases(
        self, net: Net, mac: str | None, need_results: int, flags: int
    ) -> tuple[list[Lease], int]:
        """networkGetDHCPLeases: what dnsmasq would have handed to the running guests."""
        self.check_flags(flags, 0, self.net_function("NetworkGetDHCPLeases"))
        obj = self._net_obj(net)
        leases = []
        if obj.active:
            for dom in getattr(self, "domains", {}).values():
                if dom.live is None:
                    continue
                for iface in dom.live.devices:
                    lease = self._lease(obj.defn, dom.live.name, iface)
                    if lease is not None and (mac is None or lease.mac == mac.lower()):
                        leases.append(lease)
        return (leases if need_results else []), len(leases)

    def _lease(self, ndef: NetworkDef, guest: str, iface: ET.Element) -> Lease | None:
        if iface.tag != "interface" or iface.get("type") != "network":
            return None
        source = iface.find("source")
        mac_elem = iface.find("mac")
        if source is None or source.get("network") != ndef.name or mac_elem is None:
            return None
        mac = (mac_elem.get("address") or "").lower()
        for ip in ndef.ips:
            if ip.family != "ipv4" or not ip.ranges:
                continue
            first = ipaddress.IPv4Address(ip.ranges[0]["start"])
            last = ipaddress.IPv4Address(ip.ranges[0]["end"])
            size = int(last) - int(first) + 1
            # dnsmasq picks from the range by a hash of the MAC: stable across restarts
            address = first + int(mac.replace(":", "")[-6:] or "0", 16) % size
            prefix = ipaddress.IPv4Network(
                f"0.0.0.0/{ip.attrs.get('netmask') or ip.attrs.get('prefix') or '24'}"
            ).prefixlen
            return Lease(
                iface=ndef.bridge or "",
                expirytime=int(time.time()) + LEASE_SECONDS,
                type=IP_ADDR_TYPE_IPV4,
                mac=mac,
                iaid=None,
                ipaddr=str(address),
                prefix=prefix,
                hostname=guest,
                clientid=f"01:{mac}",
            )
        return None


__all__ = ["QemuNetworks"]
