"""The reading baton (virtwire.client.baton): threads of the drop-in read their own
replies; the loop reads only while none does. Against the fake daemon on its own loop."""

from __future__ import annotations

import threading

import pytest
from virtwire.client import libvirt
from virtwire.protocol.framing import MessageType
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.keepalive import PING_FRAME

from tests.client.fake_daemon import TEST_DOM
from tests.client.waiting import wait_until as _wait

P = rp.RemoteProcedure
HOSTNAME = int(P.REMOTE_PROC_CONNECT_GET_HOSTNAME)


def _reader_threads(conn: libvirt.virConnect) -> list[tuple[str, int]]:
    """Record (reading thread's name, message type) of every frame the client receives."""
    seen: list[tuple[str, int]] = []
    conn._conn.add_frame_listener(
        lambda frame: seen.append((threading.current_thread().name, frame.header.type))
    )
    return seen


def _run_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target, name=f"caller-{i}") for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads)


def test_each_thread_reads_replies_itself(fake):
    conn = libvirt.open(fake.daemon.uri)
    try:
        seen = _reader_threads(conn)
        results: list = []

        def worker() -> None:
            for _ in range(50):
                results.append((conn.getHostname(), conn.getLibVersion()))

        _run_threads(worker, 4)
        assert results == [("fakehost", 9000000)] * 200
        readers = {name for name, mtype in seen if mtype == MessageType.REPLY}
        assert len([1 for _, mtype in seen if mtype == MessageType.REPLY]) == 400
        # every reply was read by a calling thread, none by the loop thread
        assert readers and all(name.startswith("caller-") for name in readers), readers
    finally:
        conn.close()


def test_one_thread_reads_every_reply(fake):
    conn = libvirt.open(fake.daemon.uri)
    try:
        seen = _reader_threads(conn)
        for _ in range(20):
            assert conn.getHostname() == "fakehost"
        assert [name for name, _ in seen] == [threading.current_thread().name] * 20
    finally:
        conn.close()


def test_event_read_by_a_caller_reaches_the_callback(fake, event_loop_thread):
    """The thread reading its reply finds an event before it: the loop delivers it."""
    conn = libvirt.open(fake.daemon.uri)
    got: list = []
    try:
        conn.domainEventRegisterAny(
            None,
            libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda c, dom, event, detail, opaque: got.append((dom.name(), event, detail)),
            None,
        )
        seen = _reader_threads(conn)

        def event_then_reply(session, frame, args) -> None:
            session.lifecycle(2, 0, TEST_DOM)
            session.reply(frame, rp.RemoteConnectGetHostnameRet(hostname="fakehost"))

        fake.daemon.on(HOSTNAME, event_then_reply)
        assert conn.getHostname() == "fakehost"
        me = threading.current_thread().name
        assert (me, MessageType.MESSAGE) in seen
        _wait(lambda: got)
        assert got == [("test", 2, 0)]
    finally:
        conn.close()


def test_ping_read_by_a_caller_is_answered(fake):
    conn = libvirt.open(fake.daemon.uri)
    try:

        def ping_then_reply(session, frame, args) -> None:
            session.send(PING_FRAME)
            session.reply(frame, rp.RemoteConnectGetHostnameRet(hostname="fakehost"))

        fake.daemon.on(HOSTNAME, ping_then_reply)
        session = fake.daemon.sessions[0]
        assert conn.getHostname() == "fakehost"
        _wait(lambda: 2 in session.keepalive)  # the loop wrote the PONG
    finally:
        conn.close()


def test_loss_while_a_thread_reads_fails_its_call(fake):
    conn = libvirt.open(fake.daemon.uri)
    session = fake.daemon.sessions[0]

    def die(session, frame, args) -> None:
        fake.loop.create_task(session.kill())

    fake.daemon.on(HOSTNAME, die)
    with pytest.raises(libvirt.libvirtError) as info:
        conn.getHostname()
    assert "End of file" in str(info.value) or "closed" in str(info.value)
    _wait(lambda: session.closed.is_set())
    with pytest.raises(libvirt.libvirtError):
        conn.getLibVersion()
    conn.close()


def test_close_from_another_thread_wakes_the_reader(fake):
    """A thread blocked on a reply that never comes holds the baton; close() from another
    thread still gets its CONNECT_CLOSE answered (the reader hands that reply to the loop)
    and the blocked call fails instead of hanging."""
    conn = libvirt.open(fake.daemon.uri)
    fake.daemon.on(HOSTNAME, lambda session, frame, args: None)  # never answers
    errors: list = []
    reading = threading.Event()

    def blocked() -> None:
        reading.set()
        try:
            conn.getHostname()
        except libvirt.libvirtError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=blocked, name="caller-blocked")
    thread.start()
    reading.wait(5)
    session = fake.daemon.sessions[0]
    _wait(lambda: HOSTNAME in session.procs())
    assert conn.close() == 0
    thread.join(10)
    assert not thread.is_alive()
    assert errors and "closed" in errors[0]


def test_interrupted_holder_passes_the_baton_on(fake):
    """A thread that gives up while holding the baton (KeyboardInterrupt) must hand it on:
    the next call still gets its reply."""
    conn = libvirt.open(fake.daemon.uri)
    try:
        fake.daemon.on(HOSTNAME, lambda session, frame, args: None)  # never answers
        coro = conn._conn.get_hostname()
        waiter = coro.send(None)  # what the drop-in's driver blocks on
        assert waiter.holding  # took the baton before writing its CALL
        waiter.abandon()
        coro.close()
        assert conn.getLibVersion() == 9000000
    finally:
        conn.close()


