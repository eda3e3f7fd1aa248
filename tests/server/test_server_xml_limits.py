"""Issue 14 #3 on the wire: a reply over libvirt's limits is libvirtd's error, not a crash or
a dropped connection; bytes that are not UTF-8 are libxml2's error (codes from libvirtd 9.0)."""

from __future__ import annotations

import logging

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.generated import remote_protocol as rp

DEFINE = procedures.resolve("DOMAIN_DEFINE_XML")
XML_DESC = procedures.resolve("DOMAIN_GET_XML_DESC")
GET_INFO = procedures.resolve("DOMAIN_GET_INFO")
VERSION = procedures.resolve("CONNECT_GET_VERSION")


def _big_domain(virt: str) -> str:
    # 1.1 MB in; libvirt escapes every '>' of text as '&gt;', so 4.4 MB would come out,
    # more than REMOTE_STRING_MAX (4 MiB)
    return (
        f"<domain type='{virt}'><name>big</name><memory>1024</memory>"
        f"<description>{'>' * 1_100_000}</description><os><type>hvm</type></os></domain>"
    )


@pytest.mark.parametrize("uri", ["test:///default", "qemu:///session"])
def test_reply_over_the_string_limit_is_libvirtds_encode_error(daemon_thread, uri, caplog):
    client = daemon_thread.unix().open(uri)
    virt = "test" if uri.startswith("test") else "qemu"
    dom = client.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=_big_domain(virt))).dom
    with caplog.at_level(logging.INFO, logger="virtwire.server"):
        err = client.call_error(XML_DESC.number, rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0))
    # libvirtd 9.0: virNetMessageEncodePayload fails, VIR_ERR_RPC from RPC
    assert (int(err.code), int(err.domain), err.message) == (
        39,
        7,
        "Unable to encode message payload",
    )
    assert "Traceback" not in caplog.text and "failed" not in caplog.text
    # the connection lives on and the domain is intact
    assert client.call(VERSION.number).hv_ver > 0
    assert client.call(GET_INFO.number, rp.RemoteDomainGetInfoArgs(dom=dom)).maxMem == 1024


def test_define_with_bytes_that_are_not_utf8_is_libxml2s_error(daemon_thread):
    client = daemon_thread.unix().open()
    raw = b"<domain type='test'><name>bad\xff\xfename</name><memory>1024</memory></domain>"
    xml = raw.decode("utf-8", "surrogateescape")  # sent as these very bytes
    err = client.call_error(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=xml))
    assert (int(err.code), int(err.domain)) == (35, 20)
    assert err.message == (
        "(domain_definition):1: Input is not proper UTF-8, indicate encoding !\n"
        "Bytes: 0xFF 0xFE 0x6E 0x61\n" + xml + "\n" + "-" * 29 + "^"
    )
    assert client.call(VERSION.number).hv_ver > 0
