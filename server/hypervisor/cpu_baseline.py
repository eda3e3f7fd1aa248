"""``cpu-compare``, ``cpu-baseline`` and their ``hypervisor-cpu-*`` forms (cpu_x86.py's driver).

:class:`TestCpuBaseline` is libvirt 9.0's ``testConnectBaselineCPU`` (the test driver has no
compare).  :class:`QemuCpuBaseline` is ``qemuConnectCompareCPU`` (against the host CPU the
capabilities advertise), ``qemuConnectCompareHypervisorCPU`` (against QEMU's host-model
CPU for the virttype), ``qemuConnectBaselineCPU`` (without the CPU-monitoring features
QEMU filters: cmt, mbm_total, mbm_local, osxsave, ospke) and
``qemuConnectBaselineHypervisorCPU`` (only models QEMU 7.2 offers; ``--migratable`` leaves
non-migratable features out).  The simulated QEMU host is the KVM host of libvirt's QEMU
7.2 test data: an AMD EPYC-Rome (cpu_map_x86.QEMU_HOST_MODELS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor import cpu_x86
from virtwire.server.hypervisor.cpu_map_x86 import QEMU_CPU_MODELS, QEMU_HOST_MODELS
from virtwire.server.hypervisor.cpu_models import ARCH_NAMES
from virtwire.server.hypervisor.cpu_x86 import CpuDef

__all__ = ["QemuCpuBaseline", "TestCpuBaseline", "host_cpu_capabilities"]

COMPARE_FAIL_INCOMPATIBLE, COMPARE_VALIDATE_XML = 1, 2  # virConnectCompareCPUFlags
BASELINE_EXPAND_FEATURES, BASELINE_MIGRATABLE = 1, 2  # virConnectBaselineCPUFlags
QEMU_FILTERED_FEATURES = frozenset({"cmt", "mbm_total", "mbm_local", "osxsave", "ospke"})
EMULATOR = "/usr/bin/qemu-system-x86_64"
# machine types the host's QEMU knows (capabilities), with their canonical names
MACHINES = {"pc": "pc-i440fx-7.2", "q35": "pc-q35-7.2"}
# virDomainVirtType's names (conf/domain_conf.c)
VIRT_TYPES = ("none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware",
              "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "hvf", "ch")  # fmt: skip


def qemu_host_cpu() -> CpuDef:
    """The host CPU (virQEMUDriverGetHostCPU): KVM's host-model CPU, as a host CPU."""
    model, vendor, features = QEMU_HOST_MODELS["kvm"]
    return CpuDef(
        type="host",
        mode="custom",
        arch="x86_64",
        model=model,
        vendor=vendor,
        features=[(name, None) for name, policy in features if policy == "require"],
    )


def host_cpu_capabilities(indent: str = "      ") -> tuple[str, str]:
    """The capabilities' ``<model>``/``<vendor>`` lines and ``<feature>`` lines."""
    cpu = qemu_host_cpu()
    head = f"{indent}<model>{cpu.model}</model>\n{indent}<vendor>{cpu.vendor}</vendor>\n"
    return head, "".join(f"{indent}<feature name='{name}'/>\n" for name, _ in cpu.features)


def hypervisor_cpu(virttype: str) -> CpuDef:
    """virQEMUCapsGetHostModel(REPORTED): the domain capabilities' host-model CPU."""
    model, vendor, features = QEMU_HOST_MODELS["qemu" if virttype == "qemu" else "kvm"]
    return CpuDef(
        type="guest",
        mode="host-model",
        model=model,
        vendor=vendor,
        fallback="forbid",
        features=list(features),
    )


def parse_cpu_list(xml_cpus: list[str], cpu_type: str) -> list[CpuDef]:
    """virCPUDefListParse."""
    if not xml_cpus:
        raise LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.CPU, "no CPUs given")
    return [cpu_x86.parse_cpu(text, cpu_type) for text in xml_cpus]


def _baseline_xml(cpu: CpuDef, arch: str, flags: int) -> str:
    if flags & BASELINE_EXPAND_FEATURES:
        if arch in cpu_x86.X86_ARCHS:
            cpu_x86.expand_features(cpu)
        else:
            cpu.features.sort(key=lambda f: f[0])
    return cpu_x86.format_cpu(cpu)


class TestCpuBaseline:
    """testConnectBaselineCPU."""

    if TYPE_CHECKING:  # provided by Driver

        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...

    def connect_baseline_cpu(self, xml_cpus: list[str], flags: int = 0) -> str:
        self.check_flags(flags, BASELINE_EXPAND_FEATURES, "testConnectBaselineCPU")
        cpus = parse_cpu_list(xml_cpus, "host")
        arch = cpu_x86.check_baseline_input(cpus, None)
        return _baseline_xml(cpu_x86.baseline(cpus), arch, flags)


