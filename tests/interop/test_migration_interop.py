"""Live migration driven by real virsh and python3-libvirt, between two hosts of one fleet and
between two separate `virtwire serve` processes; a SIGKILL mid-migration loses nothing."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.fleet_proc import FleetProcess

pytestmark = pytest.mark.interop

UUID = "0b5d3f2e-5c59-4d8e-8a39-6f0c1d2e3f40"
XML = f"""<domain type='qemu'>
  <name>vm</name>
  <uuid>{UUID}</uuid>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>
"""


def _wait(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a condition with a deadline


class EventWatch:
    """`virsh event --all --loop` on one URI, its lines collected in a file."""

    def __init__(self, uri: str, out: Path) -> None:
        self.out = out
        with open(out, "w") as sink:
            self.proc = subprocess.Popen(
                ["stdbuf", "-oL", "virsh", "-c", uri, "event", "--all", "--loop"],
                stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def lines(self) -> list[str]:
        return [line for line in self.out.read_text().splitlines() if line.startswith("event ")]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _ready(watch: EventWatch, run_virsh, uri: str, tmp_path: Path, name: str) -> None:
    """Make events until the watcher prints one: then it is registered."""
    marker = tmp_path / f"{name}.xml"
    marker.write_text(f"<domain type='qemu'><name>{name}</name><memory>65536</memory>"
                      "<os><type>hvm</type></os></domain>")  # fmt: skip

    def seen() -> bool:
        assert run_virsh(uri, "define", str(marker)).returncode == 0
        assert run_virsh(uri, "undefine", name).returncode == 0
        return any(f"'{name}'" in line for line in watch.lines())

    _wait(seen, what=f"virsh event on {uri}")


def _vm_lines(watch: EventWatch) -> list[str]:
    return [line for line in watch.lines() if "domain 'vm'" in line]


def _migrate_with_virsh(src: str, dst: str, run_virsh, tmp_path: Path, *flags: str) -> tuple:
    xml_file = tmp_path / "vm.xml"
    xml_file.write_text(XML)
    assert run_virsh(src, "define", str(xml_file)).returncode == 0
    assert run_virsh(src, "start", "vm").returncode == 0
    before = run_virsh(src, "dumpxml", "vm").stdout
    watches = (EventWatch(src, tmp_path / "src.events"), EventWatch(dst, tmp_path / "dst.events"))
    try:
        _ready(watches[0], run_virsh, src, tmp_path, "marker-src")
        _ready(watches[1], run_virsh, dst, tmp_path, "marker-dst")
        res = run_virsh(src, "migrate", "--live", "--p2p", *flags, "vm", dst)
        assert res.returncode == 0, res.stderr
        _wait(
            lambda: any("Resumed Migrated" in x for x in _vm_lines(watches[1])), what="dst events"
        )
        _wait(lambda: any("job-completed" in x for x in _vm_lines(watches[0])), what="src events")
        return before, _vm_lines(watches[0]), _vm_lines(watches[1])
    finally:
        for w in watches:
            w.stop()


def _check_moved(src: str, dst: str, run_virsh, before: str, src_ev, dst_ev, kept: bool) -> None:
    assert run_virsh(dst, "domstate", "vm").stdout.strip() == "running"
    assert run_virsh(dst, "domuuid", "vm").stdout.strip() == UUID
    after = run_virsh(dst, "dumpxml", "vm").stdout
    strip = lambda x: x.split("\n", 1)[1]  # noqa: E731  (the first line carries the id)
    assert strip(after) == strip(before)
    state = run_virsh(src, "domstate", "vm")
    if kept:
        assert state.stdout.strip() == "shut off"
    else:
        assert state.returncode != 0 and "failed to get domain" in state.stderr
    # libvirt's Confirm deletes the source's config without an UNDEFINED event
    assert [x.split(": ", 1)[1] for x in src_ev if "lifecycle" in x] == [
        "Suspended Migrated", "Stopped Migrated"]  # fmt: skip
    assert "migration-iteration" in src_ev[0]
    assert any("job-completed" in x for x in src_ev)
    assert [x.split(": ", 1)[1] for x in dst_ev if "lifecycle" in x] == (
        ["Started Migrated", "Resumed Migrated"] if kept
        else ["Started Migrated", "Defined Added", "Resumed Migrated"]
    )  # fmt: skip


def test_virsh_p2p_between_two_fleet_hosts(tmp_path: Path, run_virsh) -> None:
    fleet = FleetProcess(tmp_path, ["--fleet", "2"]).start()
    try:
        src, dst = fleet.uris()
        before, src_ev, dst_ev = _migrate_with_virsh(src, dst, run_virsh, tmp_path)
        _check_moved(src, dst, run_virsh, before, src_ev, dst_ev, kept=True)
        # cold (offline) migration, managed by virsh: only the definition moves
        cold = tmp_path / "cold.xml"
        cold.write_text(
            XML.replace("<name>vm</name>", "<name>cold</name>").replace(UUID, UUID[:-1] + "1")
        )
        assert run_virsh(src, "define", str(cold)).returncode == 0
        res = run_virsh(
            src, "migrate", "--offline", "--persistent", "--undefinesource", "cold", dst
        )
        assert res.returncode == 0, res.stderr
        assert run_virsh(dst, "domstate", "cold").stdout.strip() == "shut off"
        assert "failed to get domain" in run_virsh(src, "domstate", "cold").stderr
    finally:
        assert fleet.stop() == 0


def test_virsh_p2p_between_two_daemons(virtwire_server_factory, tmp_path: Path, run_virsh) -> None:
    a, b = virtwire_server_factory(), virtwire_server_factory()
    src, dst = a.tcp_uri("qemu", "/system"), b.tcp_uri("qemu", "/system")
    before, src_ev, dst_ev = _migrate_with_virsh(
        src, dst, run_virsh, tmp_path, "--persistent", "--undefinesource"
    )
    _check_moved(src, dst, run_virsh, before, src_ev, dst_ev, kept=False)
    assert run_virsh(dst, "dominfo", "vm").stdout.count("Persistent:     yes") == 1


PYLIBVIRT = r"""
import json, sys, threading, time
import libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
a_uri, b_uri, xml = sys.argv[1:4]
conns = {"a": libvirt.open(a_uri), "b": libvirt.open(b_uri)}
seen = {"a": [], "b": []}
for side, conn in conns.items():
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, e, det, o: seen[o].append(["lifecycle", e, det]), side)
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
        lambda c, d, it, o: seen[o].append(["iteration", it]), side)
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
        lambda c, d, params, o: seen[o].append(["job-completed", params["operation"]]), side)
