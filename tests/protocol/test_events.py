"""Typed domain events: both wire forms, the procedure tables, spec §3.5 frames byte for
byte, and virsh's rendering."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from virtwire.protocol import events as ev
from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.framing import FrameDecoder, Header, MessageStatus, MessageType, encode_frame
from virtwire.tools.virsh_format import format_event

UUID_VM1 = bytes.fromhex("00112233445566778899aabbccddeeff")
VM1 = ev.DomainRef("vm1", UUID_VM1, 3)
T2 = ev.DomainRef("t2", bytes.fromhex("11111111222233334444555555555555"), -1)

LOCAL = ev.GraphicsAddress(0, "127.0.0.1", "5900")
REMOTE = ev.GraphicsAddress(1, "::1", "40000")
PARAMS = (
    ev.TypedParam("cputune.vcpu0", ev.TypedParamType.STRING, "0-3"),
    ev.TypedParam("cputune.shares", ev.TypedParamType.ULLONG, 1024),
    ev.TypedParam("blkdeviotune.total_bytes_sec", ev.TypedParamType.LLONG, -1),
    ev.TypedParam("a.int", ev.TypedParamType.INT, -7),
    ev.TypedParam("a.uint", ev.TypedParamType.UINT, 7),
    ev.TypedParam("a.double", ev.TypedParamType.DOUBLE, 0.5),
    ev.TypedParam("a.bool", ev.TypedParamType.BOOLEAN, True),
)

SAMPLES: list[ev.DomainEvent] = [
    ev.LifecycleEvent(VM1, 2, 0),
    ev.RebootEvent(VM1),
    ev.RTCChangeEvent(VM1, -3600),
    ev.WatchdogEvent(VM1, 1),
    ev.IOErrorEvent(VM1, "/var/lib/x.img", "virtio-disk0", 1),
    ev.GraphicsEvent(VM1, 0, LOCAL, REMOTE, "vnc", (ev.GraphicsIdentity("x509dname", "CN=me"),)),
    ev.IOErrorReasonEvent(VM1, "/var/lib/x.img", "virtio-disk0", 2, "enospc"),
    ev.ControlErrorEvent(VM1),
    ev.BlockJobEvent(VM1, "/var/lib/x.img", 1, 0),
    ev.DiskChangeEvent(VM1, "/a.iso", None, "ide0-0-0", 1),
    ev.TrayChangeEvent(VM1, "ide0-1-0", 0),
    ev.PMWakeupEvent(VM1, 0),
    ev.PMSuspendEvent(VM1, 0),
    ev.BalloonChangeEvent(VM1, 1048576),
    ev.PMSuspendDiskEvent(VM1, 0),
    ev.DeviceRemovedEvent(VM1, "dimm0"),
    ev.BlockJob2Event(VM1, "vda", 2, 3),
    ev.TunableEvent(VM1, PARAMS),
    ev.AgentLifecycleEvent(VM1, 1, 2),
    ev.DeviceAddedEvent(VM1, "memdimm0"),
    ev.MigrationIterationEvent(VM1, 4),
    ev.JobCompletedEvent(VM1, PARAMS[:2]),
    ev.DeviceRemovalFailedEvent(VM1, "dimm1"),
    ev.MetadataChangeEvent(VM1, 2, "http://example.org/ns"),
    ev.BlockThresholdEvent(VM1, "vda", None, 1 << 30, 4096),
    ev.MemoryFailureEvent(VM1, 1, 2, 3),
    ev.MemoryDeviceSizeChangeEvent(VM1, "virtiomem0", 1048576),
    ev.NICMACChangeEvent(VM1, "net0", "52:54:00:00:00:01", "52:54:00:00:00:02"),
    ev.VcpuRemovedEvent(VM1, 3),
    ev.ChannelLifecycleEvent(VM1, "org.qemu.guest_agent.0", 1, 1),
]

# spec §3.4
LEGACY = {0: 107, 1: 169, 2: 170, 3: 171, 4: 172, 5: 173, 6: 195, 7: 224, 8: 241, 9: 248,
          10: 268, 11: 269, 12: 270, 13: 276, 14: 292, 15: 311}  # fmt: skip
CALLBACK = {0: 318, 1: 319, 2: 320, 3: 321, 4: 322, 5: 323, 6: 324, 7: 325, 8: 326, 9: 327,
            10: 328, 11: 329, 12: 330, 13: 331, 14: 332, 15: 333, 16: 339, 17: 346, 18: 348,
            19: 354, 20: 359, 21: 363, 22: 367, 23: 379, 24: 385, 25: 423, 26: 438, 27: 453,
            28: 454, 29: 455}  # fmt: skip


def _wire_roundtrip(proc: int, msg) -> object:
    """Pack with the registry codec for ``proc``, unpack again, and return the decoded msg."""
    spec = procedures.lookup(REMOTE_PROGRAM, 1, proc)
    assert spec is not None and spec.msg is not None
    data = spec.msg.pack(msg)
    decoded = spec.msg.unpack(data)
    assert decoded == msg
    assert spec.msg.pack(decoded) == data
    return decoded


def test_samples_cover_every_event_id() -> None:
    assert [type(s).event_id for s in SAMPLES] == list(ev.DomainEventID)
    assert set(ev.EVENT_CLASSES) == set(ev.DomainEventID)
    assert len(ev.DomainEventID) == 30


def test_tables_match_spec() -> None:
    assert {int(k): v for k, v in ev.LEGACY_PROC.items()} == LEGACY
    assert {int(k): v for k, v in ev.CALLBACK_PROC.items()} == CALLBACK
    for eid, proc in [*LEGACY.items(), *CALLBACK.items()]:
        assert ev.EVENT_ID_OF_PROC[proc] == eid
    assert len(ev.EVENT_ID_OF_PROC) == 46


def test_event_procedures_are_named_events() -> None:
    for proc in ev.EVENT_ID_OF_PROC:
        name = procedures.name_of(REMOTE_PROGRAM, 1, proc)
        assert name.startswith("REMOTE_PROC_DOMAIN_EVENT_"), name
        assert procedures.lookup(REMOTE_PROGRAM, 1, proc).msg is not None


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_callback_form_roundtrip(event: ev.DomainEvent) -> None:
    proc, msg = ev.to_message(event, 7)
    assert proc == CALLBACK[type(event).event_id]
    decoded = _wire_roundtrip(proc, msg)
    assert ev.from_message(proc, decoded) == (7, event)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_legacy_form_roundtrip(event: ev.DomainEvent) -> None:
    eid = type(event).event_id
    if eid not in LEGACY:
        with pytest.raises(ValueError, match="no legacy"):
            ev.to_message(event, None)
        return
    proc, msg = ev.to_message(event, None)
    assert proc == LEGACY[eid]
    assert not hasattr(msg, "callbackID")
    decoded = _wire_roundtrip(proc, msg)
    callback_id, back = ev.from_message(proc, decoded)
    assert callback_id is None
    assert back == event  # samples use reason 0 for the PM events


def test_pm_reason_travels_only_in_callback_form() -> None:
    event = ev.PMSuspendEvent(VM1, reason=5)
    proc, msg = ev.to_message(event, 1)
    assert (msg.callbackID, msg.reason) == (1, 5)
    assert ev.from_message(proc, _wire_roundtrip(proc, msg)) == (1, event)
    proc, msg = ev.to_message(event, None)
    assert ev.from_message(proc, msg) == (None, ev.PMSuspendEvent(VM1, reason=0))


def test_from_message_rejects_non_event_procedure() -> None:
    with pytest.raises(ValueError):
        ev.from_message(1, object())


def test_events_are_frozen_and_slotted() -> None:
    event = ev.DeviceAddedEvent(VM1, "memdimm0")
    with pytest.raises(AttributeError):
        event.dev_alias = "x"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    assert [f.name for f in fields(ev.LifecycleEvent)] == ["dom", "event", "detail"]
    assert [f.name for f in fields(ev.MemoryDeviceSizeChangeEvent)] == ["dom", "alias", "size"]


# --- spec §3.5 frames ------------------------------------------------------------------------


def _event_frame(event: ev.DomainEvent, callback_id: int | None) -> bytes:
    proc, msg = ev.to_message(event, callback_id)
    spec = procedures.lookup(REMOTE_PROGRAM, 1, proc)
    header = Header(REMOTE_PROGRAM, 1, proc, MessageType.MESSAGE, 1, MessageStatus.OK)
    return encode_frame(header, spec.msg.pack(msg))


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


UUID_HEX = "00112233 44556677 8899aabb ccddeeff"


def test_device_added_frame() -> None:
    expected = _hex(
        "00000048 20008086 00000001 00000162 00000002 00000001 00000000"
        "00000001 00000003 766d3100 00112233 44556677 8899aabb ccddeeff 00000003"
        "00000008 6d656d64 696d6d30"
    )
    assert len(expected) == 72
    assert _event_frame(ev.DeviceAddedEvent(VM1, "memdimm0"), 1) == expected


def test_device_removed_frame() -> None:
    expected = _hex(
        "00000048 20008086 00000001 0000014d 00000002 00000001 00000000"
        f"00000002 00000003 766d3100 {UUID_HEX} 00000003 00000005 64696d6d 30000000"
    )
    assert _event_frame(ev.DeviceRemovedEvent(VM1, "dimm0"), 2) == expected


def test_memory_device_size_change_frame() -> None:
    expected = _hex(
        "00000054 20008086 00000001 000001b6 00000002 00000001 00000000"
        f"00000004 00000003 766d3100 {UUID_HEX} 00000003 0000000a 76697274"
        "696f6d65 6d300000 00000000 00100000"
    )
    assert _event_frame(ev.MemoryDeviceSizeChangeEvent(VM1, "virtiomem0", 1048576), 4) == expected


CAPTURED_LIFECYCLE = _hex(
    "00000044 20008086 00000001 0000013e 00000002 00000001 00000000"
    "00000000 00000002 74320000 11111111 22223333 44445555 55555555 ffffffff"
    "00000000 00000000"
)


def test_captured_lifecycle_frame() -> None:
    (frame,) = FrameDecoder().feed(CAPTURED_LIFECYCLE)
    assert frame.header.proc == 318
    spec = procedures.lookup(REMOTE_PROGRAM, 1, frame.header.proc)
    callback_id, event = ev.from_message(frame.header.proc, spec.msg.unpack(frame.payload))
    assert callback_id == 0
    assert event == ev.LifecycleEvent(T2, ev.DomainEventType.DEFINED, 0)
    assert ev.detail_name(event.event, event.detail) == "ADDED"
    assert _event_frame(event, 0) == CAPTURED_LIFECYCLE


# --- enums and virsh rendering -------------------------------------------------------------


def test_lifecycle_enums() -> None:
    assert ev.DomainEventType.CRASHED == 8
    assert ev.DETAIL_ENUMS[ev.DomainEventType.STOPPED].RECREATED == 7
    assert ev.DETAIL_ENUMS[ev.DomainEventType.SUSPENDED].GUEST_SHUTDOWN == 9
    assert ev.DETAIL_ENUMS[ev.DomainEventType.CRASHED].CRASHLOADED == 1
    assert ev.detail_name(2, 0) == "BOOTED"
    assert ev.detail_name(2, 99) == "99"
    assert ev.detail_name(42, 0) == "0"


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (ev.LifecycleEvent(VM1, 2, 0), "event 'lifecycle' for domain 'vm1': Started Booted"),
        (ev.LifecycleEvent(VM1, 5, 1), "event 'lifecycle' for domain 'vm1': Stopped Destroyed"),
        (ev.LifecycleEvent(VM1, 0, 0), "event 'lifecycle' for domain 'vm1': Defined Added"),
        (ev.LifecycleEvent(VM1, 1, 0), "event 'lifecycle' for domain 'vm1': Undefined Removed"),
        (
            ev.LifecycleEvent(VM1, 6, 1),
            "event 'lifecycle' for domain 'vm1': Shutdown Finished after guest request",
        ),
        (ev.LifecycleEvent(VM1, 2, 5), "event 'lifecycle' for domain 'vm1': Started unknown"),
        (ev.RebootEvent(VM1), "event 'reboot' for domain 'vm1'"),
        (ev.DeviceAddedEvent(VM1, "memdimm0"), "event 'device-added' for domain 'vm1': memdimm0"),
        (ev.DeviceRemovedEvent(VM1, "dimm0"), "event 'device-removed' for domain 'vm1': dimm0"),
        (
            ev.DeviceRemovalFailedEvent(VM1, "dimm1"),
            "event 'device-removal-failed' for domain 'vm1': dimm1",
        ),
        (
            ev.MemoryDeviceSizeChangeEvent(VM1, "virtiomem0", 1048576),
            "event 'memory-device-size-change' for domain 'vm1':\nalias: virtiomem0\nsize: 1048576",
        ),
        (
            ev.BalloonChangeEvent(VM1, 524288),
            "event 'balloon-change' for domain 'vm1': 524288KiB",
        ),
        (ev.ControlErrorEvent(VM1), "event 'control-error' for domain 'vm1'"),
        (
            ev.AgentLifecycleEvent(VM1, 1, 2),
            "event 'agent-lifecycle' for domain 'vm1': state: 'connected' reason: 'channel event'",
        ),
        (
            ev.MetadataChangeEvent(VM1, 0, None),
            "event 'metadata-change' for domain 'vm1': type description, uri <null>",
        ),
        (
            ev.MetadataChangeEvent(VM1, 2, "http://x/"),
            "event 'metadata-change' for domain 'vm1': type element, uri http://x/",
        ),
        (
            ev.TunableEvent(VM1, PARAMS[:2]),
            "event 'tunable' for domain 'vm1':\n\tcputune.vcpu0: 0-3\n\tcputune.shares: 1024",
        ),
        (ev.PMSuspendEvent(VM1), "event 'pm-suspend' for domain 'vm1'"),
        (ev.RTCChangeEvent(VM1, -5), "event 'rtc-change' for domain 'vm1': -5"),
        (ev.WatchdogEvent(VM1, 6), "event 'watchdog' for domain 'vm1': inject-nmi"),
        (
            ev.IOErrorReasonEvent(VM1, "/x", "d0", 1, "enospc"),
            "event 'io-error-reason' for domain 'vm1': /x (d0) pause due to enospc",
        ),
        (
            ev.BlockJobEvent(VM1, "/x", 2, 0),
            "event 'block-job' for domain 'vm1': Block Copy for /x completed",
        ),
        (
            ev.TrayChangeEvent(VM1, "ide0-1-0", 0),
            "event 'tray-change' for domain 'vm1' disk ide0-1-0: opened",
        ),
    ],
)
def test_format_virsh_event(event: ev.DomainEvent, text: str) -> None:
    assert virsh_text(event) == text


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_format_virsh_event_never_fails(event: ev.DomainEvent) -> None:
    text = virsh_text(event)
    assert "for domain 'vm1'" in text


def virsh_text(event: ev.DomainEvent) -> str:
    """An event as ``virsh event`` prints it: libvirt-python's callback arguments rendered by
    the CLI's formatter, as the demo does."""
    args = ev.callback_args(event)
    return format_event(event.event_id, event.dom.name, *args).rstrip("\n")


