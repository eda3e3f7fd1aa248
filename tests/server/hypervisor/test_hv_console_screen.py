"""Screenshots and serial consoles of the simulated hosts, driven directly (no daemon)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor import screen
from virtwire.server.hypervisor.console import (
    CONSOLE_BUSY,
    VIR_DOMAIN_CONSOLE_FORCE,
    VIR_DOMAIN_CONSOLE_SAFE,
    GuestTerminal,
    character_devices,
)
from virtwire.server.hypervisor.qemudriver import QemuDriver
from virtwire.server.hypervisor.testdriver import TestDriver

from tests.server.wire import TEST_DOM


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """A minimal PNG reader (8-bit RGB, filter 0, as ours): width, height, pixel rows.
    Checks the signature, every chunk's CRC, IHDR first and IEND last."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, color, _comp, _filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, interlace) == (8, 2, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == stride * height
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, [row[1:] for row in rows]


def lit(rows: list[bytes], y0: int, y1: int) -> int:
    """How many bright pixels rows y0..y1 have."""
    return sum(row[x] > 0x80 for row in rows[y0:y1] for x in range(0, len(row), 3))


GUEST = (
    "<domain type='qemu'><name>g1</name><memory unit='KiB'>524288</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os><devices>{}</devices></domain>"
)
SERIAL = "<serial type='pty'><target port='0'/></serial>"
VIDEO = "<video><model type='vga' heads='2'/></video>"


def qemu(tmp_path, devices: str = SERIAL + VIDEO, start: bool = True):
    drv = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    dom = drv.domain_define_xml(GUEST.format(devices))
    if start:
        drv.domain_create(dom)
    return drv, drv.find(dom).handle()


def err(fn, *args) -> LibvirtError:
    with pytest.raises(LibvirtError) as info:
        fn(*args)
    return info.value


# -- screenshots ----------------------------------------------------------------------------


def test_png_encoder_round_trips_a_rendered_console():
    rgb = screen.render_text(["", "g1 login: "])
    width, height, rows = decode_png(screen.encode_png(rgb, 720, 400))
    assert (width, height) == (720, 400)
    assert b"".join(rows) == rgb
    assert lit(rows, 0, 16) == 0  # an empty first line
    assert lit(rows, 16, 32) > 100  # "g1 login:" drawn on the second
    assert lit(rows, 32, 400) == 0


def test_test_driver_screenshot_is_libvirts_png():
    drv = TestDriver("test:///default", lambda fn: None)
    mime, source = drv.domain_screenshot(TEST_DOM, 7, 0)  # any screen, as libvirt
    data = b"".join(chunk for _kind, chunk in source)
    assert mime == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    if screen.TEST_SCREENSHOT.exists():
        assert data == screen.TEST_SCREENSHOT.read_bytes()
    e = err(drv.domain_screenshot, TEST_DOM, 0, 1)
    assert str(e) == "unsupported flags (0x1) in function testDomainScreenshot"


def test_qemu_screenshot_shows_the_login_prompt_and_checks_screens(tmp_path):
    drv, dom = qemu(tmp_path)
    mime, source = drv.domain_screenshot(dom, 1, 0)  # the second head of the video
    assert mime == "image/png"
    width, height, rows = decode_png(b"".join(chunk for _kind, chunk in source))
    assert (width, height) == (720, 400) and lit(rows, 48, 64) > 100
    e = err(drv.domain_screenshot, dom, 2, 0)
    assert (e.code, e.domain, str(e)) == (
        ErrorCode.OPERATION_INVALID,
        ErrorDomain.QEMU,
        "Requested operation is not valid: no such screen ID",
    )
    drv.domain_destroy(dom)
    e = err(drv.domain_screenshot, dom, 0, 0)
    assert (e.domain, str(e)) == (
        ErrorDomain.DOMAIN,
        "Requested operation is not valid: domain is not running",
    )
    headless, hdom = qemu(tmp_path / "h", SERIAL)
    e = err(headless.domain_screenshot, hdom, 0, 0)
    assert str(e) == "Requested operation is not valid: no screens to take screenshot from"
    graphics, gdom = qemu(tmp_path / "g", "<graphics type='vnc'/>")  # an implicit video
    assert graphics.domain_screenshot(gdom, 0, 0)[0] == "image/png"


# -- the guest's terminal -------------------------------------------------------------------


