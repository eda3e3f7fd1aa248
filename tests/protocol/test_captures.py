"""Every PDU of every captured real-libvirt conversation decodes and re-encodes byte for byte.

The pcaps (libvirtd 9.0 on 127.0.0.1, driven by virsh / python3-libvirt) live in
``tests/data/captures``; each ``*.summary.txt`` beside them lists the PDUs as the capture
tool decoded them (frame, direction, program, procedure, type, serial, status), which we use
as the oracle for names and header fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dpkt
import pytest
from virtwire.protocol import events, procedures
from virtwire.protocol.constants import KEEPALIVE_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    encode_frame,
)
from virtwire.protocol.generated import remote_protocol as rp

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"
PCAPS = sorted(CAPTURES.glob("*.pcap"))


@dataclass
class Pdu:
    frame_no: int  # 1-based pcap frame that completed this PDU
    direction: str  # "C>S" or "S>C"
    frame: Frame
    raw: bytes


def _tcp_segments(path: Path):
    with path.open("rb") as fh:
        for number, (_ts, buf) in enumerate(dpkt.pcap.Reader(fh), start=1):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                continue
            tcp = ip.data
            if isinstance(tcp, dpkt.tcp.TCP):
                yield number, tcp


def read_pdus(path: Path) -> list[Pdu]:
    """Reassemble each TCP direction (by sequence number) and cut it into libvirt frames."""
    server_port: int | None = None
    next_seq: dict[tuple[int, int], int] = {}
    pending: dict[tuple[int, int], dict[int, bytes]] = {}
    decoders: dict[tuple[int, int], FrameDecoder] = {}
    streams: dict[tuple[int, int], bytearray] = {}
    offsets: dict[tuple[int, int], int] = {}
    pdus: list[Pdu] = []
    for number, tcp in _tcp_segments(path):
        flow = (tcp.sport, tcp.dport)
        syn = bool(tcp.flags & dpkt.tcp.TH_SYN)
        if syn:
            if not tcp.flags & dpkt.tcp.TH_ACK and server_port is None:
                server_port = tcp.dport
            next_seq[flow] = (tcp.seq + 1) & 0xFFFFFFFF
            continue
        if not tcp.data or flow not in next_seq:
            continue
        pending.setdefault(flow, {})[tcp.seq] = bytes(tcp.data)
        decoder = decoders.setdefault(flow, FrameDecoder())
        stream = streams.setdefault(flow, bytearray())
        # deliver every in-order segment we now have (drops retransmitted duplicates)
        while next_seq[flow] in pending[flow]:
            data = pending[flow].pop(next_seq[flow])
            next_seq[flow] = (next_seq[flow] + len(data)) & 0xFFFFFFFF
            stream += data
            for frame in decoder.feed(data):
                start = offsets.get(flow, 0)
                raw = encode_frame(frame.header, frame.payload, frame.nfds)
                offsets[flow] = start + len(raw)
                direction = "C>S" if tcp.dport == server_port else "S>C"
                pdus.append(Pdu(number, direction, frame, bytes(stream[start : start + len(raw)])))
    for flow, decoder in decoders.items():
        assert decoder.buffered == 0, f"{path.name}: trailing partial frame in {flow}"
    return pdus


def read_summary(path: Path) -> list[tuple[int, str, str, str, str, int, str]]:
    rows = []
    for line in path.with_suffix(".summary.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        frame_no, _t, direction, _cport, program, proc, mtype, serial, status = cols[:9]
        rows.append((int(frame_no), direction, program, proc, mtype, int(serial), status))
    return rows


def _short(name: str) -> str:
    for prefix in ("REMOTE_PROC_", "KEEPALIVE_PROC_", "QEMU_PROC_", "LXC_PROC_", "ADMIN_PROC_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _program(prog: int) -> str:
    return {REMOTE_PROGRAM: "REMOTE", KEEPALIVE_PROGRAM: "KEEPALIVE"}.get(prog, hex(prog))


def _body_codec(frame: Frame):
    """(codec, why) for the payload: None codec means 'must be empty' (void)."""
    h = frame.header
    if (
        h.type in (MessageType.REPLY, MessageType.REPLY_WITH_FDS)
        and h.status == MessageStatus.ERROR
    ):
        return rp.CODECS["remote_error"]
    spec = procedures.lookup(h.prog, h.vers, h.proc)
    assert spec is not None, f"not covered: {procedures.name_of(h.prog, h.vers, h.proc)}"
    if h.type in (MessageType.CALL, MessageType.CALL_WITH_FDS):
        return spec.args
    if h.type in (MessageType.REPLY, MessageType.REPLY_WITH_FDS):
        return spec.ret
    if h.type == MessageType.MESSAGE:
        return spec.msg
    raise AssertionError(f"unexpected message type {h.type!r}")


@pytest.mark.parametrize("pcap", PCAPS, ids=lambda p: p.stem)
def test_every_pdu_decodes_and_reencodes(pcap: Path) -> None:
    pdus = read_pdus(pcap)
    assert pdus
    for pdu in pdus:
        h = pdu.frame.header
        # the frame itself re-encodes to the captured bytes
        assert encode_frame(h, pdu.frame.payload, pdu.frame.nfds) == pdu.raw
        codec = _body_codec(pdu.frame)
        label = f"{pcap.name} frame {pdu.frame_no} {procedures.name_of(h.prog, h.vers, h.proc)}"
        if codec is None:
            assert pdu.frame.payload == b"", label
            continue
        value = codec.unpack(pdu.frame.payload)
        assert codec.pack(value) == pdu.frame.payload, label
        if h.type == MessageType.MESSAGE and h.proc in events.EVENT_ID_OF_PROC:
            callback_id, event = events.from_message(h.proc, value)
            proc, msg = events.to_message(event, callback_id)
            assert proc == h.proc
            assert codec.pack(msg) == pdu.frame.payload, label


@pytest.mark.parametrize("pcap", PCAPS, ids=lambda p: p.stem)
def test_names_and_headers_match_the_capture_summary(pcap: Path) -> None:
    got = []
    for pdu in read_pdus(pcap):
        h = pdu.frame.header
        name = _short(procedures.name_of(h.prog, h.vers, h.proc))
        got.append(
            (
                pdu.frame_no,
                pdu.direction,
                _program(h.prog),
                f"{name} ({h.proc})",
                MessageType(h.type).name,
                h.serial,
                MessageStatus(h.status).name,
            )
        )
    assert got == read_summary(pcap)


def test_known_frames() -> None:
    pdus = read_pdus(CAPTURES / "a-list-all.pcap")
    first = pdus[0]
    assert (
        procedures.name_of(
            first.frame.header.prog, first.frame.header.vers, first.frame.header.proc
        )
        == "REMOTE_PROC_AUTH_LIST"
    )
    assert first.raw == bytes.fromhex(
        "0000001c 20008086 00000001 00000042 00000000 00000000 00000000".replace(" ", "")
    )
    assert pdus[1].raw == bytes.fromhex(
        "00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000".replace(
            " ", ""
        )
    )
    reply = next(
        p for p in pdus if p.frame.header.proc == 273 and p.frame.header.type == MessageType.REPLY
    )
    spec = procedures.lookup(REMOTE_PROGRAM, 1, 273)
    value = spec.ret.unpack(reply.frame.payload)
    assert [d.name for d in value.domains] == ["test"]
    assert value.domains[0].uuid == bytes.fromhex("6695eb01f6a4830479aa97f2502e193f")


def test_keepalive_and_error_frames() -> None:
    pdus = read_pdus(CAPTURES / "d-attach-device.pcap")
    ping = next(p for p in pdus if p.frame.header.prog == KEEPALIVE_PROGRAM)
    assert ping.raw == bytes.fromhex(
        "0000001c 6b656570 00000001 00000001 00000002 00000000 00000000".replace(" ", "")
    )
    assert ping.direction == "S>C"
    error = next(p for p in pdus if p.frame.header.status == MessageStatus.ERROR)
    err = rp.CODECS["remote_error"].unpack(error.frame.payload)
    assert (err.code, err.domain, err.level) == (3, 20, 2)
    assert err.str2 == "virDomainAttachDeviceFlags"
    assert (err.int1, err.int2, err.dom, err.net) == (-1, -1, None, None)


def test_captured_events_are_typed() -> None:
    seen = []
    for pcap in PCAPS:
        for pdu in read_pdus(pcap):
            h = pdu.frame.header
            if h.type == MessageType.MESSAGE and h.prog == REMOTE_PROGRAM:
                assert h.serial == 1  # the daemon always sends serial 1 on events
                spec = procedures.lookup(h.prog, h.vers, h.proc)
                seen.append(events.from_message(h.proc, spec.msg.unpack(pdu.frame.payload)))
    kinds = {type(e).__name__ for _cb, e in seen}
    assert {"LifecycleEvent", "DeviceAddedEvent"} <= kinds
    assert all(cb is not None for cb, _e in seen)


@pytest.mark.parametrize(
    ("prog", "proc", "name"),
    [
        (REMOTE_PROGRAM, 446, "REMOTE_PROC_NETWORK_EVENT_CALLBACK_METADATA_CHANGE"),
        (REMOTE_PROGRAM, 456, "REMOTE_PROC_DOMAIN_ANNOUNCE_INTERFACE"),
        (0x20008087, 99, "QEMU proc 99"),
        (REMOTE_PROGRAM, 9999, "REMOTE proc 9999"),
    ],
)
def test_uncovered_bodies_still_decode_header_and_name(prog: int, proc: int, name: str) -> None:
    """A frame whose body our .x does not describe still frames, names and re-encodes."""
    header = Header(prog, 1, proc, MessageType.CALL, 42, MessageStatus.OK)
    raw = encode_frame(header, b"\x00\x00\x00\x07opaque\x00\x00")
    (frame,) = FrameDecoder().feed(raw)
    assert frame.header == header
    assert procedures.name_of(prog, 1, proc) == name
    assert procedures.lookup(prog, 1, proc) is None
    assert encode_frame(frame.header, frame.payload) == raw
