"""Typed events of every object kind and their wire forms, derived from the ``.x``.

libvirt delivers each event as a MESSAGE whose body is a ``*_msg`` struct of the REMOTE
program (the QEMU program for its monitor event).  Domain events 0..15 exist in a *legacy*
form (no callback ID; for registrations made with the old ``REGISTER``/``REGISTER_ANY``
procedures) and a *callback* form that carries the ``callbackID`` of a
``CALLBACK_REGISTER_ANY`` registration; events 16..29 and every event of the other kinds
only have the callback form; the connection-closed notice has no callback ID at all.

Nothing here spells a struct or a field of the wire: for every event procedure of the
registry (:func:`virtwire.protocol.procedures.all_procedures`) the mapping is computed on
first use (the first event encoded or decoded, or a look at the tables below) from the
generated classes, by libvirt's naming rules:

- the message struct is the registry's ``<program>_<proc>_msg``;
- kind and event ID come from the procedure name,
  ``REMOTE_PROC_<OBJECT>_EVENT_[CALLBACK_]<ID>``, where ``<ID>`` names a member of the kind's
  ID enum (:data:`EVENT_ID_ENUMS`: libvirt's ``VIR_*_EVENT_ID_*`` numbers, the one table of
  facts kept by hand);
- a ``callbackID`` field makes it the callback form; a field whose type is another ``*_msg``
  struct is the wrapped legacy body (the callback reboot struct is ``{ int callbackID;
  <the legacy reboot struct> msg; }``), and fields beside it (the PM events' ``reason``)
  belong to the event too;
- every other field is a field of the typed event class with the wire's name, camelCase
  spelt snake_case (``devAlias`` -> ``dev_alias``), and handle/value structs become
  :mod:`~virtwire.protocol.event_types` values with the same field names.

A disagreement between the ``.x`` and the classes raises :class:`EventDerivationError` then
(the suite derives every form).  The event classes themselves live in
:mod:`~virtwire.protocol.event_classes` and are imported with the tables: a daemon that
answers calls without events pays for neither.  :func:`to_message` / :func:`from_message` are the only wire entry points;
:func:`callback_args` gives an event as libvirt-python's callbacks receive it.
"""

# ruff: noqa: F822 - __all__ names the event classes and tables that __getattr__ provides
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from enum import IntEnum
from operator import attrgetter
from types import ModuleType
from typing import TYPE_CHECKING, Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import QEMU_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.event_types import (
    DETAIL_ENUMS,
    EVENT_ID_ENUMS,
    ConnectEventID,
    DomainEventCrashedDetail,
    DomainEventDefinedDetail,
    DomainEventID,
    DomainEventPMSuspendedDetail,
    DomainEventResumedDetail,
    DomainEventShutdownDetail,
    DomainEventStartedDetail,
    DomainEventStoppedDetail,
    DomainEventSuspendedDetail,
    DomainEventType,
    DomainEventUndefinedDetail,
    DomainRef,
    EventKind,
    GraphicsAddress,
    GraphicsIdentity,
    NetworkEventID,
    NetworkEventLifecycleType,
    NetworkRef,
    NodeDeviceEventID,
    NodeDeviceEventLifecycleType,
    NodeDeviceRef,
    QemuMonitorEventID,
    SecretEventID,
    SecretEventLifecycleType,
    SecretRef,
    StoragePoolEventID,
    StoragePoolEventLifecycleType,
    StoragePoolRef,
    TypedParam,
    TypedParamType,
    detail_name,
    typed_params,
)
from virtwire.protocol.generated import remote_protocol as rp

if TYPE_CHECKING:
    from virtwire.protocol.event_classes import Event

__all__ = [
    "CALLBACK_PROC",
    "DETAIL_ENUMS",
    "EVENT_CLASSES",
    "EVENT_CLASSES_BY_KIND",
    "EVENT_FORMS",
    "EVENT_ID_ENUMS",
    "EVENT_ID_OF_PROC",
    "LEGACY_PROC",
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
    "EventDerivationError",
    "EventField",
    "EventForm",
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
    "callback_args",
    "detail_name",
    "form_of",
    "from_message",
    "py_name",
    "to_message",
    "typed_params",
]

# ---------------------------------------------------------------------------------------
# The derivation: event procedures of the registry -> EventForm
# ---------------------------------------------------------------------------------------

