"""The sans-IO client core on its own: bytes and a fake ``now`` in, frames and events out.

No sockets, no loop, no sleeping: every timing rule (keepalive death, call deadlines,
reconnect back-off) is checked at exact instants of a fake clock.
"""

from __future__ import annotations

import pytest
from virtwire.client.core import (
    STREAM_CHUNK_MAX,
    CallCompleted,
    CallFailed,
    ClientCore,
    CloseReason,
    ConnectionClosed,
    DomainEventReceived,
    ReconnectPolicy,
    ReconnectSchedule,
    RegistrationBook,
    ServerClosed,
    StreamUpdated,
)
from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, QEMU_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.events import LifecycleEvent, to_message
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    encode_frame,
    encode_stream_hole,
)
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.keepalive import PING_FRAME, PONG_FRAME

from tests.client.fake_daemon import TEST_DOM

P = rp.RemoteProcedure
HOSTNAME = int(P.REMOTE_PROC_CONNECT_GET_HOSTNAME)
SCREENSHOT = 211  # REMOTE_PROC_DOMAIN_SCREENSHOT: a download stream
UPLOAD = 208  # REMOTE_PROC_STORAGE_VOL_UPLOAD


def sent(core: ClientCore) -> list[Frame]:
    return FrameDecoder().feed(core.data_to_send())


def reply(serial: int, payload: bytes = b"", proc: int = HOSTNAME, status=MessageStatus.OK):
    header = Header(REMOTE_PROGRAM, 1, proc, MessageType.REPLY, serial, status)
    return encode_frame(header, payload)


def hostname_reply(serial: int, name: str) -> bytes:
    return reply(serial, rp.RemoteConnectGetHostnameRet(hostname=name).pack())


def event_bytes(callback_id: int, event: int = 3) -> bytes:
    proc, msg = to_message(LifecycleEvent(TEST_DOM, event, 0), callback_id)
    payload = procedures.lookup(REMOTE_PROGRAM, PROTOCOL_VERSION, proc).msg.pack(msg)
    header = Header(REMOTE_PROGRAM, 1, proc, MessageType.MESSAGE, 1, MessageStatus.OK)
    return encode_frame(header, payload)


def stream_bytes(serial: int, status, payload: bytes = b"", proc: int = SCREENSHOT, hole=False):
    mtype = MessageType.STREAM_HOLE if hole else MessageType.STREAM
    return encode_frame(Header(REMOTE_PROGRAM, 1, proc, mtype, serial, status), payload)


def open_core(now: float = 0.0) -> ClientCore:
    core = ClientCore()
    core.connection_made(now)
    return core


def test_serials_count_from_zero_and_restart_per_transport():
    core = open_core()
    serials = [core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0) for _ in range(3)]
    assert serials == [0, 1, 2]
    frames = sent(core)
    assert [(f.header.type, f.header.serial, f.header.proc) for f in frames] == [
        (MessageType.CALL, 0, HOSTNAME),
        (MessageType.CALL, 1, HOSTNAME),
        (MessageType.CALL, 2, HOSTNAME),
    ]
    assert core.data_to_send() == b""
    core.connection_lost(CloseReason.EOF)
    core.connection_made(5.0)
    assert core.start_call(REMOTE_PROGRAM, HOSTNAME, now=5.0) == 0


def test_replies_out_of_order_each_to_its_own_call():
    core = open_core()
    for _ in range(3):
        core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    data = hostname_reply(2, "c") + hostname_reply(0, "a") + hostname_reply(1, "b")
    events = core.receive_data(data, 1.0)
    assert [
        (e.serial, rp.unpack_remote_connect_get_hostname_ret(e.payload).hostname) for e in events
    ] == [(2, "c"), (0, "a"), (1, "b")]
    assert all(isinstance(e, CallCompleted) for e in events)
    assert core.pending_serials() == []


def test_byte_at_a_time_is_the_same():
    core = open_core()
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    data = event_bytes(7) + hostname_reply(0, "x")
    events = []
    for i in range(len(data)):
        events += core.receive_data(data[i : i + 1], 1.0)
    assert [type(e) for e in events] == [DomainEventReceived, CallCompleted]


