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

import logging
from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import HostRegistry

from tests.server.readonly_host import (
    DOMAIN_XML,
    in_child_as_nobody,
    open_for_traversal,
    read_only_host,
    refusal,
    tree_modes,
)

CONNECT_OPEN = procedures.resolve("CONNECT_OPEN")


def test_read_only_state_is_served_and_changes_fail_with_system_error(tmp_path, scheduler):
    state = tmp_path / "state"
    drv = HostRegistry(state, scheduler).open("qemu:///system")
    drv.domain_define_xml_flags(DOMAIN_XML.format("keep"), 0)
    host_dir = state / "qemu-system"
    changed = open_for_traversal(tmp_path)
    tree_modes(state, 0o555)
    try:
        got = in_child_as_nobody(read_only_host, state)
    finally:
        tree_modes(state, 0o755)
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
    changed = open_for_traversal(tmp_path)
    tree_modes(state, 0o555)

    def open_it(path: Path) -> dict:
        return {"open": refusal(HostRegistry(path, lambda fn: None).open, "qemu:///system")}

    try:
        got = in_child_as_nobody(open_it, state)
    finally:
        tree_modes(state, 0o755)
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
    with caplog.at_level(logging.INFO, logger="virtwire.server"):  # the default verbosity
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
