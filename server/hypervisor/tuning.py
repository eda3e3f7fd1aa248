"""Domain CPU tuning: vCPU and emulator pinning, vCPU info, scheduler parameters.

Pins live where libvirt keeps them, in the definition's ``<cputune>`` (``<vcpupin
vcpu='N' cpuset='…'/>``, ``<emulatorpin cpuset='…'/>``) and ``<vcpu cpuset='…'>`` (the
domain-wide mask), so ``dumpxml`` shows them and the QEMU hosts persist config pins with
the rest of the definition.

:class:`TuningMixin` follows libvirt 9.0's test driver (``testDomainPinVcpuFlags``,
``testDomainGetVcpus``, ``testDomainGetVcpuPinInfo``, ``testDomainPinEmulator``,
``testDomainGetSchedulerParametersFlags``); a host changes the class attributes where its
driver differs (the QEMU hosts accept ``--live``/``--config`` for vCPU pins).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.hostfacts import invalid_arg
from virtwire.server.hypervisor.model import ModificationImpact

if TYPE_CHECKING:
    from virtwire.protocol.records import NodeInfo
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuTuning", "TestTuning", "TuningMixin", "format_cpuset", "parse_cpuset"]

Dom = rp.RemoteNonnullDomain

REMOTE_VCPUINFO_MAX = 16384
REMOTE_CPUMAPS_MAX = 8388608
VIR_VCPU_RUNNING = 1
VIR_TYPED_PARAM_STRING_OKAY = 4
VIR_DOMAIN_SCHEDULER_WEIGHT = "weight"
AFFECT = ModificationImpact.LIVE | ModificationImpact.CONFIG


def parse_cpuset(text: str) -> set[int]:
    """virBitmapParse: ``0-3,^2,5`` → {0, 1, 3, 5}."""
    cpus: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        neg = part.startswith("^")
        lo, _, hi = part.lstrip("^").partition("-")
        span = set(range(int(lo), int(hi or lo) + 1))
        cpus = cpus - span if neg else cpus | span
    return cpus


def format_cpuset(cpus: set[int]) -> str:
    """virBitmapFormat: ranges joined by commas (``0-3,5``)."""
    out, run = [], []
    for cpu in sorted(cpus):
        if run and cpu == run[-1] + 1:
            run.append(cpu)
            continue
        if run:
            out.append(_span(run))
        run = [cpu]
    if run:
        out.append(_span(run))
    return ",".join(out)


def _span(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def to_map(cpus: set[int], maplen: int) -> bytes:
    """virBitmapToDataBuf: CPU n is bit n % 8 of byte n // 8; CPUs beyond the map dropped."""
    data = bytearray(maplen)
    for cpu in cpus:
        if cpu < maplen * 8:
            data[cpu // 8] |= 1 << (cpu % 8)
    return bytes(data)


def from_map(cpumap: bytes) -> set[int]:
    return {i * 8 + b for i, byte in enumerate(cpumap) for b in range(8) if byte >> b & 1}


# -- the pins in a definition's tree -----------------------------------------------------------


def _cputune(ddef: DomainDef, create: bool) -> ET.Element | None:
    tune = ddef.tree.find("cputune")
    if tune is None and create:
        tune = ET.Element("cputune")
        # virDomainDefFormat: <cputune> follows <vcpu>, <vcpus> and <iothreads>
        anchor = 0
        for i, child in enumerate(list(ddef.tree)):
            if child.tag in (
                "name",
                "uuid",
                "title",
                "description",
                "metadata",
                "maxMemory",
                "memory",
                "currentMemory",
                "blkiotune",
                "memtune",
                "memoryBacking",
                "vcpu",
                "vcpus",
                "iothreads",
                "iothreadids",
            ):
                anchor = i + 1
        ddef.tree.insert(anchor, tune)
    return tune


def vcpu_pin(ddef: DomainDef, vcpu: int) -> set[int] | None:
    tune = ddef.tree.find("cputune")
    if tune is not None:
        for pin in tune.findall("vcpupin"):
            if pin.get("vcpu") == str(vcpu):
                return parse_cpuset(pin.get("cpuset", ""))
    return None


def domain_cpumask(ddef: DomainDef) -> set[int] | None:
    vcpu = ddef.tree.find("vcpu")
    if vcpu is not None and vcpu.get("cpuset"):
        return parse_cpuset(vcpu.get("cpuset", ""))
    return None


def set_vcpu_pin(ddef: DomainDef, vcpu: int, cpus: set[int]) -> None:
    tune = _cputune(ddef, create=True)
    assert tune is not None
    pins = tune.findall("vcpupin")
    for pin in pins:
        if pin.get("vcpu") == str(vcpu):
            pin.set("cpuset", format_cpuset(cpus))
            return
    elem = ET.Element("vcpupin", {"vcpu": str(vcpu), "cpuset": format_cpuset(cpus)})
    # vcpupins in vCPU order, after <cputune>'s scalar settings
    scalars = sum(1 for child in tune if child.tag in _SCHED_TAGS)
    at = scalars + sum(1 for p in pins if int(p.get("vcpu", "0")) < vcpu)
    tune.insert(at, elem)


def emulator_pin(ddef: DomainDef) -> set[int] | None:
    tune = ddef.tree.find("cputune")
    pin = tune.find("emulatorpin") if tune is not None else None
    return parse_cpuset(pin.get("cpuset", "")) if pin is not None else None


def set_emulator_pin(ddef: DomainDef, cpus: set[int]) -> None:
    tune = _cputune(ddef, create=True)
    assert tune is not None
    pin = tune.find("emulatorpin")
    if pin is None:
        pin = ET.Element("emulatorpin")
        scalars = sum(1 for child in tune if child.tag in _SCHED_TAGS)
        tune.insert(scalars + len(tune.findall("vcpupin")), pin)
    pin.set("cpuset", format_cpuset(cpus))


class TuningMixin:
    """vCPU/emulator pinning and scheduler parameters (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        @staticmethod
        def conf_error(code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def node_get_info(self) -> NodeInfo: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...

        fn_prefix: str

    # flags pinVcpuFlags accepts (the test driver: none, it pins the running domain only)
    pin_vcpu_flags: int = 0
    scheduler_type = "fair"
    # wall clock in ns for the test driver's fake vCPU time; tests replace it
    wall_ns = staticmethod(time.time_ns)

    # -- helpers -----------------------------------------------------------------------------

    def host_cpus(self) -> set[int]:
        """VIR_NODEINFO_MAXCPUS: every CPU the node info describes."""
        info = self.node_get_info()
        return set(range(info.nodes * info.sockets * info.cores * info.threads))

    def one_def(self, obj: DomainObj, flags: int) -> DomainDef:
        """virDomainObjGetOneDef: the live or the persistent definition, not both."""
        if flags & AFFECT == AFFECT:
            raise invalid_arg(
                ErrorDomain.DOMAIN,
                "virDomainObjGetOneDefState",
                "flags",
                "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' "
                "are mutually exclusive",
            )
        live, _config = self.impact(obj, flags)
        return obj.live if live and obj.live is not None else obj.config

    def effective_pin(self, ddef: DomainDef, vcpu: int) -> set[int]:
        pin = vcpu_pin(ddef, vcpu)
        if pin is not None:
            return pin
        mask = domain_cpumask(ddef)
        return mask if mask is not None else self.host_cpus()

    # -- vCPUs -------------------------------------------------------------------------------

    def domain_pin_vcpu(self, dom: Dom, vcpu: int, cpumap: bytes) -> None:
        self.domain_pin_vcpu_flags(dom, vcpu, cpumap, 0)

    def domain_pin_vcpu_flags(self, dom: Dom, vcpu: int, cpumap: bytes, flags: int = 0) -> None:
        self.check_flags(flags, self.pin_vcpu_flags, f"{self.fn_prefix}DomainPinVcpuFlags")
        obj = self.find(dom)
        cpus = from_map(cpumap)
        if not self.pin_vcpu_flags:
            if obj.live is None:
                raise self.error(
                    ErrorCode.OPERATION_INVALID, "cannot pin vcpus on an inactive domain"
                )
            targets = [obj.live]
        else:
            live, config = self.impact(obj, flags)
            if not cpus:
                raise self.error(ErrorCode.INVALID_ARG, "Empty cpu list for pinning")
            targets = ([obj.live] if live and obj.live else []) + ([obj.config] if config else [])
        for ddef in reversed(targets):  # QEMU checks the persistent definition first
            self.check_pin_vcpu(ddef, vcpu, live=ddef is obj.live)
        for ddef in targets:
            set_vcpu_pin(ddef, vcpu, cpus)
        if obj.config in targets:
            self.save(obj)

    def check_pin_vcpu(self, ddef: DomainDef, vcpu: int, *, live: bool) -> None:
        if vcpu >= ddef.vcpus:
            raise self.error(
                ErrorCode.INVALID_ARG, f"requested vcpu '{vcpu}' is not present in the domain"
            )

    def domain_get_vcpu_pin_info(
        self, dom: Dom, ncpumaps: int, maplen: int, flags: int = 0
    ) -> tuple[bytes, int]:
        if ncpumaps > REMOTE_VCPUINFO_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "ncpumaps > REMOTE_VCPUINFO_MAX")
        if ncpumaps * maplen > REMOTE_CPUMAPS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "maxinfo * maplen > REMOTE_CPUMAPS_MAX")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        count = min(ddef.max_vcpus, ncpumaps)
        maps = b"".join(to_map(self.effective_pin(ddef, i), maplen) for i in range(count))
        return maps + bytes((ncpumaps - count) * maplen), count

    def domain_get_vcpus(
        self, dom: Dom, maxinfo: int, maplen: int
    ) -> tuple[list[rp.RemoteVcpuInfo], bytes]:
        if maxinfo < 0 or maplen < 0:
            raise self.error(ErrorCode.INTERNAL_ERROR, "maxinfo must be non-negative")
        if maxinfo > REMOTE_VCPUINFO_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "maxinfo > REMOTE_VCPUINFO_MAX")
        if maxinfo * maplen > REMOTE_CPUMAPS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "maxinfo * maplen > REMOTE_CPUMAPS_MAX")
        obj = self.find(dom)
        if obj.live is None:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cannot list vcpus for an inactive domain"
            )
        count = min(maxinfo, obj.live.vcpus)
        infos, maps = [], b""
        for i in range(count):
            pin = self.effective_pin(obj.live, i)
            infos.append(
                rp.RemoteVcpuInfo(
                    number=i,
                    state=VIR_VCPU_RUNNING,
                    cpu_time=self.vcpu_time(obj, i),
                    cpu=max(pin) if pin else -1,
                )
            )
            maps += to_map(pin, maplen)
        return infos, maps + bytes((maxinfo - count) * maplen)

    def vcpu_time(self, obj: DomainObj, vcpu: int) -> int:
        # testDomainGetVcpus: "fake an increasing cpu time value", g_get_real_time() / 10
        return self.wall_ns() // 1000 // 10

    # -- emulator ----------------------------------------------------------------------------

    def domain_pin_emulator(self, dom: Dom, cpumap: bytes, flags: int = 0) -> None:
        self.check_flags(flags, AFFECT, f"{self.fn_prefix}DomainPinEmulator")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        cpus = from_map(cpumap)
        if not cpus:
            raise self.error(ErrorCode.INVALID_ARG, "Empty cpu list for pinning")
        set_emulator_pin(ddef, cpus)
        if ddef is obj.config:
            self.save(obj)

    def domain_get_emulator_pin_info(
        self, dom: Dom, maplen: int, flags: int = 0
    ) -> tuple[bytes, int]:
        self.check_flags(flags, AFFECT, f"{self.fn_prefix}DomainGetEmulatorPinInfo")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags)
        pin = emulator_pin(ddef)
        if pin is None:
            pin = domain_cpumask(ddef)
        return to_map(pin if pin is not None else self.host_cpus(), maplen), 1


class TestTuning(TuningMixin):
    """libvirt 9.0's test driver: pins on the running domain only, a "fair" scheduler."""

    def domain_get_scheduler_type(self, dom: Dom) -> tuple[str, int]:
        # testDomainGetSchedulerType does not even look the domain up
        return self.scheduler_type, 1

    def domain_get_scheduler_parameters(self, dom: Dom, nparams: int) -> list[rp.RemoteTypedParam]:
        return self.domain_get_scheduler_parameters_flags(dom, nparams, 0)

    def domain_get_scheduler_parameters_flags(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> list[rp.RemoteTypedParam]:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainGetSchedulerParametersFlags")
        self.find(dom)
        # the test driver always answers weight 50 (its setter keeps nothing: "XXX")
        return tp.to_wire({VIR_DOMAIN_SCHEDULER_WEIGHT: 50}, {VIR_DOMAIN_SCHEDULER_WEIGHT: tp.UINT})

    def domain_set_scheduler_parameters(self, dom: Dom, params: list[rp.RemoteTypedParam]) -> None:
        self.domain_set_scheduler_parameters_flags(dom, params, 0)

    def domain_set_scheduler_parameters_flags(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainSetSchedulerParametersFlags")
        for param in params:
            if param.field != VIR_DOMAIN_SCHEDULER_WEIGHT:
                raise self.error(ErrorCode.INVALID_ARG, f"parameter '{param.field}' not supported")
            if param.value.type != tp.UINT:
                raise self.error(
                    ErrorCode.INVALID_ARG,
                    f"invalid type '{_TYPE_NAMES.get(param.value.type, '?')}' for parameter "
                    f"'{param.field}', expected 'uint'",
                )
        self.find(dom)


# qemuDomainGetSchedulerParametersFlags on a cgroup v2 host: (name, <cputune> element, type,
# the live value when unset); the config answer for an unset one is 0
QUOTA_MAX = 17592186044415  # VIR_CGROUP_CPU_QUOTA_MAX ("max")
PERIOD_RANGE, QUOTA_RANGE = (1000, 1000000), (1000, QUOTA_MAX)
QEMU_SCHED_PARAMS = (
    ("cpu_shares", "shares", tp.ULLONG, 100),
    ("vcpu_period", "period", tp.ULLONG, 100000),
    ("vcpu_quota", "quota", tp.LLONG, QUOTA_MAX),
    ("emulator_period", "emulator_period", tp.ULLONG, 100000),
    ("emulator_quota", "emulator_quota", tp.LLONG, QUOTA_MAX),
    ("global_period", "global_period", tp.ULLONG, 100000),
    ("global_quota", "global_quota", tp.LLONG, QUOTA_MAX),
    ("iothread_period", "iothread_period", tp.ULLONG, 100000),
    ("iothread_quota", "iothread_quota", tp.LLONG, QUOTA_MAX),
)
_SCHED_TAGS = tuple(tag for _n, tag, _t, _d in QEMU_SCHED_PARAMS)


class QemuScheduler:
    """The QEMU driver's "posix" scheduler: CPU shares and bandwidth, kept in <cputune>."""

    if TYPE_CHECKING:

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...

        cgroup_privileged: bool  # qemu_cgroups.QemuCgroupTuning: False on qemu:///session

    def _sched_session_check(self, code: ErrorCode) -> None:
        """``!driver->privileged``: no cgroups for an unprivileged libvirtd."""
        if not self.cgroup_privileged:
            raise self.error(code, "CPU tuning is not available in session mode")

    def domain_get_scheduler_type(self, dom: Dom) -> tuple[str, int]:
        self.find(dom)
        self._sched_session_check(ErrorCode.OPERATION_UNSUPPORTED)
        return "posix", len(QEMU_SCHED_PARAMS)

    def domain_get_scheduler_parameters(self, dom: Dom, nparams: int) -> list[rp.RemoteTypedParam]:
        return self.domain_get_scheduler_parameters_flags(dom, nparams, 0)

    def domain_get_scheduler_parameters_flags(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> list[rp.RemoteTypedParam]:
        self.check_flags(
            flags, AFFECT | VIR_TYPED_PARAM_STRING_OKAY, "qemuDomainGetSchedulerParametersFlags"
        )
        obj = self.find(dom)
        self._sched_session_check(ErrorCode.CONFIG_UNSUPPORTED)
        ddef = self.one_def(obj, flags & AFFECT)
        live = ddef is obj.live
        values, types = {}, {}
        for name, tag, kind, default in QEMU_SCHED_PARAMS[: max(nparams, 0)]:
            tune = ddef.tree.find("cputune")
            elem = tune.find(tag) if tune is not None else None
            text = elem.text if elem is not None and elem.text else None
            values[name] = int(text) if text is not None else (default if live else 0)
            types[name] = kind
        return tp.to_wire(values, types)

    def domain_set_scheduler_parameters(self, dom: Dom, params: list[rp.RemoteTypedParam]) -> None:
        self.domain_set_scheduler_parameters_flags(dom, params, 0)

    def domain_set_scheduler_parameters_flags(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "qemuDomainSetSchedulerParametersFlags")
        known = {name: (tag, kind) for name, tag, kind, _d in QEMU_SCHED_PARAMS}
        for param in params:
            if param.field not in known:
                raise self.error(ErrorCode.INVALID_ARG, f"parameter '{param.field}' not supported")
            _tag, kind = known[param.field]
            if param.value.type != kind:
                raise self.error(
                    ErrorCode.INVALID_ARG,
                    f"invalid type '{_TYPE_NAMES.get(param.value.type, '?')}' for parameter "
                    f"'{param.field}', expected '{_TYPE_NAMES[kind]}'",
                )
            value = int(param.value.value)
            low_high = PERIOD_RANGE if param.field.endswith("period") else QUOTA_RANGE
            if (
                param.field != "cpu_shares"
                and value
                and not (low_high[0] <= value <= low_high[1] or (kind == tp.LLONG and value == -1))
            ):
                raise self.error(
                    ErrorCode.INVALID_ARG,
                    f"value of '{param.field}' is out of range [{low_high[0]}, {low_high[1]}]",
                )
        obj = self.find(dom)
        self._sched_session_check(ErrorCode.CONFIG_UNSUPPORTED)
        live, config = self.impact(obj, flags)
        targets = ([obj.live] if live and obj.live else []) + ([obj.config] if config else [])
        for ddef in targets:
            for param in params:
                set_cputune_value(ddef, known[param.field][0], int(param.value.value))
        if config:
            self.save(obj)


def set_cputune_value(ddef: DomainDef, tag: str, value: int) -> None:
    """<cputune>'s scalar children in virDomainCputuneDefFormat's order, before the pins."""
    tune = _cputune(ddef, create=True)
    assert tune is not None
    elem = tune.find(tag)
    if elem is None:
        elem = ET.Element(tag)
        rank = _SCHED_TAGS.index(tag)
        at = sum(1 for child in tune if child.tag in _SCHED_TAGS[:rank])
        tune.insert(at, elem)
    elem.text = str(value)


_TYPE_NAMES = {
    tp.INT: "int",
    tp.UINT: "uint",
    tp.LLONG: "llong",
    tp.ULLONG: "ullong",
    tp.DOUBLE: "double",
    tp.BOOLEAN: "boolean",
    tp.STRING: "string",
}


class QemuTuning(QemuScheduler, TuningMixin):
    """The QEMU driver: vCPU pins with --live/--config, vCPU time from the guest's uptime."""

    pin_vcpu_flags = AFFECT

    if TYPE_CHECKING:

        def cpu_ns(self, obj: DomainObj) -> int: ...  # stats.QemuStats

    def vcpu_time(self, obj: DomainObj, vcpu: int) -> int:
        return self.cpu_ns(obj) // max(obj.current.vcpus, 1)

    def check_pin_vcpu(self, ddef: DomainDef, vcpu: int, *, live: bool) -> None:
        """qemuDomainPinVcpuFlags: any vCPU up to the maximum (the texts name the live
        maximum but the persistent *current* count, as libvirt 9.0 does)."""
        if vcpu >= ddef.max_vcpus:
            which, count = ("live", ddef.max_vcpus) if live else ("persistent", ddef.vcpus)
            raise self.error(
                ErrorCode.INVALID_ARG, f"vcpu {vcpu} is out of range of {which} cpu count {count}"
            )
