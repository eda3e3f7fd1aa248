"""CPU facts of the QEMU hosts: a guest's ``cpu-stats`` and the host's ``cpu-models``.

``getCPUStats`` follows libvirt 9.0's ``qemuDomainGetCPUStats`` (cgroup cpuacct): the
total (``--total``: ``cpu_time``, ``user_time``, ``system_time``) is the guest's CPU
time (stats.py's ``cpu_ns``, a tenth of each vCPU busy since start), split 70/30 between
user and system; per host CPU, ``cpu_time`` and ``vcpu_time`` share it over the CPUs the
guest may use; ``qemu:///session`` has no cgroups (``cgroup CPUACCT controller is not
mounted``).  ``getCPUModelNames`` lists libvirt 9.0's cpu_map models in its load order
(src/cpu_map/index.xml): x86 for i686/x86_64, ppc64 for ppc64/ppc64le; s390 and ARM CPU
drivers have no model list (an empty answer); other architectures have no CPU driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.cpu_models import cpu_model_names

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuCpu"]

Dom = rp.RemoteNonnullDomain

REMOTE_NODE_CPU_STATS_MAX = 16
REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX = 128
VIR_TYPED_PARAM_STRING_OKAY = 4
CGROUP_NB_TOTAL_CPU_STAT_PARAM = 3
CGROUP_NB_PER_CPU_STAT_PARAM = 1  # cpu_time; +1 (vcpu_time) when QEMU reports vCPU threads


def _ullongs(pairs: list[tuple[str, int]]) -> list[rp.RemoteTypedParam]:
    return [
        rp.RemoteTypedParam(field=k, value=rp.RemoteTypedParamValue(tp.ULLONG, v)) for k, v in pairs
    ]


class QemuCpu:
    """``getCPUStats`` and ``getCPUModelNames`` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver, stats.QemuStats and tuning.py

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def not_running(self) -> LibvirtError: ...
        def cpu_ns(self, obj: DomainObj) -> int: ...
        def host_cpus(self) -> set[int]: ...
        def effective_pin(self, ddef: DomainDef, vcpu: int) -> set[int]: ...

        cgroup_privileged: bool  # qemu_cgroups.QemuCgroupTuning: False on qemu:///session

    def connect_get_cpu_model_names(
        self, arch: str, need_results: int, flags: int = 0
    ) -> tuple[list[str], int]:
        self.check_flags(flags, 0, "qemuConnectGetCPUModelNames")
        models = cpu_model_names(arch, ErrorDomain.QEMU)
        return (models if need_results else []), len(models)

    def domain_get_cpu_stats(
        self, dom: Dom, nparams: int, start_cpu: int, ncpus: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        """remoteDispatchDomainGetCPUStats around qemuDomainGetCPUStats: per-CPU parameters
        come as one CPU-major array."""
        if nparams > REMOTE_NODE_CPU_STATS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "nparams too large")
        if ncpus > REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX:
            raise self.error(ErrorCode.INTERNAL_ERROR, "ncpus too large")
        self.check_flags(flags, VIR_TYPED_PARAM_STRING_OKAY, "qemuDomainGetCPUStats")
        obj = self.find(dom)
        if obj.live is None:
            raise self.not_running()
        if not self.cgroup_privileged:  # an unprivileged libvirtd makes no cgroups
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cgroup CPUACCT controller is not mounted"
            )
        total = self.cpu_ns(obj)
        if start_cpu == -1:  # virCgroupGetDomainTotalCpuStats
            if nparams == 0:
                return [], CGROUP_NB_TOTAL_CPU_STAT_PARAM
            user = total * 7 // 10
            rows = [("cpu_time", total), ("user_time", user), ("system_time", total - user)]
            chosen = rows[: min(nparams, CGROUP_NB_TOTAL_CPU_STAT_PARAM)]
            return _ullongs(chosen), len(chosen)
        nstats = CGROUP_NB_PER_CPU_STAT_PARAM + 1
        host = sorted(self.host_cpus())
        if nparams == 0 and ncpus != 0:
            return [], nstats
        if ncpus == 0:
            return [], len(host)
        if start_cpu >= len(host):
            raise LibvirtError.make(
                ErrorCode.INVALID_ARG,
                ErrorDomain.CGROUP,
                f"start_cpu {start_cpu} larger than maximum of {len(host) - 1}",
            )
        used: set[int] = set()
        for vcpu in range(obj.live.vcpus):
            used |= self.effective_pin(obj.live, vcpu)
        share = total // max(len(used), 1)
        out = []
        for cpu in range(start_cpu, min(len(host), start_cpu + ncpus)):
            cpu_time = share + cpu * 1000 if cpu in used else 0
            out.append(("cpu_time", cpu_time))
            if nparams > 1:
                out.append(("vcpu_time", cpu_time * 9 // 10))
        return _ullongs(out), min(nparams, nstats)
