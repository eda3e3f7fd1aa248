"""Where the tests find libvirt 9.0's own sources (its ``.x`` files and ``src/libvirt*.c``).

They are facts to compare with, never shipped: CI fetches Debian's libvirt source package
with ``../shared/peer/get-libvirt-x-files.sh`` (``.ci/run`` does it once and exports
``VIRTWIRE_LIBVIRT_X_DIR``); a developer's machine may have the script's cache
(``/tmp/libvirt-src-cache/<version>/src``).  Tests that need them are ``interop`` tests:
skipped locally when absent, failed in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import need_peer

CACHE = Path("/tmp/libvirt-src-cache")
X_FILES = (
    "remote_protocol.x",
    "qemu_protocol.x",
    "lxc_protocol.x",
    "admin_protocol.x",
    "virnetprotocol.x",
    "virkeepaliveprotocol.x",
)


def _trees() -> list[Path]:
    return sorted(CACHE.glob("*/src"), reverse=True) if CACHE.is_dir() else []


def libvirt_x_dir() -> Path:
    """A folder holding libvirt 9.0's six ``.x`` files (skip/fail when there is none)."""
    env = os.environ.get("VIRTWIRE_LIBVIRT_X_DIR")
    candidates = [Path(env)] if env else []
    for tree in _trees():
        candidates += [tree / "src/remote", tree / "src/rpc", tree / "src/admin"]
    for folder in candidates:
        if (folder / "remote_protocol.x").is_file() and all(
            (folder / name).is_file() for name in X_FILES
        ):
            return folder
    tree = next(iter(_trees()), None)
    if tree is not None:  # the unpacked tree keeps them in three folders: gather them
        gathered = Path(f"/tmp/virtwire-libvirt-x-{os.getuid()}")
        gathered.mkdir(exist_ok=True)
        for sub in ("src/remote", "src/rpc", "src/admin"):
            for path in (tree / sub).glob("*.x"):
                (gathered / path.name).write_bytes(path.read_bytes())
        if all((gathered / name).is_file() for name in X_FILES):
            return gathered
    need_peer(False, "libvirt 9.0's .x files (../shared/peer/get-libvirt-x-files.sh)")
    raise AssertionError("unreachable")


def libvirt_src_tree() -> Path:
    """An unpacked libvirt 9.0 source tree (for the api_facts stale check)."""
    env = os.environ.get("VIRTWIRE_LIBVIRT_SRC")
    for tree in ([Path(env)] if env else []) + _trees():
        if (tree / "src/libvirt-domain.c").is_file():
            return tree
    need_peer(False, "libvirt 9.0's source tree (../shared/peer/get-libvirt-x-files.sh)")
    raise AssertionError("unreachable")
