"""AST -> a package of codec modules, each part imported on first use.

Why a package: as one module, libvirt's remote protocol (~700 types, 4.6 MB of source) cost
~100 ms to import even from its ``.pyc`` (half unmarshalling, half building ~700 frozen
classes and a 450-member enum), and every ``virtwire`` process paid that before answering
anything, although one call needs two or three of those types.  As a package, importing it
builds no class; each part costs ~1 ms when first used.

Layout (:func:`generate_package` returns file name -> text, all deterministic):

* ``__init__.py``: the constants, ``__all__``, ``PROCEDURES``, which part defines each
  public name, and (from :mod:`virtwire.xdr.lazy`) the ``__getattr__``/``__dir__`` that
  import a part on first use and a ``CODECS`` of codecs that do the same;
* ``_shared.py`` (``_shared_1.py`` ...): the types that more than one procedure uses
  (``remote_nonnull_domain``, ``remote_typed_param``, ...), in dependency order;
* ``_<family>.py`` (``_<family>_01.py`` ...): whole procedures of one family (the first
  word after the prefix all type names share: ``domain``, ``network``, ``storage``...),
  each with its ``_args``/``_ret``/``_msg`` types and the types only it uses, in file
  order, at most :data:`PART_SIZE` types a part unless one procedure needs more.

Parts import from shared parts only, and shared parts only from earlier shared parts, so
no import cycle is possible and each part can be imported alone.  The code of each type is
exactly what :class:`virtwire.xdr.codegen.Generator` writes for a single module: the same
functions, the same bytes on the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from virtwire.xdr import ast
from virtwire.xdr.codegen import _BLANKS, Generator, lit

__all__ = ["PART_SIZE", "Part", "generate_package", "partition"]

#: most types a part holds (unless one procedure alone needs more); measured: a part of
#: this size imports in about 1 ms, and a whole session of the virsh tour touches ~12
PART_SIZE = 16

#: the private names a type's code is reached by from other code
_REFERENCE = re.compile(r"\b_(?:enc|dec|B|EV|EB)_([A-Za-z0-9_]+)\b")
_PROCEDURE_PART = re.compile(r"_(?:args|ret|msg)$")


@dataclass(frozen=True)
class Part:
    """One module of a generated package: its name and the types it defines, in file order."""

    module: str
    types: tuple[str, ...]
    description: str


def _type_text(gen: Generator, d: ast.TypeDefinition) -> str:
    return "\n".join(gen.type_functions([d]) + gen.public_functions([d]))


def _references(gen: Generator, defs: list[ast.TypeDefinition]) -> dict[str, list[str]]:
    """Type name -> the other types its code uses, in file order."""
    order = {d.name: i for i, d in enumerate(defs)}
    refs: dict[str, list[str]] = {}
    for d in defs:
        used = {m for m in _REFERENCE.findall(_type_text(gen, d)) if m in order and m != d.name}
        refs[d.name] = sorted(used, key=order.__getitem__)
    return refs


def _common_prefix(names: list[str]) -> str:
    """The ``word_`` all ``names`` start with (``remote_``), or ``""``."""
    first = {name.split("_", 1)[0] for name in names}
    if len(first) == 1 and all("_" in name for name in names):
        return first.pop() + "_"
    return ""


def _owners(defs: list[ast.TypeDefinition], refs: dict[str, list[str]]) -> dict[str, set[str]]:
    """Type name -> the procedures (groups) whose types reach it.

    A group is a type no other type uses, less its ``_args``/``_ret``/``_msg`` suffix; a
    type only reached through a cycle of otherwise unused types starts a group of its own.
    """
    used = {r for rs in refs.values() for r in rs}
    owners: dict[str, set[str]] = {d.name: set() for d in defs}

    def claim(root: str, group: str) -> None:
        stack = [root]
        while stack:
            name = stack.pop()
            if group in owners[name]:
                continue
            owners[name].add(group)
            stack += refs[name]

    for d in defs:
        if d.name not in used:
            claim(d.name, _PROCEDURE_PART.sub("", d.name))
    for d in defs:
        if not owners[d.name]:
            claim(d.name, d.name)
    return owners


def _dependency_order(names: list[str], refs: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of ``names`` (Tarjan), dependencies first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    members = set(names)

    def visit(name: str) -> None:  # recursion depth: the longest chain of shared types
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for ref in refs[name]:
            if ref not in members:
                continue
            if ref not in index:
                visit(ref)
                low[name] = min(low[name], low[ref])
            elif ref in on_stack:
                low[name] = min(low[name], index[ref])
        if low[name] == index[name]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            result.append(component)

    for name in names:
        if name not in index:
            visit(name)
    return result


def _fill(chunks: list[list[str]], size: int) -> list[list[str]]:
    """Consecutive chunks packed into lists of at most ``size`` names (a chunk is never cut)."""
    parts: list[list[str]] = []
    for chunk in chunks:
        if parts and len(parts[-1]) + len(chunk) <= size:
            parts[-1] += chunk
        else:
            parts.append(list(chunk))
    return parts


def _named(stem: str, parts: list[list[str]], what: str) -> list[tuple[str, list[str], str]]:
    if len(parts) == 1:
        return [(f"_{stem}", parts[0], what)]
    width = 2 if len(parts) > 9 else 1
    return [
        (f"_{stem}_{i:0{width}d}", names, f"{what}, part {i} of {len(parts)}")
        for i, names in enumerate(parts, 1)
    ]


def partition(
    spec: ast.Specification, size: int = PART_SIZE, gen: Generator | None = None
) -> list[Part]:
    """Split ``spec``'s types into parts (see the module docstring); shared parts first."""
    gen = gen or Generator(spec)
    defs = gen.type_definitions()
    order = {d.name: i for i, d in enumerate(defs)}
    refs = _references(gen, defs)
    owners = _owners(defs, refs)
    shared = [d.name for d in defs if len(owners[d.name]) > 1]
    components = _dependency_order(shared, refs)
    components = [sorted(c, key=order.__getitem__) for c in components]
    named = _named("shared", _fill(components, size), "the types several procedures use")

    groups: dict[str, list[str]] = {}  # group -> its own types, in file order
    for d in defs:
        if len(owners[d.name]) == 1:
            groups.setdefault(next(iter(owners[d.name])), []).append(d.name)
    prefix = _common_prefix([d.name for d in defs])
    families: dict[str, list[list[str]]] = {}
    for group in sorted(groups, key=lambda g: order[groups[g][0]]):
        family = group.removeprefix(prefix).split("_", 1)[0] or group
        families.setdefault(family, []).append(groups[group])
    for family, members in families.items():
        stem = family if family != "shared" else "shared_procedures"
        named += _named(stem, _fill(members, size), f"the {family} procedures")
    parts = [
        Part(module, tuple(sorted(names, key=order.__getitem__)), what)
        for module, names, what in named
    ]
    return parts


