"""`virtwire conformance` against an in-process virtwire daemon and a deliberately broken server."""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.config import ServerConfig
from virtwire.tools import conformance
from virtwire.tools.conformance_checks import CHECKS, select_checks

from tests.server.wire import DaemonThread

SHORT_KEEPALIVE = ServerConfig(keepalive_interval=0.5, keepalive_count=2)


@pytest.fixture(scope="module")
def daemon() -> Iterator[DaemonThread]:
    d = DaemonThread(SHORT_KEEPALIVE).start()
    try:
        yield d
    finally:
        d.stop()


def statuses(results) -> dict[str, str]:
    return {r.name: r.status for r in results}


# --- the registry and the command line ------------------------------------------------------------


def test_check_names_are_unique_documented_and_grouped() -> None:
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names)) >= 35
    groups = {n.split(".")[0] for n in names}
    assert groups == {
        "framing", "header", "serial", "connect", "errors", "readonly", "events",
        "lifecycle", "memory", "keepalive",
    }  # fmt: skip
    for c in CHECKS:
        assert c.doc and c.title, c.name


def test_list_prints_every_name(capsys) -> None:
    assert conformance.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == [c.name for c in CHECKS]


def test_only_filters_by_glob(capsys) -> None:
    assert {c.name for c in select_checks(["framing.*"])} == {
        c.name for c in CHECKS if c.name.startswith("framing.")
    }
    assert [c.name for c in select_checks(["serial.echoed", "keepalive.ping-*"])] == [
        "serial.echoed",
        "keepalive.ping-answered",
        "keepalive.ping-after-feature",
    ]
    assert conformance.main(["--list", "--only", "events.*"]) == 0
    assert all(line.startswith("events.") for line in capsys.readouterr().out.splitlines())


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        conformance.main([])
    assert exc.value.code == 2
    assert conformance.main(["test+ssh://host/default"]) == 2
    assert "not supported" in capsys.readouterr().err


# --- against virtwire's own daemon -----------------------------------------------------------------


def test_every_check_passes_on_the_test_driver(daemon: DaemonThread) -> None:
    results = conformance.run(
        f"test+tcp://127.0.0.1:{daemon.tcp_port}/default", timeout=3, keepalive_budget=5
    )
    got = statuses(results)
    failed = {r.name: r.message for r in results if r.status == "fail"}
    assert not failed, failed
    # libvirt's test driver has no DIMM hot-plug; everything else applies
    assert {n for n, s in got.items() if s == "skip"} == {"memory.dimm-hotplug"}
    assert len(got) == len(CHECKS)


def test_every_check_passes_on_qemu_session_over_unix(daemon: DaemonThread) -> None:
    uri = f"qemu+unix:///session?socket={daemon.unix_path}"
    results = conformance.run(uri, timeout=3, keepalive_budget=5)
    assert {r.name: r.message for r in results if r.status != "pass"} == {}
    by_name = {r.name: r for r in results}
    assert "memdimm0" in by_name["memory.dimm-hotplug"].message
    assert "vwconf-" in by_name["lifecycle.suspend-resume"].message  # a scratch guest


def test_keepalive_checks_skip_when_the_budget_is_too_short(daemon: DaemonThread) -> None:
    results = conformance.run(
        f"test+tcp://127.0.0.1:{daemon.tcp_port}/default",
        ["keepalive.*"],
        keepalive_budget=0.3,
    )
    got = statuses(results)
    assert got["keepalive.ping-answered"] == "pass"
    assert got["keepalive.ping-after-feature"] == "skip"
    assert got["keepalive.close-after-missed-pongs"] == "skip"
    reason = {r.name: r.message for r in results}["keepalive.ping-after-feature"]
    assert "--keepalive-budget" in reason


