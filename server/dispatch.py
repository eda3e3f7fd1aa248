"""One CALL frame in, one REPLY frame out: the daemon's RPC layer.

This mirrors ``virNetServerProgramDispatch`` and the generated dispatchers of libvirtd, in
libvirt's order, so that clients see exactly the errors they see from libvirtd (spec §7.5):

1. only CALL / CALL_WITH_FDS are dispatched; anything else a client sends is dropped
   silently (keepalive frames never get here: the session consumes them);
2. (prog, vers) must be one of the programs libvirtd serves on its main socket (REMOTE,
   QEMU, LXC, version 1) → else "Cannot find program P version V", with the reply header
   echoing the caller's prog/vers;
3. status must be OK → else "Unexpected message status N";
4. the procedure must be in the table → else "unknown procedure: N" (proc 0, event
   procedures used as calls, numbers the registry does not know).  Every other procedure
   of the registry *is* in the table: served by a hand-written handler, by the generic
   handler (the driver class has the member), or by the NO_SUPPORT handler;
5. the payload must decode → else "Unable to decode message payload";
6. procedures that need a connection fail before CONNECT_OPEN with INTERNAL_ERROR
   "hypervisor connection not open" (hypervisor and daemon procedures) or "connection not
   open" (network, storage, ... procedures: libvirtd's secondary-driver check);
7. a read-only client is refused state-changing procedures (``Procedure.changes_state``;
   a few only for some flags) with OPERATION_DENIED "read only access prevents virXxx" in
   the procedure's ``error_domain``;
8. an injected fault (:mod:`virtwire.server.faults`, ``virtwire inject``) may fail the
   call or delay it (as a task: the loop keeps serving);
9. the handler runs; a :class:`LibvirtError` becomes an error reply.

The table depends on the driver class behind the connection (which members it defines),
so there is one per class, looked up per call by the session's driver type; an entry is
built the first time its procedure is called with that class (a daemon's first answer
needs one, not ~400), or all of them at once by :meth:`Dispatcher.table_for`.

Handlers are synchronous (the simulated drivers are), so a call normally completes inside
:meth:`Dispatcher.dispatch` and its reply is returned as ready-to-write bytes, without a
task. A handler may return an awaitable instead; the session then runs it as a task and
counts it against ``max_client_requests``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import (
    FRAME_MIN,
    LXC_PROGRAM,
    PAYLOAD_MAX,
    PROTOCOL_VERSION,
    QEMU_PROGRAM,
    REMOTE_PROGRAM,
)
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.framing import Frame, Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.procedures import Procedure
from virtwire.server.faults import FaultTable
from virtwire.server.logthrottle import LogThrottle
from virtwire.xdr.runtime import TrailingBytes, XdrError

if TYPE_CHECKING:
    from virtwire.server.session import ClientSession

__all__ = [
    "PROGRAMS",
    "Dispatcher",
    "ProcedureHandler",
    "error_reply",
    "make_entry",
    "rpc_error",
]

log = logging.getLogger("virtwire.server")

Handler = Callable[["ClientSession", Any], Any]


@dataclass(frozen=True, slots=True)
class ProcedureHandler:
    """A dispatch-table entry: how to run one procedure (see :func:`make_entry`)."""

    proc: Procedure
    handler: Handler
    args: Any  # Codec | None
    ret: Any  # Codec | None
    needs_conn: bool
    conn_error: str  # the "not open" text of this procedure's driver kind
    readonly_api: str | None  # refused to read-only clients (the C API named in the error)
    readonly_domain: int
    readonly_if: Callable[[Any], bool] | None = None  # refused only when this holds

    @property
    def name(self) -> str:
        return self.proc.name

    @property
    def number(self) -> int:
        return self.proc.number


TableKey = tuple[int, int]
"""(program, procedure number)"""


def rpc_error(code: ErrorCode, detail: str) -> LibvirtError:
    """An error raised by the daemon's RPC layer itself (domain RPC)."""
    return LibvirtError.make(code, ErrorDomain.RPC, detail)


def error_reply(header: Header, err: LibvirtError) -> bytes:
    """REPLY/ERROR for ``header`` (same prog, vers, proc, serial) carrying ``err``."""
    payload = err.to_remote_error().pack()
    reply = Header(
        header.prog, header.vers, header.proc, MessageType.REPLY, header.serial, MessageStatus.ERROR
    )
    return encode_frame(reply, payload)


# length word + header of a successful REPLY, packed in one go (the hot path: no Header object)
_REPLY_PREFIX = struct.Struct(">IIIiiIi")


ENCODE_FAILED = "Unable to encode message payload"


