"""AST -> one deterministic, formatted Python module of fast codecs.

Why the generated code looks the way it does (all of it is about speed without losing checks):

* one straight-line ``_enc_<name>(out, v)`` / ``_dec_<name>(buf, off) -> (value, off)`` per
  type; typedefs are expanded in place, so ``remote_nonnull_string`` costs no extra call;
* consecutive fixed-size fields (ints, hypers, enums, bools, floats, fixed opaque) become one
  precompiled ``struct.Struct`` per run: one C call instead of one Python call per field;
* decoding reads ``bytes`` at offsets with ``unpack_from``: nothing is copied until a value
  is built (measured faster than a ``memoryview``, whose slices cost more to make and decode);
* length words are read and written in the same ``Struct`` as the fixed fields before them,
  and inside arrays each element also reads the next element's first length word (the last
  element is peeled off the loop, so no per-element test is needed);
* a *flat* struct (fixed fields plus one or two strings, nested structs expanded) is encoded
  by a single ``Struct.pack`` whose format spells the strings out (``I5s3x``), looked up by
  the strings' lengths in a :class:`virtwire.xdr.runtime.Packers` table; other structs
  collect chunks in a list and join them once;
* strings are encoded with strict ``str.encode()`` and decoded with strict ``bytes.decode()``
  (faster, same result whenever they succeed), falling back to ``surrogateescape``; inside
  arrays of structs they are sliced from the buffer's Latin-1 text, which *is* the UTF-8
  decoding when the slice is ASCII;
* offsets are always multiples of 4, so padding is ``off = (end + 3) & -4``;
* struct values are built as instances of a plain slots class that the frozen dataclass
  inherits its slots from, then their ``__class__`` is switched (several times cheaper than
  the frozen ``__init__``; sharing the base spares CPython a slot-by-slot layout comparison);
  array elements are all made in one C-level call before the loop fills them;
* decoding accepts what libvirt's C decoder (libtirpc/glibc XDR) accepts and refuses what it
  refuses: any non-zero bool or optional-data word is true, undeclared enum values decode as
  plain ``int``s, ``char``/``short`` words are truncated like a C assignment, pad bytes are
  not looked at; maximums and union discriminants without a ``default:`` stay checked, and
  every check happens before anything is allocated from a length read off the wire;
* field paths for error messages are added by ``except`` clauses only: Python 3.11 ``try``
  costs nothing until something is raised;
* import time matters too (every CLI command imports ``remote_protocol``): classes are not
  ``@dataclass``-decorated, which would ``exec`` six methods per class, but written out
  (``__slots__ = ()``, annotations, ``__init__``, all cached in the ``.pyc``) and finished by
  :func:`virtwire.xdr.runtime.frozen_dataclass` without compiling anything.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from virtwire.xdr import ast
from virtwire.xdr.runtime import XdrParseError, class_name

# -- intermediate representation: a declaration with typedefs expanded ---------------------


@dataclass(frozen=True)
class Prim:
    kind: str  # an ast.INT_RANGES key, "bool", "float" or "double"


@dataclass(frozen=True)
class EnumT:
    name: str


@dataclass(frozen=True)
class Str:
    max: int


@dataclass(frozen=True)
class FOpaque:
    size: int


@dataclass(frozen=True)
class VOpaque:
    max: int


@dataclass(frozen=True)
class FArray:
    elem: Ir
    size: int


@dataclass(frozen=True)
class VArray:
    elem: Ir
    max: int


@dataclass(frozen=True)
class Opt:
    elem: Ir


@dataclass(frozen=True)
class StructT:
    name: str


@dataclass(frozen=True)
class UnionT:
    name: str


@dataclass(frozen=True)
class Void:
    pass


_ZEROS = ('b""', 'b"\\x00"', 'b"\\x00\\x00"', 'b"\\x00\\x00\\x00"')
#: structs with at most this many fields (after expansion) are inlined into their users
_INLINE_LIMIT = 40
_VOID_MESSAGE = "a void arm carries no value (must be None)"
#: most strings/variable opaques a struct may have to be encoded by one cached ``pack``
_FLAT_PARTS = 2

Ir = Prim | EnumT | Str | FOpaque | VOpaque | FArray | VArray | Opt | StructT | UnionT | Void

#: struct format characters of the fixed-size scalars
_FORMAT = {
    "int": "i",
    "unsigned int": "I",
    "hyper": "q",
    "unsigned hyper": "Q",
    "char": "i",
    "unsigned char": "I",
    "short": "i",
    "unsigned short": "I",
    "bool": "I",
    "float": "f",
    "double": "d",
}
_NARROW = {"char", "unsigned char", "short", "unsigned short"}
_PLAIN_NUMBERS = {"int", "unsigned int", "hyper", "unsigned hyper", "float", "double"}
_PY_TYPE = {"bool": "bool", "float": "float", "double": "float"}


def attr_name(xdr_name: str) -> str:
    """A field name usable as a Python attribute: keywords get a trailing ``_``."""
    if keyword.iskeyword(xdr_name) or xdr_name in ("pack", "unpack"):
        return xdr_name + "_"
    return xdr_name


def lit(value: object) -> str:
    """A Python literal with double-quoted strings, as ``ruff format`` would write it."""
    if isinstance(value, str):
        text = repr(value)
        if text.startswith("'") and '"' not in value:
            text = '"' + text[1:-1].replace("\\'", "'") + '"'
        return text
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def signature(name: str, params: str, result: str) -> list[str]:
    """A ``def`` line, split the way ``ruff format`` splits it when over 100 columns."""
    line = f"def {name}({params}) -> {result}:"
    if len(line) <= 100:
        return [line]
    return [f"def {name}(", f"    {params}", f") -> {result}:"]


def method_signature(name: str, params: list[str], result: str) -> list[str]:
    """A method's ``def`` line(s), split the way ``ruff format`` splits them."""
    line = f"    def {name}({', '.join(params)}) -> {result}:"
    if len(line) <= 100:
        return [line]
    inner = f"        {', '.join(params)}"
    if len(inner) <= 100:
        return [f"    def {name}(", inner, f"    ) -> {result}:"]
    return [f"    def {name}(", *[f"        {p}," for p in params], f"    ) -> {result}:"]


def pad(size: int) -> int:
    return -size & 3


class Lowering:
    """Expands typedefs so each declaration becomes an :data:`Ir` tree."""

    def __init__(self, spec: ast.Specification) -> None:
        self.spec = spec

    def named(self, name: str) -> Ir:
        definition = self.spec.types[name]
        if isinstance(definition, ast.Typedef):
            return self.decl(definition.decl)
        if isinstance(definition, ast.Enum):
            return EnumT(name)
        if isinstance(definition, ast.Struct):
            return StructT(name)
        return UnionT(name)

    def decl(self, decl: ast.Declaration) -> Ir:
        shape = decl.shape
        if shape is ast.Shape.VOID:
            return Void()
        spec = decl.type
        if isinstance(spec, ast.BaseType) and spec.name == "string":
            return Str(decl.size if decl.size is not None else ast.UNBOUNDED)
        if isinstance(spec, ast.BaseType) and spec.name == "opaque":
            if shape is ast.Shape.FIXED:
                return FOpaque(decl.size or 0)
            return VOpaque(decl.size if decl.size is not None else ast.UNBOUNDED)
        elem = Prim(spec.name) if isinstance(spec, ast.BaseType) else self.named(spec.name)
        if shape is ast.Shape.SCALAR:
            return elem
        if shape is ast.Shape.FIXED:
            return FArray(elem, decl.size or 0)
        if shape is ast.Shape.VARIABLE:
            return VArray(elem, decl.size if decl.size is not None else ast.UNBOUNDED)
        return Opt(elem)

    def min_size(self, ir: Ir, seen: frozenset[str] = frozenset()) -> int:
        """Fewest bytes a value can take on the wire (bounds untrusted array counts)."""
        if isinstance(ir, Prim):
            return 8 if ir.kind in ("hyper", "unsigned hyper", "double") else 4
        if isinstance(ir, EnumT | Str | VOpaque | VArray | Opt):
            return 4
        if isinstance(ir, FOpaque):
            return ir.size + pad(ir.size)
        if isinstance(ir, FArray):
            return ir.size * self.min_size(ir.elem, seen)
        if isinstance(ir, StructT):
            if ir.name in seen:
                return 0
            struct = self.spec.types[ir.name]
            assert isinstance(struct, ast.Struct)
            inner = seen | {ir.name}
            return sum(self.min_size(self.decl(f), inner) for f in struct.fields)
        if isinstance(ir, UnionT):
            return 4
        return 0

    @staticmethod
    def fixed_scalar(ir: Ir) -> bool:
        """Can this value sit in a coalesced ``struct.Struct`` run?"""
        return isinstance(ir, Prim | EnumT | FOpaque)


