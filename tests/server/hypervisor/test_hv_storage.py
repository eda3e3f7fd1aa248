"""test:///default storage pools and volumes: models, XML, errors and queued pool events."""

from __future__ import annotations

import pytest
from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_types import StoragePoolEventLifecycleType as T
from virtwire.server.hypervisor import storage
from virtwire.server.hypervisor.testdriver import TestDriver

DEFAULT_XML = """<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <capacity unit='bytes'>107374182400</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>107374182400</available>
  <source>
  </source>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
"""
P1 = "<pool type='dir'><name>p1</name><uuid>1c36bd68-0eca-417a-9568-158bdf3c0a1d</uuid><target><path>/tmp/p1/</path></target></pool>"


@pytest.fixture
def drv(monkeypatch):
    driver = TestDriver("test:///default", lambda fn: None)
    driver.queued = []
    monkeypatch.setattr(driver.events, "queue", lambda e, remote_id=-1: driver.queued.append(e))
    return driver


def lifecycle(driver):
    out = [
        (e.pool.name, T(e.event))
        if isinstance(e, ev.StoragePoolLifecycleEvent)
        else (e.pool.name, "refresh")
        for e in driver.queued
    ]
    driver.queued.clear()
    return out


def fails(fn, *args, code, domain=ErrorDomain.TEST, text=None):
    with pytest.raises(LibvirtError) as info:
        fn(*args)
    assert info.value.code == code and info.value.domain == domain, info.value
    if text is not None:
        assert info.value.message == text
    return info.value


def test_default_pool_as_libvirt_dumps_it(drv):
    pool = drv.storage_pool_lookup_by_name("default-pool")
    assert drv.storage_pool_get_xml_desc(pool, 0) == DEFAULT_XML
    assert drv.storage_pool_get_info(pool) == (2, 107374182400, 0, 107374182400)
    assert drv.storage_pool_num_of_volumes(pool) == 0
    assert drv.connect_list_all_storage_pools(1, 0) == ([pool], 1)
    assert drv.connect_list_all_storage_pools(0, 2) == ([], 1)  # ACTIVE
    assert drv.connect_list_all_storage_pools(1, 1) == ([], 0)  # INACTIVE
    assert drv.storage_pool_lookup_by_uuid(pool.uuid) == pool
    assert drv.storage_pool_is_active(pool) == 1 and drv.storage_pool_is_persistent(pool) == 1


def test_pool_lifecycle_queues_the_test_drivers_events(drv):
    pool = drv.storage_pool_define_xml(P1, 0)
    drv.storage_pool_build(pool, 0)
    drv.storage_pool_create(pool, 0)
    drv.storage_pool_refresh(pool, 0)
    drv.storage_pool_destroy(pool)
    drv.storage_pool_delete(pool, 0)
    drv.storage_pool_undefine(pool)
    assert lifecycle(drv) == [
        ("p1", T.DEFINED),
        ("p1", T.CREATED),
        ("p1", T.STARTED),
        ("p1", "refresh"),
        ("p1", T.STOPPED),
        ("p1", T.DELETED),
        ("p1", T.UNDEFINED),
    ]
    fails(
        drv.storage_pool_lookup_by_name,
        "p1",
        code=ErrorCode.NO_STORAGE_POOL,
        text="Storage pool not found: no storage pool with matching name 'p1'",
    )


def test_transient_pool_goes_away_on_destroy_and_has_no_autostart(drv):
    pool = drv.storage_pool_create_xml(P1, 0)
    assert lifecycle(drv) == [("p1", T.STARTED)]
    assert drv.storage_pool_is_persistent(pool) == 0
    fails(
        drv.storage_pool_set_autostart,
        pool,
        1,
        code=ErrorCode.INVALID_ARG,
        text="invalid argument: pool has no config file",
    )
    drv.storage_pool_destroy(pool)
    assert lifecycle(drv) == [("p1", T.STOPPED)]
    assert drv.connect_num_of_defined_storage_pools() == 0


def test_state_errors(drv):
    pool = drv.storage_pool_lookup_by_name("default-pool")
    fails(
        drv.storage_pool_create,
        pool,
        0,
        code=ErrorCode.OPERATION_INVALID,
        text="Requested operation is not valid: storage pool 'default-pool' is active",
    )
    fails(drv.storage_pool_undefine, pool, code=ErrorCode.OPERATION_INVALID)
    drv.storage_pool_destroy(pool)
    fails(
        drv.storage_pool_num_of_volumes,
        pool,
        code=ErrorCode.OPERATION_INVALID,
        text="Requested operation is not valid: storage pool 'default-pool' is not active",
    )
    fails(
        drv.storage_pool_list_all_volumes,
        pool,
        1,
        0,
        code=ErrorCode.OPERATION_INVALID,
        text="Requested operation is not valid: storage pool is not active",
    )
    assert drv.queued == [] or lifecycle(drv) == [("default-pool", T.STOPPED)]


