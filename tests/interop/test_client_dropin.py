"""``virtwire.client.libvirt`` as a drop-in for python3-libvirt: the same script, run once
with the real module (/usr/bin/python3) and once with ours (only the import line differs),
must print the same thing — values, errors (code, domain, message, all fields), the default
error handler's stderr lines, and event callbacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

REAL_IMPORT = "import libvirt\n"
OUR_IMPORT = "from virtwire.client import libvirt\n"


def run_both(run_pylibvirt, tmp_path: Path, script: str, *args: str, timeout: float = 60):
    """Run ``script`` with python3-libvirt and with our drop-in; return both results."""
    assert REAL_IMPORT in script
    real = run_pylibvirt(script, *args, timeout=timeout)
    ours_path = tmp_path / "ours.py"
    ours_path.write_text(script.replace(REAL_IMPORT, OUR_IMPORT, 1))
    ours = subprocess.run(
        [sys.executable, str(ours_path), *args], capture_output=True, text=True, timeout=timeout
    )
    return real, ours


ERRORS_SCRIPT = r"""import sys
import libvirt

uri = sys.argv[1]

def show(label, fn):
    try:
        result = fn()
    except libvirt.libvirtError as e:
        print(label, "ERR", repr((e.get_error_code(), e.get_error_domain(), e.get_error_message(),
              e.get_error_level(), e.get_str1(), e.get_str2(), e.get_str3(), e.get_int1(),
              e.get_int2())), repr(str(e)), flush=True)
    else:
        print(label, "OK", repr(result), flush=True)
    sys.stderr.flush()

conn = libvirt.open(uri)
ro = libvirt.openReadOnly(uri)
test = conn.lookupByName("test")
xml = "<domain type='test'><name>vwerr</name><uuid>0d0e0f10-1112-1314-1516-171819202122</uuid><memory unit='KiB'>65536</memory><os><type>hvm</type></os></domain>"
inactive = conn.defineXML(xml)

show("lookup-name", lambda: conn.lookupByName("nosuch"))
show("lookup-id", lambda: conn.lookupByID(999))
show("lookup-uuid", lambda: conn.lookupByUUIDString("00000000-0000-0000-0000-000000000001"))
show("define-not-xml", lambda: conn.defineXML("not xml"))
show("define-broken", lambda: conn.defineXML("<domain><name>broken"))
show("define-no-os", lambda: conn.defineXML("<domain type='test'><name>b</name></domain>"))
show("attach", lambda: test.attachDeviceFlags("<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>", libvirt.VIR_DOMAIN_AFFECT_LIVE))
show("detach", lambda: test.detachDeviceFlags("<memory model='dimm'/>", 0))
show("create-running", lambda: test.create())
show("destroy-inactive", lambda: inactive.destroy())
show("suspend-inactive", lambda: inactive.suspend())
show("resume-running", lambda: test.resume())
show("ro-destroy", lambda: ro.lookupByName("test").destroy())
show("ro-define", lambda: ro.defineXML(xml))
show("bad-transport", lambda: libvirt.open("bogus+foo://x/y"))
show("bad-uri", lambda: libvirt.open("::::"))
show("refused", lambda: libvirt.open("test+tcp://127.0.0.1:1/default"))
show("unix-host", lambda: libvirt.open("test+unix://host/default"))
show("undefine", lambda: inactive.undefine())
show("undefine-again", lambda: inactive.undefine())
show("dup-callback-ok", lambda: libvirt.virEventRegisterDefaultImpl())
show("info", lambda: test.info()[:4])
show("state", lambda: test.state())
show("getinfo", lambda: conn.getInfo())
show("ids", lambda: (conn.listDomainsID(), conn.listDefinedDomains(), conn.numOfDomains(), conn.numOfDefinedDomains()))
show("names", lambda: [(d.name(), d.ID(), d.isActive(), d.isPersistent()) for d in conn.listAllDomains(0)])
show("more", lambda: (test.maxMemory(), test.vcpusFlags(0), test.autostart(), test.hasManagedSaveImage(0), test.OSType(), test.UUID(), test.UUIDString(), test.ID()))
show("security", lambda: (test.securityLabel(), conn.getSecurityModel()))
show("messages", lambda: (test.messages(0), test.snapshotNum(0)))
show("conn", lambda: (conn.getType(), conn.getVersion(), conn.getLibVersion(), conn.getHostname(), conn.getURI(), conn.isAlive(), conn.isSecure(), conn.isEncrypted()))
show("maxvcpus", lambda: conn.getMaxVcpus("test"))
show("xml-inactive", lambda: conn.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
show("ro-xml-secure", lambda: ro.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
ro.close()
conn.close()
"""


def test_errors_and_values_side_by_side(libvirtd_peer, run_pylibvirt, tmp_path):
    real, ours = run_both(run_pylibvirt, tmp_path, ERRORS_SCRIPT, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == real.stdout.splitlines()
    # the default error handler's lines, in the same order
    assert ours.stderr.splitlines() == real.stderr.splitlines()
    assert "lookup-name ERR (42, 12, 'Domain not found'" in ours.stdout


EVENTS_SCRIPT = r"""import sys
import threading
import time
import libvirt

uri = sys.argv[1]
rounds = int(sys.argv[2])
libvirt.virEventRegisterDefaultImpl()

def loop():
    while True:
        libvirt.virEventRunDefaultImpl()

threading.Thread(target=loop, name="libvirt-event-loop", daemon=True).start()

lines = []
done = threading.Event()
expected = (rounds - 1) * 6 + 4

def record(text):
    lines.append(text)
    if len(lines) >= expected:
        done.set()

def lifecycle(conn, dom, event, detail, opaque):
    record(f"lifecycle {opaque} {dom.name()} {event} {detail} id={dom.ID()}")

def lifecycle_test_only(conn, dom, event, detail, opaque):
    record(f"test-only {opaque} {dom.name()} {event} {detail}")

def reboot(conn, dom, opaque):
    record(f"reboot {dom.name()} {opaque}")

def device_added(conn, dom, alias, opaque):
    record(f"device-added {dom.name()} {alias} {opaque}")

listener = libvirt.open(uri)
ids = [
    listener.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "L"),
    listener.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, reboot, "R"),
    listener.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, device_added, "D"),
    listener.domainEventRegisterAny(listener.lookupByName("test"), libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle_test_only, "T"),
]
print("ids", ids, flush=True)

