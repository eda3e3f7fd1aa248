"""qemu:///session is unprivileged: the cgroup-backed APIs libvirt 9.0 refuses there."""

from __future__ import annotations

import pytest
from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

LIVE, CONFIG = 1, 2
GUEST = (
    "<domain type='kvm'><name>s1</name><memory unit='KiB'>524288</memory><vcpu>2</vcpu>"
    "<os><type>hvm</type></os><devices/></domain>"
)
CPU_TUNING = "CPU tuning is not available in session mode"


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


@pytest.fixture
def session(registry):
    drv = registry.open("qemu:///session")
    return drv, drv.domain_define_xml_flags(GUEST)


def test_scheduler_is_refused_in_session_mode(session):
    drv, dom = session
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_scheduler_type(dom)
    assert err(exc) == (ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU,
                        f"Operation not supported: {CPU_TUNING}")  # fmt: skip
    shares = tp.to_wire({"cpu_shares": 512}, {"cpu_shares": tp.ULLONG})
    for call in (
        lambda: drv.domain_get_scheduler_parameters_flags(dom, 9, CONFIG),
        lambda: drv.domain_set_scheduler_parameters_flags(dom, shares, CONFIG),
    ):
        with pytest.raises(LibvirtError) as exc:
            call()
        assert err(exc) == (ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU,
                            f"unsupported configuration: {CPU_TUNING}")  # fmt: skip
    with pytest.raises(LibvirtError) as exc:  # the parameters are checked first
        drv.domain_set_scheduler_parameters_flags(
            dom, tp.to_wire({"warp": 1}, {"warp": tp.ULLONG}), CONFIG
        )
    assert "parameter 'warp' not supported" in exc.value.message


def test_cpu_stats_have_no_cgroup_in_session_mode(session):
    drv, dom = session
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_cpu_stats(dom, 3, -1, 1, 0)
    assert exc.value.message == "Requested operation is not valid: domain is not running"
    drv.domain_create(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_get_cpu_stats(dom, 3, -1, 1, 0)
    assert err(exc) == (ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU,
                        "Requested operation is not valid: cgroup CPUACCT controller is not "
                        "mounted")  # fmt: skip


def test_pinning_works_in_session_mode(session):
    """qemuDomainPinVcpuLive / PinEmulator fall back to sched_setaffinity without cgroups."""
    drv, dom = session
    drv.domain_create(dom)
    drv.domain_pin_vcpu_flags(dom, 1, b"\x0c", LIVE | CONFIG)
    drv.domain_pin_emulator(dom, b"\x03", LIVE)
    assert "<vcpupin vcpu='1' cpuset='2-3'/>" in drv.domain_get_xml_desc(dom, 0)


def test_system_mode_keeps_cgroups(registry):
    drv = registry.open("qemu:///system")
    dom = drv.domain_define_xml_flags(GUEST)
    assert drv.domain_get_scheduler_type(dom) == ("posix", 9)
    drv.domain_create(dom)
    assert drv.domain_get_cpu_stats(dom, 3, -1, 1, 0)[1] == 3