def test_stream_opened_while_a_thread_reads(fake):
    """A stream opened while another thread holds the baton: the holder hands what it
    reads from then on (and the baton) to the loop, which owns stream state; nothing is
    lost or reordered, and the held call still gets its reply."""
    from virtwire.protocol.framing import Header, MessageStatus, encode_frame

    from tests.client import stream_procs as sp

    ok, cont = MessageStatus.OK, MessageStatus.CONTINUE
    held: list = []

    def screenshot(session, frame, args) -> None:
        h = frame.header
        ret = sp.DOMAIN_SCREENSHOT.ret.pack(sp.TYPES.RemoteDomainScreenshotRet(mime="image/png"))
        session.send(
            encode_frame(Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial, ok), ret)
        )
        session.send_stream(frame, cont, b"first")
        session.send_stream(frame, cont, b"second")
        session.send_stream(frame, cont)  # the end
        session.reply(held[0], rp.RemoteConnectGetHostnameRet(hostname="fakehost"))

    def confirm(session, frame) -> None:
        if frame.header.type == MessageType.STREAM and frame.header.status == ok:
            session.send_stream(frame, ok)

    fake.daemon.on(sp.DOMAIN_SCREENSHOT.number, screenshot)
    fake.daemon.on(HOSTNAME, lambda session, frame, args: held.append(frame))
    fake.daemon.stream_handler = confirm
    conn = libvirt.open(fake.daemon.uri)
    try:
        dom = conn.lookupByName("test")
        names: list = []
        holder = threading.Thread(target=lambda: names.append(conn.getHostname()))
        holder.start()
        _wait(lambda: held)
        stream = conn.newStream(0)
        assert dom.screenshot(stream, 0, 0) == "image/png"
        got = b""
        while chunk := stream.recv(65536):
            got += chunk
        assert got == b"firstsecond"
        stream.finish()
        holder.join(10)
        assert names == ["fakehost"]
        assert conn.getLibVersion() == 9000000  # the link is in sync
    finally:
        conn.close()


def test_many_threads_with_events_and_pings_in_between(fake, event_loop_thread):
    """8 threads × 40 lookups while the daemon puts lifecycle events and PINGs before some
    replies (a fixed pseudo-random pattern): every call gets its own answer (the name it
    asked for), every event reaches the callback once, every PING is answered."""
    import random

    lookup = int(P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME)
    conn = libvirt.open(fake.daemon.uri)
    got: list = []
    pattern = random.Random(13)
    sent = {"events": 0, "pings": 0}
    try:
        conn.domainEventRegisterAny(
            None,
            libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda c, dom, event, detail, opaque: got.append(detail),
            None,
        )
        session = fake.daemon.sessions[0]

        def answer(session, frame, args) -> None:
            roll = pattern.random()
            if roll < 0.3:
                sent["events"] += 1
                session.lifecycle(2, sent["events"], TEST_DOM)
            elif roll < 0.45:
                sent["pings"] += 1
                session.send(PING_FRAME)
            dom = rp.RemoteNonnullDomain(name=args.name, uuid=TEST_DOM.uuid, id=1)
            session.reply(frame, rp.RemoteDomainLookupByNameRet(dom=dom))

        fake.daemon.on(lookup, answer)
        wrong: list = []

        def worker(tag: str) -> None:
            for k in range(40):
                name = f"{tag}-{k}"
                if conn.lookupByName(name).name() != name:
                    wrong.append(name)

        threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert not any(t.is_alive() for t in threads)
        assert wrong == []
        assert [proc for _, proc, _ in session.calls].count(lookup) == 320
        _wait(lambda: len(got) == sent["events"])
        assert sorted(got) == list(range(1, sent["events"] + 1))
        _wait(lambda: session.keepalive.count(2) == sent["pings"])
        assert sent["events"] and sent["pings"]
    finally:
        conn.close()


def test_bad_bytes_read_by_a_caller_fail_it_and_the_daemon_serves_others(fake):
    """The thread holding the baton reads a frame whose length word is below 28: its call
    fails with libvirt's read error (the core closes the link; "client socket is closed"
    after), and a new connection to the same daemon works."""
    conn = libvirt.open(fake.daemon.uri)

    def garbage(session, frame, args) -> None:
        session.send(b"\x00\x00\x00\x05junk")

    fake.daemon.on(HOSTNAME, garbage)
    seen = _reader_threads(conn)
    with pytest.raises(libvirt.libvirtError) as info:
        conn.getHostname()
    assert info.value.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert info.value.get_error_domain() == libvirt.VIR_FROM_RPC
    assert str(info.value) == (
        "Cannot recv data: message length 5 is too small: a header alone needs 28 bytes"
    )
    assert seen == []  # no frame was routed: the bytes were bad before the first one
    with pytest.raises(libvirt.libvirtError) as after:
        conn.getLibVersion()
    assert str(after.value) == "internal error: client socket is closed"
    conn.close()
    other = libvirt.open(fake.daemon.uri)  # the daemon serves the next client
    try:
        assert other.getLibVersion() == 9000000
    finally:
        other.close()
