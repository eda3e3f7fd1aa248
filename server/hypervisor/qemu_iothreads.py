"""IOThreads of the QEMU hosts: ``iothreadinfo``, ``iothreadpin``, ``iothreadadd``/``del``.

As libvirt 9.0's ``qemuDomainGetIOThreadInfo``, ``qemuDomainPinIOThread`` and
``qemuDomainChgIOThread``: IOThreads are ``<iothreads>N</iothreads>`` with
``<iothreadids><iothread id='…'/></iothreadids>`` (ids 1..N when only the count is given),
pins are ``<cputune><iothreadpin iothread='ID' cpuset='…'/>``; a live pin queues a
TUNABLE ``cputune.iothreadpinID`` event; an IOThread a disk uses cannot be removed.

``iothreadset`` is ``qemuDomainSetIOThreadParams``: the polling values (``poll_max_ns``,
``poll_grow``, ``poll_shrink``) live only in the running QEMU (QEMU 7.2 starts each IOThread
at 32768/0/0; ``domstats --iothread`` reads them back) and a persistent change of them is
refused; ``thread_pool_min``/``thread_pool_max`` are written to ``<iothread id='N'
thread_pool_min='…' thread_pool_max='…'/>`` of the live and/or the persistent definition.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import events as ev
from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.qemu_cgroups import check_typed_params
from virtwire.server.hypervisor.tuning import (
    AFFECT,
    _cputune,
    domain_cpumask,
    format_cpuset,
    from_map,
    parse_cpuset,
    to_map,
)

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["IOTHREAD_POLL_PARAMS", "POLL_DEFAULT", "QemuIOThreads", "put_iothread_stats"]

Dom = rp.RemoteNonnullDomain
# <cputune> children formatted before <iothreadpin> (virDomainCputuneDefFormat)
_BEFORE_IOTHREADPIN = ("shares", "period", "quota", "global_period", "global_quota",
                       "emulator_period", "emulator_quota", "iothread_period",
                       "iothread_quota", "vcpupin", "emulatorpin")  # fmt: skip
# (poll_max_ns, poll_grow, poll_shrink) an IOThread starts with (QEMU's and the test driver's)
POLL_DEFAULT = (32768, 0, 0)
IOTHREAD_POLL_PARAMS = {"poll_max_ns": tp.ULLONG, "poll_grow": tp.UINT, "poll_shrink": tp.UINT}
POOL_PARAMS = ("thread_pool_min", "thread_pool_max")
# qemuDomainIOThreadParseParams' virTypedParamsValidate
QEMU_IOTHREAD_PARAMS = {**IOTHREAD_POLL_PARAMS, **dict.fromkeys(POOL_PARAMS, tp.INT)}
INT_MAX = 2**31 - 1
Polls = dict[int, tuple[int, int, int]]


def put_iothread_stats(polls: Polls, values: dict[str, int], types: dict[str, int]) -> None:
    """The ``iothread`` group of GetAllDomainStats (qemu/testDomainGetStatsIOThread)."""
    if not polls:
        return
    values["iothread.count"], types["iothread.count"] = len(polls), tp.UINT
    for tid, (max_ns, grow, shrink) in polls.items():
        for key, value, kind in (
            ("poll-max-ns", max_ns, tp.ULLONG),
            ("poll-grow", grow, tp.UINT),
            ("poll-shrink", shrink, tp.UINT),
        ):
            values[f"iothread.{tid}.{key}"], types[f"iothread.{tid}.{key}"] = value, kind


def iothread_ids(ddef: DomainDef) -> list[int]:
    """virDomainDefParseIOThreads: the listed ids, the rest of the count filled from 1."""
    listed = [int(t.get("id", "0")) for t in ddef.tree.findall("iothreadids/iothread")]
    count = int((ddef.tree.findtext("iothreads") or "0").strip() or 0)
    ids = list(listed)
    candidate = 1
    while len(ids) < count:
        if candidate not in ids:
            ids.append(candidate)
        candidate += 1
    return ids


def _write_ids(ddef: DomainDef, ids: list[int]) -> None:
    root = ddef.tree
    count_el, ids_el = root.find("iothreads"), root.find("iothreadids")
    kept = {t.get("id"): dict(t.attrib) for t in root.findall("iothreadids/iothread")}
    for old in (count_el, ids_el):
        if old is not None:
            root.remove(old)
    if not ids:
        return
    at = 0
    for i, child in enumerate(root):
        if child.tag in ("vcpu", "vcpus"):
            at = i + 1
    count_el = ET.Element("iothreads")
    count_el.text = str(len(ids))
    ids_el = ET.Element("iothreadids")
    for tid in ids:
        ET.SubElement(ids_el, "iothread", kept.get(str(tid), {"id": str(tid)}))
    root.insert(at, count_el)
    root.insert(at + 1, ids_el)


def _iothread_elem(ddef: DomainDef, tid: int) -> ET.Element | None:
    """virDomainIOThreadIDFind's ``<iothread id='N'>`` (None for an IOThread only counted)."""
    for elem in ddef.tree.findall("iothreadids/iothread"):
        if elem.get("id") == str(tid):
            return elem
    return None


