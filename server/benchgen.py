"""A bench-only event generator on the control socket: ``bench-device-added``.

``virtwire bench`` asks the daemon, on its owner-only control socket
(:mod:`virtwire.server.control`), to push DEVICE_ADDED events as fast as its clients read
them: the events go the normal way (the driver's event state, each registered client's
relay, one MESSAGE frame each), so the figure is what a client can decode and dispatch.
No libvirt client can reach it; it changes no domain.

Request: ``{"op": "bench-device-added", "count": N, "domain": "test", "client": ID}``
(``domain`` defaults to the first running domain, ``client`` restricts the choice of host
to that client's). The devices are named ``bench-0`` .. ``bench-{N-1}``, in order, so the
receiver can check that none is lost or out of order. The answer, once all are queued and
written to the sockets' buffers: ``{"ok": true, "sent": N, "clients": K, "seconds": S}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from virtwire.protocol import events as ev

__all__ = ["ALIAS_PREFIX", "OPS", "handle"]

OP_DEVICE_ADDED = "bench-device-added"
OPS = frozenset({OP_DEVICE_ADDED})
ALIAS_PREFIX = "bench-"

_BATCH = 256  # events queued per loop turn
_HIGH_WATER = 256 * 1024  # bytes waiting in a receiver's transport: wait below this
_POLL = 0.0005  # s between checks while a receiver is behind
_MAX_COUNT = 10_000_000


def _registered(session: Any) -> bool:
    relay = getattr(session, "_relay", None)
    if relay is None or session.is_gone:
        return False
    wanted = int(ev.DomainEventID.DEVICE_ADDED)
    return any(r.event_id == wanted for r in relay.registrations.values())


def _behind(session: Any) -> bool:
    transport = getattr(session, "_transport", None)
    if transport is None or session.is_gone:
        return False
    return bool(session.queued) or transport.get_write_buffer_size() > _HIGH_WATER


async def handle(sessions: Iterable[Any], request: dict[str, Any]) -> dict[str, Any]:
    """Run one generator request (never raises for bad input)."""
    try:
        count = int(request.get("count", 1000))
        if not 0 < count <= _MAX_COUNT:
            raise ValueError(f"count must be 1..{_MAX_COUNT}")
        client = request.get("client")
        live = list(sessions)
        chosen = [
            s
            for s in live
            if getattr(s, "driver", None) is not None
            and (client is None or s.client_id == int(client))
        ]
        if not chosen:
            return {"ok": False, "error": "no client with an open connection"}
        driver = chosen[0].driver
        name = request.get("domain")
        objs = [o for o in driver.domains.values() if o.active]
        obj = next((o for o in objs if name is None or o.name == name), None)
        if obj is None:
            return {"ok": False, "error": f"no running domain {name or ''}".rstrip()}
    except (TypeError, ValueError) as exc:
        return {"ok": False, "error": f"bad {OP_DEVICE_ADDED} request: {exc}"}
    receivers = [s for s in live if s.driver is driver and _registered(s)]
    ref = obj.ref()
    state = driver.events
    event = ev.DeviceAddedEvent
    t0 = time.perf_counter()
    seq = 0
    while seq < count:
        end = min(count, seq + _BATCH)
        for i in range(seq, end):
            state.queue(event(ref, f"{ALIAS_PREFIX}{i}"))
        seq = end
        await asyncio.sleep(0)  # the event state's flush runs (it was call_soon'd)
        while any(_behind(s) for s in receivers):
            await asyncio.sleep(_POLL)
    return {
        "ok": True,
        "sent": count,
        "clients": len(receivers),
        "seconds": time.perf_counter() - t0,
    }