def test_guest_terminal_logs_in_echoes_and_logs_out():
    term = GuestTerminal("g1")
    assert term.greeting() == b"\r\ng1 login: "
    assert term.feed(b"\r") == b"\r\ng1 login: "  # an empty login: the prompt again
    assert term.feed(b"roox\x7ft") == b"roox\b \bt"
    assert term.feed(b"\r") == b"\r\nPassword: "
    assert term.feed(b"secret\r\n") == b"\r\nroot@g1:~# "  # not echoed; CR LF is one line
    assert term.feed(b"hostname\r") == b"hostname\r\ng1\r\nroot@g1:~# "
    assert term.feed(b"echo hi there\r").endswith(b"\r\nhi there\r\nroot@g1:~# ")
    assert term.feed(b"ls\r") == b"ls\r\n-bash: ls: command not found\r\nroot@g1:~# "
    assert term.feed(b"x\x03") == b"x^C\r\nroot@g1:~# "
    assert term.feed(b"exit\r") == b"exit\r\nlogout\r\n\r\ng1 login: "
    term.feed(b"alice\rpw\r")
    assert term.feed(b"whoami\r") == b"whoami\r\nalice\r\nalice@g1:~$ "


def test_character_device_aliases_follow_libvirt():
    devices = ET.fromstring(
        "<devices><console type='pty'><target type='serial' port='0'/></console>"
        "<console type='pty'><target type='virtio' port='1'/></console>"
        "<serial type='pty'/><parallel type='file'/></devices>"
    )
    assert [(k, a, p) for k, a, p, _ in character_devices(devices)] == [
        ("console", "console0", "serial0"),
        ("console", "console1", "console1"),
        ("serial", "serial0", "serial0"),
        ("parallel", "parallel0", "parallel0"),
    ]
    only_console = ET.fromstring("<devices><console type='pty'/></devices>")
    assert [a for _, a, _, _ in character_devices(only_console)] == ["console0", "serial0"]
    only_serial = ET.fromstring("<devices><serial type='pty'/></devices>")
    assert [(a, p) for _, a, p, _ in character_devices(only_serial)] == [
        ("console0", "serial0"),
        ("serial0", "serial0"),
    ]


# -- opening consoles -----------------------------------------------------------------------


class Client:
    """What server/streams.py attaches to a console: its output and failures."""

    def __init__(self, console) -> None:
        self.out: list[bytes] = []
        self.failed: list[str] = []
        console.attach(self.out.append, self.failed.append)
        console.start()


def test_console_errors_are_libvirts(tmp_path):
    drv, dom = qemu(tmp_path)
    e = err(drv.domain_open_console, dom, None, 4)
    assert str(e) == "unsupported flags (0x4) in function qemuDomainOpenConsole"
    e = err(drv.domain_open_console, dom, "nosuch", 0)
    assert (e.code, e.domain, str(e)) == (
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.QEMU,
        "internal error: cannot find character device nosuch",
    )
    drv.domain_destroy(dom)
    e = err(drv.domain_open_console, dom, None, 0)
    assert str(e) == "Requested operation is not valid: domain is not running"
    bare, bdom = qemu(tmp_path / "b", "")
    e = err(bare.domain_open_console, bdom, None, 0)
    assert str(e) == "internal error: cannot find character device <null>"
    nopty, ndom = qemu(tmp_path / "n", "<serial type='file'><source path='/tmp/x'/></serial>")
    e = err(nopty.domain_open_console, ndom, "serial0", 0)
    assert str(e) == "internal error: character device serial0 is not using a PTY"


def test_one_session_per_pty_force_takes_it_over(tmp_path):
    drv, dom = qemu(tmp_path)
    first = drv.domain_open_console(dom, None, VIR_DOMAIN_CONSOLE_SAFE)
    one = Client(first)
    assert one.out == [b"\r\ng1 login: "]
    first.write(b"root\r")
    assert one.out[-1] == b"root\r\nPassword: "
    for name in (None, "serial0", "console0"):  # the console is the serial's pty
        e = err(drv.domain_open_console, dom, name, VIR_DOMAIN_CONSOLE_SAFE)
        assert (e.code, str(e)) == (ErrorCode.OPERATION_FAILED, f"operation failed: {CONSOLE_BUSY}")
    second = drv.domain_open_console(dom, "serial0", VIR_DOMAIN_CONSOLE_FORCE)
    assert one.failed == ["stream had I/O failure"]
    two = Client(second)
    # the guest stops: the console reads the end of its stream, the pty is free again
    drv.domain_destroy(dom)
    assert two.out[-1] == b"" and two.failed == []
    second.write(b"ignored\r")
    assert two.out[-1] == b""
    drv.domain_create(dom)
    third = drv.domain_open_console(dom, None, 0)
    second.close()  # the late finish of the old stream frees nothing of the new one
    e = err(drv.domain_open_console, dom, None, 0)
    assert CONSOLE_BUSY in str(e)
    third.close()
    drv.domain_open_console(dom, None, 0)


def test_test_driver_has_no_console():
    assert not hasattr(TestDriver, "domain_open_console")