def settle(src, dst):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
            any(e[0] == "job-completed" for e in seen[src])
            and ["lifecycle", 4, 1] in seen[dst]):
        time.sleep(0.02)
    legs.append({"src": seen[src][:], "dst": seen[dst][:]})
    seen[src].clear(); seen[dst].clear()
def leg(src_conn, dst_conn):
    try:
        src_conn.lookupByName("vm")
        gone = False
    except libvirt.libvirtError as e:
        gone = e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    moved = dst_conn.lookupByName("vm")
    return {"uuid": moved.UUIDString(), "state": moved.state(), "gone": gone,
            "persistent": moved.isPersistent()}
legs = []
dom = conns["a"].createXML(xml, 0)
deadline = time.monotonic() + 10
while time.monotonic() < deadline and len(seen["a"]) < 2:  # RESUMED, STARTED of createXML
    time.sleep(0.02)
seen["a"].clear()
# a -> b peer-to-peer (migrateToURI3), then b -> a managed direct (migrate3)
dom.migrateToURI3(b_uri, {}, libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)
settle("a", "b")
first = leg(conns["a"], conns["b"])
back = conns["b"].lookupByName("vm").migrate3(conns["a"], {}, libvirt.VIR_MIGRATE_LIVE)
settle("b", "a")
second = leg(conns["b"], conns["a"])
second["returned"] = back.UUIDString()
print(json.dumps({"results": [first, second], "legs": legs}))
"""


def test_pylibvirt_migrate_p2p_then_direct(virtwire_server_factory, run_pylibvirt) -> None:
    """migrateToURI3 (p2p) from A to B, then migrate3 (managed direct) back to A."""
    a, b = virtwire_server_factory(), virtwire_server_factory()
    res = run_pylibvirt(PYLIBVIRT, a.tcp_uri("qemu", "/system"), b.tcp_uri("qemu", "/system"), XML)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    for result, leg in zip(out["results"], out["legs"]):
        assert result["uuid"] == UUID and result["state"] == [1, 2]  # running, migrated
        assert not result["persistent"]
        src = leg["src"]
        assert src[0] == ["iteration", 1]
        assert [e for e in src if e[0] != "iteration"] == [
            ["lifecycle", 3, 1], ["lifecycle", 5, 3], ["job-completed", 5]]  # fmt: skip
        assert leg["dst"] == [["lifecycle", 2, 1], ["lifecycle", 4, 1]]
    assert all(r["gone"] for r in out["results"])  # a transient domain leaves its source
    assert out["results"][1]["returned"] == UUID


def test_domjobinfo_abort_and_sigkill_mid_migration(tmp_path: Path, run_virsh) -> None:
    """A slow migration shows progress; domjobabort keeps it on the source; a SIGKILL of the
    daemon in the middle of one leaves the domain on exactly one host, intact."""
    sockets = tmp_path / "s"
    fleet = FleetProcess(tmp_path, ["--fleet", "2", "--fleet-unix-dir", str(sockets)])
    fleet.start()
    migrations: list[subprocess.Popen] = []
    try:
        src, dst = fleet.uris()
        xml_file = tmp_path / "vm.xml"
        xml_file.write_text(XML)
        assert run_virsh(src, "define", str(xml_file)).returncode == 0
        assert run_virsh(src, "start", "vm").returncode == 0
        original = run_virsh(src, "dumpxml", "--inactive", "vm").stdout
        assert run_virsh(src, "migrate-setspeed", "vm", "1").returncode == 0
        assert run_virsh(src, "migrate-getspeed", "vm").stdout.strip() == "1"

        def migrate() -> subprocess.Popen:
            proc = subprocess.Popen(
                ["virsh", "-c", src, "migrate", "--live", "--p2p", "--persistent", "vm", dst],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            migrations.append(proc)
            return proc

        def progress() -> str | None:
            out = run_virsh(src, "domjobinfo", "vm").stdout
            return out if "Unbounded" in out and "Memory processed" in out else None

        first = migrate()
        info = _wait(progress, what="a running migration job")
        assert "Outgoing migration" in info
        assert run_virsh(dst, "domstate", "vm").stdout.strip() == "paused"
        assert run_virsh(src, "domjobabort", "vm").returncode == 0
        _, err = first.communicate(timeout=20)
        assert (
            first.returncode != 0 and "operation aborted: migration out: canceled by client" in err
        )
        assert run_virsh(src, "domstate", "vm").stdout.strip() == "running"
        _wait(lambda: run_virsh(dst, "list", "--all", "--name").stdout.strip() == "",
              what="the incoming domain to go")  # fmt: skip

        migrate()
        _wait(progress, what="the second migration job")
        fleet.kill9()
        fleet.start()
        on_src = run_virsh(src, "list", "--all", "--name").stdout.split()
        on_dst = run_virsh(dst, "list", "--all", "--name").stdout.split()
        assert (on_src, on_dst) == (["vm"], [])
        assert run_virsh(src, "domuuid", "vm").stdout.strip() == UUID
        assert run_virsh(src, "dumpxml", "--inactive", "vm").stdout == original
        assert sockets.is_dir()
    finally:
        for proc in migrations:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
        fleet.stop()


@pytest.mark.parametrize(
    "phase", ["DOMAIN_MIGRATE_PREPARE3_PARAMS", "DOMAIN_MIGRATE_FINISH3_PARAMS"]
)
def test_injected_failure_leaves_the_domain_on_the_source(
    virtwire_server_factory, tmp_path: Path, run_virsh, run_virtwire, phase: str
) -> None:
    """`virtwire inject fail` on the destination's Prepare or Finish: the p2p migration fails
    with the injected error and, as libvirt leaves it, the domain runs on the source only."""
    a, b = virtwire_server_factory(), virtwire_server_factory()
    src, dst = a.tcp_uri("qemu", "/system"), b.tcp_uri("qemu", "/system")
    xml_file = tmp_path / "vm.xml"
    xml_file.write_text(XML)
    assert run_virsh(src, "define", str(xml_file)).returncode == 0
    assert run_virsh(src, "start", "vm").returncode == 0
    control = b.unix_path.parent / "virtwire-inject-sock"
    res = run_virtwire("inject", "--socket", str(control), "fail", phase,
                       "--code", "OPERATION_FAILED", "--message", f"injected in {phase}")  # fmt: skip
    assert res.returncode == 0, res.stderr
    res = run_virsh(src, "migrate", "--live", "--p2p", "vm", dst)
    assert res.returncode != 0 and f"injected in {phase}" in res.stderr, res.stderr
    assert run_virsh(src, "domstate", "vm").stdout.strip() == "running"
    assert "vm" not in run_virsh(dst, "list", "--all", "--name").stdout.split()
    # the fault is spent: the next attempt moves the domain
    res = run_virsh(src, "migrate", "--live", "--p2p", "vm", dst)
    assert res.returncode == 0, res.stderr
    assert run_virsh(dst, "domstate", "vm").stdout.strip() == "running"
