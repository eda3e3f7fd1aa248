"""Bad input on a live daemon while a well-behaved client keeps working; request limits."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time

from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.dispatch import Dispatcher

from tests.server.wire import TEST_DOM, slow_table


def test_mixed_bad_input_while_good_client_works(daemon_thread):
    good = daemon_thread.unix()
    good.prologue()
    bad_inputs = [
        struct.pack(">I", 3),  # short length
        struct.pack(">I", 0x7FFFFFFF),  # huge length
        encode_frame(Header(0xDEAD, 1, 1, MessageType.CALL, 0, MessageStatus.OK)),  # unknown prog
        encode_frame(Header(0x20008086, 1, 23, MessageType.CALL, 0, 0), os.urandom(37)),  # garbage
        encode_frame(Header(0x20008086, 1, 354, MessageType.CALL, 0, 0)),  # event proc as call
        os.urandom(200),
        b"\x00\x00\x00\x40" + b"\x01" * 20,  # dropped mid-frame
    ]
    for raw in bad_inputs:
        s = socket.create_connection(("127.0.0.1", daemon_thread.tcp_port))
        s.sendall(raw)
        s.close()
        info = good.call(16, rp.RemoteDomainGetInfoArgs(dom=TEST_DOM))
        assert info.state == 1


def test_thousand_connections_dropped_mid_frame(daemon_thread):
    good = daemon_thread.tcp()
    good.prologue()
    partial = encode_frame(
        Header(0x20008086, 1, 23, MessageType.CALL, 0, MessageStatus.OK),
        rp.RemoteDomainLookupByNameArgs(name="test").pack(),
    )[:-3]
    for i in range(1000):
        if i % 2:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(daemon_thread.unix_path))
        else:
            s = socket.create_connection(("127.0.0.1", daemon_thread.tcp_port))
        s.sendall(partial[: 1 + i % (len(partial) - 1)])
        s.close()
        if i % 100 == 0:
            assert good.call(3).type == "TEST"
    assert good.call(273, rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=0)).ret == 1
    # every dropped connection was cleaned up
    for _ in range(100):
        if daemon_thread.session_count() == 1:
            break
        time.sleep(0.05)
    assert daemon_thread.session_count() == 1


def test_protocol_error_after_valid_frames_still_answers_them(daemon_thread):
    c = daemon_thread.tcp()
    c.open()
    call = encode_frame(Header(0x20008086, 1, 3, MessageType.CALL, 41, MessageStatus.OK))
    c.send_raw(call + struct.pack(">I", 2))  # a good call, then a broken length word
    assert c.reply_to(41).header.status == MessageStatus.OK
    assert c.wait_closed(3)


def test_max_client_requests_bounds_calls_in_flight(make_daemon):
    futures: list[asyncio.Future] = []
    d = make_daemon(dispatcher=Dispatcher(slow_table(futures)), max_client_requests=3)
    c = d.tcp()
    serials = [c.send_call(3) for _ in range(10)]
    # only 3 calls start; the rest wait unread
    time.sleep(0.3)
    assert d.call_in_loop(lambda: len(futures)) == 3
    # a call finishing lets the next one in, replies come by serial
    done_order = []
    while len(done_order) < 10:
        pending = d.call_in_loop(lambda: [f for f in futures if not f.done()])
        assert 1 <= len(pending) <= 3
        fut = pending[-1]
        d.call_in_loop(lambda f=fut: f.set_result(rp.RemoteConnectGetTypeRet(type="SLOW")))
        index = futures.index(fut)
        reply = c.reply_to(serials[index])
        assert rp.unpack_remote_connect_get_type_ret(reply.payload).type == "SLOW"
        done_order.append(index)
    assert sorted(done_order) == list(range(10))
    assert done_order != list(range(10))  # replies really were out of order


def test_max_clients_defers_accepting(make_daemon):
    d = make_daemon(max_clients=2)
    a = d.tcp()
    a.open()
    b = d.unix()
    b.open()
    c = d.tcp()  # connects (kernel backlog) but is not served yet
    serial = c.send_call(66)
    try:
        c.reply_to(serial, timeout=0.3)
        raise AssertionError("a client over max_clients was served")
    except TimeoutError:
        pass
    a.close()
    assert c.reply_to(serial, timeout=5).header.status == MessageStatus.OK
    assert b.call(3).type == "TEST"
