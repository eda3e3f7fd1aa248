"""Driver events → client frames: one :class:`EventRelay` per client session.

libvirtd keeps, per client, a list of the event registrations the client made and
registers one relay function per event ID on the hypervisor connection's event state
(``remote_daemon_dispatch.c``). We do the same with one callable object per session: it
is the ``callback`` of every registration the session makes on its driver's
:class:`~virtwire.protocol.event_state.EventState`, with ``owner`` = the session. Because
the callback and the owner are the same for all of a session's registrations, the event
state's duplicate check gives libvirt's rule for free: one registration per client per
(event ID, domain filter), legacy and callback style competing ("event callback already
tracked").

The callback IDs are the event state's (driver-wide, from 0). A legacy registration (procs
105/167) is only a different *message form*: the relay sends the legacy message (no
callbackID) for it; the event state itself sees an ordinary registration.

Events arrive here from the event state's zero-delay flush (never on the read path); each
becomes one MESSAGE frame with **serial 1** (as libvirtd sends) pushed onto the session's
bounded send queue.

A client may hold at most ``max_callbacks`` registrations (all object kinds together;
``max_client_event_callbacks`` in the daemon's config). libvirt 9.0 has no such limit, and
its domain filter takes any UUID, so one read-only client could otherwise register without
bound; past the limit the call fails with VIR_ERR_RPC "Too many event callbacks 'N' for
limit 'M'" (the wording of libvirtd's other per-call limits, e.g. "Too many CPU models")
and the connection goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from virtwire.protocol import events
from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.server.config import MAX_CLIENT_EVENT_CALLBACKS

if TYPE_CHECKING:
    from virtwire.protocol.event_state import EventState

__all__ = [
    "EVENT_ID_LAST",
    "LEGACY_EVENT_ID_LAST",
    "OTHER_EVENT_KINDS",
    "EventRelay",
    "Registration",
]

log = logging.getLogger("virtwire.server")

EVENT_ID_LAST = len(events.DomainEventID)
"""One past the highest domain event ID this daemon knows (VIR_DOMAIN_EVENT_ID_LAST)."""

LEGACY_EVENT_ID_LAST = int(events.DomainEventID.DEVICE_REMOVED) + 1
"""Legacy REGISTER_ANY (167/168) only takes IDs 0..15: newer events have no legacy message."""

OTHER_EVENT_KINDS: dict[str, str] = {
    "network": events.EventKind.NETWORK.value,
    "storage": events.EventKind.STORAGE_POOL.value,
    "nodedev": events.EventKind.NODE_DEVICE.value,
    "secret": events.EventKind.SECRET.value,
}
"""``Procedure.driver`` kind of a registration procedure → the ``EventKind`` of its events."""

_MESSAGE_HEADERS: dict[int, Header] = {}


def _message_header(proc: int) -> Header:
    """Event frames differ only in ``proc``: build each header once."""
    header = _MESSAGE_HEADERS.get(proc)
    if header is None:
        header = Header(
            REMOTE_PROGRAM, PROTOCOL_VERSION, proc, MessageType.MESSAGE, 1, MessageStatus.OK
        )
        _MESSAGE_HEADERS[proc] = header
    return header


class EventSink(Protocol):
    """What the relay needs from a session: somewhere to put frames."""

    def send_event(self, data: bytes) -> None: ...


@dataclass(slots=True)
class Registration:
    """One server-side registration a client made (daemonClientEventCallback)."""

    callback_id: int
    event_id: int
    legacy: bool
    key: bytes | None


def _rpc_internal(detail: str) -> LibvirtError:
    """Errors of the daemon's dispatch code: INTERNAL_ERROR in domain RPC, as libvirtd."""
    return LibvirtError.make(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, detail)


