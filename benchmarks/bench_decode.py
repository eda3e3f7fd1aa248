"""`virtwire decode --format json` against `tshark -T json` with libvirt's dissector, same file.

    python benchmarks/bench_decode.py [--frames 200000] [--keep DIR]

Builds a synthetic capture (classic pcap, Ethernet/IPv4/TCP on port 16509) of libvirt
traffic in a temporary directory: several connections, each a virsh-like prologue followed by
a mix of real call/reply pairs (lookups, domain info, list-all, XML define, errors), lifecycle
events and keepalive, one frame per TCP segment as a real client sends them. Then times both
decoders writing JSON to /dev/null and prints frames/s for each and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.constants import KEEPALIVE_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp

PORT = 16509


def _proc(name: str) -> procedures.Procedure:
    found = procedures.resolve(name)
    assert found is not None, name
    return found


def conversation_pairs() -> list[tuple[str, object, object, bool]]:
    """(procedure, args value, ret value or LibvirtError, is_event) of one client's work."""
    dom = rp.RemoteNonnullDomain("guest-01", bytes(range(16)), 7)
    xml = "<domain type='test'><name>guest-01</name><memory unit='KiB'>524288</memory></domain>"
    err = LibvirtError.make(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, "no domain with name 'x'")
    return [
        (
            "CONNECT_SUPPORTS_FEATURE",
            rp.RemoteConnectSupportsFeatureArgs(10),
            rp.RemoteConnectSupportsFeatureRet(1),
            False,
        ),
        ("CONNECT_OPEN", rp.RemoteConnectOpenArgs("test:///default", 0), None, False),
        (
            "DOMAIN_LOOKUP_BY_NAME",
            rp.RemoteDomainLookupByNameArgs("guest-01"),
            rp.RemoteDomainLookupByNameRet(dom),
            False,
        ),
        (
            "DOMAIN_GET_INFO",
            rp.RemoteDomainGetInfoArgs(dom),
            rp.RemoteDomainGetInfoRet(1, 8388608, 2097152, 2, 123456789),
            False,
        ),
        (
            "CONNECT_LIST_ALL_DOMAINS",
            rp.RemoteConnectListAllDomainsArgs(1, 3),
            rp.RemoteConnectListAllDomainsRet([dom, dom], 2),
            False,
        ),
        (
            "DOMAIN_GET_XML_DESC",
            rp.RemoteDomainGetXmlDescArgs(dom, 0),
            rp.RemoteDomainGetXmlDescRet(xml * 3),
            False,
        ),
        (
            "DOMAIN_DEFINE_XML",
            rp.RemoteDomainDefineXmlArgs(xml),
            rp.RemoteDomainDefineXmlRet(dom),
            False,
        ),
        ("DOMAIN_LOOKUP_BY_NAME", rp.RemoteDomainLookupByNameArgs("x"), err, False),
        (
            "DOMAIN_EVENT_CALLBACK_LIFECYCLE",
            None,
            rp.RemoteDomainEventCallbackLifecycleMsg(
                3, rp.RemoteDomainEventLifecycleMsg(dom, 5, 1)
            ),
            True,
        ),
        (
            "DOMAIN_GET_STATE",
            rp.RemoteDomainGetStateArgs(dom, 0),
            rp.RemoteDomainGetStateRet(1, 0),
            False,
        ),
    ]


def frames_for(serial: int, item) -> list[tuple[bool, bytes]]:
    name, args, ret, is_event = item
    proc = _proc(name)
    if is_event:
        h = Header(REMOTE_PROGRAM, 1, proc.number, MessageType.MESSAGE, 1, MessageStatus.OK)
        return [(False, encode_frame(h, proc.msg.pack(ret)))]
    call = Header(REMOTE_PROGRAM, 1, proc.number, MessageType.CALL, serial, MessageStatus.OK)
    out = [(True, encode_frame(call, proc.args.pack(args) if args is not None else b""))]
    if isinstance(ret, LibvirtError):
        h = Header(REMOTE_PROGRAM, 1, proc.number, MessageType.REPLY, serial, MessageStatus.ERROR)
        out.append((False, encode_frame(h, rp.CODECS["remote_error"].pack(ret.to_remote_error()))))
    else:
        h = Header(REMOTE_PROGRAM, 1, proc.number, MessageType.REPLY, serial, MessageStatus.OK)
        out.append((False, encode_frame(h, proc.ret.pack(ret) if ret is not None else b"")))
    return out


