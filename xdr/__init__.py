"""virtwire.xdr: the XDR language (RFC 4506 + libvirt's rpcgen dialect) for Python.

* :func:`load` builds types and codecs at run time (simple, on ``xdrlib3``);
* ``python -m virtwire.xdr FILE.x`` writes a module of fast generated codecs;
* :class:`XdrError` is the only exception either raises for bad bytes or bad values.

The loader is imported lazily: generated modules import :mod:`virtwire.xdr.runtime`, and that
should not drag in the parser and ``xdrlib3``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from virtwire.xdr.runtime import Codec, ProcedureDef, TrailingBytes, XdrError, XdrParseError

__all__ = ["Codec", "ProcedureDef", "TrailingBytes", "XdrError", "XdrParseError", "load"]


def load(path: str | Path, constants: Mapping[str, int] | None = None) -> ModuleType:
    """Load a ``.x`` file at run time; see :func:`virtwire.xdr.loader.load`."""
    from virtwire.xdr.loader import load as _load

    return _load(path, constants)
