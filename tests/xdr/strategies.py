"""Hypothesis strategies for the values of any parsed ``.x`` file, built from its AST."""

from __future__ import annotations

import dataclasses
import enum
import types
from typing import Any

from hypothesis import strategies as st
from virtwire.xdr import ast

CAP = 4  # elements per array / nesting depth: keeps examples small and fast


def _text(max_bytes: int) -> st.SearchStrategy[str]:
    chars = min(max_bytes // 4, 12)
    raw = st.binary(max_size=min(max_bytes, 12)).map(lambda b: b.decode("utf-8", "surrogateescape"))
    return st.one_of(st.text(max_size=chars), raw)


class Values:
    """Strategies for the classes of module ``m`` (generated or dynamic) of ``spec``."""

    def __init__(self, spec: ast.Specification, m: types.ModuleType) -> None:
        self.spec = spec
        self.m = m

    def cls(self, xdr_name: str) -> Any:
        name = "".join(p[:1].upper() + p[1:] for p in xdr_name.split("_"))
        return getattr(self.m, name)

    def base(self, name: str) -> st.SearchStrategy[Any]:
        if name in ast.INT_RANGES:
            lo, hi = ast.INT_RANGES[name]
            return st.integers(lo, hi)
        if name == "bool":
            return st.booleans()
        if name == "float":
            return st.floats(width=32, allow_nan=False)
        return st.floats(allow_nan=False)

    def named(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        d = self.spec.types[name]
        if isinstance(d, ast.Typedef):
            return self.decl(d.decl, depth)
        if isinstance(d, ast.Enum):
            return st.sampled_from(list(self.cls(name)))
        if isinstance(d, ast.Struct):
            fields = [self.decl(f, depth + 1) for f in d.fields]
            cls = self.cls(name)
            return st.tuples(*fields).map(lambda vals: cls(*vals))
        return self.union(d, depth)

    def union(self, u: ast.Union, depth: int) -> st.SearchStrategy[Any]:
        c = self.cls(u.name)
        disc_type = u.discriminant.type
        options = []
        for case in u.cases:
            arm = self.decl(case.decl, depth + 1)
            for v in case.values:
                options.append(st.tuples(st.just(self.disc_value(disc_type, v)), arm))
        if u.default is not None:
            used = {v for case in u.cases for v in case.values}
            others = self.disc_others(disc_type, used)
            if others is not None:
                options.append(st.tuples(others, self.decl(u.default, depth + 1)))
        return st.one_of(options).map(lambda t: c(t[0], t[1]))

    def resolve(self, spec: ast.TypeSpec) -> Any:
        while isinstance(spec, ast.NamedType):
            d = self.spec.types[spec.name]
            if isinstance(d, ast.Typedef):
                spec = d.decl.type
            else:
                return d
        return spec

    def disc_value(self, spec: ast.TypeSpec, v: int) -> Any:
        target = self.resolve(spec)
        if isinstance(target, ast.Enum):
            return self.cls(target.name)(v)
        if isinstance(target, ast.BaseType) and target.name == "bool":
            return bool(v)
        return v

    def disc_others(self, spec: ast.TypeSpec, used: set[int]) -> st.SearchStrategy[Any] | None:
        target = self.resolve(spec)
        if isinstance(target, ast.Enum):
            rest = [m for m in self.cls(target.name) if m.value not in used]
            return st.sampled_from(rest) if rest else None
        lo, hi = ast.INT_RANGES.get(target.name, (0, 1))
        return st.integers(lo, hi).filter(lambda x: x not in used)

    def decl(self, d: ast.Declaration, depth: int = 0) -> st.SearchStrategy[Any]:
        if d.shape is ast.Shape.VOID:
            return st.none()
        t = d.type
        if isinstance(t, ast.BaseType) and t.name == "string":
            return _text(d.size or 0)
        if isinstance(t, ast.BaseType) and t.name == "opaque":
            if d.shape is ast.Shape.FIXED:
                return st.binary(min_size=d.size, max_size=d.size)
            return st.binary(max_size=min(d.size or 0, 12))
        if depth > CAP and d.shape in (ast.Shape.OPTIONAL, ast.Shape.VARIABLE):
            return st.none() if d.shape is ast.Shape.OPTIONAL else st.just([])
        elem = self.base(t.name) if isinstance(t, ast.BaseType) else self.named(t.name, depth)
        if d.shape is ast.Shape.SCALAR:
            return elem
        if d.shape is ast.Shape.OPTIONAL:
            return st.one_of(st.none(), elem)
        if d.shape is ast.Shape.FIXED:
            return st.lists(elem, min_size=d.size, max_size=d.size)
        return st.lists(elem, max_size=min(d.size or 0, CAP))


def convert(value: Any, target: types.ModuleType) -> Any:
    """The same logical value built from ``target``'s classes (generated <-> dynamic)."""
    if isinstance(value, enum.IntEnum):
        return getattr(target, type(value).__name__)[value.name]
    if dataclasses.is_dataclass(value):
        cls = getattr(target, type(value).__name__)
        return cls(*(convert(getattr(value, f.name), target) for f in dataclasses.fields(value)))
    if isinstance(value, list):
        return [convert(v, target) for v in value]
    return value
