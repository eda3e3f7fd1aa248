"""The event derivation: every event procedure of the registry has a form computed from the
``.x`` (no hand-kept struct or field names), every form round-trips bytes → typed event →
bytes, the legacy and callback forms of a domain event agree, and the captures still decode.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from virtwire.protocol import event_state, events, procedures
from virtwire.protocol.constants import QEMU_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.event_state import EventState
from virtwire.protocol.events import EVENT_FORMS, EventKind
from virtwire.protocol.framing import MessageType
from virtwire.protocol.generated import qemu_protocol, remote_protocol

from tests.protocol.test_captures import PCAPS, read_pdus

PROTOCOL = Path(events.__file__).resolve().parent

# libvirt's remoteEvents[] facts for the non-domain kinds: proc -> (kind, event ID, callbackID?)
OTHER_KINDS = {
    (REMOTE_PROGRAM, 315): (EventKind.NETWORK, 0, True),
    (REMOTE_PROGRAM, 362): (EventKind.CONNECT, 0, False),
    (REMOTE_PROGRAM, 370): (EventKind.STORAGE_POOL, 0, True),
    (REMOTE_PROGRAM, 373): (EventKind.STORAGE_POOL, 1, True),
    (REMOTE_PROGRAM, 376): (EventKind.NODE_DEVICE, 0, True),
    (REMOTE_PROGRAM, 377): (EventKind.NODE_DEVICE, 1, True),
    (REMOTE_PROGRAM, 382): (EventKind.SECRET, 0, True),
    (REMOTE_PROGRAM, 383): (EventKind.SECRET, 1, True),
    (QEMU_PROGRAM, 6): (EventKind.QEMU_MONITOR, 0, True),
}

FORM_IDS = [f"{f.name}" for f in EVENT_FORMS.values()]


def test_every_event_procedure_has_a_form() -> None:
    event_procs = {(p.program, p.number) for p in procedures.all_procedures() if p.is_event}
    assert set(EVENT_FORMS) == event_procs
    assert len(EVENT_FORMS) == 46 + 8 + 1  # domain forms, other REMOTE events, QEMU monitor


def test_every_msg_struct_of_the_registry_is_covered() -> None:
    """Every ``*_msg`` codec of the event programs is an event form's struct or the legacy
    body a callback struct wraps."""
    covered = {f.struct for f in EVENT_FORMS.values()}
    wrapped = {f.wraps for f in EVENT_FORMS.values() if f.wraps is not None}
    assert wrapped <= {f.msg_cls for f in EVENT_FORMS.values() if not f.callback}
    for module in (remote_protocol, qemu_protocol):
        msgs = {name for name in module.CODECS if name.endswith("_msg")}
        assert msgs <= covered, sorted(msgs - covered)


@pytest.mark.parametrize("module", ["events.py", "event_types.py"])
def test_no_struct_names_are_typed_in(module: str) -> None:
    """The wire mapping is derived: no ``remote_*_msg``/``qemu_*_msg`` string anywhere."""
    source = (PROTOCOL / module).read_text()
    strings = [
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1)
    ]
    assert strings
    offenders = [s for s in strings if re.search(r"(remote|qemu|lxc|admin)_\w+_msg", s)]
    assert offenders == []
    assert "_WIRE" not in source


def test_other_kinds_match_libvirt_facts() -> None:
    got = {
        key: (f.kind, int(f.event_id), f.callback)
        for key, f in EVENT_FORMS.items()
        if f.kind is not EventKind.DOMAIN
    }
    assert got == OTHER_KINDS


def test_domain_legacy_and_callback_forms_agree() -> None:
    domain = [f for f in EVENT_FORMS.values() if f.kind is EventKind.DOMAIN]
    by_id: dict[int, dict[bool, events.EventForm]] = {}
    for form in domain:
        assert form.callback not in by_id.get(int(form.event_id), {})
        by_id.setdefault(int(form.event_id), {})[form.callback] = form
    assert set(by_id) == set(range(30))
    for event_id, pair in by_id.items():
        assert True in pair, event_id  # every domain event has a callback form
        if False not in pair:
            assert event_id >= 16
            continue
        legacy, callback = pair[False], pair[True]
        assert legacy.cls is callback.cls
        assert callback.wraps is legacy.msg_cls  # the callback struct wraps the legacy one
        assert {f.name for f in legacy.fields} <= {f.name for f in callback.fields}
        extra = {f.name for f in callback.fields} - {f.name for f in legacy.fields}
        assert extra == ({"reason"} if event_id in (11, 12, 14) else set())
        for f in callback.fields:
            assert f.path == (f.wire if f.name in extra else f"msg.{f.wire}")
    assert {f.event_id: f.proc for f in domain if not f.callback} == events.LEGACY_PROC


def test_python_names_are_the_wire_names() -> None:
    renamed = {
        (f.wire, f.name) for form in EVENT_FORMS.values() for f in form.fields if f.wire != f.name
    }
    assert renamed == {
        ("srcPath", "src_path"),
        ("devAlias", "dev_alias"),
        ("authScheme", "auth_scheme"),
        ("oldSrcPath", "old_src_path"),
        ("newSrcPath", "new_src_path"),
        ("oldMAC", "old_mac"),
        ("newMAC", "new_mac"),
        ("channelName", "channel_name"),
    }


# --- round trips --------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_uuid = st.binary(min_size=16, max_size=16)
_u31 = st.integers(0, 2**31 - 1)  # fits every XDR integer type the events use
_param = st.one_of(
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.INT, v), _text,
              st.integers(-(2**31), 2**31 - 1)),
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.UINT, v), _text,
              st.integers(0, 2**32 - 1)),
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.LLONG, v), _text,
              st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.ULLONG, v), _text,
              st.integers(0, 2**64 - 1)),
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.DOUBLE, v), _text,
              st.floats(allow_nan=False)),
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.BOOLEAN, v), _text,
              st.booleans()),
    st.builds(lambda k, v: events.TypedParam(k, events.TypedParamType.STRING, v), _text, _text),
)  # fmt: skip
_BY_TYPE = {
    "int": _u31,
    "str": _text,
    "str | None": st.none() | _text,
    "DomainRef": st.builds(events.DomainRef, _text, _uuid, st.integers(-1, 2**31 - 1)),
    "NetworkRef": st.builds(events.NetworkRef, _text, _uuid),
    "StoragePoolRef": st.builds(events.StoragePoolRef, _text, _uuid),
    "NodeDeviceRef": st.builds(events.NodeDeviceRef, _text),
    "SecretRef": st.builds(events.SecretRef, _uuid, _u31, _text),
    "GraphicsAddress": st.builds(events.GraphicsAddress, _u31, _text, _text),
    "tuple[GraphicsIdentity, ...]": st.lists(
        st.builds(events.GraphicsIdentity, _text, _text), max_size=3
    ).map(tuple),
    "tuple[TypedParam, ...]": st.lists(_param, max_size=4).map(tuple),
}


def event_strategy(cls: type) -> st.SearchStrategy:
    return st.builds(cls, **{f.name: _BY_TYPE[f.type] for f in fields(cls)})


def _codec(form: events.EventForm):
    return procedures.lookup(form.program, 1, form.proc).msg


@pytest.mark.parametrize("form", list(EVENT_FORMS.values()), ids=FORM_IDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_form_roundtrips_bytes(form: events.EventForm, data) -> None:
    event = data.draw(event_strategy(form.cls))
    callback_id = data.draw(_u31) if form.callback else None
    proc, msg = events.to_message(event, callback_id)
    assert proc == form.proc
    codec = _codec(form)
    payload = codec.pack(msg)
    got_id, back = events.from_message(proc, codec.unpack(payload), form.program)
    assert got_id == callback_id
    # bytes -> typed event -> bytes is the identity
    assert codec.pack(events.to_message(back, got_id)[1]) == payload
    if form.kind is EventKind.DOMAIN and not form.callback and event.event_id in (11, 12, 14):
        assert back.reason == 0  # the legacy PM forms carry no reason
    else:
        assert back == event


def test_to_message_refuses_forms_that_do_not_exist() -> None:
    net = events.NetworkLifecycleEvent(events.NetworkRef("default", bytes(16)), 2, 0)
    with pytest.raises(ValueError, match="no legacy"):
        events.to_message(net, None)
    closed = events.ConnectionClosedEvent(1)
    assert events.to_message(closed, None)[0] == 362
    with pytest.raises(ValueError, match="no callback ID"):
        events.to_message(closed, 3)
    with pytest.raises(ValueError):
        events.from_message(6, object())  # REMOTE 6 is not an event


def test_qemu_monitor_event_uses_the_qemu_program() -> None:
    dom = events.DomainRef("vm1", bytes(range(16)), 3)
    event = events.QemuMonitorEvent(dom, "SHUTDOWN", 1700000000, 123456, '{"guest":true}')
    form = events.form_of(event, 5)
    assert (form.program, form.proc) == (QEMU_PROGRAM, 6)
    proc, msg = events.to_message(event, 5)
    assert isinstance(msg, qemu_protocol.QemuDomainMonitorEventMsg)
    assert events.from_message(proc, msg, QEMU_PROGRAM) == (5, event)
    assert events.callback_args(event) == ("SHUTDOWN", 1700000000, 123456, '{"guest":true}')


def test_callback_args_of_every_kind() -> None:
    net = events.NetworkRef("default", bytes(16))
    pool = events.StoragePoolRef("images", bytes(16))
    dev = events.NodeDeviceRef("pci_0000_00_02_0")
    secret = events.SecretRef(bytes(16), 2, "ceph-client")
    cases = [
        (events.NetworkLifecycleEvent(net, 2, 0), (2, 0)),
        (events.StoragePoolLifecycleEvent(pool, 4, 0), (4, 0)),
        (events.StoragePoolRefreshEvent(pool), ()),
        (events.NodeDeviceLifecycleEvent(dev, 0, 0), (0, 0)),
        (events.NodeDeviceUpdateEvent(dev), ()),
        (events.SecretLifecycleEvent(secret, 1, 0), (1, 0)),
        (events.SecretValueChangedEvent(secret), ()),
        (events.ConnectionClosedEvent(2), (2,)),
    ]
    for event, args in cases:
        assert events.callback_args(event) == args, event


def test_event_state_keeps_kinds_apart() -> None:
    """Network and domain LIFECYCLE share event ID 0; a callback only sees its own kind, and
    node devices filter by name."""
    runs: list = []
    state = EventState(runs.append)
    got: dict[str, list] = {"domain": [], "network": [], "dev": []}
    state.register(0, lambda e, c: got["domain"].append(e), remote_id=1)
    state.register(0, lambda e, c: got["network"].append(e), remote_id=1, kind="network")
    state.register(
        1, lambda e, c: got["dev"].append(e), remote_id=1, kind="node_device", key="pci_1"
    )
    dom_event = events.LifecycleEvent(events.DomainRef("vm", bytes(16), 1), 2, 0)
    net_event = events.NetworkLifecycleEvent(events.NetworkRef("default", bytes(16)), 2, 0)
    dev_events = [events.NodeDeviceUpdateEvent(events.NodeDeviceRef(n)) for n in ("pci_1", "x")]
    for event in (dom_event, net_event, *dev_events):
        state.queue(event, 1)
    runs.pop()()
    assert got == {"domain": [dom_event], "network": [net_event], "dev": dev_events[:1]}
    assert state.count(0) == 1 and state.count(0, kind="network") == 1
    assert state.remote_id_for(1, "pci_1", kind="node_device") == 1
    assert state.remote_id_for(1, "pci_1") is None
    assert event_state.ObjectEvent  # the protocol the typed events satisfy


# --- captures --------------------------------------------------------------------------------


@pytest.mark.parametrize("pcap", PCAPS, ids=lambda p: p.stem)
def test_captured_event_messages_roundtrip(pcap: Path) -> None:
    for pdu in read_pdus(pcap):
        h = pdu.frame.header
        form = EVENT_FORMS.get((h.prog, h.proc))
        if h.type != MessageType.MESSAGE or form is None:
            continue
        codec = _codec(form)
        callback_id, event = events.from_message(h.proc, codec.unpack(pdu.frame.payload), h.prog)
        assert type(event) is form.cls
        proc, msg = events.to_message(event, callback_id)
        assert proc == h.proc
        assert codec.pack(msg) == pdu.frame.payload
