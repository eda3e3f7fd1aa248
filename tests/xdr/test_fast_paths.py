"""The generator's fast paths: one cached ``pack`` per flat struct, array decoding that fills
preallocated slots objects and slices Latin-1 text, and the class layout that makes it cheap.

Each fast path must give exactly the bytes and values of the dynamic (xdrlib3) loader,
including for the inputs that leave the fast path: non-ASCII text, lone surrogates, bad
values and truncated input.
"""

from __future__ import annotations

import copy
import dataclasses
import struct

import pytest
from virtwire.xdr import XdrError
from virtwire.xdr.loader import load_spec
from virtwire.xdr.parser import parse
from virtwire.xdr.runtime import Packers, instances, lax_encode, lax_utf8, slots_base

SOURCE = """
const NAME_MAX = 12;
typedef string name_t<NAME_MAX>;
typedef opaque uuid_t[16];
enum colour { RED = 0, GREEN = 1 };
struct dom { name_t name; uuid_t uuid; int id; };
struct flat {
    char c;
    unsigned short us;
    bool flag;
    colour col;
    dom d;
    hyper h;
    name_t alias;
};
struct listing { dom doms<8>; unsigned int ret; };
struct tail_list { dom doms<8>; };
struct fixed_first { int id; name_t name; };
struct fixed_first_list { fixed_first items<8>; };
"""

DOM_UUID = bytes(range(16))


@pytest.fixture(scope="module")
def both(compile_x):  # noqa: ANN001, ANN201
    gen = compile_x(SOURCE)
    dyn = load_spec(parse(SOURCE, "inline.x"))
    return gen, dyn


def _same(gen, dyn, name: str, value) -> bytes:  # noqa: ANN001
    """Encode ``value`` with both implementations, check bytes and round trips agree."""
    data = gen.CODECS[name].pack(value)
    dyn_value = dyn.CODECS[name].unpack(data)
    assert dyn.CODECS[name].pack(dyn_value) == data
    assert gen.CODECS[name].unpack(data) == value
    return data


def _flat(gen, **changes):  # noqa: ANN001, ANN003, ANN202
    value = gen.Flat(
        c=-3,
        us=65535,
        flag=True,
        col=gen.GREEN,
        d=gen.Dom("vm", DOM_UUID, 7),
        h=-(2**40),
        alias="dimm0",
    )
    return dataclasses.replace(value, **changes)


def test_flat_struct_is_one_exact_pack(both) -> None:  # noqa: ANN001
    gen, dyn = both
    data = _same(gen, dyn, "flat", _flat(gen))
    expected = (
        struct.pack(">iIIi", -3, 65535, 1, 1)
        + struct.pack(">I", 2)
        + b"vm\0\0"
        + DOM_UUID
        + struct.pack(">iq", 7, -(2**40))
        + struct.pack(">I", 5)
        + b"dimm0\0\0\0"
    )
    assert data == expected
    # every length combination gets its own layout; all agree with the dynamic loader
    for name in ("", "a", "ab", "abc", "abcd", "x" * 12):
        for alias in ("", "é", "日本", "\udcff", "a\udc80b"):
            _same(gen, dyn, "flat", _flat(gen, d=gen.Dom(name, DOM_UUID, 1), alias=alias))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"c": 300}, r"^c: value 300 out of range for char"),
        ({"us": -1}, r"^us: value -1 out of range for unsigned short"),
        ({"flag": 2}, r"^flag: invalid bool value 2"),
        ({"col": 2**31}, r"^col: value 2147483648 out of range for enum colour"),
        ({"col": "red"}, r"^col: 'red' is not a value of enum colour"),
        ({"h": 2**63}, r"^h: value 9223372036854775808 out of range for hyper"),
        ({"alias": "x" * 13}, r"^alias: string of 13 bytes exceeds maximum 12"),
        ({"alias": 5}, r"^alias: wrong kind of value"),
        ({"alias": "\ud800"}, r"^alias: string cannot be encoded as UTF-8"),
        ({"d": None}, r"^d\.name: wrong kind of value"),
    ],
)
def test_flat_struct_errors_name_the_field(both, changes, message) -> None:  # noqa: ANN001
    gen, _ = both
    with pytest.raises(XdrError, match=message):
        gen.pack_flat(_flat(gen, **changes))


def test_flat_struct_nested_errors(both) -> None:  # noqa: ANN001
    gen, _ = both
    with pytest.raises(XdrError, match=r"^d\.uuid: opaque\[16\] needs exactly 16 bytes, got 3"):
        gen.pack_flat(_flat(gen, d=gen.Dom("vm", b"abc", 1)))
    with pytest.raises(XdrError, match=r"^d\.id: value 2147483648 out of range for int"):
        gen.pack_flat(_flat(gen, d=gen.Dom("vm", DOM_UUID, 2**31)))
    with pytest.raises(XdrError, match=r"^doms\[2\]\.name: string of 13 bytes exceeds"):
        good = gen.Dom("a", DOM_UUID, 1)
        gen.pack_listing(gen.Listing([good, good, gen.Dom("y" * 13, DOM_UUID, 1)], 0))


