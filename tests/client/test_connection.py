"""The asyncio client core against a scripted fake daemon: the cases libvirt gets right and
go-libvirt famously did not (events mid-call, reordered replies, PING mid-call, unknown event
procs, a server dying mid-call, keepalive death, reconnect, shared registrations)."""

from __future__ import annotations

import asyncio
import logging

import pytest
import virtwire.client as vc
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.events import DeviceAddedEvent, LifecycleEvent
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp

from tests.client.fake_daemon import OTHER_DOM, PING_FRAME, TEST_DOM, FakeDaemon

P = rp.RemoteProcedure


async def _daemon() -> FakeDaemon:
    return await FakeDaemon().start()


async def _eventually(predicate, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def test_prologue_matches_libvirt(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                session = daemon.sessions[0]
                assert [s for s, _p, _a in session.calls] == [0, 1, 2, 3, 4]
                assert session.procs() == [66, 60, 1, 60, 60]
                features = [a.feature for _s, p, a in session.calls if p == 60]
                assert features == [10, 14, 15]
                open_args = session.calls[2][2]
                assert open_args.name == "test:///default"  # socket= is not forwarded
                assert open_args.flags == 0
                assert await conn.get_lib_version() == 9000000
                assert session.calls[-1][0] == 5
            assert session.procs()[-1] == P.REMOTE_PROC_CONNECT_CLOSE
        finally:
            await daemon.stop()

    arun(scenario())


def test_readonly_sets_open_flag(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri, readonly=True):
                assert daemon.sessions[0].calls[2][2].flags & 1 == 1
        finally:
            await daemon.stop()

    arun(scenario())


def test_non_none_auth_is_a_clear_error(arun):
    async def scenario():
        daemon = await _daemon()
        daemon.auth_types = [rp.RemoteAuthType.REMOTE_AUTH_SASL]
        try:
            with pytest.raises(LibvirtError) as info:
                await vc.connect(daemon.uri)
            assert info.value.code == ErrorCode.AUTH_FAILED
            assert info.value.domain == ErrorDomain.REMOTE
            assert "unsupported authentication type 1" in str(info.value)
        finally:
            await daemon.stop()

    arun(scenario())


def test_error_reply_carries_all_fields(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                with pytest.raises(LibvirtError) as info:
                    await conn.lookup_by_name("nosuch")
                err = info.value
                assert (err.code, err.domain, err.message) == (42, 12, "Domain not found")
                assert (err.str1, err.str2, err.int1, err.int2) == (
                    "Domain not found",
                    None,
                    -1,
                    -1,
                )
                # and the connection is still fine
                assert (await conn.lookup_by_name("test")).name == "test"
        finally:
            await daemon.stop()

    arun(scenario())


def test_unknown_procedure_error_becomes_no_support(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                with pytest.raises(LibvirtError) as info:
                    await conn.get_capabilities()  # the fake daemon does not know it
                assert info.value.code == ErrorCode.NO_SUPPORT
        finally:
            await daemon.stop()

    arun(scenario())


def test_event_between_call_and_reply(arun):
    async def scenario():
        daemon = await _daemon()

        async def hostname(session, frame, args):
            session.lifecycle(3, 0)  # SUSPENDED/PAUSED before the reply
            session.send(PING_FRAME)
            await asyncio.sleep(0.05)
            session.reply(frame, rp.RemoteConnectGetHostnameRet(hostname="late"))

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hostname)
        try:
            async with await vc.connect(daemon.uri) as conn:
                got: list = []
                await conn.register_event(0, got.append)
                assert await conn.get_hostname() == "late"
                await _eventually(lambda: got)
                assert got == [LifecycleEvent(TEST_DOM, 3, 0)]
        finally:
            await daemon.stop()

    arun(scenario())


def test_replies_out_of_order(arun):
    async def scenario():
        daemon = await _daemon()
        held: list = []

        async def hostname(session, frame, args):
            held.append(frame)
            if len(held) == 3:  # answer the three calls in reverse order
                for i, f in enumerate(reversed(held)):
                    session.reply(f, rp.RemoteConnectGetHostnameRet(hostname=f"h{f.header.serial}"))
                    if i == 0:
                        await asyncio.sleep(0.02)

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hostname)
        try:
            async with await vc.connect(daemon.uri) as conn:
                results = await asyncio.gather(*(conn.get_hostname() for _ in range(3)))
                assert results == ["h5", "h6", "h7"]
        finally:
            await daemon.stop()

    arun(scenario())


def test_ping_mid_call_is_answered_before_the_reply(arun):
    async def scenario():
        daemon = await _daemon()

        async def version(session, frame, args):
            session.send(PING_FRAME)
            await asyncio.wait_for(session.pong.wait(), 2)
            session.reply(frame, rp.RemoteConnectGetLibVersionRet(lib_ver=42))

        daemon.on(P.REMOTE_PROC_CONNECT_GET_LIB_VERSION, version)
        try:
            async with await vc.connect(daemon.uri) as conn:
                assert await conn.get_lib_version() == 42
                assert daemon.sessions[0].keepalive == [2]  # our PONG
        finally:
            await daemon.stop()

    arun(scenario())


def test_unknown_event_procedure_is_dropped_connection_kept(arun, caplog):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                got: list = []
                await conn.register_event(0, got.append)
                session = daemon.sessions[0]
                session.send_message(9999, b"\x00\x00\x00\x01")
                session.send_message(
                    P.REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, b"\x01"
                )  # bad body
                session.lifecycle(4, 0)
                await _eventually(lambda: got)
                assert got == [LifecycleEvent(TEST_DOM, 4, 0)]
                assert await conn.get_lib_version() == 9000000
                assert conn._remote_events.dropped == 2
        finally:
            await daemon.stop()

    with caplog.at_level(logging.WARNING, logger="virtwire.client"):
        arun(scenario())
    assert "No event expected with procedure 0x270f" in caplog.text


def test_event_for_unknown_program_closes_connection(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            conn = await vc.connect(daemon.uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            daemon.sessions[0].send_message(1, b"", prog=0x12345678)
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.ERROR]
            with pytest.raises(LibvirtError, match="client socket is closed"):
                await conn.get_lib_version()
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_unmatched_reply_closes_connection(arun):
    async def scenario():
        daemon = await _daemon()

        def hostname(session, frame, args):
            h = frame.header
            bogus = Header(h.prog, h.vers, h.proc, MessageType.REPLY, 999, MessageStatus.OK)
            session.send(encode_frame(bogus, b""))

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hostname)
        try:
            conn = await vc.connect(daemon.uri)
            with pytest.raises(LibvirtError):
                await conn.get_hostname()
            assert conn.state == "closed"
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_server_dies_mid_call_every_waiter_errors(arun):
    async def scenario():
        daemon = await _daemon()
        started: list = []

        async def hang(session, frame, args):
            started.append(frame)
            if len(started) == 4:
                await session.kill()

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hang)
        try:
            conn = await vc.connect(daemon.uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            results = await asyncio.gather(
                *(conn.get_hostname() for _ in range(4)), return_exceptions=True
            )
            assert all(isinstance(r, LibvirtError) for r in results), results
            assert all(
                r.code == ErrorCode.SYSTEM_ERROR and r.domain == ErrorDomain.RPC for r in results
            )
            assert "End of file while reading data" in str(results[0])
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.EOF]
            with pytest.raises(LibvirtError, match="client socket is closed"):
                await conn.get_lib_version()
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_call_timeout_and_late_reply_is_ignored(arun):
    async def scenario():
        daemon = await _daemon()
        release = asyncio.Event()

        async def slow(session, frame, args):
            await release.wait()  # answers only after the client gave up
            session.reply(frame, rp.RemoteConnectGetHostnameRet(hostname="late"))

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, slow)
        try:
            async with await vc.connect(daemon.uri) as conn:
                late = asyncio.Event()
                conn.add_frame_listener(
                    lambda f: f.header.proc == P.REMOTE_PROC_CONNECT_GET_HOSTNAME and late.set()
                )
                conn.call_timeout = 0.1
                with pytest.raises(LibvirtError) as info:
                    await conn.get_hostname()
                assert info.value.code == ErrorCode.OPERATION_TIMEOUT
                conn.call_timeout = None
                release.set()
                await asyncio.wait_for(late.wait(), 5)  # the late reply arrives and is dropped
                assert conn.is_open
                assert await conn.get_lib_version() == 9000000
                # a per-call override: wait as long as it takes
                assert await conn.call(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, timeout=None)
        finally:
            await daemon.stop()

    arun(scenario())


