"""`virsh sysinfo` against `virtwire serve` and against libvirtd: the same output."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.interop


def test_virsh_sysinfo_matches_libvirtd(virtwire_server, libvirtd_peer, run_virsh):
    ours = run_virsh(virtwire_server.tcp_uri(), "sysinfo")
    theirs = run_virsh(libvirtd_peer.tcp_uri, "sysinfo")
    assert theirs.returncode == 0, theirs.stderr
    assert (ours.returncode, ours.stdout, ours.stderr) == (0, theirs.stdout, theirs.stderr)
