"""What generated codecs import at run time: the error type, two small records, and helpers.

Generated modules keep their hot paths free of per-value calls into this module.  The
helpers here run when something is already wrong (building an error with its field path),
on a slow path that valid ASCII-only data never takes (:func:`lax_utf8`, :func:`lax_encode`),
once per array (:func:`instances`), once per new string-length combination
(:class:`Packers`) or once per class at import time (:func:`frozen_dataclass`,
:func:`slots_base`).  That keeps the error messages good without costing the common case
anything.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Mapping
from itertools import repeat
from operator import attrgetter
from reprlib import recursive_repr
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = [
    "Codec",
    "ProcedureDef",
    "XdrError",
    "XdrParseError",
    "builder",
    "class_name",
    "fail",
    "fail_run",
    "finish",
    "frozen_dataclass",
    "instances",
    "lax_encode",
    "lax_utf8",
    "memview",
    "narrow",
    "TrailingBytes",
    "Packers",
    "slots_base",
]


class XdrError(ValueError):
    """Bad XDR bytes or a value that cannot be encoded.

    ``path`` names the offending field from the top-level value (``dom.name``,
    ``doms[3].uuid``); it is empty when the problem is the value itself.  ``str(err)`` reads
    ``"<path>: <message>"``.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message, path)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def prefixed(self, name: str | int | None) -> XdrError:
        """The same error one level up: ``name`` is a field name or an array index."""
        if name is None or name == "":
            return self
        head = f"[{name}]" if isinstance(name, int) else name
        if not self.path:
            path = head
        elif self.path.startswith("["):
            path = head + self.path
        else:
            path = f"{head}.{self.path}"
        err = XdrError(self.message, path)
        err.__cause__ = self.__cause__
        return err


class XdrParseError(XdrError):
    """A ``.x`` file that cannot be compiled: carries file, line, column and what was expected."""

    def __init__(
        self,
        message: str,
        filename: str = "<string>",
        line: int = 0,
        col: int = 0,
        expected: str | None = None,
    ) -> None:
        text = f"{filename}:{line}:{col}: {message}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)
        self.filename = filename
        self.line = line
        self.col = col
        self.expected = expected
        self.reason = message


def class_name(xdr_name: str) -> str:
    """The generated class of XDR type ``xdr_name``: ``remote_nonnull_domain`` ->
    ``RemoteNonnullDomain`` (each ``_`` part capitalised; the generator's naming rule)."""
    name = "".join(part[:1].upper() + part[1:] for part in xdr_name.split("_"))
    return name or "X"


class Codec(NamedTuple):
    """The encoder and decoder of one XDR type, as listed in a module's ``CODECS``."""

    pack: Callable[[Any], bytes]
    unpack: Callable[[bytes | bytearray | memoryview], Any]


class ProcedureDef(NamedTuple):
    """One procedure: enum member (or RFC 5531 procedure) name, number, doc annotations."""

    name: str
    number: int
    annotations: tuple[tuple[str, str], ...]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, struct.error):
        text = str(exc)
        if "requires a buffer" in text or "out of range for" in text:
            return f"input truncated ({text})"
        return f"bad value ({text})"
    if isinstance(exc, RecursionError):
        return "value nested too deeply"
    if isinstance(exc, UnicodeError):
        return f"string cannot be encoded as UTF-8 ({exc})"
    if isinstance(exc, KeyError):
        return f"invalid value {exc.args[0]!r}"
    if isinstance(exc, AttributeError):
        return f"wrong kind of value ({exc})"
    return f"bad value ({type(exc).__name__}: {exc})"


def fail(exc: BaseException, name: str | int | None = None) -> XdrError:
    """Turn any exception raised while coding field ``name`` into an :class:`XdrError`.

    Generated code calls this from ``except`` clauses only, so the cost is paid on the
    error path alone (Python 3.11 ``try`` is free when nothing is raised).
    """
    if isinstance(exc, XdrError):
        return exc.prefixed(name)
    err = XdrError(_describe(exc))
    err.__cause__ = exc
    return err.prefixed(name)


