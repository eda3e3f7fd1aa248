"""Host facts: NUMA topology in the capabilities, free memory, node CPU/memory statistics.

One :class:`HostTopology` per simulated host describes its NUMA cells (memory, free
memory, CPUs with socket/die/core/siblings, huge-page pools); the capabilities'
``<topology>`` block, ``nodeGetCellsFreeMemory``, ``nodeGetFreeMemory``,
``nodeGetCPUMap`` and ``nodeGetFreePages`` are all derived from it, so that a topology
tool sees the same host through every API.

:class:`HostFactsMixin` serves those members; a host sets ``host_topology`` and
``capabilities_base`` (its capabilities document, whose ``<topology>`` block is replaced)
and may override the hooks (:meth:`HostFactsMixin.cells_free_bytes`, ...).
``test:///default`` keeps libvirt 9.0's test-driver answers exactly
(:class:`TestHostFacts`); the QEMU hosts account for their running guests
(:class:`QemuHostFacts`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp

if TYPE_CHECKING:
    from virtwire.server.hypervisor.model import DomainObj

__all__ = [
    "invalid_arg",
    "HostCpu",
    "HostCell",
    "HostTopology",
    "HostFactsMixin",
    "QemuHostFacts",
    "TestHostFacts",
    "render_topology",
    "TEST_TOPOLOGY",
    "QEMU_TOPOLOGY",
]

VIR_NODE_CPU_STATS_ALL_CPUS = -1
VIR_NODE_MEMORY_STATS_ALL_CELLS = -1
REMOTE_NODE_MAX_CELLS = 1024
REMOTE_NODE_CPU_STATS_MAX = 16
REMOTE_NODE_MEMORY_STATS_MAX = 16
NODE_MEMORY_STATS_NUM = 4  # virHostMemGetStats's answer to "how many?"

# VIR_NODE_CPU_STATS_* / VIR_NODE_MEMORY_STATS_* field names
CPU_KERNEL, CPU_USER, CPU_IDLE, CPU_IOWAIT = "kernel", "user", "idle", "iowait"
MEM_TOTAL, MEM_FREE, MEM_BUFFERS, MEM_CACHED = "total", "free", "buffers", "cached"


@dataclass(frozen=True, slots=True)
class HostCpu:
    """virCapsHostNUMACellCPU: one logical CPU of a cell."""

    id: int
    socket_id: int
    die_id: int
    core_id: int
    siblings: str


@dataclass(frozen=True, slots=True)
class HostCell:
    """One NUMA cell: memory in KiB, its CPUs and (page size KiB, pages available)."""

    id: int
    memory_kib: int
    cpus: tuple[HostCpu, ...]
    pages: tuple[tuple[int, int], ...]
    distances: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class HostTopology:
    cells: tuple[HostCell, ...]
    page_sizes: tuple[int, ...] = field(default=(4, 2048, 1048576))

    @property
    def num_cpus(self) -> int:
        return sum(len(c.cpus) for c in self.cells)


def render_topology(topo: HostTopology) -> str:
    """The host ``<topology>`` element as virCapabilitiesHostNUMAFormat prints it."""
    out = ["    <topology>", f"      <cells num='{len(topo.cells)}'>"]
    for cell in topo.cells:
        out.append(f"        <cell id='{cell.id}'>")
        out.append(f"          <memory unit='KiB'>{cell.memory_kib}</memory>")
        for size, avail in cell.pages:
            out.append(f"          <pages unit='KiB' size='{size}'>{avail}</pages>")
        if cell.distances:
            out.append("          <distances>")
            for sib, value in cell.distances:
                out.append(f"            <sibling id='{sib}' value='{value}'/>")
            out.append("          </distances>")
        out.append(f"          <cpus num='{len(cell.cpus)}'>")
        for cpu in cell.cpus:
            out.append(
                f"            <cpu id='{cpu.id}' socket_id='{cpu.socket_id}' "
                f"die_id='{cpu.die_id}' core_id='{cpu.core_id}' siblings='{cpu.siblings}'/>"
            )
        out.append("          </cpus>")
        out.append("        </cell>")
    out.append("      </cells>")
    out.append("    </topology>")
    return "\n".join(out) + "\n"


_TOPOLOGY_BLOCK = re.compile(r"    <topology>\n      <cells .*?    </topology>\n", re.S)


def _test_topology() -> HostTopology:
    """testOpenDefault's two cells: 8 CPUs each, cell i has (i+1)*2 GiB (testBuildCapabilities:
    cell 1's first page pool is 8 KiB, the others 4 KiB; only the first pool has pages)."""
    cells = []
    for i in range(2):
        mem = (i + 1) * 2048 * 1024
        first = 8 if i == 1 else 4
        cpus = tuple(HostCpu(n, n // 8, 0, n % 8, str(n)) for n in range(i * 8, i * 8 + 8))
        pages = ((first, mem // first), (2048, 0), (1048576, 0))
        cells.append(HostCell(i, mem, cpus, pages))
    return HostTopology(tuple(cells), (4, 8, 2048, 1048576))


TEST_TOPOLOGY = _test_topology()

QEMU_HOST_MEMORY_KIB = 16 * 1024 * 1024
QEMU_HOST_CPUS = 8
# what the simulated host itself uses; the rest is free until guests run
QEMU_HOST_RESERVED_KIB = 1024 * 1024
HOST_UPTIME_AT_START_NS = 3600 * 10**9


def qemu_topology(cpus: int, memory_kib: int) -> HostTopology:
    """One cell, one socket of ``cpus`` cores (a fleet host's shape, or the default host)."""
    return HostTopology(
        (
            HostCell(
                0,
                memory_kib,
                tuple(HostCpu(n, 0, 0, n, str(n)) for n in range(cpus)),
                ((4, memory_kib // 4), (2048, 0), (1048576, 0)),
                ((0, 10),),
            ),
        )
    )


QEMU_TOPOLOGY = qemu_topology(QEMU_HOST_CPUS, QEMU_HOST_MEMORY_KIB)


def daemon_error(detail: str) -> LibvirtError:
    """A check libvirtd's dispatcher makes before calling the driver (domain RPC)."""
    return LibvirtError.make(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, detail)


def invalid_arg(domain: ErrorDomain, function: str, argname: str, message: str) -> LibvirtError:
    """virReportInvalidArg (see LibvirtError.api_invalid_arg)."""
    return LibvirtError.api_invalid_arg(function, argname, message, domain)


class HostFactsMixin:
    """Serves the node-level members from ``host_topology`` (see the module docstring)."""

    host_topology: HostTopology
    capabilities_base: str
    domains: dict[bytes, DomainObj]

    if TYPE_CHECKING:  # provided by Driver

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...

    # -- hooks -----------------------------------------------------------------------------

    def cells_free_bytes(self) -> list[int]:
        """What nodeGetCellsFreeMemory reports per cell (bytes)."""
        raise NotImplementedError

    def cpu_stats(self, cpu_num: int) -> list[tuple[str, int]]:
        raise NotImplementedError

    def cell_range_error(self, start_cell: int) -> LibvirtError:
        return self.error(ErrorCode.INVALID_ARG, "Range exceeds available cells")

    # -- members ---------------------------------------------------------------------------

    def connect_get_capabilities(self) -> str:
        return _TOPOLOGY_BLOCK.sub(
            lambda _m: render_topology(self.host_topology), self.capabilities_base, count=1
        )

    def node_get_cells_free_memory(self, start_cell: int, maxcells: int) -> list[int]:
        if maxcells > REMOTE_NODE_MAX_CELLS:
            raise daemon_error("maxcells > REMOTE_NODE_MAX_CELLS")
        cells = self.cells_free_bytes()
        if not 0 <= start_cell < len(cells):
            raise self.cell_range_error(start_cell)
        return cells[start_cell : start_cell + max(maxcells, 0)]

    def node_get_cpu_stats(
        self, cpu_num: int, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteNodeGetCpuStats], int]:
        if nparams > REMOTE_NODE_CPU_STATS_MAX:
            raise daemon_error("nparams too large")
        self.check_flags(flags, 0, f"{self.fn_prefix}NodeGetCPUStats")
        stats = self.cpu_stats(cpu_num)
        if nparams == 0:
            return [], len(stats)
        chosen = stats[:nparams]
        return [rp.RemoteNodeGetCpuStats(field=k, value=v) for k, v in chosen], len(chosen)

    def node_get_cpu_map(
        self, need_map: int, need_online: int, flags: int = 0
    ) -> tuple[bytes, int, int]:
        self.check_flags(flags, 0, f"{self.fn_prefix}NodeGetCPUMap")
        present, online = self.cpu_map()
        cpumap = bytearray((present + 7) // 8)
        for cpu in online:
            cpumap[cpu // 8] |= 1 << (cpu % 8)
        return (bytes(cpumap) if need_map else b""), (len(online) if need_online else 0), present

    def cpu_map(self) -> tuple[int, list[int]]:
        """(CPUs present, the online ones): every CPU of the topology, all online."""
        n = self.host_topology.num_cpus
        return n, list(range(n))

    def _check_free_pages(self, pages: list[int], cell_count: int) -> None:
        if len(pages) * cell_count > REMOTE_NODE_MAX_CELLS:
            raise daemon_error("the result won't fit into REMOTE_NODE_MAX_CELLS")

    fn_prefix: str


class TestHostFacts(HostFactsMixin):
    """libvirt 9.0's test driver, value for value (src/test/test_driver.c)."""

    host_topology = TEST_TOPOLOGY

    def cells_free_bytes(self) -> list[int]:
        # testNodeGetCellsFreeMemory reports each cell's *memory*, not its free memory
        return [c.memory_kib for c in self.host_topology.cells]

    def node_get_free_memory(self) -> int:
        # testNodeGetFreeMemory: the sum of the cells' freeMem, (i + 1) * 1 GiB "bytes"
        return sum((c.id + 1) * 1024 * 1024 for c in self.host_topology.cells)

    def cpu_stats(self, cpu_num: int) -> list[tuple[str, int]]:
        return [
            (CPU_USER, 9797400000),
            (CPU_KERNEL, 34678723400000),
            (CPU_IDLE, 87264900000),
            (CPU_IOWAIT, 763600000),
        ]

    def cpu_map(self) -> tuple[int, list[int]]:
        # testNodeGetCPUMap: 8 CPUs present, map 0x15, "3" online
        return 8, [0, 2, 4]

    def node_get_free_pages(
        self, pages: list[int], start_cell: int, cell_count: int, flags: int = 0
    ) -> list[int]:
        self._check_free_pages(pages, cell_count)
        self.check_flags(flags, 0, "testNodeGetFreePages")
        # testNodeGetFreePages fills the counts but returns 0, which libvirtd's dispatcher
        # takes for a failure that reported nothing: every remote caller gets this error
        raise LibvirtError(
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.RPC,
            "Library function returned error but did not set virError",
            int1=0,
            int2=0,
        )


class QemuHostFacts(HostFactsMixin):
    """A plausible single-socket host whose free memory shrinks while guests run."""

    host_topology = QEMU_TOPOLOGY

    def used_by_guests_kib(self) -> int:
        return sum(o.current.current_memory for o in self.domains.values() if o.active)

    def free_kib(self) -> int:
        total = sum(c.memory_kib for c in self.host_topology.cells)
        return max(total - QEMU_HOST_RESERVED_KIB - self.used_by_guests_kib(), 0)

    def cells_free_bytes(self) -> list[int]:
        return [self.free_kib() * 1024]

    def node_get_free_memory(self) -> int:
        return self.free_kib() * 1024

    def cell_range_error(self, start_cell: int) -> LibvirtError:
        # virHostMemGetCellsFree / virHostMemGetFreePages (domain NONE, as libvirt's util)
        last = len(self.host_topology.cells) - 1
        return LibvirtError.make(
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.NONE,
            f"start cell {start_cell} out of range (0-{last})",
        )

    def node_get_free_pages(
        self, pages: list[int], start_cell: int, cell_count: int, flags: int = 0
    ) -> list[int]:
        self._check_free_pages(pages, cell_count)
        self.check_flags(flags, 0, "qemuNodeGetFreePages")
        cells = self.host_topology.cells
        if not 0 <= start_cell < len(cells):
            raise self.cell_range_error(start_cell)
        free = self.free_kib()
        counts = []
        for cell in cells[start_cell : start_cell + cell_count]:
            pools = dict(cell.pages)
            for size in pages:
                if size not in pools:
                    raise LibvirtError.make(
                        ErrorCode.OPERATION_FAILED,
                        ErrorDomain.NONE,
                        f"page size {size} is not available on node {cell.id}",
                    )
                # ordinary pages hold the free memory; the huge-page pools are empty
                counts.append(free // size if size == self.host_topology.page_sizes[0] else 0)
        if not counts:
            raise LibvirtError.make(
                ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, "no suitable info found"
            )
        return counts

    def cpu_stats(self, cpu_num: int) -> list[tuple[str, int]]:
        ncpus = self.host_topology.num_cpus
        if cpu_num != VIR_NODE_CPU_STATS_ALL_CPUS and not 0 <= cpu_num < ncpus:
            raise invalid_arg(
                ErrorDomain.NONE,
                "virHostCPUGetStatsLinux",
                "cpuNum",
                "Invalid cpuNum in virHostCPUGetStatsLinux",
            )
        width = ncpus if cpu_num == VIR_NODE_CPU_STATS_ALL_CPUS else 1
        wall = self.host_uptime_ns() * width
        guests = sum(o.cpu_time() for o in self.domains.values() if o.active)
        guests = guests if width == ncpus else guests // ncpus
        kernel, iowait = wall // 50, wall // 200
        user = min(wall // 20 + guests, wall - kernel - iowait)
        idle = wall - kernel - iowait - user
        return [(CPU_KERNEL, kernel), (CPU_USER, user), (CPU_IDLE, idle), (CPU_IOWAIT, iowait)]

    # the host booted an hour before the daemon started; tests replace ``now_ns``
    now_ns = staticmethod(time.monotonic_ns)
    boot_ns: int | None = None

    def host_uptime_ns(self) -> int:
        now = self.now_ns()
        if self.boot_ns is None:
            self.boot_ns = now - HOST_UPTIME_AT_START_NS
        return now - self.boot_ns

    def node_get_memory_stats(
        self, nparams: int, cell_num: int, flags: int = 0
    ) -> tuple[list[rp.RemoteNodeGetMemoryStats], int]:
        if nparams > REMOTE_NODE_MEMORY_STATS_MAX:
            raise daemon_error("nparams too large")
        self.check_flags(flags, 0, "qemuNodeGetMemoryStats")
        ncells = len(self.host_topology.cells)
        if cell_num != VIR_NODE_MEMORY_STATS_ALL_CELLS and not (0 <= cell_num < ncells):
            raise invalid_arg(
                ErrorDomain.NONE,
                "virHostMemGetStats",
                "cellNum",
                f"cellNum in virHostMemGetStats must be less than or equal to {ncells - 1}",
            )
        total = sum(c.memory_kib for c in self.host_topology.cells)
        free = self.free_kib()
        stats = [(MEM_TOTAL, total), (MEM_FREE, free)]
        if cell_num == VIR_NODE_MEMORY_STATS_ALL_CELLS:
            stats += [(MEM_BUFFERS, 65536), (MEM_CACHED, QEMU_HOST_RESERVED_KIB // 2)]
        if nparams == 0:
            return [], NODE_MEMORY_STATS_NUM
        chosen = stats[:nparams]
        return [rp.RemoteNodeGetMemoryStats(field=k, value=v) for k, v in chosen], len(chosen)
