"""`virtwire conformance` against a real private libvirtd and against `virtwire serve`.

Both must pass every check that applies to them; the JUnit reports are kept in
``$VIRTWIRE_ARTIFACTS_DIR`` (``conformance-libvirtd.xml``, ``conformance-virtwire.xml``,
``conformance-virtwire-qemu.xml``) when that variable is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from virtwire.tools.conformance_checks import CHECKS

pytestmark = pytest.mark.interop

# What does not apply to libvirt's test driver: it has no DIMM hot-plug.
TEST_DRIVER_SKIPS = {"memory.dimm-hotplug"}


def report_path(tmp_path: Path, name: str) -> Path:
    artifacts = os.environ.get("VIRTWIRE_ARTIFACTS_DIR")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        return Path(artifacts) / name
    return tmp_path / name


def run_conformance(uri: str, report: Path, *extra: str) -> dict[str, tuple[str, str]]:
    """Run the CLI as a user would; return {check: (status, message)} from its JUnit file."""
    done = subprocess.run(
        [sys.executable, "-m", "virtwire.tools.cli", "conformance", uri,
         "--format", "junit", "--output", str(report), *extra],
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert report.exists(), done.stderr
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure, skipped = case.find("failure"), case.find("skipped")
        if failure is not None:
            results[case.get("name")] = ("fail", f"{failure.get('message')}\n{failure.text}")
        elif skipped is not None:
            results[case.get("name")] = ("skip", skipped.get("message"))
        else:
            results[case.get("name")] = ("pass", "")
    failed = {n: m for n, (s, m) in results.items() if s == "fail"}
    assert not failed, "\n\n".join(f"{n}: {m}" for n, m in failed.items())
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(results) == {c.name for c in CHECKS}
    return results


def skipped(results: dict[str, tuple[str, str]]) -> set[str]:
    return {n for n, (s, _) in results.items() if s == "skip"}


def test_conformance_against_libvirtd(libvirtd_peer, tmp_path: Path) -> None:
    # libvirtd's keepalive is 5 s × 5: its disconnect comes after ~30 s (run in the background)
    results = run_conformance(
        libvirtd_peer.tcp_uri,
        report_path(tmp_path, "conformance-libvirtd.xml"),
        "--keepalive-budget",
        "45",
    )
    assert skipped(results) == TEST_DRIVER_SKIPS
    assert "virDomainAttachDeviceFlags" in results["memory.dimm-hotplug"][1]


def test_conformance_against_virtwire_serve(virtwire_server_factory, tmp_path: Path) -> None:
    server = virtwire_server_factory(config_text="keepalive_interval = 1\nkeepalive_count = 2\n")
    results = run_conformance(
        server.tcp_uri(),
        report_path(tmp_path, "conformance-virtwire.xml"),
        "--keepalive-budget",
        "10",
    )
    assert skipped(results) == TEST_DRIVER_SKIPS
    # the QEMU-style session host over the unix socket: everything applies, hot-plug included
    results = run_conformance(
        server.unix_uri("qemu", "/session"),
        report_path(tmp_path, "conformance-virtwire-qemu.xml"),
        "--keepalive-budget",
        "10",
    )
    assert skipped(results) == set()
