"""A domain document that ends inside a tag, or an attribute glued to the previous one:
libxml2's texts (xmlParseStartTag2 / xmlParseEndTag / xmlParseAttValue), as libvirtd 9.0
printed them for each input below (captured with python3-libvirt against its test driver)."""

from __future__ import annotations

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.server.hypervisor import domxml

LIBVIRTD = [
    (
        "<domain",
        "(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain\n-------^",
    ),
    (
        "<domain type='test'",
        "(domain_definition):1: attributes construct error\n<domain type='test'\n-------------------^",
    ),
    (
        "<domain type='te",
        "(domain_definition):1: AttValue: ' expected\n<domain type='te\n----------------^",
    ),
    (
        "<domain type='test'><name>x</name><os",
        "(domain_definition):1: Couldn't find end of Start Tag os line 1\n<domain type='test'><name>x</name><os\n-------------------------------------^",
    ),
    (
        "<domain type='test'>\n  <name>x</name>\n  <os ",
        "(domain_definition):3: Couldn't find end of Start Tag os line 3\n  <os \n------^",
    ),
    (
        "<domain type='test'><name>x</name></domain",
        "(domain_definition):1: expected '>'\n<domain type='test'><name>x</name></domain\n------------------------------------------^",
    ),
    (
        "<domain type",
        "(domain_definition):1: Specification mandates value for attribute type\n<domain type\n------------^",
    ),
    (
        "<domain type=",
        "(domain_definition):1: AttValue: \" or ' expected\n<domain type=\n-------------^",
    ),
    (
        "<domain type='test' ",
        "(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain type='test' \n--------------------^",
    ),
    (
        "<domain><name>x</name></dom",
        "(domain_definition):1: expected '>'\n<domain><name>x</name></dom\n---------------------------^",
    ),
    (
        "<domain type='test' name",
        "(domain_definition):1: Specification mandates value for attribute name\n<domain type='test' name\n------------------------^",
    ),
    (
        "<domain type='test'\n   id='1'",
        "(domain_definition):2: attributes construct error\n   id='1'\n---------^",
    ),
    (
        '<domain type="te',
        "(domain_definition):1: AttValue: ' expected\n<domain type=\"te\n----------------^",
    ),
    (
        "<domain type='test'><name",
        "(domain_definition):1: Couldn't find end of Start Tag name line 1\n<domain type='test'><name\n-------------------------^",
    ),
    ("<domain\n", "(domain_definition):2: Couldn't find end of Start Tag domain line 1\n(null)\n^"),
    (
        "<domain type='test'x='1'",
        "(domain_definition):1: attributes construct error\n<domain type='test'x='1'\n-------------------^",
    ),
    (
        "<domain type='test'>\n<name a='1'b='2'>x</name></domain>",
        "(domain_definition):2: attributes construct error\n<name a='1'b='2'>x</name></domain>\n-----------^",
    ),
]


@pytest.mark.parametrize(("text", "message"), LIBVIRTD)
def test_libxml2_text(text, message):
    with pytest.raises(LibvirtError) as info:
        domxml.parse_document(text, "domain_definition")
    assert int(info.value.code) == 35 and int(info.value.domain) == 20  # XML_DETAIL, DOMAIN
    assert info.value.message == message
