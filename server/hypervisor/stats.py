"""Domain statistics: memory, block and interface counters, GetAllDomainStats (domstats).

:class:`TestStats` answers as libvirt 9.0's test driver (``testDomainMemoryStats``,
``testDomainBlockStats``, ``testDomainInterfaceStats``, ``testConnectGetAllDomainStats``
with the ``state`` group): its block and interface counters are fractions of the wall
clock in microseconds. :class:`QemuStats` gives plausible counters that grow with a
running guest's uptime, read from the host's clock (``now_ns``, which tests replace),
and the QEMU driver's ``domstats`` groups ``state``, ``cpu-total``, ``balloon``,
``vcpu``, ``net``, ``block`` and ``iothread``.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.tuning import AFFECT

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuStats", "StatsMixin", "TestStats"]

Dom = rp.RemoteNonnullDomain

REMOTE_DOMAIN_MEMORY_STATS_MAX = 1024

# virDomainMemoryStatTags
SWAP_IN, SWAP_OUT, MAJOR_FAULT, MINOR_FAULT, UNUSED, AVAILABLE = range(6)
ACTUAL_BALLOON, RSS, USABLE, LAST_UPDATE, DISK_CACHES, HUGETLB_PGALLOC, HUGETLB_PGFAIL = range(
    6, 13
)

# virDomainStatsTypes
STATS_STATE, STATS_CPU_TOTAL, STATS_BALLOON, STATS_VCPU = 0x1, 0x2, 0x4, 0x8
STATS_INTERFACE, STATS_BLOCK, STATS_PERF, STATS_IOTHREAD = 0x10, 0x20, 0x40, 0x80
# virConnectGetAllDomainStatsFlags
LIST_ACTIVE, LIST_INACTIVE, LIST_PERSISTENT, LIST_TRANSIENT = 0x1, 0x2, 0x4, 0x8
LIST_RUNNING, LIST_PAUSED, LIST_SHUTOFF, LIST_OTHER = 0x10, 0x20, 0x40, 0x80
STATS_NOWAIT, STATS_BACKING = 0x20000000, 0x40000000
STATS_ENFORCE = 0x80000000
LIST_FILTERS = 0xFF
JOB_NONE = 0  # virDomainJobType
REMOTE_NODE_CPU_STATS_MAX = 16
REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX = 128
VIR_TYPED_PARAM_STRING_OKAY = 4
TEST_TOTAL_CPUTIME = 48772617035
JOB_STATS_COMPLETED, JOB_STATS_KEEP_COMPLETED = 0x1, 0x2


class StatsMixin:
    """What both hosts share: the lookups the counters hang on."""

    if TYPE_CHECKING:  # provided by Driver

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def not_running(self) -> LibvirtError: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...  # tuning.py
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...

        domains: dict[bytes, DomainObj]
        fn_prefix: str

    supported_stats = STATS_STATE | STATS_IOTHREAD

    def running_def(self, dom: Dom) -> tuple[DomainObj, DomainDef]:
        obj = self.find(dom)
        if obj.live is None:
            raise self.not_running()
        return obj, obj.live

    def find_disk(self, ddef: DomainDef, path: str) -> ET.Element | None:
        """virDomainDiskIndexByName: the target name, or an unambiguous source path."""
        found = None
        for disk in ddef.devices.findall("disk"):
            if not path.startswith("/"):
                target = disk.find("target")
                if target is not None and target.get("dev") == path:
                    return disk
            else:
                source = disk.find("source")
                if source is not None and path in (source.get("file"), source.get("dev")):
                    if found is not None:
                        return None
                    found = disk
        return found

    def find_net(self, ddef: DomainDef, device: str) -> ET.Element:
        """virDomainNetFind: by MAC address, else by target device name."""
        nets = ddef.devices.findall("interface")
        is_mac = _is_mac(device)
        for net in nets:
            if is_mac:
                mac = net.find("mac")
                if mac is not None and (mac.get("address") or "").lower() == device.lower():
                    return net
            else:
                target = net.find("target")
                if target is not None and target.get("dev") == device:
                    return net
        raise self.error(ErrorCode.INVALID_ARG, f"'{device}' is not a known interface")

    def domain_memory_stats(
        self, dom: Dom, max_stats: int, flags: int = 0
    ) -> list[rp.RemoteDomainMemoryStat]:
        if max_stats > REMOTE_DOMAIN_MEMORY_STATS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX")
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainMemoryStats")
        obj, ddef = self.running_def(dom)
        stats = self.memory_stats(obj, ddef) if _has_balloon(ddef) else []
        return [rp.RemoteDomainMemoryStat(tag=t, val=v) for t, v in stats[:max_stats]]

    def memory_stats(self, obj: DomainObj, ddef: DomainDef) -> list[tuple[int, int]]:
        cur = ddef.current_memory
        return [
            (ACTUAL_BALLOON, cur),
            (SWAP_IN, 0),
            (SWAP_OUT, 0),
            (MAJOR_FAULT, 0),
            (MINOR_FAULT, 0),
            (UNUSED, cur // 2),
            (AVAILABLE, cur),
            (USABLE, cur // 2),
            (LAST_UPDATE, 627319920),
            (DISK_CACHES, cur // 8),
            (HUGETLB_PGALLOC, 0),
            (HUGETLB_PGFAIL, 0),
            (RSS, cur // 2),
        ]

    def domain_set_memory_stats_period(self, dom: Dom, period: int, flags: int = 0) -> None:
        self.check_flags(flags, AFFECT, f"{self.fn_prefix}DomainSetMemoryStatsPeriod")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        balloon = ddef.devices.find("memballoon")
        if balloon is None or balloon.get("model") == "none":
            raise self.error(
                ErrorCode.INTERNAL_ERROR,
                "No memory balloon device configured, can not set the collection period",
            )
        stats = balloon.find("stats")
        if period:
            if stats is None:
                stats = ET.Element("stats")
                balloon.insert(0, stats)  # virDomainMemballoonDefFormat: before <address>
            stats.set("period", str(period))
        elif stats is not None:
            balloon.remove(stats)
        if ddef is obj.config:
            self.save(obj)

    # -- GetAllDomainStats ---------------------------------------------------------------

    def connect_get_all_domain_stats(
        self, doms: list[Dom], stats: int, flags: int = 0
    ) -> list[rp.RemoteDomainStatsRecord]:
        self.check_flags(
            flags,
            LIST_FILTERS | STATS_NOWAIT | STATS_BACKING | STATS_ENFORCE,
            f"{self.fn_prefix}ConnectGetAllDomainStats",
        )
        if not stats:
            stats = self.supported_stats
        elif flags & STATS_ENFORCE and stats & ~self.supported_stats:
            raise self.error(
                ErrorCode.ARGUMENT_UNSUPPORTED,
                f"Stats types bits 0x{stats & ~self.supported_stats:x} are not supported "
                "by this daemon",
            )
        if doms:  # virDomainObjListConvert(skip_missing=true): unknown domains are left out
            objs = [o for o in (self.domains.get(d.uuid) for d in doms) if o is not None]
        else:
            objs = sorted(self.domains.values(), key=lambda o: o.name)
        records = []
        for obj in objs:
            if not _list_filter(obj, flags):
                continue
            params = self.domain_stats(obj, stats)
            records.append(rp.RemoteDomainStatsRecord(dom=obj.handle(), params=params))
        return records

    def domain_stats(self, obj: DomainObj, stats: int) -> list[rp.RemoteTypedParam]:
        values: dict[str, int] = {}
        types: dict[str, int] = {}
        if stats & STATS_STATE:
            values["state.state"], values["state.reason"] = int(obj.state), int(obj.reason)
            types["state.state"] = types["state.reason"] = tp.INT
        self.more_domain_stats(obj, stats, values, types)
        return tp.to_wire(values, types)

    def more_domain_stats(
        self, obj: DomainObj, stats: int, values: dict[str, int], types: dict[str, int]
    ) -> None:
        """The test driver's other group is ``iothread``: empty for domains without any."""


