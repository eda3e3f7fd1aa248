"""A full disk under the state directory (issue 14): defineXML and volume creation fail with
libvirt's system error, and nothing already stored is damaged (a redefinition keeps the old
document, on disk and in memory; after a restart everything comes back as it was).

The disk is a 2 MiB tmpfs the test mounts; where mounting is not permitted (no root, or a
container without CAP_SYS_ADMIN) the test is skipped with the reason."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import subprocess
from pathlib import Path

import pytest
from virtwire.protocol.errors import ErrorCode
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.procedures import resolve

from tests.server.wire import DaemonThread

DEFINE = resolve("DOMAIN_DEFINE_XML").number
GET_XML = resolve("DOMAIN_GET_XML_DESC").number
POOL_DEFINE = resolve("STORAGE_POOL_DEFINE_XML").number
POOL_BUILD = resolve("STORAGE_POOL_BUILD").number
POOL_CREATE = resolve("STORAGE_POOL_CREATE").number
VOL_CREATE = resolve("STORAGE_VOL_CREATE_XML").number
LIST_VOLS = resolve("STORAGE_POOL_LIST_ALL_VOLUMES").number
POOL_SET_AUTOSTART = resolve("STORAGE_POOL_SET_AUTOSTART").number
LOOKUP_POOL = resolve("STORAGE_POOL_LOOKUP_BY_NAME").number
LIST_DOMAINS = resolve("CONNECT_LIST_ALL_DOMAINS").number


def domain_xml(name: str, memory: int = 65536, uuid: str = "") -> str:
    uuid_elem = f"<uuid>{uuid}</uuid>" if uuid else ""
    return (
        f"<domain type='qemu'><name>{name}</name>{uuid_elem}<memory>{memory}</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )


@pytest.fixture
def small_disk(tmp_path: Path):
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(where: Path) -> Path:
    """Write until ENOSPC; the filler file is returned (delete it to free the space)."""
    filler = where / "filler"
    with filler.open("wb") as handle:
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\xff" * 65536)
                handle.flush()
        with contextlib.suppress(OSError):
            os.fsync(handle.fileno())
    with pytest.raises(OSError) as err, (where / "probe").open("wb") as handle:
        handle.write(b"x" * 8192)
        handle.flush()
        os.fsync(handle.fileno())
    assert err.value.errno == errno.ENOSPC
    (where / "probe").unlink(missing_ok=True)
    return filler


def start(state: Path) -> DaemonThread:
    d = DaemonThread()
    d.state_dir = state
    return d.start()


def snapshot(c) -> tuple[dict[str, str], list[str]]:
    doms = c.call(LIST_DOMAINS, rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=0))
    xmls = {
        d.name: c.call(GET_XML, rp.RemoteDomainGetXmlDescArgs(dom=d, flags=2)).xml
        for d in doms.domains
    }
    pool = c.call(LOOKUP_POOL, rp.RemoteStoragePoolLookupByNameArgs(name="small")).pool
    vols = c.call(
        LIST_VOLS, rp.RemoteStoragePoolListAllVolumesArgs(pool=pool, need_results=1, flags=0)
    )
    return xmls, sorted(v.name for v in vols.vols)


def vol_xml(name: str, allocation: int) -> str:
    return (
        f"<volume><name>{name}</name><capacity>{1 << 20}</capacity>"
        f"<allocation>{allocation}</allocation></volume>"
    )


def test_full_disk_fails_calls_and_damages_nothing(small_disk):
    state = small_disk / "state"
    d = start(state)
    try:
        c = d.unix()
        c.prologue("qemu:///session")
        for i in range(3):
            c.call(DEFINE, rp.RemoteDomainDefineXmlArgs(xml=domain_xml(f"full{i}")))
        pool_xml = (
            "<pool type='dir'><name>small</name>"
            "<target><path>/var/lib/virtwire-small</path></target></pool>"
        )
        pool = c.call(POOL_DEFINE, rp.RemoteStoragePoolDefineXmlArgs(xml=pool_xml, flags=0)).pool
        c.call(POOL_BUILD, rp.RemoteStoragePoolBuildArgs(pool=pool, flags=0))
        c.call(POOL_SET_AUTOSTART, rp.RemoteStoragePoolSetAutostartArgs(pool=pool, autostart=1))
        c.call(POOL_CREATE, rp.RemoteStoragePoolCreateArgs(pool=pool, flags=0))
        c.call(
            VOL_CREATE, rp.RemoteStorageVolCreateXmlArgs(pool=pool, xml=vol_xml("v0", 0), flags=0)
        )
        before = snapshot(c)
        filler = fill(small_disk)

        # a new domain: refused with the system error, not defined
        err = c.call_error(DEFINE, rp.RemoteDomainDefineXmlArgs(xml=domain_xml("new" * 300)))
        assert err.code == ErrorCode.SYSTEM_ERROR, err
        # a redefinition: refused, the old definition stays (memory and disk)
        uuid = re.search(r"<uuid>([^<]+)</uuid>", before[0]["full0"]).group(1)
        bigger = domain_xml("full0", 131072, uuid)
        err = c.call_error(DEFINE, rp.RemoteDomainDefineXmlArgs(xml=bigger))
        assert err.code == ErrorCode.SYSTEM_ERROR, err
        # a volume with its space allocated: refused, no file left behind
        args = rp.RemoteStorageVolCreateXmlArgs(pool=pool, xml=vol_xml("v1", 1 << 20), flags=0)
        err = c.call_error(VOL_CREATE, args)
        assert err.code == ErrorCode.SYSTEM_ERROR, err
        assert snapshot(c) == before
        c.close()
    finally:
        d.stop()
    filler.unlink()
    leftovers = [p.name for p in state.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    again = start(state)
    try:
        c = again.unix()
        c.prologue("qemu:///session")
        assert snapshot(c) == before
        c.call(DEFINE, rp.RemoteDomainDefineXmlArgs(xml=domain_xml("after")))
    finally:
        again.stop()
