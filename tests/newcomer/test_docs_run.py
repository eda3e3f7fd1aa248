"""Every code block marked ``<!-- test: run -->`` in README.md, docs/*.md and examples/*/README.md
runs as printed against a daemon, so a pasted example that stops working fails the suite.

The marker is an HTML comment on the line before the fence (invisible on GitHub). Blocks run
from the clone's root. The docs name the daemon of the quick start (``127.0.0.1:16509``,
``/tmp/vw/libvirt-sock``); the test starts its own daemon and substitutes its addresses, so
runs never collide. ``python`` blocks run with the clone's Python, or with the system's
``/usr/bin/python3`` when they import python3-libvirt (``import libvirt``); ``sh`` blocks run
with bash; ``console`` blocks run each ``$ `` line (output lines are the docs' own).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from virtwire.server import serve_sync

from tests.conftest import need_peer

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- test: run -->"
SYSTEM_PYTHON = "/usr/bin/python3"
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    source: str  # file:line
    lang: str
    text: str


def runnable_blocks() -> list[Block]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    files += sorted((ROOT / "examples").glob("*/README.md"))
    blocks: list[Block] = []
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.strip() != MARKER:
                continue
            fence = _FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
            assert fence, f"{path.name}:{i + 1}: {MARKER} must be followed by a ``` fence"
            end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
            rel = path.relative_to(ROOT).as_posix()
            blocks.append(Block(f"{rel}:{i + 2}", fence.group(1), "\n".join(lines[i + 2 : end])))
    return blocks


BLOCKS = runnable_blocks()


def test_the_docs_have_runnable_blocks() -> None:
    sources = {b.source.split(":")[0] for b in BLOCKS}
    assert {"README.md", "docs/server.md", "docs/client.md", "docs/testing.md"} <= sources
    # docs/testing.md's block is the example project's own suite (examples/inventory), run
    # here in a subprocess: so CI runs it through README's test command
    assert any("cd examples/inventory" in b.text and "pytest" in b.text for b in BLOCKS)


def _commands(block: Block) -> list[str]:
    if block.lang == "console":
        return [line[2:] for line in block.text.splitlines() if line.startswith("$ ")]
    return [block.text]


def _needs_peers(block: Block) -> bool:
    return bool(re.search(r"^\s*import libvirt\b|/usr/bin/python3|\bvirsh\b", block.text, re.M))


@pytest.fixture(scope="module")
def daemon():
    with serve_sync(tcp="127.0.0.1:0") as vw:
        yield vw


@pytest.mark.parametrize("block", BLOCKS, ids=[b.source for b in BLOCKS])
def test_block_runs_as_printed(block: Block, daemon, tmp_path: Path) -> None:  # noqa: ANN001
    if _needs_peers(block):
        if "virsh" in block.text:
            need_peer(shutil.which("virsh") is not None, "virsh")
        need_peer(Path(SYSTEM_PYTHON).exists(), SYSTEM_PYTHON)
    host, port = daemon.tcp
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for command in _commands(block):
        command = command.replace("127.0.0.1:16509", f"{host}:{port}")
        command = command.replace("/tmp/vw/libvirt-sock", str(daemon.socket))
        if block.lang == "python":
            python = (
                SYSTEM_PYTHON if re.search(r"^import libvirt\b", command, re.M) else sys.executable
            )
            argv = [python, "-c", command]
        elif block.lang in ("sh", "console"):
            argv = ["bash", "-euo", "pipefail", "-c", command]
        else:
            pytest.fail(f"{block.source}: cannot run a {block.lang!r} block")
        result = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
        )
        assert result.returncode == 0, (
            f"{block.source}: {command}\n{result.stdout}\n{result.stderr}"
        )
