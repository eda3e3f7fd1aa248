"""README's first command from a clean clone, from another working directory, as a normal
user where the machine allows (root: ``runuser -u nobody``), then as the caller: works, and
its first run prints nothing but the demo (no setuptools or pip warning lines)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _normal_user_prefix() -> list[str] | None:
    """How to run a command as a normal user: nothing if we are one, runuser as root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        return None
    probe = subprocess.run([runuser, "-u", "nobody", "--", "true"], capture_output=True)
    return [runuser, "-u", "nobody", "--"] if probe.returncode == 0 else None


def _check_demo(result: subprocess.CompletedProcess[str]) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "callback #1: event 'device-added' for domain 'demo-vm': memdimm0" in out
    warnings = [line for line in out.splitlines() if "warning" in line.lower()]
    assert warnings == [], warnings


@pytest.mark.slow
def test_run_demo_from_a_fresh_clone_and_another_directory(tmp_path: Path) -> None:
    # a clone of the committed tree (HEAD): uncommitted edits are not part of it
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    as_user = _normal_user_prefix()
    # a normal user cannot enter pytest's private (0700) temporary directory: when one runs
    # the demo, the clone lives in a world-traversable directory of its own, removed below
    base = Path(tempfile.mkdtemp(prefix="vw-clone-")) if as_user else tmp_path
    try:
        clone, elsewhere = base / "clone", base / "elsewhere"
        subprocess.run(
            ["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)],
            check=True,
            capture_output=True,
        )
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "VIRTUAL_ENV"))}
        runs: list[list[str]] = []
        if as_user:
            os.chmod(base, 0o755)
            shutil.chown(clone, "nobody")
            for path in clone.rglob("*"):
                os.lchown(path, pwd_uid("nobody"), -1)
            shutil.chown(elsewhere, "nobody")
            runs.append([*as_user, "env", "HOME=" + str(elsewhere), str(clone / "run"), "demo"])
        runs.append([str(clone / "run"), "demo"])
        for argv in runs:  # the first one makes .venv: it must print no warnings either
            result = subprocess.run(
                argv, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600
            )
            _check_demo(result)
        assert (clone / ".venv" / ".installed").exists()
        # ./run keeps the caller's directory: a relative path names the caller's file
        shutil.copy(ROOT / "tests/data/captures/a-list-all.pcap", elsewhere / "mine.pcap")
        run = subprocess.run(
            [str(clone / "run"), "decode", "mine.pcap", "--port", "auto"],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0 and "REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS" in (
            run.stdout + run.stderr
        ), run.stdout + run.stderr
        helped = subprocess.run(
            [str(clone / "run"), "help"], cwd=elsewhere, env=env, capture_output=True, text=True
        )
        assert helped.returncode == 0 and "./run help" in helped.stdout
        # only tools whose module exists are listed (tools/cli.py TOOLS)
        listed = helped.stdout.split("Tools: ", 1)[1].split("\n", 1)[0].split(", ")
        assert listed[:2] == ["serve", "demo"], helped.stdout
        assert all((clone / "tools" / f"{name}.py").is_file() for name in listed), listed
    finally:
        if base != tmp_path:
            shutil.rmtree(base, ignore_errors=True)


def pwd_uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid
