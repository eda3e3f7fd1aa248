"""Real virsh against `virtwire serve` on qemu:///system: checkpoint-dumpxml --size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

GUEST = """<domain type='kvm'>
  <name>cs1</name>
  <memory unit='KiB'>524288</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/cs1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/cs1-data.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""
VDB = """<disk type='file' device='disk'>
  <driver name='qemu' type='qcow2'/>
  <source file='/var/lib/libvirt/images/cs1-data.qcow2'/>
  <target dev='vdb' bus='virtio'/>
</disk>
"""


def test_virsh_checkpoint_dumpxml_size(virtwire_server, run_virsh, tmp_path: Path):
    uri = virtwire_server.unix_uri("qemu", "/system")

    def ok(*args: str) -> str:
        proc = run_virsh(uri, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    (tmp_path / "cs1.xml").write_text(GUEST)
    (tmp_path / "vdb.xml").write_text(VDB)
    ok("define", str(tmp_path / "cs1.xml"))
    ok("start", "cs1")
    ok("checkpoint-create-as", "cs1", "c1")
    out = ok("checkpoint-dumpxml", "cs1", "c1", "--size", "--no-domain")
    sizes = re.findall(r"<disk name='(vd.)' checkpoint='bitmap' bitmap='c1' size='(\d+)'/>", out)
    assert [name for name, _ in sizes] == ["vda", "vdb"]
    assert all(int(size) % 65536 == 0 for _, size in sizes)
    assert "size=" not in ok("checkpoint-dumpxml", "cs1", "c1", "--no-domain")
    ok("detach-device", "cs1", str(tmp_path / "vdb.xml"), "--live")
    out = ok("checkpoint-dumpxml", "cs1", "c1", "--size", "--no-domain")
    assert "<disk name='vdb' checkpoint='bitmap' bitmap='c1'/>" in out
    assert re.search(r"<disk name='vda' checkpoint='bitmap' bitmap='c1' size='\d+'/>", out)
    ok("destroy", "cs1")
    bad = run_virsh(uri, "checkpoint-dumpxml", "cs1", "c1", "--size")
    assert bad.returncode == 1
    assert "Requested operation is not valid: domain is not running" in bad.stderr
    assert "bitmap='c1'/>" in ok("checkpoint-dumpxml", "cs1", "c1", "--no-domain")
