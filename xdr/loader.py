"""Dynamic loader: a ``.x`` file -> a module-like object of types and codecs, built at run time.

This is the simple, independent implementation: it shares only the parser and AST with the
code generator and does its work with ``xdrlib3``'s ``Packer``/``Unpacker``, one call per
field.  It is slower than generated code but needs no build step, which suits files a user
brings along (their libvirt's ``remote_protocol.x``).  The tests hold it and the generator to
identical bytes, so each keeps the other honest.
"""

from __future__ import annotations

import dataclasses
import enum
import keyword
import logging
import struct
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import xdrlib3
from virtwire.xdr import ast
from virtwire.xdr.parser import parse_file
from virtwire.xdr.runtime import (
    Codec,
    ProcedureDef,
    TrailingBytes,
    XdrError,
    check_enum,
    narrow,
)

log = logging.getLogger("virtwire.xdr")

Pack = Callable[[xdrlib3.Packer, Any], None]
Unpack = Callable[[xdrlib3.Unpacker], Any]

_WIDE = {"hyper", "unsigned hyper", "double"}


def _class_name(xdr_name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in xdr_name.split("_")) or "X"


def _attr(xdr_name: str) -> str:
    if keyword.iskeyword(xdr_name) or xdr_name in ("pack", "unpack"):
        return xdr_name + "_"
    return xdr_name


def _wrap(exc: BaseException, name: str | int | None) -> XdrError:
    """Any failure while coding field ``name`` as an :class:`XdrError` one level up."""
    if isinstance(exc, XdrError):
        return exc.prefixed(name)
    if isinstance(exc, EOFError | xdrlib3.Error) and not isinstance(exc, xdrlib3.ConversionError):
        err = XdrError("input truncated")
    elif isinstance(exc, RecursionError):
        err = XdrError("value nested too deeply")
    else:
        err = XdrError(f"bad value ({type(exc).__name__}: {exc})")
    err.__cause__ = exc
    return err.prefixed(name)


