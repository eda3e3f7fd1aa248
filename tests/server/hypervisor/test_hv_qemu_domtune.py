"""QEMU hosts: vCPU hot-plug, metadata, blkio/memtune, TUNABLE events, guest agent, CPU facts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor import HostRegistry
from virtwire.server.hypervisor.cpu_models import PPC64_MODELS, X86_MODELS

from tests.libvirt_source import libvirt_src_tree

AGENT = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
LIVE, CONFIG, MAXIMUM, GUEST = 1, 2, 4, 8


def guest_xml(
    name: str = "g1", vcpus: str = "<vcpu current='2'>4</vcpu>", agent: bool = True
) -> str:
    return (
        f"<domain type='kvm'><name>{name}</name><memory unit='KiB'>1048576</memory>{vcpus}"
        "<os><type>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"
        "<disk type='file' device='disk'><source file='/b.img'/><target dev='vdb' bus='virtio'/></disk>"
        "<interface type='network'><mac address='52:54:00:aa:bb:01'/><source network='default'/>"
        "<filterref filter='clean-traffic'><parameter name='IP' value='192.168.122.9'/></filterref>"
        f"</interface>{AGENT if agent else ''}</devices></domain>"
    )


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


class FakeClock:
    def __init__(self) -> None:
        self.ns = 10**12

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///system")


@pytest.fixture
def running(drv):
    return drv.domain_create_with_flags(drv.domain_define_xml_flags(guest_xml()))


def inactive_tree(drv, dom) -> ET.Element:
    return ET.fromstring(drv.domain_get_xml_desc(dom, 2))


# -- vCPUs ------------------------------------------------------------------------------------


def test_vcpu_hotplug_live_and_unplug_rules(drv, running):
    assert (drv.domain_get_vcpus_flags(running, 0), drv.domain_get_max_vcpus(running)) == (2, 4)
    drv.domain_set_vcpus_flags(running, 4, LIVE)
    assert drv.domain_get_info(running).nr_virt_cpu == 4
    live = ET.fromstring(drv.domain_get_xml_desc(running, 0))
    assert live.find("vcpu").get("current") is None
    states = [(v.get("enabled"), v.get("hotpluggable"), v.get("order")) for v in live.find("vcpus")]
    assert states == [
        ("yes", "no", "1"),
        ("yes", "no", "2"),
        ("yes", "yes", "3"),
        ("yes", "yes", "4"),
    ]
    drv.domain_set_vcpus_flags(running, 2, LIVE)  # the hot-plugged ones go again
    with pytest.raises(LibvirtError) as exc:  # the boot vCPUs are not hot-pluggable
        drv.domain_set_vcpus_flags(running, 1, LIVE)
    assert err(exc) == (
        ErrorCode.CONFIG_UNSUPPORTED,
        ErrorDomain.QEMU,
        "unsupported configuration: failed to find appropriate hotpluggable vcpus to reach "
        "the desired target vcpu count",
    )
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(running, 5, LIVE)
    assert err(exc)[2] == (
        "invalid argument: requested vcpus is greater than max allowable vcpus for the live "
        "domain: 5 > 4"
    )
    assert drv.domain_get_vcpus_flags(running, CONFIG) == 2  # live changes stay live


def test_vcpu_config_maximum_and_api_checks(drv, running):
    drv.domain_set_vcpus_flags(running, 3, CONFIG)
    drv.domain_set_vcpus_flags(running, 6, CONFIG | MAXIMUM)
    vcpu = inactive_tree(drv, running).find("vcpu")
    assert (vcpu.get("current"), vcpu.text) == ("3", "6")
    assert drv.domain_get_vcpus_flags(running, CONFIG | MAXIMUM) == 6
    assert drv.domain_get_vcpus_flags(running, LIVE | MAXIMUM) == 4
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(running, 8, LIVE | CONFIG | MAXIMUM)
    assert err(exc)[:2] == (ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU)
    assert "maximum vcpu count of a live domain can't be modified" in err(exc)[2]
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(running, 0, LIVE)
    assert err(exc) == (
        ErrorCode.INVALID_ARG,
        ErrorDomain.DOMAIN,
        "nvcpus in virDomainSetVcpusFlags must not be zero",
    )
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(running, 2, MAXIMUM)
    assert "is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'" in err(exc)[2]
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(running, 7, CONFIG)
    assert "for the persistent domain: 7 > 6" in err(exc)[2]
    with pytest.raises(LibvirtError) as exc:
        drv.domain_pin_vcpu_flags(running, 5, b"\x01", LIVE)
    assert err(exc)[2] == "invalid argument: vcpu 5 is out of range of live cpu count 4"


def test_vcpu_guest_agent_count(drv, running):
    drv.domain_set_vcpus_flags(running, 1, GUEST)
    assert drv.domain_get_vcpus_flags(running, GUEST) == 1
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(running, 3, GUEST)
    assert "greater than the count of enabled vcpus in the domain: 3 > 2" in err(exc)[2]


def test_guest_refusing_unplug_times_out(drv):
    xml = guest_xml(vcpus="<vcpu current='1'>2</vcpu>").replace(
        "<os>",
        "<metadata><vw:guest xmlns:vw='https://virtwire.dev/xmlns/guest/1.0' unplug='ignore'/>"
        "</metadata><os>",
    )
    dom = drv.domain_create_with_flags(drv.domain_define_xml_flags(xml))
    drv.domain_set_vcpus_flags(dom, 2, LIVE)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_vcpus_flags(dom, 1, LIVE)
    assert err(exc)[0] == ErrorCode.OPERATION_TIMEOUT
    assert drv.domain_get_vcpus_flags(dom, 0) == 2


# -- metadata ---------------------------------------------------------------------------------


def test_metadata_element_title_description_and_event(drv, running, recorder_for):
    rec = recorder_for(drv)
    uri = "http://example.org/app"
    drv.domain_set_metadata(running, 2, "<item n='1'><sub/></item>", "app", uri, LIVE | CONFIG)
    drv.domain_set_metadata(running, 1, "Web server", None, None, CONFIG)
    drv.domain_set_metadata(running, 0, "long text", None, None, LIVE)
    events = rec.take()
    assert [(type(e).__name__, e.type, e.nsuri) for e in events] == [
        ("MetadataChangeEvent", 2, uri),
        ("MetadataChangeEvent", 1, None),
        ("MetadataChangeEvent", 0, None),
    ]
    # libxml2's dump, as libvirt returns it: double quotes, element-only content indented
    assert drv.domain_get_metadata(running, 2, uri, 0) == '<item n="1">\n  <sub/>\n</item>'
    assert drv.domain_get_metadata(running, 1, None, CONFIG) == "Web server"
    text = drv.domain_get_xml_desc(running, 2)
    assert '<app:item xmlns:app="http://example.org/app" n="1">' in text
    assert text.index("<title>") < text.index("<metadata>")
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_metadata(running, 1, None, LIVE)  # the title went to the config only
    assert err(exc) == (
        ErrorCode.NO_DOMAIN_METADATA,
        ErrorDomain.DOMAIN,
        "metadata not found: Requested metadata element is not present",
    )
    drv.domain_set_metadata(running, 2, None, None, uri, CONFIG)  # removal
    with pytest.raises(LibvirtError):
        drv.domain_get_metadata(running, 2, uri, CONFIG)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_metadata(running, 1, "two\nlines", None, None, 0)
    assert err(exc)[2] == "metadata title can't contain newlines"
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_metadata(running, 2, "<a/>", None, uri, 0)
    assert err(exc)[2] == "key in virDomainSetMetadata must not be NULL"


# -- blkio / memtune / TUNABLE ----------------------------------------------------------------


def test_blkio_and_memtune_persist(drv, running):
    drv.domain_set_blkio_parameters(
        running,
        tp.to_wire({"weight": 300, "device_read_iops_sec": "/dev/sda,1000"}, {"weight": tp.UINT}),
        CONFIG,
    )
    params, n = drv.domain_get_blkio_parameters(running, 6, CONFIG)
    values = {p.field: p.value.value for p in params}
    assert n == 6 and values["weight"] == 300
    assert values["device_read_iops_sec"] == "/dev/sda,1000"
    live = {p.field: p.value.value for p in drv.domain_get_blkio_parameters(running, 6, LIVE)[0]}
    assert live["weight"] == 100  # the cgroup's default
    drv.domain_set_memory_parameters(
        running, tp.to_wire({"hard_limit": 2097152}, {"hard_limit": tp.ULLONG}), CONFIG
    )
    mem = {p.field: p.value.value for p in drv.domain_get_memory_parameters(running, 3, CONFIG)[0]}
    assert mem == {"hard_limit": 2097152, "soft_limit": 9007199254740991,
                   "swap_hard_limit": 9007199254740991}  # fmt: skip
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_memory_parameters(
            running, tp.to_wire({"swap_hard_limit": 1024}, {"swap_hard_limit": tp.ULLONG}), CONFIG
        )
    assert "must be lower than or equal to swap_hard_limit" in err(exc)[2]
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_memory_parameters(
            running, tp.to_wire({"hard_limit": 1}, {"hard_limit": tp.UINT}), CONFIG
        )
    assert err(exc) == (
        ErrorCode.INVALID_ARG,
        ErrorDomain.NONE,
        "invalid argument: invalid type 'uint' for parameter 'hard_limit', expected 'ullong'",
    )
    tree = inactive_tree(drv, running)
    assert tree.findtext("blkiotune/weight") == "300"
    assert tree.findtext("blkiotune/device/read_iops_sec") == "1000"
    assert tree.findtext("memtune/hard_limit") == "2097152"


def test_session_refuses_cgroup_tuning(registry):
    drv = registry.open("qemu:///session")
    dom = drv.domain_define_xml_flags(guest_xml())
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_blkio_parameters(dom, 0, 0)
    assert err(exc)[2] == (
        "unsupported configuration: Block I/O tuning is not available in session mode"
    )
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_memory_parameters(dom, 0, 0)
    assert err(exc)[0] == ErrorCode.OPERATION_UNSUPPORTED


def test_tunable_events_for_live_changes_only(drv, running, recorder_for):
    rec = recorder_for(drv)
    drv.domain_pin_vcpu_flags(running, 1, b"\x0c", LIVE)
    drv.domain_pin_vcpu_flags(running, 1, b"\x01", CONFIG)
    drv.domain_pin_emulator(running, b"\x03", LIVE)
    drv.domain_set_scheduler_parameters_flags(
        running, tp.to_wire({"cpu_shares": 512}, {"cpu_shares": tp.ULLONG}), LIVE
    )
    got = [[(p.field, p.value) for p in e.params] for e in rec.take()]
    assert got == [
        [("cputune.vcpupin1", "2-3")],
        [("cputune.emulatorpin", "0-1")],
        [("cputune.cpu_shares", 512)],
    ]
    assert "<vcpupin vcpu='1' cpuset='0'/>" in drv.domain_get_xml_desc(running, 2)


# -- guest agent ------------------------------------------------------------------------------


def test_interface_addresses_from_lease_agent_and_arp(drv, running):
    (lease,) = drv.domain_interface_addresses(running, 0, 0)
    assert (lease.name, lease.hwaddr) == ("vnet0", "52:54:00:aa:bb:01")
    ((addr,),) = [lease.addrs]
    assert addr.type == 0 and addr.prefix == 24 and addr.addr.startswith("192.168.122.")
    leases, _n = drv.network_get_dhcp_leases(drv.network_lookup_by_name("default"), None, 1, 0)
    assert [le.ipaddr for le in leases] == [addr.addr]
    agent = drv.domain_interface_addresses(running, 1, 0)
    assert [i.name for i in agent] == ["lo", "eth0"]
    assert [a.addr for a in agent[1].addrs] == [addr.addr, "fe80::5054:ff:feaa:bb01"]
    (arp,) = drv.domain_interface_addresses(running, 2, 0)
    assert (arp.addrs[0].addr, arp.addrs[0].prefix) == (addr.addr, 0)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_interface_addresses(running, 7, 0)
    assert err(exc)[2] == "argument unsupported: Unknown IP address data source 7"


def test_agent_needs_its_channel_and_a_running_guest(drv):
    dom = drv.domain_define_xml_flags(guest_xml(agent=False))
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_time(dom, 0)
    assert err(exc) == (ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN,
                        "Requested operation is not valid: domain is not running")  # fmt: skip
    drv.domain_create_with_flags(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_fs_info(dom, 0)
    assert err(exc) == (ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.QEMU,
                        "argument unsupported: QEMU guest agent is not configured")  # fmt: skip
    assert drv.domain_get_hostname(dom, 1) == "g1"  # the lease needs no agent


def test_guest_time_hostname_fsinfo_guestinfo(drv, running):
    drv.guest_wall_ns = FakeClock()
    assert drv.domain_get_time(running, 0) == (1000, 0)
    drv.domain_set_time(running, 5000, 7, 0)
    drv.guest_wall_ns.ns += 2 * 10**9
    assert drv.domain_get_time(running, 0) == (5002, 7)
    drv.domain_set_time(running, 0, 0, 1)  # --sync: back to the RTC
    assert drv.domain_get_time(running, 0) == (1002, 0)
    assert drv.domain_get_hostname(running, 0) == "g1"
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_hostname(running, 3)
    assert "are mutually exclusive" in err(exc)[2]
    info, count = drv.domain_get_fs_info(running, 0)
    assert count == 2
    assert [(f.mountpoint, f.name, f.fstype, f.dev_aliases) for f in info] == [
        ("/", "vda1", "ext4", ["vda"]),
        ("/mnt/vdb", "vdb1", "ext4", ["vdb"]),
    ]
    params = {p.field: p.value.value for p in drv.domain_get_guest_info(running, 0x8 | 0x10, 0)}
    assert params["hostname"] == "g1" and params["fs.count"] == 2
    assert params["fs.1.disk.0.alias"] == "vdb"


# -- CPU facts --------------------------------------------------------------------------------


def test_cpu_stats_grow_with_uptime(drv, running):
    drv.now_ns = FakeClock()
    drv.domains[running.uuid].started_ns = drv.now_ns.ns
    drv.now_ns.ns += 10 * 10**9
    total, n = drv.domain_get_cpu_stats(running, 3, -1, 1, 0)
    values = {p.field: p.value.value for p in total}
    assert n == 3 and values["cpu_time"] == 2 * 10**9  # 2 vCPUs, a tenth busy, 10 s
    assert values["user_time"] + values["system_time"] == values["cpu_time"]
    assert drv.domain_get_cpu_stats(running, 0, 0, 0, 0) == ([], 8)
    assert drv.domain_get_cpu_stats(running, 0, 0, 1, 0) == ([], 2)
    percpu, n = drv.domain_get_cpu_stats(running, 2, 0, 8, 0)
    assert n == 2 and [p.field for p in percpu[:2]] == ["cpu_time", "vcpu_time"]
    drv.now_ns.ns += 10 * 10**9
    later = {p.field: p.value.value for p in drv.domain_get_cpu_stats(running, 3, -1, 1, 0)[0]}
    assert later["cpu_time"] > values["cpu_time"]
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_cpu_stats(running, 2, 8, 1, 0)
    assert err(exc)[2] == "invalid argument: start_cpu 8 larger than maximum of 7"


def test_cpu_models(drv):
    models, count = drv.connect_get_cpu_model_names("x86_64", 1, 0)
    assert count == len(models) == 58 and models[:3] == ["486", "pentium", "pentium2"]
    assert drv.connect_get_cpu_model_names("s390x", 1, 0) == ([], 0)
    with pytest.raises(LibvirtError) as exc:
        drv.connect_get_cpu_model_names("z80", 1, 0)
    assert err(exc)[2] == "invalid argument: cannot find architecture z80"


@pytest.mark.interop
def test_cpu_models_match_libvirt_cpu_map():
    cpu_map = libvirt_src_tree() / "src" / "cpu_map"
    index = ET.parse(cpu_map / "index.xml").getroot()

    def models(arch: str, prefix: str) -> list[str]:
        out = []
        for inc in index.find(f"arch[@name='{arch}']").findall("include"):
            name = inc.get("filename", "")
            if name.startswith(prefix) and not name.endswith(("vendors.xml", "features.xml")):
                out += [m.get("name") for m in ET.parse(cpu_map / name).getroot().iter("model")]
        return out

    assert models("x86", "x86_") == list(X86_MODELS)
    assert models("ppc64", "ppc64_") == list(PPC64_MODELS)


# -- persistence -----------------------------------------------------------------------------


def test_tuning_survives_restart(tmp_path, scheduler):
    state = tmp_path / "state"
    drv = HostRegistry(state, scheduler).open("qemu:///system")
    dom = drv.domain_define_xml_flags(guest_xml())
    drv.domain_set_vcpus_flags(dom, 3, CONFIG)
    drv.domain_set_metadata(dom, 2, "<x/>", "k", "urn:k", CONFIG)
    drv.domain_set_blkio_parameters(dom, tp.to_wire({"weight": 250}, {"weight": tp.UINT}), CONFIG)
    drv.domain_pin_emulator(dom, b"\x05", CONFIG)
    again = HostRegistry(state, scheduler).open("qemu:///system")
    dom = again.domain_lookup_by_name("g1")
    assert again.domain_get_vcpus_flags(dom, CONFIG) == 3
    assert again.domain_get_metadata(dom, 2, "urn:k", 0) == "<x/>"
    assert '<k:x xmlns:k="urn:k"/>' in again.domain_get_xml_desc(dom, 2)
    weight = again.domain_get_blkio_parameters(dom, 1, CONFIG)[0][0]
    assert weight.value.value == 250
    assert "<emulatorpin cpuset='0,2'/>" in again.domain_get_xml_desc(dom, 2)


# -- IOThreads --------------------------------------------------------------------------------


def test_iothreads_info_pin_add_del(drv, recorder_for):
    xml = guest_xml(vcpus="<vcpu>2</vcpu><iothreads>2</iothreads>").replace(
        "<target dev='vdb' bus='virtio'/>", "<driver name='qemu' iothread='2'/><target dev='vdb'/>"
    )
    dom = drv.domain_create_with_flags(drv.domain_define_xml_flags(xml))
    rec = recorder_for(drv)
    info, count = drv.domain_get_io_thread_info(dom, 0)
    assert count == 2 and [(i.iothread_id, i.cpumap) for i in info] == [(1, b"\xff"), (2, b"\xff")]
    drv.domain_pin_io_thread(dom, 2, b"\x06", LIVE | CONFIG)
    (event,) = rec.take()
    assert [(p.field, p.value) for p in event.params] == [("cputune.iothreadpin2", "1-2")]
    assert "<iothreadpin iothread='2' cpuset='1-2'/>" in drv.domain_get_xml_desc(dom, 2)
    drv.domain_add_io_thread(dom, 5, LIVE | CONFIG)
    assert [i.iothread_id for i in drv.domain_get_io_thread_info(dom, CONFIG)[0]] == [1, 2, 5]
    with pytest.raises(LibvirtError) as exc:
        drv.domain_add_io_thread(dom, 5, LIVE)
    assert err(exc)[2] == "invalid argument: an IOThread is already using iothread_id '5'"
    with pytest.raises(LibvirtError) as exc:
        drv.domain_del_io_thread(dom, 2, CONFIG)
    assert err(exc)[2] == (
        "invalid argument: cannot remove IOThread 2 since it is being used by disk 'vdb'"
    )
    with pytest.raises(LibvirtError) as exc:
        drv.domain_del_io_thread(dom, 0, LIVE)
    assert err(exc) == (ErrorCode.INVALID_ARG, ErrorDomain.QEMU,
                        "invalid argument: invalid value of 0 for iothread_id")  # fmt: skip
    drv.domain_del_io_thread(dom, 1, CONFIG)
    assert [i.iothread_id for i in drv.domain_get_io_thread_info(dom, CONFIG)[0]] == [2, 5]
    assert [i.iothread_id for i in drv.domain_get_io_thread_info(dom, LIVE)[0]] == [1, 2, 5]


def test_test_driver_counts_current_and_maximum(registry):
    """testDomainGetVcpusFlags: <vcpu current> is the count, the text the maximum."""
    drv = registry.open("test:///default")
    xml = "<domain type='test'><name>t2</name><memory>1024</memory><vcpu current='1'>3</vcpu>"
    dom = drv.domain_define_xml_flags(xml + "<os><type>hvm</type></os></domain>")
    assert (drv.domain_get_vcpus_flags(dom, 0), drv.domain_get_vcpus_flags(dom, MAXIMUM)) == (1, 3)
    assert drv.domain_get_info(dom).nr_virt_cpu == 1