def _ok_reply(header: Header, payload: bytes) -> bytes:
    if len(payload) > PAYLOAD_MAX:
        return error_reply(header, rpc_error(ErrorCode.RPC, ENCODE_FAILED))
    return (
        _REPLY_PREFIX.pack(
            FRAME_MIN + len(payload),
            header.prog,
            header.vers,
            header.proc,
            MessageType.REPLY,
            header.serial,
            MessageStatus.OK,
        )
        + payload
    )


_CALL_TYPES = (MessageType.CALL, MessageType.CALL_WITH_FDS)

PROGRAMS = frozenset({REMOTE_PROGRAM, QEMU_PROGRAM, LXC_PROGRAM})
"""The programs libvirtd serves on its main sockets (ADMIN has its own socket)."""


_FALLBACK_THROTTLE = LogThrottle(log)
"""For sessions built without a daemon's :class:`SessionHost` (tests, embedders)."""


def _throttle(session: ClientSession) -> tuple[LogThrottle, str]:
    host = getattr(session, "host", None)
    throttle = getattr(host, "log_throttle", None) or _FALLBACK_THROTTLE
    return throttle, str(getattr(session, "peer", "?"))


def _log_call_error(session: ClientSession, name: str, err: LibvirtError) -> None:
    """A libvirt error for the client (expected): one line, the traceback only at DEBUG;
    rate-limited per peer."""
    throttle, peer = _throttle(session)
    throttle.log(
        logging.INFO,
        peer,
        "client %s (%s): %s failed: %s",
        session.client_id,
        peer,
        name,
        err.message,
        exc_info=log.isEnabledFor(logging.DEBUG),
    )


def _log_call_bug(session: ClientSession, name: str) -> None:
    """Anything else is a bug of ours: logged with its traceback (rate-limited per peer)."""
    throttle, peer = _throttle(session)
    throttle.log(
        logging.ERROR,
        peer,
        "client %s (%s): %s failed",
        session.client_id,
        peer,
        name,
        exc_info=True,
    )


