"""Real python3-libvirt (/usr/bin/python3) with its default event loop against `virtwire serve`."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.interop

PRELUDE = r"""
import json, sys, threading, time
import libvirt

libvirt.virEventRegisterDefaultImpl()

def _loop():
    while True:
        libvirt.virEventRunDefaultImpl()

threading.Thread(target=_loop, daemon=True).start()
libvirt.registerErrorHandler(lambda ctx, err: None, None)
uri = sys.argv[1]
"""

HOTPLUG_DOMAIN = (
    "<domain type='qemu'><name>pyhp</name>"
    "<maxMemory slots='4' unit='KiB'>4194304</maxMemory>"
    "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
    "<cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>"
    "<features><acpi/></features><devices/></domain>"
)
DIMM = "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>"

EVENTS_SCRIPT = (
    PRELUDE
    + f"""
DOMAIN = {HOTPLUG_DOMAIN!r}
DIMM = {DIMM!r}
seen = []
lock = threading.Lock()

def lifecycle(conn, dom, event, detail, opaque):
    with lock:
        seen.append(["lifecycle", dom.name(), event, detail])

def added(conn, dom, alias, opaque):
    with lock:
        seen.append(["added", dom.name(), alias])

def removed(conn, dom, alias, opaque):
    with lock:
        seen.append(["removed", dom.name(), alias])

conn = libvirt.open(uri)
ids = [
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None),
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, added, None),
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, removed, None),
]
dom = conn.defineXML(DOMAIN)
dom.create()
dom.attachDeviceFlags(DIMM, libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.detachDeviceFlags(DIMM, libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.destroy()
dom.undefine()
deadline = time.time() + 5
while time.time() < deadline:
    with lock:
        if len(seen) >= 7:
            break
    time.sleep(0.05)
for i in ids:
    conn.domainEventDeregisterAny(i)
conn.close()
with lock:
    print(json.dumps(seen))
"""
)


def test_lifecycle_and_dimm_hotplug_events(virtwire_server, run_pylibvirt):
    r = run_pylibvirt(EVENTS_SCRIPT, virtwire_server.tcp_uri("qemu", "/session"))
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen == [
        ["lifecycle", "pyhp", 0, 0],  # defined / added
        ["lifecycle", "pyhp", 4, 0],  # resumed (QEMU starts paused) ...
        ["lifecycle", "pyhp", 2, 0],  # ... then started / booted
        ["added", "pyhp", "memdimm0"],
        ["removed", "pyhp", "dimm0"],
        ["lifecycle", "pyhp", 5, 1],  # stopped / destroyed
        ["lifecycle", "pyhp", 1, 0],  # undefined / removed
    ]


ERRORS_SCRIPT = (
    PRELUDE
    + r"""
out = {}

def code_of(fn):
    try:
        fn()
    except libvirt.libvirtError as e:
        return [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
    return None

conn = libvirt.open(uri)
out["no_domain"] = code_of(lambda: conn.lookupByName("nosuch"))
out["xml_detail"] = code_of(lambda: conn.defineXML("<domain><name>broken"))
out["xml_error"] = code_of(lambda: conn.defineXML("<domain type='qemu'><name>b</name></domain>"))
ro = libvirt.openReadOnly(sys.argv[2])
out["read_only"] = code_of(lambda: ro.lookupByName("test").destroy())
out["ro_state"] = ro.lookupByName("test").state()
print(json.dumps(out))
"""
)


def test_errors_carry_libvirts_codes(virtwire_server, run_pylibvirt):
    r = run_pylibvirt(
        ERRORS_SCRIPT, virtwire_server.unix_uri("qemu", "/session"), virtwire_server.tcp_uri()
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["no_domain"][:2] == [42, 10]
    assert out["xml_detail"][:2] == [35, 20]
    assert out["xml_error"][:2] == [27, 20]
    assert out["read_only"][0] == 29
    assert out["read_only"][2] == "operation forbidden: read only access prevents virDomainDestroy"
    assert out["ro_state"] == [1, 1] or out["ro_state"][0] == 1


KEEPALIVE_SCRIPT = (
    PRELUDE
    + r"""
conn = libvirt.open(uri)
time.sleep(float(sys.argv[2]))  # idle: the daemon pings, the library answers
print(conn.isAlive(), conn.getType())
conn.close()
"""
)


def test_keepalive_answered_by_python_libvirt(virtwire_server_factory, run_pylibvirt):
    server = virtwire_server_factory(config_text="keepalive_interval = 0.3\nkeepalive_count = 1\n")
    r = run_pylibvirt(KEEPALIVE_SCRIPT, server.tcp_uri(), "1.5")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "TEST"]
    assert "keepalive timeout" not in server.log
