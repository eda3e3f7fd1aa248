"""The typed event classes: one frozen, slotted dataclass per event of every object kind.

What :mod:`virtwire.protocol.event_types` says about them holds here; they live in their own
module because building ~50 slotted dataclasses is most of that module's import time, and
a daemon answering its first calls needs none of them.  ``event_types`` (and ``events``)
import this module on the first use of one of these names; import them from
:mod:`virtwire.protocol.events` as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from virtwire.protocol.event_types import (
    ConnectEventID,
    DomainEventID,
    DomainRef,
    EventKind,
    GraphicsAddress,
    GraphicsIdentity,
    NetworkEventID,
    NetworkRef,
    NodeDeviceEventID,
    NodeDeviceRef,
    QemuMonitorEventID,
    SecretEventID,
    SecretRef,
    StoragePoolEventID,
    StoragePoolRef,
    TypedParam,
)

__all__ = [
    "AgentLifecycleEvent",
    "BalloonChangeEvent",
    "BlockJob2Event",
    "BlockJobEvent",
    "BlockThresholdEvent",
    "ChannelLifecycleEvent",
    "ConnectionClosedEvent",
    "ControlErrorEvent",
    "DeviceAddedEvent",
    "DeviceRemovalFailedEvent",
    "DeviceRemovedEvent",
    "DiskChangeEvent",
    "DomainEvent",
    "EVENT_CLASSES",
    "EVENT_CLASSES_BY_KIND",
    "Event",
    "GraphicsEvent",
    "IOErrorEvent",
    "IOErrorReasonEvent",
    "JobCompletedEvent",
    "LifecycleEvent",
    "MemoryDeviceSizeChangeEvent",
    "MemoryFailureEvent",
    "MetadataChangeEvent",
    "MigrationIterationEvent",
    "NICMACChangeEvent",
    "NetworkEvent",
    "NetworkLifecycleEvent",
    "NodeDeviceEvent",
    "NodeDeviceLifecycleEvent",
    "NodeDeviceUpdateEvent",
    "PMSuspendDiskEvent",
    "PMSuspendEvent",
    "PMWakeupEvent",
    "QemuMonitorEvent",
    "RTCChangeEvent",
    "RebootEvent",
    "SecretEvent",
    "SecretLifecycleEvent",
    "SecretValueChangedEvent",
    "StoragePoolEvent",
    "StoragePoolLifecycleEvent",
    "StoragePoolRefreshEvent",
    "TrayChangeEvent",
    "TunableEvent",
    "VcpuRemovedEvent",
    "WatchdogEvent",
]


# ---------------------------------------------------------------------------------------
# One dataclass per event ID
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every typed event (fieldless; see the module docstring)."""

    kind: ClassVar[EventKind]
    event_id: ClassVar[IntEnum]
    virsh_name: ClassVar[str]
    ref_field: ClassVar[str | None] = None

    @property
    def filter_key(self) -> Any:
        """What an ``EventState`` registration's ``key`` is compared with (None: nothing)."""
        return None


@dataclass(frozen=True, slots=True)
class DomainEvent(Event):
    """Base of all typed domain events: every event concerns one domain."""

    kind: ClassVar[EventKind] = EventKind.DOMAIN
    event_id: ClassVar[DomainEventID]
    ref_field: ClassVar[str | None] = "dom"
    dom: DomainRef

    @property
    def filter_key(self) -> Any:
        return self.dom.uuid


@dataclass(frozen=True, slots=True)
class LifecycleEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.LIFECYCLE
    virsh_name: ClassVar[str] = "lifecycle"
    event: int
    detail: int


@dataclass(frozen=True, slots=True)
class RebootEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.REBOOT
    virsh_name: ClassVar[str] = "reboot"


@dataclass(frozen=True, slots=True)
class RTCChangeEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.RTC_CHANGE
    virsh_name: ClassVar[str] = "rtc-change"
    offset: int


@dataclass(frozen=True, slots=True)
class WatchdogEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.WATCHDOG
    virsh_name: ClassVar[str] = "watchdog"
    action: int


@dataclass(frozen=True, slots=True)
class IOErrorEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.IO_ERROR
    virsh_name: ClassVar[str] = "io-error"
    src_path: str
    dev_alias: str
    action: int


