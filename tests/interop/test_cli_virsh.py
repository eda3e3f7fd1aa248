"""`virtwire -c URI VERB` against real `virsh -c URI VERB`, same real libvirtd, byte for byte.

Three ways in:
- our CLI (`python3 -m virtwire.tools.cli`, on virtwire's libvirt drop-in) vs virsh;
- the same verbs run by /usr/bin/python3 on the *real* python3-libvirt vs virsh, which pins
  the formatting independently of the drop-in;
- states other than the default (paused, shut off, extra domains) and live events, with a
  holder connection keeping test:///default's state alive between the commands (libvirtd
  resets it when its last connection closes).
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.interop.conftest import SYSTEM_PYTHON, have_pylibvirt

pytestmark = pytest.mark.interop

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"
CPU_TIME = re.compile(r"^CPU time:       \d+\.\ds$", re.M)

COMPARED = [
    ("list",),
    ("list", "--all"),
    ("list", "--inactive"),
    ("list", "--name"),
    ("list", "--uuid"),
    ("list", "--all", "--uuid", "--name", "--id"),
    ("list", "--title"),
    ("dominfo", "test"),
    ("dominfo", "1"),
    ("dominfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"),
    ("domstate", "test"),
    ("domstate", "test", "--reason"),
    ("dumpxml", "test"),
    ("dumpxml", "test", "--inactive", "--security-info"),
    ("version",),
    ("version", "--daemon"),
    ("nodeinfo",),
    ("uri",),
    ("hostname",),
    # failures: wording on stderr and exit code
    ("dominfo", "nope"),
    ("domstate", "nope"),
    ("start", "test"),
    ("start", "1"),
    ("resume", "test"),
    ("setmem", "test", "1x"),
    ("setmem", "test", "1G", "--current", "--live"),
    ("list", "--bogus"),
    ("dominfo",),
    ("dominfo", "test", "extra"),
    ("nosuchverb",),
    ("event", "--all", "--event", "lifecycle"),
    ("event", "--all", "--timeout", "0"),
    ("dominfo", ""),
    ("shutdown", "test", "--mode="),
    ("setmem", "test", ""),
]


def normalized(proc: subprocess.CompletedProcess) -> tuple[int, str, str]:
    """Exit code and both streams; the test driver's CPU time moves with the clock."""
    out = CPU_TIME.sub("CPU time:       <t>", proc.stdout)
    return proc.returncode, out, proc.stderr


def need_dropin() -> None:
    if importlib.util.find_spec("virtwire.client.libvirt") is None:
        pytest.skip("virtwire.client.libvirt is not there yet")


# the acceptance checks run the installed command itself; the long tail of verbs runs the same
# code in-process (the CLI's start-up costs ~1 s per run, mostly imports)
AS_SUBPROCESS = {
    ("list", "--all"),
    ("dominfo", "test"),
    ("domstate", "test"),
    ("version",),
    ("nodeinfo",),
    ("dominfo", "nope"),
    ("nosuchverb",),
}


