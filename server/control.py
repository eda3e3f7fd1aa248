"""The fault-injection control socket: ``virtwire inject`` talks to the daemon here.

One unix socket, ``virtwire-inject-sock``, next to the daemon's read-write ``libvirt-sock``
(or in ``STATE_DIR/run`` when the daemon has no unix listener). It is created with mode
0600 under a 0077 umask, and every connecting peer's uid (``SO_PEERCRED``) must be the
daemon's own: only the daemon's owner (and root) can reach it. It is not a libvirt
program; nothing a libvirt client can reach changes.

The protocol is one JSON object per line each way: a request ``{"op": ..., ...}``, an
answer ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``. Operations:
``fail``, ``delay``, ``refuse``, ``stall-events``, ``release-events``, ``drop``,
``clients``, ``list``, ``reset`` (see :mod:`virtwire.tools.inject`), and the bench-only
event generator ``bench-device-added`` (:mod:`virtwire.server.benchgen`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from virtwire.server.config import CONTROL_SOCKET_NAME
from virtwire.server.faults import FaultError, FaultTable

__all__ = ["CONTROL_SOCKET_NAME", "ControlServer", "handle_request"]

log = logging.getLogger("virtwire.server.faults")

_MAX_REQUEST = 64 * 1024


def _send_held(held: list[tuple[Any, bytes]]) -> None:
    for sink, frame in held:
        sink.send(frame)  # a closed session ignores it


def handle_request(
    faults: FaultTable, sessions: Callable[[], Iterable[Any]], request: dict[str, Any]
) -> dict[str, Any]:
    """Apply one control request; the answer to send back (never raises for bad input)."""
    op = request.get("op")
    try:
        if op == "fail":
            fault = faults.add_fail(
                str(request["procedure"]),
                int(request["code"]),
                str(request.get("message") or ""),
                domain=None if request.get("domain") is None else int(request["domain"]),
                count=_count(request),
            )
            return {"ok": True, "fault": fault.describe()}
        if op == "delay":
            fault = faults.add_delay(
                str(request["procedure"]),
                float(request["seconds"]),
                count=_count(request, None),
            )
            return {"ok": True, "fault": fault.describe()}
        if op == "refuse":
            fault = faults.add_refusal(str(request["action"]), count=_count(request))
            return {"ok": True, "fault": fault.describe()}
        if op == "stall-events":
            faults.stall_events()
            return {"ok": True}
        if op == "release-events":
            held = faults.release_events()
            _send_held(held)
            return {"ok": True, "released": len(held)}
        if op == "reset":
            held = faults.reset()
            _send_held(held)
            return {"ok": True, "released": len(held)}
        if op == "list":
            return {"ok": True, **faults.describe()}
        if op == "clients":
            return {"ok": True, "clients": _clients(sessions())}
        if op == "drop":
            return _drop(sessions(), request)
    except FaultError as exc:
        return {"ok": False, "error": str(exc)}
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "error": f"bad {op} request: {exc!r}"}
    return {"ok": False, "error": f"unknown operation {op!r}"}


def _count(request: dict[str, Any], default: int | None = 1) -> int | None:
    """``count``: a number, or "forever" (until reset); absent: ``default``."""
    value = request.get("count", default)
    if value is None or value == "forever":
        return None
    return int(value)


def _clients(sessions: Iterable[Any]) -> list[dict[str, Any]]:
    return sorted(
        (
            {"id": s.client_id, "peer": s.peer, "readonly": bool(s.readonly)}
            for s in sessions
            if getattr(s, "_transport", None) is not None
        ),
        key=lambda c: c["id"],
    )


def _drop(sessions: Iterable[Any], request: dict[str, Any]) -> dict[str, Any]:
    """Abort the connections of all clients, one client id, or one peer address."""
    client = request.get("client")
    peer = request.get("peer")
    chosen = [
        s
        for s in sessions
        if (client is None or s.client_id == int(client)) and (peer is None or s.peer == peer)
    ]
    if (client is not None or peer is not None) and not chosen:
        what = f"id {client}" if client is not None else f"peer {peer}"
        return {"ok": False, "error": f"no client with {what}"}
    for session in chosen:
        log.warning(
            "fault fired: dropping the connection of client %d (%s)",
            session.client_id,
            session.peer,
        )
        session.abort()
    return {"ok": True, "dropped": sorted(s.client_id for s in chosen)}


class ControlServer:
    """The listening control socket of one daemon."""

    def __init__(
        self, path: Path, faults: FaultTable, sessions: Callable[[], Iterable[Any]]
    ) -> None:
        self.path = Path(path)
        self.faults = faults
        self.sessions = sessions
        self._server: asyncio.AbstractServer | None = None
        self._inode: tuple[int, int] | None = None

    async def start(self) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if not _alive(path):
                os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old_umask = os.umask(0o077)
            try:
                sock.bind(os.fspath(path))
            finally:
                os.umask(old_umask)
            os.chmod(path, 0o600)
            st = os.stat(path)
            self._inode = (st.st_dev, st.st_ino)
        except OSError:
            sock.close()
            raise
        self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=_MAX_REQUEST)
        log.info("fault injection: control socket %s (mode 0600)", path)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        with contextlib.suppress(OSError):
            st = os.lstat(self.path)
            if (st.st_dev, st.st_ino) == self._inode:
                os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _, uid, _ = struct.unpack("3i", creds)
            if uid not in (os.getuid(), 0):
                log.warning("fault injection: refused a peer with uid %d", uid)
                return
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(b'{"ok": false, "error": "request too long"}\n')
                    return
                if not line:
                    return
                import json  # here: the daemon's start does not need it

                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    answer: dict[str, Any] = {"ok": False, "error": f"bad request: {exc}"}
                else:
                    if str(request.get("op", "")).startswith("bench-"):
                        from virtwire.server import benchgen  # bench only: loaded when asked

                        answer = await benchgen.handle(self.sessions(), request)
                    else:
                        answer = handle_request(self.faults, self.sessions, request)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()


def _alive(path: Path) -> bool:
    """Is a daemon listening on ``path`` (else it is a stale file to remove)?"""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True