def test_error_reply_fails_only_that_call():
    core = open_core()
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    err = LibvirtError.make(ErrorCode.NO_DOMAIN, ErrorDomain.TEST)
    (event,) = core.receive_data(reply(0, err.pack(), status=MessageStatus.ERROR), 1.0)
    assert isinstance(event, CallFailed)
    assert (event.error.code, event.error.domain, event.error.message) == (
        42,
        12,
        "Domain not found",
    )
    assert core.is_open


def test_unexpected_reply_closes_the_connection_and_fails_every_waiter():
    core = open_core()
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    events = core.receive_data(hostname_reply(999, "?"), 1.0)
    failed = [e for e in events if isinstance(e, CallFailed)]
    assert sorted(e.serial for e in failed) == [0, 1]
    assert str(failed[0].error).startswith("Cannot recv data: no call waiting for reply")
    assert isinstance(events[-1], ConnectionClosed)
    assert events[-1].reason is CloseReason.ERROR
    assert not core.is_open
    with pytest.raises(LibvirtError, match="client socket is closed"):
        core.start_call(REMOTE_PROGRAM, HOSTNAME, now=2.0)
    assert core.receive_data(hostname_reply(0, "late"), 3.0) == []


def test_message_of_unknown_program_closes_but_qemu_events_are_ignored():
    core = open_core()
    qemu = encode_frame(Header(QEMU_PROGRAM, 1, 1, MessageType.MESSAGE, 1, MessageStatus.OK))
    assert core.receive_data(qemu, 1.0) == []
    bad = encode_frame(Header(0x12345678, 1, 1, MessageType.MESSAGE, 1, MessageStatus.OK))
    (closed,) = core.receive_data(bad, 1.0)
    assert isinstance(closed, ConnectionClosed) and closed.reason is CloseReason.ERROR


def test_events_between_a_call_and_its_reply_come_out_in_wire_order():
    core = open_core()
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    core.data_to_send()
    closed = rp.RemoteConnectEventConnectionClosedMsg(reason=2).pack()
    closed_msg = encode_frame(
        Header(
            REMOTE_PROGRAM,
            1,
            int(P.REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED),
            MessageType.MESSAGE,
            1,
            MessageStatus.OK,
        ),
        closed,
    )
    data = event_bytes(7, 3) + PING_FRAME + closed_msg + hostname_reply(0, "h") + event_bytes(7, 4)
    events = core.receive_data(data, 1.0)
    assert events == [
        DomainEventReceived(LifecycleEvent(TEST_DOM, 3, 0), 7),
        ServerClosed(CloseReason.KEEPALIVE),
        CallCompleted(0, REMOTE_PROGRAM, HOSTNAME, rp.RemoteConnectGetHostnameRet("h").pack()),
        DomainEventReceived(LifecycleEvent(TEST_DOM, 4, 0), 7),
    ]
    assert core.data_to_send() == PONG_FRAME  # the PING mid-call, answered


def test_unknown_event_procedure_is_dropped_connection_kept():
    core = open_core()
    unknown = encode_frame(Header(REMOTE_PROGRAM, 1, 9999, MessageType.MESSAGE, 1, 0), b"")
    assert core.receive_data(unknown, 1.0) == []
    assert core.is_open and core.remote_events.dropped == 1


def test_ping_is_answered_without_our_own_keepalive():
    core = open_core()
    assert core.next_wakeup() is None
    assert core.receive_data(PING_FRAME, 1.0) == []
    assert core.data_to_send() == PONG_FRAME
    assert core.receive_data(PONG_FRAME, 2.0) == []  # a PONG is consumed silently
    assert core.data_to_send() == b""


def test_keepalive_dead_after_count_silent_intervals():
    core = open_core(now=100.0)
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=100.0)
    core.data_to_send()
    core.start_keepalive(100.0, 5.0, 3)
    for n, at in enumerate((105.0, 110.0, 115.0)):
        assert core.next_wakeup() == at
        assert core.handle_timer(at - 0.001) == []  # not yet
        assert core.handle_timer(at) == [], n
        assert core.data_to_send() == PING_FRAME
    assert core.next_wakeup() == 120.0
    events = core.handle_timer(120.0)
    assert isinstance(events[0], CallFailed)
    assert str(events[0].error) == "internal error: connection closed due to keepalive timeout"
    assert events[-1] == ConnectionClosed(CloseReason.KEEPALIVE, None)
    assert core.data_to_send() == b"" and core.next_wakeup() is None


