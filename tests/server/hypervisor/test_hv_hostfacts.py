"""Host facts of the simulated hosts: NUMA topology, free memory, node CPU/memory stats."""

from __future__ import annotations

import re

import pytest
from virtwire.protocol.errors import ErrorCode, LibvirtError
from virtwire.server.hypervisor.hostfacts import HOST_UPTIME_AT_START_NS
from virtwire.server.hypervisor.qemudriver import QemuDriver
from virtwire.server.hypervisor.testdriver import TestDriver

GUEST = (
    "<domain type='qemu'><name>g1</name><memory unit='KiB'>2097152</memory><vcpu>2</vcpu>"
    "<os><type>hvm</type></os><devices/></domain>"
)
GiB = 1024**3


class FakeClock:
    def __init__(self) -> None:
        self.ns = 10**12

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def qemu(tmp_path):
    drv = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    drv.now_ns = FakeClock()
    return drv


def test_test_driver_values_are_libvirts():
    drv = TestDriver("test:///default", lambda fn: None)
    assert drv.node_get_free_memory() == 3145728
    assert drv.node_get_cells_free_memory(0, 8) == [2097152, 4194304]
    assert drv.node_get_cells_free_memory(1, 8) == [4194304]
    with pytest.raises(LibvirtError) as err:
        drv.node_get_cells_free_memory(2, 1)
    assert err.value.code == ErrorCode.INVALID_ARG
    assert drv.node_get_cpu_map(1, 1, 0) == (b"\x15", 3, 8)
    params, n = drv.node_get_cpu_stats(-1, 0, 0)
    assert (params, n) == ([], 4)
    params, n = drv.node_get_cpu_stats(-1, 2, 0)
    assert [(p.field, p.value) for p in params] == [
        ("user", 9797400000),
        ("kernel", 34678723400000),
    ]
    with pytest.raises(LibvirtError) as err:
        drv.node_get_cpu_stats(-1, 4, 1)
    assert err.value.code == ErrorCode.INVALID_ARG
    assert "testNodeGetCPUStats" in str(err.value)


def test_test_capabilities_topology():
    caps = TestDriver("test:///default", lambda fn: None).connect_get_capabilities()
    cpus = re.findall(r"<cpu id='(\d+)' socket_id='(\d+)' die_id='0' core_id='(\d+)'", caps)
    assert len(cpus) == 16 and {s for _, s, _ in cpus} == {"0", "1"}
    assert "<pages unit='KiB' size='8'>524288</pages>" in caps


def test_qemu_topology_matches_node_info(qemu):
    info = qemu.node_get_info()
    caps = qemu.connect_get_capabilities()
    cpus = re.findall(r"<cpu id='(\d+)' socket_id='(\d+)' die_id='0' core_id='(\d+)'", caps)
    assert len(cpus) == info.cpus == info.sockets * info.cores * info.threads
    assert len({s for _, s, _ in cpus}) == info.sockets
    assert f"<cells num='{info.nodes}'>" in caps
    cell_mem = sum(int(m) for m in re.findall(r"<memory unit='KiB'>(\d+)</memory>", caps))
    assert cell_mem == info.memory


