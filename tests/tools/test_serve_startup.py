"""What `virtwire serve` imports before it answers its first call: only what that answer
needs. Every module below is loaded on first use by the path that needs it; one imported
at start-up again would cost each daemon start its import time (docs/bench.md, "Start-up").

The daemon runs for real in a child process (the CLI's argument parsing, the default
configuration, the state directory, a TCP listener, the control socket); the child notes
``sys.modules`` once it is listening and again after a client's AUTH_LIST is answered, then
stops itself. Nothing is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# module -> the first use that imports it
DEFERRED = {
    "virtwire.server.tls": "a TLS listener",
    "cryptography": "a TLS listener (certificate checks)",
    "xml.etree.ElementTree": "the first XML document (domain definitions, ...)",
    "defusedxml": "the first XML document",
    "virtwire.server.hypervisor.driver": "the first CONNECT_OPEN (the driver base)",
    "virtwire.server.hypervisor.driver_api": "the first CONNECT_OPEN (the drivers' contract)",
    "virtwire.server.hypervisor.testdriver": "the first CONNECT_OPEN of test:///default",
    "virtwire.server.hypervisor.qemudriver": "the first CONNECT_OPEN of qemu:///...",
    "virtwire.server.hypervisor.persistence": "the QEMU host's state files",
    "tempfile": "the QEMU host's state files (atomic writes)",
    "virtwire.protocol.event_state": "a host's events (the driver API names it for typing)",
    "virtwire.protocol.records": "a host's info records (typing in the driver API)",
    "virtwire.protocol.events": "a client's first event registration",
    "virtwire.protocol.event_classes": "a client's first event registration",
    "virtwire.server.relay": "a client's first event registration",
    "virtwire.server.fleet": "`virtwire serve --fleet`",
    "virtwire.tools.virsh": "the virsh-style verbs",
    "virtwire.tools.bench": "`virtwire bench`",
    "virtwire.client": "the client library",
}

# imported by the first call (the handler table), not before the first connection
FIRST_CALL = {
    "virtwire.server.handlers": "the dispatch table, built on the first call",
    "encodings.idna": "a host name to resolve (numeric listen addresses skip the codec)",
}

CHILD = r"""
import asyncio, socket, sys, threading

from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame
from virtwire.server.daemon import Daemon
from virtwire.tools import cli

seen = {}
start = Daemon._start_locked


def first_call(daemon, port, loop):
    proc = procedures.by_name("REMOTE_PROC_AUTH_LIST")
    call = Header(REMOTE_PROGRAM, PROTOCOL_VERSION, proc.number, MessageType.CALL, 0,
                  MessageStatus.OK)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.connect(("127.0.0.1", port))
        sock.sendall(encode_frame(call))
        reply = b""
        while len(reply) < 4 or len(reply) < int.from_bytes(reply[:4], "big"):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    seen["replied"] = len(reply) >= 28 and reply[24:28] == bytes(4)  # status OK
    seen["after_reply"] = sorted(sys.modules)
    loop.call_soon_threadsafe(daemon.request_stop)


async def start_then_call(self):
    await start(self)
    seen["listening"] = sorted(sys.modules)
    port = self.listeners[0].sock.getsockname()[1]
    loop = asyncio.get_running_loop()
    threading.Thread(target=first_call, args=(self, port, loop)).start()


Daemon._start_locked = start_then_call
status = cli.main(["serve", "--state-dir", sys.argv[1], "--tcp", "127.0.0.1:0"])
import json

print(json.dumps(seen))
sys.exit(status)
"""


def test_serve_imports_nothing_its_first_answer_does_not_need(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "listening on tcp:127.0.0.1:" in result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["replied"], result.stderr

    def loaded(modules: list[str], names: dict[str, str]) -> list[str]:
        return [
            f"{name} (belongs to {why})"
            for name, why in names.items()
            if any(m == name or m.startswith(name + ".") for m in modules)
        ]

    assert loaded(seen["listening"], {**DEFERRED, **FIRST_CALL}) == []
    assert loaded(seen["after_reply"], DEFERRED) == []
    # the first call did build its table (the check above would pass vacuously otherwise)
    assert "virtwire.server.handlers" in seen["after_reply"]
