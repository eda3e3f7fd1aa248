"""virtwire.server.hypervisor: the simulated hosts behind the daemon's URIs.

``HostRegistry`` hands out one ``Driver`` per URI (``test:///default``,
``qemu:///system``, ``qemu:///session``); see docs/internals.md ("The driver API") and
docs/hosts.md.
"""

from typing import Any

from virtwire.protocol.records import DomainInfo, NodeInfo
from virtwire.server.hypervisor.driver import Driver
from virtwire.server.hypervisor.registry import HostRegistry

__all__ = ["DomainInfo", "Driver", "HostRegistry", "NodeInfo", "QemuDriver", "TestDriver"]


def __getattr__(name: str) -> Any:
    # the hosts (the test driver's ~50 ms of imports, the QEMU host's ~35 ms) load when first
    # asked for: `virtwire serve` answers its first calls without them
    if name == "QemuDriver":
        from virtwire.server.hypervisor.qemudriver import QemuDriver

        return QemuDriver
    if name == "TestDriver":
        from virtwire.server.hypervisor.testdriver import TestDriver

        return TestDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
