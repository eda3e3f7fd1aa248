"""The typed events: one frozen, slotted dataclass per event of every object kind.

Domain events (``VIR_DOMAIN_EVENT_ID_*``), network, storage-pool, node-device and secret
events (their ``VIR_*_EVENT_ID_*``), the QEMU program's monitor event and the daemon's
connection-closed notice.  Each class carries, as class attributes, its ``kind``
(:class:`EventKind`), its ``event_id`` (the member of its kind's ID enum), ``virsh_name``
and ``ref_field`` (the name of the field holding the object it concerns: ``dom``, ``net``,
``pool``, ``dev``, ``secret``; ``None`` for the connection); ``filter_key`` is what an
``EventState`` filter compares (the object's UUID; a node device's name).

The classes hold no wire knowledge: :mod:`virtwire.protocol.events` derives the mapping
to and from the ``.x`` message structs from the generated code and checks at import that
every class's fields are the wire fields of its messages (Python names are the wire names,
camelCase spelt snake_case).  Import everything from :mod:`virtwire.protocol.events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from virtwire.protocol.typed_params import TypedParamType, guess_type

__all__ = [
    "DETAIL_ENUMS",
    "EVENT_CLASSES",
    "EVENT_CLASSES_BY_KIND",
    "EVENT_ID_ENUMS",
    "AgentLifecycleEvent",
    "BalloonChangeEvent",
    "BlockJob2Event",
    "BlockJobEvent",
    "BlockThresholdEvent",
    "ChannelLifecycleEvent",
    "ConnectEventID",
    "ConnectionClosedEvent",
    "ControlErrorEvent",
    "DeviceAddedEvent",
    "DeviceRemovalFailedEvent",
    "DeviceRemovedEvent",
    "DiskChangeEvent",
    "DomainEvent",
    "DomainEventCrashedDetail",
    "DomainEventDefinedDetail",
    "DomainEventID",
    "DomainEventPMSuspendedDetail",
    "DomainEventResumedDetail",
    "DomainEventShutdownDetail",
    "DomainEventStartedDetail",
    "DomainEventStoppedDetail",
    "DomainEventSuspendedDetail",
    "DomainEventType",
    "DomainEventUndefinedDetail",
    "DomainRef",
    "Event",
    "EventKind",
    "GraphicsAddress",
    "GraphicsEvent",
    "GraphicsIdentity",
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
    "NetworkEventID",
    "NetworkEventLifecycleType",
    "NetworkLifecycleEvent",
    "NetworkRef",
    "NodeDeviceEvent",
    "NodeDeviceEventID",
    "NodeDeviceEventLifecycleType",
    "NodeDeviceLifecycleEvent",
    "NodeDeviceRef",
    "NodeDeviceUpdateEvent",
    "PMSuspendDiskEvent",
    "PMSuspendEvent",
    "PMWakeupEvent",
    "QemuMonitorEvent",
    "QemuMonitorEventID",
    "RTCChangeEvent",
    "RebootEvent",
    "SecretEvent",
    "SecretEventID",
    "SecretEventLifecycleType",
    "SecretLifecycleEvent",
    "SecretRef",
    "SecretValueChangedEvent",
    "StoragePoolEvent",
    "StoragePoolEventID",
    "StoragePoolEventLifecycleType",
    "StoragePoolLifecycleEvent",
    "StoragePoolRef",
    "StoragePoolRefreshEvent",
    "TrayChangeEvent",
    "TunableEvent",
    "TypedParam",
    "TypedParamType",
    "VcpuRemovedEvent",
    "WatchdogEvent",
    "detail_name",
    "typed_params",
]


class EventKind(StrEnum):
    """The object an event concerns (values: ``Procedure.object`` of its procedures)."""

    DOMAIN = "domain"
    NETWORK = "network"
    STORAGE_POOL = "storage_pool"
    NODE_DEVICE = "node_device"
    SECRET = "secret"
    QEMU_MONITOR = "qemu_monitor"
    CONNECT = "connect"


class DomainEventID(IntEnum):
    """``VIR_DOMAIN_EVENT_ID_*`` (libvirt 12.8 numbering; 28/29 are 12.4+)."""

    LIFECYCLE = 0
    REBOOT = 1
    RTC_CHANGE = 2
    WATCHDOG = 3
    IO_ERROR = 4
    GRAPHICS = 5
    IO_ERROR_REASON = 6
    CONTROL_ERROR = 7
    BLOCK_JOB = 8
    DISK_CHANGE = 9
    TRAY_CHANGE = 10
    PMWAKEUP = 11
    PMSUSPEND = 12
    BALLOON_CHANGE = 13
    PMSUSPEND_DISK = 14
    DEVICE_REMOVED = 15
    BLOCK_JOB_2 = 16
    TUNABLE = 17
    AGENT_LIFECYCLE = 18
    DEVICE_ADDED = 19
    MIGRATION_ITERATION = 20
    JOB_COMPLETED = 21
    DEVICE_REMOVAL_FAILED = 22
    METADATA_CHANGE = 23
    BLOCK_THRESHOLD = 24
    MEMORY_FAILURE = 25
    MEMORY_DEVICE_SIZE_CHANGE = 26
    NIC_MAC_CHANGE = 27
    VCPU_REMOVED = 28
    CHANNEL_LIFECYCLE = 29


class NetworkEventID(IntEnum):
    """``VIR_NETWORK_EVENT_ID_*`` (METADATA_CHANGE is libvirt 9.8+: no 9.0 layout)."""

    LIFECYCLE = 0
    METADATA_CHANGE = 1


class StoragePoolEventID(IntEnum):
    """``VIR_STORAGE_POOL_EVENT_ID_*``."""

    LIFECYCLE = 0
    REFRESH = 1


class NodeDeviceEventID(IntEnum):
    """``VIR_NODE_DEVICE_EVENT_ID_*``."""

    LIFECYCLE = 0
    UPDATE = 1


class SecretEventID(IntEnum):
    """``VIR_SECRET_EVENT_ID_*``."""

    LIFECYCLE = 0
    VALUE_CHANGED = 1


class QemuMonitorEventID(IntEnum):
    """The QEMU program has one event (libvirt registers it without an event ID)."""

    MONITOR_EVENT = 0


class ConnectEventID(IntEnum):
    """The daemon's connection-wide notices (libvirt's close callback, not an event ID)."""

    CONNECTION_CLOSED = 0


#: kind -> its event-ID enum; member names are the procedures' names after ``EVENT_``
EVENT_ID_ENUMS: dict[EventKind, type[IntEnum]] = {
    EventKind.DOMAIN: DomainEventID,
    EventKind.NETWORK: NetworkEventID,
    EventKind.STORAGE_POOL: StoragePoolEventID,
    EventKind.NODE_DEVICE: NodeDeviceEventID,
    EventKind.SECRET: SecretEventID,
    EventKind.QEMU_MONITOR: QemuMonitorEventID,
    EventKind.CONNECT: ConnectEventID,
}


class NetworkEventLifecycleType(IntEnum):
    """``virNetworkEventLifecycleType`` (details are all 0)."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    STOPPED = 3


