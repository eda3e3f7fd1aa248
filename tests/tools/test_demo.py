"""`virtwire demo` runs the whole memory-hotplug event path and prints real frames."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys

from virtwire.tools.demo import run_demo


def test_demo_shows_device_events_with_their_frames() -> None:
    out = io.StringIO()
    assert asyncio.run(run_demo(out)) == 0
    text = out.getvalue()
    # the DEVICE_ADDED MESSAGE as QEMU's libvirt sends it: proc 354 (0x162), serial 1
    assert "proc=354 (REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED) type=MESSAGE serial=1" in text
    assert "20008086 00000001 00000162 00000002 00000001 00000000" in text
    assert "6d656d64 696d6d30" in text  # "memdimm0"
    assert "event 'device-added' for domain 'demo-vm': memdimm0" in text
    assert "event 'device-removed' for domain 'demo-vm': dimm0" in text
    assert "memory now 1572864 KiB" in text and "memory now 1048576 KiB" in text
    assert text.index("device-added") < text.index("device-removed")
    assert "result  OK" in text


def test_demo_command_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "virtwire", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "memdimm0" in done.stdout and "daemon  stopped" in done.stdout
