"""The ssh and ext transports against a real libvirtd, side by side with python3-libvirt.

No sshd is needed: ``command=`` points both libraries at a stand-in ``ssh`` that runs the
remote shell command locally, and ``netcat=`` at a stand-in ``nc`` that bridges stdin/stdout
to the daemon's unix socket — so what is tested is exactly what each library puts on the ssh
command line and how it speaks over the pipes.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import virtwire.client as vc
from virtwire.client.transports import _shell_quote as _sq
from virtwire.client.transports import ssh_command
from virtwire.client.uri import parse_uri
from virtwire.protocol.errors import ErrorCode, LibvirtError

pytestmark = pytest.mark.interop

BRIDGE = r"""#!{python}
# stdin/stdout <-> a unix socket: a stand-in for `nc -U PATH`
import os, selectors, socket, sys
args = sys.argv[1:]
if args[:1] == ["-q"]:
    sys.exit(1)  # the "-q needs an argument" probe: say nothing, no -q0
path = args[args.index("-U") + 1] if "-U" in args else {socket_path!r}
s = socket.socket(socket.AF_UNIX)
s.connect(path)
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                s.shutdown(socket.SHUT_WR)
                sel.unregister(0)
                continue
            s.sendall(data)
        else:
            data = s.recv(65536)
            if not data:
                sys.exit(0)
            os.write(1, data)
"""

FAKE_SSH = r"""#!/bin/sh
# a stand-in for ssh: record the arguments, then do what sshd does with the words after
# "-- HOST": join them with spaces and hand the result to the user's shell
echo "$@" >> {log}
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift 2
exec sh -c "$*"
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def tools(tmp_path, libvirtd_peer):
    """(bridge, fake ssh, ssh argument log) in a directory everyone can read."""
    base = tmp_path / "bin"
    base.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(base, 0o755)
    bridge = _executable(
        base / "fake-nc",
        BRIDGE.format(python=sys.executable, socket_path=str(libvirtd_peer.socket_path)),
    )
    log = base / "ssh-args.log"
    ssh = _executable(base / "fake-ssh", FAKE_SSH.format(log=log))
    return bridge, ssh, log


SCRIPT = r"""import sys
import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
print(conn.getType(), [d.name() for d in conn.listAllDomains(0)], conn.isSecure(), conn.isEncrypted())
dom = conn.lookupByName("test")
print(dom.info()[:4], dom.state())
try:
    conn.lookupByName("nosuch")
except libvirt.libvirtError as e:
    print("ERR", e.get_error_code(), e.get_error_domain(), e)
conn.close()
"""


def _both(run_pylibvirt, tmp_path, uri):
    real = run_pylibvirt(SCRIPT, uri)
    ours_path = tmp_path / "ours.py"
    ours_path.write_text(
        SCRIPT.replace("import libvirt\n", "from virtwire.client import libvirt\n", 1)
    )
    ours = subprocess.run(
        [sys.executable, str(ours_path), uri], capture_output=True, text=True, timeout=60
    )
    return real, ours


def test_ext_transport_side_by_side(tools, run_pylibvirt, tmp_path):
    bridge, _ssh, _log = tools
    real, ours = _both(run_pylibvirt, tmp_path, f"test+ext:///default?command={bridge}")
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == real.stdout
    assert ours.stdout.startswith("TEST ['test']")


def test_ssh_transport_side_by_side(tools, libvirtd_peer, run_pylibvirt, tmp_path):
    bridge, ssh, log = tools
    uri = (
        f"test+ssh://someone@sshhost:2222/default?command={ssh}&netcat={bridge}"
        f"&socket={libvirtd_peer.socket_path}&proxy=netcat"
    )
    real, ours = _both(run_pylibvirt, tmp_path, uri)
    assert real.returncode == 0, real.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == real.stdout
    calls = log.read_text().splitlines()
    assert len(calls) == 2 and all("sshhost" in c and "someone" in c for c in calls)
    # our client asks ssh for the same options as libvirt does
    assert calls[1].startswith("-p 2222 -l someone -T -e none -- sshhost sh -c ")
    assert calls[0].split(" sh -c ")[0] == calls[1].split(" sh -c ")[0]


def test_ssh_async_api_and_failing_ssh(tools, libvirtd_peer, tmp_path):
    bridge, ssh, _log = tools
    failing = _executable(
        tmp_path / "bin" / "broken-ssh",
        "#!/bin/sh\necho 'ssh: Could not resolve hostname nowhere' >&2\nexit 255\n",
    )

    async def scenario():
        uri = (
            f"test+ssh://h/default?command={ssh}&netcat={bridge}&socket={libvirtd_peer.socket_path}"
        )
        async with await vc.connect(uri) as conn:
            names = [d.name for d in await conn.list_all_domains()]
        with pytest.raises(LibvirtError) as info:
            await vc.connect(f"test+ssh://nowhere/default?command={failing}")
        return names, info.value

    names, err = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert names == ["test"]
    assert (err.code, err.domain) == (ErrorCode.SYSTEM_ERROR, 7)
    assert (
        str(err)
        == "Cannot recv data: ssh: Could not resolve hostname nowhere: Connection reset by peer"
    )


def test_ssh_command_line_shapes():
    argv = ssh_command(
        parse_uri("qemu+ssh://root@host:22/system?keyfile=/k&no_verify=1&no_tty=1"), False
    )
    assert argv[:12] == [
        "ssh", "-p", "22", "-l", "root", "-i", "/k",
        "-T", "-e", "none", "-o", "BatchMode=yes",
    ]  # fmt: skip
    assert argv[12:18] == ["-o", "StrictHostKeyChecking=no", "--", "host", "sh", "-c"]
    (script,) = shlex.split(argv[-1])  # what the remote shell hands to `sh -c`
    assert "virt-ssh-helper 'qemu:///system'" in script
    assert "-U '/var/run/libvirt/libvirt-sock'" in script
    (ro,) = shlex.split(ssh_command(parse_uri("qemu+ssh://host/system"), True)[-1])
    assert "-U '/var/run/libvirt/libvirt-sock-ro'" in ro
    native = ssh_command(parse_uri("qemu+ssh://host/system?proxy=native"), False)[-1]
    # quoted once more for the remote user's shell
    assert native == _sq("exec virt-ssh-helper " + _sq("qemu:///system"))
    with pytest.raises(LibvirtError):
        ssh_command(parse_uri("qemu+ssh://host/session?proxy=netcat"), False)
