"""`virtwire inject`: real python3-libvirt clients see each injected fault, then normal
service after `reset`."""

from __future__ import annotations

import json
import sys

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.procedures import by_name
from virtwire.server.config import CONTROL_SOCKET_NAME
from virtwire.tools.demo import DIMM_XML, DOMAIN_XML

pytestmark = pytest.mark.interop

# Every script gets: the URI, our python, the control socket; `inject(...)` runs the CLI.
PREAMBLE = """
import json, subprocess, sys, threading, time
import libvirt
URI, PY, SOCK = sys.argv[1], sys.argv[2], sys.argv[3]
libvirt.registerErrorHandler(lambda ctx, err: None, None)

def inject(*args):
    out = subprocess.run([PY, "-m", "virtwire.tools.cli", "inject", "--socket", SOCK, "--json",
                          *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)

def error_of(fn, *args):
    try:
        fn(*args)
    except libvirt.libvirtError as e:
        return [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
    return None

def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)
"""


def _run(run_pylibvirt, server, uri: str, body: str) -> dict:
    sock = server.unix_path.parent / CONTROL_SOCKET_NAME
    out = run_pylibvirt(PREAMBLE + body, uri, sys.executable, str(sock), timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout + server.log
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_inject_fail_next_calls(virtwire_server, run_pylibvirt, run_virtwire):
    uri = virtwire_server.unix_uri()
    sock = str(virtwire_server.unix_path.parent / CONTROL_SOCKET_NAME)
    got = run_virtwire(
        "inject", "-c", uri, "fail", "DOMAIN_CREATE", "--code", "1", "--count", "2",
        "--message", "boom",
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert "DOMAIN_CREATE" in got.stdout
    listed = run_virtwire("inject", "--socket", sock, "list")
    assert "boom" in listed.stdout and "2 more" in listed.stdout
    result = _run(
        run_pylibvirt,
        virtwire_server,
        uri,
        """
conn = libvirt.open(URI)
dom = conn.lookupByName("test")
dom.destroy()
errors = [error_of(dom.create) for _ in range(3)]
active = dom.isActive()
dom.destroy()
inject("fail", "DOMAIN_CREATE", "--code", "OPERATION_FAILED", "--domain", "QEMU", "--forever")
forever = [error_of(dom.create) for _ in range(2)]
inject("reset")
after_reset = error_of(dom.create)
print(json.dumps({"errors": errors, "active": active, "forever": forever,
                  "after_reset": after_reset, "still_active": dom.isActive()}))
""",
    )
    domain = int(ErrorDomain[by_name("REMOTE_PROC_DOMAIN_CREATE").error_domain])
    assert result["errors"] == [[int(ErrorCode.INTERNAL_ERROR), domain, "boom"]] * 2 + [None]
    assert result["active"] == 1
    failed = [int(ErrorCode.OPERATION_FAILED), int(ErrorDomain.QEMU)]
    assert [e[:2] for e in result["forever"]] == [failed, failed]
    assert result["forever"][0][2] == "injected failure of REMOTE_PROC_DOMAIN_CREATE"
    assert result["after_reset"] is None and result["still_active"] == 1
    assert "fault set" in virtwire_server.log and virtwire_server.log.count("fault fired") == 4
    assert "no faults" in run_virtwire("inject", "--socket", sock, "list").stdout


def test_inject_latency_does_not_block_other_clients(virtwire_server, run_pylibvirt):
    result = _run(
        run_pylibvirt,
        virtwire_server,
        virtwire_server.unix_uri(),
        """
slow, fast = libvirt.open(URI), libvirt.open(URI)
inject("delay", "CONNECT_GET_HOSTNAME", "1.5")
took = {}
def call():
    t0 = time.monotonic(); slow.getHostname(); took["slow"] = time.monotonic() - t0
t = threading.Thread(target=call); t.start()
fast_times = []
while "slow" not in took and len(fast_times) < 50:  # served while the slow call waits
    t0 = time.monotonic(); fast.getLibVersion(); fast_times.append(time.monotonic() - t0)
done_early = "slow" in took
t.join()
inject("reset")
t0 = time.monotonic(); slow.getHostname(); after = time.monotonic() - t0
print(json.dumps({"slow": took["slow"], "fast": max(fast_times), "n": len(fast_times),
                  "done_early": done_early, "after": after}))
""",
    )
    assert result["slow"] >= 1.5
    assert result["n"] == 50 and not result["done_early"]
    assert result["fast"] < 0.5 and result["after"] < 1.0


def test_inject_guest_refuses_unplug_and_shutdown(virtwire_server, run_pylibvirt):
    result = _run(
        run_pylibvirt,
        virtwire_server,
        virtwire_server.unix_uri("qemu", "/system"),
        f"""
conn = libvirt.open(URI)
dom = conn.defineXML({DOMAIN_XML!r})
dom.create()
dimm = {DIMM_XML!r}
events = []
dom.attachDeviceFlags(dimm, libvirt.VIR_DOMAIN_AFFECT_LIVE)
inject("refuse", "unplug")
refused = error_of(dom.detachDeviceFlags, dimm, libvirt.VIR_DOMAIN_AFFECT_LIVE)
still = "<memory model='dimm'" in dom.XMLDesc(0)
inject("reset")
unplugged = error_of(dom.detachDeviceFlags, dimm, libvirt.VIR_DOMAIN_AFFECT_LIVE)
gone = "<memory model='dimm'" not in dom.XMLDesc(0)
inject("refuse", "shutdown", "--forever")
dom.shutdown()
dom.shutdown()
running = dom.state()[0]
inject("reset")
dom.shutdown()
print(json.dumps({{"refused": refused, "still": still, "unplugged": unplugged, "gone": gone,
                  "running": running, "after": dom.state()[0]}}))
""",
    )
    code, _domain, message = result["refused"]
    assert code == ErrorCode.OPERATION_FAILED
    assert message == "operation failed: unplug of device was rejected by the guest"
    assert result["still"] and result["unplugged"] is None and result["gone"]
    assert result["running"] == 1 and result["after"] == 5  # RUNNING, then SHUTOFF


def test_inject_drop_client(virtwire_server, run_pylibvirt):
    result = _run(
        run_pylibvirt,
        virtwire_server,
        virtwire_server.tcp_uri(),
        """
victim, other = libvirt.open(URI), libvirt.open(URI)
victim.getLibVersion(); other.getLibVersion()
clients = inject("clients")["clients"]
assert len(clients) == 2, clients
mine = clients[0]
dropped = inject("drop", "--client", str(mine["id"]))["dropped"]
broken = error_of(victim.getLibVersion)
survived = error_of(other.getLibVersion)
by_peer = inject("drop", "--peer", clients[1]["peer"])["dropped"]
broken2 = error_of(other.getLibVersion)
fresh = libvirt.open(URI)
inject("reset")
print(json.dumps({"dropped": dropped, "want": [mine["id"]], "broken": broken,
                  "survived": survived, "by_peer": by_peer, "broken2": broken2,
                  "fresh": fresh.getLibVersion()}))
""",
    )
    assert result["dropped"] == result["want"]
    assert result["broken"] is not None and result["broken"][0] == ErrorCode.SYSTEM_ERROR
    assert result["survived"] is None
    assert len(result["by_peer"]) == 1 and result["broken2"] is not None
    assert result["fresh"] > 0
    assert "dropping the connection of client" in virtwire_server.log


def test_inject_stall_events(virtwire_server, run_pylibvirt):
    result = _run(
        run_pylibvirt,
        virtwire_server,
        virtwire_server.unix_uri(),
        """
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(URI)
seen = []
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                            lambda c, d, ev, detail, o: seen.append(ev), None)
dom = conn.lookupByName("test")
inject("stall-events")
dom.suspend()
wait_for(lambda: inject("list")["events_held"] >= 1, "the event to be held")
held_seen = list(seen)
replies_work = dom.state()[0]
released = inject("release-events")["released"]
wait_for(lambda: seen, "the released event")
inject("reset")
dom.resume()
wait_for(lambda: len(seen) >= 2, "the resume event")
print(json.dumps({"held_seen": held_seen, "released": released, "seen": seen,
                  "state": replies_work}))
""",
    )
    assert result["held_seen"] == [] and result["released"] == 1
    assert result["state"] == 3  # PAUSED: calls are answered while events are held
    assert result["seen"] == [3, 4]  # SUSPENDED (released), then RESUMED (normal service)
