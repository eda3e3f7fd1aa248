"""Host facts, domain tuning and stats of test:///default: real virsh against a private
libvirtd 9.0 and against `virtwire serve`, output compared after normalising only the
counters libvirt's test driver derives from the wall clock.
"""

from __future__ import annotations

import re

import pytest

from tests.interop.test_server_networks import assert_same, both

pytestmark = pytest.mark.interop

HOST_SCRIPT = "; ".join(
    [
        "capabilities",
        "freecell --all",
        "freecell 0",
        "freecell 1",
        "freecell 2",
        "freecell --cellno 0",
        "nodeinfo",
        "nodecpustats",
        "nodecpustats 1",
        "nodecpustats --percent",
        "nodememstats",
        "nodecpumap",
        "nodecpumap --pretty",
        "freepages --all",
        "freepages --cellno 1 --pagesize 4",
    ]
)


def _topology(text: str) -> tuple[int, int, int]:
    """What a topology tool computes from the capabilities: sockets, cores, threads."""
    cpus = re.findall(r"<cpu id='(\d+)' socket_id='(\d+)' die_id='\d+' core_id='(\d+)'", text)
    return len({s for _, s, _ in cpus}), len({(s, c) for _, s, c in cpus}), len(cpus)


FREE_MEMORY = """
import sys, libvirt
c = libvirt.open(sys.argv[1])
print(c.getFreeMemory(), c.getCellsFreeMemory(0, 8), c.getCPUMap(), c.getCPUStats(-1))
"""


def test_host_facts_match_libvirtd(virtwire_server, libvirtd_peer, run_virsh, run_pylibvirt):
    for transport in ("tcp", "unix"):
        theirs, ours = both(run_virsh, libvirtd_peer, virtwire_server, HOST_SCRIPT, transport)
        assert "socket_id='1'" in theirs.stdout and "Total:       6144 KiB" in theirs.stdout
        assert_same(theirs, ours)
    assert _topology(theirs.stdout) == (2, 16, 16)
    assert _topology(ours.stdout) == _topology(theirs.stdout)
    theirs = run_pylibvirt(FREE_MEMORY, libvirtd_peer.tcp_uri)
    ours = run_pylibvirt(FREE_MEMORY, virtwire_server.tcp_uri())
    assert theirs.stdout.startswith("3145728 [2097152, 4194304]")
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)


_VCPU_TIME = re.compile(r"(CPU time:\s+)\d+\.\d+s")

TUNING_SCRIPT = "; ".join(
    [
        "vcpupin test",
        "vcpupin test --config",
        "vcpupin test --live --config",
        "vcpupin test 1 2-3",
        "vcpupin test",
        "vcpupin test 1",
        "vcpupin test 5 1",
        "vcpupin test 0 1 --config",
        "vcpuinfo test",
        "vcpuinfo test --pretty",
        "emulatorpin test",
        "emulatorpin test 2,4",
        "emulatorpin test",
        "emulatorpin test --config",
        "emulatorpin test 1 --live --config",
        "dumpxml test",
        "dumpxml test --inactive",
        "schedinfo test",
        "schedinfo test --set weight=10",
        "schedinfo test --set cap=10",
        "schedinfo test --config",
        "schedinfo nope",
        "destroy test",
        "vcpuinfo test",
        "vcpupin test 0 1",
        "vcpupin test",
        "emulatorpin test",
        "vcpupin test --live",
    ]
)


def check_tuning(theirs, ours):
    assert "CPU Affinity" in theirs.stdout and "2-3" in theirs.stdout
    theirs.stdout = _VCPU_TIME.sub(r"\1<t>", theirs.stdout)
    ours.stdout = _VCPU_TIME.sub(r"\1<t>", ours.stdout)
    assert_same(theirs, ours)


# the test driver's block/interface counters are fractions of the wall clock
_CLOCK_COUNTER = re.compile(
    r"^((?:vda|/guest/diskimage1|testnet0|aa:bb:cc:dd:ee:ff) \w+) \d+$", re.M
)

STATS_SCRIPT = "; ".join(
    [
        "dommemstat test",
        "dommemstat test --period 2",
        "dumpxml test",
        "dommemstat test --period 0 --config",
        "dommemstat test --period 3 --live --config",
        "domblkstat test vda",
        "domblkstat test /guest/diskimage1",
        "domblkstat test vdb",
        "domblkstat test",
        "domifstat test testnet0",
        "domifstat test aa:bb:cc:dd:ee:ff",
        "domifstat test eth9",
        "domstats",
        "domstats test",
        "domstats --state",
        "domstats --cpu-total",
        "domstats --cpu-total --enforce",
        "domstats --list-active",
        "domstats --list-inactive",
        "domstats nope",
        "domstats test --iothread",
        "cpu-stats test",
        "cpu-stats test --total",
        "cpu-stats test --start 1 --count 1",
        "cpu-stats test --start 5",
        "destroy test",
        "cpu-stats test",
        "dommemstat test",
        "domblkstat test vda",
        "domifstat test testnet0",
        "domstats",
    ]
)


def check_stats(theirs, ours):
    assert "rss 1048576" in theirs.stdout and "state.state=1" in theirs.stdout
    for res in (theirs, ours):
        res.stdout = _CLOCK_COUNTER.sub(r"\1 <n>", res.stdout)
    assert_same(theirs, ours)