def test_qemu_free_memory_accounts_for_running_guests(qemu):
    before = qemu.node_get_free_memory()
    assert before == 15 * GiB
    dom = qemu.domain_define_xml(GUEST)
    assert qemu.node_get_free_memory() == before  # defined, not running
    qemu.domain_create(dom)
    assert qemu.node_get_free_memory() == before - 2 * GiB
    assert qemu.node_get_cells_free_memory(0, 1) == [before - 2 * GiB]
    stats, n = qemu.node_get_memory_stats(4, -1, 0)
    assert {p.field: p.value for p in stats}["free"] * 1024 == before - 2 * GiB
    counts = qemu.node_get_free_pages([4, 2048], 0, 1, 0)
    assert counts == [(before - 2 * GiB) // 4096, 0]
    qemu.domain_destroy(dom)
    assert qemu.node_get_free_memory() == before


def test_qemu_cpu_stats_grow_with_the_clock(qemu):
    def stats(cpu):
        params, _ = qemu.node_get_cpu_stats(cpu, 4, 0)
        return {p.field: p.value for p in params}

    first = stats(-1)
    assert sum(first.values()) == HOST_UPTIME_AT_START_NS * 8
    qemu.now_ns.ns += 10 * 10**9
    later = stats(-1)
    assert sum(later.values()) == (HOST_UPTIME_AT_START_NS + 10 * 10**9) * 8
    assert all(later[k] >= first[k] for k in first) and later["idle"] > first["idle"]
    assert sum(stats(3).values()) * 8 == sum(later.values())
    with pytest.raises(LibvirtError) as err:
        stats(8)
    assert "Invalid cpuNum in virHostCPUGetStatsLinux" in str(err.value)


def test_qemu_range_errors(qemu):
    with pytest.raises(LibvirtError) as err:
        qemu.node_get_cells_free_memory(1, 1)
    assert str(err.value) == "internal error: start cell 1 out of range (0-0)"
    with pytest.raises(LibvirtError) as err:
        qemu.node_get_memory_stats(4, 1, 0)
    assert "cellNum in virHostMemGetStats must be less than or equal to 0" in str(err.value)
    with pytest.raises(LibvirtError) as err:
        qemu.node_get_free_pages([16], 0, 1, 0)
    assert "page size 16 is not available on node 0" in str(err.value)


def test_qemu_vcpu_pins_live_and_config_persist(tmp_path, qemu):
    from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain

    dom = qemu.domain_define_xml(GUEST)
    qemu.domain_create(dom)
    qemu.domain_pin_vcpu_flags(dom, 1, b"\x0c", 1 | 2)  # live + config: CPUs 2-3
    maps, n = qemu.domain_get_vcpu_pin_info(dom, 2, 1, 2)
    assert (maps, n) == (b"\xff\x0c", 2)
    infos, cpumaps = qemu.domain_get_vcpus(dom, 2, 1)
    assert [i.cpu for i in infos] == [7, 3] and cpumaps == b"\xff\x0c"
    with pytest.raises(LibvirtError) as err:
        qemu.domain_pin_vcpu_flags(dom, 1, b"\x00", 1)
    assert "Empty cpu list for pinning" in str(err.value)
    with pytest.raises(LibvirtError) as err:
        qemu.domain_get_vcpu_pin_info(dom, 2, 1, 1 | 2)
    assert str(err.value).startswith("Flags 'VIR_DOMAIN_AFFECT_LIVE'")
    qemu.domain_pin_emulator(dom, b"\x01", 2)
    again = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    dom2 = RemoteNonnullDomain(name="g1", uuid=dom.uuid, id=-1)
    assert again.domain_get_vcpu_pin_info(dom2, 2, 1, 0) == (b"\xff\x0c", 2)
    assert again.domain_get_emulator_pin_info(dom2, 1, 0) == (b"\x01", 1)
    assert "<vcpupin vcpu='1' cpuset='2-3'/>" in again.domain_get_xml_desc(dom2, 0)


NET_GUEST = GUEST.replace(
    "<devices/>",
    "<devices><disk type='file' device='disk'><source file='/a.img'/>"
    "<target dev='vda' bus='virtio'/></disk><interface type='network'>"
    "<mac address='52:54:00:00:00:01'/><source network='default'/>"
    "<target dev='vnet0'/></interface><memballoon model='virtio'/></devices>",
)


def test_qemu_counters_grow_with_uptime(qemu):
    from virtwire.protocol import typed_params as tp

    dom = qemu.domain_define_xml(NET_GUEST)
    qemu.domain_create(dom)
    obj = qemu.find(dom)
    obj.started_ns = qemu.now_ns.ns  # the guest starts on the fake clock
    blk0 = qemu.domain_block_stats(dom, "vda")
    net0 = qemu.domain_interface_stats(dom, "52:54:00:00:00:01")
    cpu0 = tp.from_wire(qemu.connect_get_all_domain_stats([], 0, 0)[0].params)["cpu.time"]
    qemu.now_ns.ns += 60 * 10**9
    blk1 = qemu.domain_block_stats(dom, "/a.img")
    net1 = qemu.domain_interface_stats(dom, "vnet0")
    assert blk1[0] == blk0[0] + 60 * 40 and blk1[2] == blk0[2] + 60 * 12
    assert net1[1] == net0[1] + 60 * 25 and net1[0] > net0[0]
    assert qemu.domain_block_stats(dom, "") == blk1  # one disk: the sum is that disk
    rec = qemu.connect_get_all_domain_stats([], 0, 0)
    stats = tp.from_wire(rec[0].params)
    assert stats["cpu.time"] == cpu0 + 60 * 10**9 * 2 // 10
    assert stats["net.0.name"] == "vnet0" and stats["net.0.rx.pkts"] == net1[1]
    assert stats["block.0.rd.reqs"] == blk1[0] and stats["balloon.current"] == 2097152
    assert stats["vcpu.current"] == 2 and stats["state.state"] == 1
    mem = {m.tag: m.val for m in qemu.domain_memory_stats(dom, 16, 0)}
    assert mem[6] == 2097152  # actual balloon
    with pytest.raises(LibvirtError) as err:
        qemu.domain_interface_stats(dom, "eth9")
    assert str(err.value) == "invalid argument: 'eth9' is not a known interface"
    with pytest.raises(LibvirtError) as err:
        qemu.connect_get_all_domain_stats([], 0x100, 0x80000000)
    assert "Stats types bits 0x100 are not supported" in str(err.value)
    qemu.domain_destroy(dom)
    assert qemu.connect_get_all_domain_stats([], 0, 0x2)[0].params[0].value.value == 5
    with pytest.raises(LibvirtError):
        qemu.domain_block_stats(dom, "vda")


def test_qemu_scheduler_live_and_config(tmp_path, qemu):
    from virtwire.protocol import typed_params as tp

    dom = qemu.domain_define_xml(GUEST)
    assert qemu.domain_get_scheduler_type(dom) == ("posix", 9)
    cfg = tp.from_wire(qemu.domain_get_scheduler_parameters_flags(dom, 9, 0))
    assert cfg["cpu_shares"] == 0  # shut off: the definition's values
    qemu.domain_create(dom)
    live = tp.from_wire(qemu.domain_get_scheduler_parameters_flags(dom, 9, 0))
    assert live["cpu_shares"] == 100 and live["vcpu_quota"] == 17592186044415
    qemu.domain_set_scheduler_parameters_flags(
        dom, tp.to_wire({"cpu_shares": 512}, {"cpu_shares": tp.ULLONG}), 1 | 2
    )
    with pytest.raises(LibvirtError) as err:
        qemu.domain_set_scheduler_parameters_flags(
            dom, tp.to_wire({"vcpu_period": 10}, {"vcpu_period": tp.ULLONG}), 0
        )
    assert "value of 'vcpu_period' is out of range [1000, 1000000]" in str(err.value)
    again = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    params = again.domain_get_scheduler_parameters_flags(dom, 1, 2)
    assert tp.from_wire(params) == {"cpu_shares": 512}


def test_qemu_job_info_idle(qemu):
    dom = qemu.domain_define_xml(GUEST)
    with pytest.raises(LibvirtError) as err:
        qemu.domain_get_job_info(dom)
    assert str(err.value) == "Requested operation is not valid: domain is not running"
    assert qemu.domain_get_job_stats(dom, 1) == (0, [])  # completed: none kept
    qemu.domain_create(dom)
    assert qemu.domain_get_job_info(dom) == (0,) * 12
    assert qemu.domain_get_job_stats(dom, 0) == (0, [])
