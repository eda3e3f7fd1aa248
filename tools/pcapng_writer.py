"""A pcapng file of synthesized TCP/IP for bytes that never crossed a network interface.

The recording proxy relays unix-socket (and TCP) libvirt traffic; to make that readable by
``virtwire decode`` and by Wireshark/tshark with libvirt's dissector, each relayed connection
is written as a TCP conversation: a three-way handshake when it opens, one segment per chunk
read (split at 65 000 bytes, which fits an IPv4 packet), with correct sequence and
acknowledgement numbers, and FIN when a side closes. Link type Ethernet, nanosecond
timestamps (``if_tsresol`` = 9). The payload bytes are exactly the relayed ones.
"""

from __future__ import annotations

import ipaddress
import itertools
import struct
from typing import BinaryIO

__all__ = ["PcapngWriter", "TcpConversation"]

_SEGMENT_MAX = 65000
_ETH_V4 = b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00"
_ETH_V6 = b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x86\xdd"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapngWriter:
    """Section header + one Ethernet interface; :meth:`packet` appends an EPB."""

    def __init__(
        self, fh: BinaryIO, *, flush: bool = True, application: str = "virtwire proxy"
    ) -> None:
        self.fh = fh
        self.flush = flush
        app = application.encode()
        opts = struct.pack("<HH", 4, len(app)) + app + b"\x00" * (-len(app) % 4)  # shb_userappl
        opts += struct.pack("<HH", 0, 0)
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts
        self._block(0x0A0D0D0A, body)
        idb_opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)  # if_tsresol = 1e-9
        self._block(1, struct.pack("<HHI", 1, 0, 0) + idb_opts)
        fh.flush()

    def _block(self, btype: int, body: bytes) -> None:
        pad = -len(body) % 4
        total = 12 + len(body) + pad
        self.fh.write(
            struct.pack("<II", btype, total) + body + b"\x00" * pad + struct.pack("<I", total)
        )

    def packet(self, time_ns: int, frame: bytes) -> None:
        body = struct.pack("<IIIII", 0, time_ns >> 32, time_ns & 0xFFFFFFFF, len(frame), len(frame))
        self._block(6, body + frame)
        if self.flush:
            self.fh.flush()


class TcpConversation:
    """One synthesized TCP connection between ``client`` and ``server`` (host, port) pairs."""

    _isn = itertools.count(0x1000_0000, 0x0100_0000)

    def __init__(
        self, writer: PcapngWriter, client: tuple[str, int], server: tuple[str, int]
    ) -> None:
        self.writer = writer
        c = ipaddress.ip_address(client[0])
        s = ipaddress.ip_address(server[0])
        if c.version != s.version:  # keep both ends in one family
            c = (
                ipaddress.ip_address("::1" if c.version == 4 else "127.0.0.1")
                if c.is_loopback
                else c
            )
            if c.version != s.version:
                c, s = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.0.0.1")
        self.v6 = c.version == 6
        self.addr = {True: (c.packed, client[1]), False: (s.packed, server[1])}
        isn = next(self._isn) & 0xFFFFFFFF
        self.seq = {True: isn, False: (isn + 0x0080_0000) & 0xFFFFFFFF}
        self.ident = 0
        self.closed = {True: False, False: False}

    def _emit(self, from_client: bool, flags: int, data: bytes, time_ns: int) -> None:
        (src, sport), (dst, dport) = self.addr[from_client], self.addr[not from_client]
        seq = self.seq[from_client]
        ack = self.seq[not from_client] if flags & ACK else 0
        tcp_len = 20 + len(data)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
        if self.v6:
            pseudo = src + dst + struct.pack(">I3xB", tcp_len, 6)
        else:
            pseudo = src + dst + struct.pack(">BBH", 0, 6, tcp_len)
        csum = _checksum(pseudo + tcp + data)
        tcp = tcp[:16] + struct.pack(">H", csum) + tcp[18:]
        if self.v6:
            ip = struct.pack(">IHBB16s16s", 0x60000000, tcp_len, 6, 64, src, dst)
            frame = _ETH_V6 + ip + tcp + data
        else:
            self.ident = (self.ident + 1) & 0xFFFF
            hdr = struct.pack(
                ">BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, self.ident, 0x4000, 64, 6, 0, src, dst
            )
            hdr = hdr[:10] + struct.pack(">H", _checksum(hdr)) + hdr[12:]
            frame = _ETH_V4 + hdr + tcp + data
        self.writer.packet(time_ns, frame)
        advance = len(data) + (1 if flags & (SYN | FIN) else 0)
        self.seq[from_client] = (seq + advance) & 0xFFFFFFFF

    def open(self, time_ns: int) -> None:
        """SYN, SYN-ACK, ACK."""
        self._emit(True, SYN, b"", time_ns)
        self._emit(False, SYN | ACK, b"", time_ns)
        self._emit(True, ACK, b"", time_ns)

    def data(self, from_client: bool, data: bytes, time_ns: int) -> None:
        for i in range(0, len(data), _SEGMENT_MAX):
            self._emit(from_client, PSH | ACK, data[i : i + _SEGMENT_MAX], time_ns)

    def close(self, from_client: bool, time_ns: int) -> None:
        """FIN from one side (once)."""
        if not self.closed[from_client]:
            self.closed[from_client] = True
            self._emit(from_client, FIN | ACK, b"", time_ns)