def headed(ir: Ir) -> bool:
    """Values that start with a 4-byte length, count or presence flag."""
    return isinstance(ir, Str | VOpaque | VArray | Opt)


#: a length/count/flag word inside a coalesced run (its holder is ``None``)
_HEADER = Prim("unsigned int")


def scalar_format(ir: Ir) -> str:
    if isinstance(ir, Prim):
        return _FORMAT[ir.kind]
    if isinstance(ir, EnumT):
        return "i"
    assert isinstance(ir, FOpaque)
    p = pad(ir.size)
    return f"{ir.size}s" + (f"{p}x" if p else "")


def scalar_size(ir: Ir) -> int:
    if isinstance(ir, Prim):
        return 8 if ir.kind in ("hyper", "unsigned hyper", "double") else 4
    if isinstance(ir, EnumT):
        return 4
    assert isinstance(ir, FOpaque)
    return ir.size + pad(ir.size)


def scalar_kind(ir: Ir) -> str:
    """The kind name :func:`virtwire.xdr.runtime.fail_run` re-checks a run field with."""
    if isinstance(ir, Prim):
        return ir.kind
    if isinstance(ir, EnumT):
        return "enum"
    assert isinstance(ir, FOpaque)
    return f"opaque:{ir.size}"


# -- the emitter ---------------------------------------------------------------------------


