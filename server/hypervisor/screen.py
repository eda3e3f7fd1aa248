"""Screenshots of the simulated hosts (virDomainScreenshot), as libvirt 9.0 takes them.

* ``test:///default`` (``testDomainScreenshot``): flags must be 0, the screen number and the
  domain's state are ignored, the answer is ``image/png`` and the stream carries libvirt's
  fixed ``PKGDATADIR/test-screenshot.png``. virtwire sends that very file when libvirt is
  installed (so the bytes equal libvirtd's), else a PNG of its own.
* QEMU hosts (``qemuDomainScreenshot``): the domain must be running and have a screen (a
  ``<video>``, or a ``<graphics>`` that gets libvirt's implicit video); a non-zero screen
  must fall within the videos' heads. QEMU 7.2 (the simulated emulator) has screendump's
  ``format`` argument, so libvirt asks for PNG and answers ``image/png``. The image is the
  guest's text console (its login prompt) drawn in a 5x7 font: a real, decodable picture.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from virtwire.protocol.errors import ErrorCode

PNG_MIME = "image/png"
TEST_SCREENSHOT = Path("/usr/share/libvirt/test-screenshot.png")  # PKGDATADIR on Debian
SCREEN_CHUNK = 262120  # VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX: what libvirtd reads at a time

# VGA text mode: 80x25 cells of 9x16 pixels; our cells are 12x16 (a 5x7 glyph drawn 2x)
SCREEN_WIDTH, SCREEN_HEIGHT = 720, 400
CELL_W, CELL_H, SCALE = 12, 16, 2
FOREGROUND, BACKGROUND = (0xAA, 0xAA, 0xAA), (0, 0, 0)

# 5x7 glyphs: seven rows of five bits, most significant bit leftmost
_GLYPHS: dict[str, tuple[int, ...]] = {
    "A": (14, 17, 17, 31, 17, 17, 17),
    "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14),
    "D": (30, 17, 17, 17, 17, 17, 30),
    "E": (31, 16, 16, 30, 16, 16, 31),
    "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15),
    "H": (17, 17, 17, 31, 17, 17, 17),
    "I": (14, 4, 4, 4, 4, 4, 14),
    "J": (7, 2, 2, 2, 2, 18, 12),
    "K": (17, 18, 20, 24, 20, 18, 17),
    "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17),
    "N": (17, 17, 25, 21, 19, 17, 17),
    "O": (14, 17, 17, 17, 17, 17, 14),
    "P": (30, 17, 17, 30, 16, 16, 16),
    "Q": (14, 17, 17, 17, 21, 18, 13),
    "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30),
    "T": (31, 4, 4, 4, 4, 4, 4),
    "U": (17, 17, 17, 17, 17, 17, 14),
    "V": (17, 17, 17, 17, 17, 10, 4),
    "W": (17, 17, 17, 21, 21, 21, 10),
    "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 10, 4, 4, 4, 4),
    "Z": (31, 1, 2, 4, 8, 16, 31),
    "0": (14, 17, 19, 21, 25, 17, 14),
    "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31),
    "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2),
    "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14),
    "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14),
    "9": (14, 17, 17, 15, 1, 2, 12),
    " ": (0, 0, 0, 0, 0, 0, 0),
    ":": (0, 12, 12, 0, 12, 12, 0),
    ".": (0, 0, 0, 0, 0, 12, 12),
    ",": (0, 0, 0, 0, 12, 4, 8),
    "-": (0, 0, 0, 31, 0, 0, 0),
    "_": (0, 0, 0, 0, 0, 0, 31),
    "/": (0, 1, 2, 4, 8, 16, 0),
    "@": (14, 17, 23, 21, 23, 16, 14),
    "#": (10, 10, 31, 10, 31, 10, 10),
    "$": (4, 15, 20, 14, 5, 30, 4),
    "~": (0, 0, 8, 21, 2, 0, 0),
    "(": (2, 4, 8, 8, 8, 4, 2),
    ")": (8, 4, 2, 2, 2, 4, 8),
    "[": (14, 8, 8, 8, 8, 8, 14),
    "]": (14, 2, 2, 2, 2, 2, 14),
    "=": (0, 0, 31, 0, 31, 0, 0),
    "+": (0, 4, 4, 31, 4, 4, 0),
    "!": (4, 4, 4, 4, 4, 0, 4),
    "?": (14, 17, 1, 2, 4, 0, 4),
    "'": (4, 4, 8, 0, 0, 0, 0),
}
_UNKNOWN = (31, 17, 17, 17, 17, 17, 31)


def render_text(lines: list[str], width: int = SCREEN_WIDTH, height: int = SCREEN_HEIGHT) -> bytes:
    """The lines drawn as a text console: ``height`` rows of ``width`` RGB pixels."""
    fg, bg = bytes(FOREGROUND), bytes(BACKGROUND)
    rows = [bytearray(bg * width) for _ in range(height)]
    cols = width // CELL_W
    for line_no, line in enumerate(lines[: height // CELL_H]):
        for col, char in enumerate(line[:cols]):
            glyph = _GLYPHS.get(char.upper(), _UNKNOWN)
            x0, y0 = col * CELL_W + 1, line_no * CELL_H + 1
            for gy, bits in enumerate(glyph):
                for gx in range(5):
                    if bits & (16 >> gx):
                        for dy in range(SCALE):
                            row = rows[y0 + gy * SCALE + dy]
                            for dx in range(SCALE):
                                x = (x0 + gx * SCALE + dx) * 3
                                row[x : x + 3] = fg
    return b"".join(bytes(r) for r in rows)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(rgb: bytes, width: int, height: int) -> bytes:
    """An 8-bit RGB PNG (no filtering) of ``rgb`` (``height`` rows of ``width`` pixels)."""
    stride = width * 3
    raw = b"".join(b"\0" + rgb[y * stride : (y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def console_screen(lines: list[str]) -> bytes:
    """A PNG of a text console showing ``lines``."""
    return encode_png(render_text(lines), SCREEN_WIDTH, SCREEN_HEIGHT)


class BytesSource:
    """A download stream's source over bytes in memory (server/streams.py reads it)."""

    def __init__(self, data: bytes, chunk: int = SCREEN_CHUNK) -> None:
        self.data = data
        self.chunk = chunk

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for start in range(0, len(self.data), self.chunk):
            yield "data", self.data[start : start + self.chunk]

    def close(self) -> None:
        self.data = b""


