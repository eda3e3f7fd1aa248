"""`virtwire bench`: the quick run against real libvirtd, and the report's structure (not speeds)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from virtwire.tools import bench, bench_servers, bench_worker

from tests.client.waiting import wait_until
from tests.conftest import need_peer
from tests.interop.conftest import have_libvirtd, have_pylibvirt


def _fake_summary() -> dict:
    b = bench.Bench(bench.Settings(rounds=3, workloads=["lib1", "async64", "rss"]))
    for combo, values in {
        "pylibvirt@libvirtd": [100.0, 110.0, 90.0],
        "pylibvirt@virtwire": [200.0, 220.0, 180.0],
        "floor": [400.0, 400.0, 400.0],
    }.items():
        b.runs.setdefault("lib1", {})[combo] = [
            {"value": v, "client_cpu_us": 20.0 + i, "server_cpu_us": 10.0 * (i + 1)}
            for i, v in enumerate(values)
        ]
    b.runs["lib4"] = {"pylibvirt@libvirtd": [{"value": 50.0}]}
    b.runs["async64"] = {"async@virtwire": [{"value": 500.0}]}
    b.runs["rss"] = {"daemon@libvirtd": [{"value": 8.0}], "daemon@virtwire": [{"value": 4.0}]}
    return b.summary()


class _FakeWorker:
    made: list[_FakeWorker] = []

    def __init__(self, python: str, kind: str, pycache: Path | None = None) -> None:
        self.python, self.kind, self.pycache = python, kind, pycache
        self.event_loop_registered = False
        self.closed = False
        self.asked: list[str] = []
        _FakeWorker.made.append(self)

    def ask(self, **req):  # noqa: ANN003, ANN201
        self.asked.append(req["op"])
        return {"value": 1.0}

    def close(self) -> None:
        self.closed = True


def test_plain_calls_get_a_process_without_the_event_loop(monkeypatch) -> None:
    """An events/flood/fanout workload leaves libvirt's default event implementation
    registered in the sync client's process; the next plain-call workload of that client
    runs in a fresh one, so every round measures the same thing."""
    monkeypatch.setattr(bench, "Worker", _FakeWorker)
    _FakeWorker.made.clear()
    b = bench.Bench(bench.Settings(rounds=1))

    class Server:
        uri = "test+tcp://127.0.0.1:1/default"
        control = "/nonexistent"
        hotplug_uri = None
        pid = 0

    b.servers["virtwire"] = Server()
    first = b.workers["pylibvirt"] = _FakeWorker("/usr/bin/python3", "libvirt")
    by_id = {w.id: w for w in bench.WORKLOADS}
    b.measure(by_id["lib1"], "pylibvirt@virtwire")
    assert b.workers["pylibvirt"] is first  # nothing registered yet: same process
    b.measure(by_id["events"], "pylibvirt@virtwire")
    b.measure(by_id["lib4"], "pylibvirt@virtwire")
    second = b.workers["pylibvirt"]
    assert second is not first and first.closed and second.asked == ["rpc"]
    assert (second.python, second.kind) == ("/usr/bin/python3", "libvirt")
    b.measure(by_id["lookup1"], "pylibvirt@virtwire")
    assert b.workers["pylibvirt"] is second  # its process never registered one


def test_summary_medians_spread_and_ratios() -> None:
    s = _fake_summary()
    rows = s["results"]["lib1"]["metrics"]["value"]["combos"]
    assert rows["pylibvirt@virtwire"]["median"] == 200.0
    assert rows["pylibvirt@virtwire"]["spread_pct"] == pytest.approx(20.0)
    assert rows["pylibvirt@virtwire"]["vs_libvirtd"] == pytest.approx(2.0)
    assert rows["pylibvirt@virtwire"]["vs_floor"] == pytest.approx(0.5)
    assert rows["pylibvirt@libvirtd"]["vs_libvirtd"] == pytest.approx(1.0)
    # async is measured against python3-libvirt's 4-thread figure, as the targets say
    assert s["results"]["async64"]["metrics"]["value"]["combos"]["async@virtwire"][
        "vs_libvirtd"
    ] == pytest.approx(10.0)
    # lower is better for memory: half libvirtd's RSS is a 2x ratio
    rss = s["results"]["rss"]["metrics"]["value"]["combos"]["daemon@virtwire"]
    assert rss["vs_libvirtd"] == pytest.approx(2.0)
    # CPU per call of each side: medians over the rounds, a column of the table
    assert rows["pylibvirt@virtwire"]["cpu_us"] == {"client": 21.0, "server": 20.0}
    assert "cpu_us" not in rss
    text = bench.table(s)
    assert re.search(
        r"pylibvirt@virtwire\s+200\s+calls/s\s+±10%\s+2\.00x\s+0\.50x\s+21\.0\+20\.0\n", text
    )


def test_start_floor_is_the_echo_servers_own_start() -> None:
    """The start-up row's floor: a second echo server started on a known port, timed to
    its first echoed frame, and gone after; daemons are compared with it (lower is better)."""
    assert "floor" in bench.combos_for(bench._BY_ID["startup"])
    assert "floor" not in bench.combos_for(bench._BY_ID["rss"])
    b = bench.Bench(bench.Settings(rounds=1, workloads=["startup"], combos=["floor"]))
    assert b._needed() == ({"echo"}, set())  # no floor client for a start
    echo = bench_servers.EchoServer()
    before = set(_children())
    result = echo.fresh()
    assert 0 < result["value"] < bench_servers._START_TIMEOUT * 1e3
    assert set(_children()) == before  # the second echo server was stopped and reaped
    b.runs["startup"] = {
        "daemon@libvirtd": [{"value": 30.0}],
        "daemon@virtwire": [{"value": 60.0}],
        "floor": [{"value": 50.0}],
    }
    rows = b.summary()["results"]["startup"]["metrics"]["value"]["combos"]
    assert rows["daemon@virtwire"]["vs_floor"] == pytest.approx(50 / 60)
    assert rows["daemon@libvirtd"]["vs_floor"] == pytest.approx(50 / 30)
    assert rows["floor"]["vs_libvirtd"] == pytest.approx(30 / 50)
    assert rows["floor"]["vs_floor"] is None


def test_cpu_window_reads_both_processes_clocks() -> None:
    """A call workload's CPU per call: this process's clock and the server's (another
    process, read through its CPU-time clock), over the measured window."""
    assert bench_worker.process_cpu(os.getpid()) == pytest.approx(time.process_time(), abs=0.05)
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    busy = subprocess.Popen([sys.executable, "-c", spin + "input()"], stdin=subprocess.PIPE)
    try:
        window = bench_worker.CpuWindow(busy.pid)
        # until the child has spun its 0.3 s of CPU (a condition, not a fixed time)
        wait_until(lambda: (bench_worker.process_cpu(busy.pid) or 0) - window.server0 >= 0.25, 60)
        got = window.per_call(1000)
    finally:
        busy.communicate(b"\n", timeout=30)
    assert got["server_cpu_us"] >= 250.0  # ≥ 0.25 s over 1000 calls
    assert got["client_cpu_us"] < got["server_cpu_us"]
    assert bench_worker.process_cpu(busy.pid) is None  # reaped: no clock to read
    assert bench_worker.CpuWindow(None).per_call(10).keys() == {"client_cpu_us"}
    assert bench_worker.CpuWindow(busy.pid).per_call(0) == {}


def _children() -> list[int]:
    """This process's children (from /proc), zombies included."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(stat.parent.name))
    return found


