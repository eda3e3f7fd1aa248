"""vCPU hot-plug on the QEMU hosts: ``setvcpus`` (live, config, maximum, guest), ``vcpucount``.

As libvirt 9.0's ``qemuDomainSetVcpusFlags`` and ``qemuDomainGetVcpusFlags``: a live
change plugs the lowest offline vCPUs or unplugs the highest *hot-pluggable* ones (the
vCPUs a guest booted with are not: ``failed to find appropriate hotpluggable vcpus to
reach the desired target vcpu count``), and gives the live definition individual vCPU
states (``<vcpus>``); a config change onlines/offlines vCPUs in the stored definition
(``--hotpluggable`` marks them so); ``--maximum`` (config only) grows or shrinks the vCPU
array.  ``--guest`` asks the simulated guest agent (qemu_guest.py), which can only
offline vCPUs that are enabled.  A guest that refuses unplugs (``<vw:guest
unplug='refuse|ignore'/>`` or the ``unplug`` fault) lets libvirt's wait time out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.tuning import AFFECT, parse_cpuset
from virtwire.server.hypervisor.vcpus import (
    VCPU_GUEST,
    VCPU_HOTPLUGGABLE,
    VCPU_LIVE,
    VCPU_MAXIMUM,
    VcpuState,
    check_set_vcpus_args,
    read_states,
    write_states,
)

if TYPE_CHECKING:
    from virtwire.server.faults import FaultTable
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuVcpus"]

Dom = rp.RemoteNonnullDomain

NO_GRANULARITY = (
    "failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count"
)
UNPLUG_TIMEOUT = (
    "vcpu unplug request timed out. Unplug result must be manually inspected in the domain"
)


def _live_states(ddef: DomainDef) -> list[VcpuState]:
    """A running domain's vCPUs with what QEMU reported at start filled in: the vCPUs it
    booted with are not hot-pluggable, the others are; online ones ordered by id."""
    states, _individual = read_states(ddef)
    order = 0
    for state in states:
        if state.hotpluggable is None:
            state.hotpluggable = "no" if state.online else "yes"
        if state.online and not state.order:
            order = max(order, max(s.order for s in states)) + 1
            state.order = order
    return states


class QemuVcpus:
    """The ``setVcpusFlags`` / ``getVcpusFlags`` / ``getMaxVcpus`` members of the QEMU hosts."""

    if TYPE_CHECKING:  # provided by Driver and the other mixins

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...
        def agent_check(self, obj: DomainObj) -> None: ...  # qemu_guest.py

        faults: FaultTable | None

    # -- set ------------------------------------------------------------------------------------

    def domain_set_vcpus(self, dom: Dom, nvcpus: int) -> None:
        self.domain_set_vcpus_flags(dom, nvcpus, VCPU_LIVE)

    def domain_set_vcpus_flags(self, dom: Dom, nvcpus: int, flags: int = 0) -> None:
        check_set_vcpus_args(nvcpus, flags)
        self.check_flags(
            flags,
            AFFECT | VCPU_MAXIMUM | VCPU_GUEST | VCPU_HOTPLUGGABLE,
            "qemuDomainSetVcpusFlags",
        )
        obj = self.find(dom)
        if flags & VCPU_GUEST:
            self._vcpus_set_guest(obj, nvcpus)
            return
        live, config = self.impact(obj, flags & AFFECT)
        if flags & VCPU_MAXIMUM:
            self._vcpus_set_max(obj, live, nvcpus)
            return
        if live:
            assert obj.live is not None
            if nvcpus > obj.live.max_vcpus:
                raise self.error(
                    ErrorCode.INVALID_ARG,
                    "requested vcpus is greater than max allowable vcpus for the live domain: "
                    f"{nvcpus} > {obj.live.max_vcpus}",
                )
        if config and nvcpus > obj.config.max_vcpus:
            raise self.error(
                ErrorCode.INVALID_ARG,
                "requested vcpus is greater than max allowable vcpus for the persistent "
                f"domain: {nvcpus} > {obj.config.max_vcpus}",
            )
        if live:
            assert obj.live is not None
            self._vcpus_set_live(obj, obj.live, nvcpus)
        if config:
            new = obj.config.copy()
            self._vcpus_set_config(new, nvcpus, bool(flags & VCPU_HOTPLUGGABLE))
            self.save(obj, new)
            obj.config = new

    def _vcpus_set_live(self, obj: DomainObj, ddef: DomainDef, nvcpus: int) -> None:
        """qemuDomainSelectHotplugVcpuEntities + qemuDomainSetVcpusLive."""
        states = _live_states(ddef)
        cur = sum(1 for s in states if s.online)
        if nvcpus == cur:
            return
        chosen: list[int] = []
        enable = nvcpus > cur
        if enable:
            for i, state in enumerate(states):
                if cur >= nvcpus:
                    break
                if not state.online:
                    cur += 1
                    chosen.append(i)
        else:
            for i in range(len(states) - 1, -1, -1):
                if cur <= nvcpus:
                    break
                if states[i].online and states[i].hotpluggable == "yes":
                    cur -= 1
                    chosen.append(i)
        if cur != nvcpus:
            raise self.error(ErrorCode.CONFIG_UNSUPPORTED, NO_GRANULARITY)
        for i in chosen:
            state = states[i]
            if enable:
                state.online, state.hotpluggable = True, "yes"
                state.order = max(s.order for s in states) + 1
            else:
                if self._vcpus_guest_refuses(obj, f"vcpu{i}"):
                    write_states(ddef, states, True)  # what was unplugged so far stays so
                    raise self.error(ErrorCode.OPERATION_TIMEOUT, UNPLUG_TIMEOUT)
                state.online, state.order = False, 0
        write_states(ddef, states, True)

    def _vcpus_guest_refuses(self, obj: DomainObj, alias: str) -> bool:
        live = obj.live
        if live is not None and live.unplug != "ack":
            return True
        return self.faults is not None and self.faults.guest_refuses("unplug", f"device {alias}")

    @staticmethod
    def _vcpus_set_config(ddef: DomainDef, nvcpus: int, hotpluggable: bool) -> None:
        """qemuDomainSetVcpusConfig: cold-plug the lowest offline, unplug the highest online."""
        states, individual = read_states(ddef)
        for state in states:
            state.order = 0  # virDomainDefVcpuOrderClear
        cur = sum(1 for s in states if s.online)
        if cur < nvcpus:
            for state in states:
                if state.online:
                    if state.hotpluggable == "yes":
                        hotpluggable = True
                    continue
                state.online = True
                state.hotpluggable = "yes" if hotpluggable else "no"
                individual = individual or hotpluggable
                cur += 1
                if cur == nvcpus:
                    break
        elif cur > nvcpus:
            for state in reversed(states):
                if not state.online:
                    continue
                state.online, state.hotpluggable = False, "yes"
                cur -= 1
                if cur == nvcpus:
                    break
        write_states(ddef, states, individual)

    def _vcpus_set_max(self, obj: DomainObj, live: bool, nvcpus: int) -> None:
        """qemuDomainSetVcpusMax: the persistent definition only."""
        if live:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "maximum vcpu count of a live domain can't be modified",
            )
        new = obj.config.copy()
        numa_cpus = set()
        for cell in new.tree.findall("cpu/numa/cell"):
            numa_cpus |= parse_cpuset(cell.get("cpus", ""))
        if len(numa_cpus) > nvcpus:
            raise self.error(
                ErrorCode.INVALID_ARG,
                "Number of CPUs in <numa> exceeds the desired maximum vcpu count",
            )
        topo = new.tree.find("cpu/topology")
        if topo is not None:
            product = 1
            for attr in ("sockets", "dies", "cores", "threads"):
                product *= int(topo.get(attr, "1") or 1)
            if product != nvcpus:
                raise self.error(
                    ErrorCode.INVALID_ARG, "CPU topology doesn't match the desired vcpu count"
                )
        states, individual = read_states(new)
        for state in states:
            state.order = 0
        if nvcpus < len(states):
            states = states[:nvcpus]
        else:
            states += [VcpuState(False) for _ in range(nvcpus - len(states))]
        write_states(new, states, individual)
        self.save(obj, new)
        obj.config = new

    def _vcpus_set_guest(self, obj: DomainObj, nvcpus: int) -> None:
        """qemuDomainSetVcpusAgent: the guest onlines/offlines CPUs it already has."""
        self.agent_check(obj)
        assert obj.live is not None
        enabled = obj.live.vcpus
        if nvcpus > enabled:
            raise self.error(
                ErrorCode.INVALID_ARG,
                "requested vcpu count is greater than the count of enabled vcpus in the "
                f"domain: {nvcpus} > {enabled}",
            )
        self.guest_online_vcpus()[(obj.uuid, obj.id)] = nvcpus

    def guest_online_vcpus(self) -> dict[tuple[bytes, int], int]:
        """What the guest agent was told to keep online, per running domain (uuid, id)."""
        table = self.__dict__.get("_vcpus_guest_online")
        if table is None:
            table = self.__dict__["_vcpus_guest_online"] = {}
        return table

    # -- get ------------------------------------------------------------------------------------

    def domain_get_vcpus_flags(self, dom: Dom, flags: int = 0) -> int:
        self.check_flags(flags, AFFECT | VCPU_MAXIMUM | VCPU_GUEST, "qemuDomainGetVcpusFlags")
        obj = self.find(dom)
        ddef = self.one_def(obj, flags & AFFECT)
        if flags & VCPU_GUEST:
            if obj.live is None:
                raise self.error(
                    ErrorCode.INVALID_ARG,
                    "vCPU count provided by the guest agent can only be requested for live domains",
                )
            self.agent_check(obj)
            if flags & VCPU_MAXIMUM:
                return obj.live.vcpus
            return min(
                self.guest_online_vcpus().get((obj.uuid, obj.id), obj.live.vcpus), obj.live.vcpus
            )
        return ddef.max_vcpus if flags & VCPU_MAXIMUM else ddef.vcpus

    def domain_get_max_vcpus(self, dom: Dom) -> int:
        return self.domain_get_vcpus_flags(dom, VCPU_LIVE | VCPU_MAXIMUM)
