"""The typed events: one frozen, slotted dataclass per event of every object kind.

Domain events (``VIR_DOMAIN_EVENT_ID_*``), network, storage-pool, node-device and secret
events (their ``VIR_*_EVENT_ID_*``), the QEMU program's monitor event and the daemon's
connection-closed notice.  Each class carries, as class attributes, its ``kind``
(:class:`EventKind`), its ``event_id`` (the member of its kind's ID enum), ``virsh_name``
and ``ref_field`` (the name of the field holding the object it concerns: ``dom``, ``net``,
``pool``, ``dev``, ``secret``; ``None`` for the connection); ``filter_key`` is what an
``EventState`` filter compares (the object's UUID; a node device's name).

The event classes themselves are in :mod:`virtwire.protocol.event_classes`, imported on the
first use of one of their names, here or in ``events`` (building them is most of the import
time).  The classes hold no wire knowledge: :mod:`virtwire.protocol.events` derives the
mapping to and from the ``.x`` message structs from the generated code and checks, when it
first builds its tables, that every class's fields are the wire fields of its messages
(Python names are the wire names, camelCase spelt snake_case).  Import everything from
:mod:`virtwire.protocol.events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from virtwire.protocol.typed_params import TypedParamType, guess_type

__all__ = [
    "DETAIL_ENUMS",
    "EVENT_ID_ENUMS",
    "ConnectEventID",
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
    "EventKind",
    "GraphicsAddress",
    "GraphicsIdentity",
    "NetworkEventID",
    "NetworkEventLifecycleType",
    "NetworkRef",
    "NodeDeviceEventID",
    "NodeDeviceEventLifecycleType",
    "NodeDeviceRef",
    "QemuMonitorEventID",
    "SecretEventID",
    "SecretEventLifecycleType",
    "SecretRef",
    "StoragePoolEventID",
    "StoragePoolEventLifecycleType",
    "StoragePoolRef",
    "TypedParam",
    "TypedParamType",
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


def __getattr__(name: str) -> Any:
    """The event classes (:mod:`virtwire.protocol.event_classes`), imported on first use."""
    if not name.startswith("__"):
        from virtwire.protocol import event_classes

        try:
            return getattr(event_classes, name)
        except AttributeError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
