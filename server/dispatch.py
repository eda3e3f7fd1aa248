"""One CALL frame in, one REPLY frame out: the daemon's RPC layer.

This mirrors ``virNetServerProgramDispatch`` and the generated dispatchers of libvirtd, in
libvirt's order, so that clients see exactly the errors they see from libvirtd (spec §7.5):

1. only CALL / CALL_WITH_FDS are dispatched; anything else a client sends is dropped
   silently (keepalive frames never get here: the session consumes them);
2. (prog, vers) must be the remote program → else "Cannot find program P version V",
   with the reply header echoing the caller's prog/vers;
3. status must be OK → else "Unexpected message status N";
4. the procedure must have a handler → else "unknown procedure: N" (proc 0, event
   procedures used as calls, numbers we do not implement);
5. the payload must decode → else "Unable to decode message payload";
6. procedures that need the hypervisor connection fail before CONNECT_OPEN with
   INTERNAL_ERROR "hypervisor connection not open";
7. a read-only client is refused state-changing procedures with libvirt's
   OPERATION_DENIED text, naming the C API (``Procedure.api`` in the registry);
8. the handler runs; a :class:`LibvirtError` becomes an error reply.

Handlers are synchronous (the simulated drivers are), so a call normally completes inside
:meth:`Dispatcher.dispatch` and its reply is returned as ready-to-write bytes, without a
task. A handler may return an awaitable instead; the session then runs it as a task and
counts it against ``max_client_requests``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import FRAME_MIN, PAYLOAD_MAX, PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.framing import Frame, Header, MessageStatus, MessageType, encode_frame
from virtwire.xdr.runtime import TrailingBytes

if TYPE_CHECKING:
    from virtwire.server.session import ClientSession

__all__ = [
    "Dispatcher",
    "ProcedureHandler",
    "error_reply",
    "rpc_error",
]

log = logging.getLogger("virtwire.server")

Handler = Callable[["ClientSession", Any], Any]


@dataclass(frozen=True, slots=True)
class ProcedureHandler:
    """A dispatch-table entry: how to run one remote procedure."""

    number: int
    name: str
    handler: Handler
    args: Any  # Codec | None
    ret: Any  # Codec | None
    needs_conn: bool
    readonly_api: str | None


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


def _ok_reply(header: Header, payload: bytes) -> bytes:
    if len(payload) > PAYLOAD_MAX:
        return error_reply(header, rpc_error(ErrorCode.RPC, "Unable to encode message payload"))
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


class Dispatcher:
    """The remote program's procedure table plus libvirt's protocol-level checks."""

    def __init__(self, table: dict[int, ProcedureHandler] | None = None) -> None:
        if table is None:
            from virtwire.server.handlers import build_table

            table = build_table()
        self.table = table

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
        if header.prog != REMOTE_PROGRAM or header.vers != PROTOCOL_VERSION:
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
        entry = self.table.get(header.proc)
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
            if entry.needs_conn and session.driver is None:
                raise rpc_error(ErrorCode.INTERNAL_ERROR, "hypervisor connection not open")
            if entry.readonly_api is not None and session.readonly:
                raise LibvirtError.make(
                    ErrorCode.OPERATION_DENIED,
                    ErrorDomain.DOMAIN,
                    f"read only access prevents {entry.readonly_api}",
                )
            result = entry.handler(session, args)
            if result is not None and hasattr(type(result), "__await__"):
                return self._finish_later(session, header, entry, result)
            return self._encode_ret(header, entry, result)
        except LibvirtError as err:
            return error_reply(header, err)
        except Exception as exc:  # a bug must cost one call, never the daemon
            log.exception("client %s: %s failed", session.client_id, entry.name)
            return error_reply(
                header, rpc_error(ErrorCode.INTERNAL_ERROR, f"{entry.name} failed: {exc}")
            )

    @staticmethod
    def _encode_ret(header: Header, entry: ProcedureHandler, result: Any) -> bytes:
        if entry.ret is None:
            return _ok_reply(header, b"")
        return _ok_reply(header, entry.ret.pack(result))

    async def _finish_later(
        self, session: ClientSession, header: Header, entry: ProcedureHandler, pending: Awaitable
    ) -> bytes:
        try:
            result = await pending
            return self._encode_ret(header, entry, result)
        except LibvirtError as err:
            return error_reply(header, err)
        except Exception as exc:
            log.exception("client %s: %s failed", session.client_id, entry.name)
            return error_reply(
                header, rpc_error(ErrorCode.INTERNAL_ERROR, f"{entry.name} failed: {exc}")
            )


def make_entry(
    number: int,
    handler: Handler,
    *,
    needs_conn: bool = True,
) -> ProcedureHandler | None:
    """Bind ``handler`` to the codecs of remote procedure ``number``.

    Returns None (with a warning) when the protocol layer has no codecs for it, so that a
    procedure missing from our ``.x`` is answered "unknown procedure" instead of crashing.
    """
    try:
        proc = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, number)
    except (KeyError, LookupError):
        proc = None
    if proc is None:
        log.warning("remote procedure %d has no codecs in the protocol layer; not served", number)
        return None
    return ProcedureHandler(
        number=number,
        name=proc.name,
        handler=handler,
        args=proc.args,
        ret=proc.ret,
        needs_conn=needs_conn,
        readonly_api=proc.api if proc.changes_state else None,
    )
