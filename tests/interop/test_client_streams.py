"""Streams of virtwire.client against a real libvirtd (test driver): DOMAIN_SCREENSHOT is a
download stream libvirt's test driver implements; the bytes must be what python3-libvirt
gets from the same daemon, and the finish handshake must leave the connection usable."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
import virtwire.client as vc
from virtwire.protocol.framing import MessageStatus, MessageType

from tests.client import stream_procs as sp

pytestmark = pytest.mark.interop

PYLIBVIRT_SCREENSHOT = r"""
import hashlib, json, sys, libvirt
c = libvirt.open(sys.argv[1])
st = c.newStream(0)
mime = c.lookupByName("test").screenshot(st, 0, 0)
data = b""
while True:
    chunk = st.recv(262144)
    if not chunk:
        break
    data += chunk
st.finish()
print(json.dumps({"mime": mime, "len": len(data), "sha": hashlib.sha256(data).hexdigest()}))
"""


def test_screenshot_download_stream_matches_pylibvirt(libvirtd_peer, run_pylibvirt):
    real = run_pylibvirt(PYLIBVIRT_SCREENSHOT, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    expected = json.loads(real.stdout)

    async def scenario():
        async with await vc.connect(libvirtd_peer.tcp_uri) as conn:
            frames: list = []
            conn.add_frame_listener(
                lambda f: (
                    f.header.type in (MessageType.STREAM, MessageType.STREAM_HOLE)
                    and frames.append(f.header)
                )
            )
            dom = await conn.lookup_by_name("test")
            stream = conn.new_stream()
            ret = await conn.call(sp.DOMAIN_SCREENSHOT, sp.screenshot_args(dom.ref), stream=stream)
            data = bytearray()
            while chunk := await stream.recv(262144):
                data += chunk
            await stream.finish()
            assert await conn.get_lib_version() > 0  # the connection is still in sync
            return ret.mime, bytes(data), frames, stream.serial

    mime, data, frames, serial = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert mime == expected["mime"] == "image/png"
    assert (len(data), hashlib.sha256(data).hexdigest()) == (expected["len"], expected["sha"])
    assert {h.serial for h in frames} == {serial}
    assert {h.proc for h in frames} == {211}
    # libvirtd: data as CONTINUE, its end as an empty CONTINUE, then the confirm (OK) of
    # our finish
    assert frames[-1].status == MessageStatus.OK
    assert all(h.status == MessageStatus.CONTINUE for h in frames[:-1])


PYLIBVIRT_UPLOAD = r"""
import json, sys, libvirt
c = libvirt.open(sys.argv[1])
p = c.storagePoolLookupByName("default-pool")
v = p.createXML("<volume><name>vwup.img</name><capacity>1048576</capacity></volume>", 0)
st = c.newStream(0)
try:
    v.upload(st, 0, 4, 0)
except libvirt.libvirtError as e:
    print(json.dumps([e.get_error_code(), e.get_error_domain(), e.get_error_message()]))
v.delete(0)
"""


def test_upload_refused_like_libvirt_and_connection_usable(libvirtd_peer, run_pylibvirt):
    """The test driver has no virStorageVolUpload: the opening call fails, the stream never
    opens, and our error is libvirt's (code, domain, text)."""
    real = run_pylibvirt(PYLIBVIRT_UPLOAD, libvirtd_peer.tcp_uri)
    assert real.returncode == 0, real.stderr
    code, domain, message = json.loads(real.stdout)

    async def scenario():
        async with await vc.connect(libvirtd_peer.tcp_uri) as conn:
            stream = conn.new_stream()
            args = sp.vol_args("default-pool", "vwup.img", "/default-pool/vwup.img", 0, 4)
            with pytest.raises(vc.connection.LibvirtError) as info:
                await conn.call(sp.STORAGE_VOL_UPLOAD, args, stream=stream)
            with pytest.raises(vc.connection.LibvirtError):
                await stream.send(b"abcd")
            assert await conn.get_lib_version() > 0
            return info.value

    err = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert (err.code, err.domain, err.message) == (code, domain, message)
