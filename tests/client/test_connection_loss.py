"""What the client does when the server goes away: reasons, errors, and nothing left over.

The close reason follows libvirt's client (src/rpc/virnetclient.c): it is named after the
poll() flags, EOF when the socket reports a hangup, ERROR otherwise. On Linux a unix
socket hangs up as soon as the peer closes, a TCP socket only on a reset; so a daemon that
exits is "end of file" over unix and "I/O error" over TCP (checked against the real
libvirt in tests/interop/test_client_lifecycle.py).
"""

from __future__ import annotations

import asyncio

import pytest
import virtwire.client as vc
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp

from tests.client.fake_daemon import FakeDaemon

P = rp.RemoteProcedure


async def _eventually(predicate, timeout: float = 5.0) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def _tcp_daemon() -> tuple[FakeDaemon, str]:
    daemon = FakeDaemon()
    port = await daemon.start_tcp()
    return daemon, f"test+tcp://127.0.0.1:{port}/default"


async def _hang_hostname(daemon: FakeDaemon, started: list) -> None:
    async def hang(session, frame, args):
        started.append(frame)

    daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, hang)


def test_tcp_server_close_is_an_io_error_but_waiters_see_end_of_file(arun):
    async def scenario():
        daemon, uri = await _tcp_daemon()
        started: list = []
        await _hang_hostname(daemon, started)
        try:
            conn = await vc.connect(uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            call = asyncio.ensure_future(conn.get_hostname())
            await _eventually(lambda: started)
            await daemon.sessions[0].kill()
            with pytest.raises(LibvirtError) as info:
                await call
            assert info.value.code == ErrorCode.SYSTEM_ERROR
            assert info.value.domain == ErrorDomain.RPC
            assert str(info.value) == "End of file while reading data: Input/output error"
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.ERROR]
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_tcp_reset_is_end_of_file(arun):
    async def scenario():
        daemon, uri = await _tcp_daemon()
        started: list = []
        await _hang_hostname(daemon, started)
        try:
            conn = await vc.connect(uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            call = asyncio.ensure_future(conn.get_hostname())
            await _eventually(lambda: started)
            await daemon.sessions[0].reset()
            with pytest.raises(LibvirtError) as info:
                await call
            assert info.value.code == ErrorCode.SYSTEM_ERROR
            assert "Cannot recv data: Connection reset by peer" in str(info.value)
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.EOF]
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_unix_server_close_is_end_of_file(arun):
    async def scenario():
        daemon = await FakeDaemon().start()
        try:
            conn = await vc.connect(daemon.uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            await daemon.sessions[0].kill()
            await _eventually(lambda: reasons)
            assert reasons == [vc.CloseReason.EOF]
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_deregister_after_loss_fails_like_libvirt(arun):
    async def scenario():
        daemon = await FakeDaemon().start()
        try:
            conn = await vc.connect(daemon.uri)
            cid = await conn.register_event(0, lambda event: None)
            await daemon.sessions[0].kill()
            await _eventually(lambda: conn.state == "closed")
            with pytest.raises(LibvirtError) as info:
                await conn.deregister_event(cid)
            assert (info.value.code, info.value.domain) == (ErrorCode.INTERNAL_ERROR, 7)
            assert str(info.value) == "internal error: client socket is closed"
            # the local callback is gone all the same (libvirt removes it first)
            with pytest.raises(LibvirtError, match="not registered"):
                await conn.deregister_event(cid)
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_shared_registration_deregisters_locally_after_loss(arun):
    """Only the last callback of an (eventID, domain) pair needs the server."""

    async def scenario():
        daemon = await FakeDaemon().start()
        try:
            conn = await vc.connect(daemon.uri)
            first = await conn.register_event(0, lambda event: None)
            second = await conn.register_event(0, lambda event: None)
            await daemon.sessions[0].kill()
            await _eventually(lambda: conn.state == "closed")
            await conn.deregister_event(first)
            with pytest.raises(LibvirtError, match="client socket is closed"):
                await conn.deregister_event(second)
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def test_unregister_close_callback_after_loss_fails_and_keeps_it(arun):
    async def scenario():
        daemon = await FakeDaemon().start()
        try:
            conn = await vc.connect(daemon.uri)
            reasons: list = []
            await conn.register_close_callback(reasons.append)
            await daemon.sessions[0].kill()
            await _eventually(lambda: reasons)
            with pytest.raises(LibvirtError, match="client socket is closed"):
                await conn.unregister_close_callback(reasons.append)
            assert conn._close_callbacks == [reasons.append]
            await conn.close()
        finally:
            await daemon.stop()

    arun(scenario())


def _leftover_tasks() -> set[asyncio.Task]:
    """The client's own tasks still alive (the fake daemon and the test have theirs)."""
    return {
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task()
        and t.get_coro().__qualname__.startswith(("Connection.", "EventStream."))
    }


def test_no_task_outlives_a_lost_connection(arun):
    """Reader and keepalive tasks are finished (and awaited) once the server is gone."""

    async def scenario():
        daemon = await FakeDaemon().start()
        try:
            conn = await vc.connect(daemon.uri, keepalive=(5, 3))
            assert _leftover_tasks()  # reader + keepalive while open
            await daemon.sessions[0].kill()
            await _eventually(lambda: conn.state == "closed")
            await _eventually(lambda: not _leftover_tasks(), timeout=2.0)
            assert conn._timer is None  # the one timer (keepalive, deadlines) is disarmed
            await conn.close()
            assert not _leftover_tasks()
        finally:
            await daemon.stop()

    arun(scenario())


def test_no_task_outlives_close(arun):
    async def scenario():
        daemon = await FakeDaemon().start()
        try:
            conn = await vc.connect(daemon.uri, keepalive=(5, 3))
            await conn.get_lib_version()
            await conn.close()
            assert not _leftover_tasks()  # close() awaited them, no extra loop turn needed
        finally:
            await daemon.stop()

    arun(scenario())


def test_close_racing_server_eof_finishes(arun):
    """close() while the server drops the socket: no hang, no task left, one outcome."""

    async def scenario():
        for _ in range(20):
            daemon = await FakeDaemon().start()
            try:
                conn = await vc.connect(daemon.uri, keepalive=(5, 3))
                await asyncio.wait_for(
                    asyncio.gather(conn.close(), daemon.sessions[0].kill()), timeout=5
                )
                assert conn.state == "closed"
                assert not _leftover_tasks()
            finally:
                await daemon.stop()

    arun(scenario(), timeout=30)
