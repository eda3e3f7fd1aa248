"""EventRelay in isolation: spec vectors byte for byte, legacy vs callback form, cleanup."""

from __future__ import annotations

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.event_state import EventState
from virtwire.protocol.events import DeviceAddedEvent, DeviceRemovedEvent, DomainRef, LifecycleEvent
from virtwire.server.relay import EventRelay

VM1 = DomainRef("vm1", bytes.fromhex("00112233445566778899aabbccddeeff"), 3)


class Sink:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send_event(self, data: bytes) -> None:
        self.frames.append(data)


@pytest.fixture
def state():
    pending = []
    st = EventState(pending.append)
    st.run = lambda: [pending.pop(0)() for _ in range(len(pending))]  # type: ignore[attr-defined]
    return st


def test_device_added_frame_matches_spec_vector(state):
    sink = Sink()
    relay = EventRelay(sink, object(), state)
    state.register(0, lambda e, c: None)  # callback ID 0 belongs to someone else
    assert relay.register_callback_any(19, None) == 1
    state.queue(DeviceAddedEvent(VM1, "memdimm0"))
    state.run()
    assert sink.frames == [
        bytes.fromhex(
            "00000048 20008086 00000001 00000162 00000002 00000001 00000000"
            "00000001 00000003 766d3100 00112233 44556677 8899aabb ccddeeff 00000003"
            "00000008 6d656d64 696d6d30".replace(" ", "")
        )
    ]


def test_device_removed_callback_vector(state):
    sink = Sink()
    relay = EventRelay(sink, object(), state)
    state.register(0, lambda e, c: None)
    state.register(0, lambda e, c: None)
    assert relay.register_callback_any(15, None) == 2
    state.queue(DeviceRemovedEvent(VM1, "dimm0"))
    state.run()
    assert sink.frames[0].hex() == (
        "00000048200080860000000100000" + "14d" + "0000000200000001000000000000000200000003766d3100"
        "00112233445566778899aabbccddeeff0000000300000005" + "64696d6d30000000"
    )


def test_legacy_registration_sends_legacy_message(state):
    sink = Sink()
    relay = EventRelay(sink, object(), state)
    relay.register(0, None, legacy=True)
    state.queue(LifecycleEvent(VM1, 0, 0))
    state.run()
    frame = sink.frames[0]
    assert int.from_bytes(frame[12:16], "big") == 107  # REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE
    assert int.from_bytes(frame[20:24], "big") == 1  # serial 1


def test_duplicate_and_close(state):
    owner = object()
    relay = EventRelay(Sink(), owner, state)
    relay.register_callback_any(0, None)
    with pytest.raises(LibvirtError, match="already tracked"):
        relay.register_legacy_any(0)
    relay.register_callback_any(0, VM1.uuid)
    other = EventRelay(Sink(), object(), state)
    other.register_callback_any(0, None)
    assert len(state) == 3
    relay.close()
    assert len(state) == 1 and relay.registrations == {}


def test_other_kinds_are_relayed_with_their_filter(state):
    from virtwire.protocol import events as ev

    sink = Sink()
    relay = EventRelay(sink, object(), state)
    net = ev.NetworkRef("default", bytes(range(16)))
    all_id = relay.register_other("network", 0)
    only_other = relay.register_other("network", 0, key=bytes(16))
    dev_id = relay.register_other("nodedev", 0, key="scsi_host12")
    state.queue(ev.NetworkLifecycleEvent(net, 3, 0))
    state.queue(ev.NodeDeviceLifecycleEvent(ev.NodeDeviceRef("scsi_host12"), 0, 0))
    state.queue(ev.NodeDeviceLifecycleEvent(ev.NodeDeviceRef("other"), 0, 0))
    state.run()
    from virtwire.protocol.procedures import resolve

    procs = [int.from_bytes(f[12:16], "big") for f in sink.frames]
    ids = [int.from_bytes(f[28:32], "big") for f in sink.frames]  # callbackID leads the body
    assert procs == [
        resolve("NETWORK_EVENT_LIFECYCLE").number,
        resolve("NODE_DEVICE_EVENT_LIFECYCLE").number,
    ]
    assert ids == [all_id, dev_id] and only_other not in ids
    relay.deregister_other("network", all_id, "network")
    with pytest.raises(LibvirtError, match="network event callback"):
        relay.deregister_other("network", dev_id, "network")