# -- emitting -------------------------------------------------------------------------------


def _emit_import(w, module: str, names: list[str]) -> None:  # noqa: ANN001
    line = f"from .{module} import {', '.join(names)}"
    if len(line) <= 100:
        w(line)
        return
    w(f"from .{module} import (")
    for name in names:
        w(f"    {name},")
    w(")")


def _part_module(spec: ast.Specification, part: Part, home: dict[str, str], **names: str) -> str:
    """The text of one part: its classes, internals and codecs, importing what it uses."""
    gen = Generator(spec, **names)
    defs = [gen.spec.types[name] for name in part.types]
    functions = gen.type_functions(defs)
    public = gen.public_functions(defs)
    body = "\n".join(functions + public)
    imports: dict[str, set[str]] = {}
    for match in _REFERENCE.finditer(body):
        ref = match.group(1)
        module = home.get(ref)
        if module is None or module == part.module:
            continue
        wanted = imports.setdefault(module, set())
        wanted.add(match.group(0))
        if ref in gen.classes:  # decoders switch to it; annotations name it
            wanted.add(gen.classes[ref])
    out: list[str] = []
    w = out.append
    gen.header(w, f'"""{gen.source_name}: {part.description} (imported on first use)."""')
    gen.emit_imports(w, body, enums=any(isinstance(d, ast.Enum) for d in defs))
    if imports:
        for module in sorted(imports):
            _emit_import(w, module, sorted(imports[module]))
        w("")
    gen.emit_setattr(w, defs)
    gen.emit_classes(w, defs)
    gen.emit_internals(w, defs)
    gen.emit_functions(w, functions, public)
    return _BLANKS.sub("\n\n\n", "\n".join(out) + "\n")


def _public_names(gen: Generator, d: ast.TypeDefinition) -> list[str]:
    """A definition's class and enum members (its ``pack_``/``unpack_`` are implied)."""
    names = [gen.classes[d.name]] if d.name in gen.classes else []
    if isinstance(d, ast.Enum):
        names += [v.name for v in d.values]
    return names


def _emit_strings(w, indent: int, items: list[str]) -> None:  # noqa: ANN001
    pad = "    " * indent
    if not items:
        w(f"{pad}(),")
        return
    w(f"{pad}(")
    for item in items:
        w(f"{pad}    {lit(item)},")
    w(f"{pad}),")


def _init_module(gen: Generator, parts: list[Part]) -> str:
    out: list[str] = []
    w = out.append
    gen.header(
        w,
        f'"""XDR types and codecs of {gen.source_name}, each part imported on first use.\n\n'
        "Importing this package builds no class: the first read of a name imports the part\n"
        "module that defines it (``__getattr__``), and each ``CODECS`` entry imports its\n"
        'part on its first ``pack``/``unpack`` (see :mod:`virtwire.xdr.lazy`).\n"""',
    )
    w("from virtwire.xdr import lazy as _lazy")
    w("from virtwire.xdr import runtime as _rt")
    w("")
    defs = gen.type_definitions()
    gen.emit_all(w, gen.exported_names(defs))
    gen.emit_constants(w)
    w("#: part module -> (the classes and enum members it defines, the types it has codecs for)")
    w("_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {")
    for part in parts:
        w(f"    {lit(part.module)}: (")
        names = [n for name in part.types for n in _public_names(gen, gen.spec.types[name])]
        _emit_strings(w, 2, names)
        _emit_strings(w, 2, list(part.types))
        w("    ),")
    w("}")
    w("")
    w("__getattr__, __dir__ = _lazy.exports(__name__, globals(), _PARTS)")
    w("")
    w("CODECS: dict[str, _lazy.LazyCodec] = _lazy.codecs(__name__, _PARTS)")
    w("")
    gen.emit_procedures(w)
    return _BLANKS.sub("\n\n\n", "\n".join(out) + "\n")


def generate_package(
    spec: ast.Specification,
    source_name: str | None = None,
    regenerate_command: str | None = None,
    size: int = PART_SIZE,
) -> dict[str, str]:
    """The package for ``spec``: file name (``__init__.py``, ``_shared.py``...) -> text."""
    names = {
        "source_name": source_name or Path(spec.source).name,
        "regenerate_command": regenerate_command,
    }
    gen = Generator(spec, **names)
    parts = partition(spec, size, gen)
    home = {name: part.module for part in parts for name in part.types}
    files = {"__init__.py": _init_module(Generator(spec, **names), parts)}
    for part in parts:
        files[f"{part.module}.py"] = _part_module(spec, part, home, **names)
    return files
