"""`virtwire decode` on real captures (against the dissector's summaries) and on synthetic ones
built with dpkt: other file formats and link types, IPv6, and every way TCP can mangle the
order of bytes. All of them must give the frames of the clean capture."""

from __future__ import annotations

import json
import random
import socket
import struct
from pathlib import Path

import dpkt
import pytest
from virtwire.protocol import procedures
from virtwire.protocol.constants import KEEPALIVE_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.tools import decode
from virtwire.tools.capture import TH_ACK, TH_SYN, Packet, TcpStream, read_packets

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"
PCAPS = sorted(CAPTURES.glob("*.pcap"))
PORT = 16510  # the port of the peer daemon the captures were taken from


def _opts(**kw) -> decode.DecodeOptions:
    kw.setdefault("ports", (PORT,))
    return decode.DecodeOptions(**kw)


def read_summary(path: Path) -> list[tuple]:
    rows = []
    for line in path.with_suffix(".summary.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        frame_no, _t, direction, _cport, program, proc, mtype, serial, status = cols[:9]
        rows.append((int(frame_no), direction, program, proc, mtype, int(serial), status))
    return rows


@pytest.mark.parametrize("pcap", PCAPS, ids=lambda p: p.stem)
def test_captures_agree_with_the_dissector_summary(pcap: Path) -> None:
    records, summary = decode.decode_file(pcap, _opts())
    ours = [
        (
            r["frame"],
            r["direction"],
            r["program"],
            f"{r['short_name']} ({r['procedure']})",
            r["type"],
            r["serial"],
            r["status"],
        )
        for r in records
    ]
    assert ours == read_summary(pcap)
    assert not summary["malformed"] and not summary["resyncs"] and not summary["gaps"]
    assert all("body_error" not in r for r in records)


def test_bodies_errors_events_and_pairing() -> None:
    records, summary = decode.decode_file(CAPTURES / "d-attach-device.pcap", _opts())
    error = next(r for r in records if r["status"] == "ERROR")
    assert error["procedure_name"] == "REMOTE_PROC_DOMAIN_ATTACH_DEVICE_FLAGS"
    assert error["body"] == {
        "code": 3,
        "domain": 20,
        "message": "this function is not supported by the connection driver: "
        "virDomainAttachDeviceFlags",
        "level": 2,
        "dom": None,
        "str1": "this function is not supported by the connection driver: %s",
        "str2": "virDomainAttachDeviceFlags",
        "str3": None,
        "int1": -1,
        "int2": -1,
        "net": None,
    }
    assert error["error"]["code_name"] == "NO_SUPPORT"
    call = next(r for r in records if r["index"] == error["call_index"])
    assert call["type"] == "CALL" and call["serial"] == error["serial"]
    assert call["body"]["xml"].startswith("<memory model='dimm'>")
    assert error["latency"] == pytest.approx(error["time"] - call["time"])
    assert summary["errors"] == 1 and summary["error_replies"][0]["code"] == 3

    records, summary = decode.decode_file(CAPTURES / "c-event-loop.pcap", _opts())
    events = [r for r in records if r.get("event")]
    assert len(events) == summary["events"] == 4
    assert [e["body"]["msg"]["event"] for e in events] == [5, 2, 0, 1]
    assert all(e["serial"] == 1 and e["type"] == "MESSAGE" for e in events)
    assert summary["latency"]["count"] == summary["by_type"]["REPLY"]
    # the dissector shows CONNECT_GET_TYPE's string as its length ("type: 4"): we show it
    records, _ = decode.decode_file(CAPTURES / "f-version.pcap", _opts())
    get_type = next(
        r for r in records if r["short_name"] == "CONNECT_GET_TYPE" and r["type"] == "REPLY"
    )
    assert get_type["body"] == {"type": "TEST"}


def test_json_lines_schema_and_summary_last(capsys) -> None:
    assert (
        decode.main([str(CAPTURES / "b-dominfo.pcap"), "--port", str(PORT), "--format", "json"])
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frames, summary = lines[:-1], lines[-1]
    required = {
        "time",
        "src",
        "dst",
        "program",
        "version",
        "procedure",
        "procedure_name",
        "type",
        "serial",
        "status",
        "body",
    }
    for obj in frames:
        assert required <= obj.keys()
        assert isinstance(obj["time"], float) and isinstance(obj["procedure"], int)
    assert frames[0]["program"] == "REMOTE" and frames[0]["type"] == "CALL"
    assert frames[0]["status"] == "OK" and frames[0]["procedure_name"] == "REMOTE_PROC_AUTH_LIST"
    assert "procedure" not in summary and summary["summary"] is True
    assert summary["frames"] == len(frames)
    assert summary["by_procedure"]["REMOTE_PROC_CONNECT_SUPPORTS_FEATURE"] == 6
    assert summary["unanswered_calls"] == []
    assert {"p50_ms", "p90_ms", "p99_ms", "max_ms"} <= summary["latency"].keys()
    for key in ("errors", "events", "malformed"):
        assert key in summary


def test_text_mode_summary_on_stderr_and_verbose_bodies(capsys) -> None:
    assert decode.main([str(CAPTURES / "f-version.pcap"), "--port", str(PORT), "-v"]) == 0
    out, err = capsys.readouterr()
    assert "CONNECT_GET_VERSION(4) REPLY serial=7 OK" in out
    assert '{"hv_ver": 2}' in out
    assert "20 frames on 1 connection(s)" in err and "frames" not in out.split("\n")[0]


def test_default_ports_find_nothing_here_and_say_so(capsys) -> None:
    assert decode.main([str(CAPTURES / "f-version.pcap")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "try --port N or --port auto" in err


def test_port_auto_finds_the_daemon() -> None:
    clean, _ = decode.decode_file(CAPTURES / "c-event-loop.pcap", _opts())
    auto, summary = decode.decode_file(
        CAPTURES / "c-event-loop.pcap", decode.DecodeOptions(auto=True)
    )
    assert _norm(auto) == _norm(clean)
    assert summary["resyncs"] == []
    assert {r["direction"] for r in auto if r["type"] == "CALL"} == {"C>S"}


# --------------------------------------------------------------------------------------------
# synthetic captures


def _norm(records: list[dict]) -> dict[tuple[int, str], list[tuple]]:
    """Frames per (client port, direction): what must not depend on packetisation."""
    out: dict[tuple[int, str], list[tuple]] = {}
    for r in records:
        ends = r["src"] if r["direction"] == "C>S" else r["dst"]
        port = int(ends.rsplit(":", 1)[1])
        out.setdefault((port, r["direction"]), []).append(
            (
                r["program"],
                r["procedure"],
                r["type"],
                r["serial"],
                r["status"],
                json.dumps(r["body"], sort_keys=True),
                r.get("nfds"),
            )
        )
    return out


def _segments(path: Path) -> list[Packet]:
    return list(read_packets(path))


def _split(packets: list[Packet], size: int, overlap: int = 0) -> list[Packet]:
    """Cut every data segment into pieces of ``size`` bytes (each re-sending ``overlap``
    bytes of the one before)."""
    out = []
    for p in packets:
        if not p.data:
            out.append(p)
            continue
        off = 0
        while off < len(p.data):
            start = max(0, off - overlap)
            piece = p.data[start : off + size]
            out.append(
                Packet(
                    p.number,
                    p.time,
                    p.src,
                    p.sport,
                    p.dst,
                    p.dport,
                    (p.seq + start) % (1 << 32),
                    p.flags,
                    piece,
                )
            )
            off += size
    return out


def _ip(p: Packet, v6: bool) -> bytes:
    tcp = dpkt.tcp.TCP(
        sport=p.sport, dport=p.dport, seq=p.seq, flags=p.flags or TH_ACK, off=5, data=p.data
    )
    if v6:

        def six(a: bytes) -> bytes:
            return b"\x00" * 15 + bytes([a[3]]) if a[:1] == b"\x7f" else b"\x00" * 12 + a

        ip6 = dpkt.ip6.IP6(src=six(p.src), dst=six(p.dst), nxt=6, hlim=64, data=tcp)
        ip6.plen = len(bytes(tcp))
        return bytes(ip6)
    ip = dpkt.ip.IP(src=p.src, dst=p.dst, p=6, data=tcp)
    return bytes(ip)


def _link(linktype: int, ip: bytes, v6: bool) -> bytes:
    etype = 0x86DD if v6 else 0x0800
    if linktype == dpkt.pcap.DLT_EN10MB:
        return bytes(dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=etype)) + ip
    if linktype == 113:
        return bytes(dpkt.sll.SLL(type=0, hrd=772, hlen=6, ethtype=etype)) + ip
    if linktype == 276:
        return bytes(dpkt.sll2.SLL2(ethtype=etype, intindex=1, hrd=772, hlen=6)) + ip
    if linktype == 0:  # NULL: family in host byte order (little-endian here)
        return struct.pack("<I", socket.AF_INET6 if v6 else socket.AF_INET) + ip
    if linktype == 108:  # LOOP: network byte order
        return struct.pack(">I", socket.AF_INET6 if v6 else socket.AF_INET) + ip
    if linktype == 101:
        return ip
    raise AssertionError(linktype)


def _write(
    path: Path, packets: list[Packet], linktype: int = 1, fmt: str = "pcap", v6: bool = False
) -> Path:
    with path.open("wb") as fh:
        if fmt == "pcapng":
            writer = dpkt.pcapng.Writer(fh, snaplen=262144, linktype=linktype)
        else:
            writer = dpkt.pcap.Writer(fh, snaplen=262144, linktype=linktype, nano=fmt == "pcap-ns")
        for p in packets:
            writer.writepkt(_link(linktype, _ip(p, v6), v6), ts=p.time)
    return path


CLEAN = CAPTURES / "c-event-loop.pcap"


@pytest.fixture(scope="module")
def clean() -> dict:
    records, _ = decode.decode_file(CLEAN, _opts())
    return _norm(records)


@pytest.mark.parametrize(
    ("linktype", "fmt", "v6"),
    [
        (1, "pcap", False),
        (1, "pcap-ns", True),
        (1, "pcapng", False),
        (1, "pcapng", True),
        (113, "pcap", False),
        (113, "pcapng", True),
        (276, "pcap", True),
        (276, "pcapng", False),
        (0, "pcap", False),
        (0, "pcapng", True),
        (108, "pcap", True),
        (101, "pcapng", False),
    ],
    ids=lambda v: str(v),
)
def test_formats_link_types_and_ipv6(tmp_path, clean, linktype, fmt, v6) -> None:
    path = _write(tmp_path / "x.cap", _segments(CLEAN), linktype, fmt, v6)
    records, summary = decode.decode_file(path, _opts())
    assert _norm(records) == clean
    assert not summary["malformed"] and not summary["resyncs"]
    if v6:
        assert records[0]["src"].startswith("[::1]:")


def test_reordered_segments(tmp_path, clean) -> None:
    pieces = _split(_segments(CLEAN), 7)
    rng = random.Random(7)
    shuffled = []
    window: list[Packet] = []
    for p in pieces:  # shuffle within windows of 6 pieces, SYNs keep their place
        if p.flags & TH_SYN:
            shuffled += window + [p]
            window = []
            continue
        window.append(p)
        if len(window) == 6:
            rng.shuffle(window)
            shuffled += window
            window = []
    shuffled += window
    records, summary = decode.decode_file(_write(tmp_path / "r.pcap", shuffled), _opts())
    assert _norm(records) == clean
    assert not summary["gaps"] and not summary["malformed"]


def test_retransmissions_and_duplicates(tmp_path, clean) -> None:
    pieces = _split(_segments(CLEAN), 11)
    noisy = []
    for i, p in enumerate(pieces):
        noisy.append(p)
        if p.data and i % 3 == 0:
            noisy.append(p)  # immediate duplicate
        if p.data and i % 5 == 0 and i > 10:
            noisy.append(pieces[i - 10])  # a late retransmission of old data
    records, summary = decode.decode_file(_write(tmp_path / "d.pcap", noisy), _opts())
    assert _norm(records) == clean
    assert not summary["malformed"]


def test_overlapping_segments(tmp_path, clean) -> None:
    pieces = _split(_segments(CLEAN), 9, overlap=5)
    # and a big retransmission that covers several pieces at once, out of order
    segs = _segments(CLEAN)
    big = next(p for p in segs if len(p.data) > 100)
    pieces.insert(pieces.index(next(q for q in pieces if q.seq == big.seq and q.data)) + 3, big)
    records, summary = decode.decode_file(_write(tmp_path / "o.pcap", pieces), _opts())
    assert _norm(records) == clean
    assert not summary["malformed"]


@pytest.mark.parametrize("drop", [1, 3, 17, 40])
def test_capture_starting_mid_stream(tmp_path, clean, drop) -> None:
    """Drop the SYNs and the first pieces of every direction: the decoder finds the next
    header, says so, and the frames after it are exactly the clean capture's."""
    pieces = _split(_segments(CLEAN), 13)
    seen: dict[tuple, int] = {}
    kept = []
    for p in pieces:
        if p.flags & TH_SYN:
            continue
        key = (p.src, p.sport, p.dst, p.dport)
        if p.data:
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= drop:
                continue
        kept.append(p)
    records, summary = decode.decode_file(_write(tmp_path / "m.pcap", kept), _opts())
    got = _norm(records)
    assert summary["resyncs"] and all(
        r["reason"] == "capture starts mid-stream" for r in summary["resyncs"]
    )
    assert any("resync" in r for r in records)
    assert not summary["malformed"]
    for key, frames in got.items():
        full = clean[key]
        assert frames == full[len(full) - len(frames) :], key
        assert len(frames) >= len(full) - (drop * 13) // 28 - 1


def test_lost_segment_is_a_gap_then_resync(tmp_path, clean) -> None:
    pieces = _split(_segments(CLEAN), 10)
    victim = next(i for i, p in enumerate(pieces) if p.data and i > 30)
    del pieces[victim]
    records, summary = decode.decode_file(_write(tmp_path / "g.pcap", pieces), _opts())
    assert summary["gaps"] and summary["gaps"][0]["missing_bytes"] == 10
    assert summary["resyncs"]
    got = _norm(records)
    assert sum(map(len, got.values())) >= sum(map(len, clean.values())) - 2


# --------------------------------------------------------------------------------------------
# hand-made conversations: WITH_FDS, streams, holes, unknown procedures, bad bytes, TLS


def _conversation(
    messages: list[tuple[bool, bytes]], port: int = PORT, syn: bool = True, cport: int = 40000
) -> list[Packet]:
    c, s = b"\x7f\x00\x00\x01", b"\x7f\x00\x00\x01"
    seq = {True: 1000, False: 5000}
    out = []
    t = 1_700_000_000.0
    if syn:
        out.append(Packet(0, t, c, cport, s, port, 999, TH_SYN, b""))
        out.append(Packet(0, t, s, port, c, cport, 4999, TH_SYN | TH_ACK, b""))
    for to_server, data in messages:
        t += 0.001
        src, sp, dst, dp = (c, cport, s, port) if to_server else (s, port, c, cport)
        out.append(Packet(0, t, src, sp, dst, dp, seq[to_server], TH_ACK, data))
        seq[to_server] += len(data)
    return out


def _hdr(proc: int, mtype: int, serial: int, status: int = 0, prog: int = REMOTE_PROGRAM) -> Header:
    return Header(prog, 1, proc, MessageType(mtype), serial, MessageStatus(status))


def test_with_fds_stream_data_and_holes(tmp_path) -> None:
    dom = rp.RemoteNonnullDomain("vm1", b"\x11" * 16, 3)
    fd_args = rp.pack_remote_domain_open_graphics_fd_args(
        rp.RemoteDomainOpenGraphicsFdArgs(dom, 0, 0)
    )
    vol = rp.RemoteNonnullStorageVol("pool", "vol", "key")
    dl = rp.pack_remote_storage_vol_download_args(rp.RemoteStorageVolDownloadArgs(vol, 0, 0, 0))
    gfx = procedures.resolve("DOMAIN_OPEN_GRAPHICS_FD").number
    down = procedures.resolve("STORAGE_VOL_DOWNLOAD").number
    msgs = [
        (True, encode_frame(_hdr(gfx, 4, 1), fd_args, nfds=0)),  # CALL_WITH_FDS
        (False, encode_frame(_hdr(gfx, 5, 1), b"", nfds=1)),  # REPLY_WITH_FDS, one fd
        (True, encode_frame(_hdr(down, 0, 2), dl)),
        (False, encode_frame(_hdr(down, 1, 2), b"")),
        (False, encode_frame(_hdr(down, 3, 2, 2), b"hello stream data")),
        (False, encode_frame(_hdr(down, 6, 2, 2), struct.pack(">qI", 1 << 20, 0))),
        (False, encode_frame(_hdr(down, 3, 2, 0), b"")),  # end of stream
        (False, encode_frame(_hdr(1, 2, 0, prog=KEEPALIVE_PROGRAM), b"")),  # PING
        (True, encode_frame(_hdr(2, 2, 0, prog=KEEPALIVE_PROGRAM), b"")),  # PONG
        (True, encode_frame(_hdr(9999, 0, 3), b"\x00\x00\x00\x07")),  # unknown procedure
    ]
    path = _write(tmp_path / "s.pcap", _conversation(msgs))
    records, summary = decode.decode_file(path, _opts())
    assert [r["type"] for r in records] == [
        "CALL_WITH_FDS",
        "REPLY_WITH_FDS",
        "CALL",
        "REPLY",
        "STREAM",
        "STREAM_HOLE",
        "STREAM",
        "MESSAGE",
        "MESSAGE",
        "CALL",
    ]
    assert records[0]["nfds"] == 0 and records[1]["nfds"] == 1
    assert records[0]["body"]["dom"]["name"] == "vm1" and records[0]["procedure_name"].endswith(
        "DOMAIN_OPEN_GRAPHICS_FD"
    )
    assert records[1]["call_index"] == records[0]["index"]
    assert records[4]["body"] == {"data_length": 17, "preview": b"hello stream dat".hex()}
    assert records[5]["body"] == {"hole_length": 1 << 20, "flags": 0}
    assert records[6]["body"] == {"data_length": 0, "end": True}
    assert [r.get("keepalive") for r in records[7:9]] == ["PING", "PONG"]
    assert records[9]["procedure_name"] == "REMOTE proc 9999"
    assert records[9]["payload_length"] == 4
    assert summary["keepalive"] == 2 and summary["unanswered_calls"][0]["serial"] == 3


def test_malformed_bytes_resync_and_tls_opaque(tmp_path) -> None:
    good = encode_frame(_hdr(3, 0, 1), b"")
    bad_fds = encode_frame(_hdr(3, 4, 2), b"")[:28] + struct.pack(">I", 99)  # 99 fds > 32
    bad_fds = struct.pack(">I", len(bad_fds)) + bad_fds[4:]
    msgs = [
        (True, good),
        (True, b"\x00\x00\x00\x05garbage!"),  # length 5: too small
        (True, encode_frame(_hdr(3, 0, 3), b"")),
        (True, bad_fds),
        (True, encode_frame(_hdr(4, 0, 4), b"")),
    ]
    path = _write(tmp_path / "bad.pcap", _conversation(msgs))
    records, summary = decode.decode_file(path, _opts())
    assert [(r["procedure"], r["serial"]) for r in records] == [(3, 1), (3, 3), (4, 4)]
    assert len(summary["malformed"]) == 2
    assert "length 5" in summary["malformed"][0]["reason"]
    assert "file descriptors" in summary["malformed"][1]["reason"]
    assert len(summary["resyncs"]) == 2

    hello = b"\x16\x03\x01\x00\x50" + b"\x01" * 80
    tls = _write(tmp_path / "tls.pcap", _conversation([(True, hello), (False, hello)], port=16514))
    records, summary = decode.decode_file(tls, decode.DecodeOptions())
    assert records == [] and summary["opaque"][0]["bytes"] == 170
    assert summary["opaque"][0]["server"].endswith(":16514")


def test_tcp_stream_wraps_around_sequence_space() -> None:
    s = TcpStream()
    s.syn((1 << 32) - 3)
    assert s.add((1 << 32) - 2, b"ab") == b"ab"
    assert s.add(2, b"ef") == b""
    assert s.add(0, b"cd") == b"cdef"
    assert s.add(1, b"dx") == b""  # old data
    assert s.add(3, b"fgh") == b"gh"  # overlaps by one byte


def test_x_file_decoding_with_libvirts_own_protocol(capsys) -> None:
    from tests.libvirt_source import libvirt_x_dir

    try:
        xdir = libvirt_x_dir()
    except pytest.skip.Exception:
        pytest.skip("libvirt's .x files are not on this machine")
    args = [
        str(CAPTURES / "b-dominfo.pcap"),
        "--port",
        str(PORT),
        "--format",
        "json",
        "--x-file",
        str(xdir / "remote_protocol.x"),
        "--const",
        "VIR_UUID_BUFLEN=16",
    ]
    assert decode.main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ours, _ = decode.decode_file(CAPTURES / "b-dominfo.pcap", _opts())
    assert [obj["body"] for obj in lines[:-1]] == [r["body"] for r in ours]
    assert lines[-1]["malformed"] == []


def test_unreadable_file(tmp_path, capsys) -> None:
    bogus = tmp_path / "x.pcap"
    bogus.write_bytes(b"not a capture at all")
    assert decode.main([str(bogus)]) == 1
    assert "not a pcap or pcapng file" in capsys.readouterr().err


def test_docs_decode_example_works_as_printed() -> None:
    import shlex
    import subprocess
    import sys

    docs = (Path(__file__).resolve().parents[2] / "docs" / "tools.md").read_text()
    block = (
        docs.split("<!-- decode-example -->", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    )
    command, *expected = block.splitlines()
    assert command.startswith("$ virtwire decode ")
    argv = shlex.split(command[2:])[2:]
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "virtwire.tools.cli", "decode", *argv],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).splitlines() == expected


def test_port_auto_ignores_other_protocols(tmp_path) -> None:
    http = [(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (False, b"HTTP/1.1 200 OK\r\n\r\n" * 50)]
    lv = [
        (True, encode_frame(_hdr(3, 0, 1), b"")),
        (False, encode_frame(_hdr(3, 1, 1), b"\0\0\0\x04TEST")),
    ]
    packets = _conversation(http, port=8080, cport=41000) + _conversation(lv, port=23456)
    records, summary = decode.decode_file(
        _write(tmp_path / "mix.pcap", packets), decode.DecodeOptions(auto=True)
    )
    assert [(r["dst"].rsplit(":", 1)[1], r["type"]) for r in records] == [
        ("23456", "CALL"),
        ("40000", "REPLY"),
    ]
    assert records[1]["body"] == {"type": "TEST"}
    assert not summary["malformed"] and not summary["resyncs"]