def test_options() -> None:
    with pytest.raises(SystemExit):
        bench._parse(["-w", "nosuch"])
    with pytest.raises(SystemExit):
        bench._parse(["-c", "virsh@libvirtd"])
    _, quick = bench._parse(["--quick", "--rounds", "2"])
    assert quick.rounds == 2 and quick.duration == bench.QUICK["duration"]
    assert "pylibvirt@uvloop" not in quick.combos
    _, with_uvloop = bench._parse(["--uvloop"])
    assert "pylibvirt@uvloop" in with_uvloop.combos


@pytest.mark.interop
def test_quick_run_side_by_side(tmp_path: Path) -> None:
    need_peer(have_libvirtd(), "libvirtd (Debian package libvirt-daemon) and virsh")
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    tmp = Path(tempfile.gettempdir())
    before = {p.name for p in tmp.glob("vwbench-*")}
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "virtwire.tools.cli", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(out.read_text())
    assert summary["skipped"] == {} and summary["errors"] == []
    assert set(summary["results"]) == {w.id for w in bench.WORKLOADS}
    for w in bench.WORKLOADS:
        metrics = summary["results"][w.id]["metrics"]
        assert set(metrics) == {m.key for m in w.metrics}
        for block in metrics.values():
            wanted = set(bench.combos_for(w)) & set(bench.DEFAULT_COMBOS)
            assert set(block["combos"]) == wanted, w.id
            for row in block["combos"].values():
                assert set(row) >= {"median", "min", "max", "spread_pct", "runs", "vs_libvirtd"}
                assert len(row["runs"]) == 1 and row["median"] >= 0
    lib1 = summary["results"]["lib1"]["metrics"]["value"]["combos"]
    assert lib1["pylibvirt@libvirtd"]["vs_libvirtd"] == 1.0
    # every call workload knows what each side spent per call, libvirtd's side too
    for w in bench.WORKLOADS:
        if w.kind in ("rpc", "async"):
            for combo, row in summary["results"][w.id]["metrics"]["value"]["combos"].items():
                assert set(row["cpu_us"]) == {"client", "server"}, (w.id, combo)
                assert all(v > 0 for v in row["cpu_us"].values()), (w.id, combo)
    events = set(bench.combos_for(bench._BY_ID["events"])) & set(bench.DEFAULT_COMBOS)
    assert summary["results"]["events"]["lost"] == dict.fromkeys(events, 0)
    # the table: a header, every workload, every combination, ratios
    for w in bench.WORKLOADS:
        assert w.title in done.stdout
    assert "vs libvirtd" in done.stdout and "pylibvirt@virtwire" in done.stdout
    # every server it started is gone, and so are its directories
    for pid in re.findall(r"pid (\d+) on", done.stderr):
        assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert {p.name for p in tmp.glob("vwbench-*")} == before