def test_any_frame_resets_keepalive_silence():
    core = open_core(now=0.0)
    core.start_keepalive(0.0, 5.0, 1)
    assert core.handle_timer(5.0) == []
    assert core.data_to_send() == PING_FRAME
    core.receive_data(PONG_FRAME, 7.0)  # the answer: silence starts again at 7
    assert core.next_wakeup() == 12.0
    core.receive_data(event_bytes(1), 11.0)  # an event is as good as a PONG
    assert core.next_wakeup() == 16.0
    assert core.handle_timer(16.0) == []
    assert core.data_to_send() == PING_FRAME
    assert core.handle_timer(21.0)[-1] == ConnectionClosed(CloseReason.KEEPALIVE, None)


def test_keepalive_interval_zero_stops_pings():
    core = open_core()
    core.start_keepalive(0.0, 5.0, 3)
    core.start_keepalive(1.0, 0, 0)
    assert core.next_wakeup() is None
    assert core.handle_timer(100.0) == []
    assert core.is_open


def test_call_times_out_exactly_at_its_deadline_and_a_late_reply_is_dropped():
    core = open_core(now=50.0)
    serial = core.start_call(REMOTE_PROGRAM, HOSTNAME, now=50.0, timeout=2.0)
    other = core.start_call(REMOTE_PROGRAM, HOSTNAME, now=51.0, timeout=5.0)
    assert core.next_wakeup() == 52.0
    assert core.handle_timer(51.999) == []
    (failed,) = core.handle_timer(52.0)
    assert isinstance(failed, CallFailed) and failed.serial == serial
    assert (failed.error.code, failed.error.domain) == (
        ErrorCode.OPERATION_TIMEOUT,
        ErrorDomain.RPC,
    )
    assert "no reply to REMOTE_PROC_CONNECT_GET_HOSTNAME (serial 0) within 2 s" in str(failed.error)
    assert core.next_wakeup() == 56.0
    assert core.receive_data(hostname_reply(serial, "late"), 53.0) == []  # dropped, not fatal
    assert core.is_open
    (done,) = core.receive_data(hostname_reply(other, "ok"), 54.0)
    assert isinstance(done, CallCompleted) and done.serial == other
    assert core.next_wakeup() is None


def test_abandoned_call_reply_is_dropped_once():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    core.abandon_call(REMOTE_PROGRAM, serial)
    assert core.receive_data(hostname_reply(serial, "late"), 1.0) == []
    assert core.is_open
    events = core.receive_data(hostname_reply(serial, "again"), 1.0)
    assert events[-1].reason is CloseReason.ERROR  # a second one is unexpected


def test_framing_violation_acts_on_frames_before_it_then_closes():
    core = open_core()
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    events = core.receive_data(event_bytes(1) + b"\x00\x00\x00\x05junk", 1.0)
    assert isinstance(events[0], DomainEventReceived)
    assert isinstance(events[1], CallFailed)
    assert events[-1].reason is CloseReason.ERROR
    assert "too small" in events[-1].detail


def test_connection_lost_fails_waiters_with_libvirts_errors():
    core = open_core()
    core.start_call(REMOTE_PROGRAM, HOSTNAME, now=0.0)
    (failed, closed) = core.connection_lost(CloseReason.EOF, None)
    assert str(failed.error) == "End of file while reading data: Input/output error"
    assert closed == ConnectionClosed(CloseReason.EOF, None)
    assert core.connection_lost(CloseReason.EOF, None) == []  # once


def test_reconnect_backoff_schedule():
    schedule = ReconnectSchedule(ReconnectPolicy(0.2, max_delay=1.0, factor=2.0, max_attempts=5))
    assert schedule.lost(10.0) == pytest.approx(10.2)
    times = []
    now = 10.2
    while True:
        schedule.attempt()
        nxt = schedule.failed(now)
        if nxt is None:
            break
        times.append(round(nxt - now, 6))
        now = nxt
    assert times == [0.4, 0.8, 1.0, 1.0]
    assert schedule.attempts == 5 and schedule.next_attempt() is None
    forever = ReconnectSchedule(ReconnectPolicy(0.5, max_delay=4.0))
    forever.lost(0.0)
    for _ in range(50):
        forever.attempt()
        assert forever.failed(0.0) is not None
    assert forever.delay == 4.0
    assert forever.lost(100.0) == 100.5  # a new loss starts from the initial delay


