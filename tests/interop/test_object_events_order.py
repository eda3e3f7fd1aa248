"""Events of every object kind, in libvirt's order, side by side with libvirtd 9.0.

One python3-libvirt script (tests/interop/peer/object_events.py) registers for every
network, storage-pool, node-device and secret event ID, runs the same operations against
libvirtd and against virtwire, and prints each operation with the events it caused, in
arrival order; the two outputs must be identical:

* test:///default: network lifecycle, pool refresh, volumes (no events), the mock vHBA
  (node device CREATED/DELETED) and a vHBA pool (node device CREATED before the pool's
  STARTED, DELETED before STOPPED); secret registrations are NO_SUPPORT on both.
* qemu:///session (libvirtd's own secret and storage drivers, no guest needed): secret
  DEFINED / VALUE_CHANGED / UNDEFINED, pool DEFINED, CREATED (build), STARTED, REFRESH on
  pool-refresh and once an upload's stream closes (not after a download), STOPPED, DELETED,
  UNDEFINED. libvirt 9.0 has no network metadata event (it came in 9.8).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

SCRIPT = (Path(__file__).parent / "peer" / "object_events.py").read_text()


def run(run_pylibvirt, uri: str, mode: str, pooldir: str) -> list[str]:
    proc = run_pylibvirt(SCRIPT, uri, mode, pooldir, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TIMEOUT" not in proc.stdout, proc.stdout
    return proc.stdout.splitlines()


def test_object_events_are_libvirtds(libvirtd_peer, virtwire_server, run_pylibvirt):
    # libvirtd runs as its own user: its pools live in a directory it may write
    real_dir = libvirtd_peer.dir / f"evpools-{os.getpid()}"
    real_dir.mkdir()
    real_dir.chmod(0o777)
    try:
        real_test = run(run_pylibvirt, libvirtd_peer.tcp_uri, "test", str(real_dir))
        real_qemu = run(
            run_pylibvirt,
            f"qemu+tcp://127.0.0.1:{libvirtd_peer.port}/session",
            "qemu",
            str(real_dir),
        )
    finally:
        shutil.rmtree(real_dir, ignore_errors=True)
    ours_test = run(run_pylibvirt, virtwire_server.unix_uri(), "test", "/srv/evpools")
    ours_qemu = run(
        run_pylibvirt, virtwire_server.unix_uri("qemu", "/session"), "qemu", "/srv/evpools"
    )
    assert ours_test == real_test
    assert ours_qemu == real_qemu
    # what the comparison covers
    assert "    ('nodedev', 'scsi_host12', 0, 0)" in real_test
    assert "    ('secret-value', '/var/lib/libvirt/images/ev.img')" in real_qemu
    upload = real_qemu.index("vol-upload ok")
    assert real_qemu[upload + 1] == "    ('refresh', 'evpool')"
    assert real_qemu[upload + 2] == "vol-download ok"
