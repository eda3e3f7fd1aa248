"""IOThreads of the QEMU hosts: ``iothreadinfo``, ``iothreadpin``, ``iothreadadd``/``del``.

As libvirt 9.0's ``qemuDomainGetIOThreadInfo``, ``qemuDomainPinIOThread`` and
``qemuDomainChgIOThread``: IOThreads are ``<iothreads>N</iothreads>`` with
``<iothreadids><iothread id='…'/></iothreadids>`` (ids 1..N when only the count is given),
pins are ``<cputune><iothreadpin iothread='ID' cpuset='…'/>``; a live pin queues a
TUNABLE ``cputune.iothreadpinID`` event; an IOThread a disk uses cannot be removed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
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

__all__ = ["QemuIOThreads"]

Dom = rp.RemoteNonnullDomain
# <cputune> children formatted before <iothreadpin> (virDomainCputuneDefFormat)
_BEFORE_IOTHREADPIN = ("shares", "period", "quota", "global_period", "global_quota",
                       "emulator_period", "emulator_quota", "iothread_period",
                       "iothread_quota", "vcpupin", "emulatorpin")  # fmt: skip


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
        ET.SubElement(ids_el, "iothread", {"id": str(tid)})
    root.insert(at, count_el)
    root.insert(at + 1, ids_el)


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