actor = libvirt.open(uri)
test = actor.lookupByName("test")
test.suspend()
test.resume()
for i in range(rounds - 1):
    dom = actor.defineXML(
        f"<domain type='test'><name>vwev{i}</name><memory unit='KiB'>65536</memory>"
        "<os><type>hvm</type></os></domain>")
    dom.create()
    dom.suspend()
    dom.resume()
    dom.destroy()
    dom.undefine()
if not done.wait(20):
    print("TIMEOUT", flush=True)
for line in lines:
    print(line)
for cid in ids:
    listener.domainEventDeregisterAny(cid)
actor.close()
listener.close()
print("events", len(lines))
"""


def test_same_event_script_two_libraries_libvirtd(libvirtd_peer, run_pylibvirt, tmp_path):
    real, ours = run_both(run_pylibvirt, tmp_path, EVENTS_SCRIPT, libvirtd_peer.tcp_uri, "4")
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert "TIMEOUT" not in real.stdout
    assert ours.stdout == real.stdout
    assert "lifecycle L vwev2 5 1 id=-1" in ours.stdout
    assert "test-only T test 3 0" in ours.stdout


def test_same_event_script_two_libraries_unix_socket(libvirtd_peer, run_pylibvirt, tmp_path):
    real, ours = run_both(run_pylibvirt, tmp_path, EVENTS_SCRIPT, libvirtd_peer.unix_uri, "2")
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == real.stdout


DIMM_SCRIPT = r"""import sys
import threading
import libvirt

uri = sys.argv[1]
libvirt.virEventRegisterDefaultImpl()

def loop():
    while True:
        libvirt.virEventRunDefaultImpl()

threading.Thread(target=loop, daemon=True).start()

GUEST = '''<domain type='qemu'>
  <name>vwdimm</name>
  <uuid>a1b2c3d4-0000-4000-8000-000000000001</uuid>
  <maxMemory slots='4' unit='KiB'>2097152</maxMemory>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <cpu><numa><cell id='0' cpus='0' memory='262144' unit='KiB'/></numa></cpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <devices/>
</domain>'''
DIMM = '''<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>'''

lines = []
cond = threading.Condition()

def record(text):
    with cond:
        lines.append(text)
        cond.notify_all()

def wait_for(n, timeout=15):
    with cond:
        return cond.wait_for(lambda: len(lines) >= n, timeout)

