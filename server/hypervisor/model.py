"""Plain records shared by the simulated hosts: domain states, flags and the domain object."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from virtwire.protocol.events import DomainRef
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain
from virtwire.server.hypervisor.domxml import DomainDef


class DomainState(IntEnum):
    NOSTATE = 0
    RUNNING = 1
    BLOCKED = 2
    PAUSED = 3
    SHUTDOWN = 4
    SHUTOFF = 5
    CRASHED = 6
    PMSUSPENDED = 7


class RunningReason(IntEnum):
    UNKNOWN = 0
    BOOTED = 1
    UNPAUSED = 5


class PausedReason(IntEnum):
    UNKNOWN = 0
    USER = 1
    STARTING_UP = 11


class ShutoffReason(IntEnum):
    UNKNOWN = 0
    SHUTDOWN = 1
    DESTROYED = 2


class ModificationImpact(IntFlag):
    """virDomainModificationImpact (attach/detach/setmem flags)."""

    CURRENT = 0
    LIVE = 1
    CONFIG = 2


class ListFlags(IntFlag):
    """virConnectListAllDomainsFlags."""

    ACTIVE = 1
    INACTIVE = 2
    PERSISTENT = 4
    TRANSIENT = 8
    RUNNING = 16
    PAUSED = 32
    SHUTOFF = 64
    OTHER = 128
    MANAGEDSAVE = 256
    NO_MANAGEDSAVE = 512
    AUTOSTART = 1024
    NO_AUTOSTART = 2048
    HAS_SNAPSHOT = 4096
    NO_SNAPSHOT = 8192


XML_INACTIVE = 2  # VIR_DOMAIN_XML_INACTIVE
START_PAUSED = 1  # VIR_DOMAIN_START_PAUSED
MEM_MAXIMUM = 4  # VIR_DOMAIN_MEM_MAXIMUM


@dataclass
class DomainObj:
    """A domain on a simulated host: its persistent definition and, when active, its live one."""

    config: DomainDef
    persistent: bool
    live: DomainDef | None = None
    state: int = DomainState.SHUTOFF
    reason: int = ShutoffReason.UNKNOWN
    id: int = -1
    autostart: bool = False
    started_ns: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def uuid(self) -> bytes:
        return self.config.uuid

    @property
    def active(self) -> bool:
        return self.live is not None

    @property
    def current(self) -> DomainDef:
        """The definition that describes the domain now (live when running)."""
        return self.live if self.live is not None else self.config

    def ref(self) -> DomainRef:
        """The domain as typed events name it."""
        return DomainRef(self.name, self.uuid, self.id)

    def handle(self) -> RemoteNonnullDomain:
        """The domain as the wire names it: what driver methods return (packed as is)."""
        return RemoteNonnullDomain(name=self.name, uuid=self.uuid, id=self.id)

    def cpu_time(self) -> int:
        if not self.active:
            return 0
        return max(time.monotonic_ns() - self.started_ns, 0)