def fail_run(
    exc: BaseException, fields: tuple[tuple[str, str, str, int], ...], holders: tuple[Any, ...]
) -> XdrError:
    """Name the culprit when packing a coalesced run of fixed-size fields failed.

    ``fields`` lists ``(path, attribute, kind, holder index)`` per item of the run (length
    words computed by the encoder itself have kind ``"header"``) and ``holders`` the objects
    holding the fields.  Each field is re-checked on its own to find and describe the bad one;
    errors from the explicit checks already carry their path, and errors from lookup tables
    (``_BOOL_INTS``) get the culprit's.
    """
    if isinstance(exc, XdrError) and exc.path:
        return exc
    for path, attr, kind, index in fields:
        if kind == "header":
            continue
        try:
            item = getattr(holders[index], attr)
        except AttributeError as e:
            return fail(e, path)
        problem = _check_scalar(kind, item)
        if problem:
            # a lookup table's own error (bool, enum) says it best; it only lacks the path
            return exc.prefixed(path) if isinstance(exc, XdrError) else XdrError(problem, path)
    if isinstance(exc, XdrError):
        return exc
    return fail(exc, fields[0][0] if fields else None)


#: Base types whose Python value is a plain ``int``, with (min, max) of the accepted value.
#: ``char``/``short`` and their unsigned forms are libvirt rpcgen dialect: 4-byte words on the
#: wire.  ``char`` accepts -128..255 because a C ``char`` buffer may be signed or unsigned.
INT_RANGES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "int": (-(2**31), 2**31 - 1),
        "unsigned int": (0, 2**32 - 1),
        "hyper": (-(2**63), 2**63 - 1),
        "unsigned hyper": (0, 2**64 - 1),
        "char": (-128, 255),
        "unsigned char": (0, 255),
        "short": (-(2**15), 2**15 - 1),
        "unsigned short": (0, 2**16 - 1),
    }
)
_SCALAR_RANGES = {**INT_RANGES, "enum": (-(2**31), 2**31 - 1)}


def _check_scalar(kind: str, item: Any) -> str | None:
    """Why ``item`` is not a valid value of scalar ``kind``, or ``None`` when it is."""
    if kind in _SCALAR_RANGES:
        if isinstance(item, bool) or not isinstance(item, int):
            return f"expected an int for {kind}, got {type(item).__name__}"
        lo, hi = _SCALAR_RANGES[kind]
        if not lo <= item <= hi:
            return f"value {item} out of range for {kind} ({lo}..{hi})"
        return None
    if kind == "bool":
        if item is True or item is False or (type(item) is int and item in (0, 1)):
            return None
        return f"expected a bool, got {item!r}"
    if kind in ("float", "double"):
        if not isinstance(item, int | float) or isinstance(item, bool):
            return f"expected a float for {kind}, got {type(item).__name__}"
        try:
            struct.pack(">f" if kind == "float" else ">d", item)
        except (OverflowError, struct.error) as e:
            return f"value {item!r} does not fit a {kind} ({e})"
        return None
    if kind.startswith("opaque:"):
        size = int(kind[7:])
        if not isinstance(item, bytes | bytearray | memoryview):
            return f"expected bytes for opaque[{size}], got {type(item).__name__}"
        if len(item) != size:
            return f"opaque[{size}] needs exactly {size} bytes, got {len(item)}"
        return None
    return None


class TrailingBytes(XdrError):
    """``unpack_*`` decoded a whole value but bytes were left over; ``value`` holds the value.

    ``unpack_*`` consumes the whole buffer, so this is an error like any other.  libvirt's
    ``virNetMessageDecodePayload`` however runs the XDR filter over the payload and ignores
    whatever follows the value; a peer that wants to accept what libvirt accepts catches this
    subclass and uses ``value`` (``virtwire.server.dispatch`` does).
    """

    def __init__(self, message: str, value: Any = None, extra: int = 0) -> None:
        super().__init__(message)
        self.value = value
        self.extra = extra


_NOTHING = object()


def finish(off: int, mv: bytes, value: Any = _NOTHING) -> None:
    """Raise unless decoding consumed the buffer exactly (called on the error path only).

    Leftover bytes raise :class:`TrailingBytes` carrying the decoded ``value``.
    """
    size = len(mv)
    if off > size:
        raise XdrError(f"input truncated: needed {off} bytes, got {size}")
    if off < size:
        message = f"{size - off} trailing bytes after the value (of {size})"
        if value is _NOTHING:  # modules generated before TrailingBytes existed
            raise XdrError(message)
        raise TrailingBytes(message, value, size - off)


