"""The bench-only DEVICE_ADDED generator on the control socket (server/benchgen.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from virtwire.protocol.events import DomainEventID
from virtwire.server.benchgen import ALIAS_PREFIX
from virtwire.server.config import CONTROL_SOCKET_NAME
from virtwire.server.embed import serve

from virtwire import client


async def _control(path: Path, message: dict) -> dict:
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(json.dumps(message).encode() + b"\n")
        return json.loads(await asyncio.wait_for(reader.readline(), 30))
    finally:
        writer.close()


async def _flood(tmp_path: Path) -> None:
    async with serve(state_dir=tmp_path / "state", unix=tmp_path / "libvirt-sock") as served:
        control = tmp_path / CONTROL_SOCKET_NAME
        uri = served.uri("test")
        # no client yet: a clear refusal, nothing sent
        answer = await _control(control, {"op": "bench-device-added", "count": 5})
        assert answer == {"ok": False, "error": "no client with an open connection"}
        listener = await client.connect(uri)
        other = await client.connect(uri)  # connected, not registered: gets nothing
        try:
            got: list[str] = []
            done = asyncio.get_running_loop().create_future()

            def cb(event) -> None:  # noqa: ANN001
                got.append(event.dev_alias)
                if len(got) == 3000 and not done.done():
                    done.set_result(None)

            await listener.register_event(DomainEventID.DEVICE_ADDED, cb)
            for bad, why in (
                ({"count": 0}, "count must be"),
                ({"count": "many"}, "bad bench-device-added request"),
                ({"domain": "nosuch"}, "no running domain nosuch"),
            ):
                answer = await _control(control, {"op": "bench-device-added", **bad})
                assert answer["ok"] is False and why in answer["error"], answer
            answer = await _control(
                control, {"op": "bench-device-added", "count": 3000, "domain": "test"}
            )
            assert answer["ok"] is True and answer["sent"] == 3000 and answer["clients"] == 1
            await asyncio.wait_for(done, 30)
            assert got == [f"{ALIAS_PREFIX}{i}" for i in range(3000)]
            # the domain is untouched: no device was really added
            dom = await other.lookup_by_name("test")
            assert ALIAS_PREFIX not in await dom.xml_desc()
        finally:
            await other.close()
            await listener.close()


def test_generator_pushes_every_event_in_order(tmp_path: Path) -> None:
    asyncio.run(_flood(tmp_path))
