"""The libvirt-python drop-in against the fake daemon (run on its own loop thread): error
reporting, callback delivery through virEventRunDefaultImpl, signatures, close callbacks."""

from __future__ import annotations

import threading

import pytest
from virtwire.client import libvirt
from virtwire.protocol.events import DeviceAddedEvent

from tests.client.fake_daemon import TEST_DOM
from tests.client.waiting import wait_until as _wait


def test_basic_calls_and_shapes(fake):
    conn = libvirt.open(fake.daemon.uri)
    try:
        assert conn.getLibVersion() == 9000000
        assert conn.getHostname() == "fakehost"
        assert conn.getURI() == fake.daemon.uri
        dom = conn.lookupByName("test")
        assert isinstance(dom, libvirt.virDomain)
        assert (dom.name(), dom.ID(), dom.UUIDString()) == (
            "test",
            1,
            "6695eb01-f6a4-8304-79aa-97f2502e193f",
        )
        assert dom.UUID() == TEST_DOM.uuid
        assert dom.connect() is conn
        assert conn.isAlive() == 1
    finally:
        assert conn.close() == 1  # `dom` still references it, as in libvirt
    assert conn.isAlive() == 0
    assert libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED == 19
    assert libvirt.VIR_ERR_NO_DOMAIN == 42 and libvirt.VIR_FROM_TEST == 12


def test_error_default_handler_and_accessors(fake, capsys):
    with libvirt.open(fake.daemon.uri) as conn, pytest.raises(libvirt.libvirtError) as info:
        conn.lookupByName("nosuch")
    err = info.value
    assert str(err) == "Domain not found"
    assert err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    assert err.get_error_domain() == libvirt.VIR_FROM_TEST
    assert err.get_error_message() == "Domain not found"
    assert err.get_error_level() == 2
    assert (err.get_str1(), err.get_str2(), err.get_str3()) == ("Domain not found", None, None)
    assert (err.get_int1(), err.get_int2()) == (-1, -1)
    assert err.err == (42, 12, "Domain not found", 2, "Domain not found", None, None, -1, -1)
    assert capsys.readouterr().err == "libvirt: Test Driver error : Domain not found\n"
    assert libvirt.virGetLastErrorCode() == 42


def test_registered_error_handler_gets_the_tuple(fake, capsys):
    seen = []
    assert libvirt.registerErrorHandler(lambda ctx, err: seen.append((ctx, err)), "ctx") == 1
    try:
        with libvirt.open(fake.daemon.uri) as conn, pytest.raises(libvirt.libvirtError):
            conn.lookupByName("nosuch")
    finally:
        libvirt.registerErrorHandler(None, None)
    assert seen == [
        ("ctx", (42, 12, "Domain not found", 2, "Domain not found", None, None, -1, -1))
    ]
    assert capsys.readouterr().err == ""


def test_open_failure_raises_libvirt_error(tmp_path, capsys):
    with pytest.raises(libvirt.libvirtError) as info:
        libvirt.open(f"test+unix:///default?socket={tmp_path}/none")
    assert info.value.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert info.value.get_error_domain() == libvirt.VIR_FROM_RPC
    assert "libvirt: XML-RPC error : Failed to connect socket" in capsys.readouterr().err


def test_event_registration_needs_an_event_impl(fake, monkeypatch):
    monkeypatch.setattr(libvirt._IMPL, "registered", False)
    with libvirt.open(fake.daemon.uri) as conn, pytest.raises(libvirt.libvirtError) as info:
        conn.domainEventRegisterAny(None, 0, lambda *a: None, None)
    assert (info.value.get_error_code(), info.value.get_error_domain()) == (1, 0)
    assert str(info.value) == "internal error: could not initialize domain event timer"


def test_callbacks_run_in_the_apps_event_loop_thread(fake, event_loop_thread):
    conn = libvirt.open(fake.daemon.uri)
    got: list = []

    def lifecycle(c, dom, event, detail, opaque):
        # calling back into the API from a callback must not deadlock
        got.append(
            (
                "lifecycle",
                c is conn,
                dom.name(),
                event,
                detail,
                opaque,
                threading.current_thread().name,
                c.getLibVersion(),
            )
        )

    def added(c, dom, alias, opaque):
        got.append(("added", dom.name(), alias, opaque))

    try:
        id1 = conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "o1"
        )
        id2 = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, added, 7)
        assert (id1, id2) == (0, 1)
        session = fake.daemon.sessions[0]
        fake.call(session.lifecycle, 2, 0)
        fake.call(
            session.send_event, DeviceAddedEvent(TEST_DOM, "memdimm0"), session.callback_id_for(19)
        )
        _wait(lambda: len(got) == 2)
        assert got[0] == ("lifecycle", True, "test", 2, 0, "o1", "app-event-loop", 9000000)
        assert got[1] == ("added", "test", "memdimm0", 7)
        # python3-libvirt uses one trampoline, so the same (eventID, domain) twice is refused
        with pytest.raises(libvirt.libvirtError) as info:
            conn.domainEventRegisterAny(None, 0, lifecycle, None)
        assert str(info.value) == "invalid argument: event callback already tracked"
        assert info.value.get_error_domain() == 0
        conn.domainEventDeregisterAny(id1)
        conn.domainEventDeregisterAny(id2)
        with pytest.raises(libvirt.libvirtError):
            conn.domainEventDeregisterAny(id2)
    finally:
        conn.close()


