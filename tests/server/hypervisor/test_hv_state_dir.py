"""Issue 14 #5: a QEMU host whose state directory is read-only or cannot be made.

libvirtd 9.0 (checked side by side, an unprivileged session daemon): with existing but
read-only config directories it starts, serves what is stored and a define fails with
SYSTEM_ERROR (38, domain NONE) ``Failed to create file 'PATH.new': Permission denied``;
when a directory cannot be made or opened (a file in its place) it refuses to start
("Driver state initialization failed"). Per connection, virtwire opens the read-only host
and answers CONNECT_OPEN of an unusable one with that SYSTEM_ERROR; never a traceback.

Permissions do not bind root: as root the read-only case runs in a forked child that drops
to ``nobody`` first (the CI runs as root, so this is never skipped there).
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

from virtwire.protocol import procedures
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import HostRegistry

CONNECT_OPEN = procedures.resolve("CONNECT_OPEN")
DOMAIN_XML = (
    "<domain type='qemu'><name>{}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _refusal(fn, *args) -> list:
    try:
        fn(*args)
    except LibvirtError as err:
        return [int(err.code), int(err.domain), err.message]
    return ["ok"]


def _read_only_host(state: Path) -> dict:
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
            "define": _refusal(drv.domain_define_xml_flags, DOMAIN_XML.format("new"), 0),
            "autostart": _refusal(drv.domain_set_autostart, keep, 1),
            "undefine": _refusal(drv.domain_undefine_flags, keep, 0),
            "still there": drv.domain_lookup_by_name("keep").name,
            "autostart after": drv.domain_get_autostart(keep),
        }
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    out["tracebacks"] = [r.getMessage() for r in handler.records if r.exc_info]
    return out


def _in_child_as_nobody(fn, *args) -> dict:
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


def _open_for_traversal(path: Path) -> list[tuple[Path, int]]:
    """Let others reach ``path`` (pytest's directories above it are 0700): x bits only."""
    changed = []
    for p in [path, *path.parents]:
        mode = stat.S_IMODE(p.stat().st_mode)
        if str(p) not in ("/", "/tmp") and mode & 0o011 != 0o011:
            changed.append((p, mode))
            p.chmod(mode | 0o011)
    return changed


def _tree_modes(root: Path, dir_mode: int) -> None:
    """Directories to ``dir_mode``; files readable by all (they are written 0600), or back."""
    for dirpath, _dirs, files in os.walk(root):
        Path(dirpath).chmod(dir_mode)
        for name in files:
            (Path(dirpath) / name).chmod(0o644 if dir_mode == 0o555 else 0o600)


def test_read_only_state_is_served_and_changes_fail_with_system_error(tmp_path, scheduler):
    state = tmp_path / "state"
    drv = HostRegistry(state, scheduler).open("qemu:///system")
    drv.domain_define_xml_flags(DOMAIN_XML.format("keep"), 0)
    host_dir = state / "qemu-system"
    changed = _open_for_traversal(tmp_path)
    _tree_modes(state, 0o555)
    try:
        got = _in_child_as_nobody(_read_only_host, state)
    finally:
        _tree_modes(state, 0o755)
        for path, mode in changed:
            path.chmod(mode)
    assert "child error" not in got, got
    assert got["uid"] != 0  # permissions really applied
    assert got["names"] == ["keep"]
    # libvirtd 9.0's define on a read-only config dir, byte for byte but the path
    assert got["define"] == [
        38,
        0,
        f"Failed to create file '{host_dir}/new.xml.new': Permission denied",
    ]
    assert got["autostart"][:2] == [38, 10], got
    assert got["undefine"] == [
        38,
        20,
        f"cannot remove config {host_dir}/keep.xml: Permission denied",
    ]
    assert (got["still there"], got["autostart after"]) == ("keep", False)
    assert got["tracebacks"] == []


def test_a_missing_directory_that_cannot_be_made_fails_the_open(tmp_path, scheduler):
    state = tmp_path / "state"
    HostRegistry(state, scheduler).open("qemu:///system")
    pools = state / "qemu-system" / "storage"
    pools.rmdir()  # it would have to be created, in a read-only directory
    changed = _open_for_traversal(tmp_path)
    _tree_modes(state, 0o555)

    def open_it(path: Path) -> dict:
        return {"open": _refusal(HostRegistry(path, lambda fn: None).open, "qemu:///system")}

    try:
        got = _in_child_as_nobody(open_it, state)
    finally:
        _tree_modes(state, 0o755)
        for path, mode in changed:
            path.chmod(mode)
    assert got["open"] == [38, 10, f"Failed to create state dir {pools}: Permission denied"]


def test_connect_open_of_an_unusable_host_is_an_error_reply_without_traceback(
    daemon_thread, caplog
):
    blocked = daemon_thread.state_dir / "qemu-system"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the host's directory belongs\n")
    client = daemon_thread.unix()
    client.call(procedures.resolve("AUTH_LIST").number)
    with caplog.at_level(logging.DEBUG, logger="virtwire.server"):
        err = client.call_error(
            CONNECT_OPEN.number, rp.RemoteConnectOpenArgs(name="qemu:///system", flags=0)
        )
    assert (int(err.code), int(err.domain), err.message) == (
        38,
        10,
        f"Failed to create state dir {blocked}: Not a directory",
    )
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text
    # once the path is usable, the same daemon opens the host
    blocked.unlink()
    client.call(CONNECT_OPEN.number, rp.RemoteConnectOpenArgs(name="qemu:///system", flags=0))
