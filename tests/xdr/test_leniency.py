"""Decode what libvirt's C decoder accepts, refuse what it refuses (generated and loader).

libvirt decodes with libtirpc's (formerly glibc's) XDR routines; what they do, from
libtirpc ``src/xdr.c`` and ``src/xdr_reference.c``:

* ``xdr_bool``: ``*bp = (lb == XDR_FALSE) ? FALSE : TRUE`` -- any non-zero word is TRUE;
* ``xdr_pointer`` (``T *x``): the "more data" flag is an ``xdr_bool`` -- non-zero = present;
* ``xdr_enum``: ``xdr_int`` of the word, no check against the declared members;
* ``xdr_char``/``xdr_u_char``/``xdr_short``/``xdr_u_short``: ``xdr_int``/``xdr_u_int`` of
  the word, then an assignment to the narrow type: the low 8/16 bits, never a failure;
* ``xdr_opaque`` (also behind ``xdr_bytes`` and ``xdr_string``) reads the pad bytes into a
  scratch buffer and never looks at them;
* ``xdr_string`` reads ``size`` bytes and appends a NUL: embedded NULs are accepted (C then
  sees the text up to the first one);
* strict: ``xdr_string``/``xdr_bytes``/``xdr_array`` fail when the length word exceeds the
  maximum; a union without ``default:`` fails on an unmatched discriminant.
"""

from __future__ import annotations

import struct

import pytest
from virtwire.xdr import XdrError
from virtwire.xdr.loader import load_spec
from virtwire.xdr.parser import parse

SOURCE = """
enum colour { RED = 0, GREEN = 1, BLUE = 2 };
typedef bool flag_t;
typedef int *maybe_int;
typedef char ch_t;
typedef unsigned char uch_t;
typedef short sh_t;
typedef unsigned short ush_t;
typedef opaque blob<8>;
typedef opaque fixed3[3];
typedef string name_t<8>;
struct small { int a; bool on; colour c; char ch; unsigned char uch; short s;
               unsigned short us; int b; };
struct holder { name_t name; int *opt; colour cols<4>; small *more; };
union pick switch (colour c) { case RED: int r; case GREEN: void; default: hyper other; };
union strict switch (int k) { case 1: int one; case 2: void; };
struct withnames { name_t names<2>; };
"""

WORDS_TRUE = [1, 2, 0x01000000, 0x80000000, 0xFFFFFFFF]


def w(*values: int) -> bytes:
    return b"".join(struct.pack(">I", v & 0xFFFFFFFF) for v in values)


@pytest.fixture(scope="module")
def generated(compile_x):  # noqa: ANN001, ANN201
    return compile_x(SOURCE)


@pytest.fixture(scope="module")
def dynamic():  # noqa: ANN201
    return load_spec(parse(SOURCE, "lenient.x"))


@pytest.fixture(params=["generated", "dynamic"])
def m(request, generated, dynamic):  # noqa: ANN001, ANN201
    return generated if request.param == "generated" else dynamic


def small_words(**changes: int) -> bytes:
    fields = {"a": 7, "on": 1, "c": 2, "ch": 65, "uch": 66, "s": -3, "us": 4, "b": 9}
    fields.update(changes)
    return w(*fields.values())


# -- bool and optional-data flags ------------------------------------------------------------


@pytest.mark.parametrize("word", WORDS_TRUE)
def test_any_nonzero_bool_is_true(m, word) -> None:  # noqa: ANN001
    assert m.unpack_flag_t(w(word)) is True
    assert m.unpack_flag_t(w(0)) is False
    value = m.unpack_small(small_words(on=word))
    assert value.on is True
    assert value.pack() == small_words(on=1)  # always written back as 0/1


