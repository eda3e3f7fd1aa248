"""Helpers for the xdr tests: compile a .x file into an importable module, or load it."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from virtwire.xdr.codegen import generate
from virtwire.xdr.loader import load_spec
from virtwire.xdr.parser import parse, parse_file

DATA = Path(__file__).parent / "data"
UUID_CONSTANTS = {"VIR_UUID_BUFLEN": 16}


def import_source(text: str, name: str, directory: Path) -> types.ModuleType:
    """Write generated source to ``directory`` and import it under a unique name."""
    path = directory / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_counter = iter(range(1_000_000))


@pytest.fixture(scope="session")
def compile_x(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., types.ModuleType]:
    """``compile_x(file_or_text, constants)`` -> imported generated module."""
    directory = tmp_path_factory.mktemp("generated")

    def compile_(source: str | Path, constants: dict[str, int] | None = None):  # noqa: ANN202
        if isinstance(source, Path):
            spec = parse_file(source, constants)
        else:
            spec = parse(source, "inline.x", constants)
        name = f"xdrgen_{next(_counter)}"
        return import_source(generate(spec), name, directory)

    return compile_


@pytest.fixture(scope="session")
def demo(compile_x):  # noqa: ANN001, ANN201
    return compile_x(DATA / "demo.x")


@pytest.fixture(scope="session")
def demo_dynamic():  # noqa: ANN201
    return load_spec(parse_file(DATA / "demo.x"))


@pytest.fixture(scope="session")
def everything(compile_x):  # noqa: ANN001, ANN201
    return compile_x(DATA / "everything.x", UUID_CONSTANTS)


@pytest.fixture(scope="session")
def everything_dynamic():  # noqa: ANN201
    return load_spec(parse_file(DATA / "everything.x", UUID_CONSTANTS))


@pytest.fixture(params=["generated", "dynamic"])
def demo_impl(request, demo, demo_dynamic):  # noqa: ANN001, ANN201
    """Run a test against both implementations."""
    return demo if request.param == "generated" else demo_dynamic
