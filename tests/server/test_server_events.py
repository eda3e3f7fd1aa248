"""Event registration rules (spec §5.2), relay frames, cleanup and the bounded send queue."""

from __future__ import annotations

import logging
import time

import pytest
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.framing import MessageStatus, MessageType
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.wire import DIMM_XML, TEST_DOM, TEST_UUID, hotplug_domain_xml


def reg_args(event_id, dom=None):
    return rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=event_id, dom=dom)


def test_device_added_dimm_relayed_as_proc_354_serial_1(daemon_thread):
    listener = daemon_thread.tcp()
    listener.prologue("qemu:///session")
    cb = listener.call(316, reg_args(19)).callbackID
    actor = daemon_thread.unix()
    actor.prologue("qemu:///session")
    dom = actor.call(11, rp.RemoteDomainDefineXmlArgs(xml=hotplug_domain_xml("hp1"))).dom
    dom = actor.call(196, rp.RemoteDomainCreateWithFlagsArgs(dom=dom, flags=0)).dom
    actor.call(160, rp.RemoteDomainAttachDeviceFlagsArgs(dom=dom, xml=DIMM_XML, flags=1))

    frame = listener.event(354)
    h = frame.header
    assert (h.prog, h.vers, h.type, h.serial, h.status) == (
        REMOTE_PROGRAM,
        1,
        MessageType.MESSAGE,
        1,
        MessageStatus.OK,
    )
    msg = rp.unpack_remote_domain_event_callback_device_added_msg(frame.payload)
    assert msg.callbackID == cb
    assert msg.devAlias == "memdimm0"
    assert (msg.dom.name, msg.dom.uuid, msg.dom.id) == ("hp1", dom.uuid, dom.id)
    info = actor.call(16, rp.RemoteDomainGetInfoArgs(dom=dom))
    assert info.memory == 1048576 + 524288

    # detach: DEVICE_REMOVED (15) with the plain alias
    cb_removed = listener.call(316, reg_args(15)).callbackID
    actor.call(161, rp.RemoteDomainDetachDeviceFlagsArgs(dom=dom, xml=DIMM_XML, flags=1))
    msg = rp.unpack_remote_domain_event_callback_device_removed_msg(listener.event(333).payload)
    assert (msg.callbackID, msg.msg.devAlias) == (cb_removed, "dimm0")


def test_lifecycle_callback_and_legacy_forms(daemon_thread):
    cb_client = daemon_thread.tcp()
    cb_client.prologue()
    cb_id = cb_client.call(316, reg_args(0)).callbackID
    legacy = daemon_thread.tcp()
    legacy.prologue()
    reply = legacy.call_raw(105)
    assert reply.payload == b"\x00\x00\x00\x00"  # cb_registered = 0, as libvirtd sends
    actor = daemon_thread.unix()
    actor.prologue()
    actor.call(34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))

    msg = rp.unpack_remote_domain_event_callback_lifecycle_msg(cb_client.event(318).payload)
    assert (msg.callbackID, msg.msg.event, msg.msg.detail) == (cb_id, 3, 0)
    assert msg.msg.dom.uuid == TEST_UUID
    frame = legacy.event(107)
    assert frame.header.serial == 1
    old = rp.unpack_remote_domain_event_lifecycle_msg(frame.payload)
    assert (old.dom.name, old.event, old.detail) == ("test", 3, 0)


def test_callback_ids_are_driver_wide_from_zero(daemon_thread):
    a = daemon_thread.tcp()
    a.prologue("qemu:///session")
    b = daemon_thread.tcp()
    b.prologue("qemu:///session")
    ids = [a.call(316, reg_args(e)).callbackID for e in (0, 1, 2)]
    ids += [b.call(316, reg_args(e)).callbackID for e in (0, 1)]
    assert ids == [0, 1, 2, 3, 4]