def run_in_process(uri: str, *argv: str) -> subprocess.CompletedProcess:
    """`virtwire.tools.virsh.run` on the drop-in, in this process, as a CompletedProcess."""
    from virtwire.tools import virsh

    out, err = io.StringIO(), io.StringIO()
    rc = virsh.run(uri, argv[0], list(argv[1:]), stdout=out, stderr=err)
    return subprocess.CompletedProcess(["virtwire", *argv], rc, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("argv", COMPARED, ids=" ".join)
def test_cli_matches_virsh(libvirtd_peer, run_virsh, run_virtwire, argv):
    need_dropin()
    uri = libvirtd_peer.tcp_uri
    expected = normalized(run_virsh(uri, *argv))
    if argv in AS_SUBPROCESS:
        got = normalized(run_virtwire("-c", uri, *argv))
    else:
        got = normalized(run_in_process(uri, *argv))
    assert got == expected


def test_cli_over_unix_socket_and_default_uri(libvirtd_peer, run_virsh, run_virtwire):
    need_dropin()
    uri = libvirtd_peer.unix_uri
    assert normalized(run_virtwire("-c", uri, "list", "--all")) == normalized(
        run_virsh(uri, "list", "--all")
    )
    # without -c the URI comes from LIBVIRT_DEFAULT_URI
    proc = subprocess.run(
        [sys.executable, "-m", "virtwire.tools.cli", "uri"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "LIBVIRT_DEFAULT_URI": libvirtd_peer.tcp_uri},
    )
    assert (proc.returncode, proc.stdout) == (0, libvirtd_peer.tcp_uri + "\n\n")


def test_cli_connection_refused_like_virsh(run_virsh, run_virtwire):
    need_dropin()
    uri = "test+tcp://127.0.0.1:1/default"
    assert normalized(run_virtwire("-c", uri, "list")) == normalized(run_virsh(uri, "list"))


# --- the same verbs on the real python3-libvirt -------------------------------------------


@pytest.fixture
def run_verbs_on_pylibvirt(tmp_path: Path):
    """Run `virtwire.tools.virsh.run` under /usr/bin/python3 with the real libvirt module.

    That interpreter has no virtwire installed: a throw-away package `virtwire` whose `tools`
    is a link to our tools/ folder makes `from virtwire.tools import virsh` work there.
    """
    if not have_pylibvirt():
        pytest.skip("python3-libvirt for /usr/bin/python3 missing")
    shim = tmp_path / "shim"
    (shim / "virtwire").mkdir(parents=True)
    (shim / "virtwire" / "__init__.py").write_text("")
    (shim / "virtwire" / "tools").symlink_to(TOOLS_DIR)
    script = tmp_path / "verbs.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(shim)!r})\n"
        "import libvirt\n"
        "from virtwire.tools import virsh\n"
        "sys.exit(virsh.run(sys.argv[1], sys.argv[2], sys.argv[3:], libvirt=libvirt))\n"
    )

    def run(uri: str, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [SYSTEM_PYTHON, str(script), uri, *argv],
            capture_output=True,
            text=True,
            timeout=30,
        )

    return run


@pytest.mark.parametrize("argv", COMPARED[:20], ids=" ".join)
def test_verbs_on_real_pylibvirt_match_virsh(
    libvirtd_peer, run_virsh, run_verbs_on_pylibvirt, argv
):
    uri = libvirtd_peer.tcp_uri
    assert normalized(run_verbs_on_pylibvirt(uri, *argv)) == normalized(run_virsh(uri, *argv))


# --- other states and live events ----------------------------------------------------------


