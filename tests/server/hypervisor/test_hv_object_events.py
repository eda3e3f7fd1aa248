"""Object events the simulated hosts add to libvirt's order: a vHBA pool's node device on
test:///default, the pool refresh after an upload on the QEMU hosts."""

from __future__ import annotations

from virtwire.protocol import events as ev
from virtwire.server.hypervisor.qemudriver import QemuDriver
from virtwire.server.hypervisor.testdriver import TestDriver

FC_POOL = (
    "<pool type='scsi'><name>vhba</name><source><adapter type='fc_host' parent='scsi_host1' "
    "wwnn='2000000012341234' wwpn='1000000012341234'/></source>"
    "<target><path>/dev/disk/by-path</path></target></pool>"
)
DIR_POOL = "<pool type='dir'><name>p</name><target><path>/images</path></target></pool>"
VOL = "<volume><name>v</name><capacity>1048576</capacity></volume>"


def recorded(driver) -> list:
    driver.queued = []
    driver.events.queue = lambda e, remote_id=-1: driver.queued.append(e)
    return driver.queued


def short(events: list) -> list[tuple]:
    out = []
    for e in events:
        name = e.dev.name if hasattr(e, "dev") else e.pool.name
        out.append((type(e).__name__, name, getattr(e, "event", None)))
    return out


def test_vhba_pool_brings_its_node_device_before_the_pool_event():
    drv = TestDriver("test:///default", lambda fn: None)
    queued = recorded(drv)
    pool = drv.storage_pool_create_xml(FC_POOL, 0)
    assert short(queued) == [
        ("NodeDeviceLifecycleEvent", "scsi_host12", 0),  # CREATED
        ("StoragePoolLifecycleEvent", "vhba", 2),  # STARTED
    ]
    xml = drv.node_device_get_xml_desc("scsi_host12", 0)
    assert "<wwnn>2000000012341234</wwnn>" in xml
    queued.clear()
    drv.storage_pool_destroy(pool)
    assert short(queued) == [
        ("NodeDeviceLifecycleEvent", "scsi_host12", 1),  # DELETED
        ("StoragePoolLifecycleEvent", "vhba", 3),  # STOPPED
    ]
    assert "scsi_host12" not in drv.devices
    # a defined vHBA pool started later mocks nothing (only createXML does)
    defined = drv.storage_pool_define_xml(FC_POOL, 0)
    queued.clear()
    drv.storage_pool_create(defined, 0)
    assert short(queued) == [("StoragePoolLifecycleEvent", "vhba", 2)]


def test_upload_close_refreshes_the_pool(tmp_path):
    drv = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    queued = recorded(drv)
    pool = drv.storage_pool_define_xml(DIR_POOL, 0)
    drv.storage_pool_create(pool, 1)  # with build
    vol = drv.storage_vol_create_xml(pool, VOL, 0)
    queued.clear()
    sink = drv.storage_vol_upload(vol, 0, 0, 0)
    sink.write(b"data")
    assert queued == []
    sink.finish()
    assert [type(e) for e in queued] == [ev.StoragePoolRefreshEvent]
    assert queued[0].pool.name == "p"
    sink.close()  # closing twice refreshes once
    aborted = drv.storage_vol_upload(vol, 0, 0, 0)
    aborted.close()  # an aborted upload is refreshed too (the stream's close callback)
    assert len(queued) == 2
    download = drv.storage_vol_download(vol, 0, 0, 0)
    download.close()
    assert len(queued) == 2  # downloads have no close callback