#: the wire's handle and value structs -> the Python value types (same field names); by
#: class name, as each generated module (REMOTE, QEMU) has its own copy of the handles
_VALUE_TYPES: dict[str, type] = {
    wire.__name__: py
    for wire, py in (
        (rp.RemoteNonnullDomain, DomainRef),
        (rp.RemoteNonnullNetwork, NetworkRef),
        (rp.RemoteNonnullStoragePool, StoragePoolRef),
        (rp.RemoteNonnullNodeDevice, NodeDeviceRef),
        (rp.RemoteNonnullSecret, SecretRef),
        (rp.RemoteDomainEventGraphicsAddress, GraphicsAddress),
        (rp.RemoteDomainEventGraphicsIdentity, GraphicsIdentity),
    )
}
_HANDLES = (DomainRef, NetworkRef, StoragePoolRef, NodeDeviceRef, SecretRef)
_SCALARS = frozenset({"int", "str", "str | None", "bytes", "bytes | None", "float", "bool"})
_LIST = re.compile(r"list\[(\w+)\]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_Conv = Callable[[Any], Any] | None


class EventDerivationError(Exception):
    """The ``.x`` and the typed event classes disagree (raised at import: fix one of them)."""


@dataclass(frozen=True, slots=True)
class EventField:
    """One field of a typed event and where it travels.

    ``path`` is its place in the message (``"msg.devAlias"`` inside a wrapped legacy body),
    ``wire`` the ``.x`` field name, ``type`` the generated annotation.
    """

    name: str
    path: str
    wire: str
    type: str


@dataclass(frozen=True, slots=True)
class EventForm:
    """How one event procedure carries one typed event class (all computed, none typed in).

    ``callback`` is True when the message carries the ``callbackID`` of a callback
    registration (``False``: libvirt's legacy domain form, or the connection-closed notice);
    ``wraps`` is the generated legacy struct a callback struct embeds as ``msg`` (or None);
    ``fields`` the typed event's fields in class order, each with its place in the message.
    ``decode(msg) -> (callback_id | None, event)`` and ``encode(event, callback_id) -> msg``.
    """

    program: int
    proc: int
    name: str
    kind: EventKind
    event_id: IntEnum
    callback: bool
    cls: type[Event]
    msg_cls: type
    struct: str
    wraps: type | None
    fields: tuple[EventField, ...]
    decode: Callable[[Any], tuple[int | None, Event]]
    encode: Callable[[Event, int | None], Any]


def py_name(wire: str) -> str:
    """The Python name of an event field: the wire name, camelCase spelt snake_case."""
    return _CAMEL.sub("_", wire).lower()


def _resolve(module: ModuleType, annotation: str) -> type | None:
    """The generated class an annotation names (``RemoteNonnullDomain``), if any."""
    found = getattr(module, annotation, None)
    if found is None:
        found = getattr(rp, annotation, None)
    return found if isinstance(found, type) else None


def _struct_convs(
    wire_cls: type, py_cls: type
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(from wire, to wire) for a struct whose Python type has the same field names."""
    names = tuple(wire_cls.__annotations__)
    if names != tuple(f.name for f in fields(py_cls)):
        raise EventDerivationError(f"{py_cls.__name__} fields differ from {wire_cls.__name__}")
    if any(wire_cls.__annotations__[n] not in _SCALARS for n in names):
        raise EventDerivationError(f"{wire_cls.__name__} nests structs")
    wire_get = attrgetter(*names)
    py_get = attrgetter(*names)
    as_bytes = tuple(wire_cls.__annotations__[n] == "bytes" for n in names)
    if len(names) == 1:

        def from_wire(value: Any) -> Any:
            return py_cls(wire_get(value))

        def to_wire(value: Any) -> Any:
            return wire_cls(py_get(value))

        return from_wire, to_wire

    def from_wire_n(value: Any) -> Any:
        return py_cls(*wire_get(value))

    if any(as_bytes):

        def to_wire_n(value: Any) -> Any:
            return wire_cls(*[bytes(v) if b else v for v, b in zip(py_get(value), as_bytes)])

    else:

        def to_wire_n(value: Any) -> Any:
            return wire_cls(*py_get(value))

    return from_wire_n, to_wire_n


def _param_from_wire(param: Any) -> TypedParam:
    kind = TypedParamType(param.value.type)
    value = param.value.value
    if kind is TypedParamType.BOOLEAN:
        value = bool(value)
    return TypedParam(param.field, kind, value)


def _param_to_wire(param: TypedParam) -> Any:
    value = rp.RemoteTypedParamValue(type=int(param.type), value=param.value)
    return rp.RemoteTypedParam(field=param.field, value=value)


def _convs(module: ModuleType, annotation: str) -> tuple[_Conv, _Conv]:
    """(from wire, to wire) converters for a field's annotation; (None, None): as is."""
    if annotation in _SCALARS:
        return None, None
    listed = _LIST.fullmatch(annotation)
    if listed is not None:
        item_from, item_to = _convs(module, listed.group(1))
        if item_from is None or item_to is None:
            return tuple, list
        f, t = item_from, item_to
        return (lambda v: tuple(map(f, v))), (lambda v: list(map(t, v)))
    wire_cls = _resolve(module, annotation)
    if wire_cls is rp.RemoteTypedParam:
        return _param_from_wire, _param_to_wire
    py_cls = None if wire_cls is None else _VALUE_TYPES.get(wire_cls.__name__)
    if wire_cls is None or py_cls is None:
        raise EventDerivationError(f"no Python type for wire type {annotation}")
    return _struct_convs(wire_cls, py_cls)


def _msg_class(proc: procedures.Procedure) -> tuple[ModuleType, str, type]:
    """The generated module, struct name and class of an event procedure's message, by the
    registry's own naming rule (checked against the codec it found)."""
    for module, program, prefix, stem_prefix in procedures.PROGRAMS:
        if program == proc.program:
            struct = f"{stem_prefix}{proc.name.removeprefix(prefix).lower()}_msg"
            cls = getattr(module, "".join(p[:1].upper() + p[1:] for p in struct.split("_")))
            if module.CODECS.get(struct) is not proc.msg:
                raise EventDerivationError(f"{proc.name}: {struct} is not its codec")
            return module, struct, cls
    raise EventDerivationError(f"{proc.name}: unknown program")


def _kind_and_id(proc: procedures.Procedure) -> tuple[EventKind, IntEnum, bool]:
    """Kind, event ID and whether the name says ``CALLBACK``, from the procedure's name:
    ``REMOTE_PROC_<OBJECT>_EVENT_[CALLBACK_]<ID NAME>`` (libvirt's own convention)."""
    obj = proc.object
    kind = EventKind.QEMU_MONITOR if proc.program == QEMU_PROGRAM else EventKind(obj)
    stem = proc.short_name.removeprefix(obj.upper() + "_").removeprefix("EVENT_")
    named_callback = stem.startswith("CALLBACK_")
    stem = stem.removeprefix("CALLBACK_")
    try:
        return kind, EVENT_ID_ENUMS[kind][stem], named_callback
    except KeyError:
        raise EventDerivationError(f"{proc.name}: no {kind} event ID named {stem}") from None


def _derive(proc: procedures.Procedure) -> EventForm:
    module, struct, msg_cls = _msg_class(proc)
    kind, event_id, named_callback = _kind_and_id(proc)
    try:
        from virtwire.protocol.event_classes import EVENT_CLASSES_BY_KIND

        cls = EVENT_CLASSES_BY_KIND[kind][event_id]
    except KeyError:
        raise EventDerivationError(f"{proc.name}: no typed event class") from None
    # Flatten the message: callbackID, a wrapped legacy body, the event's fields.
    callback = False
    wraps: type | None = None
    wire_fields: list[EventField] = []
    for wire, annotation in msg_cls.__annotations__.items():
        target = _resolve(module, annotation)
        if wire == "callbackID" and annotation == "int":
            callback = True
        elif target is not None and target.__name__.endswith("Msg"):
            wraps = target
            for inner, inner_ann in target.__annotations__.items():
                wire_fields.append(EventField(py_name(inner), f"{wire}.{inner}", inner, inner_ann))
        else:
            wire_fields.append(EventField(py_name(wire), wire, wire, annotation))
    if named_callback and not callback:
        raise EventDerivationError(f"{proc.name}: {struct} has no callbackID")
    by_name = {f.name: f for f in wire_fields}
    class_fields = fields(cls)
    names = [f.name for f in class_fields]
    if set(by_name) - set(names):
        raise EventDerivationError(
            f"{proc.name}: {cls.__name__} lacks {sorted(set(by_name) - set(names))}"
        )
    present = [n in by_name for n in names]
    if present != sorted(present, reverse=True) or any(
        f.default is MISSING and f.default_factory is MISSING
        for f, here in zip(class_fields, present)
        if not here
    ):
        raise EventDerivationError(f"{proc.name}: {cls.__name__} fields not on the wire")
    ordered = tuple(by_name[n] for n in names if n in by_name)
    ref = cls.ref_field
    if ref is not None and not (
        ordered and ordered[0].name == ref and _VALUE_TYPES.get(ordered[0].type) in _HANDLES
    ):
        raise EventDerivationError(f"{proc.name}: {cls.__name__}.{ref} is not its handle")
    convs = {f.name: _convs(module, f.type) for f in ordered}
    decode = _decoder(cls, callback, ordered, [convs[f.name][0] for f in ordered])
    encode = _encoder(module, msg_cls, wraps, {n: c[1] for n, c in convs.items()})
    return EventForm(
        proc.program, proc.number, proc.name, kind, event_id, callback, cls, msg_cls,
        struct, wraps, ordered, decode, encode,
    )  # fmt: skip


def _decoder(
    cls: type, callback: bool, ordered: tuple[EventField, ...], convs: list[_Conv]
) -> Callable[[Any], tuple[int | None, Any]]:
    """``msg -> (callback_id, event)``, specialised for the common shapes (the hot path)."""
    paths = [f.path for f in ordered]
    first, rest = convs[0] if convs else None, convs[1:]
    if paths and first is not None and not any(rest):
        ref_get = attrgetter(paths[0])
        if len(paths) == 1:

            def make(msg: Any) -> Any:
                return cls(first(ref_get(msg)))

        elif len(paths) == 2:
            one = attrgetter(paths[1])

            def make(msg: Any) -> Any:
                return cls(first(ref_get(msg)), one(msg))

        else:
            many = attrgetter(*paths[1:])

            def make(msg: Any) -> Any:
                return cls(first(ref_get(msg)), *many(msg))

    else:
        getters = [attrgetter(p) for p in paths]
        pairs = list(zip(getters, convs))

        def make(msg: Any) -> Any:
            return cls(*[g(msg) if c is None else c(g(msg)) for g, c in pairs])

    if callback:

        def decode(msg: Any) -> tuple[int | None, Any]:
            return msg.callbackID, make(msg)

    else:

        def decode(msg: Any) -> tuple[int | None, Any]:
            return None, make(msg)

    return decode


def _encoder(
    module: ModuleType, msg_cls: type, wraps: type | None, convs: dict[str, _Conv]
) -> Callable[[Any, int | None], Any]:
    """``(event, callback_id) -> msg``: each struct built positionally in ``.x`` order."""

    def plan(struct: type) -> list[Callable[[Any, Any], Any]]:
        steps: list[Callable[[Any, Any], Any]] = []
        for wire, annotation in struct.__annotations__.items():
            target = _resolve(module, annotation)
            if wire == "callbackID" and annotation == "int":
                steps.append(lambda event, callback_id: callback_id)
            elif target is not None and target is wraps:
                inner = plan(target)
                steps.append(
                    lambda event, callback_id, _t=target, _i=inner: _t(
                        *[s(event, callback_id) for s in _i]
                    )
                )
            else:
                get, conv = attrgetter(py_name(wire)), convs[py_name(wire)]
                if conv is None:
                    steps.append(lambda event, callback_id, _g=get: _g(event))
                else:
                    steps.append(lambda event, callback_id, _g=get, _c=conv: _c(_g(event)))
        return steps

    steps = plan(msg_cls)

    def encode(event: Any, callback_id: int | None) -> Any:
        return msg_cls(*[s(event, callback_id) for s in steps])

    return encode


def _derive_all() -> dict[tuple[int, int], EventForm]:
    forms: dict[tuple[int, int], EventForm] = {}
    for proc in procedures.all_procedures():
        if proc.is_event:
            form = _derive(proc)
            forms[(form.program, form.proc)] = form
    return forms


class _Tables:
    """The derived tables (see the module ``__getattr__``), built once, on first use."""

    __slots__ = (
        "EVENT_FORMS",
        "LEGACY_PROC",
        "CALLBACK_PROC",
        "EVENT_ID_OF_PROC",
        "forms_of_class",
    )

    def __init__(self) -> None:
        #: (program, procedure) -> form, for every event procedure of the registry
        self.EVENT_FORMS: dict[tuple[int, int], EventForm] = _derive_all()
        #: event class -> {carries callbackID: form}
        self.forms_of_class: dict[type, dict[bool, EventForm]] = {}
        for form in self.EVENT_FORMS.values():
            self.forms_of_class.setdefault(form.cls, {})[form.callback] = form
        domain = [f for f in self.EVENT_FORMS.values() if f.kind is EventKind.DOMAIN]
        #: domain event ID -> legacy MESSAGE procedure (only IDs 0..15 have one)
        self.LEGACY_PROC: dict[DomainEventID, int] = {
            DomainEventID(f.event_id): f.proc for f in domain if not f.callback
        }
        #: domain event ID -> callback MESSAGE procedure
        self.CALLBACK_PROC: dict[DomainEventID, int] = {
            DomainEventID(f.event_id): f.proc for f in domain if f.callback
        }
        #: domain-event MESSAGE procedure (either form) -> domain event ID
        self.EVENT_ID_OF_PROC: dict[int, DomainEventID] = {
            f.proc: DomainEventID(f.event_id) for f in domain
        }


_TABLES: _Tables | None = None
_TABLE_NAMES = frozenset(("EVENT_FORMS", "LEGACY_PROC", "CALLBACK_PROC", "EVENT_ID_OF_PROC"))


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


_EVENT_CLASSES: ModuleType | None = None


def _event_classes() -> ModuleType:
    """:mod:`~virtwire.protocol.event_classes`, imported once (callback_args runs per event)."""
    global _EVENT_CLASSES
    if _EVENT_CLASSES is None:
        from virtwire.protocol import event_classes

        _EVENT_CLASSES = event_classes
    return _EVENT_CLASSES


def __getattr__(name: str) -> Any:
    """``EVENT_FORMS``, ``LEGACY_PROC``, ``CALLBACK_PROC``, ``EVENT_ID_OF_PROC`` (derived on
    first use) and the event classes (:mod:`~virtwire.protocol.event_classes`)."""
    if name in _TABLE_NAMES:
        return getattr(_tables(), name)
    if not name.startswith("__"):
        try:
            return getattr(_EVENT_CLASSES or _event_classes(), name)
        except AttributeError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------


def form_of(event: Event, callback_id: int | None) -> EventForm:
    """The form ``event`` travels in: with a ``callbackID`` unless ``callback_id`` is None.

    ``ValueError`` when there is none (domain events 16 and up, and every other kind but the
    connection-closed notice, have no callback-less form; that notice has only that one).
    """
    forms = (_TABLES or _tables()).forms_of_class.get(type(event))
    form = None if forms is None else forms.get(callback_id is not None)
    if form is None:
        what = f"{event.kind} event {event.event_id.name}"
        if callback_id is None:
            raise ValueError(f"{what} has no legacy (callback-less) form")
        raise ValueError(f"{what} carries no callback ID")
    return form


def to_message(event: Event, callback_id: int | None) -> tuple[int, Any]:
    """Encode ``event`` as ``(procedure, generated msg object)``.

    ``callback_id=None`` selects the legacy form (for registrations made without a
    callback ID); a ``ValueError`` says so when the event has none. The procedure belongs
    to ``form_of(event, callback_id).program`` (QEMU for :class:`QemuMonitorEvent`).
    """
    form = form_of(event, callback_id)
    return form.proc, form.encode(event, callback_id)


def from_message(proc: int, msg: Any, program: int = REMOTE_PROGRAM) -> tuple[int | None, Event]:
    """Decode a generated msg object received with MESSAGE procedure ``proc``.

    Returns ``(callback_id, event)``; ``callback_id`` is ``None`` for the legacy form.
    A procedure that is not an event is a ``ValueError``.
    """
    form = (_TABLES or _tables()).EVENT_FORMS.get((program, proc))
    if form is None:
        raise ValueError(f"procedure {proc} is not an event message")
    return form.decode(msg)


# ---------------------------------------------------------------------------------------
# libvirt-python's callback arguments
# ---------------------------------------------------------------------------------------


def callback_args(event: Event) -> tuple[Any, ...]:
    """The arguments libvirt-python passes to an event callback between the object (``dom``,
    ``net``, ``pool``, ``dev``, ``secret``; nothing for the close callback) and ``opaque``.

    Its ``_dispatch*Callback`` functions unpack each event into plain values: graphics
    addresses become dicts, the subject a list of (type, name) pairs, typed parameters a
    dict; every other event passes its fields in order (lifecycle events of every kind
    ``(event, detail)``; refresh/update/value-changed none; the QEMU monitor event
    ``(event, seconds, micros, details)``; the close callback ``(reason,)``). The drop-in
    client calls user callbacks with these, and ``virtwire.tools.virsh_format.format_event``
    renders domain events as ``virsh event`` prints them.
    """
    ec = _EVENT_CLASSES or _event_classes()
    if isinstance(event, ec.GraphicsEvent):

        def addr(a: Any) -> dict[str, Any]:
            return {"family": a.family, "node": a.node, "service": a.service}

        subject = [(i.type, i.name) for i in event.subject]
        return (event.phase, addr(event.local), addr(event.remote), event.auth_scheme, subject)
    if isinstance(event, ec.TunableEvent | ec.JobCompletedEvent):
        return ({p.field: p.value for p in event.params},)
    ref = type(event).ref_field
    return tuple(getattr(event, f.name) for f in fields(event) if f.name != ref)
