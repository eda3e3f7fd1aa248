"""Parser: dialect features, annotations, and errors that say file, line, column, expected."""

from __future__ import annotations

import pytest
from virtwire.xdr import XdrError, XdrParseError, ast
from virtwire.xdr.parser import parse, parse_file

from .conftest import DATA


def test_dialect_features() -> None:
    spec = parse(
        "%#include <x.h>\n"
        "%\n"
        "const A=64;\n"
        "const B = 0x20008086;\n"
        "const C = -7;\n"
        "const D = 017;\n"
        "struct s { char c; unsigned char uc; short sh; unsigned short us; int x[A]; };\n"
        "struct t { struct s inner; enum e colour; union u which; };\n"
        "enum e { X = C, Y = B };\n"
        "union u switch (unsigned int k) { case 1: case 2: int i; default: void; };\n",
        "dialect.x",
    )
    assert spec.constants["A"] == 64
    assert spec.constants["B"] == 0x20008086
    assert spec.constants["C"] == -7
    assert spec.constants["D"] == 15
    s = spec.types["s"]
    assert isinstance(s, ast.Struct)
    assert [f.type for f in s.fields[:4]] == [
        ast.BaseType("char"),
        ast.BaseType("unsigned char"),
        ast.BaseType("short"),
        ast.BaseType("unsigned short"),
    ]
    assert s.fields[4].size == 64
    t = spec.types["t"]
    assert [f.type.name for f in t.fields] == ["s", "e", "u"]
    u = spec.types["u"]
    assert u.cases[0].values == (1, 2)
    assert u.default is not None and u.default.shape is ast.Shape.VOID


def test_caller_constants_and_missing_constant() -> None:
    src = "const A = 1;\ntypedef opaque uuid[VIR_UUID_BUFLEN];\n"
    spec = parse(src, "c.x", {"VIR_UUID_BUFLEN": 16})
    assert spec.types["uuid"].decl.size == 16
    assert spec.external == ("VIR_UUID_BUFLEN",)
    with pytest.raises(XdrParseError) as info:
        parse(src, "c.x")
    err = info.value
    assert "VIR_UUID_BUFLEN" in str(err) and err.line == 2 and err.col == 21
    assert str(err).startswith("c.x:2:21: undefined constant 'VIR_UUID_BUFLEN'")


def test_missing_type_is_named_with_its_line() -> None:
    with pytest.raises(XdrParseError, match=r"m\.x:3:5: undefined type 'nosuch'") as info:
        parse("struct a {\n  int x;\n    nosuch y;\n};\n", "m.x")
    assert isinstance(info.value, XdrError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("src", "line", "col", "expected"),
    [
        ("struct a { int x }", 1, 18, "';'"),
        ("const = 5;", 1, 7, "a constant name"),
        ("typedef int;", 1, 12, "a field name"),
        ("enum e { A = }", 1, 14, "a constant or number"),
        ("union u switch (int k) {\n default: int x;\n", 3, 1, "'}'"),
        ("struct a {\n  int x;\n} b;", 3, 3, "';'"),
        ("blah;", 1, 1, "'const', 'typedef', 'enum', 'struct', 'union' or 'program'"),
        ("struct a { string s[4]; };", 1, 20, "'<' (strings are variable-length)"),
    ],
)
def test_parse_errors_say_where_and_what(src: str, line: int, col: int, expected: str) -> None:
    with pytest.raises(XdrParseError) as info:
        parse(src, "bad.x")
    err = info.value
    assert (err.filename, err.line, err.col) == ("bad.x", line, col)
    assert err.expected == expected
    assert f"bad.x:{line}:{col}:" in str(err) and f"(expected {expected})" in str(err)


def test_quadruple_is_rejected_clearly() -> None:
    with pytest.raises(XdrParseError, match=r"q\.x:2:3: 'quadruple' .* not supported"):
        parse("struct a {\n  quadruple q;\n};", "q.x")


def test_other_semantic_errors() -> None:
    with pytest.raises(XdrParseError, match="already defined on line 1"):
        parse("struct a { int x; };\nstruct a { int y; };")
    with pytest.raises(XdrParseError, match="field 'x' defined twice"):
        parse("struct a { int x; int x; };")
    with pytest.raises(XdrParseError, match="case value 1 already used"):
        parse("union u switch (int k) { case 1: int a; case 1: int b; };")
    with pytest.raises(XdrParseError, match="discriminant must be"):
        parse("union u switch (hyper k) { case 1: int a; };")
    with pytest.raises(XdrParseError, match="unterminated comment"):
        parse("/* never closed")
    with pytest.raises(XdrParseError, match="unexpected character '@'"):
        parse("const A = 1;\n@")
    with pytest.raises(XdrParseError, match="refers to itself"):
        parse("typedef b a;\ntypedef a b;")


def test_doc_comment_annotations_are_kept() -> None:
    spec = parse(
        "enum remote_procedure {\n"
        "    /**\n"
        "     * @generate: both\n"
        "     * @priority: high\n"
        "     * @acl: domain:read\n"
        "     * @acl: domain:read_secure:VIR_DOMAIN_XML_SECURE\n"
        "     */\n"
        "    REMOTE_PROC_ONE = 1,\n"
        "    /* plain comment, no annotations */\n"
        "    REMOTE_PROC_TWO = 2\n"
        "};\n"
    )
    one, two = spec.types["remote_procedure"].values
    assert one.annotations == (
        ("generate", "both"),
        ("priority", "high"),
        ("acl", "domain:read"),
        ("acl", "domain:read_secure:VIR_DOMAIN_XML_SECURE"),
    )
    assert one.line == 8
    assert two.annotations == () and two.doc is None


def test_program_blocks() -> None:
    spec = parse_file(DATA / "everything.x", {"VIR_UUID_BUFLEN": 16})
    (program,) = [d for d in spec.definitions if isinstance(d, ast.Program)]
    assert program.number == 0x20001234
    (version,) = program.versions
    assert [(p.name, p.number, len(p.args)) for p in version.procedures] == [
        ("PING", 0, 0),
        ("ECHO", 1, 1),
        ("ADD", 2, 2),
    ]


def test_unreadable_file() -> None:
    with pytest.raises(XdrParseError, match="cannot read file"):
        parse_file(DATA / "does-not-exist.x")
