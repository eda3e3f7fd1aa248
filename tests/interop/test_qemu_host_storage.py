"""Networks, dir pools with real volume files, and volume streams on qemu:///system.

virsh drives `virtwire serve`; the daemon keeps everything under its state directory (the
host's file system is ``<state>/qemu-system/root``). Sparse upload/download go through
STREAM and STREAM_HOLE frames, checked here by what virsh writes: the same bytes, the same
holes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

MIB = 1024 * 1024
POOL_PATH = "/var/lib/libvirt/images"


def host_dir(server) -> Path:
    return server.state_dir / "qemu-system"


def pool_files(server) -> Path:
    return host_dir(server) / "root" / POOL_PATH.lstrip("/")


def virsh_ok(run_virsh, uri: str, *args: str) -> str:
    proc = run_virsh(uri, *args)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def make_pool(run_virsh, uri: str) -> None:
    virsh_ok(run_virsh, uri, "pool-define-as", "default", "dir", "--target", POOL_PATH)
    virsh_ok(run_virsh, uri, "pool-start", "default", "--build")


def test_default_network_and_persistence_across_kill9(virtwire_server, run_virsh, tmp_path):
    uri = virtwire_server.unix_uri("qemu", "/system")
    out = virsh_ok(run_virsh, uri, "net-list", "--all")
    assert "default   active   yes         yes" in out
    xml = virsh_ok(run_virsh, uri, "net-dumpxml", "default")
    assert "<bridge name='virbr0' stp='on' delay='0'/>" in xml
    assert "<range start='192.168.122.2' end='192.168.122.254'/>" in xml
    net = tmp_path / "n1.xml"
    net.write_text(
        "<network><name>n1</name><forward mode='route'/>"
        "<ip address='10.9.0.1' netmask='255.255.255.0'/></network>"
    )
    virsh_ok(run_virsh, uri, "net-define", str(net))
    virsh_ok(run_virsh, uri, "net-autostart", "n1")
    virsh_ok(run_virsh, uri, "net-destroy", "default")
    virsh_ok(run_virsh, uri, "net-autostart", "default", "--disable")
    make_pool(run_virsh, uri)
    virsh_ok(run_virsh, uri, "pool-autostart", "default")
    virsh_ok(run_virsh, uri, "vol-create-as", "default", "keep.img", "8M", "--allocation", "0")
    # the network driver's own rules
    again = run_virsh(uri, "net-destroy", "default")
    assert "network 'default' is not active" in again.stderr
    bad = run_virsh(uri, "pool-define-as", "lv", "logical", "--source-name", "vg")
    assert "missing backend for pool type 3 (logical)" in bad.stderr

    virtwire_server.kill9()
    virtwire_server.start()
    out = virsh_ok(run_virsh, uri, "net-list", "--all")
    assert "default   inactive   no          yes" in out
    assert "n1        active     yes         yes" in out
    # the bridge name assigned at define time is kept
    assert "<bridge name='virbr1'" in virsh_ok(run_virsh, uri, "net-dumpxml", "n1")
    vols = virsh_ok(run_virsh, uri, "vol-list", "default")
    assert f"{POOL_PATH}/keep.img" in vols
    assert (pool_files(virtwire_server) / "keep.img").stat().st_size == 8 * MIB
    virsh_ok(run_virsh, uri, "net-undefine", "n1")  # running: it stays, transient
    out = virsh_ok(run_virsh, uri, "net-list", "--all")
    assert "n1        active     no          no" in out
    assert not (host_dir(virtwire_server) / "networks" / "n1.xml").exists()


def test_volumes_are_real_files(virtwire_server, run_virsh):
    uri = virtwire_server.unix_uri("qemu", "/system")
    make_pool(run_virsh, uri)
    files = pool_files(virtwire_server)
    virsh_ok(run_virsh, uri, "vol-create-as", "default", "a.img", "64M", "--allocation", "1M")
    st = (files / "a.img").stat()
    assert st.st_size == 64 * MIB
    assert st.st_blocks * 512 >= MIB
    info = virsh_ok(run_virsh, uri, "vol-info", "--pool", "default", "a.img", "--bytes")
    assert "Capacity:       67108864 bytes" in info
    assert f"Allocation:     {st.st_blocks * 512} bytes" in info
    virsh_ok(run_virsh, uri, "vol-clone", "--pool", "default", "a.img", "b.img")
    assert (files / "b.img").stat().st_size == 64 * MIB
    virsh_ok(run_virsh, uri, "vol-resize", "--pool", "default", "b.img", "128M")
    assert (files / "b.img").stat().st_size == 128 * MIB
    shrink = run_virsh(uri, "vol-resize", "--pool", "default", "b.img", "1M")
    assert "Can't shrink capacity below current capacity" in shrink.stderr
    virsh_ok(run_virsh, uri, "vol-wipe", "--pool", "default", "a.img")
    assert (files / "a.img").stat().st_blocks == 0
    virsh_ok(run_virsh, uri, "vol-create-as", "default", "q.qcow2", "2G", "--format", "qcow2")
    xml = virsh_ok(run_virsh, uri, "vol-dumpxml", "--pool", "default", "q.qcow2")
    assert "<capacity unit='bytes'>2147483648</capacity>" in xml
    assert "<format type='qcow2'/>" in xml
    # a file put there behind the daemon's back appears on refresh
    (files / "outside.img").write_bytes(b"x" * 4096)
    assert "outside.img" not in virsh_ok(run_virsh, uri, "vol-list", "default")
    virsh_ok(run_virsh, uri, "pool-refresh", "default")
    assert "outside.img" in virsh_ok(run_virsh, uri, "vol-list", "default")
    virsh_ok(run_virsh, uri, "vol-delete", "--pool", "default", "b.img")
    assert not (files / "b.img").exists()


def _sparse_file(path: Path, size: int, extents: list[int]) -> None:
    with path.open("wb") as handle:
        handle.truncate(size)
        for offset in extents:
            handle.seek(offset)
            handle.write(os.urandom(64 * 1024))


def test_sparse_upload_download_round_trip(virtwire_server, run_virsh, tmp_path):
    uri = virtwire_server.unix_uri("qemu", "/system")
    make_pool(run_virsh, uri)
    size = 100 * MIB
    src = tmp_path / "src.img"
    # data at the start, in the middle (unaligned) and at the very end; holes between
    _sparse_file(src, size, [0, 10 * MIB, 50 * MIB + 123, size - 64 * 1024])
    virsh_ok(run_virsh, uri, "vol-create-as", "default", "up.img", "100M", "--allocation", "0")
    virsh_ok(run_virsh, uri, "vol-upload", "--sparse", "--pool", "default", "up.img", str(src))
    stored = pool_files(virtwire_server) / "up.img"
    assert stored.read_bytes() == src.read_bytes()
    assert stored.stat().st_blocks * 512 < 2 * MIB  # the holes stayed holes
    dst = tmp_path / "dst.img"
    virsh_ok(run_virsh, uri, "vol-download", "--sparse", "--pool", "default", "up.img", str(dst))
    assert dst.stat().st_size == size
    assert dst.read_bytes() == src.read_bytes()
    assert dst.stat().st_blocks * 512 < 2 * MIB
    # without --sparse the holes travel as zeros and the copy is dense
    dense = tmp_path / "dense.img"
    virsh_ok(run_virsh, uri, "vol-download", "--pool", "default", "up.img", str(dense))
    assert dense.read_bytes() == src.read_bytes()
    assert dense.stat().st_blocks * 512 >= size - MIB
    # a part of the volume: offset and length
    part = tmp_path / "part.img"
    virsh_ok(
        run_virsh,
        uri,
        "vol-download",
        "--pool",
        "default",
        "up.img",
        str(part),
        "--offset",
        str(10 * MIB),
        "--length",
        "4096",
    )
    assert part.read_bytes() == src.read_bytes()[10 * MIB : 10 * MIB + 4096]


def test_streams_need_a_storage_driver(virtwire_server, run_virsh, tmp_path):
    """test:///default has no upload (libvirt's test driver lacks it): NO_SUPPORT."""
    uri = virtwire_server.unix_uri()
    src = tmp_path / "f"
    src.write_bytes(b"abc")
    # one virsh run: test:///default's state lives as long as its connection
    proc = run_virsh(
        uri, f"vol-create-as default-pool v 1M ; vol-upload --pool default-pool v {src}"
    )
    assert "this function is not supported by the connection driver: virStorageVolUpload" in (
        proc.stderr
    )