def test_json_report(daemon: DaemonThread, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    uri = f"test+tcp://127.0.0.1:{daemon.tcp_port}/default"
    assert conformance.main([uri, "--only", "header.*", "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["uri"] == uri
    n = len(select_checks(["header.*"]))
    assert doc["summary"] == {"total": n, "passed": n, "failed": 0, "skipped": 0}
    unknown = next(c for c in doc["checks"] if c["name"] == "header.unknown-program")
    received = [e for e in unknown["evidence"] if e["kind"] == "received"]
    assert received[0]["header"]["prog"] == 0x12345678
    error = received[0]["body"]["error"]
    assert error["message"] == f"Cannot find program {0x12345678} version 1"
    assert set(error) >= {"code", "domain", "message", "level", "dom", "str1", "str2", "str3",
                          "int1", "int2", "net"}  # fmt: skip


def test_junit_report(daemon: DaemonThread, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    uri = f"test+tcp://127.0.0.1:{daemon.tcp_port}/default"
    rc = conformance.main([uri, "--only", "memory.*", "--only", "connect.*", "--format", "junit",
                           "--output", str(out)])  # fmt: skip
    assert rc == 0
    suite = ET.parse(out).getroot()
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases)) and suite.get("failures") == "0"
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == ["memory.dimm-hotplug"]


def test_text_report_has_one_line_per_check(daemon: DaemonThread, capsys) -> None:
    uri = f"test+tcp://127.0.0.1:{daemon.tcp_port}/default"
    assert conformance.main([uri, "--only", "serial.*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS  serial.echoed")
    assert lines[1].startswith("PASS  serial.many-in-flight")
    assert lines[2] == f"2 checks against {uri}: 2 passed, 0 failed, 0 skipped"


# --- against a broken server: the suite must notice ---------------------------------------------------


class BrokenServer:
    """A tiny libvirt-ish server with two faults: every REPLY carries the call's serial + 1,
    and bad length words are skipped instead of closing the connection."""

    def __init__(self) -> None:
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._stop: asyncio.Event | None = None

    def start(self) -> BrokenServer:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def stop(self) -> None:
        assert self.loop is not None and self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        auth_ret = rp.RemoteAuthListRet(types=[rp.RemoteAuthType.REMOTE_AUTH_NONE]).pack()
        try:
            while True:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
                if length < 28 or length > 1 << 20:
                    continue  # fault: should close the connection
                body = await reader.readexactly(length - 4)
                prog, vers, proc, mtype, serial, _status = struct.unpack(">IIiiIi", body[:24])
                if mtype != 0:
                    continue
                payload = auth_ret if proc == 66 else b""
                reply = struct.pack(">IIiiIi", prog, vers, proc, 1, (serial + 1) & 0xFFFFFFFF, 0)
                writer.write(struct.pack(">I", 28 + len(payload)) + reply + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def broken() -> Iterator[BrokenServer]:
    server = BrokenServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_suite_detects_wrong_serials_and_unclosed_connections(broken: BrokenServer, capsys) -> None:
    uri = f"test+tcp://127.0.0.1:{broken.port}/default"
    rc = conformance.main([uri, "--only", "serial.*", "--only", "framing.length-too-small",
                           "--timeout", "0.5"])  # fmt: skip
    assert rc == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("FAIL  framing.length-too-small")
    assert "connection stayed open" in lines[0]
    assert lines[1].startswith("FAIL  serial.echoed")
    assert "no reply with serial 0; replies seen carry serials [1]" in lines[1]
    assert lines[2].startswith("FAIL  serial.many-in-flight")
    # the evidence shows the frames: the call with serial 0 and the reply with serial 1
    assert "--- FAIL serial.echoed" in out
    assert "→ CALL REMOTE/1 REMOTE_PROC_AUTH_LIST(66) serial=0" in out
    assert "← REPLY REMOTE/1 REMOTE_PROC_AUTH_LIST(66) serial=1 status=OK(0)" in out


def test_junit_failure_carries_the_evidence(broken: BrokenServer, tmp_path: Path) -> None:
    out = tmp_path / "broken.xml"
    uri = f"test+tcp://127.0.0.1:{broken.port}/default"
    rc = conformance.main([uri, "--only", "serial.echoed", "--timeout", "0.5",
                           "--format", "junit", "--output", str(out)])  # fmt: skip
    assert rc == 1
    case = ET.parse(out).getroot().find("testcase")
    failure = case.find("failure")
    assert failure is not None and "serial 0" in failure.get("message")
    assert "serial=1 status=OK" in failure.text