def _pool(elem: ET.Element | None, name: str) -> int:
    """virDomainIOThreadIDDefParseXML's thread_pool_min/max: -1 when not given."""
    if elem is None:
        return -1
    try:
        return int(elem.get(name, "-1"))
    except ValueError:
        return -1


def _parse_iothread_params(params: list[rp.RemoteTypedParam]) -> dict[str, int]:
    """qemuDomainIOThreadParseParams: the types, then each value's range."""
    check_typed_params(params, QEMU_IOTHREAD_PARAMS)
    values = {k: int(v) for k, v in tp.from_wire(params).items()}
    for name, label in (("poll_max_ns", "poll-max-ns"), ("poll_grow", "poll-grow"),
                        ("poll_shrink", "poll-shrink")):  # fmt: skip
        if name in values and values[name] > INT_MAX:
            raise _qemu_error(
                ErrorCode.CONFIG_UNSUPPORTED,
                f"{label} ({values[name]}) must be less than or equal to {INT_MAX}",
            )
    low, high = values.get("thread_pool_min"), values.get("thread_pool_max")
    if low is not None and low < -1:
        raise _qemu_error(
            ErrorCode.CONFIG_UNSUPPORTED,
            f"thread_pool_min ({low}) must be equal to or greater than -1",
        )
    if high is not None and (high < -1 or high == 0):
        raise _qemu_error(
            ErrorCode.CONFIG_UNSUPPORTED,
            f"thread_pool_max ({high}) must be a positive number or -1",
        )
    return values


def _validate_pool(ddef: DomainDef, tid: int, values: dict[str, int], *, live: bool) -> None:
    """qemuDomainIOThreadValidate: no -1 live, and min never above max (-1 when unset)."""
    elem = _iothread_elem(ddef, tid)
    pool = {name: _pool(elem, name) for name in POOL_PARAMS}
    for name in POOL_PARAMS:
        if name in values:
            if live and values[name] < 0:
                raise _qemu_error(
                    ErrorCode.OPERATION_INVALID,
                    f"{name} ({values[name]}) must be equal to or greater than 0 for live change",
                )
            pool[name] = values[name]
    low, high = pool["thread_pool_min"], pool["thread_pool_max"]
    if low > high:
        raise _qemu_error(
            ErrorCode.OPERATION_INVALID,
            f"thread_pool_min ({low}) can't be greater than thread_pool_max ({high})",
        )


def _set_pool(ddef: DomainDef, tid: int, values: dict[str, int]) -> None:
    """qemuDomainHotplugModIOThreadIDDef: a value below 0 is not formatted; a pool value
    makes virDomainDefIothreadShouldFormat write ``<iothreadids>`` out."""
    if not any(name in values for name in POOL_PARAMS):
        return
    if ddef.tree.find("iothreadids") is None:
        _write_ids(ddef, iothread_ids(ddef))
    elem = _iothread_elem(ddef, tid)
    assert elem is not None
    pool = {name: _pool(elem, name) for name in POOL_PARAMS} | values
    for name in POOL_PARAMS:  # virDomainDefIOThreadsFormat's order: id, min, max
        elem.attrib.pop(name, None)
    for name in POOL_PARAMS:
        if pool[name] >= 0:
            elem.set(name, str(pool[name]))


