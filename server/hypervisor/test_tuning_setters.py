"""The test driver's tuning setters: vCPU counts, NUMA, block I/O throttling, IOThreads.

As libvirt 9.0's ``testDomainSetVcpusFlags`` (virDomainObjGetDefs: the live and/or the
persistent definition; ``--maximum`` resizes the persistent vCPU array),
``testDomainSetNumaParameters`` (virDomainNumatuneSet: a static placement needs a
nodeset), ``testDomainSetBlockIoTune`` (every rate must stay within its ``_max``, which
is 0 until set, so a plain ``--total-bytes-sec`` is refused as libvirtd refuses it),
per-device ``blkiotune`` (virDomainDriverSetupPersistentDefBlkioParams),
and ``testDomainAdd/Del/PinIOThread``, ``testDomainSetIOThreadParams`` and
``testDomainGetIOThreadInfo`` on one definition (virDomainObjGetOneDef). The poll
parameters of a domain's IOThreads are the test driver's private data (``iothread.*``
domain stats): an IOThread added at run time starts at ``poll_max_ns`` 32768.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.domain_order import top_child
from virtwire.server.hypervisor.qemu_cgroups import (
    BLKIO_DEVICE_PARAMS,
    BLKIO_TYPES,
    QemuCgroupTuning,
    _parse_device_str,
    check_typed_params,
)
from virtwire.server.hypervisor.qemu_iothreads import (
    IOTHREAD_POLL_PARAMS,
    POLL_DEFAULT,
    QemuIOThreads,
    _pin,
    _set_pin,
    _write_ids,
    iothread_ids,
    put_iothread_stats,
)
from virtwire.server.hypervisor.stats import STATS_IOTHREAD
from virtwire.server.hypervisor.test_domain_extras import _disk_by_name
from virtwire.server.hypervisor.tuning import (
    AFFECT,
    domain_cpumask,
    format_cpuset,
    from_map,
    parse_cpuset,
)
from virtwire.server.hypervisor.vcpus import (
    VCPU_LIVE,
    VCPU_MAXIMUM,
    VcpuState,
    check_set_vcpus_args,
    read_states,
    write_states,
)

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["TestTuningSetters"]

Dom = rp.RemoteNonnullDomain

TEST_MAX_VCPUS = 32  # testConnectGetMaxVcpus
NUMATUNE_MODES = ("strict", "preferred", "interleave", "restrictive")
DOMAIN_CPUMASK_LEN = 1024  # VIR_DOMAIN_CPUMASK_LEN
TEST_BLOCK_IOTUNE_MAX = 1000000000000000
BLOCK_IOTUNE_RATES = (
    "total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
    "total_iops_sec", "read_iops_sec", "write_iops_sec",
)  # fmt: skip
# virDomainDiskDefFormatIotune's order (also testDomainSetBlockIoTune's parameters)
BLOCK_IOTUNE_FIELDS = (
    *BLOCK_IOTUNE_RATES, *(f"{r}_max" for r in BLOCK_IOTUNE_RATES), "size_iops_sec",
    "group_name", *(f"{r}_max_length" for r in BLOCK_IOTUNE_RATES),
)  # fmt: skip
BLOCK_IOTUNE_TYPES = {f: tp.STRING if f == "group_name" else tp.ULLONG for f in BLOCK_IOTUNE_FIELDS}


def _domain_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.DOMAIN, detail)


def _test_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.TEST, detail)


def _parse_bitmap(text: str) -> set[int]:
    """virBitmapParse into a VIR_DOMAIN_CPUMASK_LEN bitmap."""
    try:
        bits = parse_cpuset(text)
    except ValueError:
        bits = None
    if bits is None or any(b < 0 or b >= DOMAIN_CPUMASK_LEN for b in bits):
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, ErrorDomain.NONE, f"Failed to parse bitmap '{text}'"
        )
    return bits


class TestTuningSetters:
    """The setters of the module docstring, on the test driver's in-memory definitions."""

    if TYPE_CHECKING:  # provided by Driver / TestDriver and its mixins

        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...

    # -- vCPUs -------------------------------------------------------------------------------

    def domain_set_vcpus(self, dom: Dom, nvcpus: int) -> None:
        self.domain_set_vcpus_flags(dom, nvcpus, VCPU_LIVE)  # testDomainSetVcpus

    def domain_set_vcpus_flags(self, dom: Dom, nvcpus: int, flags: int = 0) -> None:
        check_set_vcpus_args(nvcpus, flags)
        self.check_flags(flags, AFFECT | VCPU_MAXIMUM, "testDomainSetVcpusFlags")
        if nvcpus > TEST_MAX_VCPUS:
            raise _test_error(
                ErrorCode.INVALID_ARG,
                "requested cpu amount exceeds maximum supported amount "
                f"({nvcpus} > {TEST_MAX_VCPUS})",
            )
        obj = self.find(dom)
        live, config = self.impact(obj, flags & AFFECT)
        live_def = obj.live if live else None
        config_def = obj.config if config else None
        for ddef, checked in ((live_def, True), (config_def, not flags & VCPU_MAXIMUM)):
            if ddef is not None and checked and ddef.max_vcpus < nvcpus:
                raise _test_error(
                    ErrorCode.INVALID_ARG,
                    f"requested cpu amount exceeds maximum ({nvcpus} > {ddef.max_vcpus})",
                )
        if live_def is not None:
            _set_online(live_def, nvcpus)
        if config_def is not None:
            if flags & VCPU_MAXIMUM:
                _set_max(config_def, nvcpus)
            else:
                _set_online(config_def, nvcpus)

    # -- NUMA --------------------------------------------------------------------------------

    def domain_set_numa_parameters(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "testDomainSetNumaParameters")
        check_typed_params(params, {"numa_mode": tp.INT, "numa_nodeset": tp.STRING})
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        live = ddef is obj.live
        mode, nodeset = -1, None
        for param in params:
            if param.field == "numa_mode":
                mode = int(param.value.value)
                if not 0 <= mode < len(NUMATUNE_MODES):
                    raise _test_error(ErrorCode.INVALID_ARG, f"unsupported numatune mode: '{mode}'")
            else:
                text = str(param.value.value)
                nodeset = _parse_bitmap(text)
                if not nodeset:
                    raise _test_error(
                        ErrorCode.OPERATION_INVALID, f"Invalid nodeset of 'numatune': {text}"
                    )
        memory = ddef.tree.find("numatune/memory")
        current_mode = memory.get("mode", "strict") if memory is not None else None
        if live and mode != -1 and current_mode not in (None, NUMATUNE_MODES[mode]):
            raise _test_error(
                ErrorCode.OPERATION_INVALID, "can't change numatune mode for running domain"
            )
        _numatune_set(ddef, placement_static(ddef), mode, nodeset)

    # -- block I/O ---------------------------------------------------------------------------

    def domain_set_block_io_tune(
        self, dom: Dom, disk: str, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "testDomainSetBlockIoTune")
        check_typed_params(params, BLOCK_IOTUNE_TYPES)
        ddef = self.one_def(self.find(dom), flags)
        found = _disk_by_name(ddef, disk)
        if found is None:
            raise _test_error(
                ErrorCode.INVALID_ARG, f"missing persistent configuration for disk '{disk}'"
            )
        iotune = found.find("iotune")
        info: dict[str, int | str] = {}
        for key in BLOCK_IOTUNE_FIELDS:
            elem = iotune.find(key) if iotune is not None else None
            if elem is not None:
                text = elem.text or ""
                info[key] = text if key == "group_name" else int(text or 0)
        for param in params:
            value = param.value.value
            if param.field != "group_name" and int(value) > TEST_BLOCK_IOTUNE_MAX:
                raise _test_error(
                    ErrorCode.ARGUMENT_UNSUPPORTED,
                    f"block I/O throttle limit value must be no more than {TEST_BLOCK_IOTUNE_MAX}",
                )
            info[param.field] = str(value) if param.field == "group_name" else int(value)
        _check_iotune(info)
        _write_iotune(found, info)

    def domain_set_blkio_parameters(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "testDomainSetBlkioParameters")
        check_typed_params(params, BLKIO_TYPES)
        ddef = self.one_def(self.find(dom), flags)
        changes: list[tuple[str, str | None, int]] = []
        failed: LibvirtError | None = None
        for param in params:
            if param.field == "weight":
                changes.append(("weight", None, int(param.value.value)))
                continue
            child = dict(BLKIO_DEVICE_PARAMS)[param.field]
            try:
                pairs = _parse_device_str(param.field, str(param.value.value))
            except LibvirtError as exc:  # the others still apply; the call fails
                failed = failed or exc
                continue
            changes.extend((child, path, value) for path, value in pairs)
        QemuCgroupTuning._blkio_apply(ddef, changes)
        weight = ddef.tree.find("blkiotune/weight")
        if weight is not None and (weight.text or "0") == "0":  # formatted only when set
            tune = ddef.tree.find("blkiotune")
            assert tune is not None
            tune.remove(weight)
            if not len(tune):
                ddef.tree.remove(tune)
        if failed is not None:
            raise failed

    # -- IOThreads ---------------------------------------------------------------------------

    def iothread_polls(self, obj: DomainObj) -> dict[int, tuple[int, int, int]]:
        """testDomainObjPrivate's iothreads: id → (poll_max_ns, poll_grow, poll_shrink)."""
        polls: dict[bytes, dict[int, tuple[int, int, int]]]
        polls = self.__dict__.setdefault("_iothread_polls", {})
        return polls.setdefault(obj.uuid, {})

    def generate_iothread_polls(self, obj: DomainObj) -> None:
        """testDomainGenerateIOThreadInfos: what a domain from a definition file starts with."""
        polls = self.iothread_polls(obj)
        for tid in iothread_ids(obj.current):
            polls.setdefault(tid, POLL_DEFAULT)

    def domain_get_io_thread_info(
        self, dom: Dom, flags: int = 0
    ) -> tuple[list[rp.RemoteDomainIothreadInfo], int]:
        self.check_flags(flags, AFFECT, "testDomainGetIOThreadInfo")
        ddef = self.one_def(self.find(dom), flags)
        out = []
        for tid in iothread_ids(ddef):
            cpus = _pin(ddef, tid) or domain_cpumask(ddef) or set(range(ddef.vcpus))
            data = bytearray((max(cpus) // 8 + 1) if cpus else 0)
            for cpu in cpus:
                data[cpu // 8] |= 1 << (cpu % 8)
            out.append(rp.RemoteDomainIothreadInfo(iothread_id=tid, cpumap=bytes(data)))
        return out, len(out)

    def domain_add_io_thread(self, dom: Dom, iothread_id: int, flags: int = 0) -> None:
        self._test_iothread_change(dom, iothread_id, flags, "testDomainAddIOThread", add=True)

    def domain_del_io_thread(self, dom: Dom, iothread_id: int, flags: int = 0) -> None:
        self._test_iothread_change(dom, iothread_id, flags, "testDomainDelIOThread", add=False)

    def _test_iothread_change(self, dom: Dom, tid: int, flags: int, fn: str, *, add: bool) -> None:
        """testDomainChgIOThread on one definition, then the private poll data."""
        self.check_flags(flags, AFFECT, fn)
        if tid == 0:
            raise _test_error(ErrorCode.INVALID_ARG, "invalid value of 0 for iothread_id")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        QemuIOThreads._iothread_check(ddef, tid, add=add)
        ids = iothread_ids(ddef)
        polls = self.iothread_polls(obj)
        if add:
            ids.append(tid)
            polls[tid] = POLL_DEFAULT
        else:
            ids.remove(tid)
            _set_pin(ddef, tid, None)
            polls.pop(tid, None)
        _write_ids(ddef, ids)

    def domain_pin_io_thread(
        self, dom: Dom, iothreads_id: int, cpumap: bytes, flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "testDomainPinIOThread")
        ddef = self.one_def(self.find(dom), flags)
        cpus = from_map(cpumap)
        if not cpus:
            raise _test_error(ErrorCode.INVALID_ARG, "Empty iothread cpumap list for pinning")
        if iothreads_id not in iothread_ids(ddef):
            raise _test_error(ErrorCode.INVALID_ARG, f"iothreadid {iothreads_id} not found")
        _set_pin(ddef, iothreads_id, cpus)

    def domain_set_io_thread_params(
        self, dom: Dom, iothread_id: int, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, VCPU_LIVE, "testDomainSetIOThreadParams")  # AFFECT_LIVE only
        if iothread_id == 0:
            raise _test_error(ErrorCode.INVALID_ARG, "invalid value of 0 for iothread_id")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        if iothread_id not in iothread_ids(ddef):
            raise _domain_error(
                ErrorCode.INVALID_ARG, f"cannot find IOThread '{iothread_id}' in iothreadids"
            )
        polls = self.iothread_polls(obj)
        if iothread_id not in polls:
            raise _test_error(
                ErrorCode.INTERNAL_ERROR, "An error occurred, but the cause is unknown"
            )
        check_typed_params(params, IOTHREAD_POLL_PARAMS)
        values = tp.from_wire(params)
        old = polls[iothread_id]
        polls[iothread_id] = (
            int(values.get("poll_max_ns", old[0])),
            int(values.get("poll_grow", old[1])),
            int(values.get("poll_shrink", old[2])),
        )

    def more_domain_stats(
        self, obj: DomainObj, stats: int, values: dict[str, int], types: dict[str, int]
    ) -> None:
        """testDomainGetStatsIOThread: the private poll data of a running domain."""
        if stats & STATS_IOTHREAD and obj.active:
            put_iothread_stats(self.iothread_polls(obj), values, types)


def _set_online(ddef: DomainDef, nvcpus: int) -> None:
    """virDomainDefSetVcpus: the first N vCPUs online, the rest offline."""
    if nvcpus > ddef.max_vcpus:
        raise _domain_error(
            ErrorCode.CONFIG_UNSUPPORTED,
            "maximum vCPU count must not be less than current vCPU count",
        )
    states, individual = read_states(ddef)
    for i, state in enumerate(states):
        state.online = i < nvcpus
    write_states(ddef, states, individual)


def _set_max(ddef: DomainDef, nvcpus: int) -> None:
    """virDomainDefSetVcpusMax: new vCPUs come offline; the cut ones go."""
    states, individual = read_states(ddef)
    if nvcpus < len(states):
        del states[nvcpus:]
    else:
        states.extend(VcpuState(False) for _ in range(nvcpus - len(states)))
    write_states(ddef, states, individual)


def placement_static(ddef: DomainDef) -> bool:
    """Whether the vCPUs' placement is static (virDomainNumatuneSet's default rule)."""
    vcpu = ddef.tree.find("vcpu")
    return vcpu is None or vcpu.get("placement", "static") == "static"


def _numatune_set(
    ddef: DomainDef, placement_static: bool, mode: int, nodeset: set[int] | None
) -> None:
    """virDomainNumatuneSet for ``<numatune><memory>`` (placement left to the default)."""
    if mode == -1 and nodeset is None:
        return
    memory = ddef.tree.find("numatune/memory")
    specified = memory is not None
    cur_mode = memory.get("mode", "strict") if memory is not None else "strict"
    cur_nodeset = memory.get("nodeset") if memory is not None else None
    placement = None if specified else "default"
    new_mode = NUMATUNE_MODES[mode] if mode != -1 else cur_mode
    new_nodeset = cur_nodeset
    if nodeset is not None:
        new_nodeset = format_cpuset(nodeset)
        if placement is None:
            placement = "static"
    if placement == "default":
        placement = "static" if new_nodeset or placement_static else "auto"
    if placement is None:
        placement = memory.get("placement", "static") if memory is not None else "static"
    if placement == "static" and not new_nodeset:
        raise _domain_error(
            ErrorCode.CONFIG_UNSUPPORTED,
            "nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
        )
    numatune = top_child(ddef.tree, "numatune")
    memory = numatune.find("memory")
    if memory is None:
        memory = ET.Element("memory")
        numatune.insert(0, memory)
    memory.attrib.clear()
    memory.set("mode", new_mode)
    if placement == "static":
        memory.set("nodeset", new_nodeset or "")
    else:
        memory.set("placement", placement)


def _check_iotune(info: dict[str, int | str]) -> None:
    def val(key: str) -> int:
        return int(info.get(key, 0) or 0)

    for kind in ("bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max"):
        total = val(f"total_{kind}")
        if total and (val(f"read_{kind}") or val(f"write_{kind}")):
            raise _test_error(
                ErrorCode.INVALID_ARG,
                f"total and read/write of {kind} cannot be set at the same time",
            )
    for rate in BLOCK_IOTUNE_RATES:
        if val(rate) > val(f"{rate}_max"):
            raise _test_error(
                ErrorCode.INVALID_ARG, f"{rate} cannot be set higher than {rate}_max "
            )


def _write_iotune(disk: ET.Element, info: dict[str, int | str]) -> None:
    """virDomainDiskSetBlockIOTune, formatted as virDomainDiskDefFormatIotune (after target)."""
    old = disk.find("iotune")
    if old is not None:
        disk.remove(old)
    iotune = ET.Element("iotune")
    for key in BLOCK_IOTUNE_FIELDS:
        value = info.get(key)
        if key == "group_name" and value is not None or key != "group_name" and value:
            ET.SubElement(iotune, key).text = str(value)
    if not len(iotune):
        return
    children = list(disk)
    target = disk.find("target")
    at = children.index(target) + 1 if target is not None else len(children)
    disk.insert(at, iotune)
