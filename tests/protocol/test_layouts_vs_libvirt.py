"""Our ``.x`` files against libvirt 9.0's own: the same wire, type for type.

Two checks for every type that any procedure of the REMOTE, QEMU, LXC and ADMIN programs
carries (args, ret, msg and everything they contain):

- structurally: the parsed definitions are equal (names, field order, XDR types, sizes);
- by bytes: hypothesis values built from our generated classes encode with our codecs to
  the same bytes as the same values encoded by codecs loaded from libvirt's own ``.x``
  (virtwire's dynamic loader), and libvirt's codecs decode our bytes and give them back.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtwire.protocol import procedures
from virtwire.protocol.regenerate import DEFS_DIR, HEADER_CONSTANTS, constants_for
from virtwire.xdr import ast
from virtwire.xdr.loader import load_spec
from virtwire.xdr.parser import parse, parse_file

from tests.libvirt_source import libvirt_x_dir
from tests.xdr.strategies import Values, convert

pytestmark = pytest.mark.interop

# our file -> (libvirt's files, concatenated in this order: qemu/lxc include remote's types)
SOURCES = {
    "remote_protocol": ("remote_protocol.x",),
    "qemu_protocol": ("remote_protocol.x", "qemu_protocol.x"),
    "lxc_protocol": ("remote_protocol.x", "lxc_protocol.x"),
    "admin_protocol": ("admin_protocol.x",),
}
PROGRAM_STEM = {
    module.__name__.rsplit(".", 1)[1]: stem for module, _, _, stem in procedures.PROGRAMS
}


@functools.cache
def ours(stem: str) -> tuple[ast.Specification, types.ModuleType]:
    from importlib import import_module

    path = DEFS_DIR / f"{stem}.x"
    spec = parse_file(path, constants_for(path.read_text(encoding="utf-8")))
    return spec, import_module(f"virtwire.protocol.generated.{stem}")


@functools.cache
def theirs(stem: str) -> tuple[ast.Specification, types.ModuleType]:
    folder = libvirt_x_dir()
    text = "\n".join((folder / name).read_text(encoding="utf-8") for name in SOURCES[stem])
    spec = parse(text, f"libvirt-{stem}.x", dict(HEADER_CONSTANTS))
    return spec, load_spec(spec, f"libvirt_{stem}")


def _reachable(spec: ast.Specification, roots: list[str]) -> list[str]:
    seen: dict[str, None] = {}

    def visit_decl(decl: ast.Declaration | None) -> None:
        if decl is not None and isinstance(decl.type, ast.NamedType):
            visit(decl.type.name)

    def visit(name: str) -> None:
        if name in seen:
            return
        seen[name] = None
        d = spec.types[name]
        if isinstance(d, ast.Typedef):
            visit_decl(d.decl)
        elif isinstance(d, ast.Struct):
            for f in d.fields:
                visit_decl(f)
        elif isinstance(d, ast.Union):
            visit_decl(d.discriminant)
            for case in d.cases:
                visit_decl(case.decl)
            visit_decl(d.default)

    for root in roots:
        visit(root)
    return list(seen)


def _procedure_types(stem: str) -> list[str]:
    """XDR names of every args/ret/msg type of the program described by ``stem``."""
    prefix = {
        "remote_protocol": "remote_",
        "qemu_protocol": "qemu_",
        "lxc_protocol": "lxc_",
        "admin_protocol": "admin_",
    }[stem]
    spec, module = ours(stem)
    roots = []
    for proc in procedures.all_procedures():
        if not proc.name.startswith(prefix.upper()):
            continue
        base = prefix + proc.short_name.lower()
        for kind in ("args", "ret", "msg"):
            if getattr(proc, kind) is not None:
                roots.append(f"{base}_{kind}")
    assert roots
    return _reachable(spec, roots)


#: types of the procedures we describe beyond libvirt 9.0 (REMOTE 453-455): no 9.0 layout
LATER_TYPES = {
    "remote_domain_event_nic_mac_change_msg",
    "remote_domain_event_vcpu_removed_msg",
    "remote_domain_event_callback_channel_lifecycle_msg",
}
CASES = [
    (stem, name) for stem in SOURCES for name in _procedure_types(stem) if name not in LATER_TYPES
]


def _strip(d: ast.TypeDefinition) -> ast.TypeDefinition:
    """A definition without what is not a wire fact (doc comments of enum members)."""
    if isinstance(d, ast.Enum):
        return ast.Enum(d.name, tuple(ast.EnumValue(v.name, v.value) for v in d.values))
    return d


def test_every_procedure_type_is_compared() -> None:
    assert len(CASES) > 700
    names = {name for _, name in CASES}
    assert "remote_domain_get_vcpus_ret" in names
    assert "qemu_domain_monitor_command_args" in names
    assert "admin_server_get_client_limits_ret" in names


@pytest.mark.parametrize(("stem", "name"), CASES, ids=[f"{s}:{n}" for s, n in CASES])
def test_same_definition_as_libvirt(stem: str, name: str) -> None:
    our_spec, _ = ours(stem)
    their_spec, _ = theirs(stem)
    assert name in their_spec.types, f"{name} is not in libvirt 9.0's {SOURCES[stem][-1]}"
    assert _strip(our_spec.types[name]) == _strip(their_spec.types[name])


def test_procedure_numbers_and_names_are_libvirts() -> None:
    for stem in SOURCES:
        _, their_module = theirs(stem)
        _, our_module = ours(stem)
        their = {p.name: p.number for p in their_module.PROCEDURES}
        our = {p.name: p.number for p in our_module.PROCEDURES}
        later = {name for name, number in our.items() if name not in their}
        assert {our[n] for n in later} <= {453, 454, 455}, later
        assert {n: our[n] for n in our if n in their} == {
            n: v for n, v in their.items() if n.split("_PROC_")[0] == stem.split("_")[0].upper()
        }


# hypothesis per type: values of our classes, bytes compared with libvirt's codecs
@pytest.mark.parametrize(("stem", "name"), CASES, ids=[f"{s}:{n}" for s, n in CASES])
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_same_bytes_as_libvirt(stem: str, name: str, data: st.DataObject) -> None:
    our_spec, our_module = ours(stem)
    _, their_module = theirs(stem)
    value = data.draw(Values(our_spec, our_module).named(name, 0))
    encoded = our_module.CODECS[name].pack(value)
    their_codec = their_module.CODECS[name]
    assert their_codec.pack(convert(value, their_module)) == encoded
    assert their_codec.pack(their_codec.unpack(encoded)) == encoded


def test_defs_folder_holds_the_four_programs() -> None:
    assert {p.stem for p in Path(DEFS_DIR).glob("*.x")} >= set(SOURCES)
    assert set(PROGRAM_STEM) == set(SOURCES)