def _bench_json(tmp_path: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "virtwire.tools.cli", "bench", "--json", str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text()), done


def test_flood_fanout_and_async_events_against_virtwire(tmp_path: Path) -> None:
    """Tiny versions of the generator flood, the fanout and the async client's events,
    virtwire only (no peer needed): every event arrives, in order, and is counted."""
    combos = "async@virtwire,dropin@virtwire"
    summary, done = _bench_json(
        tmp_path,
        "--quick",
        "-w",
        "flood,fanout,events",
        "-c",
        combos,
        "--flood-events",
        "3000",
        "--fanout-clients",
        "30",
    )
    assert summary["errors"] == [] and summary["skipped"] == {}
    assert summary["params"]["flood_events"] == 3000
    assert summary["params"]["fanout_clients"] == 30
    for wid in ("flood", "fanout", "events"):
        res = summary["results"][wid]
        assert set(res["metrics"]["value"]["combos"]) == set(combos.split(",")), wid
        assert res["lost"] == dict.fromkeys(combos.split(","), 0), wid
        for row in res["metrics"]["value"]["combos"].values():
            assert row["median"] > 0, wid
    assert summary["results"]["flood"]["out_of_order"] == dict.fromkeys(combos.split(","), 0)
    assert "DEVICE_ADDED flood" in done.stdout and "registered clients" in done.stdout