def truncated(need: int, off: int, mv: bytes) -> XdrError:
    """The error for ``need`` bytes wanted at ``off`` when the buffer is shorter."""
    have = max(len(mv) - off, 0)
    return XdrError(f"input truncated: needed {need} bytes at offset {off}, {have} left")


def as_bytes(data: Any) -> bytes:
    """``data`` (bytearray, memoryview of any format, ...) as ``bytes`` for the decoders.

    Decoders read ``bytes`` at offsets with ``Struct.unpack_from``: slicing ``bytes`` and
    decoding a slice is measurably faster than going through a ``memoryview``, and the one
    copy made here is cheaper than the per-field overhead it saves.
    """
    try:
        return bytes(memoryview(data).cast("B")) if not isinstance(data, bytes) else data
    except TypeError as e:
        raise XdrError(f"expected bytes to decode, got {type(data).__name__}") from e


def memview(data: Any) -> memoryview:
    """A flat byte view of ``data``.

    Kept for modules generated before decoders switched to ``bytes`` (see :func:`as_bytes`);
    regenerate such modules to get the faster code.
    """
    try:
        mv = memoryview(data)
    except TypeError as e:
        raise XdrError(f"expected bytes to decode, got {type(data).__name__}") from e
    if mv.ndim != 1 or mv.format not in ("B", "b", "c"):
        mv = mv.cast("B")
    return mv


def instances(cls: type, count: int) -> list:
    """``count`` empty instances of slots class ``cls``, made in one C-level loop.

    Array decoders fill these in place instead of calling ``cls()`` once per element; the
    caller has already checked ``count`` against the bytes left, so the list is never larger
    than the input can justify.
    """
    return list(map(object.__new__, repeat(cls, count)))


def lax_utf8(buf: bytes, start: int, end: int) -> str:
    """``buf[start:end]`` as UTF-8 with ``surrogateescape``: the slow path of string decoders.

    Decoders first try the faster strict (or Latin-1 + ASCII) decoding, which gives the
    same text whenever it succeeds; only bytes that are not valid UTF-8 come here.
    """
    return buf[start:end].decode("utf-8", "surrogateescape")


def lax_encode(text: str) -> bytes:
    """``text`` as UTF-8 with ``surrogateescape`` (for strings holding lone surrogates).

    Encoders try ``str.encode()`` first, which is faster and gives the same bytes whenever
    the text has no surrogates.
    """
    return text.encode("utf-8", "surrogateescape")


class Packers(dict):
    """``struct.Struct.pack`` functions for one layout with variable-length parts, by length.

    A struct whose fields are fixed-size scalars plus strings or variable opaques is encoded
    by one ``pack`` call when its format spells the byte strings out (``"I5s3x"``: length
    word, bytes, padding).  That format depends on the lengths, so each layout keeps the
    compiled ``Struct`` per combination of lengths.  ``template`` is the format with ``{}``
    where each part's bytes and padding go; the key packs the lengths into one int, 32 bits
    each, first part highest.  The table is cleared when it grows past ``limit`` (compiling
    a ``Struct`` costs about as much as one slow encode, so a miss is cheap).
    """

    __slots__ = ("template", "parts", "limit")

    def __init__(self, template: str, parts: int, limit: int = 512) -> None:
        super().__init__()
        self.template = template
        self.parts = parts
        self.limit = limit

    def __missing__(self, key: int) -> Callable[..., bytes]:
        shifts = range(32 * (self.parts - 1), -1, -32)
        lengths = [(key >> shift) & 0xFFFFFFFF for shift in shifts]
        pieces = [f"{n}s{-n & 3}x" if n & 3 else f"{n}s" for n in lengths]
        pack = struct.Struct(self.template.format(*pieces)).pack
        if len(self) >= self.limit:
            self.clear()
        self[key] = pack
        return pack


