"""Real virsh against a `virtwire serve --fleet 50`: every sampled host answers as itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fleet_proc import FleetProcess

pytestmark = pytest.mark.interop


def test_virsh_sees_each_fleet_host(tmp_path: Path, run_virsh) -> None:
    fleet = FleetProcess(tmp_path, ["--fleet", "50"]).start()
    try:
        hosts = fleet.hosts()
        assert len(hosts) == 50
        listed = subprocess.run(
            [sys.executable, "-m", "virtwire.tools.cli", "fleet", "list",
             "--state-dir", str(fleet.state_dir)],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert listed == [h["uri"] for h in hosts]
        for host in (hosts[0], hosts[17], hosts[49]):
            res = run_virsh(host["uri"], "hostname")
            assert res.returncode == 0, res.stderr
            assert res.stdout.strip() == host["hostname"]
            caps = run_virsh(host["uri"], "capabilities").stdout
            assert f"<uuid>{host['uuid']}</uuid>" in caps
        info = run_virsh(hosts[5]["uri"], "nodeinfo").stdout
        assert "CPU(s):              8" in info
    finally:
        assert fleet.stop() == 0
