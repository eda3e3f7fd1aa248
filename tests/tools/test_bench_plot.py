"""`virtwire bench --plot`: one panel per measured figure (matplotlib, the extra `plot`)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

from virtwire.tools import bench

from tests.conftest import need_extra

_PLOT = """
import json, sys
from virtwire.tools import bench
assert bench.plot(json.loads(open(sys.argv[1]).read()), sys.argv[2]) is True
"""
PANEL_PX = 260  # figsize height per panel (2.6 in) at matplotlib's default 100 dpi


def _summary() -> dict:
    """Rates, a latency median and p99 and a start-up time, as a run records them."""
    b = bench.Bench(bench.Settings(rounds=2, workloads=["lib4", "events", "startup"]))
    b.runs["lib4"] = {
        "pylibvirt@libvirtd": [{"value": 20_000.0}, {"value": 22_000.0}],
        "pylibvirt@virtwire": [{"value": 50_000.0}, {"value": 46_000.0}],
    }
    b.runs["events"] = {
        c: [{"value": 9_000.0, "latency_median_us": 90.0, "latency_p99_us": 170.0}] * 2
        for c in ("pylibvirt@libvirtd", "pylibvirt@virtwire")
    }
    b.runs["startup"] = {"daemon@libvirtd": [{"value": 30.0}], "daemon@virtwire": [{"value": 60.0}]}
    return b.summary()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_plot_has_a_panel_per_figure(tmp_path: Path) -> None:
    need_extra("matplotlib", "plot")
    out = tmp_path / "bench.png"
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(_summary()))
    # in a child: matplotlib's font cache keeps its font files open for the process' life
    done = subprocess.run(
        [sys.executable, "-c", _PLOT, str(summary), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    width, height = _png_size(out)
    # lib4's rate, the events' rate, latency median and p99, the start: five panels
    assert height == 5 * PANEL_PX and width == 900


def test_plot_without_matplotlib_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    out = tmp_path / "bench.png"
    assert bench.plot(_summary(), str(out)) is False
    assert not out.exists()
