"""`virtwire bench`: virtwire side by side with C libvirt, in one run, as ratios.

Clients: ``pylibvirt`` (python3-libvirt under /usr/bin/python3), ``dropin``
(``virtwire.client.libvirt``), ``async`` (``virtwire.client``); servers: ``libvirtd`` (a
private one, spec/peers.md §2) and ``virtwire`` (`virtwire serve`); plus ``floor``: 28-byte
frames echoed by a minimal asyncio server over the same transport (TCP loopback). Every
measurement is repeated in interleaved rounds (each round runs every workload for every
combination, in a rotating order), and the table shows medians, the spread (min..max of
the rounds, in % of the median) and the ratio against python3-libvirt → libvirtd (>1 is
better than C libvirt, whatever the unit's direction).

    virtwire bench                      # everything, ~2-3 minutes
    virtwire bench --quick              # a smoke run (< 20 s)
    virtwire bench -w lib4,async64 -c pylibvirt@libvirtd,pylibvirt@virtwire,async@virtwire
    virtwire bench --json out.json --plot out.png   # the chart needs matplotlib
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virtwire.tools.bench_servers import (
    WORKER,
    EchoServer,
    LibvirtdServer,
    ServerUnavailable,
    VirtwireServer,
    python_env,
    raise_fd_limit,
)

__all__ = ["COMBOS", "WORKLOADS", "main", "run"]

SYSTEM_PYTHON = "/usr/bin/python3"
REFERENCE = "pylibvirt@libvirtd"
DAEMON_REFERENCE = "daemon@libvirtd"
SYNC_CLIENTS = ("pylibvirt", "dropin")
SERVERS = ("libvirtd", "virtwire", "uvloop")  # uvloop: `virtwire serve --event-loop uvloop`


@dataclass(frozen=True)
class Metric:
    key: str  # in the worker's result
    unit: str
    higher_better: bool


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    kind: str  # rpc, async, connect, events, startup, rss
    params: dict = field(default_factory=dict)
    metrics: tuple[Metric, ...] = (Metric("value", "calls/s", True),)
    # the python3-libvirt → libvirtd workload the ratio is taken against (default: itself)
    reference: str | None = None


_MS = (Metric("value", "ms", False),)
# the call workloads also record the CPU time per call of each side (bench_worker.CpuWindow)
CPU_SIDES = ("client", "server")
WORKLOADS: tuple[Workload, ...] = (
    Workload("lib1", "getLibVersion, 1 thread", "rpc", {"call": "getLibVersion", "threads": 1}),
    Workload("lib4", "getLibVersion, 4 threads", "rpc", {"call": "getLibVersion", "threads": 4}),
    Workload("lookup1", "lookupByName, 1 thread", "rpc", {"call": "lookupByName", "threads": 1}),
    Workload("lookup4", "lookupByName, 4 threads", "rpc", {"call": "lookupByName", "threads": 4}),
    *(
        Workload(
            f"async{n}",
            f"async getLibVersion, {n} in flight",
            "async",
            {"call": "getLibVersion", "inflight": n},
            reference="lib4",
        )
        for n in (1, 16, 64)
    ),
    Workload("connect", "open + close (median)", "connect", metrics=_MS),
    Workload(
        "events",
        "events, suspend/resume generator",
        "events",
        metrics=(
            Metric("value", "events/s", True),
            Metric("latency_median_us", "µs latency median", False),
            Metric("latency_p99_us", "µs latency p99", False),
        ),
    ),
    Workload(
        "flood",
        "DEVICE_ADDED flood, daemon generator",
        "flood",
        metrics=(Metric("value", "events/s", True),),
    ),
    Workload(
        "fanout",
        "one hot-plug → N registered clients",
        "fanout",
        metrics=(Metric("value", "ms until all have it", False),),
    ),
    Workload("startup", "daemon start → first answered call", "startup", metrics=_MS),
    Workload(
        "rss",
        "daemon RSS per idle connection",
        "rss",
        metrics=(
            Metric("value", "KiB/connection", False),
            Metric("before_kib", "KiB RSS, 1 connection", False),
        ),
    ),
)
_BY_ID = {w.id: w for w in WORKLOADS}


def combos_for(w: Workload) -> list[str]:
    if w.kind == "rpc":
        return [f"{c}@{s}" for c in SYNC_CLIENTS for s in SERVERS] + ["floor"]
    if w.kind == "async":
        return [f"async@{s}" for s in SERVERS] + ["floor"]
    if w.kind == "connect":
        return [f"{c}@{s}" for c in (*SYNC_CLIENTS, "async") for s in SERVERS]
    if w.kind == "events":
        return [f"{c}@{s}" for c in (*SYNC_CLIENTS, "async") for s in SERVERS]
    if w.kind == "flood":  # the generator is virtwire's own: no libvirtd figure
        return [f"{c}@{s}" for c in (*SYNC_CLIENTS, "async") for s in SERVERS if s != "libvirtd"]
    if w.kind == "fanout":
        return [f"{c}@{s}" for c in (*SYNC_CLIENTS, "async") for s in SERVERS]
    if w.kind == "startup":  # the floor: the echo server's own start → first echo
        return [f"daemon@{s}" for s in SERVERS] + ["floor"]
    return [f"daemon@{s}" for s in SERVERS]


COMBOS = sorted({c for w in WORKLOADS for c in combos_for(w)})
DEFAULT_COMBOS = [c for c in COMBOS if not c.endswith("@uvloop")]


@dataclass
class Settings:
    rounds: int = 5
    duration: float = 0.6
    connect_iters: int = 60
    event_duration: float = 0.6
    rss_connections: int = 500
    flood_events: int = 100_000
    fanout_clients: int = 1000
    workloads: list[str] = field(default_factory=lambda: [w.id for w in WORKLOADS])
    combos: list[str] = field(default_factory=lambda: list(DEFAULT_COMBOS))


QUICK = {
    "rounds": 1,
    "duration": 0.1,
    "connect_iters": 5,
    "event_duration": 0.1,
    "rss_connections": 50,
    "flood_events": 2000,
    "fanout_clients": 20,
}


# ------------------------------------------------------------------------------------------
# client workers
# ------------------------------------------------------------------------------------------


class Worker:
    """One measuring process (bench_worker.py), kept for the whole run."""

    def __init__(self, python: str, kind: str, pycache: Path | None = None) -> None:
        env = python_env(pycache)
        self.python, self.kind, self.pycache = python, kind, pycache
        # libvirt's default event implementation, once registered by an event workload,
        # stays for the process's life (and with it an event-loop thread on every socket)
        self.event_loop_registered = False
        self.proc = subprocess.Popen(
            [python, str(WORKER), kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise ServerUnavailable(f"{kind} worker did not start")

    def ask(self, **req: Any) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.kind} worker died")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


#: what `pip install` does for a wheel: bytecode for every module of the package
_COMPILE_ALL = (
    "import compileall, os, virtwire.protocol, virtwire.server, virtwire.tools, virtwire.xdr, "
    "virtwire.client\n"
    "for m in (virtwire.protocol, virtwire.server, virtwire.tools, virtwire.xdr, virtwire.client):\n"
    "    compileall.compile_dir(os.path.dirname(m.__file__), quiet=1)"
)


def bytecode_cache() -> Path:
    """Where our Python children keep bytecode when PYTHONDONTWRITEBYTECODE is set.

    Kept between runs (``$VIRTWIRE_BENCH_PYCACHE``, else ``$XDG_CACHE_HOME/virtwire/
    bench-pycache``): compiling the generated codecs takes 4-10 s on a busy machine.
    """
    given = os.environ.get("VIRTWIRE_BENCH_PYCACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "virtwire" / "bench-pycache"


def _have_pylibvirt() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True)
    return probe.returncode == 0


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, settings: Settings, log: Any = sys.stderr) -> None:
        self.s = settings
        self.log = log
        self.servers: dict[str, Any] = {}
        self.workers: dict[str, Worker] = {}
        self.skipped: dict[str, str] = {}
        self.errors: list[str] = []
        # workload id -> combo -> list of result dicts (one per round)
        self.runs: dict[str, dict[str, list[dict]]] = {}

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    # -- setup / teardown -----------------------------------------------------------------

    def _needed(self) -> tuple[set[str], set[str]]:
        servers, clients = set(), set()
        for wid in self.s.workloads:
            for combo in combos_for(_BY_ID[wid]):
                if combo not in self.s.combos:
                    continue
                if combo == "floor":
                    servers.add("echo")
                    if _BY_ID[wid].kind != "startup":  # a start needs no floor client
                        clients.add("floor")
                    continue
                client, server = combo.split("@")
                servers.add(server)
                if client != "daemon":
                    clients.add(client)
        return servers, clients

    def setup(self) -> None:
        """Start the servers and the client workers, all at once (their imports dominate)."""
        servers, clients = self._needed()
        raise_fd_limit()  # inherited by the servers and workers
        pycache = bytecode_cache()
        makers = {
            "libvirtd": LibvirtdServer,
            "virtwire": lambda: VirtwireServer(pycache=pycache),
            "uvloop": lambda: VirtwireServer(
                ["--event-loop", "uvloop"], name="uvloop", pycache=pycache
            ),
            "echo": EchoServer,
        }
        kinds = {
            "pylibvirt": "libvirt",
            "dropin": "virtwire.client.libvirt",
            "async": "async",
            "floor": "floor",
        }

        def start_server(name: str) -> None:
            server = makers[name]()
            try:
                server.start()
            except ServerUnavailable as exc:
                self.skipped[name] = str(exc)
                self.say(f"bench: skipping {name}: {exc}")
                return
            self.servers[name] = server
            self.say(f"bench: {name} pid {server.pid} on 127.0.0.1:{server.port}")

        def start_worker(client: str) -> None:
            if client == "pylibvirt" and not _have_pylibvirt():
                self.skipped[client] = "python3-libvirt not importable by /usr/bin/python3"
                return
            python = SYSTEM_PYTHON if client == "pylibvirt" else sys.executable
            try:
                self.workers[client] = Worker(python, kinds[client], pycache)
            except ServerUnavailable as exc:
                self.skipped[client] = str(exc)

        ours = {"virtwire", "uvloop", "dropin", "async"}  # import virtwire: need the cache
        first = [threading.Thread(target=start_server, args=(n,)) for n in servers - ours]
        first += [threading.Thread(target=start_worker, args=(c,)) for c in clients - ours]
        for t in first:
            t.start()
        env = python_env(pycache)
        if "PYTHONPYCACHEPREFIX" in env and (ours & (servers | clients)):
            # compile everything once before our daemons start, as `pip install` does: a
            # daemon that compiles the generated codecs itself keeps ~300 MB of freed heap,
            # which hides its per-connection RSS, and the codecs' parts are imported on first
            # use (a part compiled by the first measured start would count in that start)
            subprocess.run(
                [sys.executable, "-c", _COMPILE_ALL],
                env=env,
                check=False,
                stdout=subprocess.DEVNULL,
            )
        then = [threading.Thread(target=start_server, args=(n,)) for n in servers & ours]
        then += [threading.Thread(target=start_worker, args=(c,)) for c in clients & ours]
        for t in then:
            t.start()
        for t in first + then:
            t.join()

    def teardown(self) -> None:
        """Stop every worker and server (by PID), all at once."""

        def stop(thing: Any) -> None:
            with contextlib.suppress(Exception):
                if isinstance(thing, Worker):
                    thing.close()
                else:
                    thing.stop()

        things = [*self.workers.values(), *self.servers.values()]
        threads = [threading.Thread(target=stop, args=(t,)) for t in things]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.workers.clear()
        self.servers.clear()

    # -- one measurement ------------------------------------------------------------------

    def measure(self, w: Workload, combo: str) -> dict | None:
        s = self.s
        if combo == "floor":
            echo, worker = self.servers.get("echo"), self.workers.get("floor")
            if echo is None:
                return None
            if w.kind == "startup":
                return echo.fresh()
            if worker is None:
                return None
            inflight = w.params.get("threads") or w.params.get("inflight") or 1
            return worker.ask(
                op="floor",
                host="127.0.0.1",
                port=echo.port,
                inflight=inflight,
                duration=s.duration,
                server_pid=echo.pid,
            )
        client, server_name = combo.split("@")
        server = self.servers.get(server_name)
        if server is None:
            return None
        if client == "daemon":
            if w.kind == "startup":
                return server.fresh()
            return server.fresh(s.rss_connections)["rss"]
        worker = self.workers.get(client)
        if worker is None:
            return None
        if w.kind in ("rpc", "connect") and worker.event_loop_registered:
            # plain calls are measured as a script makes them, without the event loop an
            # earlier events/flood/fanout left registered (it changed the 4-thread figures
            # of both daemons by up to 5x between the first round and the later ones)
            worker.close()
            try:
                worker = self.workers[client] = Worker(worker.python, worker.kind, worker.pycache)
            except ServerUnavailable:
                del self.workers[client]
                return None
        elif w.kind in ("flood", "fanout", "events") and worker.kind != "async":
            worker.event_loop_registered = True
        if w.kind in ("rpc", "async"):
            return worker.ask(
                op="rpc", uri=server.uri, duration=s.duration, server_pid=server.pid, **w.params
            )
        if w.kind == "connect":
            return worker.ask(op="connect", uri=server.uri, iters=s.connect_iters)
        if w.kind == "flood":
            return worker.ask(
                op="flood", uri=server.uri, control=str(server.control), count=s.flood_events
            )
        if w.kind == "fanout":
            # libvirt 9.0's test driver has no device hot-plug: libvirtd's clients wait for
            # the LIFECYCLE event of a suspend instead (a frame of the same size); virtwire's
            # hot-plug into a guest of its QEMU host (qemu:///session)
            hotplug_uri = server.hotplug_uri
            return worker.ask(
                op="fanout",
                uri=hotplug_uri or server.uri,
                clients=s.fanout_clients,
                trigger="hotplug" if hotplug_uri else "suspend",
            )
        return worker.ask(op="events", uri=server.uri, duration=s.event_duration)

    def run(self) -> None:
        workloads = [_BY_ID[wid] for wid in self.s.workloads]
        for rnd in range(self.s.rounds):
            t0 = time.monotonic()
            for w in workloads:
                combos = [c for c in combos_for(w) if c in self.s.combos]
                if not combos:
                    continue
                k = rnd % len(combos)
                for combo in combos[k:] + combos[:k]:  # rotate: no combo always goes first
                    try:
                        result = self.measure(w, combo)
                    except Exception as exc:
                        result = {"error": f"{type(exc).__name__}: {exc}"}
                    if result is None:
                        continue
                    if "error" in result:
                        self.errors.append(f"round {rnd + 1} {w.id} {combo}: {result['error']}")
                        continue
                    self.runs.setdefault(w.id, {}).setdefault(combo, []).append(result)
            self.say(
                f"bench: round {rnd + 1}/{self.s.rounds} done in {time.monotonic() - t0:.1f} s"
            )

    # -- summary --------------------------------------------------------------------------

    def summary(self) -> dict:
        results: dict[str, Any] = {}
        for w in WORKLOADS:
            if w.id not in self.runs:
                continue
            metrics: dict[str, Any] = {}
            for m in w.metrics:
                rows: dict[str, Any] = {}
                for combo, runs in self.runs[w.id].items():
                    values = [r[m.key] for r in runs if r.get(m.key) is not None]
                    if not values:
                        continue
                    med = statistics.median(values)
                    rows[combo] = {
                        "median": med,
                        "min": min(values),
                        "max": max(values),
                        "spread_pct": (max(values) - min(values)) / med * 100 if med else 0.0,
                        "runs": values,
                    }
                    if m is w.metrics[0] and w.kind in ("rpc", "async"):
                        rows[combo]["cpu_us"] = _cpu_medians(runs)
                ref_combo = DAEMON_REFERENCE if w.kind in ("startup", "rss") else REFERENCE
                ref_w = w.reference or w.id
                ref = self._median(ref_w, m.key, ref_combo)
                floor = rows.get("floor", {}).get("median")
                for combo, row in rows.items():
                    row["vs_libvirtd"] = _ratio(row["median"], ref, m.higher_better)
                    row["vs_floor"] = (
                        _ratio(row["median"], floor, m.higher_better)
                        if floor and combo != "floor"
                        else None
                    )
                metrics[m.key] = {
                    "unit": m.unit,
                    "higher_is_better": m.higher_better,
                    "reference": f"{ref_combo} {ref_w}",
                    "combos": rows,
                }
            extra = {}
            if w.kind in ("events", "flood", "fanout"):
                extra["lost"] = {
                    c: sum(r.get("lost", 0) for r in runs) for c, runs in self.runs[w.id].items()
                }
            if w.kind == "flood":
                extra["out_of_order"] = {
                    c: sum(r.get("out_of_order", 0) for r in runs)
                    for c, runs in self.runs[w.id].items()
                }
            results[w.id] = {"title": w.title, "metrics": metrics, **extra}
        return {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "loadavg": list(os.getloadavg()),
            },
            "params": {
                "rounds": self.s.rounds,
                "duration_s": self.s.duration,
                "connect_iters": self.s.connect_iters,
                "event_duration_s": self.s.event_duration,
                "rss_connections": self.s.rss_connections,
                "flood_events": self.s.flood_events,
                "fanout_clients": self.s.fanout_clients,
                "transport": "tcp 127.0.0.1",
            },
            "results": results,
            "skipped": self.skipped,
            "errors": self.errors,
        }

    def _median(self, wid: str, key: str, combo: str) -> float | None:
        runs = self.runs.get(wid, {}).get(combo, [])
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None


def _cpu_medians(runs: list[dict]) -> dict[str, float]:
    """Median CPU µs per call of the client and the server over the rounds that have them."""
    out = {}
    for side in CPU_SIDES:
        values = [r[f"{side}_cpu_us"] for r in runs if r.get(f"{side}_cpu_us") is not None]
        if values:
            out[side] = statistics.median(values)
    return out


def _ratio(value: float, ref: float | None, higher_better: bool) -> float | None:
    if ref is None or not value or not ref:
        return None
    return value / ref if higher_better else ref / value


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(summary: dict) -> str:
    """The human table: one line per workload, metric and combination."""
    lines = [
        f"{'workload':<36} {'client@server':<20} {'median':>10} {'unit':<22} "
        f"{'spread':>7} {'vs libvirtd':>11} {'vs floor':>8} {'CPU µs/call':>14}"
    ]
    lines.append("-" * len(lines[0]))
    for w in WORKLOADS:
        res = summary["results"].get(w.id)
        if res is None:
            continue
        for m in w.metrics:
            block = res["metrics"].get(m.key)
            if not block:
                continue
            title = w.title if m is w.metrics[0] else ""
            for combo, row in block["combos"].items():
                vs = row["vs_libvirtd"]
                fl = row["vs_floor"]
                cpu = row.get("cpu_us") or {}
                cpu_text = "+".join(_fmt(cpu.get(side)) for side in CPU_SIDES) if cpu else ""
                lines.append(
                    f"{title:<36} {combo:<20} {_fmt(row['median']):>10} {m.unit:<22} "
                    f"{'±' + format(row['spread_pct'] / 2, '.0f') + '%':>7} "
                    f"{(_fmt(vs) + 'x') if vs else '-':>11} {(_fmt(fl) + 'x') if fl else '-':>8}"
                    f" {cpu_text:>14}".rstrip()
                )
                title = ""
        if w.kind in ("events", "flood", "fanout") and any(res.get("lost", {}).values()):
            lines.append(f"{'':<36} events lost: {res['lost']}")
    lines.append("")
    lines.append(
        "ratios: >1 = better than python3-libvirt → libvirtd in the same run (async rows: against "
        "its 4-thread getLibVersion; daemon rows: against libvirtd); vs floor: share of the "
        "echo floor with as many frames in flight (start: of the echo server's own start); "
        "CPU µs/call: client + server, over the measured window."
    )
    for name, why in summary["skipped"].items():
        lines.append(f"skipped {name}: {why}")
    for err in summary["errors"]:
        lines.append(f"error: {err}")
    return "\n".join(lines)


def plot(summary: dict, path: str) -> bool:
    """A chart of the medians (with min..max bars) per workload; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    blocks = [
        (res["title"], block)
        for res in summary["results"].values()
        for block in res["metrics"].values()
    ]
    fig, axes = plt.subplots(len(blocks), 1, figsize=(9, 2.6 * len(blocks)), squeeze=False)
    for ax, (title, block) in zip(axes[:, 0], blocks, strict=False):
        names = list(block["combos"])
        med = [block["combos"][n]["median"] for n in names]
        lo = [m - block["combos"][n]["min"] for m, n in zip(med, names, strict=True)]
        hi = [block["combos"][n]["max"] - m for m, n in zip(med, names, strict=True)]
        ax.barh(names, med, xerr=[lo, hi])
        ax.set_title(f"{title} ({block['unit']})", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def run(settings: Settings, log: Any = sys.stderr) -> dict:
    bench = Bench(settings, log)
    try:
        bench.setup()
        bench.run()
    finally:
        bench.teardown()
    return bench.summary()


def _parse(argv: list[str]) -> tuple[argparse.Namespace, Settings]:
    ap = argparse.ArgumentParser(
        prog="virtwire bench",
        description="virtwire's daemon and clients side by side with C libvirt (ratios).",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 short round (< 20 s)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    ap.add_argument("--duration", type=float, help="seconds per throughput measurement")
    ap.add_argument("--connect-iters", type=int, help="open+close iterations per measurement")
    ap.add_argument("--event-duration", type=float, help="seconds of the event generator")
    ap.add_argument("--rss-connections", type=int, help="idle connections for the RSS figure")
    ap.add_argument("--flood-events", type=int, help="events of one generator run (flood)")
    ap.add_argument("--fanout-clients", type=int, help="registered clients (fanout)")
    ap.add_argument("-w", "--workloads", help="comma list of: " + ",".join(w.id for w in WORKLOADS))
    ap.add_argument("-c", "--combos", help="comma list of: " + ",".join(COMBOS))
    ap.add_argument(
        "--uvloop",
        action="store_true",
        help="also `virtwire serve --event-loop uvloop` (server uvloop; needs uvloop)",
    )
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ap.add_argument("--plot", metavar="FILE.png", help="a chart (needs matplotlib)")
    ap.add_argument("--list", action="store_true", help="list workloads and combinations")
    args = ap.parse_args(argv)
    s = Settings()
    if args.quick:
        for k, v in QUICK.items():
            setattr(s, k, v)
    for name in (
        "rounds",
        "duration",
        "connect_iters",
        "event_duration",
        "rss_connections",
        "flood_events",
        "fanout_clients",
    ):
        value = getattr(args, name)
        if value is not None:
            setattr(s, name, value)
    if args.workloads:
        s.workloads = [x.strip() for x in args.workloads.split(",") if x.strip()]
        bad = [x for x in s.workloads if x not in _BY_ID]
        if bad:
            ap.error(f"unknown workload(s): {', '.join(bad)}")
    if args.combos:
        s.combos = [x.strip() for x in args.combos.split(",") if x.strip()]
        bad = [x for x in s.combos if x not in COMBOS]
        if bad:
            ap.error(f"unknown combination(s): {', '.join(bad)}")
    if args.uvloop and not args.combos:
        s.combos = list(COMBOS)
    if s.rounds < 1:
        ap.error("--rounds must be at least 1")
    return args, s


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args, settings = _parse(list(sys.argv[1:] if argv is None else argv))
    if args.list:
        for w in WORKLOADS:
            print(f"{w.id:<10} {w.title}: {', '.join(combos_for(w))}")
        return 0
    # a SIGTERM (e.g. `timeout`) still runs the teardown: no libvirtd is left behind
    signal.signal(signal.SIGTERM, _terminated)
    if sys.dont_write_bytecode:  # our own imports of the codecs use the cache too
        sys.pycache_prefix = str(bytecode_cache())
        sys.dont_write_bytecode = False
    summary = run(settings)
    print(table(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.plot and not plot(summary, args.plot):
        print("bench: --plot needs matplotlib (pip install matplotlib); no chart", file=sys.stderr)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
