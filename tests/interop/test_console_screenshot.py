"""Screenshots and serial consoles side by side with libvirtd 9.0.

* test:///default: `virsh screenshot` gives the same file and output from both daemons,
  with the same frames on the wire; consoles are NO_SUPPORT on both.
* QEMU: the same python3-libvirt tour (tests/interop/peer/console_tour.py: errors, FORCE,
  SAFE, device names, a guest that stops, reopening) against libvirtd's qemu:///session
  running a real (diskless, TCG) QEMU guest and against virtwire's qemu:///session.
* real `virsh console` on a pty against virtwire: the login prompt, a login, a command,
  Ctrl-] to leave.
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import virtwire.client as vc
from virtwire.protocol.framing import MessageType

from tests.client import stream_procs as sp
from tests.conftest import need_peer
from tests.server.hypervisor.test_hv_console_screen import decode_png

pytestmark = pytest.mark.interop

PEER = Path(__file__).parent / "peer"
QEMU = "/usr/bin/qemu-system-x86_64"
GUEST_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' listen='127.0.0.1'/>
    <video><model type='vga' heads='1'/></video>
  </devices>
</domain>
"""


def screenshot_frames(uri: str) -> tuple[str, bytes, list[tuple[int, int, int]]]:
    """DOMAIN_SCREENSHOT of "test" with virtwire.client: mime, data and every stream frame
    as (type, status, payload length)."""

    async def scenario():
        async with await vc.connect(uri) as conn:
            frames: list = []
            conn.add_frame_listener(
                lambda f: (
                    f.header.type in (MessageType.STREAM, MessageType.STREAM_HOLE)
                    and frames.append((int(f.header.type), int(f.header.status), len(f.payload)))
                )
            )
            dom = await conn.lookup_by_name("test")
            stream = conn.new_stream()
            ret = await conn.call(sp.DOMAIN_SCREENSHOT, sp.screenshot_args(dom.ref), stream=stream)
            data = bytearray()
            while chunk := await stream.recv(262144):
                data += chunk
            await stream.finish()
            return ret.mime, bytes(data), frames

    return asyncio.run(asyncio.wait_for(scenario(), 30))


CONSOLE_ON_TEST = r"""import sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
c = libvirt.open(sys.argv[1])
try:
    c.lookupByName("test").openConsole(None, c.newStream(0), 0)
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e)
"""


def test_test_driver_screenshot_and_console_are_libvirtds(
    libvirtd_peer, virtwire_server, run_virsh, run_pylibvirt, tmp_path
):
    ours_uri = virtwire_server.unix_uri()
    outputs = []
    for label, uri in (("real", libvirtd_peer.tcp_uri), ("ours", ours_uri)):
        path = tmp_path / f"{label}.png"
        proc = run_virsh(uri, "screenshot", "test", str(path))
        assert proc.returncode == 0, proc.stderr
        outputs.append((proc.stdout.replace(str(path), "FILE"), path.read_bytes()))
    assert outputs[0] == outputs[1]
    assert "with type of image/png" in outputs[0][0]
    real = screenshot_frames(libvirtd_peer.tcp_uri)
    assert real[0] == "image/png"
    assert screenshot_frames(ours_uri) == real
    # the test driver has no domainOpenConsole
    real_console = run_pylibvirt(CONSOLE_ON_TEST, libvirtd_peer.tcp_uri)
    ours_console = run_pylibvirt(CONSOLE_ON_TEST, ours_uri)
    assert ours_console.stdout == real_console.stdout
    assert "virDomainOpenConsole" in real_console.stdout


def test_qemu_console_and_screenshot_tour_is_libvirtds(
    libvirtd_peer, virtwire_server, run_pylibvirt, tmp_path
):
    need_peer(os.access(QEMU, os.X_OK), "qemu-system-x86_64 (Debian package qemu-system-x86)")
    xml = tmp_path / "guest.xml"
    xml.write_text(GUEST_XML.format(name=f"vwct{os.getpid()}"))
    script = (PEER / "console_tour.py").read_text()
    real = run_pylibvirt(script, f"qemu+tcp://127.0.0.1:{libvirtd_peer.port}/session", str(xml))
    ours = run_pylibvirt(script, virtwire_server.unix_uri("qemu", "/session"), str(xml))
    assert real.returncode == 0, real.stdout + real.stderr
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert ours.stdout.splitlines() == real.stdout.splitlines()
    assert "first after force ERR 39 38 stream had I/O failure" in real.stdout
    assert "second after destroy end" in real.stdout


class Pty:
    """A program on a pseudo-terminal; ``expect`` waits for new output with a deadline."""

    def __init__(self, argv: list[str]) -> None:
        master, slave = os.openpty()
        env = dict(os.environ, LC_ALL="C.UTF-8", TERM="dumb")
        env.pop("LIBVIRT_DEFAULT_URI", None)
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, env=env
        )
        os.close(slave)
        self.master = master
        self.seen = b""
        self.mark = 0

    def expect(self, text: bytes, timeout: float = 15.0) -> bytes:
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.mark :]:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no {text!r} within {timeout}s; got {self.seen!r}")
            try:
                self.seen += os.read(self.master, 4096)
            except OSError:  # EIO: the program closed the terminal
                raise AssertionError(f"EOF before {text!r}; got {self.seen!r}") from None
        end = self.seen.index(text, self.mark) + len(text)
        got, self.mark = self.seen[self.mark : end], end
        return got

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int | None:
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None
        finally:
            os.close(self.master)


def test_virsh_console_logs_in(virtwire_server, run_virsh, tmp_path):
    need_peer(shutil.which("virsh") is not None, "virsh (Debian package libvirt-clients)")
    uri = virtwire_server.unix_uri("qemu", "/system")
    xml = tmp_path / "g1.xml"
    xml.write_text(GUEST_XML.format(name="g1"))
    for args in (("define", str(xml)), ("start", "g1")):
        proc = run_virsh(uri, *args)
        assert proc.returncode == 0, proc.stderr
    shot = tmp_path / "g1.png"
    proc = run_virsh(uri, "screenshot", "g1", str(shot))
    assert "with type of image/png" in proc.stdout, proc.stderr
    assert decode_png(shot.read_bytes())[:2] == (720, 400)
    term = Pty(["virsh", "-c", uri, "console", "g1"])
    try:
        assert b"Connected to domain 'g1'" in term.expect(b"\r\ng1 login: ")
        term.send(b"root\r")
        term.expect(b"root\r\nPassword: ")
        term.send(b"secret\r")
        term.expect(b"\r\nroot@g1:~# ")
        term.send(b"hostname\r")
        term.expect(b"hostname\r\ng1\r\nroot@g1:~# ")
        # a second console without --force is refused while this one is open
        busy = Pty(["virsh", "-c", uri, "console", "g1"])
        try:
            busy.expect(b"error: operation failed: Active console session exists for this domain")
        finally:
            assert busy.close() == 1
        term.send(b"\x1d")  # Ctrl-]: virsh finishes the stream and exits
    finally:
        code = term.close()
    assert code == 0
