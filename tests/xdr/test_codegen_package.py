"""Generated packages (virtwire.xdr.codegen_package): the same codecs as one module, each part
imported on first use, parts importing only shared parts below them."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtwire.xdr import codegen_package, lazy
from virtwire.xdr.parser import parse_file

from .conftest import DATA, UUID_CONSTANTS
from .strategies import Values, convert
from .test_codegen import BIG_CONSTANTS

SPEC = parse_file(DATA / "everything.x", UUID_CONSTANTS)
BIG = parse_file(DATA / "big.x", BIG_CONSTANTS)
_count = iter(range(1_000_000))


def write_package(spec, directory: Path, size: int) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    name = f"xdrpkg_{next(_count)}"
    files = codegen_package.generate_package(spec, size=size)
    (directory / name).mkdir()
    for file, text in files.items():
        (directory / name / file).write_text(text, encoding="utf-8")
    return name, files


def import_package(spec, directory: Path, size: int) -> types.ModuleType:  # noqa: ANN001
    name, _ = write_package(spec, directory, size)
    sys.path.insert(0, str(directory))
    try:
        __import__(name)
    finally:
        sys.path.remove(str(directory))
    return sys.modules[name]


def loaded_parts(package: types.ModuleType) -> set[str]:
    prefix = package.__name__ + "."
    return {name.removeprefix(prefix) for name in sys.modules if name.startswith(prefix)}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    """everything.x as a package of (at most) two types a part: shared parts and cycles too."""
    return import_package(SPEC, tmp_path_factory.mktemp("pkg"), 2)


def test_partition_keeps_procedures_together_and_shares_the_rest() -> None:
    parts = codegen_package.partition(BIG, size=8)
    home = {name: part.module for part in parts for name in part.types}
    assert sorted(home) == sorted(BIG.types)  # every type in exactly one part
    assert sum(len(p.types) for p in parts) == len(BIG.types)
    shared = [p.module for p in parts if p.module.startswith("_shared")]
    assert shared and parts[0].module == shared[0]
    assert home["big_nonnull_domain"] in shared  # every procedure uses it
    for stem in ("big_proc1", "big_proc2"):
        assert home[f"{stem}_args"] == home[f"{stem}_ret"] not in shared


def test_parts_import_only_shared_parts_before_them(tmp_path: Path) -> None:
    _, files = write_package(BIG, tmp_path, 8)
    order = [name.removesuffix(".py") for name in files if name != "__init__.py"]
    for file, text in files.items():
        me = file.removesuffix(".py")
        for used in re.findall(r"^from \.(\w+) import", text, re.M):
            assert used.startswith("_shared"), (file, used)
            if me.startswith("_shared"):
                assert order.index(used) < order.index(me), (file, used)


def test_importing_the_package_builds_no_part(tmp_path: Path, everything) -> None:  # noqa: ANN001
    package = import_package(SPEC, tmp_path, 2)
    assert loaded_parts(package) == set()
    assert package.__all__ == everything.__all__
    assert set(package.__all__) <= set(dir(package))
    assert list(package.CODECS) != [] and set(package.CODECS) == set(everything.CODECS)
    assert package.PROCEDURES == everything.PROCEDURES
    assert package.NAME_MAX == everything.NAME_MAX  # constants are plain, eager ints
    assert loaded_parts(package) == set()


def test_first_use_imports_the_part_and_what_it_needs(tmp_path: Path) -> None:
    package = import_package(BIG, tmp_path, 8)
    args = package.BigProc1Args
    loaded = loaded_parts(package)
    assert {p for p in loaded if not p.startswith("_shared")} == {args.__module__.rsplit(".")[-1]}
    assert package.pack_big_proc1_args is sys.modules[args.__module__].pack_big_proc1_args
    assert "BigProc1Args" in vars(package)  # bound: the next read is a plain lookup


def test_unknown_names_are_attribute_errors(packaged: types.ModuleType) -> None:
    assert not hasattr(packaged, "no_such_name")
    with pytest.raises(AttributeError, match="no_such_name"):
        packaged.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        exec(f"from {packaged.__name__} import no_such_name", {})


def test_from_import_and_lazy_codecs(packaged: types.ModuleType) -> None:
    namespace: dict = {}
    exec(f"from {packaged.__name__} import Domain, pack_domain", namespace)
    codec = packaged.CODECS["domain"]
    assert isinstance(codec, lazy.LazyCodec)
    assert codec.pack is namespace["pack_domain"] and codec.unpack is packaged.unpack_domain
    pack, unpack = codec
    value = namespace["Domain"](name="x", uuid=bytes(16), id=3)
    assert unpack(pack(value)) == value
    assert packaged.CODECS["domain"] is codec


@pytest.mark.parametrize("name", sorted(SPEC.types))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_bytes_as_the_module(packaged, everything, name, data) -> None:  # noqa: ANN001
    value = data.draw(Values(SPEC, packaged).named(name, 0))
    encoded = packaged.CODECS[name].pack(value)
    assert everything.CODECS[name].pack(convert(value, everything)) == encoded
    assert packaged.CODECS[name].unpack(encoded) == value


def test_type_hints_resolve_in_each_part(tmp_path: Path) -> None:
    """A part imports the classes its annotations name (from shared parts), so
    ``typing.get_type_hints`` works on every class without the package's namespace."""
    import dataclasses
    import typing

    package = import_package(BIG, tmp_path, 8)
    classes = [getattr(package, n) for n in package.__all__ if n[:1].isupper()]
    checked = 0
    for cls in classes:
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            assert set(typing.get_type_hints(cls)) == {f.name for f in dataclasses.fields(cls)}
            checked += 1
    assert checked > 400
