"""libvirt 9.0's CPU models per architecture (``virCPUGetModels``), for every host.

x86 models for i686/x86_64 and ppc64 ones for ppc64/ppc64le, in src/cpu_map/index.xml's
order (checked against libvirt's source in the tests); the s390 and ARM CPU drivers have no
model list (an empty answer); other architectures have no CPU driver (NO_SUPPORT, from the
CPU error domain as cpu.c reports it); a name virArch does not know is the driver's
INVALID_ARG.
"""

from __future__ import annotations

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

__all__ = ["ARCH_NAMES", "PPC64_MODELS", "X86_MODELS", "cpu_model_names"]

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


def cpu_model_names(arch: str, driver_domain: int) -> list[str]:
    """virCPUGetModels after the driver's architecture check (its error domain)."""
    if arch not in ARCH_NAMES:
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, driver_domain, f"cannot find architecture {arch}"
        )
    models = _DRIVER_MODELS.get(arch)
    if models is None:
        raise LibvirtError.make(
            ErrorCode.NO_SUPPORT,
            ErrorDomain.CPU,
            f"'{arch}' architecture is not supported by CPU driver",
        )
    return list(models)
