"""virtwire.server.hypervisor: the simulated hosts behind the daemon's URIs.

``HostRegistry`` hands out one ``Driver`` per URI (``test:///default``,
``qemu:///system``, ``qemu:///session``); see docs/internals.md ("The driver API") and
docs/hosts.md.
"""

from importlib import import_module
from typing import Any

__all__ = ["DomainInfo", "Driver", "HostRegistry", "NodeInfo", "QemuDriver", "TestDriver"]

# name -> the module defining it, imported on first use: the registry is light, but the
# driver base pulls in the domain model and XML code (~70 ms) and the hosts more (the test
# driver ~50 ms, the QEMU host ~35 ms); `virtwire serve` answers its first call without them
_WHERE = {
    "DomainInfo": "virtwire.protocol.records",
    "NodeInfo": "virtwire.protocol.records",
    "Driver": "virtwire.server.hypervisor.driver",
    "HostRegistry": "virtwire.server.hypervisor.registry",
    "QemuDriver": "virtwire.server.hypervisor.qemudriver",
    "TestDriver": "virtwire.server.hypervisor.testdriver",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(where), name)
