"""Packet captures → TCP segments → reassembled byte streams, for the wire decoder.

Why our own reader instead of dpkt's object model: the decoder is benchmarked against tshark,
and building a dpkt ``Ethernet``/``IP``/``TCP`` object per packet costs more than everything
else the decoder does per frame. Here each record is cut with precompiled ``struct``s on a
``memoryview`` of the whole file.

Supported: classic pcap (microsecond and nanosecond magic, either byte order) and pcapng
(SHB/IDB/EPB/SPB/OPB, several interfaces and sections, ``if_tsresol``); link types Ethernet
(with 802.1Q/QinQ tags), Linux cooked SLL and SLL2, BSD loopback NULL and LOOP, raw IP
(101, 12, 14, 228, 229); IPv4 and IPv6 (with the usual extension headers). IP fragments are
counted and skipped (libvirt's TCP traffic is never fragmented on loopback or with PMTU).

:class:`TcpStream` reassembles one direction of one TCP connection: segments are placed by
sequence number, so out-of-order arrival, retransmissions and overlapping segments all give the
bytes the receiver saw, once, in order. A direction whose SYN was not captured starts at its
first segment (``midstream``); a hole that never fills is reported as a gap.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CaptureError",
    "Packet",
    "TcpStream",
    "format_addr",
    "read_packets",
]

# link types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_RAW_TYPES = {LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6}

TH_FIN = 0x01
TH_SYN = 0x02
TH_RST = 0x04
TH_ACK = 0x10

_U16 = struct.Struct(">H")
_IPV4 = struct.Struct(">BBHHHBBH4s4s")
_IPV6 = struct.Struct(">IHBB16s16s")
_TCP = struct.Struct(">HHIIBB")
_V6_EXT = {0, 43, 60, 51, 135, 139, 140}  # hop-by-hop, routing, dst opts, AH (len differs), ...


class CaptureError(ValueError):
    """The file is not a pcap/pcapng capture we can read."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One TCP segment: where it is in the capture, when, between whom, and its bytes."""

    number: int  # 1-based record number, as Wireshark counts frames
    time: float  # seconds since the epoch
    src: bytes  # 4 or 16 address bytes
    sport: int
    dst: bytes
    dport: int
    seq: int
    flags: int
    data: bytes


def format_addr(addr: bytes, port: int) -> str:
    """``127.0.0.1:16509`` / ``[::1]:16509``."""
    if len(addr) == 4:
        return f"{addr[0]}.{addr[1]}.{addr[2]}.{addr[3]}:{port}"
    import ipaddress

    return f"[{ipaddress.IPv6Address(addr)}]:{port}"


@dataclass(slots=True)
class ReadStats:
    """What the reader skipped, for the decoder's summary."""

    records: int = 0
    non_tcp: int = 0
    fragments: int = 0
    truncated: int = 0
    link_types: set[int] = field(default_factory=set)
    unsupported_link: set[int] = field(default_factory=set)


def _ip_offset(linktype: int, buf: memoryview) -> int:
    """Where the IP header starts in a link-layer frame, or -1 (not IP / unsupported)."""
    if linktype == LINKTYPE_ETHERNET:
        if len(buf) < 14:
            return -1
        off = 12
        etype = _U16.unpack_from(buf, off)[0]
        while etype in (0x8100, 0x88A8, 0x9100) and len(buf) >= off + 6:
            off += 4
            etype = _U16.unpack_from(buf, off)[0]
        return off + 2 if etype in (0x0800, 0x86DD) else -1
    if linktype == LINKTYPE_LINUX_SLL:
        if len(buf) < 16:
            return -1
        return 16 if _U16.unpack_from(buf, 14)[0] in (0x0800, 0x86DD) else -1
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(buf) < 20:
            return -1
        return 20 if _U16.unpack_from(buf, 0)[0] in (0x0800, 0x86DD) else -1
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        # the family word: host order for NULL (either here), network order for LOOP;
        # AF_INET is 2 everywhere, AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs, macOS)
        if len(buf) < 4:
            return -1
        b = bytes(buf[:4])
        family = (
            int.from_bytes(b, "big") if b[0] == 0 and b[1] == 0 else int.from_bytes(b, "little")
        )
        return 4 if family in (2, 10, 24, 28, 30) else -1
    if linktype in _RAW_TYPES:
        return 0
    return -2


