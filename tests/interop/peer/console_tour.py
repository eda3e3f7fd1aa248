"""Consoles and screenshots of a QEMU guest, as python3-libvirt sees them.

Usage: console_tour.py URI DOMAIN.xml

Prints each step's outcome (results, errors as code/domain/text). Stream data is drained
but not printed (a real guest without an OS writes nothing on its serial line, virtwire's
simulated one writes its login prompt): only how each stream ends is printed.
"""

import sys
from pathlib import Path

import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
URI, XML = sys.argv[1], Path(sys.argv[2]).read_text()
FORCE, SAFE = libvirt.VIR_DOMAIN_CONSOLE_FORCE, libvirt.VIR_DOMAIN_CONSOLE_SAFE


def err(e):
    return f"ERR {e.get_error_code()} {e.get_error_domain()} {e}"


def show(label, fn):
    try:
        print(label, "OK", fn(), flush=True)
    except libvirt.libvirtError as e:
        print(label, err(e), flush=True)


def drain(label, st):
    """Read until the stream ends or fails; then finish it."""
    try:
        while st.recv(65536) != b"":
            pass
        print(label, "end")
    except libvirt.libvirtError as e:
        print(label, err(e))
    show(label + " finish", st.finish)


def screenshot(dom, conn, screen, flags):
    st = conn.newStream(0)
    mime = dom.screenshot(st, screen, flags)
    data = b""
    while chunk := st.recv(262144):
        data += chunk
    st.finish()
    return mime, data[:8] == b"\x89PNG\r\n\x1a\n"


c1, c2 = libvirt.open(URI), libvirt.open(URI)
d1 = c1.defineXML(XML)
d2 = c2.lookupByName(d1.name())
try:
    show("screenshot shut off", lambda: screenshot(d1, c1, 0, 0))
    show("console shut off", lambda: d1.openConsole(None, c1.newStream(0), 0))
    d1.create()
    show("screenshot", lambda: screenshot(d1, c1, 0, 0))
    show("screenshot screen 1", lambda: screenshot(d1, c1, 1, 0))
    show("screenshot flags", lambda: screenshot(d1, c1, 0, 1))
    show("console flags", lambda: d1.openConsole(None, c1.newStream(0), 4))
    for dev in ("nosuch", "parallel0"):
        show(f"console {dev}", lambda dev=dev: d1.openConsole(dev, c1.newStream(0), 0))
    st1 = c1.newStream(0)
    show("console open", lambda: d1.openConsole(None, st1, SAFE))
    st1.send(b"\r")
    for dev, flags in ((None, 0), (None, SAFE), ("serial0", 0), ("console0", 0)):
        show(
            f"second {dev} {flags}",
            lambda dev=dev, flags=flags: d2.openConsole(dev, c2.newStream(0), flags),
        )
    st2 = c2.newStream(0)
    show("second force", lambda: d2.openConsole("console0", st2, FORCE))
    drain("first after force", st1)
    show("destroy", d1.destroy)
    drain("second after destroy", st2)
    d1.create()
    st3 = c1.newStream(0)
    show("reopen after restart", lambda: d1.openConsole("serial0", st3, 0))
    show("abort", st3.abort)
    show("reopen after abort", lambda: d1.openConsole(None, c1.newStream(0), 0))
finally:
    if d1.isActive():
        d1.destroy()
    d1.undefine()