def builder(cls: type) -> type:
    """A mutable twin of frozen slotted dataclass ``cls`` with the same slot layout.

    Decoders fill a twin's slots with plain attribute stores and then switch its
    ``__class__`` to ``cls``: the result is an ordinary, fully initialised instance of
    ``cls``, built about five times faster than through the frozen ``__init__`` (which goes
    through ``object.__setattr__`` once per field).
    """
    slots = cls.__dict__.get("__slots__", ())
    twin = type(
        f"_{cls.__name__}Builder", (), {"__slots__": tuple(slots), "__module__": cls.__module__}
    )
    probe = twin()
    probe.__class__ = cls  # fails at import time if the layouts ever diverge
    return twin


@dataclasses.dataclass(frozen=True, slots=True)
class _Reference:
    """A real frozen, slotted dataclass: :func:`frozen_dataclass` copies its bookkeeping.

    Taking ``__dataclass_params__`` and the field kind from a class that ``dataclasses``
    itself processed keeps the metadata right on every Python version (3.12 added
    parameters) without naming the module's private constants.
    """

    field: int


_PARAMS = _Reference.__dataclass_params__
# Python 3.13 compares fields one by one (``self is other`` first) instead of as tuples:
# a NaN field then makes two distinct instances unequal.  Follow whichever rule runs here.
_NAN = float("nan")
_EQ_BY_TUPLE = _Reference(_NAN) == _Reference(_NAN)  # type: ignore[arg-type]
# Python 3.13 added ``__replace__`` (for ``copy.replace``): a shared function, reused as is.
_REPLACE = _Reference.__dict__.get("__replace__")
_FIELD_KIND = _Reference.__dataclass_fields__["field"]._field_type
_MISSING = dataclasses.MISSING
_FrozenInstanceError = dataclasses.FrozenInstanceError
object_setattr = object.__setattr__


def _getstate(self: Any) -> list[Any]:
    """Pickle/copy state of a frozen slotted dataclass: field values in order (as dataclasses)."""
    return [getattr(self, name) for name in self.__dataclass_fields__]


def _setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(self.__dataclass_fields__, state, strict=False):
        object_setattr(self, name, value)


def frozen_dataclass(cls: type) -> type:
    """Finish generated class ``cls`` as a frozen, slotted dataclass, without ``exec``.

    ``@dataclass(frozen=True, slots=True)`` compiles six methods from source text per class
    with ``exec`` and then rebuilds the class for its slots: for the ~140 classes of
    ``remote_protocol`` that was most of a ~110 ms import.  Generated classes instead carry
    ``__slots__ = ()`` (the fields' slots live in their plain base class), their annotations
    and a written-out ``__init__`` (all cached in the ``.pyc``); this decorator adds what
    ``dataclasses`` would, as closures over the field names:

    * ``__dataclass_fields__`` (``Field`` objects made by ``dataclasses.field``, defaults
      taken from ``__init__``) and ``__dataclass_params__``, so ``fields``, ``asdict``,
      ``astuple``, ``replace`` and ``is_dataclass`` work unchanged;
    * ``__match_args__``, ``__repr__`` (recursion-safe), ``__eq__`` and ``__hash__`` over
      the tuple of field values, as ``dataclasses`` compares and hashes;
    * ``__setattr__``/``__delattr__`` raising ``FrozenInstanceError`` and the
      ``__getstate__``/``__setstate__`` pair that pickling and ``copy`` need for frozen
      slotted classes;
    * on Python 3.13+, ``__replace__`` and 3.13's field-by-field ``__eq__``.

    ``tests/xdr/test_dataclass_contract.py`` checks the result against what
    ``dataclasses`` itself builds for the same class.
    """
    annotations = cls.__annotations__
    names = tuple(annotations)
    defaults = cls.__init__.__defaults__ or ()  # type: ignore[misc]
    first_default = len(names) - len(defaults)
    fields: dict[str, dataclasses.Field] = {}
    for i, name in enumerate(names):
        f = dataclasses.field(
            default=defaults[i - first_default] if i >= first_default else _MISSING,
            kw_only=False,
        )
        f.name = name
        f.type = annotations[name]
        f._field_type = _FIELD_KIND  # type: ignore[attr-defined]
        fields[name] = f
    field_names = frozenset(names)
    key = attrgetter(*names) if len(names) > 1 else None
    if key is None:
        # dataclasses compares 1-tuples: keeps ``x == x`` true for the same NaN object
        only = names[0] if names else None

        def key(self: Any) -> tuple[Any, ...]:
            return (getattr(self, only),) if only is not None else ()

    if _EQ_BY_TUPLE:

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is self.__class__:
                return key(self) == key(other)
            return NotImplemented

    else:

        def __eq__(self: Any, other: Any) -> Any:
            if self is other:
                return True
            if other.__class__ is self.__class__:
                result: Any = True
                for name in names:  # ``a == b and c == d ...``, returning the same value
                    result = getattr(self, name) == getattr(other, name)
                    if not result:
                        return result
                return result
            return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(key(self))

    @recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join([f"{name}={getattr(self, name)!r}" for name in names])
        return f"{self.__class__.__qualname__}({inner})"

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in field_names:
            raise _FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in field_names:
            raise _FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    methods = {
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__hash__": __hash__,
        "__getstate__": _getstate,
        "__setstate__": _setstate,
    }
    qualname = cls.__qualname__
    for attr, method in methods.items():
        if method is not _getstate and method is not _setstate:
            method.__qualname__ = f"{qualname}.{attr}"
        setattr(cls, attr, method)
    if _REPLACE is not None:
        cls.__replace__ = _REPLACE  # type: ignore[attr-defined]
    cls.__match_args__ = names  # type: ignore[attr-defined]
    cls.__dataclass_params__ = _PARAMS  # type: ignore[attr-defined]
    cls.__dataclass_fields__ = fields  # type: ignore[attr-defined]
    return cls


