"""The client's event tables (libvirt's ``remoteEvents[]``): procedure → (decoder, builder).

Why a table: the reader must turn a MESSAGE into a typed event without knowing anything
about it beyond its program and procedure number, and must not stop on a procedure it does
not know (a newer daemon may send events this client has never heard of — libvirt logs
"No event expected with procedure 0x…" and keeps the connection).

The rows are not written here: they are :data:`virtwire.protocol.events.EVENT_FORMS`, the
forms derived from the ``.x`` for every event procedure of the registry — every domain
event (legacy and callback form), network, storage pool, node device and secret event,
CONNECT_EVENT_CONNECTION_CLOSED (REMOTE program) and the QEMU program's monitor event.

Building an event only *queues* it on the connection's own EventState, with remote ID =
the message's callbackID (-1 for the legacy form); EventState dispatches on a later loop
turn, so no user code ever runs on the reader path.  The connection-closed notice is not
queued: it goes to the connection itself (``_server_closed(reason)``).
"""

# ruff: noqa: F822 - __all__ names the tables that __getattr__ provides
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from virtwire.protocol import events, procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, QEMU_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.events import EventForm, EventKind
from virtwire.protocol.framing import Frame, MessageStatus

if TYPE_CHECKING:
    from virtwire.client.connection import Connection

__all__ = [
    "CONNECTION_CLOSED_PROC",
    "EVENT_TABLES",
    "QEMU_EVENTS",
    "REMOTE_EVENTS",
    "RemoteEventEntry",
    "RemoteEvents",
    "event_tables",
]

log = logging.getLogger("virtwire.client")


@dataclass(frozen=True, slots=True)
class RemoteEventEntry:
    """One row: how to decode the message body and what to do with it."""

    proc: int
    name: str
    decode: Callable[[bytes], Any]
    build: Callable[[Connection, Any], None]
    form: EventForm | None = None


def _queue_builder(form: EventForm) -> Callable[[Connection, Any], None]:
    typed = form.decode

    def build(conn: Connection, msg: Any) -> None:
        callback_id, event = typed(msg)
        conn.event_state.queue(event, -1 if callback_id is None else callback_id)

    return build


def _closed_builder(form: EventForm) -> Callable[[Connection, Any], None]:
    typed = form.decode

    def build(conn: Connection, msg: Any) -> None:
        conn._server_closed(int(typed(msg)[1].reason))  # type: ignore[attr-defined]

    return build


def _table(program: int) -> dict[int, RemoteEventEntry]:
    table: dict[int, RemoteEventEntry] = {}
    for (prog, proc), form in sorted(events.EVENT_FORMS.items()):
        if prog != program:
            continue
        procedure = procedures.lookup(prog, PROTOCOL_VERSION, proc)
        if procedure is None or procedure.msg is None:  # pragma: no cover - forms come from it
            log.warning("no message codec for event procedure %d", proc)
            continue
        builder = _closed_builder if form.kind is EventKind.CONNECT else _queue_builder
        table[proc] = RemoteEventEntry(
            proc, procedure.name, procedure.msg.unpack, builder(form), form
        )
    return table


_TABLES: dict[int, dict[int, RemoteEventEntry]] | None = None


def event_tables() -> dict[int, dict[int, RemoteEventEntry]]:
    """program -> its table (REMOTE: every REMOTE event message; QEMU: the monitor event),
    built on first use: a client that never gets an event never loads the event classes
    and message codecs."""
    global _TABLES
    if _TABLES is None:
        _TABLES = {REMOTE_PROGRAM: _table(REMOTE_PROGRAM), QEMU_PROGRAM: _table(QEMU_PROGRAM)}
    return _TABLES


def __getattr__(name: str) -> Any:
    """``REMOTE_EVENTS``, ``QEMU_EVENTS``, ``EVENT_TABLES`` and ``CONNECTION_CLOSED_PROC``,
    from :func:`event_tables`."""
    if name == "REMOTE_EVENTS":
        return event_tables()[REMOTE_PROGRAM]
    if name == "QEMU_EVENTS":
        return event_tables()[QEMU_PROGRAM]
    if name == "EVENT_TABLES":
        return event_tables()
    if name == "CONNECTION_CLOSED_PROC":
        return next(
            proc
            for proc, entry in event_tables()[REMOTE_PROGRAM].items()
            if entry.form and entry.form.kind == "connect"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RemoteEvents:
    """Dispatcher bound to one connection: the reader hands it every event MESSAGE.

    ``table`` replaces the REMOTE program's table (tests); MESSAGEs of the QEMU program use
    :data:`QEMU_EVENTS`.
    """

    def __init__(self, conn: Connection, table: dict[int, RemoteEventEntry] | None = None) -> None:
        self._conn = conn
        self._override = table
        self._tables: dict[int, dict[int, RemoteEventEntry]] | None = None  # at the 1st event
        self._table: dict[int, RemoteEventEntry] = {}
        self.dropped = 0

    def _load(self) -> dict[int, dict[int, RemoteEventEntry]]:
        tables = self._tables = dict(event_tables())
        if self._override is not None:
            tables[REMOTE_PROGRAM] = self._override
        self._table = tables[REMOTE_PROGRAM]
        return tables

    def dispatch(self, frame: Frame) -> bool:
        """Decode and queue one event; False when it was logged and dropped.

        Like libvirt's client: a status other than OK, an unknown procedure or a body that
        does not decode is logged and dropped, and the connection lives on.
        """
        header = frame.header
        if header.status != MessageStatus.OK:
            log.warning("dropping event proc %d with status %r", header.proc, header.status)
            self.dropped += 1
            return False
        tables = self._tables or self._load()
        table = self._table if header.prog == REMOTE_PROGRAM else tables.get(header.prog)
        entry = None if table is None else table.get(header.proc)
        if entry is None:
            log.warning("No event expected with procedure 0x%x", header.proc)
            self.dropped += 1
            return False
        try:
            msg = entry.decode(frame.payload)
        except Exception as exc:
            log.warning("dropping undecodable %s event: %s", entry.name, exc)
            self.dropped += 1
            return False
        try:
            entry.build(self._conn, msg)
        except Exception:
            log.exception("dropping %s event that could not be built", entry.name)
            self.dropped += 1
            return False
        return True