ABORT_SCRIPT = """
import sys, libvirt
conn = libvirt.open(sys.argv[1])
pool = conn.storagePoolLookupByName("default")
vol = pool.createXML("<volume><name>s.img</name><capacity>8192</capacity>"
                     "<allocation>0</allocation></volume>", 0)
st = conn.newStream(0)
vol.upload(st, 0, 4096, 0)
st.send(b"a" * 4096)
st.abort()  # confirmed: no error
print("aborted")
st = conn.newStream(0)
vol.upload(st, 0, 10, 0)
st.send(b"b" * 100)
try:
    st.finish()
except libvirt.libvirtError as e:
    print("too much:", e.get_error_message())
st = conn.newStream(0)
vol.upload(st, 0, 0, 0)
try:
    st.sendHole(4096, 0)  # not a sparse upload
    st.finish()
except libvirt.libvirtError as e:
    print("hole:", e.get_error_message())
print("alive", conn.getVersion() > 0)
"""


def test_upload_abort_and_errors(virtwire_server, run_virsh, run_pylibvirt):
    uri = virtwire_server.unix_uri("qemu", "/system")
    make_pool(run_virsh, uri)
    proc = run_pylibvirt(ABORT_SCRIPT, uri)
    assert "aborted" in proc.stdout, proc.stderr
    assert "alive True" in proc.stdout, proc.stdout + proc.stderr
    # what the aborted upload sent stays; the second wrote only its 10 bytes (libvirt's
    # virFDStreamWrite stops at the requested length)
    data = (pool_files(virtwire_server) / "s.img").read_bytes()
    assert data[:4096] == b"b" * 10 + b"a" * 4086
