"""The drop-in around a lost connection and its private loop thread's life.

Everything here runs against the fake daemon on its own thread (see
tests/client/test_libvirt_facade.py); the same behaviour is compared with the real
python3-libvirt in tests/interop/test_client_lifecycle.py.
"""

from __future__ import annotations

import threading
import time

import pytest
from virtwire.client import libvirt
from virtwire.protocol.generated import remote_protocol as rp

from tests.client.test_libvirt_facade import _wait

P = rp.RemoteProcedure


def _lose(fake, conn) -> None:
    fake.run(fake.daemon.sessions[-1].kill())
    _wait(lambda: not conn.isAlive())


def test_deregister_any_after_loss_raises_client_socket_is_closed(fake, event_loop_thread):
    conn = libvirt.open(fake.daemon.uri)
    cid = conn.domainEventRegisterAny(None, 0, lambda *args: None, None)
    _lose(fake, conn)
    with pytest.raises(libvirt.libvirtError) as info:
        conn.domainEventDeregisterAny(cid)
    assert info.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
    assert info.value.get_error_domain() == libvirt.VIR_FROM_RPC
    assert str(info.value) == "internal error: client socket is closed"
    assert conn.close() == 0


def test_unregister_close_callback_after_loss_raises_and_close_says_0(fake, event_loop_thread):
    conn = libvirt.open(fake.daemon.uri)
    reasons: list = []
    conn.registerCloseCallback(lambda c, reason, acc: acc.append(reason), reasons)
    _lose(fake, conn)
    _wait(lambda: reasons)
    with pytest.raises(libvirt.libvirtError, match="client socket is closed"):
        conn.unregisterCloseCallback()
    # libvirt released the callback's reference when it called it: close() says 0
    assert conn.close() == 0


def test_close_with_callback_still_says_1_on_a_live_connection(fake):
    conn = libvirt.open(fake.daemon.uri)
    conn.registerCloseCallback(lambda *args: None, None)
    assert conn.close() == 1  # python3-libvirt: the callback still holds a reference


# stops the client library's loop thread on purpose: its last task stays with the dead loop
@pytest.mark.leaves_process_state
def test_a_call_does_not_wait_forever_when_the_loop_thread_dies(fake):
    """If the private loop thread stops, a blocked call fails instead of hanging."""
    entered = threading.Event()

    async def never(session, frame, args):
        entered.set()

    fake.daemon.on(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, never)
    conn = libvirt.open(fake.daemon.uri)
    outcome: list = []

    def call() -> None:
        try:
            conn.getHostname()
        except libvirt.libvirtError as exc:
            outcome.append(str(exc))

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    assert entered.wait(5)
    loop = libvirt._LOOP._loop
    assert loop is not None
    loop.call_soon_threadsafe(loop.stop)  # what an escaped SystemExit would do
    caller.join(5)
    assert not caller.is_alive(), "the call hung after its loop thread stopped"
    assert outcome == ["internal error: client socket is closed"]
    # the next call gets a fresh loop thread
    with libvirt.open(fake.daemon.uri) as again:
        fake.daemon.handlers.pop(int(P.REMOTE_PROC_CONNECT_GET_HOSTNAME))
        assert again.getHostname() == "fakehost"


def test_many_open_call_close_cycles_stay_bounded(fake):
    """200 in-process open/call/close cycles (some left to the collector) finish in time."""
    deadline = time.monotonic() + 60
    for i in range(200):
        conn = libvirt.open(fake.daemon.uri)
        dom = conn.lookupByName("test")
        assert dom.name() == "test"
        del dom
        if i % 4:
            conn.close()
        del conn
        assert time.monotonic() < deadline, f"cycle {i} ran past the deadline"
    _wait(lambda: all(s.closed.is_set() for s in fake.daemon.sessions), timeout=10)