class _Function:
    """Lines of one generated function plus a counter for fresh local names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


class Generator:
    """Writes the module text for one :class:`~virtwire.xdr.ast.Specification`."""

    def __init__(
        self,
        spec: ast.Specification,
        source_name: str | None = None,
        regenerate_command: str | None = None,
    ) -> None:
        self.spec = spec
        self.source_name = source_name or Path(spec.source).name
        self.regenerate_command = regenerate_command or f"python -m virtwire.xdr {self.source_name}"
        self.low = Lowering(spec)
        self.structs: dict[str, str] = {}  # format -> global stem
        self.run_specs: dict[tuple[tuple[str, str, str, int], ...], str] = {}
        self.inline_cache: dict[str, bool] = {}
        self.padded: set[str] = set()  # run formats that also need 1-3 pad-byte variants
        self.text: str | None = None  # local holding the buffer as Latin-1 text, in loops
        self.packers: dict[str, str] = {}  # Packers template -> global name
        self.classes = {
            d.name: class_name(d.name)
            for d in spec.definitions
            if isinstance(d, ast.Enum | ast.Struct | ast.Union)
        }
        self.check_names()

    # -- names ---------------------------------------------------------------------------

    def check_names(self) -> None:
        seen: dict[str, str] = {}
        for xdr, cls in self.classes.items():
            if cls in seen:
                raise XdrParseError(
                    f"types {lit(seen[cls])} and {lit(xdr)} both map to Python class {cls}",
                    self.source_name,
                    self.spec.types[xdr].line,
                )
            seen[cls] = xdr
        for d in self.spec.definitions:
            if isinstance(d, ast.Union) and d.discriminant.name == "value":
                raise XdrParseError(
                    f"union {lit(d.name)}: a discriminant named 'value' clashes with the arm field",
                    self.source_name,
                    d.line,
                )

    def run_spec(self, spec: tuple[tuple[str, str, str, int], ...]) -> str:
        """Name of the module-level table describing one coalesced run (for error paths)."""
        name = self.run_specs.get(spec)
        if name is None:
            name = f"_RUN{len(self.run_specs) + 1}"
            self.run_specs[spec] = name
        return name

    def struct_global(self, fmt: str) -> str:
        """Stem of the precompiled ``struct.Struct`` globals for ``fmt`` (``_P_x``/``_U_x``)."""
        stem = self.structs.get(fmt)
        if stem is None:
            stem = fmt
            self.structs[fmt] = stem
        return stem

    def py_type(self, ir: Ir) -> str:
        if isinstance(ir, Prim):
            return _PY_TYPE.get(ir.kind, "int")
        if isinstance(ir, EnumT | StructT | UnionT):
            return self.classes[ir.name]
        if isinstance(ir, Str):
            return "str"
        if isinstance(ir, FOpaque | VOpaque):
            return "bytes"
        if isinstance(ir, FArray | VArray):
            return f"list[{self.py_type(ir.elem)}]"
        if isinstance(ir, Opt):
            return f"{self.py_type(ir.elem)} | None"
        return "None"

    # -- encoding ------------------------------------------------------------------------

    def enc(self, fn: _Function, ind: int, ir: Ir, x: str) -> None:
        """Emit statements appending the encoding of expression ``x`` to ``out``."""
        if isinstance(ir, Prim):
            if ir.kind == "bool":
                fn.emit(ind, f"out.append(_BOOL_BYTES[{x}])")
                return
            if ir.kind in _NARROW:
                t = self.bind(fn, ind, x)
                lo, hi = ast.INT_RANGES[ir.kind]
                fn.emit(ind, f"if not {lo} <= {t} <= {hi}:")
                fn.emit(ind + 1, f"raise _rt.out_of_range({t}, {lit(ir.kind)})")
                x = t
            fn.emit(ind, f"out.append(_P_{self.struct_global(_FORMAT[ir.kind])}({x}))")
        elif isinstance(ir, EnumT):
            fn.emit(ind, f"out.append(_EB_{ir.name}[{x}])")
        elif isinstance(ir, FOpaque):
            t = self.bind(fn, ind, x)
            fn.emit(ind, f"if len({t}) != {ir.size}:")
            fn.emit(ind + 1, f"raise _rt.wrong_length({t}, {ir.size})")
            if pad(ir.size):
                fn.emit(ind, f"out += ({t}, {_ZEROS[pad(ir.size)]})")
            else:
                fn.emit(ind, f"out.append({t})")
        elif headed(ir):
            n, t = self.enc_prep(fn, ind, ir, x)
            fn.emit(ind, f"out.append(_P_I({n}))")
            pending = self.enc_rest(fn, ind, ir, t)
            if pending:
                fn.emit(ind, f"out += ({pending}, _PAD[len({pending}) & 3])")
        elif isinstance(ir, FArray):
            t = self.bind(fn, ind, x)
            n = fn.fresh("n")
            fn.emit(ind, f"{n} = len({t})")
            fn.emit(ind, f"if {n} != {ir.size}:")
            fn.emit(ind + 1, f"raise _rt.wrong_count({n}, {ir.size})")
            self.enc_elements(fn, ind, ir, t, n)
        elif isinstance(ir, StructT) and self.inlinable(ir.name):
            self.enc_body(fn, ind, ir.name, self.bind(fn, ind, x))
        elif isinstance(ir, StructT | UnionT):
            fn.emit(ind, f"_enc_{ir.name}(out, {x})")
        else:  # Void
            fn.emit(ind, f"if {x} is not None:")
            fn.emit(ind + 1, f"raise _rt.XdrError({lit(_VOID_MESSAGE)})")

    def enc_prep(self, fn: _Function, ind: int, ir: Ir, x: str) -> tuple[str, str]:
        """Checks and header word of a length/count/flag-prefixed value.

        Returns ``(header expression, value variable)``; the caller packs the header, often
        in the same ``struct.pack`` as the fixed-size fields before it.
        """
        if isinstance(ir, Str | VOpaque):
            t = fn.fresh("b")
            n = fn.fresh("n")
            if isinstance(ir, Str):
                # strict encode() is faster and gives the same bytes unless there are
                # surrogates (which only surrogateescape can write)
                fn.emit(ind, "try:")
                fn.emit(ind + 1, f"{t} = {x}.encode()")
                fn.emit(ind, "except UnicodeEncodeError:")
                fn.emit(ind + 1, f"{t} = _rt.lax_encode({x})")
                what = "string"
            else:
                fn.emit(ind, f"{t} = {x}")
                what = "opaque"
            fn.emit(ind, f"{n} = len({t})")
            fn.emit(ind, f"if {n} > {ir.max}:")
            fn.emit(ind + 1, f"raise _rt.too_long({lit(what)}, {n}, {ir.max})")
            return n, t
        if isinstance(ir, VArray):
            t = self.bind(fn, ind, x)
            n = fn.fresh("n")
            fn.emit(ind, f"{n} = len({t})")
            fn.emit(ind, f"if {n} > {ir.max}:")
            fn.emit(ind + 1, f'raise _rt.too_long("array", {n}, {ir.max})')
            return n, t
        assert isinstance(ir, Opt)
        t = self.bind(fn, ind, x)
        return f"{t} is not None", t

    def enc_rest(self, fn: _Function, ind: int, ir: Ir, t: str) -> str | None:
        """What follows the header; returns the bytes still owed (with their padding).

        The caller writes them together with whatever comes next, in one list extension.
        """
        if isinstance(ir, Str | VOpaque):
            return t
        if isinstance(ir, VArray):
            self.enc_elements(fn, ind, ir, t, f"len({t})")
            return None
        assert isinstance(ir, Opt)
        fn.emit(ind, f"if {t} is not None:")
        self.enc(fn, ind + 1, ir.elem, t)
        return None

    def enc_elements(self, fn: _Function, ind: int, ir: FArray | VArray, t: str, n: str) -> None:
        elem = ir.elem
        if isinstance(elem, Prim) and elem.kind in _PLAIN_NUMBERS:
            code = _FORMAT[elem.kind]
            if isinstance(ir, FArray):
                g = self.struct_global(f"{ir.size}{code}")
                fn.emit(ind, f"out.append(_P_{g}(*{t}))")
            else:
                fn.emit(ind, f'out.append(_pack(f">{{{n}}}{code}", *{t}))')
            return
        e = fn.fresh("e")
        fn.emit(ind, f"for {e} in {t}:")
        fn.emit(ind + 1, "try:")
        self.enc(fn, ind + 2, elem, e)
        fn.emit(ind + 1, "except Exception as exc:")
        fn.emit(ind + 2, f"raise _rt.fail(exc, _rt.index_of({t}, {e})) from None")

    @staticmethod
    def bind(fn: _Function, ind: int, x: str) -> str:
        if x.isidentifier():
            return x
        t = fn.fresh("t")
        fn.emit(ind, f"{t} = {x}")
        return t

    # -- decoding ------------------------------------------------------------------------

    def dec(self, fn: _Function, ind: int, ir: Ir, target: str) -> None:
        """Emit statements decoding one value at ``off`` into ``target``, advancing ``off``."""
        if isinstance(ir, Prim):
            code = _FORMAT[ir.kind]
            size = scalar_size(ir)
            if ir.kind == "bool":  # xdr_bool: any non-zero word is TRUE
                fn.emit(ind, f"{target} = _U_I(buf, off)[0] != 0")
            elif ir.kind in _NARROW:  # xdr_char & co. truncate to the C type
                t = fn.fresh("t")
                lo, hi = ast.INT_RANGES[ir.kind]
                fn.emit(ind, f"{t} = _U_{code}(buf, off)[0]")
                fn.emit(ind, f"if not {lo} <= {t} <= {hi}:")
                fn.emit(ind + 1, f"{t} = _rt.narrow({t}, {lit(ir.kind)})")
                fn.emit(ind, f"{target} = {t}")
            else:
                self.struct_global(code)
                fn.emit(ind, f"{target} = _U_{code}(buf, off)[0]")
            fn.emit(ind, f"off += {size}")
        elif isinstance(ir, EnumT):
            fn.emit(ind, f"{target} = _EV_{ir.name}[_U_i(buf, off)[0]]")
            fn.emit(ind, "off += 4")
        elif isinstance(ir, FOpaque):
            g = self.struct_global(scalar_format(ir))
            fn.emit(ind, f"{target} = _U_{g}(buf, off)[0]")
            fn.emit(ind, f"off += {scalar_size(ir)}")
        elif headed(ir):
            n = fn.fresh("n")
            fn.emit(ind, f"{n} = _U_I(buf, off)[0]")
            fn.emit(ind, "off += 4")
            self.dec_rest(fn, ind, ir, target, n)
        elif isinstance(ir, FArray):
            self.dec_elements(fn, ind, ir, target, str(ir.size))
        elif isinstance(ir, StructT) and self.inlinable(ir.name):
            var = fn.fresh("s")
            fn.emit(ind, f"{var} = _B_{ir.name}()")
            self.dec_body(fn, ind, ir.name, var)
            fn.emit(ind, f"{var}.__class__ = {self.classes[ir.name]}")
            fn.emit(ind, f"{target} = {var}")
        elif isinstance(ir, StructT | UnionT):
            fn.emit(ind, f"{target}, off = _dec_{ir.name}(buf, off)")
        else:  # Void
            fn.emit(ind, f"{target} = None")

    def dec_rest(self, fn: _Function, ind: int, ir: Ir, target: str, n: str) -> None:
        """Decode what follows an already read length/count/flag word ``n``."""
        if isinstance(ir, Str | VOpaque):
            what = "string" if isinstance(ir, Str) else "opaque"
            if ir.max < ast.UNBOUNDED:
                fn.emit(ind, f"if {n} > {ir.max}:")
                fn.emit(ind + 1, f"raise _rt.too_long({lit(what)}, {n}, {ir.max})")
            # A short slice is caught later: the next read, or the final length check, fails.
            end = fn.fresh("end")
            fn.emit(ind, f"{end} = off + {n}")
            if isinstance(ir, Str) and self.text:
                # inside array loops: slice the Latin-1 text of the whole buffer; an ASCII
                # slice is the UTF-8 decoding already, anything else is decoded properly
                t = fn.fresh("t")
                fn.emit(ind, f"{t} = {self.text}[off:{end}]")
                fn.emit(ind, f"if not {t}.isascii():")
                fn.emit(ind + 1, f"{t} = _rt.lax_utf8(buf, off, {end})")
                fn.emit(ind, f"{target} = {t}")
            elif isinstance(ir, Str):
                fn.emit(ind, "try:")
                fn.emit(ind + 1, f"{target} = buf[off:{end}].decode()")
                fn.emit(ind, "except UnicodeDecodeError:")
                fn.emit(ind + 1, f"{target} = _rt.lax_utf8(buf, off, {end})")
            else:
                fn.emit(ind, f"{target} = buf[off:{end}]")
            # offsets are multiples of 4 (values start at 0 and keep alignment): round up
            fn.emit(ind, f"off = ({end} + 3) & -4")
        elif isinstance(ir, VArray):
            if ir.max < ast.UNBOUNDED:
                fn.emit(ind, f"if {n} > {ir.max}:")
                fn.emit(ind + 1, f'raise _rt.too_long("array", {n}, {ir.max})')
            least = self.low.min_size(ir.elem)
            if least:
                fn.emit(ind, f"if {n} * {least} > len(buf) - off:")
                fn.emit(ind + 1, f"raise _rt.truncated({n} * {least}, off, buf)")
            self.dec_elements(fn, ind, ir, target, n)
        else:
            assert isinstance(ir, Opt)
            # xdr_pointer reads its "more data" flag with xdr_bool: any non-zero word
            fn.emit(ind, f"if {n} == 0:")
            fn.emit(ind + 1, f"{target} = None")
            fn.emit(ind, "else:")
            self.dec(fn, ind + 1, ir.elem, target)

    def dec_elements(
        self, fn: _Function, ind: int, ir: FArray | VArray, target: str, n: str
    ) -> None:
        elem = ir.elem
        if isinstance(elem, Prim) and elem.kind in _PLAIN_NUMBERS:
            code = _FORMAT[elem.kind]
            size = scalar_size(elem)
            if isinstance(ir, FArray):
                g = self.struct_global(f"{ir.size}{code}")
                fn.emit(ind, f"{target} = list(_U_{g}(buf, off))")
                fn.emit(ind, f"off += {ir.size * size}")
            else:
                fn.emit(ind, f'{target} = list(_unpack_from(f">{{{n}}}{code}", buf, off))')
                fn.emit(ind, f"off += {n} * {size}")
            return
        lst = fn.fresh("lst")
        if isinstance(elem, StructT) and self.inlinable(elem.name) and self.low.min_size(elem) > 0:
            self.dec_struct_elements(fn, ind, elem.name, lst, n)
            fn.emit(ind, f"{target} = {lst}")
            return
        append = fn.fresh("append")
        i = fn.fresh("i")
        fn.emit(ind, f"{lst} = []")
        fn.emit(ind, f"{append} = {lst}.append")
        e = fn.fresh("e")
        fn.emit(ind, f"for {i} in range({n}):")
        fn.emit(ind + 1, "try:")
        self.dec(fn, ind + 2, elem, e)
        fn.emit(ind + 1, "except Exception as exc:")
        fn.emit(ind + 2, f"raise _rt.fail(exc, {i}) from None")
        fn.emit(ind + 1, f"{append}({e})")
        fn.emit(ind, f"{target} = {lst}")

    def dec_struct_elements(self, fn: _Function, ind: int, name: str, lst: str, n: str) -> None:
        """Decode ``n`` structs into list ``lst``, each expanded in place.

        The elements are made in one C-level call (:func:`virtwire.xdr.runtime.instances`;
        the caller has bounded ``n`` by the bytes left) and filled in a ``for`` loop over
        the list: no per-element constructor call, ``append`` or index.  Strings are sliced
        from the buffer's Latin-1 text (see :meth:`dec_rest`).  When the struct starts with
        a length word and ends with fixed fields (see :meth:`pipelined`), each element reads
        the next one's length word too, and the last element is peeled off the loop.
        """
        cls = self.classes[name]
        if n == "0":  # a fixed array of no elements
            fn.emit(ind, f"{lst} = []")
            return
        fn.emit(ind, f"{lst} = _rt.instances(_B_{name}, {n})")
        fixed = n.isdigit()  # a fixed array: its (non-zero) size is known
        outer_text = self.text
        if self.text is None and self.has_strings(name):
            self.text = fn.fresh("text")
            guard = "" if fixed else f' if {n} else ""'
            fn.emit(ind, f'{self.text} = buf.decode("latin-1"){guard}')
        var = fn.fresh("s")
        if not self.pipelined(name):
            fn.emit(ind, f"for {var} in {lst}:")
            fn.emit(ind + 1, "try:")
            self.dec_body(fn, ind + 2, name, var)
            fn.emit(ind + 2, f"{var}.__class__ = {cls}")
            fn.emit(ind + 1, "except Exception as exc:")
            fn.emit(ind + 2, f"raise _rt.fail(exc, _rt.index_of({lst}, {var})) from None")
            self.text = outer_text
            return
        h = fn.fresh("h")
        last = str(int(n) - 1) if fixed else f"{n} - 1"
        if not fixed:
            fn.emit(ind, f"if {n}:")
            ind += 1
        fn.emit(ind, f"{h} = _U_I(buf, off)[0]")
        fn.emit(ind, "off += 4")
        fn.emit(ind, f"for {var} in {lst}[:-1]:")
        fn.emit(ind + 1, "try:")
        self.dec_body(fn, ind + 2, name, var, pre=h, post=("", h))
        fn.emit(ind + 2, f"{var}.__class__ = {cls}")
        fn.emit(ind + 1, "except Exception as exc:")
        fn.emit(ind + 2, f"raise _rt.fail(exc, _rt.index_of({lst}, {var})) from None")
        fn.emit(ind, f"{var} = {lst}[-1]")
        fn.emit(ind, "try:")
        self.dec_body(fn, ind + 1, name, var, pre=h)
        fn.emit(ind + 1, f"{var}.__class__ = {cls}")
        fn.emit(ind, "except Exception as exc:")
        fn.emit(ind + 1, f"raise _rt.fail(exc, {last}) from None")
        self.text = outer_text

    def has_strings(self, name: str) -> bool:
        """Does struct ``name``, with inlinable nested structs expanded, hold a string field?"""
        items: list = []
        self.flatten(name, "x", "", _Function(), items)
        return any(item[0] == "field" and isinstance(item[5], Str) for item in items)

    # -- per-definition functions ----------------------------------------------------------

    def inlinable(self, name: str) -> bool:
        """Small, non-recursive structs are expanded in place instead of called."""
        cached = self.inline_cache.get(name)
        if cached is None:
            cached = self.leaf_count(name, (name,)) <= _INLINE_LIMIT
            self.inline_cache[name] = cached
        return cached

    def leaf_count(self, name: str, stack: tuple[str, ...]) -> int:
        """Fields after expansion; huge when ``name`` can reach itself (never inline)."""
        total = 0
        struct = self.spec.types[name]
        assert isinstance(struct, ast.Struct)
        for f in struct.fields:
            for ref in self.struct_refs(self.low.decl(f)):
                if ref in stack:
                    return 10**9
                total += self.leaf_count(ref, (*stack, ref))
            total += 1
        return total

    def struct_refs(self, ir: Ir) -> list[str]:
        if isinstance(ir, StructT):
            return [ir.name]
        if isinstance(ir, FArray | VArray | Opt):
            return self.struct_refs(ir.elem)
        if isinstance(ir, UnionT):
            union = self.spec.types[ir.name]
            assert isinstance(union, ast.Union)
            arms = [c.decl for c in union.cases] + ([union.default] if union.default else [])
            return [r for d in arms for r in self.struct_refs(self.low.decl(d))]
        return []

    def flatten(self, name: str, root: str, prefix: str, fn: _Function, items: list) -> None:
        """List a struct's fields with inlinable nested structs expanded (depth first)."""
        struct = self.spec.types[name]
        assert isinstance(struct, ast.Struct)
        for f in struct.fields:
            field_name = f.name or ""
            path = prefix + field_name
            expr = f"{root}.{attr_name(field_name)}"
            ir = self.low.decl(f)
            if isinstance(ir, StructT) and self.inlinable(ir.name):
                var = fn.fresh("s")
                items.append(("begin", path, expr, var, ir.name))
                self.flatten(ir.name, var, path + ".", fn, items)
                items.append(("end", path, expr, var, ir.name))
            else:
                items.append(("field", path, expr, root, attr_name(field_name), ir))

    def flat(self, name: str) -> bool:
        """Is struct ``name`` (nested structs expanded) fixed-size fields plus 1-2 strings?
        Then one ``struct.pack`` writes all of it (:meth:`enc_flat`).

        More strings would multiply the length combinations each layout caches.  Variable
        opaques stay on the general path, which also accepts ``memoryview`` values (the
        ``s`` format code takes only ``bytes`` and ``bytearray``).
        """
        items: list = []
        self.flatten(name, "x", "", _Function(), items)
        fields = [item[5] for item in items if item[0] == "field"]
        variable = [ir for ir in fields if isinstance(ir, Str)]
        return 1 <= len(variable) <= _FLAT_PARTS and all(
            self.low.fixed_scalar(ir) or isinstance(ir, Str) for ir in fields
        )

    def enc_flat(self, fn: _Function, ind: int, name: str, root: str, sink: str) -> None:
        """Encode flat struct ``name`` (see :meth:`flat`) with one ``pack`` call.

        The strings are encoded and checked first; then a :class:`~virtwire.xdr.runtime.
        Packers` table gives the ``Struct.pack`` for their lengths, which writes the fixed
        fields, length words, bytes and padding at once.  ``sink`` is how the result is
        used: ``"out.append("`` or ``"return "``.
        """
        items: list = []
        self.flatten(name, root, "", fn, items)
        run: list = []
        pieces: list[str] = []
        lengths: list[str] = []
        for item in items:
            if item[0] == "begin":
                _, path, expr, var, _ = item
                fn.emit(ind, "try:")
                fn.emit(ind + 1, f"{var} = {expr}")
                fn.emit(ind, "except Exception as exc:")
                fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
                continue
            if item[0] != "field":
                continue
            _, path, expr, holder, attr, ir = item
            if self.low.fixed_scalar(ir):
                run.append((path, holder, attr, ir))
                pieces.append(scalar_format(ir))
                continue
            fn.emit(ind, "try:")
            n, t = self.enc_prep(fn, ind + 1, ir, expr)
            fn.emit(ind, "except Exception as exc:")
            fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
            run.append((path, None, n, _HEADER))
            run.append((path, None, t, None))
            pieces.append("I{}")
            lengths.append(n)
        template = ">" + "".join(pieces)
        table = self.packers.get(template)
        if table is None:
            table = f"_PK{len(self.packers) + 1}"
            self.packers[template] = table
        key = " | ".join(
            f"{n} << {32 * (len(lengths) - 1 - i)}" if i < len(lengths) - 1 else n
            for i, n in enumerate(lengths)
        )
        fn.emit(ind, "try:")
        spec, holders, _ = self.run_checks(fn, ind + 1, [r for r in run if r[3] is not None])
        args = [
            attr if holder is None else self.run_arg(f"{holder}.{attr}", ir)
            for _, holder, attr, ir in run
        ]
        self.emit_call(fn, ind + 1, sink, f"{table}[{key}]", args)
        fn.emit(ind, "except Exception as exc:")
        fn.emit(ind + 1, f"raise _rt.fail_run(exc, {spec}, {holders}) from None")

    def emit_call(self, fn: _Function, ind: int, sink: str, callee: str, args: list[str]) -> None:
        """``sink`` + ``callee(args)`` (+ ``)`` closing ``sink``), split as ``ruff format`` would."""
        close = ")" if sink.endswith("(") else ""
        call = f"{callee}({', '.join(args)})"
        if len(call) + len(sink) + len(close) + 4 * ind <= 100:
            fn.emit(ind, sink + call + close)
            return
        if close:
            fn.emit(ind, sink)
            self.emit_call(fn, ind + 1, "", callee, args)
            fn.emit(ind, close)
            return
        fn.emit(ind, f"{sink}{callee}(")
        joined = ", ".join(args)
        if len(joined) + 4 * (ind + 1) <= 100:
            fn.emit(ind + 1, joined)
        else:
            for a in args:
                fn.emit(ind + 1, f"{a},")
        fn.emit(ind, ")")

    def run_checks(self, fn: _Function, ind: int, run: list) -> tuple[str, str, list[str]]:
        """Checks ``struct.pack`` would not make for a run's fields (emitted at ``ind``).

        Returns the run's error-path table name, the tuple of objects holding its fields
        (for :func:`virtwire.xdr.runtime.fail_run`) and the pack arguments.
        """
        holders = list(dict.fromkeys(holder for _, holder, _, _ in run if holder))
        spec = self.run_spec(
            tuple(
                (path, attr, scalar_kind(ir), holders.index(holder))
                if holder
                else (path, "", "header", -1)
                for path, holder, attr, ir in run
            )
        )
        args = []
        for path, holder, attr, ir in run:
            if holder is None:  # a header word computed (and checked) by enc_prep
                args.append(attr)
                continue
            x = f"{holder}.{attr}"
            if isinstance(ir, Prim) and ir.kind in _NARROW:
                lo, hi = ast.INT_RANGES[ir.kind]
                fn.emit(ind, f"if not {lo} <= {x} <= {hi}:")
                fn.emit(ind + 1, f"raise _rt.out_of_range({x}, {lit(ir.kind)}, {lit(path)})")
            elif isinstance(ir, EnumT):  # undeclared values: any int32, as in C
                fn.emit(ind, f"if {x} not in _EB_{ir.name}:")
                fn.emit(ind + 1, f"_rt.check_enum({x}, {lit(ir.name)}, {lit(path)})")
            elif isinstance(ir, FOpaque):
                fn.emit(ind, f"if len({x}) != {ir.size}:")
                fn.emit(ind + 1, f"raise _rt.wrong_length({x}, {ir.size}, {lit(path)})")
            args.append(self.run_arg(x, ir))
        held = ", ".join(holders)
        held = f"({held},)" if len(holders) == 1 else f"({held})"
        return spec, held, args

    @staticmethod
    def run_arg(x: str, ir: Ir) -> str:
        """The ``struct.pack`` argument for field expression ``x`` of scalar type ``ir``."""
        if isinstance(ir, Prim) and ir.kind == "bool":
            return f"_BOOL_INTS[{x}]"
        return x

    def enc_body(self, fn: _Function, ind: int, name: str, root: str) -> None:
        """Encode struct ``name`` held in local ``root``, nested structs expanded in place.

        Fixed-size fields and the length/count/flag words of the fields after them are
        packed together, and a string's padding rides along in the next pack.  Flat
        structs take one ``pack`` call for everything (:meth:`enc_flat`).
        """
        if self.flat(name):
            self.enc_flat(fn, ind, name, root, "out.append(")
            return
        items: list = []
        self.flatten(name, root, "", fn, items)
        run: list = []
        owed: list[str] = []  # chunks not written yet; the last one's padding is due too
        for item in items:
            if item[0] == "begin":
                _, path, expr, var, _ = item
                fn.emit(ind, "try:")
                fn.emit(ind + 1, f"{var} = {expr}")
                fn.emit(ind, "except Exception as exc:")
                fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
                continue
            if item[0] != "field":
                continue
            _, path, expr, holder, attr, ir = item
            if self.low.fixed_scalar(ir):
                run.append((path, holder, attr, ir))
                continue
            if headed(ir):
                fn.emit(ind, "try:")
                n, t = self.enc_prep(fn, ind + 1, ir, expr)
                fn.emit(ind, "except Exception as exc:")
                fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
                if isinstance(ir, Str | VOpaque) and not run and not owed:
                    # the length word can't fail: write it with the bytes, later
                    owed = [f"_P_I({n})", t]
                    continue
                run.append((path, None, n, _HEADER))
                self.enc_run(fn, ind, run, owed)
                run, owed = [], []
                fn.emit(ind, "try:")
                mark = len(fn.lines)
                chunk = self.enc_rest(fn, ind + 1, ir, t)
                owed = [chunk] if chunk else []
                if len(fn.lines) == mark:  # nothing to do yet (bytes are owed)
                    fn.lines.pop()
                    continue
                fn.emit(ind, "except Exception as exc:")
                fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
                continue
            self.enc_run(fn, ind, run, owed)
            run, owed = [], []
            fn.emit(ind, "try:")
            self.enc(fn, ind + 1, ir, expr)
            fn.emit(ind, "except Exception as exc:")
            fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
        self.enc_run(fn, ind, run, owed)

    def dec_body(
        self,
        fn: _Function,
        ind: int,
        name: str,
        root: str,
        pre: str | None = None,
        post: tuple[str, str] | None = None,
    ) -> None:
        """Decode struct ``name`` into builder ``root``, nested structs expanded in place.

        For arrays (see :meth:`pipelined`): ``pre`` names a local already holding the first
        field's length word, and ``post = (condition, local)`` reads the *next* element's
        length word in the same ``unpack_from`` as this element's trailing fixed fields.
        """
        items: list = []
        self.flatten(name, root, "", fn, items)
        run: list = []
        finals: list[str] = []
        for item in items:
            if item[0] == "begin":
                _, path, expr, var, sub = item
                fn.emit(ind, f"{expr} = {var} = _B_{sub}()")
                continue
            if item[0] == "end":
                _, path, expr, var, sub = item
                finals.append(f"{var}.__class__ = {self.classes[sub]}")
                if not run:
                    self.dec_run(fn, ind, run, finals)
                    finals = []
                continue
            _, path, expr, holder, attr, ir = item
            if self.low.fixed_scalar(ir):
                run.append((path, holder, attr, ir))
                continue
            if headed(ir):
                if pre is not None:
                    n, pre = pre, None
                else:
                    n = fn.fresh("n")
                    run.append((path, None, n, _HEADER))
                self.dec_run(fn, ind, run, finals)
                run, finals = [], []
                fn.emit(ind, "try:")
                self.dec_rest(fn, ind + 1, ir, expr, n)
                fn.emit(ind, "except Exception as exc:")
                fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
                continue
            self.dec_run(fn, ind, run, finals)
            run, finals = [], []
            fn.emit(ind, "try:")
            self.dec(fn, ind + 1, ir, expr)
            fn.emit(ind, "except Exception as exc:")
            fn.emit(ind + 1, f"raise _rt.fail(exc, {lit(path)}) from None")
        if post is not None and run and not post[0]:
            self.dec_run(fn, ind, [*run, ("", None, post[1], _HEADER)], finals)
        elif post is not None and run:
            cond, var = post
            fn.emit(ind, f"if {cond}:")
            self.dec_run(fn, ind + 1, [*run, ("", None, var, _HEADER)], list(finals))
            fn.emit(ind, "else:")
            self.dec_run(fn, ind + 1, run, finals)
        else:
            self.dec_run(fn, ind, run, finals)

    def pipelined(self, name: str) -> bool:
        """Does struct ``name`` start with a length word and end with fixed-size fields?

        Then, in an array, each element's trailing ``unpack_from`` also reads the next
        element's first length word: one C call less per element.
        """
        items: list = []
        self.flatten(name, "x", "", _Function(), items)
        fields = [item for item in items if item[0] == "field"]
        return (
            len(fields) >= 2
            and headed(fields[0][5])
            and self.low.fixed_scalar(fields[-1][5])
            and items[-1][0] == "field"
        )

    def struct_functions(self, s: ast.Struct) -> list[str]:
        cls = self.classes[s.name]
        enc = _Function()
        enc.lines += signature(f"_enc_{s.name}", f"out: list[bytes], v: {cls}", "None")
        self.enc_body(enc, 1, s.name, "v")
        dec = _Function()
        dec.lines += signature(f"_dec_{s.name}", "buf: bytes, off: int", f"tuple[{cls}, int]")
        dec.emit(1, f"o = _B_{s.name}()")
        self.dec_body(dec, 1, s.name, "o")
        dec.emit(1, f"o.__class__ = {cls}")
        dec.emit(1, "return o, off")
        return ["\n".join(enc.lines), "\n".join(dec.lines)]

    def enc_run(self, fn: _Function, ind: int, run: list, owed: list[str] | None = None) -> None:
        """One ``struct.pack`` for a run of fixed-size fields, after the checks it lacks.

        ``owed`` lists chunks not written yet, the last being string/opaque bytes whose
        padding is due: they go out in the same list extension as the run, which is then
        packed by a variant of its ``Struct`` with 0-3 leading zero bytes of padding.
        """
        pad_of = owed[-1] if owed else None
        if not run:
            if owed:
                fn.emit(ind, f"out += ({', '.join(owed)}, _PAD[len({pad_of}) & 3])")
            return
        fmt = "".join(scalar_format(ir) for *_, ir in run)
        g = self.struct_global(fmt)
        packer = f"_P_{g}"
        if pad_of:
            self.padded.add(fmt)
            packer = f"_PP_{g}[len({pad_of}) & 3]"
        fn.emit(ind, "try:")
        spec, held, args = self.run_checks(fn, ind + 1, run)
        chunks = ", ".join(owed or [])
        if owed:
            line = f"out += ({chunks}, {packer}({', '.join(args)}))"
        else:
            line = f"out.append({packer}({', '.join(args)}))"
        if len(line) + 4 * (ind + 1) > 100:  # split the way ruff format would
            inner = f"{packer}({', '.join(args)})"
            fn.emit(ind + 1, "out += (" if owed else "out.append(")
            for chunk in owed or []:
                fn.emit(ind + 2, f"{chunk},")
            if len(inner) + 4 * (ind + 2) + 1 <= 100:
                fn.emit(ind + 2, inner + ("," if owed else ""))
            else:
                fn.emit(ind + 2, f"{packer}(")
                for a in args:
                    fn.emit(ind + 3, f"{a},")
                fn.emit(ind + 2, ")," if owed else ")")
            fn.emit(ind + 1, ")")
        else:
            fn.emit(ind + 1, line)
        fn.emit(ind, "except Exception as exc:")
        fn.emit(ind + 1, f"raise _rt.fail_run(exc, {spec}, {held}) from None")

    def dec_run(self, fn: _Function, ind: int, run: list, finals: list[str]) -> None:
        """One ``unpack_from`` for a run, then the conversions that can fail, each named."""
        if run:
            fmt = "".join(scalar_format(ir) for *_, ir in run)
            size = sum(scalar_size(ir) for *_, ir in run)
            g = self.struct_global(fmt)
            spec = self.run_spec(
                tuple(
                    (path, attr, scalar_kind(ir), 0) if holder else (path, "", "header", -1)
                    for path, holder, attr, ir in run
                )
            )
            targets = [f"{holder}.{attr}" if holder else attr for _, holder, attr, _ in run]
            fn.emit(ind, "try:")
            if len(targets) == 1:
                line = f"{targets[0]} = _U_{g}(buf, off)[0]"
            else:
                line = f"{', '.join(targets)} = _U_{g}(buf, off)"
            if len(line) + 4 * (ind + 1) > 100:
                fn.emit(ind + 1, "(")
                for t in targets:
                    fn.emit(ind + 2, f"{t},")
                fn.emit(ind + 1, f") = _U_{g}(buf, off)")
            else:
                fn.emit(ind + 1, line)
            fn.emit(ind, "except Exception as exc:")
            fn.emit(ind + 1, f"raise _rt.fail_unpack(exc, {spec}, {size}, off, buf) from None")
            fn.emit(ind, f"off += {size}")
            for _path, holder, attr, ir in run:
                if holder is None:
                    continue
                x = f"{holder}.{attr}"
                if isinstance(ir, Prim) and ir.kind in _NARROW:  # truncated as C does
                    lo, hi = ast.INT_RANGES[ir.kind]
                    fn.emit(ind, f"if not {lo} <= {x} <= {hi}:")
                    fn.emit(ind + 1, f"{x} = _rt.narrow({x}, {lit(ir.kind)})")
                elif isinstance(ir, Prim) and ir.kind == "bool":  # xdr_bool: non-zero is TRUE
                    fn.emit(ind, f"{x} = {x} != 0")
                elif isinstance(ir, EnumT):  # undeclared values stay plain ints
                    fn.emit(ind, f"{x} = _EV_{ir.name}[{x}]")
        for line in finals:
            fn.emit(ind, line)

    def union_functions(self, u: ast.Union) -> list[str]:
        cls = self.classes[u.name]
        disc_name = u.discriminant.name or "discriminant"
        disc_attr = attr_name(disc_name)
        disc_ir = self.low.decl(u.discriminant)
        enc = _Function()
        enc.lines += signature(f"_enc_{u.name}", f"out: list[bytes], v: {cls}", "None")
        dec = _Function()
        dec.lines += signature(f"_dec_{u.name}", "buf: bytes, off: int", f"tuple[{cls}, int]")
        dec.emit(1, f"o = _B_{u.name}()")
        enc.emit(1, f"d = v.{disc_attr}")
        enc.emit(1, "try:")
        self.enc(enc, 2, disc_ir, "d")
        enc.emit(1, "except Exception as exc:")
        enc.emit(2, f"raise _rt.fail(exc, {lit(disc_name)}) from None")
        dec.emit(1, "try:")
        self.dec(dec, 2, disc_ir, "d")
        dec.emit(1, "except Exception as exc:")
        dec.emit(2, f"raise _rt.fail(exc, {lit(disc_name)}) from None")
        dec.emit(1, f"o.{disc_attr} = d")
        first = True
        for case in u.cases:
            cond = (
                f"d == {case.values[0]}"
                if len(case.values) == 1
                else f"d in {{{', '.join(str(v) for v in sorted(set(case.values)))}}}"
            )
            kw = "if" if first else "elif"
            first = False
            enc.emit(1, f"{kw} {cond}:")
            dec.emit(1, f"{kw} {cond}:")
            self.arm(enc, dec, case.decl)
        if u.default is not None:
            if first:
                self.arm(enc, dec, u.default, ind=1)
            else:
                enc.emit(1, "else:")
                dec.emit(1, "else:")
                self.arm(enc, dec, u.default)
        else:
            if first:
                enc.emit(1, f"raise _rt.bad_case(d, {lit(u.name)}, {lit(disc_name)})")
                dec.emit(1, f"raise _rt.bad_case(d, {lit(u.name)}, {lit(disc_name)})")
            else:
                enc.emit(1, "else:")
                enc.emit(2, f"raise _rt.bad_case(d, {lit(u.name)}, {lit(disc_name)})")
                dec.emit(1, "else:")
                dec.emit(2, f"raise _rt.bad_case(d, {lit(u.name)}, {lit(disc_name)})")
        dec.emit(1, f"o.__class__ = {cls}")
        dec.emit(1, "return o, off")
        return ["\n".join(enc.lines), "\n".join(dec.lines)]

    def arm(self, enc: _Function, dec: _Function, decl: ast.Declaration, ind: int = 2) -> None:
        ir = self.low.decl(decl)
        label = decl.name or "value"
        if isinstance(ir, Void):
            enc.emit(ind, "if v.value is not None:")
            enc.emit(
                ind + 1,
                f'raise _rt.XdrError({lit(_VOID_MESSAGE)}, "value")',
            )
            dec.emit(ind, "o.value = None")
            return
        enc.emit(ind, "try:")
        self.enc(enc, ind + 1, ir, "v.value")
        enc.emit(ind, "except Exception as exc:")
        enc.emit(ind + 1, f"raise _rt.fail(exc, {lit(label)}) from None")
        dec.emit(ind, "try:")
        self.dec(dec, ind + 1, ir, "o.value")
        dec.emit(ind, "except Exception as exc:")
        dec.emit(ind + 1, f"raise _rt.fail(exc, {lit(label)}) from None")

    def enum_functions(self, e: ast.Enum) -> list[str]:
        cls = self.classes[e.name]
        enc = _Function()
        enc.lines += signature(f"_enc_{e.name}", f"out: list[bytes], v: {cls}", "None")
        enc.emit(1, f"out.append(_EB_{e.name}[v])")
        dec = _Function()
        dec.lines += signature(f"_dec_{e.name}", "buf: bytes, off: int", f"tuple[{cls}, int]")
        dec.emit(1, f"return _EV_{e.name}[_U_i(buf, off)[0]], off + 4")
        return ["\n".join(enc.lines), "\n".join(dec.lines)]

    def typedef_functions(self, t: ast.Typedef) -> list[str]:
        ir = self.low.decl(t.decl)
        hint = self.py_type(ir)
        enc = _Function()
        enc.lines += signature(f"_enc_{t.name}", f"out: list[bytes], v: {hint}", "None")
        self.enc(enc, 1, ir, "v")
        dec = _Function()
        dec.lines += signature(f"_dec_{t.name}", "buf: bytes, off: int", f"tuple[{hint}, int]")
        self.dec(dec, 1, ir, "r")
        dec.emit(1, "return r, off")
        return ["\n".join(enc.lines), "\n".join(dec.lines)]

    # -- module --------------------------------------------------------------------------

    def type_functions(self, type_defs: list[ast.TypeDefinition]) -> list[str]:
        """The private ``_enc_``/``_dec_`` functions of ``type_defs``, in order."""
        functions: list[str] = []
        for d in type_defs:
            if isinstance(d, ast.Struct):
                functions += self.struct_functions(d)
            elif isinstance(d, ast.Union):
                functions += self.union_functions(d)
            elif isinstance(d, ast.Enum):
                functions += self.enum_functions(d)
            else:
                functions += self.typedef_functions(d)
        for code in ("I", "i"):
            self.struct_global(code)
        return functions

    def public_functions(self, type_defs: list[ast.TypeDefinition]) -> list[str]:
        """Lines of the public ``pack_<name>``/``unpack_<name>`` pair of each definition."""
        out: list[str] = []
        w = out.append
        for d in type_defs:
            hint = self.public_hint(d)
            w("")
            w("")
            out += signature(f"pack_{d.name}", f"value: {hint}", "bytes")
            w(f'    """Encode one ``{d.name}``."""')
            if isinstance(d, ast.Struct) and self.flat(d.name):  # one pack, no list
                w("    try:")
                fn = _Function()
                fn.counter = 1000
                fn.emit(2, "v = value")
                self.enc_flat(fn, 2, d.name, "v", "return ")
                out += fn.lines
                w("    except Exception as exc:")
                w("        raise _rt.fail(exc) from None")
            else:
                w("    out: list[bytes] = []")
                w("    try:")
                if isinstance(d, ast.Struct):  # the body inline: one call less per message
                    fn = _Function()
                    fn.counter = 1000
                    fn.emit(2, "v = value")
                    self.enc_body(fn, 2, d.name, "v")
                    out += fn.lines
                else:
                    w(f"        _enc_{d.name}(out, value)")
                w("    except Exception as exc:")
                w("        raise _rt.fail(exc) from None")
                w('    return b"".join(out)')
            w("")
            w("")
            out += signature(f"unpack_{d.name}", "data: bytes | bytearray | memoryview", hint)
            w(f'    """Decode exactly one ``{d.name}`` from ``data``."""')
            w("    buf = data if type(data) is bytes else _rt.as_bytes(data)")
            w("    try:")
            if isinstance(d, ast.Struct):
                fn = _Function()
                fn.counter = 1000
                fn.emit(2, "off = 0")
                fn.emit(2, f"value = o = _B_{d.name}()")
                self.dec_body(fn, 2, d.name, "o")
                fn.emit(2, f"o.__class__ = {self.classes[d.name]}")
                out += fn.lines
            else:
                w(f"        value, off = _dec_{d.name}(buf, 0)")
            w("    except Exception as exc:")
            w("        raise _rt.fail(exc) from None")
            w("    if off != len(buf):")
            w("        _rt.finish(off, buf, value)")
            w("    return value")
        return out

    def header(self, w, doc: str) -> None:  # noqa: ANN001
        """The "generated, do not edit" comment, the docstring and ``__future__``."""
        w(f"# Generated by virtwire.xdr from {self.source_name}. Do not edit by hand:")
        w(f"# regenerate with `{self.regenerate_command}`.")
        w(doc)
        w("")
        w("from __future__ import annotations")
        w("")

    @staticmethod
    def emit_imports(w, body: str, enums: bool = True) -> None:  # noqa: ANN001
        """The imports the code in ``body`` needs (``enum`` only where enums are defined)."""
        if enums:
            w("import enum")
        w("from struct import Struct as _Struct")
        if "_pack(" in body:
            w("from struct import pack as _pack")
        if "_unpack_from(" in body:
            w("from struct import unpack_from as _unpack_from")
        w("")
        w("from virtwire.xdr import runtime as _rt")
        w("")

    @staticmethod
    def emit_setattr(w, type_defs: list[ast.TypeDefinition]) -> None:  # noqa: ANN001
        if any(isinstance(d, ast.Struct | ast.Union) for d in type_defs):
            w("_object_setattr = object.__setattr__  # frozen __init__s store through it")
            w("")

    def emit_classes(self, w, type_defs: list[ast.TypeDefinition]) -> None:  # noqa: ANN001
        """The enums, then the struct and union classes, of ``type_defs``."""
        for d in type_defs:
            if isinstance(d, ast.Enum):
                self.emit_enum(w, d)
        for d in type_defs:
            if isinstance(d, ast.Struct):
                self.emit_struct_class(w, d)
            elif isinstance(d, ast.Union):
                self.emit_union_class(w, d)

    def emit_internals(self, w, type_defs: list[ast.TypeDefinition]) -> None:  # noqa: ANN001
        """Precompiled structs, packer tables, run tables, enum tables and slots bases."""
        w("")
        w("# -- codec internals " + "-" * 70)
        w("")
        for fmt in sorted(self.structs):
            stem = self.structs[fmt]
            w(f'_S_{stem} = _Struct(">{fmt}")')
            w(f"_P_{stem} = _S_{stem}.pack")
            w(f"_U_{stem} = _S_{stem}.unpack_from")
            if fmt in self.padded:
                # indexed by (length & 3): 0, 3, 2 or 1 leading zero bytes of padding
                w(f"_PP_{stem} = (")
                w(f"    _P_{stem},")
                for zeros in (3, 2, 1):
                    w(f'    _Struct(">{"x" * zeros}{fmt}").pack,')
                w(")")
        for template, table in self.packers.items():
            w(f"{table} = _rt.Packers({lit(template)}, {template.count('{}')})")
        w('_PAD = (b"", b"\\x00\\x00\\x00", b"\\x00\\x00", b"\\x00")')
        w('_FALSE = b"\\x00\\x00\\x00\\x00"')
        w('_TRUE = b"\\x00\\x00\\x00\\x01"')
        w('_BOOL_BYTES = _rt.Table("bool", {False: _FALSE, True: _TRUE})')
        w('_BOOL_INTS = _rt.Table("bool", {False: 0, True: 1})')
        for spec, name in self.run_specs.items():
            if len(f"{name} = {lit(spec)}") <= 100:
                w(f"{name} = {lit(spec)}")
                continue
            w(f"{name} = (")
            for item in spec:
                w(f"    {lit(item)},")
            w(")")
        for d in type_defs:
            if isinstance(d, ast.Enum):
                cls = self.classes[d.name]
                for stem, maker in (("_EV_", "enum_values"), ("_EB_", "enum_bytes")):
                    fn = _Function()
                    self.emit_call(fn, 0, f"{stem}{d.name} = ", f"_rt.{maker}", [lit(d.name), cls])
                    for line in fn.lines:
                        w(line)
            elif isinstance(d, ast.Struct | ast.Union):
                line = f"_B_{d.name} = _rt.slots_base({self.classes[d.name]})"
                if len(line) <= 100:
                    w(line)
                else:
                    w(f"_B_{d.name} = _rt.slots_base(")
                    w(f"    {self.classes[d.name]}")
                    w(")")

    @staticmethod
    def emit_functions(w, functions: list[str], public: list[str]) -> None:  # noqa: ANN001
        for text in functions:
            w("")
            w("")
            w(text)
        w("")
        w("")
        w("# -- public codecs " + "-" * 72)
        w.__self__.extend(public)  # the list behind ``w``

    def emit_procedures(self, w) -> None:  # noqa: ANN001
        """``PROCEDURES``: name, number and annotations of every procedure, in file order."""
        procedures = self.procedures()
        if not procedures:
            w("PROCEDURES: tuple[_rt.ProcedureDef, ...] = ()")
            return
        w("PROCEDURES: tuple[_rt.ProcedureDef, ...] = (")
        for name, number, notes in procedures:
            line = f"    _rt.ProcedureDef({lit(name)}, {number}, {lit(notes)}),"
            if len(line) <= 100:
                w(line)
                continue
            w("    _rt.ProcedureDef(")
            w(f"        {lit(name)},")
            w(f"        {number},")
            if len(lit(notes)) + 9 <= 100:
                w(f"        {lit(notes)},")
            else:
                w("        (")
                for pair in notes:
                    w(f"            {lit(pair)},")
                w("        ),")
            w("    ),")
        w(")")

    @staticmethod
    def emit_all(w, names: list[str]) -> None:  # noqa: ANN001
        w("__all__ = [")
        for name in names:
            w(f"    {lit(name)},")
        w("]")
        w("")

    def type_definitions(self) -> list[ast.TypeDefinition]:
        return [d for d in self.spec.definitions if isinstance(d, ast.TypeDefinition)]

    def generate(self) -> str:
        """The whole specification as one module."""
        type_defs = self.type_definitions()
        functions = self.type_functions(type_defs)
        public = self.public_functions(type_defs)
        out: list[str] = []
        w = out.append
        self.header(w, f'"""XDR types and codecs of {self.source_name}."""')
        self.emit_imports(w, "\n".join(functions))
        self.emit_all(w, self.exported_names(type_defs))
        self.emit_setattr(w, type_defs)
        self.emit_constants(w)
        self.emit_classes(w, type_defs)
        self.emit_internals(w, type_defs)
        self.emit_functions(w, functions, public)
        w("")
        w("")
        w("CODECS: dict[str, _rt.Codec] = {")
        for d in type_defs:
            line = f"    {lit(d.name)}: _rt.Codec(pack_{d.name}, unpack_{d.name}),"
            if len(line) <= 100:
                w(line)
            else:
                w(f"    {lit(d.name)}: _rt.Codec(")
                w(f"        pack_{d.name}, unpack_{d.name}")
                w("    ),")
        w("}")
        w("")
        self.emit_procedures(w)
        return "\n".join(out) + "\n"

    def public_hint(self, d: ast.TypeDefinition) -> str:
        if isinstance(d, ast.Typedef):
            return self.py_type(self.low.decl(d.decl))
        return self.classes[d.name]

    def exported_names(self, type_defs: list[ast.TypeDefinition]) -> list[str]:
        names = list(self.constant_lines())
        for d in type_defs:
            if isinstance(d, ast.Enum | ast.Struct | ast.Union):
                names.append(self.classes[d.name])
            if isinstance(d, ast.Enum):
                names += [v.name for v in d.values]
        for d in type_defs:
            names += [f"pack_{d.name}", f"unpack_{d.name}"]
        names += ["CODECS", "PROCEDURES"]
        return list(dict.fromkeys(names))

    def constant_lines(self) -> dict[str, int]:
        """Module-level int constants: caller-supplied ones used, then the file's in order."""
        consts: dict[str, int] = {}
        for name in sorted(self.spec.external):
            consts[name] = self.spec.constants[name]
        for d in self.spec.definitions:
            if isinstance(d, ast.Const):
                consts[d.name] = d.value
            elif isinstance(d, ast.Program):
                consts[d.name] = d.number
                for v in d.versions:
                    consts[v.name] = v.number
                    for p in v.procedures:
                        consts[p.name] = p.number
        return consts

    def emit_constants(self, w) -> None:  # noqa: ANN001
        consts = self.constant_lines()
        if not consts:
            return
        for name, value in consts.items():
            w(f"{name} = {value:#x}" if value > 0xFFFF else f"{name} = {value}")
        w("")

    def emit_enum(self, w, e: ast.Enum) -> None:  # noqa: ANN001
        cls = self.classes[e.name]
        w("")
        w(f"class {cls}(enum.IntEnum):")
        w(f'    """enum {e.name}"""')
        w("")
        for v in e.values:
            w(f"    {v.name} = {v.value}")
        w("")
        w("")
        for v in e.values:
            w(f"{v.name} = {cls}.{v.name}")
        w("")

    def emit_struct_class(self, w, s: ast.Struct) -> None:  # noqa: ANN001
        cls = self.classes[s.name]
        fields = [(attr_name(f.name or ""), self.py_type(self.low.decl(f)), "") for f in s.fields]
        self.emit_dataclass(w, s.name, cls, f'"""struct {s.name}"""', fields)

    def emit_union_class(self, w, u: ast.Union) -> None:  # noqa: ANN001
        cls = self.classes[u.name]
        arms = [self.low.decl(c.decl) for c in u.cases]
        if u.default is not None:
            arms.append(self.low.decl(u.default))
        hints: list[str] = []
        for ir in arms:
            hint = self.py_type(ir)
            for part in hint.split(" | "):
                if part not in hints:
                    hints.append(part)
        if "None" in hints:
            hints.remove("None")
        hints.append("None")
        disc_attr = attr_name(u.discriminant.name or "discriminant")
        disc = self.py_type(self.low.decl(u.discriminant))
        doc = f'"""union {u.name}: ``{u.discriminant.name}`` selects the arm held in ``value``."""'
        fields = [(disc_attr, disc, ""), ("value", " | ".join(hints), " = None")]
        self.emit_dataclass(w, u.name, cls, doc, fields)

    def emit_dataclass(  # noqa: ANN001
        self, w, name: str, cls: str, doc: str, fields: list[tuple[str, str, str]]
    ) -> None:
        """A frozen, slotted dataclass written out, so that importing it runs no ``exec``.

        The class holds ``__slots__ = ()`` (its fields' slots are in the plain base that
        decoders fill), the field annotations and an ``__init__`` like the one
        ``dataclasses`` would compile; :func:`virtwire.xdr.runtime.frozen_dataclass` adds
        the rest (field metadata, ``__repr__``, ``__eq__``, ``__hash__``, frozen
        ``__setattr__``/``__delattr__``, ``__match_args__``) as closures.  ``fields`` is
        ``(attribute, type hint, default text)`` per field.
        """
        self.emit_slots_base(w, cls, [attr for attr, _, _ in fields])
        w("")
        w("@_rt.frozen_dataclass")
        self.emit_class_line(w, cls)
        w(f"    {doc}")
        w("")
        w("    __slots__ = ()")
        w("")
        for attr, hint, _ in fields:
            w(f"    {attr}: {hint}")
        attrs = {attr for attr, _, _ in fields}
        me = "self" if "self" not in attrs else "__dataclass_self__"
        setter = next(
            (s for s in ("_object_setattr", "_rt.object_setattr") if s.split(".")[0] not in attrs),
            None,
        )
        if setter is None:
            raise XdrParseError(
                f"{name}: fields named '_object_setattr' and '_rt' cannot both be used",
                self.source_name,
                self.spec.types[name].line,
            )
        w("")
        params = [me] + [f"{attr}: {hint}{default}" for attr, hint, default in fields]
        out = w.__self__  # the list behind ``w``
        out += method_signature("__init__", params, "None")
        for attr, _, _ in fields:
            w(f"        {setter}({me}, {lit(attr)}, {attr})")
        self.emit_methods(w, name, cls)

    @staticmethod
    def emit_class_line(w, cls: str) -> None:  # noqa: ANN001
        line = f"class {cls}(_{cls}Slots):"
        if len(line) <= 100:
            w(line)
        else:
            w(f"class {cls}(")
            w(f"    _{cls}Slots")
            w("):")

    @staticmethod
    def emit_slots_base(w, cls: str, slots: list[str]) -> None:  # noqa: ANN001
        """The mutable class holding a struct's slots: its dataclass inherits them.

        Decoders fill an instance of this base with plain slot stores, then switch its
        ``__class__`` to the frozen dataclass (see :func:`virtwire.xdr.runtime.slots_base`).
        """
        w("")
        w("")
        w(f"class _{cls}Slots:")
        line = f"    __slots__ = {lit(tuple(slots))}"
        if len(line) <= 100:
            w(line)
        else:  # split the way ruff format would
            w("    __slots__ = (")
            for slot in slots:
                w(f"        {lit(slot)},")
            w("    )")
        w("")

    @staticmethod
    def emit_methods(w, name: str, cls: str) -> None:  # noqa: ANN001
        w("")
        w("    def pack(self) -> bytes:")
        w(f"        return pack_{name}(self)")
        w("")
        w("    @classmethod")
        w(f"    def unpack(cls, data: bytes | bytearray | memoryview) -> {cls}:")
        w(f"        return unpack_{name}(data)")
        w("")

    def procedures(self) -> list[tuple[str, int, tuple[tuple[str, str], ...]]]:
        result: list[tuple[str, int, tuple[tuple[str, str], ...]]] = []
        for d in self.spec.definitions:
            if isinstance(d, ast.Enum) and any(v.doc for v in d.values):
                result += [(v.name, v.value, v.annotations) for v in d.values]
            elif isinstance(d, ast.Program):
                for version in d.versions:
                    result += [(p.name, p.number, p.annotations) for p in version.procedures]
        return result


_BLANKS = re.compile(r"\n{4,}")


def generate(
    spec: ast.Specification,
    source_name: str | None = None,
    regenerate_command: str | None = None,
) -> str:
    """The Python module text for ``spec`` (deterministic: same input, same text).

    ``regenerate_command`` is the command the header names (default: ``python -m
    virtwire.xdr SOURCE``; the protocol's modules name ``python -m virtwire.protocol.regenerate``).
    """
    text = Generator(spec, source_name, regenerate_command).generate()
    return _BLANKS.sub("\n\n\n", text)
