"""TUNABLE events of the QEMU hosts: what libvirt 9.0's QEMU driver announces after a live
change of CPU tuning (``qemuDomainPinVcpuLive``, ``qemuDomainPinEmulator``,
``qemuDomainSetSchedulerParametersFlags``): ``cputune.vcpupinN`` / ``cputune.emulatorpin``
(the new CPU list) and ``cputune.<scheduler parameter>``, in the order set.  Config-only
changes and the blkio/memory parameters raise none, as in libvirt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol import events as ev
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.tuning import AFFECT, format_cpuset, from_map

if TYPE_CHECKING:
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuTunableEvents"]

Dom = rp.RemoteNonnullDomain


class QemuTunableEvents:
    """Wraps the pin and scheduler setters of tuning.py (placed before it in the bases)."""

    if TYPE_CHECKING:

        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def emit(self, event: object) -> None: ...

    def _tunable_live(self, dom: Dom, flags: int) -> tuple[DomainObj, bool]:
        obj = self.find(dom)
        live, _config = self.impact(obj, flags & AFFECT)
        return obj, live

    def _tunable_emit(self, obj: DomainObj, params: list[ev.TypedParam]) -> None:
        if params:
            self.emit(ev.TunableEvent(obj.ref(), tuple(params)))

    def domain_pin_vcpu_flags(self, dom: Dom, vcpu: int, cpumap: bytes, flags: int = 0) -> None:
        super().domain_pin_vcpu_flags(dom, vcpu, cpumap, flags)  # type: ignore[misc]
        obj, live = self._tunable_live(dom, flags)
        if live:
            cpus = format_cpuset(from_map(cpumap))
            param = ev.TypedParam(f"cputune.vcpupin{vcpu}", ev.TypedParamType.STRING, cpus)
            self._tunable_emit(obj, [param])

    def domain_pin_emulator(self, dom: Dom, cpumap: bytes, flags: int = 0) -> None:
        super().domain_pin_emulator(dom, cpumap, flags)  # type: ignore[misc]
        obj, live = self._tunable_live(dom, flags)
        if live:
            cpus = format_cpuset(from_map(cpumap))
            param = ev.TypedParam("cputune.emulatorpin", ev.TypedParamType.STRING, cpus)
            self._tunable_emit(obj, [param])

    def domain_set_scheduler_parameters_flags(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        super().domain_set_scheduler_parameters_flags(dom, params, flags)  # type: ignore[misc]
        obj, live = self._tunable_live(dom, flags)
        if live:
            self._tunable_emit(
                obj,
                [
                    ev.TypedParam(
                        f"cputune.{p.field}", ev.TypedParamType(p.value.type), p.value.value
                    )
                    for p in params
                ],
            )
