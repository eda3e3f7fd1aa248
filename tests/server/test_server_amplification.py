"""issue 14 #1: reply amplification from the read-only socket is bounded.

A read-only client pipelines getXMLDesc of a 2 MB domain and never reads. A call counts
against ``max_client_requests`` until its reply is written, and at the limit the daemon
stops reading that client (libvirtd's "Client hit max requests limit"), so the daemon's
RSS grows by a few replies, not by one reply per call; another client keeps being served.
Measured here (2 cores shared): 278 calls sent before the socket filled, RSS +0 MiB, the
good client's worst call 0.02 s; the same test with max_client_requests = 1000 and no byte
bound: +337 MiB and 1.04 s (the test fails, as it should).
"""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.test_server_serve import Serve
from tests.server.wire import WireClient

DEFINE = procedures.by_name("REMOTE_PROC_DOMAIN_DEFINE_XML")
GET_XML = procedures.by_name("REMOTE_PROC_DOMAIN_GET_XML_DESC")
LOOKUP = procedures.by_name("REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME")
GET_INFO = procedures.by_name("REMOTE_PROC_DOMAIN_GET_INFO")
MiB = 1024 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def big_domain_xml(size: int) -> str:
    return (
        "<domain type='test'><name>big</name><memory>1048576</memory><vcpu>1</vcpu>"
        f"<description>{'x' * size}</description>"
        "<os><type>hvm</type></os></domain>"
    )


def test_pipelined_big_replies_do_not_grow_the_daemon(tmp_path):
    sock, ro = tmp_path / "sock", tmp_path / "sock-ro"
    s = Serve(["--state-dir", str(tmp_path / "st"), "--unix", str(sock), "--unix-ro", str(ro)])
    attackers: list[socket.socket] = []
    try:
        s.wait_listening(2)
        good = WireClient.connect_unix(sock)
        good.prologue()
        good.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=big_domain_xml(2 * MiB)))
        dom = good.call(LOOKUP.number, rp.RemoteDomainLookupByNameArgs(name="big")).dom
        assert (
            len(good.call(GET_XML.number, rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0)).xml)
            > 2 * MiB
        )
        before = rss_kib(s.proc.pid)

        bad = WireClient.connect_unix(ro)
        bad.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        attackers.append(bad.sock)
        bad.open()
        payload = rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0).pack()
        bad.sock.setblocking(False)
        sent = 0
        for _ in range(300):  # the daemon stops reading: our send buffer fills, we stop too
            frame_bytes = _frame(bad, GET_XML.number, payload)
            try:
                view = memoryview(frame_bytes)
                while view:
                    view = view[bad.sock.send(view) :]
            except BlockingIOError:
                break
            sent += 1

        worst = 0.0
        for _ in range(20):
            t0 = time.monotonic()
            assert good.call(GET_INFO.number, rp.RemoteDomainGetInfoArgs(dom=dom)).maxMem
            worst = max(worst, time.monotonic() - t0)
        grown_mib = (rss_kib(s.proc.pid) - before) / 1024
        assert grown_mib < 128, f"daemon grew by {grown_mib:.0f} MiB after {sent} calls"
        assert worst < 1.0, f"good client's worst call {worst:.2f} s"
    finally:
        for a in attackers:
            a.close()
        s.stop(signal.SIGKILL)


def _frame(client: WireClient, proc: int, payload: bytes) -> bytes:
    serial = client.serial
    client.serial += 1
    return encode_frame(
        Header(REMOTE_PROGRAM, 1, proc, MessageType.CALL, serial, MessageStatus.OK), payload
    )