def _qemu_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.QEMU, detail)


def _pin(ddef: DomainDef, tid: int) -> set[int] | None:
    for pin in ddef.tree.findall("cputune/iothreadpin"):
        if pin.get("iothread") == str(tid):
            return parse_cpuset(pin.get("cpuset", ""))
    return None


def _set_pin(ddef: DomainDef, tid: int, cpus: set[int] | None) -> None:
    tune = _cputune(ddef, create=cpus is not None)
    if tune is None:
        return
    for pin in tune.findall("iothreadpin"):
        if pin.get("iothread") == str(tid):
            tune.remove(pin)
    if cpus is not None:
        at = sum(1 for c in tune if c.tag in _BEFORE_IOTHREADPIN)
        at += sum(1 for p in tune.findall("iothreadpin") if int(p.get("iothread", "0")) < tid)
        tune.insert(
            at, ET.Element("iothreadpin", {"iothread": str(tid), "cpuset": format_cpuset(cpus)})
        )
    if len(tune) == 0:
        ddef.tree.remove(tune)


class QemuIOThreads:
    """The IOThread members (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver and tuning.py

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...
        def emit(self, event: object) -> None: ...
        def host_cpus(self) -> set[int]: ...

    def domain_get_io_thread_info(
        self, dom: Dom, flags: int = 0
    ) -> tuple[list[rp.RemoteDomainIothreadInfo], int]:
        self.check_flags(flags, AFFECT, "qemuDomainGetIOThreadInfo")
        obj = self.find(dom)
        live, _config = self.impact(obj, flags)
        ddef = obj.live if live and obj.live is not None else obj.config
        maplen = (max(self.host_cpus()) // 8) + 1
        out = []
        for tid in iothread_ids(ddef):
            cpus = _pin(ddef, tid) or domain_cpumask(ddef) or self.host_cpus()
            out.append(rp.RemoteDomainIothreadInfo(tid, to_map(cpus, maplen)))
        return out, len(out)

    def domain_pin_io_thread(
        self, dom: Dom, iothreads_id: int, cpumap: bytes, flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "qemuDomainPinIOThread")
        obj = self.find(dom)
        live, config = self.impact(obj, flags)
        cpus = from_map(cpumap)
        if not cpus:
            raise self.error(ErrorCode.INVALID_ARG, "Empty iothread cpumap list for pinning")
        if live:
            assert obj.live is not None
            if iothreads_id not in iothread_ids(obj.live):
                raise self.error(ErrorCode.INVALID_ARG, f"iothread {iothreads_id} not found")
            _set_pin(obj.live, iothreads_id, cpus)
            self.emit(ev.TunableEvent(obj.ref(), (ev.TypedParam(
                f"cputune.iothreadpin{iothreads_id}", ev.TypedParamType.STRING,
                format_cpuset(cpus)),)))  # fmt: skip
        if config:
            new = obj.config.copy()
            if iothreads_id not in iothread_ids(new):
                raise self.error(ErrorCode.INVALID_ARG, f"iothreadid {iothreads_id} not found")
            _set_pin(new, iothreads_id, cpus)
            self.save(obj, new)
            obj.config = new

    def live_polls(self, obj: DomainObj) -> Polls:
        """What QEMU's query-iothreads answers for this run: changed values, else defaults."""
        table: dict[bytes, tuple[int, Polls]] = self.__dict__.setdefault("_qemu_iothread_polls", {})
        started, polls = table.get(obj.uuid, (None, {}))
        if started != obj.started_ns:
            polls = {}
            table[obj.uuid] = (obj.started_ns, polls)
        assert obj.live is not None
        ids = iothread_ids(obj.live)
        for tid in [t for t in polls if t not in ids]:  # removed (iothreaddel): gone in QEMU
            del polls[tid]
        for tid in ids:
            polls.setdefault(tid, POLL_DEFAULT)
        return polls

    def iothread_stats(self, obj: DomainObj, values: dict[str, int], types: dict[str, int]) -> None:
        """qemuDomainGetStatsIOThread: a running domain's IOThreads and their polling."""
        if obj.live is not None:
            put_iothread_stats(self.live_polls(obj), values, types)

    def domain_set_io_thread_params(
        self, dom: Dom, iothread_id: int, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        """qemuDomainSetIOThreadParams → qemuDomainChgIOThread(ACTION_MOD)."""
        self.check_flags(flags, AFFECT, "qemuDomainSetIOThreadParams")
        if iothread_id == 0:
            raise self.error(ErrorCode.INVALID_ARG, "invalid value of 0 for iothread_id")
        obj = self.find(dom)
        values = _parse_iothread_params(params)
        live, config = self.impact(obj, flags)
        polling = any(name in values for name in IOTHREAD_POLL_PARAMS)
        missing = f"cannot find IOThread '{iothread_id}' in iothreadids"
        new = None
        if config:
            new = obj.config.copy()
            if iothread_id not in iothread_ids(new):
                raise self.error(ErrorCode.INVALID_ARG, missing)
            _validate_pool(new, iothread_id, values, live=False)
            if polling:
                raise self.error(
                    ErrorCode.OPERATION_UNSUPPORTED,
                    "configuring persistent polling values is not supported",
                )
            _set_pool(new, iothread_id, values)
        if live:
            assert obj.live is not None
            if iothread_id not in iothread_ids(obj.live):
                raise self.error(ErrorCode.INVALID_ARG, missing)
            _validate_pool(obj.live, iothread_id, values, live=True)
            polls = self.live_polls(obj)
            old = polls[iothread_id]
            polls[iothread_id] = (
                values.get("poll_max_ns", old[0]),
                values.get("poll_grow", old[1]),
                values.get("poll_shrink", old[2]),
            )
            _set_pool(obj.live, iothread_id, values)
        if new is not None:
            self.save(obj, new)
            obj.config = new

    def domain_add_io_thread(self, dom: Dom, iothread_id: int, flags: int = 0) -> None:
        self._iothread_change(dom, iothread_id, flags, add=True)

    def domain_del_io_thread(self, dom: Dom, iothread_id: int, flags: int = 0) -> None:
        self._iothread_change(dom, iothread_id, flags, add=False)

    def _iothread_change(self, dom: Dom, tid: int, flags: int, *, add: bool) -> None:
        """qemuDomainChgIOThread: the config copy is checked first, then live, then saved."""
        fn = "qemuDomainAddIOThread" if add else "qemuDomainDelIOThread"
        self.check_flags(flags, AFFECT, fn)
        if tid == 0:
            raise self.error(ErrorCode.INVALID_ARG, "invalid value of 0 for iothread_id")
        obj = self.find(dom)
        live, config = self.impact(obj, flags)
        new = obj.config.copy() if config else None
        targets = ([new] if new is not None else []) + ([obj.live] if live and obj.live else [])
        for ddef in targets:
            self._iothread_check(ddef, tid, add=add)
        for ddef in targets:
            ids = iothread_ids(ddef)
            if add:
                ids.append(tid)
            else:
                ids.remove(tid)
                _set_pin(ddef, tid, None)
            _write_ids(ddef, ids)
        if live and obj.live is not None:
            self.live_polls(obj)  # a removed IOThread's polling goes with it
        if new is not None:
            self.save(obj, new)
            obj.config = new

    @staticmethod
    def _iothread_check(ddef: DomainDef, tid: int, *, add: bool) -> None:
        """virDomainDriverAddIOThreadCheck / DelIOThreadCheck (domain DOMAIN)."""

        def fail(detail: str) -> LibvirtError:
            return LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, detail)

        present = tid in iothread_ids(ddef)
        if add and present:
            raise fail(f"an IOThread is already using iothread_id '{tid}'")
        if add:
            return
        if not present:
            raise fail(f"cannot find IOThread '{tid}' in iothreadids list")
        for disk in ddef.devices.findall("disk"):
            driver = disk.find("driver")
            if driver is not None and driver.get("iothread") == str(tid):
                target = disk.find("target")
                dst = target.get("dev", "") if target is not None else ""
                raise fail(f"cannot remove IOThread {tid} since it is being used by disk '{dst}'")
