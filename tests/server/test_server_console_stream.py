"""Console and screenshot streams on the wire (raw frames, an in-process daemon).

The framing is libvirtd's (checked against libvirtd 9.0 with a real QEMU guest, see
tests/interop/test_console_screenshot.py): the opening call's REPLY, then STREAM/CONTINUE
data both ways on the call's serial; the client's finish (STREAM/OK) is confirmed with an
empty STREAM/OK; a console taken over with FORCE fails with a STREAM/ERROR; a guest that
stops ends the stream with an empty STREAM/CONTINUE.
"""

from __future__ import annotations

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.framing import Frame, Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.hypervisor.test_hv_console_screen import GUEST, SERIAL, VIDEO, decode_png
from tests.server.wire import WireClient

OPEN_CONSOLE = procedures.by_name("REMOTE_PROC_DOMAIN_OPEN_CONSOLE")
SCREENSHOT = procedures.by_name("REMOTE_PROC_DOMAIN_SCREENSHOT")
DEFINE = procedures.by_name("REMOTE_PROC_DOMAIN_DEFINE_XML")
CREATE = procedures.by_name("REMOTE_PROC_DOMAIN_CREATE")
DESTROY = procedures.by_name("REMOTE_PROC_DOMAIN_DESTROY")
FORCE = 1


def guest(client: WireClient) -> rp.RemoteNonnullDomain:
    client.open("qemu:///system")
    dom = client.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(GUEST.format(SERIAL + VIDEO)))
    dom = dom.dom
    client.call(CREATE.number, rp.RemoteDomainCreateArgs(dom))
    return dom


def open_console(client: WireClient, dom, flags: int = 0) -> tuple[int, Frame]:
    args = rp.RemoteDomainOpenConsoleArgs(dom, None, flags)
    serial = client.send_call(OPEN_CONSOLE.number, OPEN_CONSOLE.args.pack(args))
    return serial, client.reply_to(serial)


def stream_frame(client: WireClient, serial: int) -> Frame:
    return client.next_frame(
        5.0, lambda f: f.header.type == MessageType.STREAM and f.header.serial == serial
    )


def send_stream(client: WireClient, serial: int, status: int, data: bytes = b"") -> None:
    header = Header(REMOTE_PROGRAM, 1, OPEN_CONSOLE.number, MessageType.STREAM, serial, status)
    client.send_raw(encode_frame(header, data))


def test_console_stream_framing(daemon_thread):
    client = daemon_thread.unix()
    dom = guest(client)
    serial, reply = open_console(client, dom)
    assert (reply.header.status, reply.payload) == (MessageStatus.OK, b"")
    greeting = stream_frame(client, serial)
    assert greeting.header.proc == OPEN_CONSOLE.number
    assert (greeting.header.status, greeting.payload) == (MessageStatus.CONTINUE, b"\r\ng1 login: ")
    send_stream(client, serial, MessageStatus.CONTINUE, b"root\r")
    echo = stream_frame(client, serial)
    assert (echo.header.status, echo.payload) == (MessageStatus.CONTINUE, b"root\r\nPassword: ")
    send_stream(client, serial, MessageStatus.OK)  # virStreamFinish (virsh's Ctrl-])
    done = stream_frame(client, serial)
    assert (done.header.status, done.payload) == (MessageStatus.OK, b"")
    # the device is free again: a new session opens without FORCE
    serial2, reply2 = open_console(client, dom)
    assert reply2.header.status == MessageStatus.OK
    assert stream_frame(client, serial2).payload == b"\r\ng1 login: "
    client.close()


def test_force_fails_the_first_session_and_a_stopped_guest_ends_the_stream(daemon_thread):
    first = daemon_thread.unix()
    dom = guest(first)
    serial1, _ = open_console(first, dom)
    stream_frame(first, serial1)
    second = daemon_thread.unix()
    second.open("qemu:///system")
    busy, reply = open_console(second, dom)
    assert reply.header.status == MessageStatus.ERROR
    err = rp.unpack_remote_error(reply.payload)
    assert (err.code, err.domain, err.message) == (
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        "operation failed: Active console session exists for this domain",
    )
    serial2, reply = open_console(second, dom, FORCE)
    assert reply.header.status == MessageStatus.OK
    kicked = stream_frame(first, serial1)
    assert kicked.header.status == MessageStatus.ERROR
    err = rp.unpack_remote_error(kicked.payload)
    assert (err.code, err.domain, err.message) == (
        ErrorCode.RPC,
        ErrorDomain.STREAMS,
        "stream had I/O failure",
    )
    stream_frame(second, serial2)  # its greeting
    first.call(DESTROY.number, rp.RemoteDomainDestroyArgs(dom))
    end = stream_frame(second, serial2)
    assert (end.header.status, end.payload) == (MessageStatus.CONTINUE, b"")
    send_stream(second, serial2, MessageStatus.OK)
    assert stream_frame(second, serial2).header.status == MessageStatus.OK
    first.close()
    second.close()


def test_screenshot_stream_framing(daemon_thread):
    client = daemon_thread.unix()
    dom = guest(client)
    args = rp.RemoteDomainScreenshotArgs(dom, 0, 0)
    serial = client.send_call(SCREENSHOT.number, SCREENSHOT.args.pack(args))
    reply = client.reply_to(serial)
    assert SCREENSHOT.ret.unpack(reply.payload).mime == "image/png"
    data = b""
    while (frame := stream_frame(client, serial)).payload:
        assert frame.header.status == MessageStatus.CONTINUE
        data += frame.payload
    assert frame.header.status == MessageStatus.CONTINUE  # the end: an empty CONTINUE
    send_stream_hdr = Header(REMOTE_PROGRAM, 1, SCREENSHOT.number, MessageType.STREAM, serial, 0)
    client.send_raw(encode_frame(send_stream_hdr))
    assert stream_frame(client, serial).header.status == MessageStatus.OK
    assert decode_png(data)[:2] == (720, 400)
    client.close()