def test_registration_book_shares_one_server_registration():
    book = RegistrationBook()
    other = TEST_DOM.__class__("other", b"\x01" * 16, -1)
    assert book.add(0, 0, None) is None  # first: register on the server
    assert book.set_remote_id(0, 41) == [0]
    assert book.add(1, 0, None) == 41  # shares it
    assert book.add(2, 0, TEST_DOM) is None  # another domain: its own
    book.set_remote_id(2, 42)
    assert book.add(3, 0, other) is None
    assert [(e, d and d.name, m) for e, d, m in book.groups()] == [
        (0, None, [0, 1]),
        (0, "test", [2]),
        (0, "other", [3]),
    ]
    assert book.remove(0) == (0, None, 41, False)
    assert book.remove(1) == (0, None, 41, True)  # the last one leaves the server
    assert book.remove(1) is None
    assert len(book) == 2


# -- streams -------------------------------------------------------------------------------


def test_download_stream_data_holes_end_and_finish():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, SCREENSHOT, b"args", now=0.0, stream=True)
    state = core.stream(REMOTE_PROGRAM, serial)
    core.data_to_send()
    assert ClientCore.stream_read(state, 10) is None  # nothing yet
    events = core.receive_data(
        reply(serial, b"ret", proc=SCREENSHOT)
        + stream_bytes(serial, MessageStatus.CONTINUE, b"hello ")
        + stream_bytes(serial, MessageStatus.CONTINUE, encode_stream_hole(3), hole=True)
        + stream_bytes(serial, MessageStatus.CONTINUE, b"world"),
        1.0,
    )
    assert events[0] == CallCompleted(serial, REMOTE_PROGRAM, SCREENSHOT, b"ret")
    assert events[1:] == [StreamUpdated(serial)] * 3
    assert ClientCore.stream_read(state, 4) == b"hell"
    assert ClientCore.stream_read(state, 100, stop_at_hole=True) == b"o "
    assert ClientCore.stream_read(state, 100, stop_at_hole=True) == 3  # at the hole
    assert ClientCore.stream_take_hole(state) == 3
    assert ClientCore.stream_take_hole(state) == 0  # data next
    assert ClientCore.stream_read(state, 100) == b"world"
    assert ClientCore.stream_read(state, 100) is None
    core.receive_data(stream_bytes(serial, MessageStatus.CONTINUE), 2.0)  # libvirtd's EOF
    assert ClientCore.stream_read(state, 100) == b""
    core.stream_close(state, abort=False)
    (finish,) = sent(core)
    assert finish.header == Header(
        REMOTE_PROGRAM, 1, SCREENSHOT, MessageType.STREAM, serial, MessageStatus.OK
    )
    assert finish.payload == b""
    assert not state.closed
    assert core.receive_data(stream_bytes(serial, MessageStatus.OK), 3.0) == [StreamUpdated(serial)]
    assert state.closed and state.error is None
    # packets for a stream that is gone are ignored, as libvirt's client does
    assert core.receive_data(stream_bytes(serial, MessageStatus.CONTINUE, b"x"), 4.0) == []
    assert core.is_open


def test_holes_read_as_zeros_without_stop_at_hole():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, SCREENSHOT, now=0.0, stream=True)
    state = core.stream(REMOTE_PROGRAM, serial)
    core.receive_data(
        stream_bytes(serial, MessageStatus.CONTINUE, b"ab")
        + stream_bytes(serial, MessageStatus.CONTINUE, encode_stream_hole(4), hole=True)
        + stream_bytes(serial, MessageStatus.CONTINUE, b"cd")
        + stream_bytes(serial, MessageStatus.OK),
        1.0,
    )
    assert ClientCore.stream_read(state, 3) == b"ab"
    assert ClientCore.stream_read(state, 3) == b"\0\0\0"
    assert ClientCore.stream_read(state, 3) == b"\0cd"
    assert ClientCore.stream_read(state, 3) == b""  # STREAM OK without a finish: the end


