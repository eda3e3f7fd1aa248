"""Real virsh against `virtwire serve` on qemu:///session: no cgroups, as an unprivileged
libvirtd 9.0 (schedinfo and cpu-stats refused with its texts; pinning still works)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

GUEST = """<domain type='kvm'>
  <name>s1</name>
  <memory unit='KiB'>524288</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


def test_virsh_session_cgroup_apis(virtwire_server, run_virsh, tmp_path: Path):
    uri = virtwire_server.unix_uri("qemu", "/session")

    def ok(*args: str) -> str:
        proc = run_virsh(uri, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    (tmp_path / "s1.xml").write_text(GUEST)
    ok("define", str(tmp_path / "s1.xml"))
    ok("start", "s1")
    bad = run_virsh(uri, "schedinfo", "s1")
    assert bad.returncode == 1
    assert "CPU tuning is not available in session mode" in bad.stderr
    bad = run_virsh(uri, "cpu-stats", "s1", "--total")
    assert "cgroup CPUACCT controller is not mounted" in bad.stderr
    ok("vcpupin", "s1", "1", "2-3", "--live")
    assert " 1      2-3" in ok("vcpupin", "s1").split("\n")
    ok("emulatorpin", "s1", "0-1", "--live")
