"""Storage on test:///default: the same virsh session against libvirtd 9.0 and `virtwire serve`.

Each side runs one virsh invocation (one connection, so the test driver's state lives
through the whole list) on fresh state; stdout and stderr must be identical once the
generated UUIDs are masked. Secrets: NO_SUPPORT on test:///default as in libvirtd; the QEMU
host's secret driver is driven with python3-libvirt, across a restart and a kill -9.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.interop

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEFAULT_POOL_UUID = "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"

VOL_XML = """<volume type='block'><name>y.img</name><key>mykey</key><capacity>1000</capacity>
<allocation>10</allocation><target><path>/ignored</path><format type='qcow2'/>
<permissions><mode>0644</mode><owner>107</owner><group>107</group><label>l</label></permissions>
</target></volume>"""
BIG_VOL_XML = "<volume><name>x.img</name><capacity unit='G'>200</capacity></volume>"
BAD_VOL_XML = "<volume><name>q</name><capacity unit='XB'>1</capacity></volume>"
LOGICAL_XML = (
    "<pool type='logical'><name>vg</name><source><device path='/dev/sdb'/></source></pool>"
)
NETFS_XML = """<pool type='netfs'><name>nfs1</name><source><host name='h1' port='2049'/>
<dir path='/exp/'/><format type='nfs'/><protocol ver='4'/></source>
<target><path>/mnt/n//x/</path><permissions><mode>0755</mode></permissions></target></pool>"""
BAD_POOL_XML = "<pool type='bogus'><name>a</name></pool>"
SECRET_XML = "<secret><usage type='ceph'><name>x</name></usage></secret>"


def commands(files) -> list[str]:
    return [
        "pool-list --all",
        "pool-info default-pool",
        "pool-dumpxml default-pool",
        "pool-uuid default-pool",
        f"pool-name {DEFAULT_POOL_UUID}",
        "vol-list default-pool",
        "pool-define-as p1 dir --target /tmp/p1",
        "pool-list --all",
        "pool-info p1",
        "pool-dumpxml p1",
        "pool-build p1",
        "pool-start p1",
        "pool-autostart p1",
        "pool-list --all --details",
        "pool-refresh p1",
        "vol-create-as p1 v1.img 10M --allocation 1M",
        "vol-create-as p1 v2.qcow2 1G --format qcow2",
        "vol-list p1 --details",
        "vol-info --pool p1 v1.img",
        "vol-dumpxml --pool p1 v1.img",
        "vol-dumpxml --pool p1 v2.qcow2",
        "vol-path --pool p1 v1.img",
        "vol-key --pool p1 v1.img",
        "vol-name /tmp/p1/v1.img",
        "vol-pool /tmp/p1/v1.img",
        "vol-resize --pool p1 v1.img 20M",
        "vol-clone --pool p1 v1.img v3.img",
        "vol-wipe --pool p1 v1.img",
        f"vol-upload --pool p1 v1.img {files['up']}",
        f"vol-download --pool p1 v1.img {files['down']}",
        "vol-delete --pool p1 v1.img",
        "vol-list p1",
        "pool-info p1",
        "pool-dumpxml p1",
        "pool-start p1",
        "pool-undefine p1",
        "pool-destroy p1",
        "vol-list p1",
        "pool-delete p1",
        "pool-undefine p1",
        "pool-info p1",
        "pool-create-as t1 dir --target /tmp/t1",
        "pool-autostart t1",
        "pool-list --all --details",
        "pool-destroy t1",
        "pool-define-as default-pool dir --target /x",
        "pool-define-as p2 dir --target /default-pool",
        f"vol-create default-pool {files['vol']}",
        f"vol-create default-pool {files['vol']}",
        f"vol-create default-pool {files['big']}",
        f"vol-create default-pool {files['badvol']}",
        "vol-dumpxml --pool default-pool y.img",
        "vol-info --pool default-pool y.img",
        f"pool-define {files['logical']}",
        "pool-dumpxml vg",
        "pool-info vg",
        f"pool-define {files['netfs']}",
        "pool-dumpxml nfs1",
        f"pool-define {files['badpool']}",
        "pool-list --all --type logical,netfs",
        "pool-list --inactive",
        "find-storage-pool-sources logical",
        "find-storage-pool-sources netfs",
        "find-storage-pool-sources-as netfs myhost",
        "find-storage-pool-sources dir",
        "find-storage-pool-sources bogus",
        "pool-info nosuch",
        "secret-list",
        f"secret-define {files['secret']}",
        "secret-dumpxml 11111111-2222-3333-4444-555555555555",
    ]


