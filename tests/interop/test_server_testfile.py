"""test:///ABSOLUTE/PATH.xml: libvirtd 9.0 and `virtwire serve` open the same test-driver
definition file (a <node> document with file= references) and must answer alike; bad files
give the same error from both. Each connection to a file gets its own host in both."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.interop.conftest import started_virtwire_server
from tests.interop.test_server_networks import same_text

pytestmark = pytest.mark.interop

NODE_XML = """<node>
  <domain type='test'>
    <name>web1</name>
    <uuid>11111111-0000-0000-0000-000000000001</uuid>
    <memory unit='KiB'>1048576</memory>
    <vcpu>2</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <source file='/pool/web1.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <interface type='network'>
        <mac address='52:54:00:00:00:01'/>
        <source network='lan'/>
        <target dev='vnet1'/>
      </interface>
    </devices>
  </domain>
  <domain file='db1.xml'/>
  <network>
    <name>lan</name>
    <uuid>11111111-0000-0000-0000-0000000000a1</uuid>
    <bridge name='br-lan'/>
    <ip address='10.9.0.1' netmask='255.255.255.0'>
      <dhcp><range start='10.9.0.10' end='10.9.0.99'/></dhcp>
    </ip>
  </network>
  <interface type='ethernet' name='eth7'>
    <start mode='onboot'/>
    <mac address='52:54:00:00:00:07'/>
  </interface>
  <pool type='dir'>
    <name>images</name>
    <uuid>11111111-0000-0000-0000-0000000000b1</uuid>
    <target><path>/pool</path></target>
    <volume>
      <name>web1.img</name>
      <capacity unit='G'>10</capacity>
      <allocation unit='G'>1</allocation>
    </volume>
    <volume file='vol2.xml'/>
  </pool>
  <pool file='pool2.xml'>
    <volume><name>dropped</name><capacity>1</capacity></volume>
  </pool>
  <device>
    <name>computer</name>
    <capability type='system'>
      <hardware><vendor>Acme</vendor><version>1</version><serial>42</serial>
        <uuid>11111111-0000-0000-0000-0000000000c1</uuid></hardware>
      <firmware><vendor>Acme</vendor><version>2</version><release_date>01/01/2020</release_date></firmware>
    </capability>
  </device>
  <device>
    <name>scsi_host5</name>
    <parent>computer</parent>
    <capability type='scsi_host'>
      <host>5</host>
      <unique_id>3</unique_id>
      <capability type='fc_host'>
        <wwnn>2000000012345678</wwnn>
        <wwpn>1000000012345678</wwpn>
        <fabric_wwn>2000000087654321</fabric_wwn>
      </capability>
      <capability type='vport_ops'><max_vports>0</max_vports><vports>0</vports></capability>
    </capability>
  </device>
  <device>
    <name>net_eth0</name>
    <parent>computer</parent>
    <capability type='net'><interface>eth0</interface><address>52:54:00:aa:bb:cc</address>
      <link state='up'/><capability type='80203'/></capability>
  </device>
  <cpu><mhz>3000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets>
    <cores>4</cores><threads>2</threads><active>6</active></cpu>
  <memory>16777216</memory>
</node>
"""
DB1_XML = """<domain type='test'>
  <name>db1</name>
  <uuid>11111111-0000-0000-0000-000000000002</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os>
