"""Fleet sizing: start time, memory per host and calls/s of one `virtwire serve --fleet N`.

    python benchmarks/bench_fleet.py [--hosts 1000] [--clients 50] [--seconds 3]

Starts `virtwire serve --fleet 1` (the baseline) and `--fleet N` in temporary state
directories, each on ephemeral 127.0.0.1 ports, and prints:

- start time: process spawn until the fleet manifest exists (every listener bound);
- RSS per idle host: (RSS of the N-host fleet - RSS of the 1-host fleet) / (N - 1);
- RSS per opened host: the extra after one client opened qemu:///system on --clients hosts;
- Python heap per host (tracemalloc, in process): idle, and with qemu:///system opened;
- calls/s: --clients virtwire.client connections (one per host) calling
  CONNECT_GET_HOSTNAME back to back for --seconds (client and daemon share this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from virtwire.client import connect  # noqa: E402
from virtwire.server.config import ServerConfig  # noqa: E402
from virtwire.server.fleet import Fleet, fleet_from_count  # noqa: E402

from tests.fleet_proc import FleetProcess  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start(base: Path, hosts: int) -> tuple[FleetProcess, float]:
    t0 = time.monotonic()
    fleet = FleetProcess(base, ["--fleet", str(hosts)]).start(timeout=120)
    return fleet, time.monotonic() - t0


async def load(uris: list[str], seconds: float) -> tuple[int, float, list[str]]:
    conns = [await connect(uri) for uri in uris]
    names = [await c.get_hostname() for c in conns]
    count = 0
    stop_at = time.monotonic() + seconds

    async def worker(conn) -> None:
        nonlocal count
        while time.monotonic() < stop_at:
            await conn.get_hostname()
            count += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.monotonic() - t0
    for c in conns:
        await c.close()
    return count, elapsed, names


async def heap(base: Path, hosts: int, opened: int) -> tuple[float, float]:
    """tracemalloc's view (RSS hides small growth in the arenas left by the imports)."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fleet = Fleet(ServerConfig(), base, fleet_from_count(hosts))
    await fleet.start()
    try:
        gc.collect()
        idle = tracemalloc.get_traced_memory()[0]
        for member in fleet.members[:opened]:
            fleet.driver_of(member.shape.hostname)
        gc.collect()
        busy = tracemalloc.get_traced_memory()[0]
    finally:
        await fleet.stop()
        tracemalloc.stop()
    return (idle - before) / hosts / 1024, (busy - idle) / max(1, opened) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vw-bench-fleet-"))
    try:
        one, _ = start(tmp / "one", 1)
        base_rss = rss_kib(one.proc.pid)
        one.stop()
        fleet, took = start(tmp / "many", args.hosts)
        try:
            idle_rss = rss_kib(fleet.proc.pid)
            hosts = fleet.hosts()
            step = max(1, len(hosts) // args.clients)
            sample = hosts[::step][: args.clients]
            count, elapsed, names = asyncio.run(load([h["uri"] for h in sample], args.seconds))
            assert names == [h["hostname"] for h in sample], "a host answered with another name"
            busy_rss = rss_kib(fleet.proc.pid)
        finally:
            fleet.stop()
        heap_idle, heap_open = asyncio.run(heap(tmp / "heap", args.hosts, args.clients))
        per_idle = (idle_rss - base_rss) / max(1, args.hosts - 1)
        per_open = (busy_rss - idle_rss) / max(1, len(sample))
        print(f"hosts: {args.hosts}")
        print(f"start time: {took:.2f} s (spawn to every listener bound)")
        print(f"RSS: 1-host fleet {base_rss / 1024:.1f} MiB, {args.hosts}-host fleet "
              f"{idle_rss / 1024:.1f} MiB -> {per_idle:.1f} KiB per idle host")  # fmt: skip
        print(f"RSS after opening {len(sample)} hosts: {busy_rss / 1024:.1f} MiB -> "
              f"{per_open:.1f} KiB per opened host (driver + session)")  # fmt: skip
        print(f"Python heap: {heap_idle:.1f} KiB per idle host, +{heap_open:.1f} KiB per host "
              f"with qemu:///system opened (tracemalloc)")  # fmt: skip
        print(f"calls/s: {count / elapsed:.0f} CONNECT_GET_HOSTNAME over {len(sample)} "
              f"connections ({count} calls in {elapsed:.1f} s)")  # fmt: skip
        budget = 2 * 1024 * 1024 - base_rss
        print(f"projected hosts in 2 GiB (after the {base_rss / 1024:.0f} MiB base): "
              f"{int(budget / heap_idle):,} idle, {int(budget / (heap_idle + heap_open)):,} opened")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
