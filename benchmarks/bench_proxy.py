"""Round-trip latency that `virtwire proxy` adds (recording on), unix and TCP.

    python benchmarks/bench_proxy.py [--calls 5000] [--upstream-libvirtd]

Starts `virtwire serve` (unix + TCP) in a temporary directory — or, with
``--upstream-libvirtd``, the private real libvirtd of ``tests/interop/peer/start-libvirtd.sh``
— and a `virtwire proxy` in front of each listener. A raw-socket client (no library overhead)
sends AUTH_LIST calls one at a time and waits for each reply, directly and through the
proxy; the difference of the medians is what the proxy costs per round trip.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.framing import FrameDecoder, Header, MessageStatus, MessageType, encode_frame

ROOT = Path(__file__).resolve().parents[1]
AUTH_LIST = procedures.resolve("AUTH_LIST").number


def _wait_line(proc: subprocess.Popen, pattern: str, timeout: float = 20) -> re.Match:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return m
    raise RuntimeError(f"did not see {pattern!r}")


def round_trips(sock: socket.socket, calls: int) -> list[float]:
    decoder = FrameDecoder()
    out = []
    for serial in range(calls):
        frame = encode_frame(
            Header(REMOTE_PROGRAM, 1, AUTH_LIST, MessageType.CALL, serial, MessageStatus.OK)
        )
        t0 = time.perf_counter()
        sock.sendall(frame)
        while not decoder.feed(sock.recv(65536)):
            pass
        out.append(time.perf_counter() - t0)
    return out


def measure(connect, calls: int) -> list[float]:
    sock = connect()
    try:
        round_trips(sock, 200)  # warm up
        return round_trips(sock, calls)
    finally:
        sock.close()


def _unix(path: str):
    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return s

    return connect


def _tcp(port: int):
    def connect():
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    return connect


def _stats(name: str, direct: list[float], proxied: list[float]) -> None:
    d, p = statistics.median(direct) * 1e6, statistics.median(proxied) * 1e6
    d99 = sorted(direct)[int(0.99 * len(direct))] * 1e6
    p99 = sorted(proxied)[int(0.99 * len(proxied))] * 1e6
    print(
        f"{name:5} direct median {d:7.1f} us (p99 {d99:7.1f})  via proxy median {p:7.1f} us"
        f" (p99 {p99:7.1f})  added {p - d:6.1f} us per round trip"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--upstream-libvirtd", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    procs: list[subprocess.Popen] = []
    peer = None
    try:
        if args.upstream_libvirtd:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            peer = (str(port), str(base / "peer"))
            subprocess.run(
                ["bash", str(ROOT / "tests/interop/peer/start-libvirtd.sh"), *peer],
                check=True,
                capture_output=True,
            )
            unix_path, tcp_port = str(base / "peer/sock/libvirt-sock"), port
            print("upstream: real libvirtd (test driver)")
        else:
            serve = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "virtwire.tools.cli",
                    "serve",
                    "--state-dir",
                    str(base / "state"),
                    "--unix",
                    str(base / "sock"),
                    "--tcp",
                    "127.0.0.1:0",
                ],
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            )
            procs.append(serve)
            _wait_line(serve, r"listening on unix")
            tcp_port = int(_wait_line(serve, r"listening on tcp:\S+:(\d+)").group(1))
            unix_path = str(base / "sock")
            print("upstream: virtwire serve")
        results = {}
        for kind, listen, upstream, direct in (
            (
                "unix",
                f"unix:{base / 'p.sock'}",
                f"test+unix:///default?socket={unix_path}",
                _unix(unix_path),
            ),
            ("tcp", "tcp:127.0.0.1:0", f"test+tcp://127.0.0.1:{tcp_port}/default", _tcp(tcp_port)),
        ):
            px = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "virtwire.tools.cli",
                    "proxy",
                    "--listen",
                    listen,
                    "--upstream",
                    upstream,
                    "--record",
                    str(base / f"{kind}.pcapng"),
                ],
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            )
            procs.append(px)
            m = _wait_line(px, r"listening on (\S+),")
            where = m.group(1)
            via = _unix(where[5:]) if kind == "unix" else _tcp(int(where.rsplit(":", 1)[1]))
            results[kind] = (measure(direct, args.calls), measure(via, args.calls))
        print(f"{args.calls} sequential AUTH_LIST round trips, recording on:")
        for kind, (direct, proxied) in results.items():
            _stats(kind, direct, proxied)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        if peer is not None:
            subprocess.run(
                ["bash", str(ROOT / "tests/interop/peer/stop-libvirtd.sh"), *peer],
                capture_output=True,
            )
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
