"""Fault injection on live connections (issue 14): a client that goes away mid-call, with
events queued for it, or stops answering keepalive. The daemon cleans up after it and keeps
serving everyone else. (Mid-frame: test_server_robustness; never reads: the amplification and
limits tests.)"""

from __future__ import annotations

import asyncio
import time

from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.keepalive import PONG_FRAME
from virtwire.protocol.procedures import resolve
from virtwire.server.dispatch import Dispatcher

from tests.server.wire import TEST_DOM, slow_table

SUSPEND = resolve("DOMAIN_SUSPEND").number
RESUME = resolve("DOMAIN_RESUME").number
GET_XML_DESC = resolve("DOMAIN_GET_XML_DESC").number
LIFECYCLE = resolve("DOMAIN_EVENT_CALLBACK_LIFECYCLE").number
REGISTER_ANY = resolve("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY").number


def wait_for(cond, timeout: float = 10.0) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_disconnect_while_the_call_is_in_progress(make_daemon):
    futures: list[asyncio.Future] = []
    d = make_daemon(dispatcher=Dispatcher(slow_table(futures)))
    good = d.tcp()
    for _ in range(20):
        gone = d.unix()
        gone.send_call(3)  # CONNECT_GET_TYPE: its handler waits for the test
        assert wait_for(lambda: d.call_in_loop(lambda: len(futures)) > 0)
        gone.close()
        assert wait_for(lambda: d.session_count() == 1)
        # the call is cancelled with its client, or its late reply is dropped: nothing raised
        fut = d.call_in_loop(lambda: futures.pop())
        d.call_in_loop(
            lambda f=fut: f.done() or f.set_result(rp.RemoteConnectGetTypeRet(type="LATE"))
        )
    serial = good.send_call(3)
    assert wait_for(lambda: d.call_in_loop(lambda: len(futures)) == 1)
    d.call_in_loop(lambda: futures[0].set_result(rp.RemoteConnectGetTypeRet(type="OK")))
    assert rp.unpack_remote_connect_get_type_ret(good.reply_to(serial).payload).type == "OK"


def test_disconnect_right_after_sending_real_calls(daemon_thread):
    good = daemon_thread.tcp()
    good.prologue()
    xml_args = rp.RemoteDomainGetXmlDescArgs(dom=TEST_DOM, flags=0).pack()
    for _ in range(50):
        c = daemon_thread.unix()
        c.prologue()
        for _ in range(5):
            c.send_call(GET_XML_DESC, xml_args)  # never read
        c.close()
    assert wait_for(lambda: daemon_thread.session_count() == 1)
    assert good.call(16, rp.RemoteDomainGetInfoArgs(dom=TEST_DOM)).state == 1


def _reg(event_id: int = 0):
    return rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=event_id, dom=None)


def test_disconnect_with_events_queued(daemon_thread):
    watcher = daemon_thread.tcp()
    watcher.prologue()
    watcher.call(REGISTER_ANY, _reg())
    actor = daemon_thread.unix()
    actor.prologue()
    for _ in range(10):
        quitters = []
        for _ in range(5):
            q = daemon_thread.unix()
            q.prologue()
            q.call(REGISTER_ANY, _reg())
            quitters.append(q)
        # events for them are produced while they do not read, then they go
        for _ in range(3):
            actor.call(SUSPEND, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))
            actor.call(RESUME, rp.RemoteDomainResumeArgs(dom=TEST_DOM))
        for q in quitters:
            q.close()
        assert wait_for(lambda: daemon_thread.session_count() == 2)
    # the remaining watcher got every event, in order
    got = [
        rp.unpack_remote_domain_event_callback_lifecycle_msg(
            watcher.event(LIFECYCLE).payload
        ).msg.event
        for _ in range(60)
    ]
    assert got == [3, 4] * 30  # SUSPENDED, RESUMED
    actor.call(SUSPEND, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))
    msg = rp.unpack_remote_domain_event_callback_lifecycle_msg(watcher.event(LIFECYCLE).payload)
    assert msg.msg.event == 3


def test_client_that_stops_answering_keepalive_is_closed(make_daemon):
    interval, count = 0.2, 2
    d = make_daemon(keepalive_interval=interval, keepalive_count=count)
    c = d.tcp()
    c.prologue()  # feature 10: the daemon pings
    for _ in range(3):  # answers three pings ...
        assert c.keepalive(timeout=5).header.proc == 1
        c.send_raw(PONG_FRAME)
    last_pong = time.monotonic()
    assert c.wait_closed(interval * (count + 1) + 5)  # ... then goes silent
    silent_for = time.monotonic() - last_pong
    assert interval * (count + 1) * 0.8 <= silent_for
    assert wait_for(lambda: d.session_count() == 0)
    other = d.tcp()
    other.prologue()
    assert other.call(3).type == "TEST"
