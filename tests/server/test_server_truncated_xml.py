"""A define whose document ends inside a tag gets libxml2's error over the wire, and the
daemon keeps serving that client and the others (the texts: test_domxml_truncated_tags)."""

from __future__ import annotations

from virtwire.protocol import procedures
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.hypervisor.test_domxml_truncated_tags import LIBVIRTD

DEFINE = procedures.resolve("DOMAIN_DEFINE_XML")
VERSION = procedures.resolve("CONNECT_GET_VERSION")


def test_truncated_documents_get_the_error_and_everyone_is_still_served(daemon_thread):
    bad, good = daemon_thread.unix().open(), daemon_thread.unix().open()
    for text, message in LIBVIRTD:
        err = bad.call_error(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=text))
        assert (int(err.code), int(err.domain), err.message) == (35, 20, message)
        assert good.call(VERSION.number).hv_ver > 0
    assert bad.call(VERSION.number).hv_ver > 0
