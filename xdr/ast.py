"""Typed syntax tree of an XDR specification.

Every node is a frozen dataclass.  By the time a :class:`Specification` exists, constants are
evaluated to ints (sizes, enum values, case labels, program numbers) and every named type
reference has been checked to exist, so the code generator and the dynamic loader never have
to look at tokens or worry about undefined names.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from virtwire.xdr import runtime as _runtime

#: Base types whose Python value is a plain ``int``, with (min, max) of the accepted value
#: (one table, kept in the runtime that generated code checks values with).
INT_RANGES: Mapping[str, tuple[int, int]] = _runtime.INT_RANGES

#: Every base type the language knows (``string`` and ``opaque`` only appear in declarations).
BASE_TYPES = frozenset(INT_RANGES) | {"bool", "float", "double", "string", "opaque"}


class Shape(enum.Enum):
    """How a declaration wraps its type."""

    SCALAR = "scalar"  # T x
    FIXED = "fixed"  # T x[N]   (opaque x[N])
    VARIABLE = "variable"  # T x<N>  (opaque x<N>, string x<N>)
    OPTIONAL = "optional"  # T *x
    VOID = "void"  # void


@dataclass(frozen=True, slots=True)
class BaseType:
    """A built-in type: one of :data:`BASE_TYPES`."""

    name: str


@dataclass(frozen=True, slots=True)
class NamedType:
    """A reference to a type defined in the file (struct, union, enum or typedef)."""

    name: str
    line: int = field(default=0, compare=False)
    col: int = field(default=0, compare=False)


TypeSpec = BaseType | NamedType

#: Size used for ``<>`` (no maximum given): the largest count a uint32 can carry.
UNBOUNDED = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Declaration:
    """``type name``, ``type name[N]``, ``type name<N>``, ``type *name`` or ``void``.

    ``size`` is the element count for ``FIXED`` and the maximum for ``VARIABLE``
    (:data:`UNBOUNDED` when written ``<>``); ``None`` otherwise.
    """

    name: str | None
    type: TypeSpec | None
    shape: Shape
    size: int | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Const:
    """``const NAME = value;``"""

    name: str
    value: int
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class EnumValue:
    """One enum member, with the ``/** */`` comment before it and its ``@key: value`` pairs."""

    name: str
    value: int
    doc: str | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Enum:
    name: str
    values: tuple[EnumValue, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Struct:
    name: str
    fields: tuple[Declaration, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Case:
    """One union arm: all its ``case`` labels (evaluated, with their source spelling)."""

    values: tuple[int, ...]
    labels: tuple[str, ...]
    decl: Declaration


@dataclass(frozen=True, slots=True)
class Union:
    name: str
    discriminant: Declaration
    cases: tuple[Case, ...]
    default: Declaration | None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Typedef:
    name: str
    decl: Declaration
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Procedure:
    """An RFC 5531 procedure; ``result`` is ``None`` for void, ``args`` empty for void."""

    name: str
    number: int
    result: TypeSpec | None
    args: tuple[TypeSpec, ...]
    doc: str | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Version:
    name: str
    number: int
    procedures: tuple[Procedure, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    number: int
    versions: tuple[Version, ...]
    line: int = field(default=0, compare=False)


TypeDefinition = Enum | Struct | Union | Typedef
Definition = Const | TypeDefinition | Program


@dataclass(frozen=True)
class Specification:
    """A whole ``.x`` file, resolved.

    ``constants`` holds every constant the file can use by name: its ``const`` lines, its enum
    members (rpcgen makes them C constants too) and the caller-supplied values it actually
    referenced (names listed in ``external``).
    """

    source: str
    definitions: tuple[Definition, ...]
    constants: Mapping[str, int]
    external: tuple[str, ...] = ()
    types: Mapping[str, TypeDefinition] = field(default_factory=dict)

    def resolve(self, spec: TypeSpec) -> TypeDefinition | BaseType:
        """The definition a type reference names (base types are returned unchanged)."""
        if isinstance(spec, BaseType):
            return spec
        return self.types[spec.name]