def test_arrays_of_structs_decode_like_the_loader(both) -> None:  # noqa: ANN001
    gen, dyn = both
    names = ["", "a", "guest-01", "é", "日本語", "\udcff\udcfe", "mixed é\udc80", "x" * 12]
    doms = [gen.Dom(n, bytes([i]) * 16, i - 3) for i, n in enumerate(names)]
    for count in range(len(doms) + 1):
        _same(gen, dyn, "listing", gen.Listing(doms[:count], count))
        _same(gen, dyn, "tail_list", gen.TailList(doms[:count]))
    items = [gen.FixedFirst(i, n) for i, n in enumerate(names)]
    for count in range(len(items) + 1):
        _same(gen, dyn, "fixed_first_list", gen.FixedFirstList(items[:count]))
    decoded = gen.unpack_listing(gen.pack_listing(gen.Listing(doms, 1)))
    assert [type(d) for d in decoded.doms] == [gen.Dom] * len(doms)
    assert decoded.doms[5].name.encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_array_decode_errors(both) -> None:  # noqa: ANN001
    gen, _ = both
    doms = [gen.Dom(n, DOM_UUID, 1) for n in ("aa", "bb", "cc")]
    data = bytearray(gen.pack_listing(gen.Listing(doms, 9)))
    # doms[1].name's length word sits after count, doms[0] (4 + 2 + 2 + 16 + 4 bytes)
    bad = bytearray(data)
    bad[4 + 28 : 4 + 32] = (13).to_bytes(4, "big")
    with pytest.raises(XdrError, match=r"^doms\[1\]\.name: string of 13 bytes exceeds max"):
        gen.unpack_listing(bytes(bad))
    bad = bytearray(data)
    bad[4 + 56 : 4 + 60] = (13).to_bytes(4, "big")  # the last element: peeled loop
    with pytest.raises(XdrError, match=r"^doms\[2\]\.name: string of 13 bytes exceeds max"):
        gen.unpack_listing(bytes(bad))
    for cut in (1, 4, 5, 8, 30, 60):
        with pytest.raises(XdrError, match="truncated"):
            gen.unpack_listing(bytes(data[:-cut]))
    tail = gen.pack_tail_list(gen.TailList(doms))
    for cut in (1, 4, 21):
        with pytest.raises(XdrError, match="truncated"):
            gen.unpack_tail_list(tail[:-cut])
    with pytest.raises(XdrError, match="trailing"):
        gen.unpack_tail_list(tail + bytes(4))
    # a count the input cannot hold is refused before any element is made
    huge = (8).to_bytes(4, "big") + bytes(20)
    with pytest.raises(XdrError, match="truncated"):
        gen.unpack_tail_list(huge)
    with pytest.raises(XdrError, match=r"^doms: array of 9 elements exceeds maximum 8"):
        gen.unpack_tail_list((9).to_bytes(4, "big") + bytes(9 * 28))


def test_generated_classes_keep_the_dataclass_contract(both) -> None:  # noqa: ANN001
    gen, _ = both
    dom = gen.unpack_dom(gen.pack_dom(gen.Dom("vm", DOM_UUID, 3)))
    assert dataclasses.is_dataclass(dom) and type(dom) is gen.Dom
    assert [f.name for f in dataclasses.fields(dom)] == ["name", "uuid", "id"]
    assert not hasattr(dom, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        dom.name = "other"  # type: ignore[misc]
    same = gen.Dom("vm", DOM_UUID, 3)
    assert dom == same and hash(dom) == hash(same)
    assert repr(dom) == f"Dom(name='vm', uuid={DOM_UUID!r}, id=3)"
    assert copy.deepcopy(dom) == dom and copy.copy(dom) == dom
    assert gen.Dom("vm", DOM_UUID, 4) != dom


def test_runtime_helpers() -> None:
    table = Packers(">iI{}II{}", 2, limit=3)
    assert table[2 << 32 | 0](-1, 2, b"ab", 9, 0, b"") == struct.pack(
        ">iI2s2xII0s", -1, 2, b"ab", 9, 0, b""
    )
    for n in range(10):  # the cache is bounded and stays correct after clearing
        data = table[n << 32 | 4](0, n, b"z" * n, 0, 4, b"wxyz")
        assert data == struct.pack(">iI", 0, n) + b"z" * n + bytes(-n & 3) + b"\0\0\0\0\0\0\0\4wxyz"
        assert len(table) <= 3
    assert Packers(">I{}", 1)[5](5, b"hello") == b"\0\0\0\x05hello\0\0\0"

    class Slots:
        __slots__ = ("a", "b")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Value(Slots):
        a: int
        b: int

    assert slots_base(Value) is Slots
    made = instances(Slots, 3)
    assert len(made) == 3 and len({id(x) for x in made}) == 3
    assert all(type(x) is Slots for x in made)
    assert instances(Slots, 0) == []
    assert lax_utf8(b"xx\xffa\xc3\xa9", 2, 6) == "\udcffaé"
    assert lax_encode("a\udcff") == b"a\xff"


def test_names_older_generated_modules_import_still_work() -> None:
    """Modules generated before the slots-base layout use ``builder`` and ``memview``."""
    from virtwire.xdr import runtime

    @dataclasses.dataclass(frozen=True, slots=True)
    class Old:
        a: int

    twin = runtime.builder(Old)
    made = twin()
    made.a = 5
    made.__class__ = Old
    assert made == Old(5)
    assert bytes(runtime.memview(bytearray(b"ab"))) == b"ab"
    for name in ("fail", "fail_run", "fail_unpack", "finish", "as_bytes", "Table", "index_of"):
        assert callable(getattr(runtime, name))
