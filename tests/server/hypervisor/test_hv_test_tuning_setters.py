"""test:///default's tuning setters (test_tuning_setters.py): vCPUs, NUMA, block I/O, IOThreads.

The virsh tour compares the same calls with libvirtd byte for byte; these pin the model
underneath: what each setter leaves in the definition and in the domain stats.
"""

from __future__ import annotations

import pytest
from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, LibvirtError

LIVE, CONFIG, MAXIMUM = 1, 2, 4
STATS_IOTHREAD = 0x80


@pytest.fixture
def drv(registry):
    return registry.open("test:///default")


@pytest.fixture
def dom(drv):
    return drv.domain_lookup_by_name("test")


def params(values: dict, kinds: dict) -> list:
    return tp.to_wire(values, kinds)


def test_set_vcpus_live_and_maximum(drv, dom):
    drv.domain_set_vcpus(dom, 1)  # testDomainSetVcpus: the live definition only
    assert drv.domain_get_vcpus_flags(dom, LIVE) == 1
    assert drv.domain_get_vcpus_flags(dom, CONFIG) == 2
    drv.domain_set_vcpus_flags(dom, 4, CONFIG | MAXIMUM)
    assert drv.domain_get_vcpus_flags(dom, CONFIG | MAXIMUM) == 4
    assert drv.domain_get_vcpus_flags(dom, CONFIG) == 2  # the new vCPUs come offline
    assert "<vcpu placement='static' current='2'>4</vcpu>" in drv.domain_get_xml_desc(dom, 2)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(dom, 3, LIVE)
    assert exc.value.code == ErrorCode.INVALID_ARG
    assert exc.value.message.endswith("requested cpu amount exceeds maximum (3 > 2)")
    with pytest.raises(LibvirtError, match=r"supported amount \(33 > 32\)"):
        drv.domain_set_vcpus_flags(dom, 33, CONFIG)


def test_numatune_needs_a_nodeset_for_static_placement(drv, dom):
    mode = params({"numa_mode": 2}, {"numa_mode": tp.INT})
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_numa_parameters(dom, mode, 0)
    assert exc.value.code == ErrorCode.CONFIG_UNSUPPORTED
    both = params(
        {"numa_mode": 2, "numa_nodeset": "0-1"}, {"numa_mode": tp.INT, "numa_nodeset": tp.STRING}
    )
    drv.domain_set_numa_parameters(dom, both, 0)
    assert "<memory mode='interleave' nodeset='0-1'/>" in drv.domain_get_xml_desc(dom, 0)
    with pytest.raises(LibvirtError, match="can't change numatune mode for running domain"):
        drv.domain_set_numa_parameters(dom, params({"numa_mode": 0}, {"numa_mode": tp.INT}), 0)
    got = tp.from_wire(drv.domain_get_numa_parameters(dom, 2, 0)[0])
    assert got == {"numa_mode": 2, "numa_nodeset": "0-1"}


def test_block_io_tune_rates_stay_within_their_max(drv, dom):
    rate = {"total_bytes_sec": 10}
    with pytest.raises(LibvirtError, match="total_bytes_sec cannot be set higher than"):
        drv.domain_set_block_io_tune(dom, "vda", params(rate, {"total_bytes_sec": tp.ULLONG}), 0)
    both = {"total_bytes_sec": 10, "total_bytes_sec_max": 100, "group_name": "g"}
    kinds = {
        "total_bytes_sec": tp.ULLONG,
        "total_bytes_sec_max": tp.ULLONG,
        "group_name": tp.STRING,
    }
    drv.domain_set_block_io_tune(dom, "vda", params(both, kinds), 0)
    xml = drv.domain_get_xml_desc(dom, 0)
    assert "<total_bytes_sec>10</total_bytes_sec>\n        <total_bytes_sec_max>100" in xml
    assert xml.index("<target dev='vda'") < xml.index("<iotune>") < xml.index("</disk>")
    got = tp.from_wire(drv.domain_get_block_io_tune(dom, "vda", 20, 0)[0])
    assert (got["total_bytes_sec"], got["total_bytes_sec_max"], got["group_name"]) == (10, 100, "g")


def test_blkio_device_weights_merge(drv, dom):
    kinds = {"device_weight": tp.STRING, "weight": tp.UINT}
    drv.domain_set_blkio_parameters(
        dom, params({"device_weight": "/dev/vda,100,/dev/vdb,0"}, kinds), 0
    )
    drv.domain_set_blkio_parameters(
        dom, params({"device_weight": "/dev/vdc,5", "weight": 300}, kinds), 0
    )
    got = tp.from_wire(drv.domain_get_blkio_parameters(dom, 6, 0)[0])
    assert (got["weight"], got["device_weight"]) == (300, "/dev/vda,100,/dev/vdc,5")
    with pytest.raises(LibvirtError, match="unable to parse blkio device"):
        drv.domain_set_blkio_parameters(dom, params({"device_weight": "/dev/vda"}, kinds), 0)


def test_iothreads_pins_and_poll_stats(drv, dom):
    drv.domain_add_io_thread(dom, 3, 0)
    drv.domain_add_io_thread(dom, 1, 0)
    with pytest.raises(LibvirtError, match="already using iothread_id '3'"):
        drv.domain_add_io_thread(dom, 3, 0)
    drv.domain_pin_io_thread(dom, 3, b"\x02", 0)
    info, count = drv.domain_get_io_thread_info(dom, 0)
    assert count == 2
    assert [(i.iothread_id, i.cpumap) for i in info] == [(3, b"\x02"), (1, b"\x03")]
    poll = params(
        {"poll_max_ns": 10, "poll_grow": 3}, {"poll_max_ns": tp.ULLONG, "poll_grow": tp.UINT}
    )
    drv.domain_set_io_thread_params(dom, 3, poll, 0)
    stats = dict(tp.from_wire(drv.domain_stats(drv.find(dom), STATS_IOTHREAD)))
    assert stats["iothread.count"] == 2
    assert (stats["iothread.3.poll-max-ns"], stats["iothread.3.poll-grow"]) == (10, 3)
    assert stats["iothread.1.poll-max-ns"] == 32768  # testDomainAddIOThread's default
    drv.domain_del_io_thread(dom, 3, 0)
    assert "iothreadpin" not in drv.domain_get_xml_desc(dom, 0)
    with pytest.raises(LibvirtError, match="cannot find IOThread '3' in iothreadids"):
        drv.domain_set_io_thread_params(dom, 3, poll, 0)
