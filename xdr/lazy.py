"""Run-time support of generated codec *packages*: each part is imported on first use.

A big ``.x`` file (libvirt's remote protocol: ~700 types) is generated as a package (see
:mod:`virtwire.xdr.codegen_package`).  Its ``__init__`` holds what is cheap to build: the
constants, ``__all__``, ``PROCEDURES`` and a table of which part module defines each public
name.  Importing it builds no class and unmarshals no codec.  Then:

* :func:`exports` makes the package's PEP 562 ``__getattr__``: the first read of a name
  (``rp.RemoteNonnullDomain``, ``from ... import pack_remote_error``) imports the part that
  defines it and binds all of that part's public names in the package, so later reads are
  plain global lookups; and its ``__dir__``, which lists them all before any part is loaded;
* :func:`codecs` makes ``CODECS``: one :class:`LazyCodec` per type, whose ``pack`` and
  ``unpack`` are read from its part on first use and are plain slots afterwards.

The parts import each other only "downwards" (per-procedure parts from shared parts, shared
parts from earlier shared parts), so a part is always importable on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["LazyCodec", "Parts", "codecs", "exports"]

#: part module name -> (its classes and enum members, the types it has codecs for)
Parts = Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]


class LazyCodec:
    """The encoder and decoder of one XDR type, imported from its part on first use.

    Reads like :class:`virtwire.xdr.runtime.Codec` (``codec.pack``, ``codec.unpack``,
    ``pack, unpack = codec``).  ``pack``/``unpack`` are slots: while empty, reading one
    lands in :meth:`__getattr__`, which fills both; after that a read costs what a
    ``Codec`` field read costs.
    """

    __slots__ = ("pack", "unpack", "_where")

    pack: Callable[[Any], bytes]
    unpack: Callable[[bytes | bytearray | memoryview], Any]

    def __init__(self, module: str, name: str) -> None:
        self._where = (module, name)

    def __getattr__(self, attr: str) -> Any:
        if attr not in ("pack", "unpack"):
            raise AttributeError(attr)
        module_name, name = self._where
        module = _load(module_name)
        self.pack = getattr(module, f"pack_{name}")
        self.unpack = getattr(module, f"unpack_{name}")
        return self.pack if attr == "pack" else self.unpack

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        yield self.pack
        yield self.unpack

    def __repr__(self) -> str:
        module_name, name = self._where
        return f"LazyCodec({module_name!r}, {name!r})"


def _load(name: str) -> Any:
    """Import module ``name`` through the import statement's path, not ``importlib``'s:
    a little faster, and ``python -X importtime`` reports it."""
    __import__(name)
    return sys.modules[name]


def codecs(package: str, parts: Parts) -> dict[str, LazyCodec]:
    """``CODECS`` of generated package ``package``: type name -> :class:`LazyCodec`."""
    return {
        name: LazyCodec(f"{package}.{part}", name)
        for part, (_, types) in parts.items()
        for name in types
    }


def exports(
    package: str, namespace: dict[str, Any], parts: Parts
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of generated package ``package`` (PEP 562).

    ``namespace`` is the package's ``globals()``: a part's names are bound there when the
    part is imported, so ``__getattr__`` runs at most once per part.
    """
    where: dict[str, str] = {}
    for part, (names, types) in parts.items():
        for name in names:
            where[name] = part
        for name in types:
            where[f"pack_{name}"] = part
            where[f"unpack_{name}"] = part

    def __getattr__(name: str) -> Any:
        part = where.get(name)
        if part is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = _load(f"{package}.{part}")
        names, types = parts[part]
        for exported in names:
            namespace[exported] = getattr(module, exported)
        for type_name in types:
            for stem in ("pack_", "unpack_"):
                namespace[stem + type_name] = getattr(module, stem + type_name)
        return namespace[name]

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
