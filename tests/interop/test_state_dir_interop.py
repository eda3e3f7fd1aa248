"""Issue 14 #5 side by side: a define on a QEMU host whose config directory is read-only.

A private libvirtd 9.0 (QEMU driver, session mode) is started once to make its
directories, stopped, its ``config/libvirt/qemu`` made read-only (0555: the daemon's user
cannot write it, root is not involved) and started again: it opens, and a define fails.
virtwire's QEMU host on a read-only state directory (in a child that is not root) must
give the same code, domain and text, paths aside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from virtwire.server.hypervisor import HostRegistry

from tests.conftest import need_peer
from tests.interop.conftest import PEER_DIR, free_port, have_libvirtd
from tests.server.readonly_host import (
    DOMAIN_XML,
    in_child_as_nobody,
    open_for_traversal,
    read_only_host,
    tree_modes,
)

pytestmark = pytest.mark.interop

DEFINE_PY = r"""
import json, sys, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
conn = libvirt.open(sys.argv[1])
try:
    conn.defineXML(sys.argv[2])
    print(json.dumps(["ok"]))
except libvirt.libvirtError as e:
    print(json.dumps([e.get_error_code(), e.get_error_domain(), e.get_error_message()]))
"""


def _peer(action: str, port: int, directory: Path, keep: bool = False) -> None:
    env = dict(os.environ)
    if keep:
        env["LIBVIRT_PEER_KEEP_DIR"] = "1"
    done = subprocess.run(
        ["bash", str(PEER_DIR / f"{action}-libvirtd.sh"), str(port), str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr


def test_define_on_a_read_only_config_dir_matches_libvirtd(run_pylibvirt, tmp_path):
    need_peer(have_libvirtd(), "libvirtd (Debian package libvirt-daemon) and virsh")
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="lvro-"))
    os.chmod(base, 0o755)
    peer = base / "d"
    try:
        _peer("start", port, peer)
        _peer("stop", port, peer, keep=True)
        config = peer / "config" / "libvirt" / "qemu"
        config.chmod(0o555)
        _peer("start", port, peer)
        uri = f"qemu+unix:///session?socket={peer}/sock/libvirt-sock"
        done = run_pylibvirt(DEFINE_PY, uri, DOMAIN_XML.format("new"), timeout=60)
        assert done.returncode == 0, done.stderr
        real = json.loads(done.stdout)
    finally:
        subprocess.run(
            ["bash", str(PEER_DIR / "stop-libvirtd.sh"), str(port), str(peer)],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)
    assert real == [38, 0, f"Failed to create file '{config}/new.xml.new': Permission denied"]

    state = tmp_path / "state"
    HostRegistry(state, lambda fn: None).open("qemu:///system").domain_define_xml_flags(
        DOMAIN_XML.format("keep"), 0
    )
    changed = open_for_traversal(tmp_path)
    tree_modes(state, 0o555)
    try:
        mine = in_child_as_nobody(read_only_host, state)
    finally:
        tree_modes(state, 0o755)
        for path, mode in changed:
            path.chmod(mode)
    host_dir = state / "qemu-system"
    assert mine["define"] == [
        real[0],
        real[1],
        real[2].replace(str(config), str(host_dir)),
    ]
    assert mine["tracebacks"] == []
