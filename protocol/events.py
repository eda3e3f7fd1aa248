"""Typed domain events and their two wire forms.

libvirt delivers each domain event as a MESSAGE whose body is a ``remote_*_msg`` struct.
Events 0..15 exist in a *legacy* form (no callback ID; used for registrations made with the
old ``REGISTER``/``REGISTER_ANY`` procedures) and a *callback* form that carries the
``callbackID`` of a ``CALLBACK_REGISTER_ANY`` registration; events 16..29 only have the
callback form.  This module hides that split: the daemon's drivers and the client's
dispatcher work with one frozen dataclass per event ID, and only :func:`to_message` /
:func:`from_message` know the structs, their quirks (the PM events put a ``reason`` before
the wrapped body; five newer structs carry ``callbackID`` without ``_callback_`` in their
name) and the procedure numbers.

:func:`callback_args` gives an event as libvirt-python's callbacks receive it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar

from virtwire.protocol.generated import remote_protocol as rp

__all__ = [
    "CALLBACK_PROC",
    "DETAIL_ENUMS",
    "EVENT_CLASSES",
    "EVENT_ID_OF_PROC",
    "LEGACY_PROC",
    "AgentLifecycleEvent",
    "BalloonChangeEvent",
    "BlockJob2Event",
    "BlockJobEvent",
    "BlockThresholdEvent",
    "ChannelLifecycleEvent",
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
    "PMSuspendDiskEvent",
    "PMSuspendEvent",
    "PMWakeupEvent",
    "RTCChangeEvent",
    "RebootEvent",
    "TrayChangeEvent",
    "TunableEvent",
    "TypedParam",
    "TypedParamType",
    "VcpuRemovedEvent",
    "WatchdogEvent",
    "callback_args",
    "detail_name",
    "from_message",
    "to_message",
    "typed_params",
]


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


class TypedParamType(IntEnum):
    """``VIR_TYPED_PARAM_*``: the discriminant of ``remote_typed_param_value``."""

    INT = 1
    UINT = 2
    LLONG = 3
    ULLONG = 4
    DOUBLE = 5
    BOOLEAN = 6
    STRING = 7


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
        elif isinstance(value, bool):
            out.append(TypedParam(key, TypedParamType.BOOLEAN, value))
        elif isinstance(value, int):
            kind = TypedParamType.ULLONG if value >= 0 else TypedParamType.LLONG
            out.append(TypedParam(key, kind, value))
        elif isinstance(value, float):
            out.append(TypedParam(key, TypedParamType.DOUBLE, value))
        elif isinstance(value, str):
            out.append(TypedParam(key, TypedParamType.STRING, value))
        else:
            raise TypeError(f"typed parameter {key!r}: unsupported value {value!r}")
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
class DomainEvent:
    """Base of all typed domain events: every event concerns one domain."""

    event_id: ClassVar[DomainEventID]
    virsh_name: ClassVar[str]
    dom: DomainRef


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
# Wire mapping
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WireForm:
    """How one event ID travels.

    ``fields`` pairs each Python field (after ``dom``) with its ``.x`` field name.  For the
    dual-form events the callback struct wraps the legacy struct as ``msg``; ``reason_outside``
    marks the PM events whose callback struct carries ``reason`` next to ``callbackID``.
    """

    legacy_proc: int | None
    callback_proc: int
    legacy_struct: str | None
    callback_struct: str
    fields: tuple[tuple[str, str], ...]
    reason_outside: bool = False


def _dual(
    legacy_proc: int,
    callback_proc: int,
    stem: str,
    fields_: tuple[tuple[str, str], ...] = (),
    reason_outside: bool = False,
) -> _WireForm:
    return _WireForm(
        legacy_proc,
        callback_proc,
        f"remote_domain_event_{stem}_msg",
        f"remote_domain_event_callback_{stem}_msg",
        fields_,
        reason_outside,
    )


def _modern(proc: int, struct: str, fields_: tuple[tuple[str, str], ...]) -> _WireForm:
    return _WireForm(None, proc, None, struct, fields_)


_ALIAS = (("dev_alias", "devAlias"),)

_WIRE: dict[DomainEventID, _WireForm] = {
    DomainEventID.LIFECYCLE: _dual(
        107, 318, "lifecycle", (("event", "event"), ("detail", "detail"))
    ),
    DomainEventID.REBOOT: _dual(169, 319, "reboot"),
    DomainEventID.RTC_CHANGE: _dual(170, 320, "rtc_change", (("offset", "offset"),)),
    DomainEventID.WATCHDOG: _dual(171, 321, "watchdog", (("action", "action"),)),
    DomainEventID.IO_ERROR: _dual(
        172, 322, "io_error", (("src_path", "srcPath"), *_ALIAS, ("action", "action"))
    ),
    DomainEventID.GRAPHICS: _dual(
        173,
        323,
        "graphics",
        (
            ("phase", "phase"),
            ("local", "local"),
            ("remote", "remote"),
            ("auth_scheme", "authScheme"),
            ("subject", "subject"),
        ),
    ),
    DomainEventID.IO_ERROR_REASON: _dual(
        195,
        324,
        "io_error_reason",
        (("src_path", "srcPath"), *_ALIAS, ("action", "action"), ("reason", "reason")),
    ),
    DomainEventID.CONTROL_ERROR: _dual(224, 325, "control_error"),
    DomainEventID.BLOCK_JOB: _dual(
        241, 326, "block_job", (("path", "path"), ("type", "type"), ("status", "status"))
    ),
    DomainEventID.DISK_CHANGE: _dual(
        248,
        327,
        "disk_change",
        (
            ("old_src_path", "oldSrcPath"),
            ("new_src_path", "newSrcPath"),
            *_ALIAS,
            ("reason", "reason"),
        ),
    ),
    DomainEventID.TRAY_CHANGE: _dual(268, 328, "tray_change", (*_ALIAS, ("reason", "reason"))),
    DomainEventID.PMWAKEUP: _dual(269, 329, "pmwakeup", reason_outside=True),
    DomainEventID.PMSUSPEND: _dual(270, 330, "pmsuspend", reason_outside=True),
    DomainEventID.BALLOON_CHANGE: _dual(276, 331, "balloon_change", (("actual", "actual"),)),
    DomainEventID.PMSUSPEND_DISK: _dual(292, 332, "pmsuspend_disk", reason_outside=True),
    DomainEventID.DEVICE_REMOVED: _dual(311, 333, "device_removed", _ALIAS),
    DomainEventID.BLOCK_JOB_2: _modern(
        339,
        "remote_domain_event_block_job_2_msg",
        (("dst", "dst"), ("type", "type"), ("status", "status")),
    ),
    DomainEventID.TUNABLE: _modern(
        346, "remote_domain_event_callback_tunable_msg", (("params", "params"),)
    ),
    DomainEventID.AGENT_LIFECYCLE: _modern(
        348,
        "remote_domain_event_callback_agent_lifecycle_msg",
        (("state", "state"), ("reason", "reason")),
    ),
    DomainEventID.DEVICE_ADDED: _modern(
        354, "remote_domain_event_callback_device_added_msg", _ALIAS
    ),
    DomainEventID.MIGRATION_ITERATION: _modern(
        359,
        "remote_domain_event_callback_migration_iteration_msg",
        (("iteration", "iteration"),),
    ),
    DomainEventID.JOB_COMPLETED: _modern(
        363, "remote_domain_event_callback_job_completed_msg", (("params", "params"),)
    ),
    DomainEventID.DEVICE_REMOVAL_FAILED: _modern(
        367, "remote_domain_event_callback_device_removal_failed_msg", _ALIAS
    ),
    DomainEventID.METADATA_CHANGE: _modern(
        379,
        "remote_domain_event_callback_metadata_change_msg",
        (("type", "type"), ("nsuri", "nsuri")),
    ),
    DomainEventID.BLOCK_THRESHOLD: _modern(
        385,
        "remote_domain_event_block_threshold_msg",
        (("dev", "dev"), ("path", "path"), ("threshold", "threshold"), ("excess", "excess")),
    ),
    DomainEventID.MEMORY_FAILURE: _modern(
        423,
        "remote_domain_event_memory_failure_msg",
        (("recipient", "recipient"), ("action", "action"), ("flags", "flags")),
    ),
    DomainEventID.MEMORY_DEVICE_SIZE_CHANGE: _modern(
        438,
        "remote_domain_event_memory_device_size_change_msg",
        (("alias", "alias"), ("size", "size")),
    ),
    DomainEventID.NIC_MAC_CHANGE: _modern(
        453,
        "remote_domain_event_nic_mac_change_msg",
        (("alias", "alias"), ("old_mac", "oldMAC"), ("new_mac", "newMAC")),
    ),
    DomainEventID.VCPU_REMOVED: _modern(
        454, "remote_domain_event_vcpu_removed_msg", (("vcpuid", "vcpuid"),)
    ),
    DomainEventID.CHANNEL_LIFECYCLE: _modern(
        455,
        "remote_domain_event_callback_channel_lifecycle_msg",
        (("channel_name", "channelName"), ("state", "state"), ("reason", "reason")),
    ),
}

#: event ID -> legacy MESSAGE procedure (only IDs 0..15 have one)
LEGACY_PROC: dict[DomainEventID, int] = {
    eid: form.legacy_proc for eid, form in _WIRE.items() if form.legacy_proc is not None
}
#: event ID -> callback MESSAGE procedure
CALLBACK_PROC: dict[DomainEventID, int] = {eid: form.callback_proc for eid, form in _WIRE.items()}
#: MESSAGE procedure (either form) -> event ID
EVENT_ID_OF_PROC: dict[int, DomainEventID] = {
    **{proc: eid for eid, proc in LEGACY_PROC.items()},
    **{proc: eid for eid, proc in CALLBACK_PROC.items()},
}


def _class_of(xdr_name: str) -> type:
    """The generated class for an XDR struct name (naming rule of docs/internals.md)."""
    return getattr(rp, "".join(part[:1].upper() + part[1:] for part in xdr_name.split("_")))


def _dom_to_wire(dom: DomainRef) -> Any:
    return rp.RemoteNonnullDomain(name=dom.name, uuid=bytes(dom.uuid), id=dom.id)


def _dom_from_wire(dom: Any) -> DomainRef:
    return DomainRef(name=dom.name, uuid=bytes(dom.uuid), id=dom.id)


def _param_to_wire(param: TypedParam) -> Any:
    value = rp.RemoteTypedParamValue(type=int(param.type), value=param.value)
    return rp.RemoteTypedParam(field=param.field, value=value)


def _param_from_wire(param: Any) -> TypedParam:
    kind = TypedParamType(param.value.type)
    value = param.value.value
    if kind is TypedParamType.BOOLEAN:
        value = bool(value)
    return TypedParam(param.field, kind, value)


def _value_to_wire(py_name: str, value: Any) -> Any:
    if py_name in ("local", "remote"):
        return rp.RemoteDomainEventGraphicsAddress(
            family=value.family, node=value.node, service=value.service
        )
    if py_name == "subject":
        return [rp.RemoteDomainEventGraphicsIdentity(type=i.type, name=i.name) for i in value]
    if py_name == "params":
        return [_param_to_wire(p) for p in value]
    return value


def _value_from_wire(py_name: str, value: Any) -> Any:
    if py_name in ("local", "remote"):
        return GraphicsAddress(value.family, value.node, value.service)
    if py_name == "subject":
        return tuple(GraphicsIdentity(i.type, i.name) for i in value)
    if py_name == "params":
        return tuple(_param_from_wire(p) for p in value)
    return value


def _body_kwargs(event: DomainEvent, form: _WireForm) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dom": _dom_to_wire(event.dom)}
    for py_name, wire_name in form.fields:
        kwargs[wire_name] = _value_to_wire(py_name, getattr(event, py_name))
    return kwargs


def to_message(event: DomainEvent, callback_id: int | None) -> tuple[int, Any]:
    """Encode ``event`` as ``(procedure, generated msg object)``.

    ``callback_id=None`` selects the legacy form (for registrations made without a
    callback ID); a ``ValueError`` says so when the event has none (IDs 16 and up).
    """
    form = _WIRE[type(event).event_id]
    if callback_id is None:
        if form.legacy_struct is None or form.legacy_proc is None:
            raise ValueError(
                f"domain event {type(event).event_id.name} has no legacy (callback-less) form"
            )
        return form.legacy_proc, _class_of(form.legacy_struct)(**_body_kwargs(event, form))
    if form.legacy_struct is None:
        msg = _class_of(form.callback_struct)(callbackID=callback_id, **_body_kwargs(event, form))
        return form.callback_proc, msg
    inner = _class_of(form.legacy_struct)(**_body_kwargs(event, form))
    if form.reason_outside:
        outer = _class_of(form.callback_struct)(
            callbackID=callback_id, reason=event.reason, msg=inner
        )
    else:
        outer = _class_of(form.callback_struct)(callbackID=callback_id, msg=inner)
    return form.callback_proc, outer


def from_message(proc: int, msg: Any) -> tuple[int | None, DomainEvent]:
    """Decode a generated msg object received with MESSAGE procedure ``proc``.

    Returns ``(callback_id, event)``; ``callback_id`` is ``None`` for the legacy form.
    An unknown procedure is a ``ValueError``.
    """
    try:
        event_id = EVENT_ID_OF_PROC[proc]
    except KeyError:
        raise ValueError(f"procedure {proc} is not a domain event message") from None
    form = _WIRE[event_id]
    cls = EVENT_CLASSES[event_id]
    callback_id: int | None = None
    body = msg
    extra: dict[str, Any] = {}
    if proc == form.callback_proc:
        callback_id = msg.callbackID
        if form.legacy_struct is not None:
            body = msg.msg
            if form.reason_outside:
                extra["reason"] = msg.reason
    kwargs: dict[str, Any] = {"dom": _dom_from_wire(body.dom), **extra}
    for py_name, wire_name in form.fields:
        kwargs[py_name] = _value_from_wire(py_name, getattr(body, wire_name))
    return callback_id, cls(**kwargs)


# ---------------------------------------------------------------------------------------
# libvirt-python's callback arguments
# ---------------------------------------------------------------------------------------


def callback_args(event: DomainEvent) -> tuple[Any, ...]:
    """The arguments libvirt-python passes to an event callback between ``dom`` and ``opaque``.

    Its ``_dispatchDomainEvent*Callback`` functions unpack each event into plain values:
    graphics addresses become dicts, the subject a list of (type, name) pairs, typed
    parameters a dict; every other event passes its fields in order. The drop-in client calls
    user callbacks with these, and ``virtwire.tools.virsh_format.format_event`` renders them
    as ``virsh event`` prints them.
    """
    if isinstance(event, GraphicsEvent):

        def addr(a: Any) -> dict[str, Any]:
            return {"family": a.family, "node": a.node, "service": a.service}

        subject = [(i.type, i.name) for i in event.subject]
        return (event.phase, addr(event.local), addr(event.remote), event.auth_scheme, subject)
    if isinstance(event, TunableEvent | JobCompletedEvent):
        return ({p.field: p.value for p in event.params},)
    return tuple(getattr(event, f.name) for f in fields(event) if f.name != "dom")
