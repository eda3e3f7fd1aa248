"""libxml_dump: libxml2's xmlNodeDump(format=1), the outputs pinned from libvirtd 9.0's
``metadata`` and ``dumpxml`` (the virsh tour compares them live)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from virtwire.server.hypervisor.libxml_dump import dump


def test_text_anywhere_turns_indentation_off_below() -> None:
    elem = ET.fromstring(
        '<a>\n   <b  y="&amp;&quot;&apos;x&#10;">t&gt;&amp;&#13;</b>\n   <c><d/></c>\n</a>'
    )
    assert dump(elem, 0, {}) == (
        '<a>\n   <b y="&amp;&quot;\'x&#10;">t&gt;&amp;&#13;</b>\n   <c><d/></c>\n</a>'
    )


def test_element_only_content_is_indented_from_the_level() -> None:
    elem = ET.fromstring('<p xmlns:o="urn:o"><o:q/><q><r/></q></p>')
    out = dump(elem, 2, {"urn:o": "o", "urn:g": "g"}, [("o", "urn:o"), ("g", "urn:g")])
    assert out == (
        '<p xmlns:o="urn:o" xmlns:g="urn:g">\n      <o:q/>\n      <q>\n        <r/>\n'
        "      </q>\n    </p>"
    )


def test_non_ascii_is_a_reference_in_attributes_only() -> None:
    elem = ET.fromstring('<a t="é&#9;">é€😀</a>')
    assert dump(elem, 0, {}) == '<a t="&#xE9;&#9;">é€😀</a>'


def test_deep_nesting_needs_no_recursion() -> None:
    root = node = ET.Element("a")
    for _ in range(5_000):
        node = ET.SubElement(node, "a")
    out = dump(root, 0, {})
    assert out.count("<a>") == 5_000 and out.endswith("</a>")
    assert "\n" + " " * 60 + "<a>" in out and "\n" + " " * 62 + "<a>" not in out  # capped
