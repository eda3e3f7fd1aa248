"""virNodeInfo and virDomainInfo: the two fixed-shape records both ends of the wire hand out.

The daemon's hosts produce them and the client returns them; one definition keeps the field
names and units (KiB, ns) from drifting apart. They are tuples, as libvirt-python's
``getInfo()``/``info()`` lists are, with names for readers.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DomainInfo", "NodeInfo"]


class NodeInfo(NamedTuple):
    """virNodeInfo (NODE_GET_INFO); ``memory`` in KiB."""

    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int


class DomainInfo(NamedTuple):
    """virDomainInfo (DOMAIN_GET_INFO); memory in KiB, ``cpu_time`` in ns."""

    state: int
    max_mem: int
    memory: int
    nr_virt_cpu: int
    cpu_time: int

    def as_list(self) -> list[int]:
        """libvirt-python's shape: [state, maxMem, memory, nrVirtCpu, cpuTime]."""
        return list(self)
