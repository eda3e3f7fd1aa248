"""benchmarks/bench_amplification.py (issue 14 #1 side by side): it runs against both
daemons and reports what it measured; the bound on virtwire's growth is the regression
check (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from virtwire.tools.bench_servers import LibvirtdServer, VirtwireServer

from tests.conftest import need_peer
from tests.interop.conftest import have_libvirtd

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_amplification.py"


@pytest.fixture(scope="module")
def amplification():  # noqa: ANN201 - the benchmark module
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import bench_amplification

        yield bench_amplification
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_virtwire_stays_bounded_under_pipelined_big_replies(amplification):
    got = amplification.measure(VirtwireServer(), 1.0, 300, 2, 0.5)
    assert got["sent"] > 10  # the attack happened: calls were on the wire, never read
    assert got["good_calls"] > 0
    assert got["grown_mib"] < 64, got  # a few replies, not one per call (300 × 1 MiB)


@pytest.mark.interop
def test_both_daemons_side_by_side():
    need_peer(have_libvirtd(), "libvirtd (Debian package libvirt-daemon)")
    need_peer(LibvirtdServer.check() is None, str(LibvirtdServer.check()))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--mib", "0.5", "--calls", "200", "--attackers", "2",
         "--seconds", "0.5"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert set(rows) == {"libvirtd", "virtwire"}, done.stdout
    for row in rows.values():
        assert int(row[1]) > 0 and row[3] == "MiB", done.stdout
