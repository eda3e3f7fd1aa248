"""The rest of libvirt 9.0's test-driver domain members (src/test/test_driver.c).

Found missing by the virsh tour (tests/interop/test_virsh_tour.py) and served here as the
test driver does them: ``reset``, ``inject-nmi``, ``send-key``, ``send-process-signal``
and ``set-user-password`` (checks, then nothing), ``domcontrol`` (derived from the guest
clock, as the test driver derives it), ``domblkinfo`` (its fixed 1 TiB figures),
``domblkerror`` (one made-up error per disk), ``domfsinfo``/``domfsfreeze``/``domfsthaw``/
``domfstrim`` (two file systems, ``/`` and ``/boot``, on the first disk), ``domifaddr``
(addresses from the interface's network), ``domrename``, ``managedsave`` (and
``managedsave-remove``, ``dominfo``'s "Managed save"), ``cpu-models`` (the x86 models of
libvirt 9.0's cpu_map), ``domlaunchsecinfo`` (nothing), ``perf`` (every event, kept in
``<perf>``), ``memtune``/``numatune``/``blkiotune``/``domiftune``/``blkdeviotune`` readings
of the definition (their setters and IOThreads: test_tuning_setters.py), ``memory-peek``, and ``dominfo``'s CPU time (the test
driver reports the wall clock).
"""

from __future__ import annotations

import ipaddress
import re
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.records import DomainInfo
from virtwire.server.hypervisor.cpu_models import cpu_model_names
from virtwire.server.hypervisor.domain_order import DOMAIN_TOP_ORDER as TOP_ORDER
from virtwire.server.hypervisor.model import DomainState

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["TestDomainExtras"]

Dom = rp.RemoteNonnullDomain

# virConnectListAllDomainsFlags: (has, has not) per kind
LIST_GROUPS = {
    "managed": (1 << 8, 1 << 9),
    "snapshot": (1 << 12, 1 << 13),
    "checkpoint": (1 << 14, 1 << 15),
}
LIST_MOMENT_FILTERS = sum(a | b for a, b in LIST_GROUPS.values())
# VIR_DOMAIN_CONTROL_* and VIR_DOMAIN_CONTROL_ERROR_REASON_*
CONTROL_OK, CONTROL_JOB, CONTROL_OCCUPIED, CONTROL_ERROR = 0, 1, 2, 3
PROCESS_SIGNAL_LAST = 65  # VIR_DOMAIN_PROCESS_SIGNAL_LAST
DISK_ERROR_LAST = 3  # VIR_DOMAIN_DISK_ERROR_LAST
MEMORY_VIRTUAL, MEMORY_PHYSICAL = 1, 2
SAVE_FLAGS = 0x1 | 0x2 | 0x4  # BYPASS_CACHE | RUNNING | PAUSED
AFFECT_BOTH, STRING_OKAY = 0x3, 0x4
IP_ADDR_TYPE_IPV4, IP_ADDR_TYPE_IPV6 = 0, 1
ADDRESSES_SRC_LAST = 3
MEMORY_PARAM_UNLIMITED = 9007199254740991  # VIR_DOMAIN_MEMORY_PARAM_UNLIMITED
NUMATUNE_MODES = {"strict": 0, "preferred": 1, "interleave": 2, "restrictive": 3}
NUMA_PARAM_TYPES = {"numa_mode": tp.INT, "numa_nodeset": tp.STRING}


def numatune_values(ddef: DomainDef) -> dict[str, int | str]:
    """virDomainGetNumaParameters' two values from ``<numatune><memory>`` (strict, "")."""
    memory = ddef.tree.find("numatune/memory")
    mode = memory.get("mode", "strict") if memory is not None else "strict"
    nodeset = (memory.get("nodeset") or "") if memory is not None else ""
    return {"numa_mode": NUMATUNE_MODES.get(mode, 0), "numa_nodeset": nodeset}


# lifecycle events
EV_DEFINED, EV_UNDEFINED, EV_STOPPED = 0, 1, 5
DEFINED_RENAMED, UNDEFINED_RENAMED, STOPPED_SAVED = 2, 1, 4
SHUTOFF_SAVED = 5