@pytest.fixture
def files(tmp_path):
    out = {}
    for key, text in {
        "vol": VOL_XML,
        "big": BIG_VOL_XML,
        "badvol": BAD_VOL_XML,
        "logical": LOGICAL_XML,
        "netfs": NETFS_XML,
        "badpool": BAD_POOL_XML,
        "secret": SECRET_XML,
        "up": "data\n",
    }.items():
        path = tmp_path / f"{key}.xml"
        path.write_text(text)
        out[key] = str(path)
    out["down"] = str(tmp_path / "down.bin")
    return out


def normalise(text: str) -> str:
    return UUID_RE.sub(lambda m: m.group(0) if m.group(0) == DEFAULT_POOL_UUID else "UUID", text)


def test_storage_session_matches_libvirtd(virtwire_server, libvirtd_peer, run_virsh, files):
    script = "; ".join(commands(files))
    theirs = run_virsh(libvirtd_peer.tcp_uri, script, timeout=60)
    ours = run_virsh(virtwire_server.tcp_uri(), script, timeout=60)
    assert normalise(ours.stdout) == normalise(theirs.stdout)
    assert normalise(ours.stderr) == normalise(theirs.stderr)
    assert ours.returncode == theirs.returncode
    # the comparison covered the refusals, not only successes
    for text in (
        "virStorageVolResize",
        "virStorageVolWipe",
        "virStorageVolUpload",
        "virStorageVolDownload",
        "virConnectNumOfSecrets",
        "virSecretDefineXML",
    ):
        assert f"not supported by the connection driver: {text}" in theirs.stderr


def test_secret_and_pool_event_registration_match_libvirtd(
    virtwire_server, libvirtd_peer, run_virsh
):
    script = "secret-event --event lifecycle --timeout 1; pool-event --event refresh --timeout 1"
    theirs = run_virsh(libvirtd_peer.tcp_uri, script)
    ours = run_virsh(virtwire_server.tcp_uri(), script)
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
    assert "virConnectSecretEventRegisterAny" in theirs.stderr


SECRETS_SCRIPT = r"""
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
step = sys.argv[2]
if step == "define":
    s = c.secretDefineXML("<secret ephemeral='no' private='no'><uuid>11111111-2222-3333-4444-555555555555</uuid>"
                          "<description>disk key</description><usage type='volume'><volume>/var/lib/a.img</volume></usage></secret>")
    s.setValue(b"hunter2")
    p = c.secretDefineXML("<secret private='yes'><uuid>22222222-2222-3333-4444-555555555555</uuid>"
                          "<usage type='iscsi'><target>iqn.x</target></usage></secret>")
    p.setValue(b"topsecret")
    e = c.secretDefineXML("<secret ephemeral='yes'><usage type='tls'><name>t1</name></usage></secret>")
    e.setValue(b"gone")
    try:
        p.value()
    except libvirt.libvirtError as err:
        print("private:", err.get_error_code(), err.get_error_domain(), err.get_error_message())
    # the QEMU host accepts secret event registrations (test:///default refuses them)
    cb = c.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE, lambda *a: None, None)
    c.secretEventDeregisterAny(cb)
print(sorted(c.listSecrets()))
s = c.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, "/var/lib/a.img")
print(s.UUIDString(), s.usageID(), s.value())
print(s.XMLDesc(), end="")
print(len(c.listAllSecrets(libvirt.VIR_CONNECT_LIST_SECRETS_PRIVATE)))
"""


def test_qemu_secrets_survive_restart_and_kill9(virtwire_server, run_pylibvirt):
    uri = virtwire_server.unix_uri("qemu", "/system")
    first = run_pylibvirt(SECRETS_SCRIPT, uri, "define")
    assert first.returncode == 0, first.stderr
    assert "private: 65 30 Invalid secret: secret is private" in first.stdout
    assert "11111111-2222-3333-4444-555555555555 /var/lib/a.img b'hunter2'" in first.stdout
    expected_xml = (
        "<secret ephemeral='no' private='no'>\n  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n"
        "  <description>disk key</description>\n  <usage type='volume'>\n"
        "    <volume>/var/lib/a.img</volume>\n  </usage>\n</secret>\n"
    )
    assert expected_xml in first.stdout
    for how in (
        virtwire_server.restart,
        lambda: (virtwire_server.kill9(), virtwire_server.start()),
    ):
        how()
        again = run_pylibvirt(SECRETS_SCRIPT, uri, "check")
        assert again.returncode == 0, again.stderr
        lines = again.stdout.splitlines()
        # the ephemeral one is gone, the persistent ones (and their values) are back
        assert (
            lines[0]
            == "['11111111-2222-3333-4444-555555555555', '22222222-2222-3333-4444-555555555555']"
        )
        assert lines[1] == "11111111-2222-3333-4444-555555555555 /var/lib/a.img b'hunter2'"
        assert again.stdout.endswith(expected_xml + "1\n")