def test_duplicate_registration_legacy_and_callback_collide(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    c.call(105)
    for proc, args in (
        (167, rp.RemoteConnectDomainEventRegisterAnyArgs(eventID=0)),
        (316, reg_args(0)),
    ):
        err = c.call_error(proc, args)
        assert (err.code, err.domain) == (8, 0)
        assert err.message == "invalid argument: event callback already tracked"
    # a domain filter is a different registration; the same filter twice is not
    c.call(316, reg_args(0, TEST_DOM))
    err = c.call_error(316, reg_args(0, TEST_DOM))
    assert err.code == 8
    # another client may register the same event
    other = daemon_thread.tcp()
    other.prologue()
    other.call(316, reg_args(0))


@pytest.mark.parametrize("event_id", [16, 19, -1, 99])
def test_legacy_register_any_only_takes_ids_0_to_15(daemon_thread, event_id):
    c = daemon_thread.tcp()
    c.prologue()
    err = c.call_error(167, rp.RemoteConnectDomainEventRegisterAnyArgs(eventID=event_id))
    assert (err.code, err.domain) == (1, 7)
    assert err.message == f"internal error: unsupported event ID {event_id}"


def test_legacy_register_any_and_deregister(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    c.call(167, rp.RemoteConnectDomainEventRegisterAnyArgs(eventID=15))
    c.call(168, rp.RemoteConnectDomainEventDeregisterAnyArgs(eventID=15))
    err = c.call_error(168, rp.RemoteConnectDomainEventDeregisterAnyArgs(eventID=15))
    assert err.message == "internal error: domain event 15 not registered"
    err = c.call_error(106)
    assert err.message == "internal error: domain event 0 not registered"
    c.call(105)
    assert c.call_raw(106).payload == b"\x00\x00\x00\x00"


@pytest.mark.parametrize("event_id", [30, -1, 1000])
def test_callback_register_unsupported_id(daemon_thread, event_id):
    c = daemon_thread.tcp()
    c.prologue()
    err = c.call_error(316, reg_args(event_id))
    assert err.message == f"internal error: unsupported event ID {event_id}"


def test_callback_deregister_rules(daemon_thread):
    a = daemon_thread.tcp()
    a.prologue()
    b = daemon_thread.tcp()
    b.prologue()
    cb = a.call(316, reg_args(0)).callbackID
    err = b.call_error(317, rp.RemoteConnectDomainEventCallbackDeregisterAnyArgs(callbackID=cb))
    assert (err.code, err.domain) == (1, 7)
    assert err.message == f"internal error: domain event callback {cb} not registered"
    a.call(317, rp.RemoteConnectDomainEventCallbackDeregisterAnyArgs(callbackID=cb))
    err = a.call_error(317, rp.RemoteConnectDomainEventCallbackDeregisterAnyArgs(callbackID=cb))
    assert "not registered" in err.message
    # after deregistering, no more events
    actor = daemon_thread.unix()
    actor.prologue()
    actor.call(34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))
    actor.call(28, rp.RemoteDomainResumeArgs(dom=TEST_DOM))
    a.call(3)
    with pytest.raises(TimeoutError):
        a.event(timeout=0.3)


def test_domain_filter(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    other = rp.RemoteNonnullDomain(name="zzz", uuid=b"\x11" * 16, id=5)
    c.call(316, reg_args(0, other))
    cb = c.call(316, reg_args(0, TEST_DOM)).callbackID
    c.call(34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))
    msg = rp.unpack_remote_domain_event_callback_lifecycle_msg(c.event(318).payload)
    assert msg.callbackID == cb
    c.call(3)
    with pytest.raises(TimeoutError):
        c.event(timeout=0.3)


def driver_registrations(daemon_thread, uri):
    def count():
        drv = daemon_thread.daemon.registry.open(uri)
        try:
            return len(drv.events)
        finally:
            daemon_thread.daemon.registry.close(drv)

    return daemon_thread.call_in_loop(count)


def test_disconnect_removes_registrations(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue("qemu:///session")
    for event_id in (0, 15, 19):
        c.call(316, reg_args(event_id))
    assert driver_registrations(daemon_thread, "qemu:///session") == 3
    c.close()
    deadline = time.monotonic() + 5
    while driver_registrations(daemon_thread, "qemu:///session") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert driver_registrations(daemon_thread, "qemu:///session") == 0
    assert daemon_thread.session_count() == 0


def test_client_that_stops_reading_is_disconnected(make_daemon, caplog):
    caplog.set_level(logging.WARNING, logger="virtwire.server")
    d = make_daemon(max_client_queue=20)
    slow = d.unix()  # unix socket buffers are small: back-pressure comes fast
    slow.prologue()
    slow.call(316, reg_args(0))
    actor = d.tcp()
    actor.prologue()
    # pipeline many suspend/resume calls; each one makes an event for the slow client
    suspend = rp.RemoteDomainSuspendArgs(dom=TEST_DOM).pack()
    resume = rp.RemoteDomainResumeArgs(dom=TEST_DOM).pack()
    deadline = time.monotonic() + 20
    while d.session_count() == 2 and time.monotonic() < deadline:
        for _ in range(200):
            actor.send_call(34, suspend)
            actor.send_call(28, resume)
        last = actor.send_call(3)
        actor.reply_to(last, timeout=10)
        actor.frames.clear()
    assert d.session_count() == 1, "the slow client should have been disconnected"
    assert any("max_client_queue" in r.getMessage() for r in caplog.records)
    # the well-behaved client keeps working
    assert actor.call(3).type == "TEST"


def test_events_of_a_call_go_out_before_its_reply(daemon_thread):
    """As libvirtd usually does: the zero-delay flush runs before the deferred reply."""
    c = daemon_thread.tcp()
    c.prologue()
    c.call(316, reg_args(0))
    serial = c.send_call(34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM).pack())
    first = c.next_frame(
        pred=lambda f: f.header.type == MessageType.MESSAGE or f.header.serial == serial
    )
    assert (first.header.type, first.header.proc) == (MessageType.MESSAGE, 318)
    assert c.reply_to(serial).header.status == MessageStatus.OK
    # a call that queues nothing is answered at once, in order
    assert c.call(3).type == "TEST"