def guest_console_lines(name: str) -> list[str]:
    """What a booted guest's first text console shows."""
    return ["", f"Debian GNU/Linux 12 {name} tty1", "", f"{name} login: "]


class TestScreenshot:
    """``testDomainScreenshot`` for ``test:///default``."""

    __test__ = False
    check_flags: Any

    def domain_screenshot(self, dom: Any, screen: int, flags: int) -> tuple[str, BytesSource]:
        # the test driver never looks the domain up (``dom G_GNUC_UNUSED``)
        self.check_flags(flags, 0, "testDomainScreenshot")
        try:
            data = TEST_SCREENSHOT.read_bytes()
        except OSError:
            data = console_screen(guest_console_lines(dom.name))
        return PNG_MIME, BytesSource(data)


def screen_heads(devices: ET.Element) -> list[int]:
    """The heads of each video (libvirt adds an implicit video for a ``<graphics>``)."""
    videos = devices.findall("video")
    if not videos:
        return [1] if devices.find("graphics") is not None else []
    heads = []
    for video in videos:
        model = video.find("model")
        text = model.get("heads", "1") if model is not None else "1"
        heads.append(int(text) if text.isdigit() else 1)
    return heads


class QemuScreenshot:
    """``qemuDomainScreenshot`` for the QEMU hosts."""

    check_flags: Any
    find: Any
    error: Any
    not_running: Any

    def domain_screenshot(self, dom: Any, screen: int, flags: int) -> tuple[str, BytesSource]:
        self.check_flags(flags, 0, "qemuDomainScreenshot")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        heads = screen_heads(obj.current.devices)
        if not heads:
            raise self.error(ErrorCode.OPERATION_INVALID, "no screens to take screenshot from")
        if screen >= sum(heads):
            raise self.error(ErrorCode.OPERATION_INVALID, "no such screen ID")
        return PNG_MIME, BytesSource(console_screen(guest_console_lines(obj.name)))


__all__ = [
    "PNG_MIME",
    "BytesSource",
    "QemuScreenshot",
    "TestScreenshot",
    "console_screen",
    "encode_png",
    "render_text",
]
