"""dumpcap on loopback with condition waits instead of sleeps.

The capture filter takes the TCP port under test plus one UDP port nobody listens on;
UDP datagrams sent to that port are markers: when one shows up in the file the capture is
running (at the start), and everything sent before it has been written (at the end:
loopback delivers in order). The markers are UDP, so TCP decoders skip them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["capturing"]


def _marker_port() -> int:
    """A UDP port that is free now (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mark_and_wait(path: Path, port: int, token: bytes, timeout: float) -> None:
    """Send the marker ``token`` until the capture file holds it."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not (path.exists() and token in path.read_bytes()):
            if time.monotonic() > deadline:
                raise AssertionError(f"dumpcap did not capture a marker within {timeout} s")
            s.sendto(token, ("127.0.0.1", port))
            time.sleep(0.02)  # poll interval of the condition wait


@contextlib.contextmanager
def capturing(path: Path, port: int, timeout: float = 20.0) -> Iterator[Path]:
    """dumpcap on lo for ``tcp port PORT`` while the block runs; stopped by its PID."""
    marker = _marker_port()
    cap = subprocess.Popen(
        ["dumpcap", "-q", "-P", "-i", "lo", "-f", f"tcp port {port} or udp port {marker}",
         "-w", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _mark_and_wait(
            path, marker, b"virtwire-capture-start-" + os.urandom(8).hex().encode(), timeout
        )
        yield path
        _mark_and_wait(
            path, marker, b"virtwire-capture-end-" + os.urandom(8).hex().encode(), timeout
        )
    finally:
        cap.send_signal(signal.SIGINT)
        try:
            cap.wait(10)
        except subprocess.TimeoutExpired:
            cap.kill()
            cap.wait(5)