conn = libvirt.open(uri)
ids = [
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, e, det, o: record(f"lifecycle {d.name()} {e} {det} {o}"), "L"),
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
        lambda c, d, alias, o: record(f"device-added {d.name()} {alias} {o}"), "A"),
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
        lambda c, d, alias, o: record(f"device-removed {d.name()} {alias} {o}"), "R"),
]
print("ids", ids)
dom = conn.defineXML(GUEST)
dom.create()
wait_for(3)  # DEFINED, RESUMED, STARTED (QEMU starts paused, then continues)
before = dom.info()
dom.attachDeviceFlags(DIMM, libvirt.VIR_DOMAIN_AFFECT_LIVE)
wait_for(4)  # + DEVICE_ADDED
after = dom.info()
print("memory", before[2], "->", after[2], "max", after[1])
print("xml has dimm0", "<alias name='dimm0'/>" in dom.XMLDesc(0))
dom.detachDeviceAlias("dimm0", libvirt.VIR_DOMAIN_AFFECT_LIVE)
wait_for(5)  # + DEVICE_REMOVED
dom.destroy()
dom.undefine()
wait_for(7)  # + STOPPED, UNDEFINED
for line in lines:
    print(line)
for cid in ids:
    conn.domainEventDeregisterAny(cid)
conn.close()
"""


def test_same_event_script_two_libraries_virtwire_dimm_hotplug(
    virtwire_server, run_pylibvirt, tmp_path
):
    """The virtwire daemon's QEMU host: DIMM hot-plug and unplug events, both libraries."""
    uri = virtwire_server.unix_uri(driver="qemu", path="/session")
    real, ours = run_both(run_pylibvirt, tmp_path, DIMM_SCRIPT, uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == real.stdout
    assert "device-added vwdimm memdimm0 A" in ours.stdout
    assert "device-removed vwdimm dimm0 R" in ours.stdout


CLOSE_SCRIPT = r"""import sys
import threading
import time
import libvirt

uri = sys.argv[1]
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()

def show(label, fn):
    try:
        print(label, "OK", repr(fn()), flush=True)
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), str(e), flush=True)
    sys.stderr.flush()

c = libvirt.open(uri)
show("register", lambda: c.registerCloseCallback(
    lambda conn, reason, opaque: print("close cb", reason, opaque, flush=True), "op"))
show("register-again", lambda: c.registerCloseCallback(lambda *a: None, None))
show("keepalive", lambda: c.setKeepAlive(5, 3))
show("close", lambda: c.close())
time.sleep(0.3)
c2 = libvirt.open(uri)
show("unregister-none", lambda: c2.unregisterCloseCallback())
show("deregister-unknown", lambda: c2.domainEventDeregisterAny(77))
show("bad-event-id", lambda: c2.domainEventRegisterAny(None, 99, lambda *a: None, None))
show("short-uuid-bytes", lambda: c2.lookupByUUID(b"abc"))
show("bad-uuid-string", lambda: c2.lookupByUUIDString("not-a-uuid"))
d = c2.lookupByName("test")
show("close-with-domain", lambda: c2.close())
show("call-after-close", lambda: c2.getType())
show("domain-after-close", lambda: (d.name(), d.state(), d.isActive()))
show("close-twice", lambda: c2.close())
c3 = libvirt.open(uri)
def legacy_a(conn, dom, event, detail, opaque):
    print("legacy-a", dom.name(), event, detail, opaque, flush=True)
def legacy_b(conn, dom, event, detail, opaque):
    print("legacy-b", dom.name(), event, detail, opaque, flush=True)
show("legacy-deregister-none", lambda: c3.domainEventDeregister(legacy_a))
show("legacy-register-a", lambda: c3.domainEventRegister(legacy_a, 1))
show("legacy-register-b", lambda: c3.domainEventRegister(legacy_b, 2))
t3 = c3.lookupByName("test")
t3.suspend()
t3.resume()
time.sleep(0.5)
try:
    c3.domainEventDeregister(lambda *a: None)
except KeyError:
    print("legacy-deregister-unknown KeyError", flush=True)
show("legacy-deregister-a", lambda: c3.domainEventDeregister(legacy_a))
show("legacy-deregister-b", lambda: c3.domainEventDeregister(legacy_b))
cid = c3.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, legacy_a, 3)
show("deregister-any", lambda: c3.domainEventDeregisterAny(cid))
show("register-close", lambda: c3.registerCloseCallback(lambda *a: None, None))
show("unregister-close", lambda: c3.unregisterCloseCallback())
del t3
show("close-plain", lambda: c3.close())
"""


def test_close_callbacks_and_event_errors_side_by_side(libvirtd_peer, run_pylibvirt, tmp_path):
    real, ours = run_both(run_pylibvirt, tmp_path, CLOSE_SCRIPT, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == real.stdout
    assert ours.stderr.splitlines() == real.stderr.splitlines()
