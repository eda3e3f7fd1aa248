"""Every crash a fuzz run found, replayed from tests/data/fuzz/ (``virtwire fuzz`` writes
files in this format to its --crash-dir; copy them here once the crash is fixed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from virtwire.tools import fuzz_targets as ft

DATA = Path(__file__).resolve().parent.parent / "data" / "fuzz"
FILES = sorted(DATA.glob("*-*.*"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fuzz_crash_stays_fixed(path, tmp_path):
    target = path.name.split("-", 1)[0]
    if target == "frames":
        ft.check_frames(path.read_bytes())
    elif target == "codecs":
        case = json.loads(path.read_text())
        ft.check_codec(case["codec"], bytes.fromhex(case["hex"]))
    elif target == "domxml":
        ft.check_domxml(path.read_bytes().decode("utf-8", "surrogateescape"))
    elif target == "session":
        frames = [bytes.fromhex(f) for f in json.loads(path.read_text())["frames"]]
        with ft.SessionTarget(tmp_path / "state") as session:
            session.check(frames)
    else:
        pytest.fail(f"unknown fuzz target in {path.name}")


def test_the_corpus_is_not_empty():
    assert FILES, "tests/data/fuzz holds the inputs of fixed fuzz crashes"


def test_invalid_utf8_domain_xml_is_xml_detail():
    """The first fuzz crash: invalid UTF-8 (a lone surrogate once decoded from the wire)
    raised UnicodeEncodeError from the XML parser; libvirtd answers VIR_ERR_XML_DETAIL."""
    from virtwire.protocol.errors import ErrorCode, LibvirtError
    from virtwire.server.hypervisor import domxml

    text = b"<domain type='qemu'><name>\xff\xfe</name></domain>".decode("utf-8", "surrogateescape")
    with pytest.raises(LibvirtError) as err:
        domxml.parse_domain(text, ("qemu",), "x86_64")
    assert err.value.code == ErrorCode.XML_DETAIL
    assert "Input is not proper UTF-8" in str(err.value) and "0xFF 0xFE" in str(err.value)