class Dispatcher:
    """The remote program's procedure table plus libvirt's protocol-level checks."""

    def __init__(self, table: dict[TableKey, ProcedureHandler] | None = None) -> None:
        """``table``: use this one table whatever the driver (tests); default: built from
        the registry per driver class, an entry (:func:`virtwire.server.handlers.build_entry`)
        the first time its procedure is called, or all of them by :meth:`table_for`."""
        self._fixed = table
        self.faults = FaultTable()  # injected faults (virtwire inject), consulted per call
        # per driver class: the entries built so far; whole for the classes in _complete
        self._tables: dict[type | None, dict[TableKey, ProcedureHandler]] = {}
        self._complete: set[type | None] = set()

    def table_for(self, driver_cls: type | None) -> dict[TableKey, ProcedureHandler]:
        """The whole table for connections to ``driver_cls`` (None: no connection open yet)."""
        if self._fixed is not None:
            return self._fixed
        table = self._tables.setdefault(driver_cls, {})
        if driver_cls not in self._complete:
            from virtwire.server.handlers import build_table

            for key, entry in build_table(driver_cls).items():
                table.setdefault(key, entry)  # entries already in use stay
            self._complete.add(driver_cls)
        return table

    def _entry(self, driver_cls: type | None, key: TableKey) -> ProcedureHandler | None:
        """The entry for ``key`` in ``driver_cls``'s table, built on its procedure's first
        call (a daemon's first answer needs one entry, not ~400); None: not in the table."""
        if driver_cls in self._complete:
            return None
        proc = procedures.lookup(key[0], PROTOCOL_VERSION, key[1])
        if proc is None:
            return None
        from virtwire.server.handlers import build_entry

        entry = build_entry(proc, driver_cls)
        if entry is not None:
            self._tables.setdefault(driver_cls, {})[key] = entry
        return entry

    @property
    def table(self) -> dict[TableKey, ProcedureHandler]:
        """The table before CONNECT_OPEN (every driver-independent entry is the same)."""
        return self.table_for(None)

    def dispatch(self, session: ClientSession, frame: Frame) -> bytes | Awaitable[bytes] | None:
        """Run one frame; return the reply bytes, an awaitable of them, or None (no reply)."""
        header = frame.header
        if header.type not in _CALL_TYPES:
            log.debug(
                "client %s: dropping message type %r prog %#x proc %d",
                session.client_id,
                header.type,
                header.prog,
                header.proc,
            )
            return None
        if header.prog not in PROGRAMS or header.vers != PROTOCOL_VERSION:
            return error_reply(
                header,
                rpc_error(
                    ErrorCode.RPC, f"Cannot find program {header.prog} version {header.vers}"
                ),
            )
        if header.status != MessageStatus.OK:
            return error_reply(
                header, rpc_error(ErrorCode.RPC, f"Unexpected message status {int(header.status)}")
            )
        driver = session.driver
        key = (header.prog, header.proc)
        if self._fixed is not None:
            entry = self._fixed.get(key)
        else:
            driver_cls = type(driver) if driver is not None else None
            table = self._tables.get(driver_cls)
            entry = table.get(key) if table is not None else None
            if entry is None:
                entry = self._entry(driver_cls, key)
        if entry is None:
            return error_reply(
                header, rpc_error(ErrorCode.RPC, f"unknown procedure: {header.proc}")
            )
        try:
            args = entry.args.unpack(frame.payload) if entry.args is not None else None
        except TrailingBytes as extra:
            # virNetMessageDecodePayload runs the XDR filter and ignores what follows
            args = extra.value
        except ValueError:  # XdrError is a ValueError
            return error_reply(header, rpc_error(ErrorCode.RPC, "Unable to decode message payload"))
        try:
            if entry.needs_conn and driver is None:
                raise rpc_error(ErrorCode.INTERNAL_ERROR, entry.conn_error)
            if (
                entry.readonly_api is not None
                and session.readonly
                and (entry.readonly_if is None or entry.readonly_if(args))
            ):
                raise LibvirtError.operation_denied_readonly(
                    entry.readonly_api, entry.readonly_domain
                )
            if self.faults.armed:  # fault injection: the one hook (server/faults.py)
                fault = self.faults.on_call(entry.name, session.client_id)
                if fault is not None:
                    if not fault.delay and fault.error is not None:
                        raise fault.error
                    pending = _delayed(fault.delay, fault.error, entry.handler, session, args)
                    return self._finish_later(session, header, entry, pending)
            result = entry.handler(session, args)
            if result is not None and hasattr(type(result), "__await__"):
                return self._finish_later(session, header, entry, result)
            return self._encode_ret(header, entry, result)
        except LibvirtError as err:
            _log_call_error(session, entry.name, err)
            return error_reply(header, err)
        except Exception as exc:  # a bug must cost one call, never the daemon
            _log_call_bug(session, entry.name)
            return error_reply(
                header, rpc_error(ErrorCode.INTERNAL_ERROR, f"{entry.name} failed: {exc}")
            )

    @staticmethod
    def _encode_ret(header: Header, entry: ProcedureHandler, result: Any) -> bytes:
        if entry.ret is None:
            return _ok_reply(header, b"")
        try:
            payload = entry.ret.pack(result)
        except XdrError as exc:  # a string over REMOTE_STRING_MAX, an int out of range, ...
            # virNetMessageEncodePayload fails and the client gets that error, not a reply
            log.debug("client: %s reply not encodable: %s", entry.name, exc)
            return error_reply(header, rpc_error(ErrorCode.RPC, ENCODE_FAILED))
        return _ok_reply(header, payload)

    async def _finish_later(
        self, session: ClientSession, header: Header, entry: ProcedureHandler, pending: Awaitable
    ) -> bytes:
        try:
            result = await pending
            return self._encode_ret(header, entry, result)
        except LibvirtError as err:
            _log_call_error(session, entry.name, err)
            return error_reply(header, err)
        except Exception as exc:
            _log_call_bug(session, entry.name)
            return error_reply(
                header, rpc_error(ErrorCode.INTERNAL_ERROR, f"{entry.name} failed: {exc}")
            )


async def _delayed(
    seconds: float, error: LibvirtError | None, handler: Handler, session: Any, args: Any
) -> Any:
    """An injected latency: wait without blocking the loop, then fail or run the call."""
    await asyncio.sleep(seconds)
    if error is not None:
        raise error
    result = handler(session, args)
    if result is not None and hasattr(type(result), "__await__"):
        result = await result
    return result


def make_entry(
    proc: Procedure,
    handler: Handler,
    *,
    needs_conn: bool = True,
    readonly_if: Callable[[Any], bool] | None = None,
) -> ProcedureHandler:
    """Bind ``handler`` to ``proc``'s codecs and its connection and read-only facts."""
    kind = proc.driver
    return ProcedureHandler(
        proc=proc,
        handler=handler,
        args=proc.args,
        ret=proc.ret,
        needs_conn=needs_conn,
        conn_error=(
            "hypervisor connection not open"
            if kind in (None, "hypervisor")
            else "connection not open"
        ),
        readonly_api=proc.api if proc.changes_state else None,
        readonly_domain=int(ErrorDomain[proc.error_domain]),
        readonly_if=readonly_if,
    )
