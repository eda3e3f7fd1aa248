"""What a QEMU host's guests tell about themselves: addresses, file systems, clock, hostname.

As libvirt 9.0's QEMU driver: ``domifaddr`` reads the DHCP leases of the host's simulated
networks (``--source lease``, the default), the host's ARP table (``--source arp``: the
leased IPv4 address, no prefix) or asks the guest agent (``--source agent``: ``lo`` and
one ``ethN`` per interface, with the lease and an EUI-64 link-local IPv6 address).  The
agent answers only for a running guest whose definition has its channel (``<channel
type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>``); otherwise
libvirt's ``QEMU guest agent is not configured`` (VIR_ERR_ARGUMENT_UNSUPPORTED).  The
simulated guest's clock is the host's plus what ``domtime --time`` set (``--sync`` resets it
from the RTC); its hostname is the domain's name; its file systems are ``/`` on the first
disk's first partition and ``/mnt/DEV`` on the others (ext4).
"""

from __future__ import annotations

import ipaddress
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.hostfacts import invalid_arg
from virtwire.server.hypervisor.model import DomainState

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuGuestAgent", "has_agent_channel"]

Dom = rp.RemoteNonnullDomain

AGENT_CHANNEL = "org.qemu.guest_agent.0"
# virDomainInterfaceAddressesSource
SRC_LEASE, SRC_AGENT, SRC_ARP = 0, 1, 2
IP_ADDR_TYPE_IPV4, IP_ADDR_TYPE_IPV6 = 0, 1
# virDomainGetHostnameFlags
HOSTNAME_LEASE, HOSTNAME_AGENT = 1, 2
TIME_SYNC = 1  # VIR_DOMAIN_TIME_SYNC
LLONG_MAX = 2**63 - 1
# virDomainGuestInfoTypes
INFO_USERS, INFO_OS, INFO_TIMEZONE, INFO_HOSTNAME = 0x1, 0x2, 0x4, 0x8
INFO_FILESYSTEM, INFO_DISKS, INFO_INTERFACES = 0x10, 0x20, 0x40
INFO_ALL = 0x7F
GUEST_FS_TOTAL = 10 * 1024**3  # each simulated file system: 10 GiB, a fifth used
GUEST_KERNEL = ("6.1.0-13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)")


def has_agent_channel(ddef: DomainDef) -> bool:
    """qemuFindAgentConfig: a virtio channel named org.qemu.guest_agent.0."""
    for chan in ddef.devices.findall("channel"):
        target = chan.find("target")
        if target is not None and target.get("name") == AGENT_CHANNEL:
            return True
    return False


def interface_name(ddef: DomainDef, index: int, net: ET.Element) -> str:
    """The host-side tap name (``<target dev>`` or QEMU's ``vnetN``), as stats.py names it."""
    target = net.find("target")
    return (target.get("dev") if target is not None else None) or f"vnet{index}"


def _mac(net: ET.Element) -> str:
    mac = net.find("mac")
    return (mac.get("address") or "").lower() if mac is not None else ""


