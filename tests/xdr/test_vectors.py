"""Byte-exact vectors: libvirt-protocol.md section 8.2 (libvirt's rpcgen tests) and RFC 4506
section 7, checked on both the generated codecs and the dynamic loader."""

from __future__ import annotations

import pytest
from virtwire.xdr import XdrError

from .conftest import DATA

A = 1729  # 0x000006c1
B = 87539319  # 0x0537be77


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def roundtrip(m, name: str, value, expected: bytes) -> None:  # noqa: ANN001
    codec = m.CODECS[name]
    assert codec.pack(value) == expected
    assert codec.unpack(expected) == value
    assert getattr(m, f"pack_{name}")(value) == expected


def test_int_scalar(demo_impl) -> None:  # noqa: ANN001
    roundtrip(demo_impl, "TestIntScalar", A, h("000006c1"))


def test_int_pointer(demo_impl) -> None:  # noqa: ANN001
    roundtrip(demo_impl, "TestIntPointer", None, h("00000000"))
    roundtrip(demo_impl, "TestIntPointer", A, h("00000001 000006c1"))


def test_int_arrays(demo_impl) -> None:  # noqa: ANN001
    roundtrip(demo_impl, "TestIntFixedArray", [A, 0, B], h("000006c1 00000000 0537be77"))
    roundtrip(
        demo_impl, "TestIntVariableArray", [A, 0, B], h("00000003 000006c1 00000000 0537be77")
    )


def test_string_and_opaque(demo_impl) -> None:  # noqa: ANN001
    roundtrip(demo_impl, "TestStringVariableArray", "taxis", h("00000005 74617869 73000000"))
    roundtrip(
        demo_impl,
        "TestOpaqueFixedArray",
        h("cafe1223 34455667 78"),
        h("cafe1223 34455667 78000000"),
    )
    roundtrip(demo_impl, "TestOpaqueVariableArray", h("cafe12"), h("00000003 cafe1200"))


def test_enum_scalar(demo_impl) -> None:  # noqa: ANN001
    m = demo_impl
    roundtrip(m, "TestEnumScalar", m.TestEnum.TEST_ENUM_TWO, h("00000002"))
    assert m.unpack_TestEnumScalar(h("00000002")) is m.TEST_ENUM_TWO


def test_struct_chars_are_words(demo_impl) -> None:  # noqa: ANN001
    m = demo_impl
    roundtrip(m, "TestStruct", m.TestStruct(ord("a"), ord("b")), h("00000061 00000062"))
    assert m.TestStruct(ord("a"), ord("b")).pack() == h("00000061 00000062")
    assert m.TestStruct.unpack(h("00000061 00000062")) == m.TestStruct(97, 98)


def test_unions(demo_impl) -> None:  # noqa: ANN001
    m = demo_impl
    roundtrip(m, "TestUnion", m.TestUnion(20, A), h("00000014 000006c1"))
    roundtrip(m, "TestUnion", m.TestUnion(B, A), h("0537be77 000006c1"))
    roundtrip(m, "TestUnionVoidDefault", m.TestUnionVoidDefault(B), h("0537be77"))
    roundtrip(m, "TestUnionVoidDefault", m.TestUnionVoidDefault(21, A), h("00000015 000006c1"))
    roundtrip(m, "TestUnionPointer", m.TestUnion(20, A), h("00000001 00000014 000006c1"))
    roundtrip(m, "TestUnionNoDefault", m.TestUnionNoDefault(32, 5), h("00000020 00000005"))
    with pytest.raises(XdrError, match="not a case"):
        m.unpack_TestUnionNoDefault(h("0537be77 000006c1"))
    with pytest.raises(XdrError, match="not a case"):
        m.pack_TestUnionNoDefault(m.TestUnionNoDefault(B, 1))


def test_struct_all_types_prefix(demo_impl) -> None:  # noqa: ANN001
    """The first eleven fields of libvirt's test_struct_all_types vector."""
    m = demo_impl
    s = m.TestStruct(1, 2)
    u = m.TestUnion(20, 1)
    value = m.TestStructAllTypes(
        sc=ord("x"),
        suc=ord("y"),
        ss=-7,
        sus=14,
        si=-1729,
        sui=1729,
        sh=-87539319,
        suh=2**64 - 87539319,
        sb=True,
        sf=0.1729,
        sd=8753.9319,
        ip=None,
        ifa=[0] * 25,
        iva=[],
        stva="",
        ofa=bytes(33),
        ova=b"",
        e1=m.TEST_ENUM_ONE,
        e2=m.TEST_ENUM_TWO,
        ep=None,
        efa=[m.TEST_ENUM_ONE] * 37,
        eva=[],
        s=s,
        sp=None,
        sfa=[s] * 41,
        sva=[],
        u=u,
        up=None,
        ufa=[u] * 45,
        uva=[],
        tis=0,
        tip=None,
        tifa=[0, 0, 0],
        tiva=[],
        tstva="",
        tofa=bytes(9),
        tova=b"",
        tes=m.TEST_ENUM_ONE,
        tep=None,
        tefa=[m.TEST_ENUM_ONE] * 13,
        teva=[],
        tss=s,
        tsp=None,
        tsfa=[s] * 17,
        tsva=[],
        tu=u,
        tup=None,
        tufa=[u] * 21,
        tuva=[],
    )
    data = m.pack_TestStructAllTypes(value)
    assert data.startswith(
        h(
            "00000078 00000079 fffffff9 0000000e fffff93f 000006c1 fffffffffac84189"
            " fffffffffac84189 00000001 3e310cb3 40c118f7487fcb92"
        )
    )
    back = m.unpack_TestStructAllTypes(data)
    assert back.sf == pytest.approx(0.1729, rel=1e-7)
    assert back.pack() == data


def test_rfc4506_file_example(compile_x) -> None:  # noqa: ANN001
    from virtwire.xdr import load

    expected = h(
        "00000009 73696c6c 7970726f 67000000 00000002 00000004 6c697370"
        " 00000004 6a6f686e 00000006 28717569 74290000"
    )
    for m in (compile_x(DATA / "rfc4506_file.x"), load(DATA / "rfc4506_file.x")):
        value = m.File("sillyprog", m.Filetype(m.EXEC, "lisp"), "john", b"(quit)")
        assert m.pack_file(value) == expected
        assert m.unpack_file(expected) == value
        assert m.unpack_file(expected).type.kind is m.Filekind.EXEC
        assert m.MAXNAMELEN == 255


def test_libvirt_domain_vector(compile_x) -> None:  # noqa: ANN001
    """remote_nonnull_domain as captured from libvirtd (libvirt-protocol.md section 3.1)."""
    src = """
    const REMOTE_STRING_MAX = 4194304;
    typedef string remote_nonnull_string<REMOTE_STRING_MAX>;
    typedef opaque remote_uuid[VIR_UUID_BUFLEN];
    struct remote_nonnull_domain { remote_nonnull_string name; remote_uuid uuid; int id; };
    """
    m = compile_x(src, {"VIR_UUID_BUFLEN": 16})
    data = h("00000004 74657374 6695eb01 f6a48304 79aa97f2 502e193f 00000001")
    dom = m.unpack_remote_nonnull_domain(data)
    assert dom == m.RemoteNonnullDomain("test", h("6695eb01f6a4830479aa97f2502e193f"), 1)
    assert dom.pack() == data
