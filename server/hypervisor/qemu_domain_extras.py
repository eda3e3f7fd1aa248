"""The QEMU hosts' domain tuning, guest-agent, metadata and CPU members in one base class.

Composed from one module per job (qemu_tunable.py, qemu_vcpus.py, qemu_iothreads.py, qemu_guest.py,
metadata.py, qemu_cgroups.py, qemu_cpu.py); ``QemuDriver`` lists this class before
``QemuTuning`` so the TUNABLE wrappers see tuning.py's setters.
"""

from __future__ import annotations

from virtwire.server.hypervisor.metadata import MetadataMixin
from virtwire.server.hypervisor.qemu_cgroups import QemuCgroupTuning
from virtwire.server.hypervisor.qemu_cpu import QemuCpu
from virtwire.server.hypervisor.qemu_guest import QemuGuestAgent
from virtwire.server.hypervisor.qemu_iothreads import QemuIOThreads
from virtwire.server.hypervisor.qemu_tunable import QemuTunableEvents
from virtwire.server.hypervisor.qemu_vcpus import QemuVcpus

__all__ = ["QemuDomainExtras"]


class QemuDomainExtras(
    QemuTunableEvents,
    QemuVcpus,
    QemuIOThreads,
    QemuGuestAgent,
    MetadataMixin,
    QemuCgroupTuning,
    QemuCpu,
):
    """vCPU hot-plug, IOThreads, TUNABLE events, guest agent, metadata, blkio/memtune, cpu-stats/models."""
