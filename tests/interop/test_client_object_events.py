"""Network events from a real libvirtd (test driver) through the async client: registration
by CONNECT_NETWORK_EVENT_REGISTER_ANY, the server's callback ID, the typed event."""

from __future__ import annotations

import asyncio

import pytest
import virtwire.client as vc
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.event_types import NetworkEventID, NetworkLifecycleEvent

pytestmark = pytest.mark.interop


def test_network_lifecycle_events_reach_the_callback(libvirtd_peer):
    async def scenario() -> list[tuple[str, int, int]]:
        conn = await vc.connect(libvirtd_peer.tcp_uri)
        try:
            seen: list[tuple[str, int, int]] = []
            got = asyncio.Event()

            def cb(event: NetworkLifecycleEvent, _callback_id: int) -> None:
                seen.append((event.net.name, event.event, event.detail))
                if len(seen) == 2:
                    got.set()

            cid = await conn.register_object_event("network", NetworkEventID.LIFECYCLE, cb)
            net = (await conn.call("NETWORK_LOOKUP_BY_NAME", {"name": "default"})).net
            await conn.call("NETWORK_DESTROY", {"net": net})
            await conn.call("NETWORK_CREATE", {"net": net})
            await asyncio.wait_for(got.wait(), 10)
            await conn.deregister_object_event(cid)
            with pytest.raises(LibvirtError, match="not registered"):
                await conn.deregister_object_event(cid)
            return seen
        finally:
            await conn.close()

    # VIR_NETWORK_EVENT_STOPPED = 3, STARTED = 2 (detail 0)
    assert asyncio.run(scenario()) == [("default", 3, 0), ("default", 2, 0)]
