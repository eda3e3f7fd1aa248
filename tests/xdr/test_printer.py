"""The .x formatter: keeps every token and the @annotations, lays out canonically."""

from __future__ import annotations

import re

import pytest
from virtwire.protocol.regenerate import DEFS_DIR, constants_for
from virtwire.xdr.lexer import tokenize
from virtwire.xdr.parser import parse
from virtwire.xdr.printer import format_text

SAMPLE = """
%#include "x.h"
/* prose that goes */ const A_MAX = 4;   const B = -1;
typedef string s<A_MAX>; typedef s *ps;
struct t { int a; ps b; opaque u[16]; hyper h<>; };
union v switch (int type) { case 1: int i; case 2: case 3: s x; default: void; };
enum proc {
    /** prose
     * @generate: both
     * @acl: domain:read
     */
    PROC_A = 1, /* trailing */
    PROC_B = 2
};
"""


def _tokens(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def test_every_token_survives_and_the_layout_is_canonical() -> None:
    out = format_text(SAMPLE, "s.x")
    assert _tokens(out) == _tokens(SAMPLE)
    assert "prose" not in out and "trailing" not in out and "%#include" not in out
    assert (
        "    /**\n     * @generate: both\n     * @acl: domain:read\n     */\n    PROC_A = 1," in out
    )
    assert (
        "union v switch (int type) {\n    case 1:\n        int i;\n    case 2:\n    case 3:" in out
    )
    assert "const A_MAX = 4;\nconst B = -1;\n" in out
    assert format_text(out, "s.x") == out  # idempotent
    a, b = parse(SAMPLE, "a.x"), parse(out, "b.x")
    assert a.constants == b.constants
    assert {k: v for k, v in a.types.items() if k != "proc"} == {
        k: v for k, v in b.types.items() if k != "proc"
    }
    notes = [(v.name, v.value, v.annotations) for v in a.types["proc"].values]
    assert notes == [(v.name, v.value, v.annotations) for v in b.types["proc"].values]


@pytest.mark.parametrize(
    "stem", ["remote_protocol", "qemu_protocol", "lxc_protocol", "admin_protocol"]
)
def test_our_program_files_are_in_canonical_layout(stem: str) -> None:
    text = (DEFS_DIR / f"{stem}.x").read_text(encoding="utf-8")
    header = re.match(r"/\*(?:.|\n)*?\*/\n", text)
    assert header, "each file starts with its own header comment"
    assert format_text(text, f"{stem}.x", header.group(0)) == text
    parse(text, f"{stem}.x", constants_for(text))