def slots_base(cls: type) -> type:
    """Check that ``cls`` keeps its fields in the slots of its direct base, and return it.

    Generated frozen dataclasses inherit their slots from a plain mutable class; decoders
    fill an instance of that base and switch its ``__class__``.  Sharing the base (instead
    of a twin with the same slots) makes the switch cheaper: CPython then needs no
    slot-by-slot layout comparison.
    """
    base = cls.__bases__[0]
    probe = object.__new__(base)
    probe.__class__ = cls  # fails at import time if the layouts ever diverge
    return base


class Table(dict):
    """A lookup table whose misses raise a descriptive :class:`XdrError`.

    Generated code maps enum values to members (and to their encoded bytes) through these:
    a hit is one dict lookup, a miss names the enum and the bad value.
    """

    __slots__ = ("what",)

    def __init__(self, what: str, items: dict) -> None:
        super().__init__(items)
        self.what = what

    def __missing__(self, key: Any) -> Any:
        if self.what == "bool":
            raise XdrError(f"invalid bool value {key!r} (must be 0 or 1)")
        raise XdrError(f"{key!r} is not a value of enum {self.what}")


#: Width (bits) and signedness of the rpcgen-dialect narrow integers: how C truncates a word.
_NARROW_BITS: Mapping[str, tuple[int, bool]] = MappingProxyType(
    {
        "char": (8, True),
        "unsigned char": (8, False),
        "short": (16, True),
        "unsigned short": (16, False),
    }
)
_INT32 = struct.Struct(">i")


def narrow(word: int, kind: str) -> int:
    """A decoded ``char``/``short`` word outside the type's range, truncated as C does.

    libvirt decodes these with libtirpc's ``xdr_char``/``xdr_u_char``/``xdr_short``/
    ``xdr_u_short``: ``xdr_int``/``xdr_u_int`` of the whole word, then an assignment to the
    narrow C type (``*cp = i``, ``*sp = (short) l``), which keeps the low 8 or 16 bits and
    never fails.  Words already in :data:`INT_RANGES` are returned unchanged by the callers
    (``char`` 128..255 too: the same byte); others come here and get their low bits, as a
    signed value for ``char``/``short`` (x86-64's C ``char`` is signed) and unsigned for the
    unsigned types.  Called only for out-of-range words, so valid data never pays for it.
    """
    bits, signed = _NARROW_BITS[kind]
    low = word & ((1 << bits) - 1)
    if signed and low >= 1 << (bits - 1):
        low -= 1 << bits
    return low