def _tcp_of(
    linktype: int, buf: memoryview, stats: ReadStats
) -> tuple[bytes, int, bytes, int, int, int, bytes] | None:
    off = _ip_offset(linktype, buf)
    if off < 0:
        if off == -2:
            stats.unsupported_link.add(linktype)
        stats.non_tcp += 1
        return None
    n = len(buf)
    if n < off + 20:
        stats.truncated += 1
        return None
    version = buf[off] >> 4
    if version == 4:
        vihl, _tos, total, _id, frag, _ttl, proto, _sum, src, dst = _IPV4.unpack_from(buf, off)
        if proto != 6:
            stats.non_tcp += 1
            return None
        if frag & 0x3FFF:  # MF set or a non-zero offset
            stats.fragments += 1
            return None
        ihl = (vihl & 0x0F) * 4
        end = off + total if total else n  # total 0: TSO-captured, take what we have
        if end > n:
            stats.truncated += 1
            end = n
        t = off + ihl
    elif version == 6:
        if n < off + 40:
            stats.truncated += 1
            return None
        _vtf, plen, nxt, _hop, src, dst = _IPV6.unpack_from(buf, off)
        t = off + 40
        end = t + plen if plen else n
        if end > n:
            stats.truncated += 1
            end = n
        while nxt != 6:
            if nxt == 44:  # fragment header
                stats.fragments += 1
                return None
            if nxt not in _V6_EXT or t + 8 > end:
                stats.non_tcp += 1
                return None
            hlen = (buf[t + 1] + 2) * 4 if nxt == 51 else (buf[t + 1] + 1) * 8
            nxt = buf[t]
            t += hlen
    else:
        stats.non_tcp += 1
        return None
    if end < t + 20:
        stats.truncated += 1
        return None
    sport, dport, seq, _ack, doff, flags = _TCP.unpack_from(buf, t)
    data_start = t + (doff >> 4) * 4
    data = bytes(buf[data_start:end]) if end > data_start else b""
    return bytes(src), sport, bytes(dst), dport, seq, flags, data


