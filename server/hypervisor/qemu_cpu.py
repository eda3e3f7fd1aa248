"""CPU facts of the QEMU hosts: a guest's ``cpu-stats`` and the host's ``cpu-models``.

``getCPUStats`` follows libvirt 9.0's ``qemuDomainGetCPUStats`` (cgroup cpuacct): the
total (``--total``: ``cpu_time``, ``user_time``, ``system_time``) is the guest's CPU
time (stats.py's ``cpu_ns``, a tenth of each vCPU busy since start), split 70/30 between
user and system; per host CPU, ``cpu_time`` and ``vcpu_time`` share it over the CPUs the
guest may use.  ``getCPUModelNames`` lists libvirt 9.0's cpu_map models in its load order
(src/cpu_map/index.xml): x86 for i686/x86_64, ppc64 for ppc64/ppc64le; s390 and ARM CPU
drivers have no model list (an empty answer); other architectures have no CPU driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["ARCH_NAMES", "PPC64_MODELS", "X86_MODELS", "QemuCpu", "cpu_model_names"]

Dom = rp.RemoteNonnullDomain

REMOTE_NODE_CPU_STATS_MAX = 16
REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX = 128
VIR_TYPED_PARAM_STRING_OKAY = 4
CGROUP_NB_TOTAL_CPU_STAT_PARAM = 3
CGROUP_NB_PER_CPU_STAT_PARAM = 1  # cpu_time; +1 (vcpu_time) when QEMU reports vCPU threads

# src/cpu_map/index.xml's x86 models, in order (checked against the source in the tests)
X86_MODELS = [
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "pentiumpro",
    "coreduo",
    "n270",
    "core2duo",
    "qemu32",
    "kvm32",
    "cpu64-rhel5",
    "cpu64-rhel6",
    "qemu64",
    "kvm64",
    "Conroe",
    "Penryn",
    "Nehalem",
    "Nehalem-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "SandyBridge",
    "SandyBridge-IBRS",
    "IvyBridge",
    "IvyBridge-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "Haswell",
    "Haswell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Broadwell",
    "Broadwell-IBRS",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Cascadelake-Server",
    "Cascadelake-Server-noTSX",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "Cooperlake",
    "Snowridge",
    "athlon",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-Rome",
    "EPYC-Milan",
    "Dhyana",
]
PPC64_MODELS = tuple(
    ["POWER6", "POWER7", "POWER8", "POWER9", "POWER10", "POWERPC_e5500", "POWERPC_e6500"]
)
# virArch's names (util/virarch.c), VIR_ARCH_NONE excluded
ARCH_NAMES = frozenset(
    [
        "alpha",
        "armv6l",
        "armv7l",
        "armv7b",
        "aarch64",
        "cris",
        "i686",
        "ia64",
        "lm32",
        "m68k",
        "microblaze",
        "microblazeel",
        "mips",
        "mipsel",
        "mips64",
        "mips64el",
        "openrisc",
        "parisc",
        "parisc64",
        "ppc",
        "ppcle",
        "ppc64",
        "ppc64le",
        "ppcemb",
        "riscv32",
        "riscv64",
        "s390",
        "s390x",
        "sh4",
        "sh4eb",
        "sparc",
        "sparc64",
        "unicore32",
        "x86_64",
        "xtensa",
        "xtensaeb",
    ]
)
_DRIVER_MODELS: dict[str, tuple[str, ...]] = {
    "i686": tuple(X86_MODELS),
    "x86_64": tuple(X86_MODELS),
    "ppc64": PPC64_MODELS,
    "ppc64le": PPC64_MODELS,
    "s390": (),
    "s390x": (),
    "armv6l": (),
    "armv7l": (),
    "armv7b": (),
    "aarch64": (),
}


def cpu_model_names(arch: str) -> list[str]:
    """virCPUGetModels with qemuConnectGetCPUModelNames' architecture check."""
    if arch not in ARCH_NAMES:
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, ErrorDomain.QEMU, f"cannot find architecture {arch}"
        )
    models = _DRIVER_MODELS.get(arch)
    if models is None:
        raise LibvirtError.make(
            ErrorCode.NO_SUPPORT,
            ErrorDomain.CPU,
            f"'{arch}' architecture is not supported by CPU driver",
        )
    return list(models)


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

    def connect_get_cpu_model_names(
        self, arch: str, need_results: int, flags: int = 0
    ) -> tuple[list[str], int]:
        self.check_flags(flags, 0, "qemuConnectGetCPUModelNames")
        models = cpu_model_names(arch)
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