@pytest.mark.parametrize("word", WORDS_TRUE)
def test_any_nonzero_optional_flag_is_present(m, word) -> None:  # noqa: ANN001
    assert m.unpack_maybe_int(w(word, 42)) == 42
    assert m.unpack_maybe_int(w(0)) is None
    data = w(2) + b"ab\0\0" + w(word, 5) + w(0) + w(word) + small_words()
    value = m.unpack_holder(data)
    assert (value.name, value.opt, value.cols) == ("ab", 5, [])
    assert value.more == m.unpack_small(small_words())
    assert m.pack_holder(value) == w(2) + b"ab\0\0" + w(1, 5) + w(0) + w(1) + small_words()


def test_bool_and_flags_encode_strictly(m) -> None:  # noqa: ANN001
    assert m.pack_flag_t(True) == w(1)
    for bad in (2, -1, "yes"):
        with pytest.raises(XdrError):
            m.pack_flag_t(bad)


# -- enums -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, -1, 2**31 - 1, -(2**31), 0x01000000])
def test_undeclared_enum_values_decode_as_plain_ints(m, value) -> None:  # noqa: ANN001
    got = m.unpack_colour(w(value))
    assert got == value and type(got) is int
    assert m.pack_colour(value) == w(value)
    small = m.unpack_small(small_words(c=value))
    assert small.c == value and type(small.c) is int
    assert small.pack() == small_words(c=value)
    holder = m.unpack_holder(w(0, 0, 3, 1, value, 2, 0))
    assert holder.cols == [m.GREEN, value, m.BLUE]
    assert holder.cols[0] is m.GREEN and type(holder.cols[1]) is int
    assert m.pack_holder(holder) == w(0, 0, 3, 1, value, 2, 0)


def test_declared_enum_values_stay_members(m) -> None:  # noqa: ANN001
    assert m.unpack_colour(w(1)) is m.GREEN
    assert m.unpack_small(small_words(c=2)).c is m.BLUE


@pytest.mark.parametrize("bad", [2**31, -(2**31) - 1, "red", None, 1.5])
def test_enum_encoding_takes_any_int32_only(m, bad) -> None:  # noqa: ANN001
    with pytest.raises(XdrError):
        m.pack_colour(bad)
    with pytest.raises(XdrError, match="^c: "):
        m.pack_small(m.unpack_small(small_words()).__class__(7, True, bad, 65, 66, -3, 4, 9))


def test_union_with_default_takes_undeclared_enum_discriminant(m) -> None:  # noqa: ANN001
    value = m.unpack_pick(w(7, 0, 5))
    assert (value.c, value.value) == (7, 5)
    assert value.pack() == w(7, 0, 5)
    assert m.unpack_pick(w(1)).c is m.GREEN


# -- strict where libvirt is strict ----------------------------------------------------------


def test_union_without_default_still_refuses_unmatched_discriminant(m) -> None:  # noqa: ANN001
    assert m.unpack_strict(w(1, 9)) == m.Strict(1, 9)
    for k in (0, 3, 0x01000000):
        with pytest.raises(XdrError, match="not a case of union strict"):
            m.unpack_strict(w(k, 9))


def test_lengths_over_the_maximum_are_refused(m) -> None:  # noqa: ANN001
    with pytest.raises(XdrError, match="exceeds maximum 4"):  # colour cols<4>
        m.unpack_holder(w(0, 0, 5) + w(0) * 5 + w(0))
    with pytest.raises(XdrError, match="exceeds maximum 8"):
        m.unpack_blob(w(9) + bytes(12))
    with pytest.raises(XdrError, match="exceeds maximum 8"):
        m.unpack_name_t(w(9) + bytes(12))
    with pytest.raises(XdrError, match="exceeds maximum 2"):
        m.unpack_withnames(w(3) + w(0) * 3)


