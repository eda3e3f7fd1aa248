"""Real virsh: cpu-baseline on test:///default side by side with libvirtd 9.0's test driver,
and cpu-compare / cpu-baseline / hypervisor-cpu-* on `virtwire serve`'s qemu:///system."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

SKYLAKE = """<cpu>
  <arch>x86_64</arch>
  <model>Skylake-Client-IBRS</model>
  <vendor>Intel</vendor>
  <feature name='ds'/>
  <feature name='vmx'/>
  <feature name='invtsc'/>
</cpu>
"""
HASWELL = """<cpu>
  <arch>x86_64</arch>
  <model>Haswell-noTSX</model>
  <vendor>Intel</vendor>
  <feature name='vmx'/>
  <feature name='pdpe1gb'/>
</cpu>
"""
OPTERON = """<cpu>
  <arch>x86_64</arch>
  <model>Opteron_G3</model>
  <feature name='sse4.1'/>
</cpu>
"""
EPYC = """<cpu>
  <arch>x86_64</arch>
  <model>EPYC</model>
  <vendor>AMD</vendor>
</cpu>
"""


def test_test_driver_baseline_as_libvirtd(libvirtd_peer, virtwire_server, run_virsh, tmp_path):
    ours = virtwire_server.unix_uri("test", "/default")
    cases = {
        "same": SKYLAKE + SKYLAKE,
        "two": SKYLAKE + HASWELL,
        "amd": OPTERON + EPYC,
        "clash": SKYLAKE + EPYC,
        "one": HASWELL,
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.xml"
        path.write_text(text)
        for extra in ([], ["--features"]):
            real = run_virsh(libvirtd_peer.unix_uri, "cpu-baseline", str(path), *extra)
            mine = run_virsh(ours, "cpu-baseline", str(path), *extra)
            assert (mine.returncode, mine.stdout, mine.stderr) == (
                real.returncode,
                real.stdout,
                real.stderr,
            ), (name, extra)


def test_qemu_host_compare_and_baseline(virtwire_server, run_virsh, tmp_path: Path):
    uri = virtwire_server.unix_uri("qemu", "/system")

    def ok(*args: str) -> str:
        proc = run_virsh(uri, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    caps = tmp_path / "caps.xml"
    caps.write_text(ok("capabilities"))
    assert "<model>EPYC-Rome</model>" in caps.read_text()
    assert "is identical to host CPU" in ok("cpu-compare", str(caps))
    assert "is identical to the CPU provided by hypervisor" in ok(
        "hypervisor-cpu-compare", str(caps)
    )
    epyc = tmp_path / "epyc.xml"
    epyc.write_text(EPYC)
    assert "superset" in ok("cpu-compare", str(epyc))
    intel = tmp_path / "intel.xml"
    intel.write_text(SKYLAKE)
    plain = run_virsh(uri, "cpu-compare", str(intel))  # virsh exits 1 on "incompatible"
    assert plain.returncode == 1 and "is incompatible with host CPU" in plain.stdout
    bad = run_virsh(uri, "cpu-compare", str(intel), "--error")
    assert bad.returncode == 1 and (
        "the CPU is incompatible with host CPU: host CPU vendor does not match required CPU "
        "vendor Intel" in bad.stderr
    )
    rome = ok("cpu-baseline", str(caps))
    assert "<model fallback='forbid'>EPYC-Rome</model>" in rome
    both = tmp_path / "both.xml"
    both.write_text(ok("capabilities") + EPYC)
    base = ok("hypervisor-cpu-baseline", str(both))
    assert "<model fallback='forbid'>EPYC</model>" in base and "<vendor>AMD</vendor>" in base
    baseline = tmp_path / "baseline.xml"
    baseline.write_text(base)
    assert "superset" in ok("hypervisor-cpu-compare", str(baseline))