@dataclass(frozen=True, slots=True)
class GraphicsEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.GRAPHICS
    virsh_name: ClassVar[str] = "graphics"
    phase: int
    local: GraphicsAddress
    remote: GraphicsAddress
    auth_scheme: str
    subject: tuple[GraphicsIdentity, ...] = ()


@dataclass(frozen=True, slots=True)
class IOErrorReasonEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.IO_ERROR_REASON
    virsh_name: ClassVar[str] = "io-error-reason"
    src_path: str
    dev_alias: str
    action: int
    reason: str


@dataclass(frozen=True, slots=True)
class ControlErrorEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.CONTROL_ERROR
    virsh_name: ClassVar[str] = "control-error"


@dataclass(frozen=True, slots=True)
class BlockJobEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.BLOCK_JOB
    virsh_name: ClassVar[str] = "block-job"
    path: str
    type: int
    status: int


@dataclass(frozen=True, slots=True)
class DiskChangeEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.DISK_CHANGE
    virsh_name: ClassVar[str] = "disk-change"
    old_src_path: str | None
    new_src_path: str | None
    dev_alias: str
    reason: int


@dataclass(frozen=True, slots=True)
class TrayChangeEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.TRAY_CHANGE
    virsh_name: ClassVar[str] = "tray-change"
    dev_alias: str
    reason: int


@dataclass(frozen=True, slots=True)
class PMWakeupEvent(DomainEvent):
    """``reason`` only travels in the callback form; the legacy form reads back as 0."""

    event_id: ClassVar[DomainEventID] = DomainEventID.PMWAKEUP
    virsh_name: ClassVar[str] = "pm-wakeup"
    reason: int = 0


@dataclass(frozen=True, slots=True)
class PMSuspendEvent(DomainEvent):
    """``reason`` only travels in the callback form; the legacy form reads back as 0."""

    event_id: ClassVar[DomainEventID] = DomainEventID.PMSUSPEND
    virsh_name: ClassVar[str] = "pm-suspend"
    reason: int = 0


@dataclass(frozen=True, slots=True)
class BalloonChangeEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.BALLOON_CHANGE
    virsh_name: ClassVar[str] = "balloon-change"
    actual: int


@dataclass(frozen=True, slots=True)
class PMSuspendDiskEvent(DomainEvent):
    """``reason`` only travels in the callback form; the legacy form reads back as 0."""

    event_id: ClassVar[DomainEventID] = DomainEventID.PMSUSPEND_DISK
    virsh_name: ClassVar[str] = "pm-suspend-disk"
    reason: int = 0


@dataclass(frozen=True, slots=True)
class DeviceRemovedEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.DEVICE_REMOVED
    virsh_name: ClassVar[str] = "device-removed"
    dev_alias: str


