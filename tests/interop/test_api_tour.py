"""A tour of the generated surface against a real private libvirtd (test driver).

The same script runs with /usr/bin/python3 + python3-libvirt and with our drop-in; the
printed results and errors (code, domain, message) must be identical.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.test_client_dropin import REAL_IMPORT, run_both

pytestmark = pytest.mark.interop

TOUR = r"""import sys
import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])

def show(label, fn):
    try:
        result = fn()
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), repr(str(e)), flush=True)
    else:
        print(label, "OK", repr(result), flush=True)

show("networks", lambda: sorted(n.name() for n in conn.listAllNetworks()))
net = conn.networkLookupByName("default")
show("net-active", net.isActive)
show("net-persistent", net.isPersistent)
show("net-autostart", net.autostart)
show("net-uuid", lambda: net.UUIDString() == conn.networkLookupByUUID(net.UUID()).UUIDString())
show("net-bridge", net.bridgeName)
show("net-xml", lambda: net.XMLDesc(0).splitlines()[0])
show("net-missing", lambda: conn.networkLookupByName("nosuch"))
xml = "<network><name>tour</name><bridge name='tourbr0'/></network>"
tour = conn.networkDefineXML(xml)
show("tour-create", tour.create)
show("tour-active", tour.isActive)
show("tour-destroy", tour.destroy)
show("tour-undefine", tour.undefine)
show("defined-networks", conn.listDefinedNetworks)
show("num-networks", conn.numOfNetworks)
show("pools", lambda: sorted(p.name() for p in conn.listAllStoragePools()))
pool = conn.storagePoolLookupByName("default-pool")
show("pool-info", lambda: pool.info()[0])
show("pool-vols", lambda: sorted(v.name() for v in pool.listAllVolumes()))
show("pool-numvols", pool.numOfVolumes)
show("pool-autostart", pool.autostart)
show("pool-missing", lambda: conn.storagePoolLookupByName("nosuch"))
show("ifaces", lambda: sorted(i.name() for i in conn.listAllInterfaces()))
show("iface-mac", lambda: conn.interfaceLookupByName("eth1").MACString())
show("devices", lambda: sorted(d.name() for d in conn.listAllDevices())[:3])
show("list-devices", lambda: sorted(conn.listDevices(None, 0))[:3])
show("secrets", conn.listAllSecrets)
dom = conn.lookupByName("test")
show("sched-type", dom.schedulerType)
show("sched-params", dom.schedulerParameters)
show("sched-params-flags", lambda: dom.schedulerParametersFlags(0))
show("mem-params", lambda: dom.memoryParameters(0))
show("blkio-params", lambda: dom.blkioParameters(0))
show("vcpus", lambda: [(v[0], v[1], v[3]) for v in dom.vcpus()[0]])
show("vcpu-maps", lambda: dom.vcpus()[1])
show("vcpu-pins", lambda: dom.vcpuPinInfo(0))
show("max-vcpus", dom.maxVcpus)
snap = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
show("snap-name", snap.getName)
show("snap-list", lambda: [s.getName() for s in dom.listAllSnapshots()])
show("snap-names", lambda: dom.snapshotListNames())
show("snap-current", lambda: dom.snapshotCurrent().getName())
show("snap-xml", lambda: snap.getXMLDesc().splitlines()[0])
show("snap-parent", snap.getParent)
show("snap-delete", snap.delete)
show("hostname", lambda: isinstance(conn.getHostname(), str))
show("free-memory", lambda: isinstance(conn.getFreeMemory(), int))
show("cells", lambda: conn.getCellsFreeMemory(0, 1))
show("node-cpu-stats", lambda: sorted(conn.getCPUStats(-1, 0)))
show("node-mem-stats", lambda: sorted(conn.getMemoryStats(-1, 0)))
show("sysinfo", lambda: conn.getSysinfo(0)[:8])
show("dom-caps", lambda: conn.getDomainCapabilities()[:5])
conn.close()
"""


def test_tour_is_identical(libvirtd_peer, run_pylibvirt, tmp_path):
    assert REAL_IMPORT in TOUR
    real, ours = run_both(run_pylibvirt, tmp_path, TOUR, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == real.stdout.splitlines()


STREAM_TOUR = r"""import hashlib, sys
import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
c = libvirt.open(sys.argv[1])

def err(e):
    return (e.get_error_code(), e.get_error_domain(), str(e))

st = c.newStream(0)
print("stream-connect", st.connect() is c)
mime = c.lookupByName("test").screenshot(st, 0, 0)
chunks = []
st.recvAll(lambda s, buf, op: chunks.append(buf), None)
st.finish()
data = b"".join(chunks)
print("screenshot", mime, len(data), hashlib.sha256(data).hexdigest())
st = c.newStream(0)
c.lookupByName("test").screenshot(st, 0, 0)
first = st.recv(1000)
st.abort()
print("aborted-after", len(first), first == data[:1000])
vol = c.storagePoolLookupByName("default-pool").listAllVolumes()
print("vols", len(vol))
st = c.newStream(0)
try:
    c.storagePoolLookupByName("default-pool").storageVolLookupByName("nosuch")
except libvirt.libvirtError as e:
    print("vol-missing", err(e))
