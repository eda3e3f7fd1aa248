"""Save images cross between libvirtd 9.0's test driver and virtwire's test:///default: one
saved by either restores in the other, and both write the same bytes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.interop.conftest import started_virtwire_server

pytestmark = pytest.mark.interop


@pytest.fixture
def shared_dir():
    # libvirtd runs as another user: a directory both daemons can write
    base = Path(tempfile.mkdtemp(prefix="vw-save-"))
    base.chmod(0o1777)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    with started_virtwire_server() as srv:
        yield srv


def virsh_ok(run_virsh, uri: str, script: str) -> str:
    res = run_virsh(uri, script)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_images_cross_both_ways(run_virsh, libvirtd_peer, server, shared_dir):
    theirs, ours = shared_dir / "theirs.save", shared_dir / "ours.save"
    virsh_ok(run_virsh, libvirtd_peer.tcp_uri, f"save test {theirs}")
    virsh_ok(run_virsh, server.tcp_uri(), f"save test {ours}")
    assert theirs.read_bytes() == ours.read_bytes()
    os.chmod(ours, 0o644)  # written by root with mode 0600, as libvirtd would

    for uri, image in ((server.tcp_uri(), theirs), (libvirtd_peer.tcp_uri, ours)):
        out = virsh_ok(
            run_virsh,
            uri,
            f"destroy test; restore {image}; domstate test --reason; save-image-dumpxml {image}",
        )
        assert "running (restored)" in out
        assert "<name>test</name>" in out
