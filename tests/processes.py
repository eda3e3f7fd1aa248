"""Stopping a process a test started: a signal, a bounded wait, SIGKILL if it does not go."""

from __future__ import annotations

import signal
import subprocess


def stop_process(
    proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10.0
) -> int | None:
    """Send ``sig`` (if still running), wait up to ``timeout``, then kill; the exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode
