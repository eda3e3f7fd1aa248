"""The remoteEvents table: every event message of every kind (domain legacy and callback
form, network, storage pool, node device, secret, the QEMU monitor event) decodes and is
re-queued on the connection's EventState with remote ID = callbackID (legacy: -1), and
dispatched on a later loop turn, never inside dispatch()."""

from __future__ import annotations

import dataclasses

import pytest
from virtwire.client.remote_events import (
    CONNECTION_CLOSED_PROC,
    QEMU_EVENTS,
    REMOTE_EVENTS,
    RemoteEvents,
)
from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, QEMU_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.event_state import EventState
from virtwire.protocol.events import (
    CALLBACK_PROC,
    EVENT_CLASSES,
    EVENT_FORMS,
    LEGACY_PROC,
    EventKind,
    GraphicsAddress,
    GraphicsIdentity,
    NetworkRef,
    NodeDeviceRef,
    SecretRef,
    StoragePoolRef,
    TypedParam,
    TypedParamType,
    to_message,
)
from virtwire.protocol.framing import Frame, Header, MessageStatus, MessageType

from tests.client.fake_daemon import TEST_DOM

SAMPLES = {
    "int": 3,
    "str": "alias0",
    "str | None": "/path",
    "DomainRef": TEST_DOM,
    "NetworkRef": NetworkRef("default", bytes(range(16))),
    "StoragePoolRef": StoragePoolRef("images", bytes(range(16))),
    "NodeDeviceRef": NodeDeviceRef("pci_0000_00_02_0"),
    "SecretRef": SecretRef(bytes(range(16)), 2, "ceph-client"),
    "GraphicsAddress": GraphicsAddress(0, "127.0.0.1", "5900"),
    "tuple[GraphicsIdentity, ...]": (GraphicsIdentity("x509dname", "CN=a"),),
    "tuple[TypedParam, ...]": (TypedParam("cputune.shares", TypedParamType.ULLONG, 1024),),
}


def sample(cls):
    return cls(**{f.name: SAMPLES[f.type] for f in dataclasses.fields(cls)})


class FakeConn:
    """What RemoteEvents needs of a connection: an EventState and _server_closed."""

    def __init__(self) -> None:
        self.scheduled: list = []
        self.event_state = EventState(self.scheduled.append)
        self.closed: list[int] = []

    def _server_closed(self, reason: int) -> None:
        self.closed.append(reason)


def frame(proc: int, msg, prog: int = REMOTE_PROGRAM) -> Frame:
    payload = procedures.lookup(prog, PROTOCOL_VERSION, proc).msg.pack(msg)
    header = Header(prog, 1, proc, MessageType.MESSAGE, 1, MessageStatus.OK)
    return Frame(header, payload)


def test_table_covers_every_event_message():
    domain = {*LEGACY_PROC.values(), *CALLBACK_PROC.values()}
    assert domain | {CONNECTION_CLOSED_PROC} <= set(REMOTE_EVENTS)
    assert len(REMOTE_EVENTS) == 16 + 30 + 1 + 7  # + network, pools, node devices, secrets
    assert {(REMOTE_PROGRAM, p) for p in REMOTE_EVENTS} | {
        (QEMU_PROGRAM, p) for p in QEMU_EVENTS
    } == {(p.program, p.number) for p in procedures.all_procedures() if p.is_event}
    for proc, entry in REMOTE_EVENTS.items():
        assert entry.form is EVENT_FORMS[(REMOTE_PROGRAM, proc)]


FORMS = [(eid, "callback") for eid in sorted(EVENT_CLASSES)] + [
    (eid, "legacy") for eid in sorted(LEGACY_PROC)
]


@pytest.mark.parametrize(("event_id", "form"), FORMS)
def test_each_event_is_requeued_with_its_remote_id(event_id, form):
    cls = EVENT_CLASSES[event_id]
    event = sample(cls)
    callback_id = 7 if form == "callback" else None
    remote_id = 7 if form == "callback" else -1
    proc, msg = to_message(event, callback_id)
    conn = FakeConn()
    got: list = []
    conn.event_state.register(event_id, lambda ev, cid: got.append(ev), remote_id=remote_id)
    other: list = []
    conn.event_state.register(event_id, lambda ev, cid: other.append(ev), remote_id=99)
    assert RemoteEvents(conn).dispatch(frame(proc, msg)) is True
    assert got == []  # nothing runs inside dispatch: a flush was scheduled instead
    assert len(conn.scheduled) == 1
    conn.scheduled.pop()()
    if form == "legacy" and event_id in (11, 12, 14):
        event = dataclasses.replace(event, reason=0)  # the legacy PM forms carry no reason
    assert got == [event]
    assert other == []


OTHER_FORMS = [
    f for f in EVENT_FORMS.values() if f.kind not in (EventKind.DOMAIN, EventKind.CONNECT)
]


@pytest.mark.parametrize("form", OTHER_FORMS, ids=lambda f: f.name)
def test_other_kinds_are_requeued_with_their_remote_id(form):
    event = sample(form.cls)
    proc, msg = to_message(event, 7)
    conn = FakeConn()
    got: list = []
    conn.event_state.register(
        int(form.event_id), lambda ev, cid: got.append(ev), remote_id=7, kind=form.kind
    )
    domain: list = []  # same event ID, domain kind: never fed by these
    conn.event_state.register(int(form.event_id), lambda ev, cid: domain.append(ev), remote_id=7)
    assert RemoteEvents(conn).dispatch(frame(proc, msg, form.program)) is True
    assert got == []
    conn.scheduled.pop()()
    assert got == [event]
    assert domain == []


def test_connection_closed_message_reaches_the_connection():
    from virtwire.protocol.generated import remote_protocol as rp

    conn = FakeConn()
    msg = rp.RemoteConnectEventConnectionClosedMsg(reason=1)
    assert RemoteEvents(conn).dispatch(frame(CONNECTION_CLOSED_PROC, msg))
    assert conn.closed == [1]


def test_unknown_and_bad_messages_are_dropped():
    conn = FakeConn()
    events = RemoteEvents(conn)
    header = Header(REMOTE_PROGRAM, 1, 9999, MessageType.MESSAGE, 1, MessageStatus.OK)
    assert events.dispatch(Frame(header, b"")) is False
    bad_status = Header(REMOTE_PROGRAM, 1, 318, MessageType.MESSAGE, 1, MessageStatus.ERROR)
    assert events.dispatch(Frame(bad_status, b"")) is False
    truncated = Header(REMOTE_PROGRAM, 1, 318, MessageType.MESSAGE, 1, MessageStatus.OK)
    assert events.dispatch(Frame(truncated, b"\x00\x00")) is False
    assert events.dropped == 3