class StoragePoolEventLifecycleType(IntEnum):
    """``virStoragePoolEventLifecycleType``."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    STOPPED = 3
    CREATED = 4
    DELETED = 5


class NodeDeviceEventLifecycleType(IntEnum):
    """``virNodeDeviceEventLifecycleType``."""

    CREATED = 0
    DELETED = 1
    DEFINED = 2
    UNDEFINED = 3


class SecretEventLifecycleType(IntEnum):
    """``virSecretEventLifecycleType``."""

    DEFINED = 0
    UNDEFINED = 1


# ---------------------------------------------------------------------------------------
# Lifecycle event types and details (virDomainEventType / virDomainEvent*DetailType)
# ---------------------------------------------------------------------------------------


class DomainEventType(IntEnum):
    """``virDomainEventType``: the ``event`` of a lifecycle event."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    SUSPENDED = 3
    RESUMED = 4
    STOPPED = 5
    SHUTDOWN = 6
    PMSUSPENDED = 7
    CRASHED = 8


class DomainEventDefinedDetail(IntEnum):
    ADDED = 0
    UPDATED = 1
    RENAMED = 2
    FROM_SNAPSHOT = 3


class DomainEventUndefinedDetail(IntEnum):
    REMOVED = 0
    RENAMED = 1


class DomainEventStartedDetail(IntEnum):
    BOOTED = 0
    MIGRATED = 1
    RESTORED = 2
    FROM_SNAPSHOT = 3
    WAKEUP = 4
    RECREATED = 5


class DomainEventSuspendedDetail(IntEnum):
    PAUSED = 0
    MIGRATED = 1
    IOERROR = 2
    WATCHDOG = 3
    RESTORED = 4
    FROM_SNAPSHOT = 5
    API_ERROR = 6
    POSTCOPY = 7
    POSTCOPY_FAILED = 8
    GUEST_SHUTDOWN = 9


