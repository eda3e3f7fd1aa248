"""Run a QEMU host on a read-only state directory as a user it does not admit (issue 14 #5).

Permissions do not bind root: as root the host runs in a forked child that drops to
``nobody`` first. Shared by tests/server/hypervisor/test_hv_state_dir.py and
tests/interop/test_state_dir_interop.py.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import select
import signal
import stat
import time
from pathlib import Path

from virtwire.protocol.errors import LibvirtError
from virtwire.server.hypervisor import HostRegistry

DOMAIN_XML = (
    "<domain type='qemu'><name>{}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def refusal(fn, *args) -> list:
    try:
        fn(*args)
    except LibvirtError as err:
        return [int(err.code), int(err.domain), err.message]
    return ["ok"]


def read_only_host(state: Path) -> dict:
    """What a read-only qemu:///system does (run as a user the directory does not admit)."""
    handler = _Records()
    logger = logging.getLogger("virtwire.server")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        registry = HostRegistry(state, lambda fn: None)
        drv = registry.open("qemu:///system")
        keep = drv.domain_lookup_by_name("keep")
        out = {
            "names": sorted(o.name for o in drv.domains.values()),
            "define": refusal(drv.domain_define_xml_flags, DOMAIN_XML.format("new"), 0),
            "autostart": refusal(drv.domain_set_autostart, keep, 1),
            "undefine": refusal(drv.domain_undefine_flags, keep, 0),
            "still there": drv.domain_lookup_by_name("keep").name,
            "autostart after": drv.domain_get_autostart(keep),
        }
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    out["tracebacks"] = [r.getMessage() for r in handler.records if r.exc_info]
    return out


def in_child_as_nobody(fn, *args) -> dict:
    """Run ``fn`` in a forked child, as ``nobody`` when we are root; its JSON result."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            data = json.dumps({"uid": os.geteuid(), **fn(*args)})
        except BaseException as exc:  # reported to the parent, never raised in the child
            data = json.dumps({"child error": repr(exc)})
            code = 1
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(data)
        os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 20
    try:
        with os.fdopen(read_end, "rb") as pipe:
            while True:
                ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise AssertionError("child did not answer in time")
                chunk = os.read(pipe.fileno(), 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def open_for_traversal(path: Path) -> list[tuple[Path, int]]:
    """Let others reach ``path`` (pytest's directories above it are 0700): x bits only."""
    changed = []
    for p in [path, *path.parents]:
        mode = stat.S_IMODE(p.stat().st_mode)
        if str(p) not in ("/", "/tmp") and mode & 0o011 != 0o011:
            changed.append((p, mode))
            p.chmod(mode | 0o011)
    return changed


def tree_modes(root: Path, dir_mode: int) -> None:
    """Directories to ``dir_mode``; files readable by all (they are written 0600), or back."""
    for dirpath, _dirs, files in os.walk(root):
        Path(dirpath).chmod(dir_mode)
        for name in files:
            (Path(dirpath) / name).chmod(0o644 if dir_mode == 0o555 else 0o600)
