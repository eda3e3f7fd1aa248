"""format_xml writes an empty <devices/> as libvirt does (open and close on two lines),
by string search; the result is the one the multi-line regex it replaced gave."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from virtwire.server.hypervisor.domxml import _open_empty_devices

REFERENCE = re.compile(r"^( *)<devices/>$", re.M)
PIECES = st.sampled_from(["<devices/>", "\n", " ", "  ", "\t", "x", "<a>", "</a>", "<devices>"])


@given(st.lists(PIECES, max_size=30).map("".join))
def test_same_as_the_multiline_regex(text):
    assert _open_empty_devices(text) == REFERENCE.sub(r"\1<devices>\n\1</devices>", text)


def test_indented_line_only():
    text = "<domain>\n  <devices/>\n  <description>a<devices/></description>\n</domain>\n"
    assert _open_empty_devices(text) == (
        "<domain>\n  <devices>\n  </devices>\n  <description>a<devices/></description>\n</domain>\n"
    )