GUEST_SCRIPT = "; ".join(
    [
        "domtime test",
        "domtime test --time 1234567890",
        "domtime test",
        "domtime test --pretty",
        "domtime test --sync",
        "domtime test",
        "domhostname test",
        "suspend test",
        "domtime test",
        "domhostname test",
        "resume test",
        "domtime test --time 42",
        "destroy test",
        "domhostname test",
        "domtime test",
        "domtime test --time 5",
        "start test",
        "domtime test",
        "domhostname nope",
    ]
)


def check_guest_info(theirs, ours):
    assert "testhost" in theirs.stdout and "Time: 627319920" in theirs.stdout
    assert_same(theirs, ours)


_CREATED = re.compile(r"<creationTime>\d+</creationTime>|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}")

SNAPSHOT_SCRIPT = "; ".join(
    [
        "snapshot-list test",
        "snapshot-current test",
        "snapshot-create-as test s1 --description hello",
        "snapshot-create-as test s2",
        "snapshot-create-as test s1",
        "snapshot-list test",
        "snapshot-list test --tree",
        "snapshot-list test --parent",
        "snapshot-list test --roots",
        "snapshot-list test --leaves",
        "snapshot-list test --no-leaves",
        "snapshot-list test --active",
        "snapshot-list test --inactive",
        "snapshot-list test --from s1",
        "snapshot-list test --from s1 --descendants",
        "snapshot-current test --name",
        "snapshot-current test",
        "snapshot-dumpxml test s1",
        "snapshot-info test s1",
        "snapshot-info test s2",
        "snapshot-parent test s2",
        "snapshot-parent test s1",
        "snapshot-dumpxml test nope",
        "destroy test",
        "snapshot-create-as test off",
        "snapshot-dumpxml test off",
        "snapshot-list test --tree",
        "snapshot-revert test s1",
        "list --all",
        "snapshot-current test --name",
        "snapshot-revert test off",
        "list --all",
        "snapshot-revert test s2 --paused",
        "list --all",
        "domstate test --reason",
        "snapshot-revert test s1",
        "domstate test --reason",
        "snapshot-revert test off",
        "domstate test --reason",
        "snapshot-create-as test s3",
        "snapshot-list test --tree",
        "snapshot-delete test s2",
        "snapshot-list test --parent",
        "snapshot-delete test s1 --children-only",
        "snapshot-list test --parent",
        "snapshot-current test --name",
        "snapshot-delete test s1 --children",
        "snapshot-list test",
        "snapshot-current test",
    ]
)


def check_snapshots(theirs, ours):
    assert "s2" in theirs.stdout and "<domainsnapshot>" in theirs.stdout
    for res in (theirs, ours):
        res.stdout = _CREATED.sub("<time>", res.stdout)
    assert_same(theirs, ours)


def test_domain_scripts_match_libvirtd(virtwire_server, libvirtd_peer, run_virsh):
    """Each script starts from the fresh default state: test:///default starts afresh when
    its last connection closes, in libvirtd and in virtwire alike."""
    for script, check in (
        (TUNING_SCRIPT, check_tuning),
        (STATS_SCRIPT, check_stats),
        (GUEST_SCRIPT, check_guest_info),
        (SNAPSHOT_SCRIPT, check_snapshots),
    ):
        check(*both(run_virsh, libvirtd_peer, virtwire_server, script))


SNAPSHOT_EVENTS = r"""
import sys, time, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []
def cb(conn, dom, event, detail, opaque):
    seen.append((dom.name(), event, detail))
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
d = c.lookupByName("test")
s1 = d.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>")
d.destroy()
off = d.snapshotCreateXML("<domainsnapshot><name>off</name></domainsnapshot>")
d.revertToSnapshot(s1)
d.revertToSnapshot(s1, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
d.revertToSnapshot(off)
d.revertToSnapshot(off, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING)
d.create()
d.snapshotCreateXML("<domainsnapshot><name>h</name></domainsnapshot>",
                    libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_HALT)
print(d.info()[0], d.snapshotCurrent().getName(), d.snapshotNum(), d.hasCurrentSnapshot())
print([s.getName() for s in s1.listAllChildren()], off.getParent().getName(),
      s1.isCurrent(), s1.hasMetadata(), sorted(d.snapshotListNames()))
c.defineXML("<domain type='test'><name>marker</name><memory>1024</memory>"
            "<os><type>hvm</type></os></domain>")
deadline = time.monotonic() + 10
while not any(n == "marker" for n, _, _ in seen) and time.monotonic() < deadline:
    libvirt.virEventRunDefaultImpl()
print(seen)
"""


def test_snapshot_events_match_libvirtd(virtwire_server, libvirtd_peer, run_pylibvirt):
    theirs = run_pylibvirt(SNAPSHOT_EVENTS, libvirtd_peer.tcp_uri)
    ours = run_pylibvirt(SNAPSHOT_EVENTS, virtwire_server.tcp_uri())
    assert "('test', 2, 3)" in theirs.stdout, theirs.stderr  # STARTED FROM_SNAPSHOT
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
