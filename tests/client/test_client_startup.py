"""What a client program imports before its first event: not the event classes, the event
message codecs or the TLS code. A script with the drop-in (``from virtwire.client import
libvirt``, open, list, close) or with the async client pays for them only when it needs
them: the first event, or a ``qemu+tls://`` URI (docs/client.md, "Start-up").

Each scenario runs in a fresh interpreter against a `virtwire serve` child of the test and
reports ``sys.modules``; nothing is timed.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# module -> what loads it
DEFERRED = {
    "virtwire.protocol.event_classes": "the first event (or event registration)",
    "virtwire.protocol.generated.remote_protocol._domain_19": "an event message's codec",
    "cryptography": "a TLS connection (its certificate checks)",
    "virtwire.server": "a daemon: a client never imports one",
}

CHILD = r"""
import json, sys

uri, kind = sys.argv[1], sys.argv[2]
if kind == "dropin":
    from virtwire.client import libvirt

    conn = libvirt.open(uri)
    names = [d.name() for d in conn.listAllDomains()]
    conn.close()
elif kind == "async":
    import asyncio
    from virtwire import client

    async def main():
        conn = await client.connect(uri)
        try:
            return [(await conn.lookup_by_name("test")).name]
        finally:
            await conn.close()

    names = asyncio.run(main())
else:  # events: the first registration and event load what they need
    from virtwire.client import libvirt

    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(uri)
    got = []
    dom = conn.lookupByName("test")
    conn.domainEventRegisterAny(dom, 0, lambda c, d, e, x, o: got.append((d.name(), e)), None)
    dom.suspend()
    while not got:
        libvirt.virEventRunDefaultImpl()
    dom.resume()
    names = [got[0][0]]
    conn.close()
print(json.dumps({"names": names, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def daemon_uri(tmp_path_factory: pytest.TempPathFactory):
    state = tmp_path_factory.mktemp("client-startup")
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtwire.tools.cli", "serve", "--state-dir", str(state)]
        + ["--tcp", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        where = None
        for line in proc.stderr:
            found = re.search(r"listening on tcp:(\S+)", line)
            if found:
                where = found.group(1)
                break
        assert where, "virtwire serve did not listen"
        yield f"test+tcp://{where}/default"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        if proc.stderr is not None:
            proc.stderr.close()


def _modules(uri: str, kind: str) -> tuple[list[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, uri, kind],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    return report["names"], set(report["modules"])


@pytest.mark.parametrize("kind", ["dropin", "async"])
def test_a_plain_client_loads_no_event_or_tls_code(daemon_uri: str, kind: str) -> None:
    names, modules = _modules(daemon_uri, kind)
    assert names == ["test"]  # it did talk to the daemon
    loaded = {
        m: why
        for m, why in DEFERRED.items()
        if any(x == m or x.startswith(m + ".") for x in modules)
    }
    assert loaded == {}, f"imported before their first use: {loaded}"


def test_the_first_event_loads_the_event_code(daemon_uri: str) -> None:
    names, modules = _modules(daemon_uri, "events")
    assert names == ["test"]  # the lifecycle event of the suspend came back
    assert "virtwire.protocol.event_classes" in modules
    assert "cryptography" not in modules
