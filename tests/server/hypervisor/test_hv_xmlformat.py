"""The one-pass XML formatter: the same text as the copy + ET.indent path, a fraction of the
event-loop time (issue 14, finding 2), and no recursion limit."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.xmlformat import format_tree

TAGS = ["a", "b", "{urn:x}c", "{urn:y}d", f"{{{domxml.GUEST_NS}}}guest"]
ATTRS = ["k", "{urn:x}k2", "{http://www.w3.org/XML/1998/namespace}lang"]
VALUES = ["", "v", "a'b\"c", "<&>", "t\tn\nr\r"]
TEXTS = [None, "", " ", "\n  ", "a", " a\"b'c<&> ", "x\ny"]


def random_tree(rnd: random.Random, depth: int = 0) -> ET.Element:
    elem = ET.Element(rnd.choice(TAGS))
    for _ in range(rnd.randint(0, 2)):
        elem.set(rnd.choice(ATTRS), rnd.choice(VALUES))
    elem.text, elem.tail = rnd.choice(TEXTS), rnd.choice(TEXTS)
    if depth < 4:
        for _ in range(rnd.choice([0, 0, 1, 2, 3])):
            elem.append(random_tree(rnd, depth + 1))
    return elem


def test_same_text_as_the_reference_serialisation() -> None:
    rnd = random.Random(14)
    for _ in range(2_000):
        tree = random_tree(rnd)
        assert format_tree(tree) == domxml.format_xml_by_indent(tree)


def test_domain_documents_round_trip_identically() -> None:
    text = (
        "<domain type='qemu'><name>n</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
        "<metadata><vw:guest xmlns:vw='https://virtwire.dev/xmlns/guest/1.0' unplug='ack'/>"
        "</metadata><description>a &lt;b&gt; 'c'</description><os><type>hvm</type></os><devices>\n  <disk type='file'>"
        '<source file="/x/it\'s.img"/></disk><!-- a comment --></devices></domain>'
    )
    root = domxml.parse_domain(text, ("qemu",), "x86_64")  # has "<!": the defusedxml path
    out = domxml.format_xml(root.tree)
    # <metadata> children as libxml2 prints them (libvirt's virXMLFormatMetadata)
    line = '    <vw:guest xmlns:vw="https://virtwire.dev/xmlns/guest/1.0" unplug="ack"/>\n'
    assert line in out
    meta = root.tree.find("metadata")
    meta.remove(meta[0])
    assert out.replace(line, "").replace("<metadata>\n  </metadata>", "<metadata/>") == (
        domxml.format_xml(root.tree)
    )
    assert "<source file='/x/it&apos;s.img'/>" in out


def test_the_tree_is_not_changed_and_deep_nesting_is_fine() -> None:
    root = ET.Element("domain")
    node = root
    for _ in range(5_000):  # far past the recursion limit of a recursive walk
        node = ET.SubElement(node, "x")
    text = format_tree(root)
    assert all(e.text is None and e.tail is None for e in root.iter())  # nothing indented
    assert text.count("<x>") == 4_999 and text.count("<x/>") == 1


def test_a_comment_in_the_tree_takes_the_reference_path() -> None:
    root = ET.Element("domain")
    root.append(ET.Comment("kept"))
    assert domxml.format_xml(root) == "<domain>\n  <!--kept-->\n</domain>\n"


def test_large_document_parse_and_format_are_fast_paths() -> None:
    """Counted, not timed: a document without "<!" is parsed by the C parser, and formatting
    walks the tree once (no deep copy)."""
    items = "".join(f"<i n='{k}'/>" for k in range(20_000))
    text = f"<domain type='qemu'><metadata><b:big xmlns:b='urn:big'>{items}</b:big></metadata></domain>"
    root = domxml.parse_document(text)
    assert type(root) is ET.Element  # the C accelerator's class, not defusedxml's Python one
    out = domxml.format_xml(root)
    assert out.count('<i n="') == 20_000  # metadata: libxml2's double quotes