def test_keepalive_pings_and_death(arun):
    async def scenario():
        daemon = await _daemon()
        daemon.answer_pings = False
        try:
            conn = await vc.connect(daemon.uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)

            async def hang(session, frame, args):
                pass  # never answers

            daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hang)
            assert await conn.set_keepalive(0.1, 2) == 0
            call = asyncio.ensure_future(conn.get_hostname())
            with pytest.raises(LibvirtError, match="keepalive timeout"):
                await asyncio.wait_for(call, 3)
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.KEEPALIVE]
            await daemon.sessions[0].closed.wait()
            assert daemon.sessions[0].keepalive == [1, 1]  # count PINGs, then dead
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_keepalive_answered_pings_keep_connection(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                await conn.set_keepalive(0.1, 3)
                # three PINGs answered: more silent intervals than count+1 would allow
                # without the PONGs (0.1 s x 3 dies after 0.4 s of silence)
                await _eventually(lambda: daemon.sessions[0].keepalive.count(1) >= 5)
                assert conn.is_open
                assert daemon.sessions[0].keepalive.count(1) >= 5
                assert await conn.set_keepalive(0, 0) == 0
        finally:
            await daemon.stop()

    arun(scenario())


def test_shared_server_registration_and_domain_filter(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                session = daemon.sessions[0]
                a: list = []
                b: list = []
                c: list = []
                ida = await conn.register_event(0, a.append)
                idb = await conn.register_event(0, b.append)
                dom = await conn.lookup_by_name("test")
                idc = await conn.register_event(0, c.append, dom=dom)
                assert (ida, idb, idc) == (0, 1, 2)  # local IDs
                regs = [args for _s, p, args in session.calls if p == 316]
                assert len(regs) == 2  # one for (0, any), one for (0, test)
                assert regs[0].dom is None and regs[1].dom.name == "test"
                any_id = next(k for k, (e, d) in session.registrations.items() if d is None)
                dom_id = next(k for k, (e, d) in session.registrations.items() if d is not None)
                session.send_event(LifecycleEvent(TEST_DOM, 2, 0), any_id)
                session.send_event(LifecycleEvent(OTHER_DOM, 2, 0), any_id)
                session.send_event(LifecycleEvent(OTHER_DOM, 5, 1), dom_id)  # filtered locally
                session.send_event(LifecycleEvent(TEST_DOM, 5, 1), dom_id)
                await _eventually(lambda: len(a) == 2 and len(c) == 1)
                await asyncio.sleep(0.05)
                assert a == b == [LifecycleEvent(TEST_DOM, 2, 0), LifecycleEvent(OTHER_DOM, 2, 0)]
                assert c == [LifecycleEvent(TEST_DOM, 5, 1)]
                await conn.deregister_event(ida)
                assert 317 not in session.procs()
                await conn.deregister_event(idb)
                deregs = [args.callbackID for _s, p, args in session.calls if p == 317]
                assert deregs == [any_id]
                await conn.deregister_event(idc)
                with pytest.raises(LibvirtError) as info:
                    await conn.deregister_event(idc)
                assert info.value.code == ErrorCode.INVALID_ARG
        finally:
            await daemon.stop()

    arun(scenario())


def test_failed_server_registration_leaves_nothing_behind(arun):
    async def scenario():
        daemon = await _daemon()

        def refuse(session, frame, args):
            session.reply_error(frame, LibvirtError.invalid_arg("unsupported event ID 99"))

        try:
            async with await vc.connect(daemon.uri) as conn:
                daemon.on(P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, refuse)
                with pytest.raises(LibvirtError):
                    await conn.register_event(3, print)
                assert len(conn.event_state) == 0
        finally:
            await daemon.stop()

    arun(scenario())


def test_event_stream_bounded_with_overflow_policies(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                session = daemon.sessions[0]
                newest = await conn.events([0], maxsize=2, overflow="drop_newest").start()
                oldest = await conn.events([0], maxsize=2, overflow="drop_oldest").start()
                strict = await conn.events(0, maxsize=2).start()
                cid = session.callback_id_for(0)
                assert len([1 for _s, p, _a in session.calls if p == 316]) == 1  # shared
                for detail in range(3):
                    session.send_event(LifecycleEvent(TEST_DOM, 3, detail), cid)
                await _eventually(lambda: oldest.dropped == 1 and newest.dropped == 1)
                assert [(await newest.__anext__()).detail for _ in range(2)] == [0, 1]
                assert [(await oldest.__anext__()).detail for _ in range(2)] == [1, 2]
                assert [(await strict.__anext__()).detail for _ in range(2)] == [0, 1]
                with pytest.raises(vc.EventOverflow):
                    await strict.__anext__()
                await newest.aclose()
                await oldest.aclose()
                await _eventually(lambda: 317 in session.procs())
        finally:
            await daemon.stop()

    arun(scenario())


def test_event_stream_ends_when_connection_closes(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            conn = await vc.connect(daemon.uri)
            seen: list = []

            async def consume():
                async with conn.events([0, 19]) as stream:
                    async for event in stream:
                        seen.append(event)

            task = asyncio.ensure_future(consume())
            await _eventually(lambda: len(daemon.sessions[0].registrations) == 2)
            session = daemon.sessions[0]
            session.send_event(DeviceAddedEvent(TEST_DOM, "memdimm0"), session.callback_id_for(19))
            await _eventually(lambda: seen)
            await session.kill()
            await asyncio.wait_for(task, 3)
            assert seen == [DeviceAddedEvent(TEST_DOM, "memdimm0")]
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_reconnect_reregisters_and_reports_gap(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            policy = vc.ReconnectPolicy(initial_delay=0.05, max_delay=0.2)
            conn = await vc.connect(daemon.uri, reconnect=policy)
            a: list = []
            b: list = []
            d: list = []
            gaps: list = []
            reasons: list = []
            conn.register_gap_callback(gaps.append)
            await conn.register_close_callback(reasons.append)
            await conn.register_event(0, a.append)
            await conn.register_event(0, b.append)
            await conn.register_event(19, d.append)
            stream = await conn.events([0]).start()
            first = daemon.sessions[0]
            await daemon.pause_listening()
            await first.kill()
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.EOF]
            assert conn.state == "reconnecting"
            # a few failed attempts (the back-off itself is tested on a fake clock)
            await _eventually(lambda: conn._reconnect_schedule.attempts >= 2)
            await daemon.resume_listening()
            second = await daemon.wait_session(1)
            await _eventually(lambda: gaps)
            assert conn.state == "open"
            assert gaps[0].reason == vc.CloseReason.EOF and gaps[0].attempts >= 2
            # one server registration per (eventID, domain), as before
            regs = sorted(args.eventID for _s, p, args in second.calls if p == 316)
            assert regs == [0, 19]
            assert second.calls[0][0] == 0  # serials restart on the new link
            second.lifecycle(5, 1)
            second.send_event(DeviceAddedEvent(TEST_DOM, "memdimm0"), second.callback_id_for(19))
            await _eventually(lambda: a and b and d)
            assert a == b == [LifecycleEvent(TEST_DOM, 5, 1)]
            assert d == [DeviceAddedEvent(TEST_DOM, "memdimm0")]
            assert isinstance(await stream.__anext__(), vc.ConnectionGap)
            assert await stream.__anext__() == LifecycleEvent(TEST_DOM, 5, 1)
            assert await conn.get_lib_version() == 9000000
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_reconnect_gives_up_after_max_attempts(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            policy = vc.ReconnectPolicy(initial_delay=0.02, max_delay=0.02, max_attempts=3)
            conn = await vc.connect(daemon.uri, reconnect=policy)
            await daemon.pause_listening()
            await daemon.sessions[0].kill()
            await _eventually(lambda: conn.state == "closed")
            with pytest.raises(LibvirtError):
                await conn.get_lib_version()
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_calls_wait_for_reconnect(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            conn = await vc.connect(daemon.uri, reconnect=vc.ReconnectPolicy(initial_delay=0.1))
            await daemon.sessions[0].kill()
            await _eventually(lambda: conn.state == "reconnecting")
            assert await conn.get_lib_version() == 9000000  # waits for the new link
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_client_close_reports_client_reason(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            conn = await vc.connect(daemon.uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            assert P.REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK in daemon.sessions[0].procs()
            await conn.close()
            await conn.close()  # idempotent
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.CLIENT]
        finally:
            await daemon.stop()

    arun(scenario())


def test_server_connection_closed_event_reaches_close_callback(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                reasons: list = []
                await conn.register_close_callback(reasons.append)
                msg = rp.RemoteConnectEventConnectionClosedMsg(reason=2)
                daemon.sessions[0].send_message(
                    P.REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED, msg.pack()
                )
                await _eventually(lambda: reasons)
                assert reasons == [vc.CloseReason.KEEPALIVE]
        finally:
            await daemon.stop()

    arun(scenario())


def test_connect_failure_is_libvirt_error(arun, tmp_path):
    async def scenario():
        with pytest.raises(LibvirtError) as info:
            await vc.connect(f"test+unix:///default?socket={tmp_path}/nope")
        assert (info.value.code, info.value.domain) == (ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC)
        assert str(info.value) == (
            f"Failed to connect socket to '{tmp_path}/nope': No such file or directory"
        )
        with pytest.raises(LibvirtError) as info:
            await vc.connect("test+libssh2://127.0.0.1/default")
        assert info.value.code == ErrorCode.NO_SUPPORT
        assert "not supported yet" in str(info.value)

    arun(scenario())


def test_framing_violation_closes_and_fails_waiters(arun):
    async def scenario():
        daemon = await _daemon()

        def garbage(session, frame, args):
            session.lifecycle(3, 0)  # a valid event in the same burst as the bad bytes
            session.send(b"\x00\x00\x00\x05junk")  # length word below 28

        daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, garbage)
        try:
            conn = await vc.connect(daemon.uri)
            got: list = []
            reasons: list = []
            await conn.register_event(0, got.append)
            await conn.register_close_callback(reasons.append)
            with pytest.raises(LibvirtError):
                await conn.get_hostname()
            await _eventually(lambda: reasons and got)
            assert reasons == [vc.CloseReason.ERROR]
            assert got == [LifecycleEvent(TEST_DOM, 3, 0)]
            assert conn.state == "closed"
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_undecodable_reply_is_an_rpc_error(arun):
    async def scenario():
        daemon = await _daemon()

        def short(session, frame, args):
            h = frame.header
            ok = Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial, MessageStatus.OK)
            session.send(encode_frame(ok, b"\x00\x00"))

        daemon.on(P.REMOTE_PROC_CONNECT_GET_LIB_VERSION, short)
        try:
            async with await vc.connect(daemon.uri) as conn:
                with pytest.raises(LibvirtError) as info:
                    await conn.get_lib_version()
                assert info.value.code == ErrorCode.RPC
                assert "Unable to decode message payload" in str(info.value)
                assert await conn.get_hostname() == "fakehost"
        finally:
            await daemon.stop()

    arun(scenario())


def test_calls_started_in_one_loop_turn_share_one_write(arun):
    async def scenario():
        daemon = await _daemon()
        try:
            async with await vc.connect(daemon.uri) as conn:
                writer = conn._link.writer
                writes: list[int] = []
                real_write = writer.write

                def counting_write(data):
                    writes.append(len(data))
                    return real_write(data)

                writer.write = counting_write
                results = await asyncio.gather(*(conn.get_hostname() for _ in range(20)))
                assert results == ["fakehost"] * 20
                # the first goes out at once, the 19 started in the same turn together
                assert len(writes) == 2, writes
                lone = await conn.get_hostname()  # nothing else in flight: written at once
                assert lone == "fakehost" and len(writes) == 3
        finally:
            await daemon.stop()

    arun(scenario())
