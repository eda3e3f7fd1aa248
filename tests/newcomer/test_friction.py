"""The small newcomer frictions of issue 15, each held by a test."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_subpackages_import_from_the_clone_root() -> None:
    """The root virtwire/ folder does not shadow the sub-packages (cwd first on sys.path)."""
    code = "from virtwire.client import libvirt; import virtwire.server; print(libvirt.__name__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "virtwire.client.libvirt"


def test_help_lists_only_existing_tools_and_version() -> None:
    from virtwire.tools import cli

    from virtwire import __version__

    help_text = subprocess.run(
        [sys.executable, "-m", "virtwire", "--help"], capture_output=True, text=True
    ).stdout
    tools_line = next(line for line in help_text.splitlines() if line.startswith("Tools:"))
    listed = tools_line.removeprefix("Tools:").replace(",", " ").split()
    assert listed == cli.available_tools() and "serve" in listed
    for name in listed:  # every advertised tool runs
        assert (ROOT / "tools" / f"{cli.TOOLS[name]}.py").is_file()
    version = subprocess.run(
        [sys.executable, "-m", "virtwire", "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() == __version__


def test_generated_headers_name_the_real_regenerate_command() -> None:
    from virtwire.protocol.regenerate import REGENERATE_COMMAND

    generated = ROOT / "protocol/generated"
    paths = [*generated.glob("*_protocol.py"), *generated.glob("*_protocol/*.py")]
    assert any(path.name == "__init__.py" for path in paths)  # a package's files are checked too
    for path in paths:
        header = path.read_text(encoding="utf-8").splitlines()[1]
        assert header == f"# regenerate with `{REGENERATE_COMMAND}`.", path.name


def test_bench_loader_leaves_no_temporary_directory(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_xdr
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    before = set(os.listdir("/tmp"))
    gen = bench_xdr.load_generated()
    assert hasattr(gen, "RemoteDomainEventCallbackDeviceAddedMsg")
    assert not [n for n in set(os.listdir("/tmp")) - before if n.startswith("virtwire-bench-")]


def test_declared_dependencies_and_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "cryptography>=42" in project["dependencies"]
    extras = project["optional-dependencies"]
    assert any(d.startswith("ruff") for d in extras["dev"])
    assert any(d.startswith("pytest-timeout") for d in extras["test"])
    assert isinstance(project["license"], str)  # SPDX: a table warns on every build
    assert project["entry-points"]["pytest11"] == {"virtwire": "virtwire.testing"}