</domain>
"""
VOL2_XML = "<volume><name>db1.img</name><capacity unit='M'>100</capacity></volume>\n"
POOL2_XML = """<pool type='dir'><name>ext</name>
<uuid>11111111-0000-0000-0000-0000000000b2</uuid><target><path>/ext</path></target>
<volume><name>inner</name><capacity>5</capacity></volume></pool>
"""

BAD_FILES = {
    "wrongroot": "<nodes/>\n",
    "truncated": "<node>\n<domain>\n",
    "badref": "<node><network file='nosuch.xml'/></node>\n",
    "badcpu": "<node><cpu><mhz>fast</mhz></cpu></node>\n",
    "badmem": "<node><memory>lots</memory></node>\n",
    "badvol": (
        "<node><pool type='dir'><name>p</name><target><path>/p</path></target>"
        "<volume><name>v</name><capacity>x</capacity></volume></pool></node>\n"
    ),
    "baddomain": "<node><domain type='test'><name>a</name></domain></node>\n",
    "badnet": "<node><network><name>n</name><forward mode='nat'/></network></node>\n",
    "empty": "<node/>\n",
}

SCRIPT = "; ".join(
    [
        "nodeinfo",
        "list --all",
        "dumpxml web1",
        "dumpxml db1",
        "domifaddr web1",
        "destroy web1",
        "start web1",
        "list",
        "net-list --all",
        "net-dumpxml lan",
        "iface-list --all",
        "iface-dumpxml eth7",
        "pool-list --all --details",
        "pool-dumpxml images",
        "vol-list images --details",
        "vol-dumpxml --pool images web1.img",
        "vol-dumpxml --pool images db1.img",
        "vol-key --pool images db1.img",
        "vol-list ext",
        "nodedev-list --cap system",
        "nodedev-list --cap scsi_host",
        "nodedev-list --cap fc_host",
        "nodedev-dumpxml computer",
        "nodedev-dumpxml scsi_host5",
        "nodedev-dumpxml net_eth0",
        "capabilities",
        "freecell --all",
    ]
)


def _write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    path.chmod(0o644)  # libvirtd runs as another user
    return str(path)


@pytest.fixture
def node_dir(libvirtd_peer):
    """A directory both daemons can read: pytest's tmp_path is private to this user (0700),
    so it lives beside the peer's own directory (which the libvirtd_peer fixture made
    world-traversable); removed after the test."""
    base = Path(tempfile.mkdtemp(prefix="node-", dir=libvirtd_peer.dir.parent))
    base.chmod(0o755)
    try:
        for name, text in (("db1.xml", DB1_XML), ("vol2.xml", VOL2_XML), ("pool2.xml", POOL2_XML)):
            _write(base, name, text)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def file_server():
    """One daemon for the module: every connection to a file opens its own host anyway."""
    with started_virtwire_server() as server:
        yield server


def both(run_virsh, libvirtd_peer, server, path: str, script: str):
    theirs = run_virsh(f"test+tcp://127.0.0.1:{libvirtd_peer.port}{path}", script)
    ours = run_virsh(server.tcp_uri(path=path), script)
    return theirs, ours


def test_node_file_matches_libvirtd(file_server, libvirtd_peer, run_virsh, node_dir):
    path = _write(node_dir, "node.xml", NODE_XML)
    theirs, ours = both(run_virsh, libvirtd_peer, file_server, path, SCRIPT)
    assert "web1.img" in theirs.stdout and "CPU(s):              6" in theirs.stdout
    assert theirs.returncode == 0, theirs.stderr
    same_text(theirs.stdout, ours.stdout)
    same_text(theirs.stderr, ours.stderr)
    assert ours.returncode == theirs.returncode


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_node_files_fail_alike(file_server, libvirtd_peer, run_virsh, node_dir, name):
    path = _write(node_dir, f"{name}.xml", BAD_FILES[name])
    theirs, ours = both(run_virsh, libvirtd_peer, file_server, path, "list --all")
    same_text(theirs.stdout, ours.stdout)
    same_text(theirs.stderr, ours.stderr)
    assert ours.returncode == theirs.returncode


def test_missing_file_and_bare_path_fail_alike(file_server, libvirtd_peer, run_virsh, tmp_path):
    for path in (str(tmp_path / "nosuch.xml"), "/"):
        theirs, ours = both(run_virsh, libvirtd_peer, file_server, path, "list")
        assert theirs.returncode == 1
        same_text(theirs.stderr, ours.stderr)
        assert ours.returncode == theirs.returncode


TWO_CONNECTIONS = r"""
import sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
a, b = libvirt.open(sys.argv[1]), libvirt.open(sys.argv[1])
a.lookupByName("web1").destroy()
print(a.lookupByName("web1").isActive(), b.lookupByName("web1").isActive())
"""


def test_each_connection_gets_its_own_host(file_server, libvirtd_peer, run_pylibvirt, node_dir):
    path = _write(node_dir, "node.xml", NODE_XML)
    theirs = run_pylibvirt(TWO_CONNECTIONS, f"test+tcp://127.0.0.1:{libvirtd_peer.port}{path}")
    ours = run_pylibvirt(TWO_CONNECTIONS, file_server.tcp_uri(path=path))
    assert theirs.stdout == "0 1\n", theirs.stderr
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