@pytest.fixture
def held_state(libvirtd_peer):
    """Keep one connection to test:///default open so that changes survive between commands."""
    if not have_pylibvirt():
        pytest.skip("python3-libvirt for /usr/bin/python3 missing")
    holder = subprocess.Popen(
        [
            SYSTEM_PYTHON,
            "-c",
            "import sys, libvirt\n"
            "c = libvirt.open(sys.argv[1])\n"
            # libvirtd discards the previous test's state only once it has processed that
            # test's last close; if we connected first, 'test' may still be paused or off
            "d = c.lookupByName('test')\n"
            "if d.state()[0] == libvirt.VIR_DOMAIN_PAUSED: d.resume()\n"
            "if not d.isActive(): d.create()\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n"
            "c.close()\n",
            libvirtd_peer.tcp_uri,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield libvirtd_peer.tcp_uri
    finally:
        holder.stdin.close()
        try:
            holder.wait(10)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait(5)


def test_cli_matches_virsh_in_other_states(held_state, run_virsh, run_virtwire, tmp_path):
    need_dropin()
    uri = held_state
    xml = run_virsh(uri, "dumpxml", "test").stdout
    second = tmp_path / "second.xml"
    second.write_text(
        xml.replace("<name>test</name>", "<name>Second</name>").replace(
            "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>", ""
        )
    )

    def same(*argv: str) -> None:
        assert normalized(run_in_process(uri, *argv)) == normalized(run_virsh(uri, *argv)), argv

    assert run_virsh(uri, "suspend", "test").returncode == 0
    for argv in (
        ("list",),
        ("domstate", "test", "--reason"),
        ("dominfo", "test"),
        ("suspend", "test"),
    ):
        same(*argv)
    assert run_virsh(uri, "destroy", "test").returncode == 0
    assert run_virsh(uri, "define", str(second)).returncode == 0
    for argv in (
        ("list", "--all"),
        ("list", "--inactive"),
        ("list", "--all", "--name"),
        ("list", "--all", "--id"),
        ("domstate", "test", "--reason"),
        ("dominfo", "test"),
        ("dominfo", "Second"),
        ("destroy", "test"),
        ("reboot", "test"),
    ):
        same(*argv)
    # and our verbs change the state the way virsh's do
    proc = run_in_process(uri, "start", "Second")
    assert (proc.returncode, proc.stdout) == (0, "Domain 'Second' started\n\n")
    same("list", "--all")
    proc = run_in_process(uri, "undefine", "Second")
    assert (proc.returncode, proc.stdout) == (0, "Domain 'Second' has been undefined\n\n")
    same("list", "--all")
    same("dominfo", "Second")


class Listener:
    """An `event … --loop` process whose output lines are collected as they come."""

    def __init__(self, argv: list[str]) -> None:
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        env.pop("LIBVIRT_DEFAULT_URI", None)
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for reader in self._readers:
            reader.join(5)
        return self.proc.returncode, "".join(self.lines), "".join(self.errors)


def until_listening(listeners: list[Listener], probe, marker: str, limit: float = 60) -> None:
    """Cause probe events until every listener has printed one.

    No daemon can be asked whether a client's registrations are in, and our CLI's start-up
    (~1-2 s, mostly imports) stretches a lot on a loaded machine: instead of guessing a
    delay, poke the server until each listener proves it is registered."""
    deadline = time.monotonic() + limit
    while not all(listener.saw(marker) for listener in listeners):
        assert time.monotonic() < deadline, "event listeners never got ready"
        assert all(listener.proc.poll() is None for listener in listeners), "a listener ended"
        probe()
        time.sleep(0.3)


def without(output: str, marker: str) -> str:
    """The output without the probe events and without the final count (which includes them)."""
    lines = output.splitlines(keepends=True)
    return "".join(
        line for line in lines if marker not in line and not line.startswith("events received")
    )


def event_count(output: str) -> int:
    found = re.search(r"^events received: (\d+)$", output, re.M)
    assert found, output
    return int(found.group(1))


@pytest.mark.slow
def test_event_loop_prints_what_virsh_prints(held_state, run_virsh, tmp_path):
    need_dropin()
    uri = held_state
    probe_xml = tmp_path / "probe.xml"
    probe_xml.write_text(
        "<domain type='test'><name>probe</name><memory>8192</memory>"
        "<os><type>hvm</type></os></domain>"
    )
    argv = ["event", "--all", "--loop", "--timeout", "300"]  # SIGINT ends it
    listeners = [
        Listener(["virsh", "-c", uri, *argv]),
        Listener([sys.executable, "-m", "virtwire.tools.cli", "-c", uri, *argv]),
    ]
    try:
        until_listening(
            listeners,
            lambda: run_virsh(uri, f"define {probe_xml}; undefine probe"),
            "for domain 'probe'",
        )
        actions = run_virsh(uri, "suspend test; resume test; destroy test; start test")
        assert actions.returncode == 0, actions.stderr
        deadline = time.monotonic() + 20
        while not all(listener.saw("Started Booted") for listener in listeners):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        # SIGINT: both print "event loop interrupted" and their count
        for listener in listeners:
            listener.proc.send_signal(signal.SIGINT)
        (virsh_rc, virsh_out, virsh_err), (our_rc, our_out, our_err) = (
            listener.finish() for listener in listeners
        )
    expected = (
        "event 'lifecycle' for domain 'test': Suspended Paused\n"
        "event 'lifecycle' for domain 'test': Resumed Unpaused\n"
        "event 'lifecycle' for domain 'test': Stopped Destroyed\n"
        "event 'lifecycle' for domain 'test': Started Booted\n"
        "event loop interrupted\n"
        "\n"
    )
    assert without(virsh_out, "'probe'") == expected
    assert without(our_out, "'probe'") == expected
    probes = [out.count("'probe'") for out in (virsh_out, our_out)]
    assert [event_count(virsh_out), event_count(our_out)] == [4 + n for n in probes]
    assert (our_rc, our_err) == (virsh_rc, virsh_err) == (0, "")


# --- the same comparisons against our own daemon ---------------------------------------------

HOTPLUG_DOMAIN = """<domain type='qemu'>
  <name>hp1</name>
  <maxMemory slots='4' unit='KiB'>4194304</maxMemory>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>
  <devices/>
</domain>
"""
DIMM = "<memory model='dimm'><target><size unit='MiB'>512</size><node>0</node></target></memory>\n"


@pytest.mark.parametrize(
    "argv",
    [
        ("list", "--all"),
        ("dominfo", "test"),
        ("domstate", "test", "--reason"),
        ("dumpxml", "test"),
        ("version", "--daemon"),
        ("nodeinfo",),
        ("dominfo", "nope"),
        ("resume", "test"),
    ],
    ids=" ".join,
)
def test_cli_matches_virsh_on_virtwire_daemon(virtwire_server, run_virsh, argv):
    need_dropin()
    uri = virtwire_server.tcp_uri()
    assert normalized(run_in_process(uri, *argv)) == normalized(run_virsh(uri, *argv))


@pytest.mark.slow
def test_dimm_hotplug_events_like_virsh_on_virtwire_daemon(
    virtwire_server, run_virsh, run_virtwire, tmp_path
):
    need_dropin()
    uri = virtwire_server.tcp_uri(driver="qemu", path="/session")
    (tmp_path / "hp1.xml").write_text(HOTPLUG_DOMAIN)
    (tmp_path / "dimm.xml").write_text(DIMM)
    proc = run_virtwire("-c", uri, "define", str(tmp_path / "hp1.xml"))
    assert (proc.returncode, proc.stdout) == (
        0,
        f"Domain 'hp1' defined from {tmp_path / 'hp1.xml'}\n\n",
    )
    assert run_virtwire("-c", uri, "start", "hp1").stdout == "Domain 'hp1' started\n\n"

    argv = ["event", "--domain", "hp1", "--all", "--loop", "--timeout", "300"]  # SIGINT ends it
    listeners = [
        Listener(["virsh", "-c", uri, *argv]),
        Listener([sys.executable, "-m", "virtwire.tools.cli", "-c", uri, *argv]),
    ]
    try:
        # probe: a balloon change on hp1 (the filter keeps other domains out)
        until_listening(
            listeners, lambda: run_virsh(uri, "setmem", "hp1", "1G", "--live"), "balloon-change"
        )
        proc = run_virtwire("-c", uri, "attach-device", "hp1", str(tmp_path / "dimm.xml"), "--live")
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            0,
            "Device attached successfully\n\n",
            "",
        )
        proc = run_virtwire("-c", uri, "detach-device-alias", "hp1", "dimm0", "--live")
        assert (proc.returncode, proc.stdout) == (0, "Device detach request sent successfully\n\n")
        deadline = time.monotonic() + 20
        while not all(listener.saw("device-removed") for listener in listeners):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        for listener in listeners:
            listener.proc.send_signal(signal.SIGINT)
        results = [listener.finish() for listener in listeners]
    expected = (
        "event 'device-added' for domain 'hp1': memdimm0\n"
        "event 'device-removed' for domain 'hp1': dimm0\n"
        "event loop interrupted\n"
        "\n"
    )
    for rc, out, err in results:
        assert (rc, without(out, "balloon-change"), err) == (0, expected, "")