class EnumValues(dict):
    """Decode table of one enum: wire value -> ``IntEnum`` member; others stay plain ints.

    libvirt decodes enums with ``xdr_enum``, which is ``xdr_int`` (a C enum is an int): any
    32-bit value is accepted, declared or not.  A hit is one dict lookup, as before; a miss
    (an undeclared value) returns the value itself.
    """

    __slots__ = ("what",)

    def __init__(self, what: str, items: dict) -> None:
        super().__init__(items)
        self.what = what

    def __missing__(self, key: Any) -> Any:
        return key


class EnumBytes(dict):
    """Encode table of one enum: member -> its 4 bytes; any other int in the 32-bit signed
    range is packed as C would pack it (``xdr_enum`` checks nothing either)."""

    __slots__ = ("what",)

    def __init__(self, what: str, items: dict) -> None:
        super().__init__(items)
        self.what = what

    def __missing__(self, key: Any) -> bytes:
        check_enum(key, self.what)
        return _INT32.pack(key)


def enum_values(name: str, cls: type) -> EnumValues:
    """The decode table of enum ``name`` (generated modules build theirs with this)."""
    return EnumValues(name, {m.value: m for m in cls})  # type: ignore[attr-defined]


def enum_bytes(name: str, cls: type) -> EnumBytes:
    """The encode table of enum ``name``: each member (and its value) -> its 4 bytes."""
    return EnumBytes(name, {m.value: _INT32.pack(m.value) for m in cls})  # type: ignore[attr-defined]


def check_enum(value: Any, enum_name: str, path: str = "") -> None:
    """Raise unless ``value`` can be encoded as enum ``enum_name``: an int (not a bool) in
    -2**31..2**31-1 (called only for values that are not declared members)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise XdrError(f"{value!r} is not a value of enum {enum_name} (expected an int)", path)
    if not -(2**31) <= value <= 2**31 - 1:
        raise XdrError(
            f"value {value} out of range for enum {enum_name} (-2147483648..2147483647)", path
        )


def out_of_range(value: Any, kind: str, path: str = "") -> XdrError:
    problem = _check_scalar(kind, value) or f"value {value!r} out of range for {kind}"
    return XdrError(problem, path)


def wrong_length(value: Any, size: int, path: str = "") -> XdrError:
    return XdrError(_check_scalar(f"opaque:{size}", value) or "wrong length", path)


def wrong_count(count: int, size: int) -> XdrError:
    return XdrError(f"fixed array needs exactly {size} elements, got {count}")


def too_long(what: str, size: int, limit: int) -> XdrError:
    unit = "bytes" if what in ("string", "opaque") else "elements"
    return XdrError(f"{what} of {size} {unit} exceeds maximum {limit}")


def bad_enum(value: Any, enum_name: str, path: str = "") -> XdrError:
    return XdrError(f"{value!r} is not a value of enum {enum_name}", path)


def bad_bool(value: int, path: str = "") -> XdrError:
    return XdrError(f"invalid bool value {value} (must be 0 or 1)", path)


def bad_flag(value: int) -> XdrError:
    return XdrError(f"invalid optional-data flag {value} (must be 0 or 1)")


def bad_case(value: Any, union_name: str, path: str = "") -> XdrError:
    return XdrError(f"{value!r} is not a case of union {union_name}", path)


def fail_unpack(
    exc: BaseException,
    fields: tuple[tuple[str, str, str, int], ...],
    size: int,
    off: int,
    mv: bytes,
) -> XdrError:
    """Name the field where a coalesced run of fixed-size fields ran off the input."""
    if isinstance(exc, XdrError):
        return exc
    have = max(len(mv) - off, 0)
    return XdrError(
        f"input truncated: needed {size} bytes at offset {off}, {have} left",
        fields[0][0] if fields else "",
    )


def index_of(items: Any, item: Any) -> int | None:
    """Index of ``item`` in ``items`` by identity (error path of array encoders).

    Encoders loop without ``enumerate`` to save time per element; when an element fails,
    its first occurrence is the one to report (a repeated object fails the same way).
    """
    for i, candidate in enumerate(items):
        if candidate is item:
            return i
    return None
