"""The committed codecs in protocol/generated/ match a fresh run of the generator, and the
C-header constants libvirt's .x files rely on are applied."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from virtwire.protocol import constants, regenerate
from virtwire.protocol.generated import remote_protocol as rp

SOURCES = regenerate.sources()


def test_every_x_file_has_a_generated_module() -> None:
    stems = {p.stem for p in SOURCES}
    assert {"remote_protocol", "virnetprotocol", "virkeepaliveprotocol"} <= stems
    for stem in stems:
        module = regenerate.GENERATED_DIR / f"{stem}.py"
        package = regenerate.GENERATED_DIR / stem / "__init__.py"
        assert module.exists() != package.exists(), stem


def test_the_big_protocol_is_a_package_the_others_modules() -> None:
    files = regenerate.generate(regenerate.DEFS_DIR / "remote_protocol.x")
    assert "remote_protocol/__init__.py" in files and "remote_protocol/_shared.py" in files
    assert len(files) > 10
    assert list(regenerate.generate(regenerate.DEFS_DIR / "virnetprotocol.x")) == [
        "virnetprotocol.py"
    ]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_generated_module_is_not_stale(source: Path) -> None:
    assert regenerate.stale_files([source]) == [], (
        f"protocol/generated/{source.stem}.py is stale: run python -m virtwire.protocol.regenerate"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_generated_module_imports(source: Path) -> None:
    module = importlib.import_module(f"virtwire.protocol.generated.{source.stem}")
    assert module.CODECS


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    source = regenerate.DEFS_DIR / "remote_protocol.x"
    fresh = regenerate.generate(source)
    package = tmp_path / "remote_protocol"
    package.mkdir()
    for name, text in fresh.items():
        (tmp_path / name).write_text(text)
    assert regenerate.stale_files([source], tmp_path) == []
    part = package / "_shared.py"
    part.write_text(fresh["remote_protocol/_shared.py"] + "# hand edit\n")
    assert regenerate.stale_files([source], tmp_path) == [part]
    part.unlink()
    assert regenerate.stale_files([source], tmp_path) == [part]
    part.write_text(fresh["remote_protocol/_shared.py"])
    # left over from an earlier layout: a part that is gone, the single module
    (package / "_gone.py").write_text("")
    (tmp_path / "remote_protocol.py").write_text("")
    assert regenerate.stale_files([source], tmp_path) == [
        tmp_path / "remote_protocol.py",
        package / "_gone.py",
    ]
    assert regenerate.write(source, tmp_path) == [
        f"removed {tmp_path / 'remote_protocol.py'}",
        f"removed {package / '_gone.py'}",
    ]
    assert regenerate.stale_files([source], tmp_path) == []


def test_write_turns_a_package_back_into_a_module(tmp_path: Path) -> None:
    source = regenerate.DEFS_DIR / "virnetprotocol.x"
    (tmp_path / "virnetprotocol").mkdir()
    (tmp_path / "virnetprotocol" / "__init__.py").write_text("")
    assert regenerate.stale_files([source], tmp_path) == [
        tmp_path / "virnetprotocol.py",
        tmp_path / "virnetprotocol" / "__init__.py",
    ]
    regenerate.write(source, tmp_path)
    assert not (tmp_path / "virnetprotocol").exists()
    assert regenerate.stale_files([source], tmp_path) == []


def test_check_cli_exit_status(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    source = regenerate.DEFS_DIR / "remote_protocol.x"
    (tmp_path / "remote_protocol.py").write_text("# stale\n")
    monkeypatch.setattr(regenerate, "GENERATED_DIR", tmp_path)
    monkeypatch.setattr(regenerate, "sources", lambda defs_dir=None: [source])
    monkeypatch.setattr(
        regenerate,
        "stale_files",
        lambda srcs=None, generated_dir=tmp_path: ([tmp_path / "remote_protocol.py"]),
    )
    assert regenerate.main(["--check"]) == 1
    assert "remote_protocol.py" in capsys.readouterr().err


def test_header_constants_are_applied() -> None:
    assert rp.REMOTE_SECURITY_MODEL_MAX == 257
    assert rp.REMOTE_SECURITY_LABEL_MAX == 4097
    assert rp.REMOTE_SECURITY_DOI_MAX == 257
    assert rp.REMOTE_STRING_MAX == 4194304
    assert rp.REMOTE_PROGRAM == constants.REMOTE_PROGRAM
    # remote_uuid is exactly VIR_UUID_BUFLEN raw bytes
    assert rp.CODECS["remote_uuid"].pack(bytes(range(16))) == bytes(range(16))
    # typed-param union arms are VIR_TYPED_PARAM_INT..STRING = 1..7
    value = rp.CODECS["remote_typed_param_value"]
    assert value.pack(rp.RemoteTypedParamValue(type=1, value=-1)) == bytes.fromhex(
        "00000001ffffffff"
    )
    assert value.pack(rp.RemoteTypedParamValue(type=4, value=1)) == bytes.fromhex(
        "00000004" + "0000000000000001"
    )


def test_constants_only_for_mentioned_symbols() -> None:
    assert regenerate.constants_for("typedef opaque x[VIR_UUID_BUFLEN];") == {"VIR_UUID_BUFLEN": 16}
    assert regenerate.constants_for("const VIR_UUID_BUFLENX = 1;") == {}


def test_procedure_enum_annotations() -> None:
    by_name = {p.name: p for p in rp.PROCEDURES}
    assert by_name["REMOTE_PROC_CONNECT_OPEN"].number == 1
    assert ("acl", "connect:getattr") in by_name["REMOTE_PROC_CONNECT_OPEN"].annotations
    numbers = [p.number for p in rp.PROCEDURES]
    assert numbers == sorted(set(numbers))


def test_in_memory_generation_matches_the_cli(tmp_path: Path) -> None:
    """regenerate.py compiles in memory; the result must equal what the CLI writes, but for
    the header's regenerate command (the CLI names itself, regenerate.py names itself)."""
    source = regenerate.DEFS_DIR / "remote_protocol.x"
    cmd = [sys.executable, "-m", "virtwire.xdr", str(source), "--package", str(tmp_path)]
    for name, value in regenerate.constants_for(source.read_text()).items():
        cmd += ["--const", f"{name}={value}"]
    subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    ours = regenerate.generate(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name.removeprefix("remote_protocol/") for name in ours
    )
    for name, text in ours.items():
        cli = (tmp_path / name.removeprefix("remote_protocol/")).read_text().splitlines()
        mine = text.splitlines()
        assert cli[1] == "# regenerate with `python -m virtwire.xdr remote_protocol.x`."
        assert mine[1] == f"# regenerate with `{regenerate.REGENERATE_COMMAND}`."
        assert cli[:1] + cli[2:] == mine[:1] + mine[2:], name
