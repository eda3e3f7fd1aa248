"""EventState: libvirt's object-event core (callback list + queue + deferred flush).

One implementation serves both sides of the wire. In the daemon each hypervisor driver
owns one, and its callback IDs are the ``callbackID`` s sent to clients (driver-wide,
starting at 0, never reused). In the client each connection owns one; incoming event
messages are re-queued on it with ``remote_id`` = the message's callbackID, and the match
rule (same event ID, same remote ID, same domain filter) picks the application callbacks.

Why it is shaped like this (all from libvirt's ``object_event.c``):

- Events are never dispatched where they are raised: :meth:`EventState.queue` only appends
  and, when the queue was empty, asks the injected ``schedule`` to run :meth:`flush` on a
  later loop turn. So a driver can queue while holding its own locks and a reader never
  runs user code.
- With no callbacks registered at all, queued events are dropped (libvirt has no timer
  then), and when a flush leaves no callbacks the pending queue is dropped too.
- Flush takes the whole queue, then for each event in FIFO order calls every matching
  callback in registration order with no lock held. A callback may register or
  deregister callbacks meanwhile: new ones are not visited in this flush, removed ones
  are only marked ``deleted`` (skipped from then on) and purged when the flush ends.
- A callback's exception is logged and dispatch goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol

from virtwire.protocol.errors import ErrorDomain, LibvirtError

__all__ = ["EventCallback", "EventState", "ObjectEvent"]

log = logging.getLogger("virtwire.wire")

_NO_KEY = object()


class ObjectEvent(Protocol):
    """What EventState needs of an event (the typed events of ``events.py`` fit).

    ``kind`` (default ``"domain"``) keeps event IDs of different object kinds apart, as
    libvirt's callbacks are matched by event class; ``filter_key`` is compared with a
    registration's ``key`` (an object without one is matched by ``dom.uuid``).
    """

    event_id: int


@dataclass(slots=True, eq=False)
class EventCallback:
    """One registration (libvirt's ``virObjectEventCallback``)."""

    callback_id: int
    event_id: int
    callback: Callable[[Any, int], object]
    key: Any = None
    """The object to filter on (its UUID; a node device's name), or None for all."""
    remote_id: int = -1
    """Server-side callbackID this local callback is fed by (-1: none / legacy)."""
    legacy: bool = False
    owner: Any = None
    """Who registered it (a connection/session), for duplicate checks and cleanup."""
    deleted: bool = False
    kind: str = "domain"
    """The object kind of the events it wants (``EventKind`` value): IDs are per kind."""


_Bucket = dict[int, EventCallback]
"""Callback ID -> record, in registration order (IDs only grow, so also in ID order)."""


def _add(index: dict[Any, _Bucket], key: Any, cb: EventCallback) -> None:
    bucket = index.get(key)
    if bucket is None:
        bucket = index[key] = {}
    bucket[cb.callback_id] = cb


def _discard(index: dict[Any, _Bucket], key: Any, callback_id: int) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(callback_id, None)
        if not bucket:
            del index[key]


class EventState:
    """Callback list, FIFO event queue, and a flush deferred through ``schedule(fn)``.

    ``schedule`` must run ``fn`` later, on the owner's event loop (``loop.call_soon``);
    never synchronously, or events would be dispatched inside :meth:`queue`.
    Thread-safe: the internal lock is never held while a callback runs or ``schedule`` is
    called.

    Registrations are indexed, so that no operation costs O(all registrations) (a client
    registering 100,000 domain-filtered callbacks must not slow down everybody's events):
    by (kind, event ID, filter key) for dispatch — an event visits the unfiltered bucket
    and its object's bucket only, merged back into registration order —, by (kind, event
    ID) for :meth:`count` with ``any_key``, by owner for :meth:`deregister_owner`, and by
    the duplicate-check identity (kind, event ID, key, owner, legacy). Registering,
    deregistering and dispatching one event cost O(matching registrations).
    """

    def __init__(self, schedule: Callable[[Callable[[], None]], object]) -> None:
        self._schedule = schedule
        self._lock = threading.Lock()
        # every record, deleted-but-not-yet-purged ones included (only during a flush)
        self._callbacks: _Bucket = {}
        self._live = 0
        self._by_filter: dict[tuple[str, int, Any], _Bucket] = {}
        self._by_event: dict[tuple[str, int], _Bucket] = {}
        self._by_owner: dict[int, _Bucket] = {}
        self._by_identity: dict[tuple[str, int, Any, int, bool], _Bucket] = {}
        self._doomed: list[int] = []  # marked deleted during a flush, purged at its end
        self._queue: list[tuple[Any, int]] = []
        self._next_id = 0
        self._dispatching = False
        self._flush_missed = False

    # --- registration ----------------------------------------------------------------------

    def register(
        self,
        event_id: int,
        callback: Callable[[Any, int], object],
        *,
        key: bytes | None = None,
        remote_id: int = -1,
        legacy: bool = False,
        owner: Any = None,
        kind: str = "domain",
    ) -> int:
        """Add a callback for ``kind`` events ``event_id``; return its callback ID (from 0,
        never reused).

        Registering the same ``callback`` again for the same event ID, owner, domain
        filter and legacy flag is refused with INVALID_ARG "event callback already
        tracked", as libvirt does (the daemon registers every relay with legacy=False, so
        legacy and callback-style registrations of one client collide there too).
        """
        identity = (kind, event_id, key, id(owner), legacy)
        with self._lock:
            for cb in self._by_identity.get(identity, {}).values():
                if cb.callback is callback or cb.callback == callback:
                    raise LibvirtError.invalid_arg(
                        "event callback already tracked", ErrorDomain.NONE
                    )
            callback_id = self._next_id
            self._next_id += 1
            cb = EventCallback(
                callback_id, event_id, callback, key, remote_id, legacy, owner, kind=kind
            )
            self._callbacks[callback_id] = cb
            self._live += 1
            _add(self._by_filter, (kind, event_id, key), cb)
            _add(self._by_event, (kind, event_id), cb)
            _add(self._by_owner, id(owner), cb)
            _add(self._by_identity, identity, cb)
        return callback_id

    def deregister(self, callback_id: int) -> EventCallback:
        """Remove a callback (only mark it while a flush runs); return its record.

        Unknown IDs raise INVALID_ARG "could not find event callback N for deletion".
        """
        with self._lock:
            cb = self._callbacks.get(callback_id)
            if cb is not None and not cb.deleted:
                self._remove_locked(cb)
                return cb
        raise LibvirtError.invalid_arg(
            f"could not find event callback {callback_id} for deletion", ErrorDomain.NONE
        )

    def deregister_owner(self, owner: Any) -> list[EventCallback]:
        """Remove every callback of ``owner`` (a connection going away); return them."""
        with self._lock:
            removed = list(self._by_owner.get(id(owner), {}).values())
            for cb in removed:
                self._remove_locked(cb)
        return removed

    def _remove_locked(self, cb: EventCallback) -> None:
        cb.deleted = True
        self._live -= 1
        callback_id = cb.callback_id
        _discard(self._by_filter, (cb.kind, cb.event_id, cb.key), callback_id)
        _discard(self._by_event, (cb.kind, cb.event_id), callback_id)
        _discard(self._by_owner, id(cb.owner), callback_id)
        _discard(
            self._by_identity, (cb.kind, cb.event_id, cb.key, id(cb.owner), cb.legacy), callback_id
        )
        if self._dispatching:
            self._doomed.append(callback_id)
        else:
            del self._callbacks[callback_id]
            if not self._callbacks:
                self._queue.clear()

    def set_remote_id(self, callback_id: int, remote_id: int) -> None:
        """Record the server-side ID feeding a local callback (unknown IDs are ignored)."""
        with self._lock:
            cb = self._callbacks.get(callback_id)
            if cb is not None and not cb.deleted:
                cb.remote_id = remote_id

    # --- queries ---------------------------------------------------------------------------

    def find(self, callback_id: int) -> EventCallback | None:
        """The live record of ``callback_id``, or None."""
        with self._lock:
            cb = self._callbacks.get(callback_id)
        return None if cb is None or cb.deleted else cb

    def registrations(self) -> Iterator[EventCallback]:
        """The live records, in registration order (a snapshot)."""
        with self._lock:
            snapshot = [cb for cb in self._callbacks.values() if not cb.deleted]
        return iter(snapshot)

    def count(
        self,
        event_id: int,
        key: Any = None,
        owner: Any = None,
        *,
        any_key: bool = False,
        kind: str = "domain",
    ) -> int:
        """Live callbacks for ``event_id`` of ``owner`` with domain filter ``key``.

        ``key=None`` counts unfiltered callbacks only; ``any_key=True`` ignores the filter
        (for a server without per-domain filtering, where one registration feeds all).
        A client deregisters on the server when this drops to 0.
        """
        with self._lock:
            if any_key:
                bucket = self._by_event.get((kind, event_id), {})
            else:
                bucket = self._by_filter.get((kind, event_id, key), {})
            return sum(1 for cb in bucket.values() if cb.owner is owner)

    def remote_id_for(
        self, event_id: int, key: Any, owner: Any = None, *, kind: str = "domain"
    ) -> int | None:
        """The server-side ID already feeding (event_id, key), or None.

        A client registers on the server only when this is None, and otherwise registers
        locally with the returned ``remote_id``: many local callbacks, one server
        registration. Callbacks still waiting for their ID (remote_id < 0) do not count.
        """
        with self._lock:
            for cb in self._by_filter.get((kind, event_id, key), {}).values():
                if cb.owner is owner and cb.remote_id >= 0:
                    return cb.remote_id
        return None

    def __len__(self) -> int:
        return self._live

    @property
    def pending(self) -> int:
        """Events queued and not yet flushed."""
        return len(self._queue)

    # --- events ----------------------------------------------------------------------------

    def queue(self, event: ObjectEvent, remote_id: int = -1) -> bool:
        """Queue ``event`` for the next flush; False if dropped (no callbacks at all).

        ``remote_id`` restricts delivery to callbacks with that remote ID: -1 for events
        raised locally or received in legacy form, the message's callbackID otherwise.
        """
        with self._lock:
            if not self._callbacks:
                return False
            self._queue.append((event, remote_id))
            first = len(self._queue) == 1
        if first:
            self._schedule(self.flush)
        return True

    def flush(self) -> None:
        """Dispatch every queued event (normally run by ``schedule``)."""
        with self._lock:
            if self._dispatching:
                # Re-entered (a callback, or a scheduler that runs at once): the outer
                # flush owns the records and schedules another flush for what is left.
                self._flush_missed = True
                return
            self._dispatching = True
            batch, self._queue = self._queue, []
        try:
            for event, remote_id in batch:
                self._dispatch(event, remote_id)
        finally:
            with self._lock:
                for callback_id in self._doomed:
                    del self._callbacks[callback_id]
                self._doomed.clear()
                if not self._callbacks:
                    self._queue.clear()
                self._dispatching = False
                again = self._flush_missed and bool(self._queue)
                self._flush_missed = False
            if again:
                self._schedule(self.flush)

    def _matching(self, event: Any) -> list[EventCallback]:
        """The live callbacks an event may reach, in registration order (a snapshot)."""
        event_id = event.event_id
        kind = getattr(event, "kind", "domain")
        key = getattr(event, "filter_key", _NO_KEY)
        if key is _NO_KEY:  # events about no object match unfiltered callbacks only
            key = getattr(getattr(event, "dom", None), "uuid", None)
        with self._lock:
            unfiltered = self._by_filter.get((kind, event_id, None))
            filtered = None if key is None else self._by_filter.get((kind, event_id, key))
            if not filtered:
                return list(unfiltered.values()) if unfiltered else []
            if not unfiltered:
                return list(filtered.values())
            both = list(unfiltered.values()) + list(filtered.values())
        both.sort(key=attrgetter("callback_id"))
        return both

    def _dispatch(self, event: Any, remote_id: int) -> None:
        for cb in self._matching(event):
            # Re-check `deleted` at call time: an earlier callback may have removed it.
            if cb.deleted or cb.remote_id != remote_id:
                continue
            try:
                cb.callback(event, cb.callback_id)
            except Exception:
                log.exception("event callback %d (event ID %d) raised", cb.callback_id, cb.event_id)