class QemuCpuBaseline:
    """The QEMU driver's four CPU comparison and baseline APIs (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver

        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...

    def connect_compare_cpu(self, xml: str, flags: int = 0) -> int:
        self.check_flags(flags, COMPARE_FAIL_INCOMPATIBLE | COMPARE_VALIDATE_XML,
                         "qemuConnectCompareCPU")  # fmt: skip
        cpu = cpu_x86.parse_cpu(xml)
        return cpu_x86.compare(qemu_host_cpu(), cpu, bool(flags & COMPARE_FAIL_INCOMPATIBLE))

    def connect_compare_hypervisor_cpu(
        self,
        emulator: str | None,
        arch: str | None,
        machine: str | None,
        virttype: str | None,
        xml_cpu: str,
        flags: int = 0,
    ) -> int:
        self.check_flags(flags, COMPARE_FAIL_INCOMPATIBLE | COMPARE_VALIDATE_XML,
                         "qemuConnectCompareHypervisorCPU")  # fmt: skip
        _arch, kind = self._qemu_caps(emulator, arch, virttype, machine)
        cpu = cpu_x86.parse_cpu(xml_cpu)
        fail = bool(flags & COMPARE_FAIL_INCOMPATIBLE)
        return cpu_x86.compare(hypervisor_cpu(kind), cpu, fail)

    def connect_baseline_cpu(self, xml_cpus: list[str], flags: int = 0) -> str:
        self.check_flags(flags, BASELINE_EXPAND_FEATURES | BASELINE_MIGRATABLE,
                         "qemuConnectBaselineCPU")  # fmt: skip
        cpus = parse_cpu_list(xml_cpus, "host")
        arch = cpu_x86.check_baseline_input(cpus, None)
        cpu = cpu_x86.baseline(cpus, migratable=bool(flags & BASELINE_MIGRATABLE))
        cpu.features = [f for f in cpu.features if f[0] not in QEMU_FILTERED_FEATURES]
        return _baseline_xml(cpu, cpus[0].arch or arch, flags)

    def connect_baseline_hypervisor_cpu(
        self,
        emulator: str | None,
        arch: str | None,
        machine: str | None,
        virttype: str | None,
        xml_cpus: list[str],
        flags: int = 0,
    ) -> str:
        self.check_flags(flags, BASELINE_EXPAND_FEATURES | BASELINE_MIGRATABLE,
                         "qemuConnectBaselineHypervisorCPU")  # fmt: skip
        cpus = parse_cpu_list(xml_cpus, "auto")
        real_arch, _kind = self._qemu_caps(emulator, arch, virttype, machine)
        features = None
        if flags & BASELINE_MIGRATABLE:  # QEMU's migratable properties only
            features = frozenset(cpu_x86.FEATURE_MASKS) - cpu_x86.NOT_MIGRATABLE
        cpu_x86.check_baseline_input(cpus, real_arch)
        cpu = cpu_x86.baseline(cpus, frozenset(QEMU_CPU_MODELS), features)
        cpu.fallback = "forbid"
        return _baseline_xml(cpu, real_arch, flags)

    def _qemu_caps(
        self, emulator: str | None, arch: str | None, virttype: str | None, machine: str | None
    ) -> tuple[str, str]:
        """virQEMUCapsCacheLookupDefault on a host with one QEMU (x86_64, KVM)."""
        if virttype is not None and virttype not in VIRT_TYPES:
            raise self.error(ErrorCode.INVALID_ARG, f"unknown virttype: {virttype}")
        if arch is not None and arch not in ARCH_NAMES:
            raise self.error(ErrorCode.INVALID_ARG, f"unknown architecture: {arch}")
        real_arch = arch or "x86_64"
        if emulator is None:
            if real_arch not in cpu_x86.X86_ARCHS:
                raise self.error(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    f"unable to find any emulator to serve '{arch}' architecture",
                )
            emulator = EMULATOR
        if emulator != EMULATOR:
            raise LibvirtError.make(
                ErrorCode.SYSTEM_ERROR,
                ErrorDomain.QEMU,
                f"Cannot check QEMU binary {emulator}: No such file or directory",
            )
        if real_arch not in cpu_x86.X86_ARCHS:
            raise self.error(
                ErrorCode.INVALID_ARG,
                f"architecture from emulator 'x86_64' doesn't match given architecture "
                f"'{real_arch}'",
            )
        kind = virttype or "kvm"
        if machine is not None:
            canonical = MACHINES.get(machine, machine)
            if canonical not in MACHINES.values():
                raise self.error(
                    ErrorCode.INVALID_ARG,
                    f"the machine '{canonical}' is not supported by emulator '{emulator}'",
                )
        return real_arch, kind