print("alive", c.getHostname() != "", c.isAlive())
"""


def test_stream_tour_is_identical(libvirtd_peer, run_pylibvirt, tmp_path):
    """newStream, a download stream (screenshot) with recvAll/finish and with abort."""
    real, ours = run_both(run_pylibvirt, tmp_path, STREAM_TOUR, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == real.stdout.splitlines()
    assert "screenshot image/png" in real.stdout


EVENT_TOUR = r"""import sys, threading
import libvirt

libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []

def net_cb(conn, net, event, detail, opaque):
    seen.append(("net", net.name(), event, detail, opaque))

def pool_cb(conn, pool, event, detail, opaque):
    seen.append(("pool", pool.name(), event, detail, opaque))

def refresh_cb(conn, pool, opaque):
    seen.append(("refresh", pool.name(), opaque))

n1 = c.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, net_cb, "all")
net = c.networkLookupByName("default")
n2 = c.networkEventRegisterAny(net, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, net_cb, "one")
p1 = c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, pool_cb, "p")
p2 = c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh_cb, "r")
net.destroy()
net.create()
pool = c.storagePoolLookupByName("default-pool")
pool.refresh(0)
while len(seen) < 5:
    libvirt.virEventRunDefaultImpl()
for n in (n1, n2):
    c.networkEventDeregisterAny(n)
for p in (p1, p2):
    c.storagePoolEventDeregisterAny(p)
for item in sorted(seen):
    print(item)
try:
    c.networkEventDeregisterAny(n1)
except libvirt.libvirtError as e:
    print("again", e.get_error_code(), e.get_error_domain(), str(e))
"""


def test_object_event_tour_is_identical(libvirtd_peer, run_pylibvirt, tmp_path):
    """Network and storage-pool events: registration (all / one object), delivery with
    libvirt-python's callback arguments, deregistration and its error."""
    real, ours = run_both(run_pylibvirt, tmp_path, EVENT_TOUR, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == real.stdout.splitlines()
    assert "('refresh', 'default-pool', 'r')" in real.stdout


QEMU_TOUR = r"""import sys
import libvirt
import libvirt_qemu, libvirt_lxc

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
dom = c.lookupByName("test")
for label, fn in [
    ("monitor", lambda: libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"query-status"}', 0)),
    ("agent", lambda: libvirt_qemu.qemuAgentCommand(dom, '{"execute":"guest-ping"}', 5, 0)),
    ("attach", lambda: libvirt_qemu.qemuAttach(c, 1, 0)),
    ("monitor-events", lambda: libvirt_qemu.qemuMonitorEventRegister(
        c, None, None, lambda *a: None, None, 0)),
]:
    try:
        print(label, "OK", fn())
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), str(e))
"""


def test_qemu_and_lxc_modules_answer_as_python3_libvirt(libvirtd_peer, run_pylibvirt, tmp_path):
    """The test driver has no QEMU/LXC calls: the same errors through both modules.

    (lxcEnterCGroup is not compared: libvirt runs it in the client process, on the local
    host's cgroups, with no remote call; virtwire answers NO_SUPPORT for it.)"""
    real_imports = "import libvirt\nimport libvirt_qemu, libvirt_lxc\n"
    assert real_imports in QEMU_TOUR
    real = run_pylibvirt(QEMU_TOUR, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    mine = tmp_path / "qemu_tour.py"
    mine.write_text(QEMU_TOUR.replace(
        real_imports, "from virtwire.client import libvirt, libvirt_lxc, libvirt_qemu\n"))  # fmt: skip
    ours = subprocess.run([sys.executable, str(mine), libvirtd_peer.tcp_uri],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == real.stdout.splitlines()
    assert "monitor ERR 3" in real.stdout


AUTO_TOUR = Path(__file__).parent / "peer" / "auto_tour.py"
_TIMES = re.compile(r"\b\d{13,}\b")  # CPU times in ns: the only values that may differ


def test_every_no_argument_method_is_identical(libvirtd_peer, run_pylibvirt, tmp_path):
    """Every method of every object kind that takes no argument but flags (about 140 on the
    test driver's domain, network, pool, volume, interface, node device, snapshot and the
    connection), called through both libraries: the same results and the same errors."""
    script = AUTO_TOUR.read_text()
    real, ours = run_both(run_pylibvirt, tmp_path, script, libvirtd_peer.tcp_uri, timeout=120)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    real_lines = _TIMES.sub("<ns>", real.stdout).splitlines()
    assert len(real_lines) > 120
    assert _TIMES.sub("<ns>", ours.stdout).splitlines() == real_lines


ARGS_TOUR = Path(__file__).parent / "peer" / "args_tour.py"
_COUNTERS = re.compile(r"\b\d{8,}\b")  # stats counters the test driver derives from the clock


def test_methods_with_arguments_are_identical(libvirtd_peer, run_pylibvirt, tmp_path):
    """About a hundred calls with arguments (stats, pinning, typed-parameter setters and
    getters, metadata, network update, volumes...) on objects the script makes itself."""
    script = ARGS_TOUR.read_text()
    real, ours = run_both(run_pylibvirt, tmp_path, script, libvirtd_peer.tcp_uri, timeout=120)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    real_lines = _COUNTERS.sub("<n>", real.stdout).splitlines()
    assert len(real_lines) > 90
    assert _COUNTERS.sub("<n>", ours.stdout).splitlines() == real_lines