# virPerfEvent, in libvirt 9.0's order
PERF_EVENTS = (
    "cmt", "mbmt", "mbml", "cpu_cycles", "instructions", "cache_references",
    "cache_misses", "branch_instructions", "branch_misses", "bus_cycles",
    "stalled_cycles_frontend", "stalled_cycles_backend", "ref_cpu_cycles", "cpu_clock",
    "task_clock", "page_faults", "context_switches", "cpu_migrations", "page_faults_min",
    "page_faults_maj", "alignment_faults", "emulation_faults",
)  # fmt: skip

BLOCK_INFO = (1099511627776, 1099506450432, 1099511627776)  # allocation, capacity, physical
MOUNTPOINTS = ("/", "/boot")

BLOCK_IOTUNE_FIELDS = (
    "total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec",
    "read_iops_sec", "write_iops_sec", "total_bytes_sec_max", "read_bytes_sec_max",
    "write_bytes_sec_max", "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max",
    "size_iops_sec", "group_name", "total_bytes_sec_max_length", "read_bytes_sec_max_length",
    "write_bytes_sec_max_length", "total_iops_sec_max_length", "read_iops_sec_max_length",
    "write_iops_sec_max_length",
)  # fmt: skip
BANDWIDTH_FIELDS = (
    ("inbound", "average"), ("inbound", "peak"), ("inbound", "burst"), ("inbound", "floor"),
    ("outbound", "average"), ("outbound", "peak"), ("outbound", "burst"),
)  # fmt: skip


def _group_keeps(flags: int, yes: int, no: int, has: bool) -> bool:
    """One filter group of virDomainObjListExport: both bits or neither keep everything."""
    if bool(flags & yes) == bool(flags & no):
        return True
    return has if flags & yes else not has


def _invalid_arg(detail: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.TEST, detail)


def _disk_by_name(ddef: DomainDef, name: str) -> ET.Element | None:
    """virDomainDiskByName: by target name, or by source path."""
    disks = ddef.devices.findall("disk")
    for disk in disks:
        target = disk.find("target")
        if target is not None and target.get("dev") == name:
            return disk
    for disk in disks:
        source = disk.find("source")
        if source is not None and name in (source.get("file"), source.get("dev")):
            return disk
    return None


def _has_source(disk: ET.Element) -> bool:
    source = disk.find("source")
    return source is not None and any(
        source.get(a) for a in ("file", "dev", "dir", "name", "volume")
    )


def _int_text(elem: ET.Element | None, default: int = 0) -> int:
    text = (elem.text or "").strip() if elem is not None else ""
    return int(text) if text.isdigit() else default