def test_upload_stream_chunks_like_libvirt_and_sends_holes():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, UPLOAD, now=0.0, stream=True)
    core.data_to_send()
    core.receive_data(reply(serial, proc=UPLOAD), 0.5)
    state = core.stream(REMOTE_PROGRAM, serial)
    data = bytes(range(256)) * 2400  # 614400 bytes
    assert core.stream_send(state, data) == len(data)
    core.stream_send_hole(state, 1 << 40, 0)
    frames = sent(core)
    assert [len(f.payload) for f in frames] == [STREAM_CHUNK_MAX, STREAM_CHUNK_MAX, 90160, 12]
    assert b"".join(f.payload for f in frames[:3]) == data
    for f in frames[:3]:
        assert (f.header.type, f.header.status, f.header.serial, f.header.proc) == (
            MessageType.STREAM,
            MessageStatus.CONTINUE,
            serial,
            UPLOAD,
        )
    hole = frames[3]
    assert (hole.header.type, hole.header.status) == (MessageType.STREAM_HOLE, 2)
    assert hole.payload == (1 << 40).to_bytes(8, "big") + b"\0\0\0\0"


def test_stream_error_from_server_is_raised_with_its_fields():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, UPLOAD, now=0.0, stream=True)
    core.receive_data(reply(serial, proc=UPLOAD), 0.5)
    state = core.stream(REMOTE_PROGRAM, serial)
    err = LibvirtError.make(ErrorCode.OPERATION_FAILED, ErrorDomain.STORAGE, "disk full")
    core.receive_data(stream_bytes(serial, MessageStatus.ERROR, err.pack(), proc=UPLOAD), 1.0)
    for op in (
        lambda: ClientCore.stream_read(state, 1),
        lambda: core.stream_send(state, b"x"),
        lambda: core.stream_close(state, abort=False),
    ):
        with pytest.raises(LibvirtError) as info:
            op()
        assert (info.value.code, info.value.domain) == (ErrorCode.OPERATION_FAILED, 18)
        assert "disk full" in str(info.value)
    assert core.is_open


def test_abort_sends_stream_error_and_waits_for_the_confirm():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, UPLOAD, now=0.0, stream=True)
    core.receive_data(reply(serial, proc=UPLOAD), 0.5)
    core.data_to_send()
    state = core.stream(REMOTE_PROGRAM, serial)
    core.stream_close(state, abort=True)
    (abort,) = sent(core)
    assert (abort.header.type, abort.header.status, abort.payload) == (
        MessageType.STREAM,
        MessageStatus.ERROR,
        b"",
    )
    with pytest.raises(LibvirtError):
        core.stream_send(state, b"more")
    # a refused finish/abort answers as an error REPLY on the stream's serial
    err = LibvirtError.make(ErrorCode.RPC, ErrorDomain.RPC, "stream aborted")
    assert core.receive_data(reply(serial, err.pack(), UPLOAD, MessageStatus.ERROR), 1.0) == [
        StreamUpdated(serial)
    ]
    assert state.closed and state.error is not None
    assert core.is_open


def test_failed_opening_call_leaves_no_stream():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, UPLOAD, now=0.0, stream=True)
    err = LibvirtError.make(ErrorCode.NO_SUPPORT, ErrorDomain.REMOTE, "upload")
    (failed,) = core.receive_data(reply(serial, err.pack(), UPLOAD, MessageStatus.ERROR), 1.0)
    assert isinstance(failed, CallFailed)
    assert core.stream(REMOTE_PROGRAM, serial) is None


def test_connection_loss_ends_streams_with_the_loss_error():
    core = open_core()
    serial = core.start_call(REMOTE_PROGRAM, SCREENSHOT, now=0.0, stream=True)
    core.receive_data(reply(serial, proc=SCREENSHOT), 0.5)
    state = core.stream(REMOTE_PROGRAM, serial)
    events = core.connection_lost(CloseReason.ERROR, "Connection timed out")
    assert StreamUpdated(serial) in events
    with pytest.raises(LibvirtError, match="Cannot recv data: Connection timed out"):
        ClientCore.stream_read(state, 1)
