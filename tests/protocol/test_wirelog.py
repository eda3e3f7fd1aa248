"""Frame dumps on the virtwire.wire logger: named, with the exact bytes, both ends."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from virtwire.protocol.wirelog import format_frame

AUTH_LIST_CALL = bytes.fromhex("0000001c200080860000000100000042000000000000000000000000")
PING = bytes.fromhex("0000001c6b6565700000000100000001000000020000000000000000")


def test_format_names_the_procedure_and_shows_the_words() -> None:
    text = format_frame(AUTH_LIST_CALL)
    first, *rest = text.splitlines()
    assert first == "REMOTE_PROC_AUTH_LIST CALL serial=0 status=OK (28 bytes)"
    assert rest == ["  0000001c 20008086 00000001 00000042 00000000 00000000 00000000"]
    assert format_frame(PING).startswith("KEEPALIVE_PROC_PING MESSAGE serial=0 status=OK")


def test_format_survives_unknown_values_and_short_input() -> None:
    odd = bytes.fromhex("0000001c20008086000000010000270f00000009000000050000000b")
    assert format_frame(odd).startswith("REMOTE proc 9999 9 serial=5 status=11")
    assert format_frame(b"\x00\x01").startswith("short frame (2 bytes)")


@pytest.mark.parametrize("level, expect_dumps", [(logging.DEBUG, True), (logging.INFO, False)])
def test_daemon_and_client_dump_frames_only_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, level: int, expect_dumps: bool
) -> None:
    from virtwire.client import connect
    from virtwire.server.config import ServerConfig
    from virtwire.server.daemon import Daemon, ListenSpec

    async def scenario() -> str:
        sock = tmp_path / "sock"
        daemon = Daemon(ServerConfig(), tmp_path / "state", [ListenSpec("unix", path=sock)])
        await daemon.start()
        try:
            async with await connect(f"test+unix:///default?socket={sock}") as conn:
                return await conn.get_type()
        finally:
            await daemon.stop()

    caplog.set_level(level, logger="virtwire.wire")
    assert asyncio.run(scenario()) == "TEST"
    dumps = [r.getMessage() for r in caplog.records if r.name == "virtwire.wire"]
    sent = [m for m in dumps if m.startswith("server <- REMOTE_PROC_CONNECT_GET_TYPE CALL")]
    seen = [m for m in dumps if re.match(r"client \d+ -> REMOTE_PROC_CONNECT_GET_TYPE CALL", m)]
    answered = [m for m in dumps if m.startswith("server -> REMOTE_PROC_CONNECT_GET_TYPE REPLY")]
    assert bool(sent and seen and answered) is expect_dumps, dumps[:6]
    if expect_dumps:
        assert "00000004 54455354" in " ".join(answered[0].split())  # the body: "TEST"
