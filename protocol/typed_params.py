"""Typed parameters in one place: ``VIR_TYPED_PARAM_*``, and the one converter between
``remote_typed_param`` lists and libvirt-python's dicts (client, daemon and events use it).

libvirt-python hands typed parameters to Python as a plain ``dict`` (``{"cpu_shares":
1024}``): INT, UINT, LLONG and ULLONG become ``int``, DOUBLE ``float``, BOOLEAN ``bool``,
STRING ``str``.  Going the other way it needs a type per key: when a setter has a getter
(``setMemoryParameters`` / ``memoryParameters``) it asks the getter first, as libvirt-python
does; otherwise the type follows the value (``bool`` → BOOLEAN, ``int`` → ULLONG, or LLONG
when negative, ``float`` → DOUBLE, ``str`` → STRING) unless ``hints`` names one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any

from virtwire.protocol.generated import remote_protocol as rp

__all__ = ["INT", "UINT", "LLONG", "ULLONG", "DOUBLE", "BOOLEAN", "STRING", "TypedParamType",
           "from_wire", "guess_type", "to_wire", "types_of"]  # fmt: skip


class TypedParamType(IntEnum):
    """``VIR_TYPED_PARAM_*``: the discriminant of ``remote_typed_param_value``."""

    INT = 1
    UINT = 2
    LLONG = 3
    ULLONG = 4
    DOUBLE = 5
    BOOLEAN = 6
    STRING = 7


INT, UINT, LLONG, ULLONG, DOUBLE, BOOLEAN, STRING = TypedParamType
_INTEGERS = (INT, UINT, LLONG, ULLONG)
_RANGES = {INT: (-(2**31), 2**31 - 1), UINT: (0, 2**32 - 1),
           LLONG: (-(2**63), 2**63 - 1), ULLONG: (0, 2**64 - 1)}  # fmt: skip


def _value(kind: int, raw: Any) -> Any:
    if kind in _INTEGERS:
        return int(raw)
    if kind == DOUBLE:
        return float(raw)
    if kind == BOOLEAN:
        return bool(raw)
    return raw


def from_wire(params: Iterable[Any]) -> dict[str, Any]:
    """``remote_typed_param`` structs → libvirt-python's dict (order kept); the plain
    ``{field, value}`` records of the node CPU/memory statistics too."""
    out: dict[str, Any] = {}
    for p in params:
        value = p.value
        out[p.field] = _value(int(value.type), value.value) if hasattr(value, "type") else value
    return out


def types_of(params: Iterable[Any]) -> dict[str, int]:
    """Field name → VIR_TYPED_PARAM_* type, from wire params (what a getter reports)."""
    return {p.field: int(p.value.type) for p in params}


def guess_type(value: Any) -> TypedParamType:
    """libvirt-python's type for a value with no declared type: bool → BOOLEAN, int →
    ULLONG (LLONG when negative), float → DOUBLE, str → STRING."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return ULLONG if value >= 0 else LLONG
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    raise TypeError(f"Unknown type of {value!r}")


def to_wire(values: Mapping[str, Any], hints: Mapping[str, int] | None = None) -> list[Any]:
    """libvirt-python's dict → ``remote_typed_param`` structs.

    ``hints`` (field → type, e.g. from the getter) fixes the type of known fields; as in
    libvirt-python an unknown field is an error when hints come from a getter.
    """
    if not isinstance(values, Mapping):
        raise TypeError("Expected a dict of typed parameters")
    out = []
    for key, value in values.items():
        kind = hints.get(key) if hints is not None else None
        if kind is None:
            kind = guess_type(value)
        if kind in _INTEGERS:
            if isinstance(value, float) or not isinstance(value, int):
                raise TypeError(f"Attribute {key!r} must be an integer")
            low, high = _RANGES[kind]
            if not low <= value <= high:
                raise OverflowError(f"Attribute {key!r} out of range")
            value = int(value)
        elif kind == DOUBLE:
            value = float(value)
        elif kind == BOOLEAN:
            value = 1 if value else 0
        elif kind == STRING:
            value = str(value)
        out.append(rp.RemoteTypedParam(field=key, value=rp.RemoteTypedParamValue(kind, value)))
    return out