class TestStats(StatsMixin):
    """libvirt 9.0's test driver: counters from the wall clock (g_get_real_time, µs)."""

    wall_ns = staticmethod(time.time_ns)

    def domain_block_stats(self, dom: Dom, path: str) -> tuple[int, int, int, int, int]:
        if not path:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "summary statistics are not supported yet"
            )
        _obj, ddef = self.running_def(dom)
        if self.find_disk(ddef, path) is None:
            raise self.error(ErrorCode.INVALID_ARG, f"invalid path: {path}")
        base = self.wall_ns() // 1000
        return base // 10, base // 20, base // 30, base // 40, base // 2_000_000

    def domain_interface_stats(self, dom: Dom, device: str) -> tuple[int, ...]:
        _obj, ddef = self.running_def(dom)
        self.find_net(ddef, device)
        base = self.wall_ns() // 1000
        m = 1_000_000
        return (base // 10, base // 100, base // m, base // (2 * m),
                base // 20, base // 110, base // (3 * m), base // (4 * m))  # fmt: skip

    # -- cpu-stats (virDomainGetCPUStats) ---------------------------------------------------

    def domain_get_cpu_stats(
        self, dom: Dom, nparams: int, start_cpu: int, ncpus: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        """remoteDispatchDomainGetCPUStats around testDomainGetCPUStats: the per-CPU
        parameters come as one sparse array (CPU-major), empty slots left out."""
        if nparams > REMOTE_NODE_CPU_STATS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "nparams too large")
        if ncpus > REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "ncpus too large")
        self.check_flags(flags, VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetCPUStats")
        obj, _ddef = self.running_def(dom)
        if start_cpu == -1:
            total = [("cpu_time", TEST_TOTAL_CPUTIME), ("user_time", 5540000000),
                     ("system_time", 6460000000)]  # fmt: skip
            if nparams == 0:
                return [], len(total)
            chosen = total[: min(nparams, 3)]
            return _ullongs(chosen), len(chosen)
        total_cpus = self.domain_cpu_count(obj)
        if nparams == 0 and ncpus != 0:
            return [], 2
        if ncpus == 0:
            return [], total_cpus
        if start_cpu >= total_cpus:
            raise self.error(
                ErrorCode.INVALID_ARG,
                f"start_cpu {start_cpu} larger than maximum of {total_cpus - 1}",
            )
        percpu = TEST_TOTAL_CPUTIME // total_cpus
        out = []
        for cpu in range(start_cpu, min(total_cpus, start_cpu + ncpus)):
            row = [("cpu_time", percpu + cpu)]
            if nparams > 1:
                row.append(("vcpu_time", percpu + cpu - 1234567890))
            out += row
        return _ullongs(out), min(nparams, 2)

    def domain_cpu_count(self, obj: DomainObj) -> int:
        """testDomainGetPercpuStats' total_cpus: the node info's cores (2)."""
        return 2


def _ullongs(pairs: list[tuple[str, int]]) -> list[rp.RemoteTypedParam]:
    """ULLONG typed parameters; names repeat (one set per CPU), so no dict on the way."""
    return [
        rp.RemoteTypedParam(field=k, value=rp.RemoteTypedParamValue(tp.ULLONG, v)) for k, v in pairs
    ]


class QemuStats(StatsMixin):
    """Counters that grow with the guest's uptime (``now_ns`` minus its start)."""

    supported_stats = (
        STATS_STATE | STATS_CPU_TOTAL | STATS_BALLOON | STATS_VCPU | STATS_INTERFACE | STATS_BLOCK
        | STATS_IOTHREAD
    )  # fmt: skip

    wall_ns = staticmethod(time.time_ns)  # for the balloon's last-update stamp

    if TYPE_CHECKING:

        def now_ns(self) -> int: ...  # hostfacts.QemuHostFacts
        def iothread_stats(  # qemu_iothreads.QemuIOThreads
            self, obj: DomainObj, values: dict[str, int], types: dict[str, int]
        ) -> None: ...

    def uptime_s(self, obj: DomainObj) -> int:
        return max(self.now_ns() - obj.started_ns, 0) // 10**9

    def cpu_ns(self, obj: DomainObj) -> int:
        """A guest that keeps a tenth of each vCPU busy."""
        if obj.live is None:
            return 0
        return max(self.now_ns() - obj.started_ns, 0) * obj.live.vcpus // 10

    def block_counters(self, obj: DomainObj, index: int) -> tuple[int, int, int, int, int]:
        up = self.uptime_s(obj)
        rd_req, wr_req = up * 40 + 2000 + index, up * 12
        return rd_req, rd_req * 4096, wr_req, wr_req * 8192, 0

    def net_counters(self, obj: DomainObj, index: int) -> tuple[int, ...]:
        up = self.uptime_s(obj)
        rx_pkts, tx_pkts = up * 25 + 12 + index, up * 10 + 5
        return rx_pkts * 600, rx_pkts, 0, 0, tx_pkts * 300, tx_pkts, 0, 0

    # -- jobs: nothing ever runs long on a simulated host --------------------------------------

    def _job_domain(self, dom: Dom) -> DomainObj:
        obj = self.find(dom)
        if obj.live is None:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is not running")
        return obj

    def domain_get_job_info(self, dom: Dom) -> tuple[int, ...]:
        """qemuDomainGetJobInfo with no job: VIR_DOMAIN_JOB_NONE and zeros."""
        self._job_domain(dom)
        return (JOB_NONE,) + (0,) * 11

    def domain_get_job_stats(self, dom: Dom, flags: int = 0) -> tuple[int, list]:
        self.check_flags(flags, JOB_STATS_COMPLETED | JOB_STATS_KEEP_COMPLETED,
                         "qemuDomainGetJobStats")  # fmt: skip
        if not flags & JOB_STATS_COMPLETED:
            self._job_domain(dom)
        else:
            self.find(dom)
        return JOB_NONE, []

    def domain_block_stats(self, dom: Dom, path: str) -> tuple[int, int, int, int, int]:
        obj, ddef = self.running_def(dom)
        disks = ddef.devices.findall("disk")
        if not path:  # the sum over every disk
            sums = [self.block_counters(obj, i) for i in range(len(disks))]
            return tuple(sum(c) for c in zip(*sums, strict=True)) if sums else (0,) * 5  # type: ignore[return-value]
        disk = self.find_disk(ddef, path)
        if disk is None:
            raise self.error(ErrorCode.INVALID_ARG, f"invalid path: {path}")
        return self.block_counters(obj, disks.index(disk))

    def domain_interface_stats(self, dom: Dom, device: str) -> tuple[int, ...]:
        obj, ddef = self.running_def(dom)
        net = self.find_net(ddef, device)
        return self.net_counters(obj, ddef.devices.findall("interface").index(net))

    def memory_stats(self, obj: DomainObj, ddef: DomainDef) -> list[tuple[int, int]]:
        cur = ddef.current_memory
        up = self.uptime_s(obj)
        used = min(cur // 4 + up * 64, cur * 3 // 4)  # the guest fills its memory slowly
        return [
            (SWAP_IN, 0),
            (SWAP_OUT, 0),
            (MAJOR_FAULT, 300 + up // 10),
            (MINOR_FAULT, 100000 + up * 50),
            (UNUSED, cur - used),
            (AVAILABLE, cur - 40960),
            (ACTUAL_BALLOON, cur),
            (RSS, used + 65536),
            (USABLE, cur - used),
            (LAST_UPDATE, self.wall_ns() // 10**9),
            (DISK_CACHES, used // 8),
        ]

    def more_domain_stats(
        self, obj: DomainObj, stats: int, values: dict[str, int], types: dict[str, int]
    ) -> None:
        ddef = obj.live
        if ddef is None:
            return

        def put(name: str, value: int, kind: int = tp.ULLONG) -> None:
            values[name], types[name] = value, kind

        if stats & STATS_CPU_TOTAL:
            cpu = self.cpu_ns(obj)
            put("cpu.time", cpu)
            put("cpu.user", cpu * 7 // 10)
            put("cpu.system", cpu * 3 // 10)
        if stats & STATS_BALLOON:
            mem = dict(self.memory_stats(obj, ddef))
            put("balloon.current", ddef.current_memory)
            put("balloon.maximum", ddef.total_memory())
            for tag, name in ((SWAP_IN, "swap_in"), (SWAP_OUT, "swap_out"),
                              (MAJOR_FAULT, "major_fault"), (MINOR_FAULT, "minor_fault"),
                              (UNUSED, "unused"), (AVAILABLE, "available"),
                              (USABLE, "usable"), (LAST_UPDATE, "last-update"),
                              (DISK_CACHES, "disk_caches"), (RSS, "rss")):  # fmt: skip
                put(f"balloon.{name}", mem[tag])
        if stats & STATS_VCPU:
            put("vcpu.current", ddef.vcpus, tp.UINT)
            put("vcpu.maximum", ddef.max_vcpus, tp.UINT)
            for i in range(ddef.vcpus):
                put(f"vcpu.{i}.state", 1, tp.INT)
                put(f"vcpu.{i}.time", self.cpu_ns(obj) // max(ddef.vcpus, 1))
                put(f"vcpu.{i}.wait", 0)
        if stats & STATS_INTERFACE:
            nets = ddef.devices.findall("interface")
            put("net.count", len(nets), tp.UINT)
            for i, net in enumerate(nets):
                target = net.find("target")
                name = target.get("dev") if target is not None else None
                values[f"net.{i}.name"] = name or f"vnet{i}"  # type: ignore[assignment]
                types[f"net.{i}.name"] = tp.STRING
                keys = ("rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
                        "tx.bytes", "tx.pkts", "tx.errs", "tx.drop")  # fmt: skip
                for key, value in zip(keys, self.net_counters(obj, i), strict=True):
                    put(f"net.{i}.{key}", value)
        if stats & STATS_BLOCK:
            disks = ddef.devices.findall("disk")
            put("block.count", len(disks), tp.UINT)
            for i, disk in enumerate(disks):
                target = disk.find("target")
                values[f"block.{i}.name"] = target.get("dev", "") if target is not None else ""  # type: ignore[assignment]
                types[f"block.{i}.name"] = tp.STRING
                rd_req, rd_bytes, wr_req, wr_bytes, _errs = self.block_counters(obj, i)
                for key, value in (("rd.reqs", rd_req), ("rd.bytes", rd_bytes),
                                   ("wr.reqs", wr_req), ("wr.bytes", wr_bytes)):  # fmt: skip
                    put(f"block.{i}.{key}", value)
        if stats & STATS_IOTHREAD:
            self.iothread_stats(obj, values, types)


def _has_balloon(ddef: DomainDef) -> bool:
    """virDomainDefHasMemballoon: a <memballoon> whose model is not 'none'."""
    balloon = ddef.devices.find("memballoon")
    return balloon is not None and balloon.get("model") != "none"


def _is_mac(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(
        len(p) in (1, 2) and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


def _list_filter(obj: DomainObj, flags: int) -> bool:
    """virConnectListAllDomains' state/persistence filters, as GetAllDomainStats uses them."""
    from virtwire.server.hypervisor.model import DomainState

    def group(a: int, b: int, va: bool) -> bool:
        if flags & (a | b) in (0, a | b):
            return True
        return va if flags & a else not va

    if not group(LIST_ACTIVE, LIST_INACTIVE, obj.active):
        return False
    if not group(LIST_PERSISTENT, LIST_TRANSIENT, obj.persistent):
        return False
    states = flags & (LIST_RUNNING | LIST_PAUSED | LIST_SHUTOFF | LIST_OTHER)
    if states:
        st = obj.state
        kind = (
            LIST_RUNNING
            if st == DomainState.RUNNING
            else LIST_PAUSED
            if st == DomainState.PAUSED
            else LIST_SHUTOFF
            if st == DomainState.SHUTOFF
            else LIST_OTHER
        )
        return bool(states & kind)
    return True