@dataclass(frozen=True, slots=True)
class BlockJob2Event(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.BLOCK_JOB_2
    virsh_name: ClassVar[str] = "block-job-2"
    dst: str
    type: int
    status: int


@dataclass(frozen=True, slots=True)
class TunableEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.TUNABLE
    virsh_name: ClassVar[str] = "tunable"
    params: tuple[TypedParam, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentLifecycleEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.AGENT_LIFECYCLE
    virsh_name: ClassVar[str] = "agent-lifecycle"
    state: int
    reason: int


@dataclass(frozen=True, slots=True)
class DeviceAddedEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.DEVICE_ADDED
    virsh_name: ClassVar[str] = "device-added"
    dev_alias: str


@dataclass(frozen=True, slots=True)
class MigrationIterationEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.MIGRATION_ITERATION
    virsh_name: ClassVar[str] = "migration-iteration"
    iteration: int


@dataclass(frozen=True, slots=True)
class JobCompletedEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.JOB_COMPLETED
    virsh_name: ClassVar[str] = "job-completed"
    params: tuple[TypedParam, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceRemovalFailedEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.DEVICE_REMOVAL_FAILED
    virsh_name: ClassVar[str] = "device-removal-failed"
    dev_alias: str


@dataclass(frozen=True, slots=True)
class MetadataChangeEvent(DomainEvent):
    """``type``: 0 description, 1 title, 2 element (then ``nsuri`` names the namespace)."""

    event_id: ClassVar[DomainEventID] = DomainEventID.METADATA_CHANGE
    virsh_name: ClassVar[str] = "metadata-change"
    type: int
    nsuri: str | None = None


@dataclass(frozen=True, slots=True)
class BlockThresholdEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.BLOCK_THRESHOLD
    virsh_name: ClassVar[str] = "block-threshold"
    dev: str
    path: str | None
    threshold: int
    excess: int


@dataclass(frozen=True, slots=True)
class MemoryFailureEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.MEMORY_FAILURE
    virsh_name: ClassVar[str] = "memory-failure"
    recipient: int
    action: int
    flags: int


@dataclass(frozen=True, slots=True)
class MemoryDeviceSizeChangeEvent(DomainEvent):
    """``size`` in KiB."""

    event_id: ClassVar[DomainEventID] = DomainEventID.MEMORY_DEVICE_SIZE_CHANGE
    virsh_name: ClassVar[str] = "memory-device-size-change"
    alias: str
    size: int


@dataclass(frozen=True, slots=True)
class NICMACChangeEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.NIC_MAC_CHANGE
    virsh_name: ClassVar[str] = "nic-mac-change"
    alias: str
    old_mac: str
    new_mac: str


@dataclass(frozen=True, slots=True)
class VcpuRemovedEvent(DomainEvent):
    event_id: ClassVar[DomainEventID] = DomainEventID.VCPU_REMOVED
    virsh_name: ClassVar[str] = "vcpu-removed"
    vcpuid: int


@dataclass(frozen=True, slots=True)
class ChannelLifecycleEvent(DomainEvent):
    """``state``: 1 connected, 2 disconnected; ``reason``: 0 unknown, 1 domain started,
    2 channel event."""

    event_id: ClassVar[DomainEventID] = DomainEventID.CHANNEL_LIFECYCLE
    virsh_name: ClassVar[str] = "channel-lifecycle"
    channel_name: str
    state: int
    reason: int


#: event ID -> event class
EVENT_CLASSES: dict[DomainEventID, type[DomainEvent]] = {
    cls.event_id: cls
    for cls in (
        LifecycleEvent,
        RebootEvent,
        RTCChangeEvent,
        WatchdogEvent,
        IOErrorEvent,
        GraphicsEvent,
        IOErrorReasonEvent,
        ControlErrorEvent,
        BlockJobEvent,
        DiskChangeEvent,
        TrayChangeEvent,
        PMWakeupEvent,
        PMSuspendEvent,
        BalloonChangeEvent,
        PMSuspendDiskEvent,
        DeviceRemovedEvent,
        BlockJob2Event,
        TunableEvent,
        AgentLifecycleEvent,
        DeviceAddedEvent,
        MigrationIterationEvent,
        JobCompletedEvent,
        DeviceRemovalFailedEvent,
        MetadataChangeEvent,
        BlockThresholdEvent,
        MemoryFailureEvent,
        MemoryDeviceSizeChangeEvent,
        NICMACChangeEvent,
        VcpuRemovedEvent,
        ChannelLifecycleEvent,
    )
}


# ---------------------------------------------------------------------------------------
# Networks, storage pools, node devices, secrets
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NetworkEvent(Event):
    """Base of network events."""

    kind: ClassVar[EventKind] = EventKind.NETWORK
    ref_field: ClassVar[str | None] = "net"
    net: NetworkRef

    @property
    def filter_key(self) -> Any:
        return self.net.uuid


@dataclass(frozen=True, slots=True)
class NetworkLifecycleEvent(NetworkEvent):
    """``event``: :class:`NetworkEventLifecycleType`."""

    event_id: ClassVar[NetworkEventID] = NetworkEventID.LIFECYCLE
    virsh_name: ClassVar[str] = "lifecycle"
    event: int
    detail: int


@dataclass(frozen=True, slots=True)
class StoragePoolEvent(Event):
    """Base of storage pool events."""

    kind: ClassVar[EventKind] = EventKind.STORAGE_POOL
    ref_field: ClassVar[str | None] = "pool"
    pool: StoragePoolRef

    @property
    def filter_key(self) -> Any:
        return self.pool.uuid


@dataclass(frozen=True, slots=True)
class StoragePoolLifecycleEvent(StoragePoolEvent):
    """``event``: :class:`StoragePoolEventLifecycleType`."""

    event_id: ClassVar[StoragePoolEventID] = StoragePoolEventID.LIFECYCLE
    virsh_name: ClassVar[str] = "lifecycle"
    event: int
    detail: int


@dataclass(frozen=True, slots=True)
class StoragePoolRefreshEvent(StoragePoolEvent):
    event_id: ClassVar[StoragePoolEventID] = StoragePoolEventID.REFRESH
    virsh_name: ClassVar[str] = "refresh"


@dataclass(frozen=True, slots=True)
class NodeDeviceEvent(Event):
    """Base of node device events; filters compare the device's name."""

    kind: ClassVar[EventKind] = EventKind.NODE_DEVICE
    ref_field: ClassVar[str | None] = "dev"
    dev: NodeDeviceRef

    @property
    def filter_key(self) -> Any:
        return self.dev.name


@dataclass(frozen=True, slots=True)
class NodeDeviceLifecycleEvent(NodeDeviceEvent):
    """``event``: :class:`NodeDeviceEventLifecycleType`."""

    event_id: ClassVar[NodeDeviceEventID] = NodeDeviceEventID.LIFECYCLE
    virsh_name: ClassVar[str] = "lifecycle"
    event: int
    detail: int


@dataclass(frozen=True, slots=True)
class NodeDeviceUpdateEvent(NodeDeviceEvent):
    event_id: ClassVar[NodeDeviceEventID] = NodeDeviceEventID.UPDATE
    virsh_name: ClassVar[str] = "update"


@dataclass(frozen=True, slots=True)
class SecretEvent(Event):
    """Base of secret events."""

    kind: ClassVar[EventKind] = EventKind.SECRET
    ref_field: ClassVar[str | None] = "secret"
    secret: SecretRef

    @property
    def filter_key(self) -> Any:
        return self.secret.uuid


@dataclass(frozen=True, slots=True)
class SecretLifecycleEvent(SecretEvent):
    """``event``: :class:`SecretEventLifecycleType`."""

    event_id: ClassVar[SecretEventID] = SecretEventID.LIFECYCLE
    virsh_name: ClassVar[str] = "lifecycle"
    event: int
    detail: int


@dataclass(frozen=True, slots=True)
class SecretValueChangedEvent(SecretEvent):
    event_id: ClassVar[SecretEventID] = SecretEventID.VALUE_CHANGED
    virsh_name: ClassVar[str] = "value-changed"


# ---------------------------------------------------------------------------------------
# The QEMU program's monitor event; the connection-closed notice
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QemuMonitorEvent(Event):
    """A QMP event relayed by ``virConnectDomainQemuMonitorEventRegister``: ``event`` is the
    QMP event name, ``seconds``/``micros`` its timestamp, ``details`` its JSON data."""

    kind: ClassVar[EventKind] = EventKind.QEMU_MONITOR
    event_id: ClassVar[QemuMonitorEventID] = QemuMonitorEventID.MONITOR_EVENT
    virsh_name: ClassVar[str] = "qemu-monitor-event"
    ref_field: ClassVar[str | None] = "dom"
    dom: DomainRef
    event: str
    seconds: int
    micros: int
    details: str | None = None

    @property
    def filter_key(self) -> Any:
        return self.dom.uuid


@dataclass(frozen=True, slots=True)
class ConnectionClosedEvent(Event):
    """The daemon says it is closing the connection (``VIR_CONNECT_CLOSE_REASON_*``)."""

    kind: ClassVar[EventKind] = EventKind.CONNECT
    event_id: ClassVar[ConnectEventID] = ConnectEventID.CONNECTION_CLOSED
    virsh_name: ClassVar[str] = "connection-closed"
    reason: int


#: kind -> event ID -> event class, for every kind
EVENT_CLASSES_BY_KIND: dict[EventKind, dict[int, type[Event]]] = {
    EventKind.DOMAIN: dict(EVENT_CLASSES),
    **{
        kind: {cls.event_id: cls for cls in classes}
        for kind, classes in (
            (EventKind.NETWORK, (NetworkLifecycleEvent,)),
            (EventKind.STORAGE_POOL, (StoragePoolLifecycleEvent, StoragePoolRefreshEvent)),
            (EventKind.NODE_DEVICE, (NodeDeviceLifecycleEvent, NodeDeviceUpdateEvent)),
            (EventKind.SECRET, (SecretLifecycleEvent, SecretValueChangedEvent)),
            (EventKind.QEMU_MONITOR, (QemuMonitorEvent,)),
            (EventKind.CONNECT, (ConnectionClosedEvent,)),
        )
    },
}