class EventRelay:
    """A session's registrations on its driver's event state, and the relay callback."""

    __slots__ = (
        "sink",
        "owner",
        "events",
        "registrations",
        "other",
        "max_callbacks",
        "__weakref__",
    )

    def __init__(
        self,
        sink: EventSink,
        owner: object,
        event_state: EventState,
        max_callbacks: int = MAX_CLIENT_EVENT_CALLBACKS,
    ) -> None:
        self.sink = sink
        self.max_callbacks = max_callbacks
        self.owner = owner
        self.events = event_state
        self.registrations: dict[int, Registration] = {}
        # network / storage-pool / node-device / secret registrations: callback ID -> kind
        self.other: dict[int, str] = {}

    # --- the relay callback -------------------------------------------------------------

    def __call__(self, event: object, callback_id: int) -> None:
        """Called by the event state's flush for every matching event."""
        reg = self.registrations.get(callback_id)
        if reg is None:
            if callback_id not in self.other:
                return
            legacy = False  # network / pool / device / secret events have one (callback) form
        else:
            legacy = reg.legacy
        try:
            proc, msg = events.to_message(event, None if legacy else callback_id)
            frame = encode_frame(_message_header(proc), msg.pack())
        except Exception:  # an event we cannot encode must not kill the loop
            log.exception("cannot encode event %r for callback %d; dropped", event, callback_id)
            return
        self.sink.send_event(frame)

    # --- registration (procs 105/106, 167/168, 316/317) --------------------------------

    def register(self, event_id: int, dom_uuid: bytes | None = None, *, legacy: bool) -> int:
        """Register this client for ``event_id`` (optionally filtered to one domain)."""
        self._check_limit()
        callback_id = self.events.register(event_id, self, key=dom_uuid, owner=self.owner)
        self.registrations[callback_id] = Registration(callback_id, event_id, legacy, dom_uuid)
        return callback_id

    def register_legacy_any(self, event_id: int) -> None:
        """Proc 167: legacy registration, IDs 0..15 only, no domain filter."""
        if not 0 <= event_id < LEGACY_EVENT_ID_LAST:
            raise _rpc_internal(f"unsupported event ID {event_id}")
        self.register(event_id, None, legacy=True)

    def register_callback_any(self, event_id: int, dom_uuid: bytes | None) -> int:
        """Proc 316: callback registration, any known ID, optional domain filter."""
        if not 0 <= event_id < EVENT_ID_LAST:
            raise _rpc_internal(f"unsupported event ID {event_id}")
        return self.register(event_id, dom_uuid, legacy=False)

    def deregister_event_id(self, event_id: int, *, legacy_range: bool) -> None:
        """Procs 106/168: drop the first registration with this event ID."""
        if legacy_range and not 0 <= event_id < LEGACY_EVENT_ID_LAST:
            raise _rpc_internal(f"unsupported event ID {event_id}")
        for reg in self.registrations.values():
            if reg.event_id == event_id:
                self._drop(reg.callback_id)
                return
        raise _rpc_internal(f"domain event {event_id} not registered")

    def deregister_callback(self, callback_id: int) -> None:
        """Proc 317: the ID must be one of *this* client's registrations."""
        if callback_id not in self.registrations:
            raise _rpc_internal(f"domain event callback {callback_id} not registered")
        self._drop(callback_id)

    # --- other object kinds (CONNECT_NETWORK_EVENT_REGISTER_ANY, ...) --------------------

    def register_other(self, kind: str, event_id: int, key: object = None) -> int:
        """Register for an event of another object kind (``Procedure.driver`` spelling:
        ``network``, ``storage``, ``nodedev``, ``secret``), optionally filtered to one
        object (``key``: the event's ``filter_key`` — UUID, or the node device's name).

        The callback ID comes from the same counter as the domain registrations (the
        host's one event state, as in libvirt); the event state matches by ``kind`` since
        event IDs repeat across kinds, and the relay sends the kind's callback message."""
        self._check_limit()
        callback_id = self.events.register(
            event_id, self, key=key, owner=self.owner, kind=OTHER_EVENT_KINDS[kind]
        )
        self.other[callback_id] = kind
        return callback_id

    def deregister_other(self, kind: str, callback_id: int, label: str) -> None:
        """Drop one of this client's ``kind`` registrations; ``label`` names the kind in
        libvirtd's "network event callback N not registered"."""
        if self.other.get(callback_id) != kind:
            raise _rpc_internal(f"{label} event callback {callback_id} not registered")
        del self.other[callback_id]
        self.events.deregister(callback_id)

    def _check_limit(self) -> None:
        held = len(self.registrations) + len(self.other)
        if held >= self.max_callbacks:
            raise LibvirtError.rpc(
                f"Too many event callbacks '{held + 1}' for limit '{self.max_callbacks}'"
            )

    def _drop(self, callback_id: int) -> None:
        del self.registrations[callback_id]
        self.events.deregister(callback_id)

    def close(self) -> None:
        """The client went away: remove every registration it still holds."""
        if not self.registrations and not self.other:
            return
        ids = list(self.registrations) + list(self.other)
        self.registrations.clear()
        self.other.clear()
        deregister_owner = getattr(self.events, "deregister_owner", None)
        if deregister_owner is not None:
            deregister_owner(self.owner)
            return
        for callback_id in ids:  # pragma: no cover - EventState without deregister_owner
            try:
                self.events.deregister(callback_id)
            except LibvirtError:
                pass