class TestDomainExtras:
    """Test-driver domain members that need no other model than the definition."""

    if TYPE_CHECKING:  # provided by Driver / TestDriver and its mixins

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def not_running(self) -> LibvirtError: ...
        def stop(self, obj: DomainObj, reason: int) -> None: ...
        def lifecycle(self, obj: DomainObj, event: int, detail: int) -> None: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...
        def guest_clocks(self) -> dict[bytes, tuple[int, int]]: ...

        domains: dict[bytes, DomainObj]
        networks: dict[bytes, Any]

    extras_wall_ns = staticmethod(time.time_ns)

    def _extras_active(self, dom: Dom) -> DomainObj:
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        return obj

    def managed_saves(self) -> set[bytes]:
        """The domains with a managed save image (testDomainObj's hasManagedSave)."""
        return self.__dict__.setdefault("_managed_saves", set())

    # -- listing filters the base driver cannot know ---------------------------------------

    def connect_list_all_domains(self, flags: int = 0) -> list[Dom]:
        """virDomainObjListExport's managed-save, snapshot and checkpoint filters."""
        found = super().connect_list_all_domains(flags & ~LIST_MOMENT_FILTERS)  # type: ignore[misc]
        out = []
        for handle in found:
            obj = self.find(handle)
            has = {
                "managed": obj.uuid in self.managed_saves(),
                "snapshot": bool(self.snaps_of(obj).items),  # type: ignore[attr-defined]
                "checkpoint": bool(self.chk_list_of(obj).items),  # type: ignore[attr-defined]
            }
            if all(
                _group_keeps(flags, yes, no, has[kind]) for kind, (yes, no) in LIST_GROUPS.items()
            ):
                out.append(handle)
        return out

    # -- dominfo, domcontrol -----------------------------------------------------------------

    def domain_get_info(self, dom: Dom) -> DomainInfo:
        info = super().domain_get_info(dom)  # type: ignore[misc]
        # testDomainGetInfo: cpuTime = g_get_real_time() * 1000, whatever the state
        return info._replace(cpu_time=self.extras_wall_ns() // 1000 * 1000)

    def domain_get_control_info(self, dom: Dom, flags: int = 0) -> tuple[int, int, int]:
        self.check_flags(flags, 0, "testDomainGetControlInfo")
        obj = self._extras_active(dom)
        from virtwire.server.hypervisor.guestinfo import TEST_GUEST_EPOCH

        seconds = self.guest_clocks().get(obj.uuid, (TEST_GUEST_EPOCH, 0))[0]
        if 0 < seconds < 10000:
            return CONTROL_JOB, 0, seconds
        if 10000 <= seconds < 30000:
            return CONTROL_OCCUPIED, 0, seconds - 10000
        if 30000 <= seconds < 60000:
            return CONTROL_ERROR, seconds % 4, seconds - 30000
        return CONTROL_OK, 0, 0

    # -- no-ops that check -------------------------------------------------------------------

    def domain_reset(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0, "testDomainReset")
        self._extras_active(dom)

    def domain_inject_nmi(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0, "testDomainInjectNMI")
        self._extras_active(dom)

    def domain_send_key(
        self, dom: Dom, codeset: int, holdtime: int, keycodes: list[int], flags: int = 0
    ) -> None:
        self.check_flags(flags, 0, "testDomainSendKey")
        self._extras_active(dom)

    def domain_set_user_password(
        self, dom: Dom, user: str | None, password: str | None, flags: int = 0
    ) -> None:
        self.check_flags(flags, 0x1, "testDomainSetUserPassword")  # PASSWORD_ENCRYPTED
        self._extras_active(dom)

    def domain_send_process_signal(
        self, dom: Dom, pid_value: int, signum: int, flags: int = 0
    ) -> None:
        self.check_flags(flags, 0, "testDomainSendProcessSignal")
        if pid_value != 1:
            raise _invalid_arg("only sending a signal to pid 1 is supported")
        if signum >= PROCESS_SIGNAL_LAST:
            raise _invalid_arg(f"signum value {signum} is out of range")
        self.find(dom)

    def domain_memory_peek(self, dom: Dom, offset: int, size: int, flags: int = 0) -> bytes:
        self.check_flags(flags, MEMORY_VIRTUAL | MEMORY_PHYSICAL, "testDomainMemoryPeek")
        if flags not in (MEMORY_VIRTUAL, MEMORY_PHYSICAL):
            raise _invalid_arg("flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL")
        self._extras_active(dom)
        return bytes((offset + i) & 0xFF for i in range(size))

    # -- disks and file systems --------------------------------------------------------------

    def domain_get_block_info(self, dom: Dom, path: str, flags: int = 0) -> tuple[int, int, int]:
        self.check_flags(flags, 0, "testDomainGetBlockInfo")
        obj = self.find(dom)
        disk = _disk_by_name(obj.current, path)
        if disk is None:
            raise _invalid_arg(f"invalid path {path} not assigned to domain")
        if not _has_source(disk):
            raise _invalid_arg(f"disk '{path}' does not currently have a source assigned")
        return BLOCK_INFO

    def domain_get_disk_errors(
        self, dom: Dom, maxerrors: int, flags: int = 0
    ) -> tuple[list[rp.RemoteDomainDiskError], int]:
        self.check_flags(flags, 0, "testDomainGetDiskErrors")
        obj = self._extras_active(dom)
        targets = [
            (d.find("target").get("dev") or "") if d.find("target") is not None else ""
            for d in obj.current.devices.findall("disk")
        ]
        if not maxerrors:
            return [], len(targets)
        errors = [
            rp.RemoteDomainDiskError(disk=t, error=i % (DISK_ERROR_LAST - 1) + 1)
            for i, t in enumerate(targets[:maxerrors])
        ]
        return errors, len(errors)

    def _fs_disk(self, obj: DomainObj) -> str | None:
        for disk in obj.current.devices.findall("disk"):
            if disk.get("device", "disk") == "disk":
                target = disk.find("target")
                return target.get("dev") if target is not None else ""
        return None

    def domain_get_fs_info(
        self, dom: Dom, flags: int = 0
    ) -> tuple[list[rp.RemoteDomainFsinfo], int]:
        self.check_flags(flags, 0, "testDomainGetFSInfo")
        obj = self._extras_active(dom)
        name = self._fs_disk(obj)
        if name is None:
            return [], 0
        info = [
            rp.RemoteDomainFsinfo(
                mountpoint=mp, name=f"{name}{i + 1}", fstype="ext4", dev_aliases=[name]
            )
            for i, mp in enumerate(MOUNTPOINTS)
        ]
        return info, len(info)

    def _frozen(self, obj: DomainObj) -> list[bool]:
        frozen = self.__dict__.setdefault("_frozen_fs", {})
        return frozen.setdefault(obj.uuid, [False, False])

    def _fs_index(self, mountpoint: str) -> int:
        if mountpoint not in MOUNTPOINTS:
            raise self.error(ErrorCode.OPERATION_INVALID, f"mount point not found: {mountpoint}")
        return MOUNTPOINTS.index(mountpoint)

    def _fs_change(self, dom: Dom, mountpoints: list[str], freeze: bool, function: str) -> int:
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        state = self._frozen(obj)
        if not mountpoints:
            changed = sum(1 for f in state if f != freeze)
            state[:] = [freeze, freeze]
            return changed
        new = list(state)
        changed = 0
        for mp in mountpoints:
            i = self._fs_index(mp)
            if new[i] != freeze:
                new[i] = freeze
                changed += 1
        state[:] = new
        return changed

    def domain_fs_freeze(self, dom: Dom, mountpoints: list[str], flags: int = 0) -> int:
        self.check_flags(flags, 0, "testDomainFSFreeze")
        return self._fs_change(dom, mountpoints, True, "testDomainFSFreeze")

    def domain_fs_thaw(self, dom: Dom, mountpoints: list[str], flags: int = 0) -> int:
        self.check_flags(flags, 0, "testDomainFSThaw")
        return self._fs_change(dom, mountpoints, False, "testDomainFSThaw")

    def domain_fs_trim(
        self, dom: Dom, mount_point: str | None, minimum: int, flags: int = 0
    ) -> None:
        self.check_flags(flags, 0, "testDomainFSTrim")
        self._extras_active(dom)
        if mount_point is not None:
            self._fs_index(mount_point)

    # -- interface addresses -----------------------------------------------------------------

    def domain_interface_addresses(
        self, dom: Dom, source: int, flags: int = 0
    ) -> list[rp.RemoteDomainInterface]:
        self.check_flags(flags, 0, "testDomainInterfaceAddresses")
        if source >= ADDRESSES_SRC_LAST:
            raise self.error(
                ErrorCode.ARGUMENT_UNSUPPORTED, f"Unknown IP address data source {source}"
            )
        obj = self._extras_active(dom)
        out = []
        for i, net in enumerate(obj.current.devices.findall("interface")):
            target = net.find("target")
            mac = net.find("mac")
            name = target.get("dev") if target is not None else None
            hwaddr = mac.get("address") if mac is not None else None
            if net.get("type") == "network":
                src = net.find("source")
                offset = 20 * (obj.id - 1) + i + 1
                addr = self._extras_net_address(
                    src.get("network") if src is not None else "", offset
                )
            else:
                addr = rp.RemoteDomainIpAddr(
                    type=IP_ADDR_TYPE_IPV4, addr=f"192.168.0.{1 + i}", prefix=24
                )
            out.append(rp.RemoteDomainInterface(name=name or "", hwaddr=hwaddr, addrs=[addr]))
        return out

    def _extras_net_address(self, network: str | None, offset: int) -> rp.RemoteDomainIpAddr:
        """testDomainInterfaceAddressFromNet: the first DHCP range start (or the network's
        own address) plus an offset per domain id and interface."""
        for obj in self.networks.values():
            if obj.name == network:
                break
        else:
            raise self.error(ErrorCode.NO_NETWORK, f"no network with matching name '{network}'")
        ip = obj.defn.ips[0]
        attrs = ip.attrs
        if attrs.get("prefix"):
            prefix = int(attrs["prefix"])
        elif attrs.get("netmask"):
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{attrs['netmask']}").prefixlen
        else:
            prefix = 0
        start = ip.ranges[0]["start"] if ip.ranges else attrs.get("address", "0.0.0.0")
        base = ipaddress.ip_address(start)
        kind = IP_ADDR_TYPE_IPV6 if ip.family == "ipv6" else IP_ADDR_TYPE_IPV4
        if kind == IP_ADDR_TYPE_IPV6:
            raw = bytearray(base.packed)
            raw[15] = (raw[15] + offset) & 0xFF
            text = str(ipaddress.IPv6Address(bytes(raw)))
        else:
            text = str(ipaddress.IPv4Address((int(base) + offset) & 0xFFFFFFFF))
        return rp.RemoteDomainIpAddr(type=kind, addr=text, prefix=prefix)

    # -- rename ------------------------------------------------------------------------------

    def domain_rename(self, dom: Dom, new_name: str | None, flags: int = 0) -> int:
        self.check_flags(flags, 0, "testDomainRename")
        obj = self.find(dom)
        if obj.active:
            raise self.error(ErrorCode.OPERATION_INVALID, "cannot rename active domain")
        if not obj.persistent:
            raise self.error(ErrorCode.OPERATION_INVALID, "cannot rename a transient domain")
        if obj.state != DomainState.SHUTOFF:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "domain has to be shutoff before renaming"
            )
        new_name = new_name or ""
        if new_name == obj.name:
            raise LibvirtError.make(
                ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "Can't rename domain to itself"
            )
        for other in self.domains.values():
            if other.name == new_name:
                raise LibvirtError.make(
                    ErrorCode.OPERATION_INVALID,
                    ErrorDomain.DOMAIN,
                    f"domain with name '{new_name}' already exists",
                )
        self.lifecycle(obj, EV_UNDEFINED, UNDEFINED_RENAMED)
        obj.config.name = new_name
        name_elem = obj.config.tree.find("name")
        if name_elem is not None:
            name_elem.text = new_name
        self.lifecycle(obj, EV_DEFINED, DEFINED_RENAMED)
        return 0

    # -- managed save ------------------------------------------------------------------------

    def domain_managed_save(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, SAVE_FLAGS, "testDomainManagedSave")
        obj = self._extras_active(dom)
        if not obj.persistent:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cannot do managed save for transient domain"
            )
        self.stop(obj, SHUTOFF_SAVED)
        self.lifecycle(obj, EV_STOPPED, STOPPED_SAVED)
        self.managed_saves().add(obj.uuid)

    def domain_has_managed_save_image(self, dom: Dom, flags: int = 0) -> bool:
        self.check_flags(flags, 0, "testDomainHasManagedSaveImage")
        return self.find(dom).uuid in self.managed_saves()

    def domain_managed_save_remove(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0, "testDomainManagedSaveRemove")
        self.managed_saves().discard(self.find(dom).uuid)

    # -- host CPU models ---------------------------------------------------------------------

    def connect_get_cpu_model_names(
        self, arch: str, need_results: int, flags: int = 0
    ) -> tuple[list[str], int]:
        self.check_flags(flags, 0, "testConnectGetCPUModelNames")
        models = cpu_model_names(arch, ErrorDomain.TEST)
        return (models if need_results else []), len(models)

    def domain_get_launch_security_info(
        self, dom: Dom, flags: int = 0
    ) -> list[rp.RemoteTypedParam]:
        self.check_flags(flags, 0, "testDomainGetLaunchSecurityInfo")
        return []

    # -- tuning readings ---------------------------------------------------------------------

    def _extras_params(
        self, values: dict[str, Any], kinds: dict[str, int], nparams: int
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        if nparams == 0:
            return [], len(values)
        params = tp.to_wire(values, kinds)[:nparams]
        return params, len(params)

    def domain_get_memory_parameters(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(flags, AFFECT_BOTH | STRING_OKAY, "testDomainGetMemoryParameters")
        if nparams == 0:
            return [], 3
        ddef = self.one_def(self.find(dom), flags & AFFECT_BOTH)
        tune = ddef.tree.find("memtune")
        values = {}
        for key in ("hard_limit", "soft_limit", "swap_hard_limit"):
            elem = tune.find(key) if tune is not None else None
            values[key] = _int_text(elem, MEMORY_PARAM_UNLIMITED)
        return self._extras_params(values, dict.fromkeys(values, tp.ULLONG), nparams)

    def domain_get_numa_parameters(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(flags, AFFECT_BOTH | STRING_OKAY, "testDomainGetNumaParameters")
        if nparams == 0:
            return [], 2
        ddef = self.one_def(self.find(dom), flags & AFFECT_BOTH)
        return self._extras_params(numatune_values(ddef), NUMA_PARAM_TYPES, nparams)

    def domain_get_blkio_parameters(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(flags, AFFECT_BOTH | STRING_OKAY, "testDomainGetBlkioParameters")
        if nparams == 0:
            return [], 6
        ddef = self.one_def(self.find(dom), flags & AFFECT_BOTH)
        tune = ddef.tree.find("blkiotune")
        weight = _int_text(tune.find("weight") if tune is not None else None)
        devices = tune.findall("device") if tune is not None else []

        def joined(key: str) -> str:
            parts = []
            for dev in devices:
                value = _int_text(dev.find(key))
                if value:
                    parts.append(f"{dev.findtext('path')},{value}")
            return ",".join(parts)

        values: dict[str, Any] = {"weight": weight}
        kinds = {"weight": tp.UINT}
        for key, name in (
            ("weight", "device_weight"),
            ("read_iops_sec", "device_read_iops_sec"),
            ("write_iops_sec", "device_write_iops_sec"),
            ("read_bytes_sec", "device_read_bytes_sec"),
            ("write_bytes_sec", "device_write_bytes_sec"),
        ):
            values[name] = joined(key)
            kinds[name] = tp.STRING
        return self._extras_params(values, kinds, nparams)

    def domain_get_interface_parameters(
        self, dom: Dom, device: str, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(flags, AFFECT_BOTH | STRING_OKAY, "testDomainGetInterfaceParameters")
        if nparams == 0:
            return [], 7
        ddef = self.one_def(self.find(dom), flags & AFFECT_BOTH)
        net = self._extras_net_find(ddef, device)
        values = {}
        for direction, key in BANDWIDTH_FIELDS:
            elem = net.find(f"bandwidth/{direction}")
            raw = elem.get(key) if elem is not None else None
            values[f"{direction}.{key}"] = int(raw) if raw and raw.isdigit() else 0
        return self._extras_params(values, dict.fromkeys(values, tp.UINT), nparams)

    def _extras_net_find(self, ddef: DomainDef, device: str) -> ET.Element:
        """virDomainNetFind: by MAC address (when it parses as one) or target device."""
        nets = ddef.devices.findall("interface")
        if re.fullmatch(r"[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}", device):
            want = [int(x, 16) for x in device.split(":")]
            for net in nets:
                mac = net.find("mac")
                text = (mac.get("address") or "") if mac is not None else ""
                if text and [int(x, 16) for x in text.split(":")] == want:
                    return net
        else:
            for net in nets:
                target = net.find("target")
                if target is not None and target.get("dev") == device:
                    return net
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, f"'{device}' is not a known interface"
        )

    def domain_get_block_io_tune(
        self, dom: Dom, disk: str | None, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(flags, AFFECT_BOTH | STRING_OKAY, "testDomainGetBlockIoTune")
        if nparams == 0:
            return [], len(BLOCK_IOTUNE_FIELDS)
        ddef = self.one_def(self.find(dom), flags & AFFECT_BOTH)
        found = _disk_by_name(ddef, disk or "")
        if found is None:
            raise _invalid_arg(f"disk '{disk}' was not found in the domain config")
        iotune = found.find("iotune")
        values: dict[str, Any] = {}
        kinds = {}
        for key in BLOCK_IOTUNE_FIELDS:
            elem = iotune.find(key) if iotune is not None else None
            if key == "group_name":
                values[key] = (elem.text or "") if elem is not None else ""
                kinds[key] = tp.STRING
            else:
                values[key] = _int_text(elem)
                kinds[key] = tp.ULLONG
        return self._extras_params(values, kinds, nparams)

    # -- perf events -------------------------------------------------------------------------

    def domain_get_perf_events(self, dom: Dom, flags: int = 0) -> list[rp.RemoteTypedParam]:
        self.check_flags(flags, AFFECT_BOTH | STRING_OKAY, "testDomainGetPerfEvents")
        ddef = self.one_def(self.find(dom), flags & AFFECT_BOTH)
        enabled = {
            e.get("name"): e.get("enabled") == "yes" for e in ddef.tree.findall("perf/event")
        }
        values = {name: bool(enabled.get(name)) for name in PERF_EVENTS}
        return tp.to_wire(values, dict.fromkeys(values, tp.BOOLEAN))

    def domain_set_perf_events(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT_BOTH, "testDomainSetPerfEvents")
        for param in params:
            if param.field not in PERF_EVENTS:
                raise _invalid_arg(f"parameter '{param.field}' not supported")
            if int(param.value.type) != tp.BOOLEAN:
                raise _invalid_arg(
                    f"invalid type '{tp.TypedParamType(int(param.value.type)).name.lower()}' "
                    f"for parameter '{param.field}', expected 'boolean'"
                )
        ddef = self.one_def(self.find(dom), flags)
        perf = ddef.tree.find("perf")
        if perf is None:
            perf = ET.Element("perf")
            index = (
                list(ddef.tree).index(ddef.devices)
                if ddef.tree.find("devices") is not None
                else len(ddef.tree)
            )
            ddef.tree.insert(index, perf)
        events = {e.get("name"): e for e in perf.findall("event")}
        for param in params:
            elem = events.get(param.field)
            if elem is None:
                elem = events[param.field] = ET.SubElement(perf, "event", name=param.field)
            elem.set("enabled", "yes" if param.value.value else "no")
        order = {name: i for i, name in enumerate(PERF_EVENTS)}
        perf[:] = sorted(perf.findall("event"), key=lambda e: order.get(e.get("name") or "", 99))

    # -- tuning setters ----------------------------------------------------------------------

    def _extras_validate(
        self, params: list[rp.RemoteTypedParam], kinds: dict[str, int]
    ) -> dict[str, Any]:
        """virTypedParamsValidate: known fields of the expected types."""
        for param in params:
            want = kinds.get(param.field)
            if want is None:
                raise _invalid_arg(f"parameter '{param.field}' not supported")
            got = int(param.value.type)
            if got != want:
                raise _invalid_arg(
                    f"invalid type '{_TYPE_NAMES[got]}' for parameter '{param.field}', "
                    f"expected '{_TYPE_NAMES[want]}'"
                )
        return tp.from_wire(params)

    def domain_set_memory_parameters(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT_BOTH, "testDomainSetMemoryParameters")
        values = self._extras_validate(params, dict.fromkeys(MEMTUNE_FIELDS, tp.ULLONG))
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        current = obj.current.tree.find("memtune")

        def limit(key: str) -> int:
            elem = current.find(key) if current is not None else None
            return _int_text(elem, MEMORY_PARAM_UNLIMITED)

        if "hard_limit" in values or "swap_hard_limit" in values:
            mem = values.get("hard_limit", limit("hard_limit"))
            swap = values.get("swap_hard_limit", limit("swap_hard_limit"))
            if mem > swap:
                raise _invalid_arg(
                    "memory hard_limit tunable value must be lower than or equal to swap_hard_limit"
                )
        tune = _extras_child(ddef.tree, "memtune", TOP_ORDER)
        for key in MEMTUNE_FIELDS:
            if key in values:
                _extras_set_text(tune, key, values[key], MEMTUNE_FIELDS, unit="KiB")
        for elem in list(tune):
            if _int_text(elem, MEMORY_PARAM_UNLIMITED) >= MEMORY_PARAM_UNLIMITED:
                tune.remove(elem)
        if not len(tune):
            ddef.tree.remove(tune)

    def domain_set_interface_parameters(
        self, dom: Dom, device: str, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT_BOTH, "testDomainSetInterfaceParameters")
        kinds = {f"{d}.{k}": tp.UINT for d, k in BANDWIDTH_FIELDS}
        values = self._extras_validate(params, kinds)
        ddef = self.one_def(self.find(dom), flags)
        net = self._extras_net_find(ddef, device)
        new: dict[str, dict[str, int]] = {"inbound": {}, "outbound": {}}
        for field_name, value in values.items():
            direction, key = field_name.split(".")
            new[direction][key] = value
        bandwidth = net.find("bandwidth")
        had = bandwidth is not None
        if bandwidth is None:
            bandwidth = ET.Element("bandwidth")
        for direction in ("inbound", "outbound"):
            rate = new[direction]
            mandatory = rate.get("average") or (direction == "inbound" and rate.get("floor"))
            specified = "average" in rate or (direction == "inbound" and "floor" in rate)
            old = bandwidth.find(direction)
            if mandatory:
                if old is not None:
                    bandwidth.remove(old)
                elem = ET.Element(direction)
                for key in ("average", "peak", "floor", "burst"):
                    if rate.get(key):
                        elem.set(key, str(rate[key]))
                bandwidth.insert(0 if direction == "inbound" else len(bandwidth), elem)
            elif specified and had and old is not None:
                bandwidth.remove(old)
        if not had:
            index = max(
                (i + 1 for i, c in enumerate(net) if c.tag in NET_BEFORE_BANDWIDTH), default=0
            )
            net.insert(index, bandwidth)
        if not len(bandwidth):
            net.remove(bandwidth)

    # -- lifecycle actions -------------------------------------------------------------------

    def domain_set_lifecycle_action(self, dom: Dom, type: int, action: int, flags: int = 0) -> None:
        self.check_flags(flags, AFFECT_BOTH, "testDomainSetLifecycleAction")
        known = type < len(LIFECYCLE_TYPES) and action < len(LIFECYCLE_ACTIONS)
        if known and type != 2 and LIFECYCLE_ACTIONS[action].startswith("coredump"):
            raise LibvirtError.make(
                ErrorCode.CONFIG_UNSUPPORTED,
                ErrorDomain.DOMAIN,
                f"Lifecycle event '{LIFECYCLE_TYPES[type]}' doesn't support "
                f"'{LIFECYCLE_ACTIONS[action]}' action",
            )
        obj = self.find(dom)
        live, config = self.impact(obj, flags)  # type: ignore[attr-defined]
        targets = ([obj.live] if live and obj.live is not None else []) + (
            [obj.config] if config else []
        )
        if type >= len(LIFECYCLE_TYPES) or action >= len(LIFECYCLE_ACTIONS):
            return  # testDomainModifyLifecycleAction ignores what it does not know
        for ddef in targets:
            elem = ddef.tree.find(f"on_{LIFECYCLE_TYPES[type]}")
            if elem is None:
                elem = ET.SubElement(ddef.tree, f"on_{LIFECYCLE_TYPES[type]}")
            elem.text = LIFECYCLE_ACTIONS[action]

    # -- description and title ---------------------------------------------------------------

    def _extras_defs(self, obj: DomainObj, flags: int) -> list[DomainDef]:
        """virDomainObjGetDefs: the live and/or the persistent definition."""
        live, config = self.impact(obj, flags)  # type: ignore[attr-defined]
        return ([obj.live] if live and obj.live is not None else []) + (
            [obj.config] if config else []
        )


METADATA_ELEMENT = 2
METADATA_TAGS = ("description", "title", "metadata")

LIFECYCLE_TYPES = ("poweroff", "reboot", "crash")
LIFECYCLE_ACTIONS = (
    "destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart",
)  # fmt: skip

_TYPE_NAMES = {
    1: "int", 2: "uint", 3: "llong", 4: "ullong", 5: "double", 6: "boolean", 7: "string",
}  # fmt: skip
MEMTUNE_FIELDS = ("hard_limit", "soft_limit", "swap_hard_limit")
BLKIO_DEVICE_FIELDS = (
    "device_weight", "device_read_iops_sec", "device_write_iops_sec",
    "device_read_bytes_sec", "device_write_bytes_sec",
)  # fmt: skip
NET_BEFORE_BANDWIDTH = ("mac", "source", "vlan", "virtualport")


def _extras_child(parent: ET.Element, tag: str, order: tuple[str, ...]) -> ET.Element:
    """``parent``'s ``tag`` child, created at its place in ``order`` when missing."""
    found = parent.find(tag)
    if found is not None:
        return found
    before = order[: order.index(tag)]
    index = max((i + 1 for i, c in enumerate(parent) if c.tag in before), default=0)
    elem = ET.Element(tag)
    parent.insert(index, elem)
    return elem


def _extras_set_text(
    parent: ET.Element, tag: str, value: int, order: tuple[str, ...], unit: str | None = None
) -> None:
    elem = parent.find(tag)
    if elem is None:
        elem = ET.Element(tag)
        rank = order.index(tag)
        index = sum(1 for c in parent if c.tag in order and order.index(c.tag) < rank)
        parent.insert(index, elem)
    if unit:
        elem.set("unit", unit)
    elem.text = str(value)