def _link_local(mac: str) -> str:
    """The EUI-64 link-local address a Linux guest derives from its MAC."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


class QemuGuestAgent:
    """domifaddr, domfsinfo, domtime, domhostname and guestinfo of the QEMU hosts."""

    if TYPE_CHECKING:  # provided by Driver and the network mixin

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def not_running(self) -> LibvirtError: ...
        def network_lookup_by_name(self, name: str) -> rp.RemoteNonnullNetwork: ...
        def network_get_dhcp_leases(
            self, net: rp.RemoteNonnullNetwork, mac: str | None, need_results: int, flags: int
        ) -> tuple[list[rp.RemoteNetworkDhcpLease], int]: ...

    guest_wall_ns = staticmethod(time.time_ns)  # the host's real-time clock; tests replace it

    # -- the agent -----------------------------------------------------------------------------

    def agent_check(self, obj: DomainObj) -> None:
        """virDomainObjCheckActive + qemuDomainAgentAvailable."""
        if obj.live is None:
            raise self.not_running()
        if obj.state != DomainState.RUNNING:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is not running")
        if not has_agent_channel(obj.live):
            raise self.error(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured")

    def _guest_running(self, dom: Dom) -> tuple[DomainObj, DomainDef]:
        obj = self.find(dom)
        if obj.live is None:
            raise self.not_running()
        return obj, obj.live

    # -- addresses -------------------------------------------------------------------------------

    def _guest_leases(self, net: ET.Element) -> list[rp.RemoteNetworkDhcpLease]:
        source = net.find("source")
        handle = self.network_lookup_by_name(
            source.get("network", "") if source is not None else ""
        )
        leases, _count = self.network_get_dhcp_leases(handle, _mac(net), 1, 0)
        return leases

    def domain_interface_addresses(
        self, dom: Dom, source: int, flags: int = 0
    ) -> list[rp.RemoteDomainInterface]:
        self.check_flags(flags, 0, "qemuDomainInterfaceAddresses")
        obj, ddef = self._guest_running(dom)
        nets = ddef.devices.findall("interface")
        out = []
        if source == SRC_LEASE:
            for i, net in enumerate(nets):
                if net.get("type") != "network":
                    continue
                leases = self._guest_leases(net)
                if leases:
                    addrs = [rp.RemoteDomainIpAddr(le.type, le.ipaddr, le.prefix) for le in leases]
                    out.append(
                        rp.RemoteDomainInterface(interface_name(ddef, i, net), _mac(net), addrs)
                    )
        elif source == SRC_ARP:
            for i, net in enumerate(nets):
                if net.get("type") != "network":
                    continue
                for lease in self._guest_leases(net):
                    addr = rp.RemoteDomainIpAddr(IP_ADDR_TYPE_IPV4, lease.ipaddr, 0)
                    out.append(
                        rp.RemoteDomainInterface(interface_name(ddef, i, net), _mac(net), [addr])
                    )
        elif source == SRC_AGENT:
            self.agent_check(obj)
            out.append(
                rp.RemoteDomainInterface(
                    "lo",
                    "00:00:00:00:00:00",
                    [
                        rp.RemoteDomainIpAddr(IP_ADDR_TYPE_IPV4, "127.0.0.1", 8),
                        rp.RemoteDomainIpAddr(IP_ADDR_TYPE_IPV6, "::1", 128),
                    ],
                )
            )
            for i, net in enumerate(nets):
                mac = _mac(net)
                addrs = []
                if net.get("type") == "network":
                    addrs = [
                        rp.RemoteDomainIpAddr(le.type, le.ipaddr, le.prefix)
                        for le in self._guest_leases(net)
                    ]
                if mac:
                    addrs.append(rp.RemoteDomainIpAddr(IP_ADDR_TYPE_IPV6, _link_local(mac), 64))
                out.append(rp.RemoteDomainInterface(f"eth{i}", mac, addrs))
        else:
            raise self.error(
                ErrorCode.ARGUMENT_UNSUPPORTED, f"Unknown IP address data source {source}"
            )
        return out

    # -- file systems ----------------------------------------------------------------------------

    @staticmethod
    def guest_filesystems(ddef: DomainDef) -> list[tuple[str, str, str, str]]:
        """(mountpoint, name, fstype, disk target) of each simulated file system."""
        out = []
        for disk in ddef.devices.findall("disk"):
            if disk.get("device", "disk") != "disk":
                continue
            target = disk.find("target")
            dev = target.get("dev", "") if target is not None else ""
            if not dev:
                continue
            mount = "/" if not out else f"/mnt/{dev}"
            out.append((mount, f"{dev}1", "ext4", dev))
        return out

    def domain_get_fs_info(
        self, dom: Dom, flags: int = 0
    ) -> tuple[list[rp.RemoteDomainFsinfo], int]:
        self.check_flags(flags, 0, "qemuDomainGetFSInfo")
        obj, ddef = self._guest_running(dom)
        self.agent_check(obj)
        info = [
            rp.RemoteDomainFsinfo(mount, name, fstype, [dev])
            for mount, name, fstype, dev in self.guest_filesystems(ddef)
        ]
        return info, len(info)

    # -- clock -------------------------------------------------------------------------------------

    def guest_clock_offsets(self) -> dict[tuple[bytes, int], int]:
        """ns the guest's clock is ahead of the host's, per running domain (uuid, id)."""
        table = self.__dict__.get("_guest_clock_offsets")
        if table is None:
            table = self.__dict__["_guest_clock_offsets"] = {}
        return table

    def domain_get_time(self, dom: Dom, flags: int = 0) -> tuple[int, int]:
        self.check_flags(flags, 0, "qemuDomainGetTime")
        obj, _ddef = self._guest_running(dom)
        self.agent_check(obj)
        now = self.guest_wall_ns() + self.guest_clock_offsets().get((obj.uuid, obj.id), 0)
        return now // 10**9, now % 10**9

    def domain_set_time(self, dom: Dom, seconds: int, nseconds: int, flags: int = 0) -> None:
        self.check_flags(flags, TIME_SYNC, "qemuDomainSetTime")
        obj, _ddef = self._guest_running(dom)
        self.agent_check(obj)
        key = (obj.uuid, obj.id)
        if flags & TIME_SYNC:
            self.guest_clock_offsets().pop(key, None)  # the guest reads the RTC: host time
            return
        if seconds > LLONG_MAX // 10**9:  # qemuAgentSetTime
            raise self.error(ErrorCode.INVALID_ARG, f"Time '{seconds}' is too big for guest agent")
        target = seconds * 10**9 + nseconds
        self.guest_clock_offsets()[key] = target - self.guest_wall_ns()

    # -- hostname -----------------------------------------------------------------------------------

    def domain_get_hostname(self, dom: Dom, flags: int = 0) -> str:
        self.check_flags(flags, HOSTNAME_LEASE | HOSTNAME_AGENT, "qemuDomainGetHostname")
        if flags & HOSTNAME_LEASE and flags & HOSTNAME_AGENT:
            raise invalid_arg(
                ErrorDomain.QEMU,
                "qemuDomainGetHostname",
                "flags",
                "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' "
                "are mutually exclusive",
            )
        obj, ddef = self._guest_running(dom)
        hostname = None
        if flags & HOSTNAME_LEASE:
            for net in ddef.devices.findall("interface"):
                if net.get("type") != "network":
                    continue
                for lease in self._guest_leases(net):
                    hostname = hostname or lease.hostname
                if hostname:
                    break
        else:
            self.agent_check(obj)
            hostname = obj.name
        if not hostname:
            raise self.error(ErrorCode.NO_HOSTNAME, f"no hostname found for domain {obj.name}")
        return hostname

    def _guest_boot_ms(self, obj: DomainObj) -> int:
        """When root logged in: the guest's boot, on the wall clock (ms)."""
        up_ns = max(time.monotonic_ns() - obj.started_ns, 0)
        return (self.guest_wall_ns() - up_ns) // 10**6

    # -- guestinfo ------------------------------------------------------------------------------------

    def domain_get_guest_info(
        self, dom: Dom, types: int, flags: int = 0
    ) -> list[rp.RemoteTypedParam]:
        self.check_flags(flags, 0, "qemuDomainGetGuestInfo")
        if types & ~INFO_ALL:  # qemuDomainGetGuestInfoCheckSupport
            raise self.error(
                ErrorCode.INVALID_ARG,
                f"unsupported guest information types '0x{types & ~INFO_ALL:x}'",
            )
        types = types or INFO_ALL
        obj, ddef = self._guest_running(dom)
        self.agent_check(obj)
        values: dict[str, object] = {}
        kinds: dict[str, int] = {}

        def put(name: str, value: object, kind: int) -> None:
            values[name], kinds[name] = value, kind

        if types & INFO_USERS:
            put("user.count", 1, tp.UINT)
            put("user.0.name", "root", tp.STRING)
            put("user.0.login-time", self._guest_boot_ms(obj), tp.ULLONG)
        if types & INFO_OS:
            for key, value in (
                ("id", "debian"),
                ("name", "Debian GNU/Linux"),
                ("pretty-name", "Debian GNU/Linux 12 (bookworm)"),
                ("version", "12 (bookworm)"),
                ("version-id", "12"),
                ("kernel-release", GUEST_KERNEL[0]),
                ("kernel-version", GUEST_KERNEL[1]),
                ("machine", "x86_64"),
            ):
                put(f"os.{key}", value, tp.STRING)
        if types & INFO_TIMEZONE:
            put("timezone.name", "UTC", tp.STRING)
            put("timezone.offset", 0, tp.INT)
        if types & INFO_HOSTNAME:
            put("hostname", obj.name, tp.STRING)
        fss = self.guest_filesystems(ddef)
        if types & INFO_FILESYSTEM:
            put("fs.count", len(fss), tp.UINT)
            for i, (mount, name, fstype, dev) in enumerate(fss):
                put(f"fs.{i}.mountpoint", mount, tp.STRING)
                put(f"fs.{i}.name", name, tp.STRING)
                put(f"fs.{i}.fstype", fstype, tp.STRING)
                put(f"fs.{i}.total-bytes", GUEST_FS_TOTAL, tp.ULLONG)
                put(f"fs.{i}.used-bytes", GUEST_FS_TOTAL // 5, tp.ULLONG)
                put(f"fs.{i}.disk.count", 1, tp.UINT)
                put(f"fs.{i}.disk.0.alias", dev, tp.STRING)
                put(f"fs.{i}.disk.0.device", f"/dev/{name}", tp.STRING)
        if types & INFO_DISKS:
            put("disk.count", 2 * len(fss), tp.UINT)
            for i, (_mount, name, _fstype, dev) in enumerate(fss):
                put(f"disk.{2 * i}.name", f"/dev/{dev}", tp.STRING)
                put(f"disk.{2 * i}.partition", False, tp.BOOLEAN)
                put(f"disk.{2 * i}.alias", dev, tp.STRING)
                put(f"disk.{2 * i + 1}.name", f"/dev/{name}", tp.STRING)
                put(f"disk.{2 * i + 1}.partition", True, tp.BOOLEAN)
                put(f"disk.{2 * i + 1}.dependency.count", 1, tp.UINT)
                put(f"disk.{2 * i + 1}.dependency.0.name", f"/dev/{dev}", tp.STRING)
        if types & INFO_INTERFACES:
            ifaces = self.domain_interface_addresses(dom, SRC_AGENT, 0)
            put("if.count", len(ifaces), tp.UINT)
            for i, iface in enumerate(ifaces):
                put(f"if.{i}.name", iface.name, tp.STRING)
                put(f"if.{i}.hwaddr", iface.hwaddr or "", tp.STRING)
                put(f"if.{i}.addr.count", len(iface.addrs), tp.UINT)
                for j, addr in enumerate(iface.addrs):
                    kind = "ipv4" if addr.type == IP_ADDR_TYPE_IPV4 else "ipv6"
                    put(f"if.{i}.addr.{j}.type", kind, tp.STRING)
                    put(f"if.{i}.addr.{j}.addr", addr.addr, tp.STRING)
                    put(f"if.{i}.addr.{j}.prefix", addr.prefix, tp.UINT)
        return tp.to_wire(values, kinds)  # type: ignore[arg-type]
