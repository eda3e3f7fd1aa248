"""QEMU hosts: ``checkpoint-dumpxml --size`` as qemuCheckpointGetXMLDescUpdateSize."""

from __future__ import annotations

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp

XML_NO_DOMAIN, XML_SIZE = 0x2, 0x4
LIVE = 1
QCOW2 = "<driver name='qemu' type='qcow2'/>"
GUEST = (
    "<domain type='kvm'><name>cs</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>"
    "<os><type>hvm</type></os><devices>"
    f"<disk type='file' device='disk'>{QCOW2}<source file='/i/a.qcow2'/>"
    "<target dev='vda' bus='virtio'/></disk>"
    f"<disk type='file' device='disk'>{QCOW2}<source file='/i/b.qcow2'/>"
    "<target dev='vdb' bus='virtio'/></disk>"
    "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>"
    "</devices></domain>"
)
VDB = (
    f"<disk type='file' device='disk'>{QCOW2}<source file='{{}}'/>"
    "<target dev='vdb' bus='virtio'/></disk>"
)


class Clocks:
    """The host's monotonic clock (uptime) and the checkpoints' wall clock, moved together."""

    def __init__(self, drv) -> None:
        self.mono, self.wall = 10**12, 1_700_000_000
        drv.now_ns = lambda: self.mono
        drv.wall_chk_s = lambda: self.wall

    def start(self, drv, dom) -> None:
        drv.domain_create_with_flags(dom)
        drv.domains[dom.uuid].started_ns = self.mono  # the guest starts on the fake clock

    def advance(self, seconds: int) -> None:
        self.mono += seconds * 10**9
        self.wall += seconds


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///system")


def dump(drv, dom, name: str, flags: int = XML_NO_DOMAIN | XML_SIZE) -> str:
    return drv.domain_checkpoint_get_xml_desc(rp.RemoteNonnullDomainCheckpoint(name, dom), flags)


def test_sizes_grow_with_what_the_guest_wrote(drv):
    clocks = Clocks(drv)
    dom = drv.domain_define_xml_flags(GUEST)
    clocks.start(drv, dom)
    drv.domain_checkpoint_create_xml(dom, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0)
    out = dump(drv, dom, "c1")
    assert "<disk name='vda' checkpoint='bitmap' bitmap='c1' size='0'/>" in out
    assert "<disk name='sda' checkpoint='no'/>" in out
    assert "size=" not in dump(drv, dom, "c1", XML_NO_DOMAIN)  # only when asked
    clocks.advance(7)  # 7 s x 96 KiB = 672 KiB: 10.5 granules of 64 KiB → 11
    drv.domain_checkpoint_create_xml(dom, "<domaincheckpoint><name>c2</name></domaincheckpoint>", 0)
    assert f"bitmap='c1' size='{11 * 65536}'/>" in dump(drv, dom, "c1")
    assert "bitmap='c2' size='0'/>" in dump(drv, dom, "c2")
    clocks.advance(3)
    assert f"bitmap='c1' size='{15 * 65536}'/>" in dump(drv, dom, "c1")  # c1 merges c2's bitmap
    assert f"bitmap='c2' size='{5 * 65536}'/>" in dump(drv, dom, "c2")
    drv.domain_destroy(dom)
    clocks.advance(100)
    clocks.start(drv, dom)  # the bitmaps are persistent; a new run writes anew
    clocks.advance(2)
    assert f"bitmap='c1' size='{3 * 65536}'/>" in dump(drv, dom, "c1")


def test_a_disk_gone_or_replaced_has_no_size(drv):
    Clocks(drv)
    dom = drv.domain_define_xml_flags(GUEST)
    drv.domain_create_with_flags(dom)
    drv.domain_checkpoint_create_xml(dom, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0)
    drv.domain_detach_device_flags(dom, VDB.format("/i/b.qcow2"), LIVE)
    out = dump(drv, dom, "c1")
    assert "bitmap='c1' size='0'/>" in out.split("vdb")[0]  # vda still has its bitmap
    assert "<disk name='vdb' checkpoint='bitmap' bitmap='c1'/>" in out
    drv.domain_attach_device_flags(dom, VDB.format("/i/other.qcow2"), LIVE)
    assert "<disk name='vdb' checkpoint='bitmap' bitmap='c1'/>" in dump(drv, dom, "c1")
    drv.domain_detach_device_flags(dom, VDB.format("/i/other.qcow2"), LIVE)
    drv.domain_attach_device_flags(dom, VDB.format("/i/b.qcow2"), LIVE)  # the image again
    assert "<disk name='vdb' checkpoint='bitmap' bitmap='c1' size='0'/>" in dump(drv, dom, "c1")


def test_size_needs_a_running_domain(drv):
    dom = drv.domain_define_xml_flags(GUEST)
    drv.domain_create_with_flags(dom)
    drv.domain_checkpoint_create_xml(dom, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0)
    drv.domain_destroy(dom)
    assert "bitmap='c1'/>" in dump(drv, dom, "c1", XML_NO_DOMAIN)
    with pytest.raises(LibvirtError) as exc:
        dump(drv, dom, "c1")
    e = exc.value
    assert (e.code, e.domain, e.message) == (
        ErrorCode.OPERATION_INVALID,
        ErrorDomain.DOMAIN,
        "Requested operation is not valid: domain is not running",
    )
    with pytest.raises(LibvirtError) as exc:
        dump(drv, dom, "nope")
    assert exc.value.code == ErrorCode.NO_DOMAIN_CHECKPOINT  # the lookup comes first