class _Builder:
    """Turns the AST into classes and closures over xdrlib3."""

    def __init__(self, spec: ast.Specification, module: types.ModuleType) -> None:
        self.spec = spec
        self.module = module
        self.packers: dict[str, Pack] = {}
        self.unpackers: dict[str, Unpack] = {}
        self.classes: dict[str, type] = {}

    # -- base types ------------------------------------------------------------------------

    def base(self, name: str) -> tuple[Pack, Unpack]:
        if name in ast.INT_RANGES:
            lo, hi = ast.INT_RANGES[name]
            signed = lo < 0
            if name in ("hyper", "unsigned hyper"):
                raw_pack = "pack_hyper" if signed else "pack_uhyper"
                raw_unpack = "unpack_hyper" if signed else "unpack_uhyper"
            else:
                raw_pack = "pack_int" if signed else "pack_uint"
                raw_unpack = "unpack_int" if signed else "unpack_uint"

            def pack_int(p: xdrlib3.Packer, v: Any, _m: str = raw_pack) -> None:
                if not isinstance(v, int):
                    raise XdrError(f"expected an int for {name}, got {type(v).__name__}")
                if not lo <= v <= hi:
                    raise XdrError(f"value {v} out of range for {name} ({lo}..{hi})")
                getattr(p, _m)(v)

            def unpack_int(u: xdrlib3.Unpacker, _m: str = raw_unpack) -> int:
                v = getattr(u, _m)()
                if not lo <= v <= hi:
                    # char/short words: libtirpc's xdr_char & co. keep the low bits, as C does
                    return narrow(v, name)
                return v

            return pack_int, unpack_int
        if name == "bool":

            def pack_bool(p: xdrlib3.Packer, v: Any) -> None:
                if v is not True and v is not False and not (type(v) is int and v in (0, 1)):
                    raise XdrError(f"invalid bool value {v!r} (must be 0 or 1)")
                p.pack_bool(v)

            def unpack_bool(u: xdrlib3.Unpacker) -> bool:
                return u.unpack_uint() != 0  # xdr_bool: any non-zero word is TRUE

            return pack_bool, unpack_bool

        def pack_real(p: xdrlib3.Packer, v: Any) -> None:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise XdrError(f"expected a float for {name}, got {type(v).__name__}")
            try:
                (p.pack_float if name == "float" else p.pack_double)(v)
            except (OverflowError, struct.error) as e:
                raise XdrError(f"value {v!r} does not fit a {name} ({e})") from None

        def unpack_real(u: xdrlib3.Unpacker) -> float:
            return u.unpack_float() if name == "float" else u.unpack_double()

        return pack_real, unpack_real

    # -- declarations --------------------------------------------------------------------

    def element(self, spec: ast.TypeSpec) -> tuple[Pack, Unpack]:
        if isinstance(spec, ast.BaseType):
            return self.base(spec.name)
        name = spec.name
        return (
            lambda p, v: self.packers[name](p, v),
            lambda u: self.unpackers[name](u),
        )

    def declaration(self, decl: ast.Declaration) -> tuple[Pack, Unpack]:
        shape = decl.shape
        if shape is ast.Shape.VOID:

            def pack_void(p: xdrlib3.Packer, v: Any) -> None:
                if v is not None:
                    raise XdrError("a void arm carries no value (must be None)")

            return pack_void, lambda u: None
        spec = decl.type
        assert spec is not None
        if isinstance(spec, ast.BaseType) and spec.name in ("string", "opaque"):
            return self.bytes_like(spec.name, shape, decl.size)
        pack_elem, unpack_elem = self.element(spec)
        if shape is ast.Shape.SCALAR:
            return pack_elem, unpack_elem
        if shape is ast.Shape.OPTIONAL:

            def pack_opt(p: xdrlib3.Packer, v: Any) -> None:
                if v is None:
                    p.pack_uint(0)
                else:
                    p.pack_uint(1)
                    pack_elem(p, v)

            def unpack_opt(u: xdrlib3.Unpacker) -> Any:
                # xdr_pointer reads "more data" with xdr_bool: any non-zero word is present
                if u.unpack_uint() == 0:
                    return None
                return unpack_elem(u)

            return pack_opt, unpack_opt
        size = decl.size or 0
        fixed = shape is ast.Shape.FIXED
        least = self.min_size(spec)

        def pack_array(p: xdrlib3.Packer, v: Any) -> None:
            n = len(v)
            if fixed and n != size:
                raise XdrError(f"fixed array needs exactly {size} elements, got {n}")
            if not fixed:
                if n > size:
                    raise XdrError(f"array of {n} elements exceeds maximum {size}")
                p.pack_uint(n)
            for i, item in enumerate(v):
                try:
                    pack_elem(p, item)
                except Exception as e:
                    raise _wrap(e, i) from None

        def unpack_array(u: xdrlib3.Unpacker) -> list:
            if fixed:
                n = size
            else:
                n = u.unpack_uint()
                if n > size:
                    raise XdrError(f"array of {n} elements exceeds maximum {size}")
                if n * least > len(u.get_buffer()) - u.get_position():
                    raise XdrError("input truncated")
            items = []
            for i in range(n):
                try:
                    items.append(unpack_elem(u))
                except Exception as e:
                    raise _wrap(e, i) from None
            return items

        return pack_array, unpack_array

    def bytes_like(self, kind: str, shape: ast.Shape, size: int | None) -> tuple[Pack, Unpack]:
        limit = size if size is not None else ast.UNBOUNDED
        if shape is ast.Shape.FIXED:

            def pack_fixed(p: xdrlib3.Packer, v: Any) -> None:
                if not isinstance(v, bytes | bytearray | memoryview):
                    raise XdrError(f"expected bytes for opaque[{limit}], got {type(v).__name__}")
                if len(v) != limit:
                    raise XdrError(f"opaque[{limit}] needs exactly {limit} bytes, got {len(v)}")
                p.pack_fopaque(limit, bytes(v))

            return pack_fixed, lambda u: u.unpack_fopaque(limit)
        text = kind == "string"

        def pack_var(p: xdrlib3.Packer, v: Any) -> None:
            if text:
                if not isinstance(v, str):
                    raise XdrError(f"expected a str, got {type(v).__name__}")
                data = v.encode("utf-8", "surrogateescape")
            else:
                if not isinstance(v, bytes | bytearray | memoryview):
                    raise XdrError(f"expected bytes, got {type(v).__name__}")
                data = bytes(v)
            if len(data) > limit:
                raise XdrError(f"{kind} of {len(data)} bytes exceeds maximum {limit}")
            p.pack_opaque(data)

        def unpack_var(u: xdrlib3.Unpacker) -> Any:
            n = u.unpack_uint()
            if n > limit:
                raise XdrError(f"{kind} of {n} bytes exceeds maximum {limit}")
            data = u.unpack_fopaque(n)
            return data.decode("utf-8", "surrogateescape") if text else data

        return pack_var, unpack_var

    def min_size(self, spec: ast.TypeSpec) -> int:
        if isinstance(spec, ast.BaseType):
            return 8 if spec.name in _WIDE else 4
        definition = self.spec.types[spec.name]
        if isinstance(definition, ast.Typedef):
            decl = definition.decl
            if decl.shape is ast.Shape.FIXED and decl.type == ast.BaseType("opaque"):
                return (decl.size or 0) + (-(decl.size or 0) & 3)
            if decl.shape is ast.Shape.FIXED:
                return (decl.size or 0) * self.min_size(decl.type)  # type: ignore[arg-type]
            if decl.shape is ast.Shape.SCALAR:
                return self.min_size(decl.type)  # type: ignore[arg-type]
        return 4 if not isinstance(definition, ast.Struct) else 4 * (len(definition.fields) > 0)

    # -- definitions ---------------------------------------------------------------------

    def add_enum(self, e: ast.Enum) -> None:
        cls = enum.IntEnum(_class_name(e.name), [(v.name, v.value) for v in e.values])
        cls.__module__ = self.module.__name__
        self.classes[e.name] = cls
        members = {m.value: m for m in cls}

        def pack_enum(p: xdrlib3.Packer, v: Any) -> None:
            # as C: any int in the 32-bit signed range, declared or not (xdr_enum is xdr_int)
            check_enum(v, e.name)
            p.pack_int(v)

        def unpack_enum(u: xdrlib3.Unpacker) -> Any:
            v = u.unpack_int()
            return members.get(v, v)  # undeclared values stay plain ints, as in libvirt

        self.packers[e.name] = pack_enum
        self.unpackers[e.name] = unpack_enum
        setattr(self.module, cls.__name__, cls)
        for member in cls:
            setattr(self.module, member.name, member)

    def make_class(self, xdr_name: str, fields: list[tuple[str, Any]], kind: str) -> type:
        pack = self.public_pack(xdr_name)
        unpack = self.public_unpack(xdr_name)
        namespace = {
            "pack": lambda self: pack(self),
            "unpack": classmethod(lambda cls, data: unpack(data)),
            "__doc__": f"{kind} {xdr_name}",
        }
        cls = dataclasses.make_dataclass(
            _class_name(xdr_name), fields, frozen=True, slots=True, namespace=namespace
        )
        cls.__module__ = self.module.__name__
        self.classes[xdr_name] = cls
        setattr(self.module, cls.__name__, cls)
        return cls

    def add_struct(self, s: ast.Struct) -> None:
        codecs = [(d.name or "", _attr(d.name or ""), *self.declaration(d)) for d in s.fields]
        cls = self.make_class(s.name, [(attr, Any) for _, attr, _, _ in codecs], "struct")

        def pack_struct(p: xdrlib3.Packer, v: Any) -> None:
            for name, attr, pack_field, _ in codecs:
                try:
                    pack_field(p, getattr(v, attr))
                except Exception as e:
                    raise _wrap(e, name) from None

        def unpack_struct(u: xdrlib3.Unpacker) -> Any:
            values = []
            for name, _, _, unpack_field in codecs:
                try:
                    values.append(unpack_field(u))
                except Exception as e:
                    raise _wrap(e, name) from None
            return cls(*values)

        self.packers[s.name] = pack_struct
        self.unpackers[s.name] = unpack_struct

    def add_union(self, un: ast.Union) -> None:
        disc_name = un.discriminant.name or "discriminant"
        disc_attr = _attr(disc_name)
        pack_disc, unpack_disc = self.declaration(un.discriminant)
        arms: dict[int, tuple[str, Pack, Unpack]] = {}
        for case in un.cases:
            codec = (case.decl.name or "value", *self.declaration(case.decl))
            for value in case.values:
                arms[value] = codec
        default = (
            (un.default.name or "value", *self.declaration(un.default)) if un.default else None
        )
        cls = self.make_class(
            un.name,
            [(disc_attr, Any), ("value", Any, dataclasses.field(default=None))],
            "union",
        )

        def arm_for(d: Any) -> tuple[str, Pack, Unpack]:
            arm = arms.get(d, default)
            if arm is None:
                raise XdrError(f"{d!r} is not a case of union {un.name}", disc_name)
            return arm

        def pack_union(p: xdrlib3.Packer, v: Any) -> None:
            d = getattr(v, disc_attr)
            try:
                pack_disc(p, d)
            except Exception as e:
                raise _wrap(e, disc_name) from None
            label, pack_arm, _ = arm_for(d)
            try:
                pack_arm(p, v.value)
            except Exception as e:
                raise _wrap(e, label) from None

        def unpack_union(u: xdrlib3.Unpacker) -> Any:
            try:
                d = unpack_disc(u)
            except Exception as e:
                raise _wrap(e, disc_name) from None
            label, _, unpack_arm = arm_for(d)
            try:
                value = unpack_arm(u)
            except Exception as e:
                raise _wrap(e, label) from None
            return cls(d, value)

        self.packers[un.name] = pack_union
        self.unpackers[un.name] = unpack_union

    def add_typedef(self, t: ast.Typedef) -> None:
        self.packers[t.name], self.unpackers[t.name] = self.declaration(t.decl)

    # -- public functions ------------------------------------------------------------------

    def public_pack(self, name: str) -> Callable[[Any], bytes]:
        def pack(value: Any) -> bytes:
            p = xdrlib3.Packer()
            try:
                self.packers[name](p, value)
            except Exception as e:
                raise _wrap(e, None) from None
            return p.get_buffer()

        pack.__name__ = pack.__qualname__ = f"pack_{name}"
        return pack

    def public_unpack(self, name: str) -> Callable[[Any], Any]:
        def unpack(data: bytes | bytearray | memoryview) -> Any:
            try:
                raw = bytes(data)
            except TypeError:
                raise XdrError(f"expected bytes to decode, got {type(data).__name__}") from None
            u = xdrlib3.Unpacker(raw)
            try:
                value = self.unpackers[name](u)
            except Exception as e:
                raise _wrap(e, None) from None
            left = len(raw) - u.get_position()
            if left:
                message = f"{left} trailing bytes after the value (of {len(raw)})"
                raise TrailingBytes(message, value, left)
            return value

        unpack.__name__ = unpack.__qualname__ = f"unpack_{name}"
        return unpack

    def build(self) -> types.ModuleType:
        m = self.module
        for name, value in self.spec.constants.items():
            setattr(m, name, value)
        codecs: dict[str, Codec] = {}
        procedures: list[ProcedureDef] = []
        for d in self.spec.definitions:
            if isinstance(d, ast.Enum):
                self.add_enum(d)
                if any(v.doc for v in d.values):
                    procedures += [ProcedureDef(v.name, v.value, v.annotations) for v in d.values]
            elif isinstance(d, ast.Struct):
                self.add_struct(d)
            elif isinstance(d, ast.Union):
                self.add_union(d)
            elif isinstance(d, ast.Typedef):
                self.add_typedef(d)
            elif isinstance(d, ast.Program):
                for version in d.versions:
                    procedures += [
                        ProcedureDef(p.name, p.number, p.annotations) for p in version.procedures
                    ]
            if isinstance(d, ast.TypeDefinition):
                codec = Codec(self.public_pack(d.name), self.public_unpack(d.name))
                codecs[d.name] = codec
                setattr(m, f"pack_{d.name}", codec.pack)
                setattr(m, f"unpack_{d.name}", codec.unpack)
        m.CODECS = codecs
        m.PROCEDURES = tuple(procedures)
        return m


def load_spec(spec: ast.Specification, name: str | None = None) -> types.ModuleType:
    """Build the module-like object for an already parsed specification."""
    stem = Path(spec.source).stem or "spec"
    module = types.ModuleType(name or f"virtwire.xdr.loaded.{stem}", f"XDR types of {spec.source}")
    return _Builder(spec, module).build()


def load(path: str | Path, constants: Mapping[str, int] | None = None) -> types.ModuleType:
    """Parse ``path`` and return an object with the same names as a generated module.

    ``constants`` supplies values the file uses but does not define (libvirt's
    ``VIR_UUID_BUFLEN`` and friends).  Classes, ``pack_<name>``/``unpack_<name>``, ``CODECS``,
    constants, enum members and ``PROCEDURES`` behave as documented for generated code.
    """
    spec = parse_file(path, constants)
    module = load_spec(spec)
    log.debug("loaded %s: %d codecs", path, len(module.CODECS))
    return module
