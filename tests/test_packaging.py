"""The tree stays ruff-clean and installs as the design card says (virtwire.* only)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> str | None:
    """The ruff next to this interpreter (the test extra installs it), else one on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return shutil.which("ruff")
    return find_ruff_bin()


def test_ruff_clean() -> None:
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff not installed")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_subpackages_import_under_virtwire_only() -> None:
    import virtwire.client
    import virtwire.protocol
    import virtwire.server
    import virtwire.tools
    import virtwire.xdr

    for module in (virtwire.xdr, virtwire.protocol, virtwire.server, virtwire.client):
        assert Path(module.__file__).resolve().is_relative_to(ROOT)
    # the folders must not leak as top-level modules of the installed distribution
    code = "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(n) for n in ('client','server','protocol','tools')))"
    assert subprocess.run([sys.executable, "-c", code], cwd="/").returncode == 0


def test_every_package_dir_is_listed_in_pyproject() -> None:
    """A new sub-package folder that pyproject.toml does not list would be missing from wheels."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["package-dir"].values())
    for folder in ("xdr", "protocol", "server", "client", "tools"):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix()
            if "__pycache__" in rel:
                continue
            assert rel in listed, f"{rel} is a package but not listed in pyproject.toml"
