"""The wheel works outside the clone: built (``python -m build`` when the dev extra has it,
else ``pip wheel``), installed into a fresh venv, its ``virtwire`` runs the demo, prints its
version, serves python3-libvirt, and its pytest plugin and package data are there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import need_peer
from virtwire import __version__

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result


def _build(tmp_path: Path) -> Path:
    """sdist + wheel of a copy of the working tree (an in-tree build would leave build/)."""
    src, dist = tmp_path / "src", tmp_path / "dist"
    shutil.copytree(
        ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info")
    )
    has_build = subprocess.run(
        [sys.executable, "-c", "import build.__main__"], cwd=tmp_path, capture_output=True
    )
    if has_build.returncode == 0:  # the dev extra
        _run([sys.executable, "-m", "build", "--outdir", str(dist), str(src)], cwd=tmp_path)
        assert len(list(dist.glob("virtwire-*.tar.gz"))) == 1
    else:
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("virtwire-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_installs_and_works_outside_the_clone(tmp_path: Path) -> None:
    wheel = _build(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "virtwire/testing.py" in names and "virtwire/protocol/defs/remote_protocol.x" in names
    assert not any(n.startswith(("client/", "server/", "tests/")) for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin/python"),
            "install",
            "-q",
            str(wheel),
        ]
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    virtwire = str(venv / "bin/virtwire")

    assert _run([virtwire, "--version"], cwd=work, env=env).stdout.strip() == __version__
    demo = _run([virtwire, "demo"], cwd=work, env=env).stdout
    assert "callback #1: event 'device-added' for domain 'demo-vm': memdimm0" in demo
    found = _run(
        [
            str(venv / "bin/python"),
            "-c",
            "import importlib.util as u, virtwire.server; assert u.find_spec('virtwire.testing');"
            "print(virtwire.server.__file__)",
        ],
        cwd=work,
        env=env,
    ).stdout
    assert Path(found.strip()).is_relative_to(venv)

    need_peer(Path(SYSTEM_PYTHON).exists(), SYSTEM_PYTHON)
    sock = work / "sock"
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen(
        [virtwire, "serve", "--state-dir", str(work / "st"), "--unix", str(sock)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "listening on unix:" not in (work / "serve.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (
                work / "serve.log"
            ).read_text()
            time.sleep(0.05)  # polling the log with a deadline
        code = f"import libvirt; c = libvirt.open('test+unix:///default?socket={sock}'); print(c.lookupByName('test').info())"
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", code], capture_output=True, text=True, timeout=60
        )
        need_peer("No module named 'libvirt'" not in probe.stderr, "python3-libvirt")
        assert probe.returncode == 0, probe.stderr
        assert re.match(r"\[1, 8388608, 2097152, 2, \d+\]", probe.stdout)
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert proc.returncode == 0 and not sock.exists()