def test_typed_params_from_plain_values() -> None:
    got = ev.typed_params({"a": True, "b": 5, "c": -5, "d": 1.5, "e": "s"})
    assert [p.type for p in got] == [
        ev.TypedParamType.BOOLEAN,
        ev.TypedParamType.ULLONG,
        ev.TypedParamType.LLONG,
        ev.TypedParamType.DOUBLE,
        ev.TypedParamType.STRING,
    ]
    with pytest.raises(TypeError):
        ev.typed_params({"x": object()})


_doms = st.builds(
    ev.DomainRef,
    name=st.text(max_size=20),
    uuid=st.binary(min_size=16, max_size=16),
    id=st.integers(-1, 2**31 - 1),
)


@settings(max_examples=60, deadline=None)
@given(
    dom=_doms,
    alias=st.text(max_size=30),
    event=st.integers(0, 8),
    detail=st.integers(0, 9),
    callback_id=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
)
def test_roundtrip_property(dom, alias, event, detail, callback_id) -> None:
    for sample in (
        ev.LifecycleEvent(dom, event, detail),
        ev.DeviceRemovedEvent(dom, alias),
        ev.DeviceAddedEvent(dom, alias),
    ):
        if callback_id is None and type(sample).event_id not in LEGACY:
            continue
        proc, msg = ev.to_message(sample, callback_id)
        decoded = _wire_roundtrip(proc, msg)
        assert ev.from_message(proc, decoded) == (callback_id, sample)