class DomainEventResumedDetail(IntEnum):
    UNPAUSED = 0
    MIGRATED = 1
    FROM_SNAPSHOT = 2
    POSTCOPY = 3
    POSTCOPY_FAILED = 4


class DomainEventStoppedDetail(IntEnum):
    SHUTDOWN = 0
    DESTROYED = 1
    CRASHED = 2
    MIGRATED = 3
    SAVED = 4
    FAILED = 5
    FROM_SNAPSHOT = 6
    RECREATED = 7


class DomainEventShutdownDetail(IntEnum):
    FINISHED = 0
    GUEST = 1
    HOST = 2


class DomainEventPMSuspendedDetail(IntEnum):
    MEMORY = 0
    DISK = 1


class DomainEventCrashedDetail(IntEnum):
    PANICKED = 0
    CRASHLOADED = 1


#: event type -> its detail enum
DETAIL_ENUMS: dict[DomainEventType, type[IntEnum]] = {
    DomainEventType.DEFINED: DomainEventDefinedDetail,
    DomainEventType.UNDEFINED: DomainEventUndefinedDetail,
    DomainEventType.STARTED: DomainEventStartedDetail,
    DomainEventType.SUSPENDED: DomainEventSuspendedDetail,
    DomainEventType.RESUMED: DomainEventResumedDetail,
    DomainEventType.STOPPED: DomainEventStoppedDetail,
    DomainEventType.SHUTDOWN: DomainEventShutdownDetail,
    DomainEventType.PMSUSPENDED: DomainEventPMSuspendedDetail,
    DomainEventType.CRASHED: DomainEventCrashedDetail,
}


def detail_name(event: int, detail: int) -> str:
    """The detail's enum member name (``"BOOTED"``), or the number as text if unknown."""
    try:
        return DETAIL_ENUMS[DomainEventType(event)](detail).name
    except (ValueError, KeyError):
        return str(detail)


# ---------------------------------------------------------------------------------------
# Value types shared by events
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainRef:
    """A domain as the wire names it: the driver resolves it by ``uuid``; ``id`` is -1 when
    the domain is inactive; ``name`` only serves messages."""

    name: str
    uuid: bytes
    id: int


@dataclass(frozen=True, slots=True)
class NetworkRef:
    """``remote_nonnull_network``."""

    name: str
    uuid: bytes


@dataclass(frozen=True, slots=True)
class StoragePoolRef:
    """``remote_nonnull_storage_pool``."""

    name: str
    uuid: bytes


@dataclass(frozen=True, slots=True)
class NodeDeviceRef:
    """``remote_nonnull_node_device``: a node device is known by its name only."""

    name: str


@dataclass(frozen=True, slots=True)
class SecretRef:
    """``remote_nonnull_secret`` (``usageType``: ``VIR_SECRET_USAGE_TYPE_*``)."""

    uuid: bytes
    usageType: int  # noqa: N815 - the wire's name
    usageID: str  # noqa: N815 - the wire's name


@dataclass(frozen=True, slots=True)
class TypedParam:
    """One ``virTypedParameter``; the explicit ``type`` keeps re-encoding byte-exact."""

    field: str
    type: TypedParamType
    value: int | float | bool | str


def typed_params(values: dict[str, Any]) -> tuple[TypedParam, ...]:
    """Build typed parameters from plain values, choosing libvirt's usual wire type.

    Why: drivers emit tunable / job-completed events from Python dicts; bool → BOOLEAN,
    int → ULLONG when non-negative else LLONG, float → DOUBLE, str → STRING. Pass
    :class:`TypedParam` objects when another type is wanted.
    """
    out: list[TypedParam] = []
    for key, value in values.items():
        if isinstance(value, TypedParam):
            out.append(value)
            continue
        try:
            kind = guess_type(value)
        except TypeError:
            raise TypeError(f"typed parameter {key!r}: unsupported value {value!r}") from None
        out.append(TypedParam(key, kind, value))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class GraphicsAddress:
    """``remote_domain_event_graphics_address`` (family: 0 IPv4, 1 IPv6, 2 unix)."""

    family: int
    node: str
    service: str


@dataclass(frozen=True, slots=True)
class GraphicsIdentity:
    """One entry of a graphics event's subject (e.g. type ``x509dname``)."""

    type: str
    name: str


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
