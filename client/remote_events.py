"""The client's event table (libvirt's ``remoteEvents[]``): procedure → (decoder, builder).

Why a table: the reader must turn a MESSAGE of the REMOTE program into a typed event without
knowing anything about it beyond its procedure number, and must not stop on a procedure it
does not know (a newer daemon may send events this client has never heard of — libvirt logs
"No event expected with procedure 0x…" and keeps the connection). Every domain event
message, legacy and callback form, has an entry, plus CONNECT_EVENT_CONNECTION_CLOSED.

Building an event only *queues* it on the connection's own EventState, with remote ID =
the message's callbackID (-1 for the legacy form); EventState dispatches on a later loop
turn, so no user code ever runs on the reader path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.events import CALLBACK_PROC, LEGACY_PROC, from_message
from virtwire.protocol.framing import Frame, MessageStatus
from virtwire.protocol.generated import remote_protocol as rp

if TYPE_CHECKING:
    from virtwire.client.connection import Connection

__all__ = ["REMOTE_EVENTS", "RemoteEventEntry", "RemoteEvents"]

log = logging.getLogger("virtwire.client")

CONNECTION_CLOSED_PROC = int(rp.RemoteProcedure.REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED)


@dataclass(frozen=True, slots=True)
class RemoteEventEntry:
    """One row: how to decode the message body and what to do with it."""

    proc: int
    name: str
    decode: Callable[[bytes], Any]
    build: Callable[[Connection, Any], None]


def _build_domain_event(proc: int) -> Callable[[Connection, Any], None]:
    def build(conn: Connection, msg: Any) -> None:
        callback_id, event = from_message(proc, msg)
        remote_id = -1 if callback_id is None else callback_id
        conn.event_state.queue(event, remote_id=remote_id)

    return build


def _build_connection_closed(conn: Connection, msg: Any) -> None:
    conn._server_closed(int(msg.reason))


def _table() -> dict[int, RemoteEventEntry]:
    table: dict[int, RemoteEventEntry] = {}
    event_procs = sorted({*LEGACY_PROC.values(), *CALLBACK_PROC.values()})
    for proc in event_procs:
        procedure = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, proc)
        if procedure is None or procedure.msg is None:  # pragma: no cover - .x and events agree
            log.warning("no message codec for event procedure %d", proc)
            continue
        table[proc] = RemoteEventEntry(
            proc, procedure.name, procedure.msg.unpack, _build_domain_event(proc)
        )
    closed = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, CONNECTION_CLOSED_PROC)
    if closed is not None and closed.msg is not None:
        table[CONNECTION_CLOSED_PROC] = RemoteEventEntry(
            CONNECTION_CLOSED_PROC, closed.name, closed.msg.unpack, _build_connection_closed
        )
    return table


#: procedure number -> entry, for every event message the client understands
REMOTE_EVENTS: dict[int, RemoteEventEntry] = _table()


class RemoteEvents:
    """Dispatcher bound to one connection: the reader hands it every REMOTE MESSAGE."""

    def __init__(self, conn: Connection, table: dict[int, RemoteEventEntry] | None = None) -> None:
        self._conn = conn
        self._table = REMOTE_EVENTS if table is None else table
        self.dropped = 0

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
        entry = self._table.get(header.proc)
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