class PcapWriter:
    def __init__(self, path: Path) -> None:
        self.fh = path.open("wb")
        self.fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.t = 1_700_000_000.0

    def segment(
        self, src_port: int, dst_port: int, seq: int, ack: int, flags: int, data: bytes
    ) -> None:
        tcp = struct.pack(">HHIIBBHHH", src_port, dst_port, seq, ack, 0x50, flags, 65535, 0, 0)
        total = 20 + 20 + len(data)
        ip = struct.pack(
            ">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, b"\x7f\0\0\x01", b"\x7f\0\0\x01"
        )
        eth = b"\0" * 12 + b"\x08\x00"
        pkt = eth + ip + tcp + data
        self.t += 0.00001
        sec = int(self.t)
        usec = int((self.t - sec) * 1e6)
        self.fh.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)

    def close(self) -> None:
        self.fh.close()


def build(path: Path, frames: int) -> int:
    w = PcapWriter(path)
    pairs = conversation_pairs()
    ping = encode_frame(Header(KEEPALIVE_PROGRAM, 1, 1, MessageType.MESSAGE, 0, MessageStatus.OK))
    pong = encode_frame(Header(KEEPALIVE_PROGRAM, 1, 2, MessageType.MESSAGE, 0, MessageStatus.OK))
    written = 0
    conn = 0
    per_conn = 5000
    while written < frames:
        cport = 40000 + conn
        conn += 1
        seq = {True: 1000, False: 9000}
        w.segment(cport, PORT, seq[True] - 1, 0, 0x02, b"")
        w.segment(PORT, cport, seq[False] - 1, seq[True], 0x12, b"")
        serial = 0
        n = 0
        while n < per_conn and written < frames:
            item = pairs[serial % len(pairs)]
            msgs = frames_for(serial, item)
            if serial % 97 == 50:
                msgs += [(False, ping), (True, pong)]
            serial += 1
            for to_server, data in msgs:
                if to_server:
                    w.segment(cport, PORT, seq[True], seq[False], 0x18, data)
                else:
                    w.segment(PORT, cport, seq[False], seq[True], 0x18, data)
                seq[to_server] = (seq[to_server] + len(data)) & 0xFFFFFFFF
                written += 1
                n += 1
        w.segment(cport, PORT, seq[True], seq[False], 0x11, b"")
        w.segment(PORT, cport, seq[False], seq[True] + 1, 0x11, b"")
    w.close()
    return written


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    with open("/dev/null", "wb") as null:
        subprocess.run(cmd, stdout=null, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="write the capture here and keep it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-decode-"))
    try:
        path = (args.keep or tmp) / "bench.pcap"
        t0 = time.perf_counter()
        n = build(path, args.frames)
        print(
            f"capture: {n} libvirt frames, {path.stat().st_size / 1e6:.1f} MB, built in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        ours = timed(
            [sys.executable, "-m", "virtwire.tools.cli", "decode", str(path), "--format", "json"]
        )
        print(f"virtwire decode --format json: {ours:7.2f} s  {n / ours:10.0f} frames/s")
        if shutil.which("tshark") is None:
            print("tshark: not installed, no comparison")
            return 0
        theirs = timed(
            ["tshark", "-n", "-r", str(path), "-T", "json", "-d", f"tcp.port=={PORT},libvirt"]
        )
        print(f"tshark -T json (libvirt):      {theirs:7.2f} s  {n / theirs:10.0f} frames/s")
        print(f"ratio virtwire/tshark: {theirs / ours:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