def _pcap_records(
    view: memoryview, stats: ReadStats
) -> Iterator[tuple[int, float, int, memoryview]]:
    magic = bytes(view[:4])
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:  # pragma: no cover - checked by the caller
        raise CaptureError("not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    scale = 1e-9 if nano else 1e-6
    if len(view) < 24:
        raise CaptureError("pcap file shorter than its header")
    linktype = struct.unpack_from(order + "I", view, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    unpack = rec.unpack_from
    pos = 24
    n = len(view)
    number = 0
    while pos + 16 <= n:
        sec, frac, incl, _orig = unpack(view, pos)
        pos += 16
        if pos + incl > n:
            stats.truncated += 1
            break
        number += 1
        yield number, sec + frac * scale, linktype, view[pos : pos + incl]
        pos += incl


def _pcapng_records(
    view: memoryview, stats: ReadStats
) -> Iterator[tuple[int, float, int, memoryview]]:
    n = len(view)
    pos = 0
    order = "<"
    interfaces: list[tuple[int, float]] = []  # (linktype, seconds per tick)
    number = 0
    while pos + 12 <= n:
        btype_le = struct.unpack_from("<I", view, pos)[0]
        if btype_le == 0x0A0D0D0A:  # section header: sets the byte order
            bom = bytes(view[pos + 8 : pos + 12])
            order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        btype, blen = struct.unpack_from(order + "II", view, pos)
        if blen < 12 or pos + blen > n:
            stats.truncated += 1
            break
        body = pos + 8
        if btype == 1:  # interface description
            linktype = struct.unpack_from(order + "H", view, body)[0]
            resol = 1e-6
            opt = body + 8
            end = pos + blen - 4
            while opt + 4 <= end:
                code, olen = struct.unpack_from(order + "HH", view, opt)
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    v = view[opt + 4]
                    resol = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0**-v
                opt += 4 + ((olen + 3) & ~3)
            interfaces.append((linktype, resol))
        elif btype in (6, 2):  # enhanced / obsolete packet block
            if btype == 6:
                iface, hi, lo, cap, _orig = struct.unpack_from(order + "IIIII", view, body)
                data = body + 20
            else:
                iface, _drops, hi, lo, cap, _orig = struct.unpack_from(order + "HHIIII", view, body)
                data = body + 20
            number += 1
            if iface >= len(interfaces) or data + cap > pos + blen:
                stats.truncated += 1
            else:
                linktype, resol = interfaces[iface]
                yield number, ((hi << 32) | lo) * resol, linktype, view[data : data + cap]
        elif btype == 3:  # simple packet block: interface 0, no timestamp
            number += 1
            if interfaces:
                orig = struct.unpack_from(order + "I", view, body)[0]
                cap = min(orig, blen - 16)
                yield number, 0.0, interfaces[0][0], view[body + 4 : body + 4 + cap]
        pos += blen


def read_packets(path: str | Path, stats: ReadStats | None = None) -> Iterator[Packet]:
    """Every TCP segment of a pcap or pcapng file, in capture order."""
    if stats is None:
        stats = ReadStats()
    with open(path, "rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            raise CaptureError(f"{path}: empty file") from None
    view = memoryview(mm)
    try:
        magic = bytes(view[:4])
        if magic == b"\x0a\x0d\x0d\x0a":
            records = _pcapng_records(view, stats)
        elif magic in (
            b"\xd4\xc3\xb2\xa1",
            b"\x4d\x3c\xb2\xa1",
            b"\xa1\xb2\xc3\xd4",
            b"\xa1\xb2\x3c\x4d",
        ):
            records = _pcap_records(view, stats)
        else:
            raise CaptureError(f"{path}: not a pcap or pcapng file (magic {magic.hex()})")
        new_packet = Packet
        for number, ts, linktype, buf in records:
            stats.records += 1
            stats.link_types.add(linktype)
            seg = _tcp_of(linktype, buf, stats)
            buf.release()
            if seg is not None:
                src, sport, dst, dport, seq, flags, data = seg
                yield new_packet(number, ts, src, sport, dst, dport, seq, flags, data)
    finally:
        view.release()
        mm.close()


_MOD = 1 << 32
_HALF = 1 << 31


class TcpStream:
    """One direction of one TCP connection, reassembled by sequence number.

    :meth:`add` takes a segment and returns the bytes it makes available in order (possibly
    empty: a duplicate, or a segment beyond a hole, which waits in ``pending``).
    :meth:`flush_gap` gives up on a hole: it returns the bytes after it and how many bytes
    were missing, so the caller can resynchronise.
    """

    __slots__ = ("next_seq", "pending", "pending_bytes", "midstream", "syn_seen", "delivered")

    #: a hole is declared lost when this much data waits behind it
    MAX_PENDING = 16 * 1024 * 1024

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        self.midstream = False
        self.syn_seen = False
        self.delivered = 0

    def syn(self, seq: int) -> None:
        self.next_seq = (seq + 1) % _MOD
        self.syn_seen = True

    def add(self, seq: int, data: bytes) -> bytes:
        nxt = self.next_seq
        if nxt is None:  # no SYN captured: start where the capture starts
            self.midstream = True
            nxt = self.next_seq = seq
        delta = (seq - nxt) % _MOD
        if delta == 0:
            out = data
        elif delta >= _HALF:  # starts before what we have: retransmission or overlap
            behind = _MOD - delta
            if behind >= len(data):
                return b""
            out = data[behind:]
        else:  # beyond a hole: wait for it to fill
            old = self.pending.get(seq)
            if old is None or len(old) < len(data):
                self.pending[seq] = data
                self.pending_bytes += len(data) - (len(old) if old else 0)
            return b""
        self.next_seq = (nxt + len(out)) % _MOD
        self.delivered += len(out)
        if self.pending:
            return self._drain(out)
        return out

    def _drain(self, out: bytes) -> bytes:
        """Append every waiting segment that now starts at or before ``next_seq``."""
        parts = [out]
        pending = self.pending
        while pending:
            nxt = self.next_seq
            data = pending.pop(nxt, None)
            if data is None:
                # a waiting segment that starts before nxt and may reach past it (overlap)
                found = None
                behind = 0
                for seq in pending:
                    behind = (nxt - seq) % _MOD
                    if behind < _HALF:
                        found = seq
                        break
                if found is None:
                    break
                data = pending.pop(found)
                self.pending_bytes -= len(data)
                if behind >= len(data):
                    continue
                data = data[behind:]
            else:
                self.pending_bytes -= len(data)
            self.next_seq = (nxt + len(data)) % _MOD
            self.delivered += len(data)
            parts.append(data)
        return b"".join(parts) if len(parts) > 1 else out

    def flush_gap(self) -> tuple[int, bytes]:
        """Skip to the first waiting segment: ``(missing byte count, bytes now in order)``."""
        if not self.pending or self.next_seq is None:
            return 0, b""
        nxt = self.next_seq
        first = min(self.pending, key=lambda s: (s - nxt) % _MOD)
        missing = (first - nxt) % _MOD
        data = self.pending.pop(first)
        self.pending_bytes -= len(data)
        self.next_seq = first
        out = self.add(first, data)
        return missing, out
