"""virtwire.server.hypervisor: the simulated hosts behind the daemon's URIs.

``HostRegistry`` hands out one ``Driver`` per URI (``test:///default``,
``qemu:///system``, ``qemu:///session``); see docs/internals.md ("The driver API") and
docs/hosts.md.
"""

from virtwire.protocol.records import DomainInfo, NodeInfo
from virtwire.server.hypervisor.driver import Driver
from virtwire.server.hypervisor.qemudriver import QemuDriver
from virtwire.server.hypervisor.registry import HostRegistry
from virtwire.server.hypervisor.testdriver import TestDriver

__all__ = ["DomainInfo", "Driver", "HostRegistry", "NodeInfo", "QemuDriver", "TestDriver"]
