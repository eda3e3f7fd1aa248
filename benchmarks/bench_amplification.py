"""Reply amplification (issue 14 #1), side by side: libvirtd 9.0 and `virtwire serve`.

    python benchmarks/bench_amplification.py [--mib 2] [--calls 1000] [--attackers 3]

For each daemon (a private libvirtd started as in spec/peers.md §2, needs root and the
peer scripts; and `virtwire serve`), on ``test:///default`` over TCP: define a domain whose
XML is ``--mib`` MiB, then ``--attackers`` connections each pipeline up to ``--calls``
getXMLDesc calls of it and never read (a 4 KiB receive buffer, sends stop when the socket
is full), while a good client makes getLibVersion calls one at a time. Printed per daemon:
calls the attackers got onto the wire, the daemon's RSS growth at its peak, and the good
client's median and worst round trip. Both daemons count a call against
``max_client_requests`` (5) until its reply is written and stop reading a client at the
limit, so neither should grow by more than a few replies.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.framing import FrameDecoder, Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.tools.bench_servers import LibvirtdServer, ServerUnavailable, VirtwireServer, rss_kib

OPEN = procedures.resolve("CONNECT_OPEN")
DEFINE = procedures.resolve("DOMAIN_DEFINE_XML")
GET_XML = procedures.resolve("DOMAIN_GET_XML_DESC")
LIB_VERSION = procedures.resolve("CONNECT_GET_LIB_VERSION")
MiB = 1024 * 1024


class RawClient:
    """Calls over a plain socket, one at a time (no library between us and the daemon)."""

    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.decoder = FrameDecoder()
        self.serial = 0

    def frame(self, proc: procedures.Procedure, payload: bytes = b"") -> bytes:
        self.serial += 1
        header = Header(
            REMOTE_PROGRAM, PROTOCOL_VERSION, proc.number, MessageType.CALL, self.serial,
            MessageStatus.OK,
        )  # fmt: skip
        return encode_frame(header, payload)

    def call(self, proc: procedures.Procedure, args: object = None) -> bytes:
        payload = b"" if args is None else proc.args.pack(args)
        self.sock.sendall(self.frame(proc, payload))
        while True:
            for frame in self.decoder.feed(self.sock.recv(1 << 20) or _closed()):
                if frame.header.status != MessageStatus.OK:
                    raise RuntimeError(f"{proc.name} failed")
                return frame.payload

    def open(self) -> None:
        self.call(OPEN, rp.RemoteConnectOpenArgs(name="test:///default", flags=0))


def _closed() -> bytes:
    raise ConnectionError("the daemon closed the connection")


def big_domain_xml(size: int) -> str:
    return (
        "<domain type='test'><name>big</name><memory>1048576</memory><vcpu>1</vcpu>"
        f"<description>{'x' * size}</description><os><type>hvm</type></os></domain>"
    )


def attack(port: int, dom: object, calls: int) -> tuple[socket.socket, int]:
    """Pipeline getXMLDesc calls until the socket is full; never read."""
    bad = RawClient(port, rcvbuf=4096)
    bad.open()
    payload = GET_XML.args.pack(rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0))
    bad.sock.setblocking(False)
    sent = 0
    for _ in range(calls):
        view = memoryview(bad.frame(GET_XML, payload))
        try:
            while view:
                view = view[bad.sock.send(view) :]
        except BlockingIOError:
            break
        sent += 1
    return bad.sock, sent


def measure(server, mib: float, calls: int, attackers: int, seconds: float) -> dict:
    server.start()
    socks: list[socket.socket] = []
    try:
        good = RawClient(server.port)
        good.open()
        xml = big_domain_xml(int(mib * MiB))
        dom = DEFINE.ret.unpack(good.call(DEFINE, rp.RemoteDomainDefineXmlArgs(xml=xml))).dom
        before = peak = rss_kib(server.pid)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.02):
                with contextlib.suppress(OSError):
                    peak = max(peak, rss_kib(server.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        sent = 0
        for _ in range(attackers):
            sock, n = attack(server.port, dom, calls)
            socks.append(sock)
            sent += n
        times = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            good.call(LIB_VERSION)
            times.append(time.perf_counter() - t0)
        stop.set()
        sampler.join()
        return {
            "sent": sent,
            "grown_mib": (peak - before) / 1024,
            "median_ms": statistics.median(times) * 1000,
            "worst_ms": max(times) * 1000,
            "good_calls": len(times),
        }
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=float, default=2.0, help="size of the domain XML (MiB)")
    ap.add_argument("--calls", type=int, default=1000, help="calls each attacker tries")
    ap.add_argument("--attackers", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="how long the good client runs")
    ap.add_argument("--only", choices=("libvirtd", "virtwire"))
    args = ap.parse_args(argv)
    print(
        f"{args.attackers} attacker(s) x up to {args.calls} pipelined getXMLDesc of a "
        f"{args.mib:g} MiB domain, never read; a good client's getLibVersion for {args.seconds:g} s"
    )
    print(f"{'daemon':<10} {'calls sent':>10} {'RSS growth':>12} {'good median':>12} {'worst':>9}")
    servers = {"libvirtd": LibvirtdServer, "virtwire": VirtwireServer}
    failed = False
    for name, make in servers.items():
        if args.only and name != args.only:
            continue
        try:
            r = measure(make(), args.mib, args.calls, args.attackers, args.seconds)
        except ServerUnavailable as exc:
            print(f"{name:<10} skipped: {exc}")
            failed = failed or name == "virtwire"
            continue
        print(
            f"{name:<10} {r['sent']:>10} {r['grown_mib']:>9.1f} MiB {r['median_ms']:>9.2f} ms "
            f"{r['worst_ms']:>6.1f} ms"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
