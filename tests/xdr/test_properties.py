"""Properties over everything.x (every construct): round trips, generated == dynamic byte for
byte, and arbitrary or mutated bytes raise nothing but XdrError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtwire.xdr import XdrError
from virtwire.xdr.parser import parse_file

from .conftest import DATA, UUID_CONSTANTS
from .strategies import Values, convert

SPEC = parse_file(DATA / "everything.x", UUID_CONSTANTS)
TYPE_NAMES = sorted(SPEC.types)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", TYPE_NAMES)
@SETTINGS
@given(data=st.data())
def test_roundtrip_and_same_bytes(everything, everything_dynamic, name, data) -> None:  # noqa: ANN001
    value = data.draw(Values(SPEC, everything).named(name, 0))
    encoded = everything.CODECS[name].pack(value)
    assert everything.CODECS[name].unpack(encoded) == value
    dyn_value = convert(value, everything_dynamic)
    assert everything_dynamic.CODECS[name].pack(dyn_value) == encoded
    assert everything_dynamic.CODECS[name].unpack(encoded) == dyn_value


def _decode_both(everything, everything_dynamic, name, blob) -> None:  # noqa: ANN001
    results = []
    for m in (everything, everything_dynamic):
        try:
            results.append(m.CODECS[name].unpack(blob))
        except XdrError:
            results.append(XdrError)
    gen, dyn = results
    if gen is XdrError or dyn is XdrError:
        assert gen is dyn, f"only one implementation rejected {blob.hex()}"
    else:  # compare as bytes: a decoded NaN is not equal to itself
        packed = everything.CODECS[name].pack(gen)
        assert packed == everything_dynamic.CODECS[name].pack(dyn)
        assert packed == everything_dynamic.CODECS[name].pack(convert(gen, everything_dynamic))


@pytest.mark.parametrize("name", TYPE_NAMES)
@SETTINGS
@given(blob=st.binary(max_size=64))
def test_random_bytes_raise_only_xdr_error(everything, everything_dynamic, name, blob) -> None:  # noqa: ANN001
    _decode_both(everything, everything_dynamic, name, blob)


@pytest.mark.parametrize("name", TYPE_NAMES)
@SETTINGS
@given(data=st.data())
def test_mutated_bytes_raise_only_xdr_error(everything, everything_dynamic, name, data) -> None:  # noqa: ANN001
    value = data.draw(Values(SPEC, everything).named(name, 0))
    blob = bytearray(everything.CODECS[name].pack(value))
    op = data.draw(st.sampled_from(["flip", "cut", "extend", "word"]))
    if op == "cut" and blob:
        del blob[data.draw(st.integers(0, len(blob) - 1)) :]
    elif op == "extend":
        blob += data.draw(st.binary(min_size=1, max_size=8))
    elif op == "word" and len(blob) >= 4:
        at = data.draw(st.integers(0, len(blob) // 4 - 1)) * 4
        blob[at : at + 4] = data.draw(
            st.sampled_from(
                [b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x02", b"\x00\x01\x00\x00"]
            )
        )
    elif blob:
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] ^= data.draw(st.integers(1, 255))
    _decode_both(everything, everything_dynamic, name, bytes(blob))


@pytest.mark.parametrize("name", TYPE_NAMES)
def test_wrong_python_values_raise_only_xdr_error(everything, everything_dynamic, name) -> None:  # noqa: ANN001
    for m in (everything, everything_dynamic):
        for bad in (object(), "x", 2**70, -1, None, [object()], b"\x00" * 3):
            try:
                m.CODECS[name].pack(bad)
            except XdrError:
                pass
