"""The remote protocol's parts are imported on first use: not by the registry, not by the
daemon's start, and a call's codecs bring only their own part (and the shared one)."""

from __future__ import annotations

import json
import subprocess
import sys

PARTS = "sorted(m.rsplit('.', 1)[1] for m in sys.modules if '.remote_protocol._' in m)"


def parts_after(code: str) -> list[str]:
    script = f"import sys\n{code}\nprint(__import__('json').dumps({PARTS}))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_the_registry_resolves_codecs_on_first_use() -> None:
    code = (
        "from virtwire.protocol import procedures\n"
        "assert len(procedures.all_procedures()) > 400\n"
        f"assert {PARTS} == [], 'the registry imported parts'\n"
        "proc = procedures.by_name('REMOTE_PROC_AUTH_LIST')\n"
        "assert proc.ret.unpack(bytes(4)).types == []"
    )
    assert parts_after(code) == ["_auth"]


def test_starting_the_daemon_imports_no_part() -> None:
    code = "import virtwire.tools.serve, virtwire.server.handlers as h\nh.build_table(None)"
    loaded = parts_after(code)
    assert loaded == []


def test_star_import_and_dir_see_every_name() -> None:
    code = (
        "from virtwire.protocol.generated import remote_protocol as rp\n"
        "names = set(dir(rp))\n"
        "assert set(rp.__all__) <= names and 'RemoteNonnullDomain' in names\n"
        "ns = {}\n"
        "exec('from virtwire.protocol.generated.remote_protocol import *', ns)\n"
        "assert set(rp.__all__) <= set(ns)"
    )
    loaded = parts_after(code)
    assert "_shared" in loaded and "_domain_01" in loaded and len(loaded) > 40
