"""Property: whatever order the server answers in, however it interleaves events and PINGs,
and however the bytes are chunked, every call gets its own reply and every event arrives
once, in order."""

from __future__ import annotations

import asyncio

import virtwire.client as vc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.events import LifecycleEvent, to_message
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp

from tests.client.fake_daemon import PING_FRAME, TEST_DOM, FakeDaemon

P = rp.RemoteProcedure
CALLS = 6


def _reply_bytes(frame, hostname: str) -> bytes:
    h = frame.header
    payload = rp.RemoteConnectGetHostnameRet(hostname=hostname).pack()
    return encode_frame(
        Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial, MessageStatus.OK), payload
    )


def _event_bytes(callback_id: int, detail: int) -> bytes:
    proc, msg = to_message(LifecycleEvent(TEST_DOM, 3, detail), callback_id)
    payload = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, proc).msg.pack(msg)
    return encode_frame(
        Header(REMOTE_PROGRAM, 1, proc, MessageType.MESSAGE, 1, MessageStatus.OK), payload
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(CALLS)),
    events_before=st.lists(st.integers(0, CALLS), min_size=0, max_size=8),
    pings=st.lists(st.integers(0, CALLS), max_size=3),
    chunk=st.integers(1, 97),
)
def test_any_interleaving(order, events_before, pings, chunk):
    async def scenario():
        daemon = await FakeDaemon().start()
        held: list = []

        async def hostname(session, frame, args):
            held.append(frame)
            if len(held) < CALLS:
                return
            cid = session.callback_id_for(0)
            stream = b""
            detail = 0
            for position, index in enumerate(order):
                for _ in range(events_before.count(position)):
                    stream += _event_bytes(cid, detail)
                    detail += 1
                stream += PING_FRAME * pings.count(position)
                f = held[index]
                stream += _reply_bytes(f, f"h{f.header.serial}")
            for _ in range(events_before.count(CALLS)):
                stream += _event_bytes(cid, detail)
                detail += 1
            stream += PING_FRAME * pings.count(CALLS)
            for start in range(0, len(stream), chunk):
                session.send(stream[start : start + chunk])
                await session.writer.drain()
                await asyncio.sleep(0)

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hostname)
        try:
            async with await vc.connect(daemon.uri) as conn:
                got: list = []
                await conn.register_event(0, got.append)
                serial0 = 6  # after the prologue (0-4) and the registration (5)
                results = await asyncio.gather(*(conn.get_hostname() for _ in range(CALLS)))
                assert results == [f"h{serial0 + i}" for i in range(CALLS)]
                expected = len(events_before)
                pongs = daemon.sessions[0].keepalive
                for _ in range(200):
                    if len(got) >= expected and pongs.count(2) >= len(pings):
                        break
                    await asyncio.sleep(0.005)
                assert [e.detail for e in got] == list(range(expected))
                assert daemon.sessions[0].keepalive.count(2) == len(pings)
        finally:
            await daemon.stop()

    asyncio.run(asyncio.wait_for(scenario(), 10))
