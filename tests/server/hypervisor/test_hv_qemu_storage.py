"""Networks and dir pools of the QEMU host, driven directly (no daemon, no peers)."""

from __future__ import annotations

import os

import pytest
from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor import volume_files
from virtwire.server.hypervisor.qemudriver import QemuDriver

POOL = "<pool type='dir'><name>p</name><target><path>/images</path></target></pool>"
MIB = 1024 * 1024


def make(tmp_path) -> QemuDriver:
    driver = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    driver.queued = []
    driver.events.queue = lambda e, remote_id=-1: driver.queued.append(e)
    return driver


def test_fresh_host_has_the_default_network_and_it_persists(tmp_path):
    drv = make(tmp_path)
    net = drv.network_lookup_by_name("default")
    assert drv.network_is_active(net) and drv.network_get_autostart(net)
    drv.network_destroy(net)
    assert isinstance(drv.queued[-1], ev.NetworkLifecycleEvent)
    with pytest.raises(LibvirtError) as info:
        drv.network_destroy(net)
    assert (info.value.code, info.value.domain) == (
        ErrorCode.OPERATION_INVALID,
        ErrorDomain.NETWORK,
    )
    drv.network_undefine(net)
    # a host that lost its default network does not get it back on restart
    assert make(tmp_path).connect_list_all_networks(1, 0) == ([], 0)


def test_pool_volumes_are_files(tmp_path):
    drv = make(tmp_path)
    pool = drv.storage_pool_define_xml(POOL, 0)
    with pytest.raises(LibvirtError) as info:
        drv.storage_pool_create(pool, 0)  # no directory yet, no --build
    assert info.value.code == ErrorCode.SYSTEM_ERROR
    drv.storage_pool_create(pool, 1)  # VIR_STORAGE_POOL_CREATE_WITH_BUILD
    vol = drv.storage_vol_create_xml(
        pool,
        "<volume><name>v</name><capacity unit='M'>4</capacity><allocation>0</allocation></volume>",
        0,
    )
    path = tmp_path / "root/images/v"
    assert path.stat().st_size == 4 * MIB and path.stat().st_blocks == 0
    assert drv.storage_vol_get_path(vol) == "/images/v"
    sink = drv.storage_vol_upload(vol, MIB, 0, 1)
    sink.write(b"x" * 4096)
    sink.hole(MIB)
    sink.write(b"y")
    sink.finish()
    data = path.read_bytes()
    assert data[MIB : MIB + 4096] == b"x" * 4096 and data[2 * MIB + 4096] == ord("y")
    frames = list(drv.storage_vol_download(vol, 0, 0, 1))
    kinds = [k for k, _ in frames]
    assert kinds == ["hole", "data", "hole", "data", "hole"]
    assert sum(len(v) if k == "data" else v for k, v in frames) == 4 * MIB
    with pytest.raises(LibvirtError) as info:
        drv.storage_vol_create_xml(pool, "<volume><name>v</name><capacity>1</capacity></volume>", 0)
    assert info.value.code == ErrorCode.STORAGE_VOL_EXIST
    drv.storage_vol_delete(vol, 0)
    assert not path.exists()
    with pytest.raises(LibvirtError) as info:
        drv.storage_pool_define_xml(
            "<pool type='logical'><name>vg</name><source><name>vg</name></source></pool>", 0
        )
    assert info.value.message.endswith("missing backend for pool type 3 (logical)")


def test_clone_keeps_holes(tmp_path):
    src, dst = tmp_path / "a", tmp_path / "b"
    with src.open("wb") as handle:
        handle.truncate(8 * MIB)
        handle.seek(5 * MIB)
        handle.write(os.urandom(4096))
    volume_files.clone(src, dst, 16 * MIB)
    assert dst.stat().st_size == 16 * MIB
    assert dst.read_bytes()[: 8 * MIB] == src.read_bytes()
    assert dst.stat().st_blocks * 512 < MIB
    assert volume_files.probe(dst).format == "raw"
    volume_files.create(tmp_path / "q", "qcow2", 3 * MIB, 0)
    assert volume_files.probe(tmp_path / "q").capacity == 3 * MIB


def test_pool_paths_stay_inside_the_hosts_root(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    drv = make(state)
    xml = POOL.replace("<name>p</name>", "<name>up</name>").replace("/images", "/../../../out")
    pool = drv.storage_pool_define_xml(xml, 0)
    drv.storage_pool_create(pool, 1)  # with --build
    vol = drv.storage_vol_create_xml(
        pool, "<volume><name>v</name><capacity>1024</capacity></volume>", 0
    )
    assert (state / "root/out/v").is_file()
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "out").exists()
    drv.storage_vol_delete(vol, 0)