# -- char / short words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "word", "value"),
    [
        ("ch_t", 0x141, 0x41),
        ("ch_t", 0x1FF, -1),
        ("ch_t", 0x80, 128),  # in the accepted -128..255: unchanged
        ("ch_t", -129, 127),
        ("ch_t", 0x01000000, 0),
        ("uch_t", 0x1FF, 255),
        ("uch_t", 0xFFFFFFFF, 255),
        ("uch_t", 0x100, 0),
        ("sh_t", 0x18000, -32768),
        ("sh_t", 0x12345, 0x2345),
        ("sh_t", -32769, 32767),
        ("ush_t", 0x12345, 0x2345),
        ("ush_t", 0xFFFFFFFF, 0xFFFF),
    ],
)
def test_narrow_words_are_truncated_like_c(m, kind, word, value) -> None:  # noqa: ANN001
    assert m.CODECS[kind].unpack(w(word)) == value
    field = {"ch_t": "ch", "uch_t": "uch", "sh_t": "s", "ush_t": "us"}[kind]
    small = m.unpack_small(small_words(**{field: word}))
    assert getattr(small, field) == value
    assert small.pack() == small_words(**{field: value})  # re-encoded in range


def test_narrow_values_out_of_range_are_still_refused_on_encode(m) -> None:  # noqa: ANN001
    for kind, bad in (("ch_t", 256), ("uch_t", -1), ("sh_t", 2**15), ("ush_t", 2**16)):
        with pytest.raises(XdrError, match="out of range"):
            m.CODECS[kind].pack(bad)


# -- padding and NULs -------------------------------------------------------------------------


def test_nonzero_pad_bytes_are_ignored(m) -> None:  # noqa: ANN001
    assert m.unpack_blob(w(3) + b"abc\xff") == b"abc"
    assert m.unpack_blob(w(1) + b"a\x01\x02\x03") == b"a"
    assert m.unpack_name_t(w(2) + b"hi\xde\xad") == "hi"
    assert m.unpack_fixed3(b"xyz\x99") == b"xyz"
    data = w(2, 1) + b"a\xee\xee\xee" + w(2) + b"bc\xff\xff"
    assert m.unpack_withnames(data) == m.Withnames(["a", "bc"])
    # and the value is written back with zero padding
    assert m.pack_withnames(m.unpack_withnames(data)) == w(2, 1) + b"a\0\0\0" + w(2) + b"bc\0\0"


def test_embedded_nuls_are_accepted_and_kept(m) -> None:  # noqa: ANN001
    assert m.unpack_name_t(w(5) + b"ab\0cd\0\0\0") == "ab\0cd"
    assert m.unpack_name_t(w(1) + b"\0\0\0\0") == "\0"
    assert m.unpack_withnames(w(1) + w(3) + b"a\0b\0") == m.Withnames(["a\0b"])
    assert m.pack_name_t("ab\0cd") == w(5) + b"ab\0cd\0\0\0"


def test_trailing_bytes_are_an_error_that_carries_the_value(m) -> None:  # noqa: ANN001
    """unpack_* consumes the whole buffer; libvirt's payload decoder ignores what follows
    the value, so the error hands the value over (the server uses it)."""
    from virtwire.xdr import TrailingBytes

    for name, data, value in (
        ("small", small_words() + b"\0\0\0\1", m.unpack_small(small_words())),
        ("pick", w(0, 5, 9), m.Pick(m.RED, 5)),
        ("name_t", w(1) + b"a\0\0\0" + w(0), "a"),
    ):
        with pytest.raises(TrailingBytes, match="4 trailing bytes") as info:
            m.CODECS[name].unpack(data)
        assert info.value.value == value and info.value.extra == 4
        assert isinstance(info.value, XdrError)


# -- the committed protocol codecs -------------------------------------------------------------


def test_connect_open_with_flag_word_0x01000000() -> None:
    """What a pure-Go client sends (and libvirtd accepts): name's "present" flag 0x01000000."""
    from virtwire.protocol.generated import remote_protocol as rp

    name = b"test:///default"
    data = w(0x01000000, len(name)) + name + b"\0" + w(0)
    args = rp.unpack_remote_connect_open_args(data)
    assert (args.name, args.flags) == ("test:///default", 0)
    assert args.pack() == w(1, len(name)) + name + b"\0" + w(0)