def test_duplicates_come_from_the_storage_conf_layer(drv):
    fails(
        drv.storage_pool_define_xml,
        P1.replace("p1</name>", "default-pool</name>"),
        0,
        code=ErrorCode.OPERATION_FAILED,
        domain=ErrorDomain.STORAGE,
    )
    fails(
        drv.storage_pool_define_xml,
        P1.replace("/tmp/p1/", "/default-pool"),
        0,
        code=ErrorCode.OPERATION_FAILED,
        domain=ErrorDomain.STORAGE,
        text="operation failed: Storage source conflict with pool: 'default-pool'",
    )
    assert drv.queued == []


@pytest.mark.parametrize(
    ("xml", "text"),
    [
        (
            "<pool><name>a</name></pool>",
            "XML error: Missing required attribute 'type' in element 'pool'",
        ),
        (
            "<pool type='dir'><target><path>/a</path></target></pool>",
            "XML error: missing pool source name element",
        ),
        ("<pool type='dir'><name>a</name></pool>", "XML error: missing storage pool target path"),
        (
            "<pool type='netfs'><name>a</name><target><path>/a</path></target></pool>",
            "XML error: missing storage pool source host name",
        ),
        ("<x/>", "XML error: expecting root element of 'pool', not 'x'"),
    ],
)
def test_pool_parse_errors(xml, text):
    with pytest.raises(LibvirtError) as info:
        storage.parse_pool(xml)
    assert info.value.domain == ErrorDomain.STORAGE and info.value.message == text


def test_volumes(drv):
    pool = drv.storage_pool_lookup_by_name("default-pool")
    vol = drv.storage_vol_create_xml(
        pool,
        "<volume><name>a.img</name><capacity unit='M'>10</capacity><allocation unit='M'>1</allocation></volume>",
        0,
    )
    assert vol.key == "/default-pool/a.img" and vol.pool == "default-pool"
    assert drv.storage_vol_get_info(vol) == (0, 10485760, 1048576)
    assert drv.storage_vol_get_path(vol) == "/default-pool/a.img"
    assert drv.storage_vol_lookup_by_path("/default-pool/a.img") == vol
    assert drv.storage_vol_lookup_by_key(vol.key) == vol
    assert drv.storage_pool_lookup_by_volume(vol) == pool
    assert drv.storage_vol_get_xml_desc(vol, 0) == (
        "<volume type='file'>\n  <name>a.img</name>\n  <key>/default-pool/a.img</key>\n"
        "  <capacity unit='bytes'>10485760</capacity>\n  <allocation unit='bytes'>1048576</allocation>\n"
        "  <target>\n    <path>/default-pool/a.img</path>\n    <format type='raw'/>\n  </target>\n</volume>\n"
    )
    clone = drv.storage_vol_create_xml_from(
        pool, "<volume><name>b.img</name><capacity>5</capacity></volume>", vol, 0
    )
    assert drv.storage_pool_list_volumes(pool, 10) == ["a.img", "b.img"]
    assert drv.storage_pool_get_info(pool)[2] == 1048576 + 5
    fails(
        drv.storage_vol_create_xml,
        pool,
        "<volume><name>a.img</name><capacity>1</capacity></volume>",
        0,
        code=ErrorCode.OPERATION_FAILED,
        text="operation failed: storage vol already exists",
    )
    fails(
        drv.storage_vol_create_xml,
        pool,
        "<volume><name>z</name><capacity unit='T'>1</capacity></volume>",
        0,
        code=ErrorCode.INTERNAL_ERROR,
        text="internal error: Not enough free space in pool for volume 'z'",
    )
    drv.storage_vol_delete(clone, 0)
    assert drv.storage_pool_get_info(pool)[2] == 1048576
    fails(
        drv.storage_vol_lookup_by_name,
        pool,
        "b.img",
        code=ErrorCode.NO_STORAGE_VOL,
        text="Storage volume not found: no storage vol with matching name 'b.img'",
    )
    assert drv.queued == []  # volumes raise no events in the test driver


def test_test_driver_lacks_what_libvirts_lacks():
    for name in (
        "storage_vol_wipe",
        "storage_vol_resize",
        "storage_vol_upload",
        "storage_vol_download",
        "storage_vol_get_info_flags",
        "storage_pool_lookup_by_target_path",
        "secret_define_xml",
        "connect_list_all_secrets",
    ):
        assert not hasattr(TestDriver, name), name
    assert "secret" not in TestDriver.kinds and "secret" not in TestDriver.other_event_kinds


def test_find_pool_sources(drv):
    assert "testvg1" in drv.connect_find_storage_pool_sources("logical", None, 0)
    assert "<host name='h'/>" in drv.connect_find_storage_pool_sources(
        "netfs", "<source><host name='h'/></source>", 0
    )
    fails(
        drv.connect_find_storage_pool_sources,
        "dir",
        None,
        0,
        code=ErrorCode.INTERNAL_ERROR,
        text="internal error: unknown storage pool type dir",
    )
    fails(drv.connect_find_storage_pool_sources, "bogus", None, 0, code=ErrorCode.NO_SUPPORT)
