"""numatune on the QEMU hosts, as libvirt 9.0's qemuDomain{Set,Get}NumaParameters."""

from __future__ import annotations

import pytest
from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

LIVE, CONFIG = 1, 2
GUEST = (
    "<domain type='kvm'><name>n1</name><memory unit='KiB'>524288</memory><vcpu>2</vcpu>"
    "<os><type>hvm</type></os><devices/></domain>"
)
KINDS = {"numa_mode": tp.INT, "numa_nodeset": tp.STRING}


def numa(**values):
    return tp.to_wire(values, {k: KINDS[k] for k in values})


def got(drv, dom, flags=0) -> dict:
    params, count = drv.domain_get_numa_parameters(dom, 2, flags)
    assert count == 2
    return tp.from_wire(params)


def fails(call) -> tuple[int, int, str]:
    with pytest.raises(LibvirtError) as info:
        call()
    return int(info.value.code), int(info.value.domain), info.value.message


@pytest.fixture
def system(registry):
    drv = registry.open("qemu:///system")
    return drv, drv.domain_define_xml_flags(GUEST)


def test_config_change_is_stored_and_reported(system):
    drv, dom = system
    assert drv.domain_get_numa_parameters(dom, 0, 0) == ([], 2)
    assert got(drv, dom) == {"numa_mode": 0, "numa_nodeset": ""}
    drv.domain_set_numa_parameters(dom, numa(numa_mode=3, numa_nodeset="0"), CONFIG)
    assert got(drv, dom, CONFIG) == {"numa_mode": 3, "numa_nodeset": "0"}
    xml = drv.domain_get_xml_desc(dom, 2)
    assert "<memory mode='restrictive' nodeset='0'/>" in xml


def test_running_domain_rules(system):
    drv, dom = system
    drv.domain_set_numa_parameters(dom, numa(numa_mode=0, numa_nodeset="0"), CONFIG)
    drv.domain_create(dom)
    assert fails(lambda: drv.domain_set_numa_parameters(dom, numa(numa_mode=1), LIVE)) == (
        ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU,
        "Requested operation is not valid: can't change numatune mode for running domain",
    )  # fmt: skip
    assert (
        fails(
            lambda: drv.domain_set_numa_parameters(dom, numa(numa_mode=0, numa_nodeset="1"), LIVE)
        )[2]
        == "Requested operation is not valid: can't change nodeset for strict mode for running domain"
    )
    assert fails(lambda: drv.domain_set_numa_parameters(dom, numa(numa_nodeset="0"), LIVE))[2] == (
        "Requested operation is not valid: change of nodeset for running domain requires "
        "restrictive numa mode"
    )
    assert fails(lambda: drv.domain_set_numa_parameters(dom, numa(numa_mode=7), LIVE))[2] == (
        "invalid argument: unsupported numatune mode: '7'"
    )


def test_restrictive_nodeset_moves_live_within_the_host(registry):
    drv = registry.open("qemu:///system")
    guest = GUEST.replace(
        "<devices/>", "<devices/><numatune><memory mode='restrictive' nodeset='0'/></numatune>"
    )
    dom = drv.domain_define_xml_flags(guest)
    drv.domain_create(dom)
    cells = len(drv.host_topology.cells)
    code, _domain, message = fails(
        lambda: drv.domain_set_numa_parameters(dom, numa(numa_nodeset=str(cells)), LIVE)
    )
    assert (code, message) == (
        ErrorCode.CONFIG_UNSUPPORTED,
        f"unsupported configuration: NUMA node {cells} is unavailable",
    )
    drv.domain_set_numa_parameters(dom, numa(numa_nodeset=f"0-{cells - 1}"), LIVE)
    expected = "0" if cells == 1 else f"0-{cells - 1}"
    assert got(drv, dom, LIVE)["numa_nodeset"] == expected
    assert got(drv, dom, CONFIG)["numa_nodeset"] == "0"  # the stored definition unchanged


def test_session_mode_refuses_a_running_domain(registry):
    drv = registry.open("qemu:///session")
    dom = drv.domain_define_xml_flags(GUEST)
    drv.domain_create(dom)
    assert fails(lambda: drv.domain_set_numa_parameters(dom, numa(numa_nodeset="0"), LIVE)) == (
        ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU,
        "Operation not supported: NUMA tuning is not available in session mode",
    )  # fmt: skip
    assert got(drv, dom) == {"numa_mode": 0, "numa_nodeset": ""}