def test_legacy_domain_event_register(fake, event_loop_thread):
    conn = libvirt.open(fake.daemon.uri)
    got: list = []
    try:
        conn.domainEventRegister(lambda c, d, e, det, o: got.append(("a", d.name(), e, det, o)), 1)
        conn.domainEventRegister(lambda c, d, e, det, o: got.append(("b", e, o)), 2)
        session = fake.daemon.sessions[0]
        assert session.procs().count(316) == 1
        fake.call(session.lifecycle, 5, 1)
        _wait(lambda: len(got) == 2)
        assert got == [("a", "test", 5, 1, 1), ("b", 5, 2)]
    finally:
        conn.close()


def test_close_callback_reasons(fake, event_loop_thread):
    reasons: list = []
    conn = libvirt.open(fake.daemon.uri)
    conn.registerCloseCallback(
        lambda c, reason, opaque: reasons.append((c is conn, reason, opaque)), "x"
    )
    with pytest.raises(libvirt.libvirtError):
        conn.registerCloseCallback(lambda *a: None, None)
    fake.run(fake.daemon.sessions[0].kill())
    _wait(lambda: reasons)
    assert reasons == [(True, libvirt.VIR_CONNECT_CLOSE_REASON_EOF, "x")]
    with pytest.raises(libvirt.libvirtError) as info:
        conn.getLibVersion()
    assert str(info.value) == "internal error: client socket is closed"
    conn.close()


def test_set_keepalive(fake):
    with libvirt.open(fake.daemon.uri) as conn:
        assert conn.setKeepAlive(5, 3) == 0
        assert conn.setKeepAlive(0, 0) == 0


def test_event_timeouts_fire(event_loop_thread):
    fired: list = []
    timer = libvirt.virEventAddTimeout(10, lambda t, opaque: fired.append((t, opaque)), "op")
    _wait(lambda: len(fired) >= 2)
    assert libvirt.virEventRemoveTimeout(timer) == 0
    assert fired[0] == (timer, "op")
    assert libvirt.virEventRemoveTimeout(timer) == -1


def test_event_handles_fire(event_loop_thread):
    import os

    r, w = os.pipe()
    try:
        fired: list = []
        watch = libvirt.virEventAddHandle(
            r,
            libvirt.VIR_EVENT_HANDLE_READABLE,
            lambda wt, fd, events, opaque: fired.append((wt, fd, events, opaque, os.read(fd, 10))),
            "op",
        )
        os.write(w, b"x")
        _wait(lambda: fired)
        assert fired[0] == (watch, r, libvirt.VIR_EVENT_HANDLE_READABLE, "op", b"x")
        assert libvirt.virEventRemoveHandle(watch) == 0
        assert libvirt.virEventRemoveHandle(watch) == -1
    finally:
        os.close(r)
        os.close(w)


def test_close_is_deferred_while_domains_live(fake):
    import gc

    conn = libvirt.open(fake.daemon.uri)
    dom = conn.lookupByName("test")
    assert conn.close() == 1  # still referenced by `dom`, as a C virConnectPtr would be
    assert conn.isAlive() == 0
    with pytest.raises(libvirt.libvirtError) as info:
        conn.getLibVersion()
    assert str(info.value) == "invalid connection pointer in virConnectGetLibVersion"
    assert dom.name() == "test"
    session = fake.daemon.sessions[0]
    assert not session.closed.is_set()
    del dom
    gc.collect()
    _wait(session.closed.is_set)


def test_plain_calls_run_on_the_calling_thread(fake, monkeypatch):
    """getLibVersion & co. block on a ThreadWaiter: no task on the loop thread per call."""

    def no_task(*args, **kwargs):
        raise AssertionError("a plain call was run as a task on the loop thread")

    conn = libvirt.open(fake.daemon.uri)
    try:
        monkeypatch.setattr(libvirt._asyncio, "run_coroutine_threadsafe", no_task)
        results: list = []

        def worker() -> None:
            for _ in range(20):
                results.append((conn.getHostname(), conn.lookupByName("test").name()))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == [("fakehost", "test")] * 80
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByName("nosuch")  # errors come back the same way
    finally:
        monkeypatch.undo()
        conn.close()
