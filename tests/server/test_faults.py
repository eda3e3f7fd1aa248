"""The fault table (sans-IO) and the control requests that set it."""

from __future__ import annotations

import logging

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.procedures import by_name
from virtwire.server.control import handle_request
from virtwire.server.faults import FaultError, FaultTable

CREATE = "REMOTE_PROC_DOMAIN_CREATE"


def test_fail_fires_count_times_with_the_procedures_error_domain(caplog):
    table = FaultTable()
    assert not table.armed
    with caplog.at_level(logging.WARNING, "virtwire.server.faults"):
        fault = table.add_fail("domain_create", ErrorCode.INTERNAL_ERROR, "boom", count=2)
    assert table.armed and fault.target == CREATE
    assert "fault set" in caplog.text and "boom" in caplog.text
    assert table.on_call("REMOTE_PROC_DOMAIN_DESTROY") is None  # other procedures untouched
    for _ in range(2):
        got = table.on_call(CREATE, 7)
        assert got is not None and got.error is not None and got.delay == 0
        assert got.error.code == ErrorCode.INTERNAL_ERROR and got.error.message == "boom"
        assert got.error.domain == ErrorDomain[by_name(CREATE).error_domain]
    assert table.on_call(CREATE) is None
    assert not table.armed and table.faults == []
    assert caplog.text.count("fault fired") == 2 and "client 7" in caplog.text


def test_fail_domain_override_and_forever():
    table = FaultTable()
    table.add_fail("CONNECT_GET_VERSION", 1, "x", domain=ErrorDomain.QEMU, count=None)
    for _ in range(5):
        got = table.on_call("REMOTE_PROC_CONNECT_GET_VERSION")
        assert got is not None and got.error.domain == ErrorDomain.QEMU
    assert table.describe()["faults"][0]["fired"] == 5
    table.reset()
    assert not table.armed and table.on_call("REMOTE_PROC_CONNECT_GET_VERSION") is None


def test_delay_then_fail_combine():
    table = FaultTable()
    table.add_delay("CONNECT_GET_VERSION", 0.25)
    table.add_fail("CONNECT_GET_VERSION", 1, "late", count=1)
    got = table.on_call("REMOTE_PROC_CONNECT_GET_VERSION")
    assert got is not None and got.delay == 0.25 and got.error is not None
    got = table.on_call("REMOTE_PROC_CONNECT_GET_VERSION")
    assert got is not None and got.delay == 0.25 and got.error is None


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.add_fail("NO_SUCH_PROC", 1, "x"),
        lambda t: t.add_fail("9", 1, "x"),  # no bare numbers
        lambda t: t.add_fail("DOMAIN_CREATE", 0, "x"),
        lambda t: t.add_fail("DOMAIN_CREATE", 99999, "x"),
        lambda t: t.add_fail("DOMAIN_CREATE", 1, "x", count=0),
        lambda t: t.add_delay("DOMAIN_CREATE", 0),
        lambda t: t.add_refusal("reboot"),
    ],
)
def test_bad_faults_are_refused_clearly(call):
    table = FaultTable()
    with pytest.raises(FaultError):
        call(table)
    assert not table.armed


def test_guest_refusals_count_down():
    table = FaultTable()
    assert not table.guest_refuses("unplug")
    table.add_refusal("unplug", count=1)
    assert not table.guest_refuses("shutdown")
    assert table.guest_refuses("unplug", "device dimm0")
    assert not table.guest_refuses("unplug")


def test_stalled_events_are_held_in_order_and_released():
    table = FaultTable()
    assert not table.hold_event("s", b"1")
    table.stall_events()
    assert table.armed
    assert table.hold_event("a", b"1") and table.hold_event("b", b"2")
    assert table.describe()["events_held"] == 2
    assert table.release_events() == [("a", b"1"), ("b", b"2")]
    assert not table.armed and not table.hold_event("a", b"3")


class FakeSession:
    def __init__(self, client_id: int, peer: str) -> None:
        self.client_id, self.peer, self.readonly = client_id, peer, False
        self._transport = object()
        self.aborted = False
        self.sent: list[bytes] = []

    def abort(self) -> None:
        self.aborted = True

    def send(self, data: bytes) -> None:
        self.sent.append(data)


def test_control_requests():
    table = FaultTable()
    sessions = [FakeSession(1, "127.0.0.1:4000"), FakeSession(2, "unix:/x")]
    req = lambda **r: handle_request(table, lambda: sessions, r)  # noqa: E731
    assert req(op="fail", procedure="DOMAIN_CREATE", code=1, message="boom", count=2)["ok"]
    assert req(op="delay", procedure="DOMAIN_CREATE", seconds=0.5)["fault"]["remaining"] is None
    assert req(op="refuse", action="shutdown", count="forever")["ok"]
    listed = req(op="list")
    assert [f["kind"] for f in listed["faults"]] == ["fail", "delay", "refuse"]
    assert req(op="clients")["clients"][0] == {"id": 1, "peer": "127.0.0.1:4000", "readonly": False}
    assert req(op="drop", client=2) == {"ok": True, "dropped": [2]}
    assert sessions[1].aborted and not sessions[0].aborted
    assert not req(op="drop", peer="nowhere")["ok"]
    assert req(op="drop")["dropped"] == [1, 2]
    assert req(op="stall-events")["ok"]
    table.hold_event(sessions[0], b"ev")
    assert req(op="reset") == {"ok": True, "released": 1}
    assert sessions[0].sent == [b"ev"] and req(op="list")["faults"] == []
    for bad in ({"op": "nope"}, {"op": "fail"}, {"op": "fail", "procedure": "X", "code": 1}):
        answer = handle_request(table, lambda: sessions, bad)
        assert answer["ok"] is False and answer["error"]


def test_control_socket_is_private_and_answers(daemon_thread):
    import os
    import shutil
    import stat
    import subprocess

    from virtwire.server.config import CONTROL_SOCKET_NAME
    from virtwire.tools.inject import control_socket_for, request

    path = daemon_thread.unix_path.parent / CONTROL_SOCKET_NAME
    assert control_socket_for(f"test+unix:///default?socket={daemon_thread.unix_path}") == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    answer = request(path, {"op": "fail", "procedure": "CONNECT_GET_VERSION", "code": 1})
    assert answer["ok"] and answer["fault"]["target"] == "REMOTE_PROC_CONNECT_GET_VERSION"
    c = daemon_thread.tcp()
    c.prologue()
    err = c.call_error(4)  # CONNECT_GET_VERSION fails once, with the injected error
    assert (err.code, err.message) == (1, "injected failure of REMOTE_PROC_CONNECT_GET_VERSION")
    assert c.call_raw(4, b"").header.status == 0
    assert request(path, {"op": "bogus"}) == {"ok": False, "error": "unknown operation 'bogus'"}
    if os.geteuid() == 0 and shutil.which("setpriv"):
        # another user cannot even connect (mode 0600, owned by the daemon's user)
        probe = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
             "/usr/bin/python3", "-c",
             f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(path)!r})"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert probe.returncode != 0 and "PermissionError" in probe.stderr, probe.stderr
