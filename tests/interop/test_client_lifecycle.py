"""The drop-in's behaviour around the end of a connection and of the process.

- when the daemon goes away (SIGTERM, kill -9; over TCP and unix), the close reason and the
  errors of the calls that follow are libvirt's own: the same script runs with
  python3-libvirt and with ``virtwire.client.libvirt`` against one real libvirtd and both
  must print the same thing;
- a process exits promptly and silently (no "Task was destroyed but it is pending!"),
  whether its connection is open, lost, or a call is still waiting; at exit the private
  loop thread is stopped, joined and its loop closed;
- a stress run of short-lived processes never hangs (each has a timeout).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import need_peer
from tests.interop.conftest import (
    PEER_DIR,
    SYSTEM_PYTHON,
    LibvirtdPeer,
    free_port,
    have_libvirtd,
    have_pylibvirt,
)

pytestmark = pytest.mark.interop

REAL_IMPORT = "import libvirt\n"
OUR_IMPORT = "from virtwire.client import libvirt\n"

# Opens each URI with a close callback and a lifecycle registration, says "ready", waits
# for a line on stdin (the test kills the daemon meanwhile), waits for the close callbacks,
# then reports what the usual follow-up calls do.
LOSS_SCRIPT = """\
import json, sys, threading, time
import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()


def run_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=run_loop, daemon=True).start()
conns = []
for uri in sys.argv[1:]:
    conn = libvirt.open(uri)
    reasons = []
    conn.registerCloseCallback(lambda c, reason, acc: acc.append(reason), reasons)
    cid = conn.domainEventRegisterAny(None, 0, lambda *args: None, None)
    conns.append((conn, reasons, cid))
print("ready", flush=True)
sys.stdin.readline()
deadline = time.monotonic() + 10
while any(not reasons for _c, reasons, _i in conns) and time.monotonic() < deadline:
    time.sleep(0.05)
rows = []
for conn, reasons, cid in conns:
    row = {"reasons": reasons, "alive": conn.isAlive()}
    steps = [
        ("deregister", lambda: conn.domainEventDeregisterAny(cid)),
        ("unregister", conn.unregisterCloseCallback),
        ("call", conn.getHostname),
        ("close", conn.close),
    ]
    for name, step in steps:
        try:
            row[name] = step()
        except libvirt.libvirtError as exc:
            row[name] = [exc.get_error_code(), exc.get_error_domain(), str(exc)]
    rows.append(row)
print(json.dumps(rows), flush=True)
"""


@pytest.fixture
def private_libvirtd() -> Iterator[LibvirtdPeer]:
    """A real libvirtd of our own: these tests kill it (the session peer must live on)."""
    need_peer(have_libvirtd(), "libvirtd (Debian package libvirt-daemon) and virsh")
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="lvloss-"))
    os.chmod(base, 0o755)
    peer_dir = base / "d"
    start = subprocess.run(
        ["bash", str(PEER_DIR / "start-libvirtd.sh"), str(port), str(peer_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if start.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start libvirtd: {start.stderr}")
    try:
        yield LibvirtdPeer(port=port, dir=peer_dir)
    finally:
        subprocess.run(
            ["bash", str(PEER_DIR / "stop-libvirtd.sh"), str(port), str(peer_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def _start(argv: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"client did not get ready: {line!r} {out!r} {err!r}")
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill9"])
def test_daemon_death_looks_like_libvirt(private_libvirtd, tmp_path, sig):
    """virsh's "due to I/O error" (TCP) / "end of file" (unix), and what follows, as libvirt."""
    uris = [private_libvirtd.tcp_uri, private_libvirtd.unix_uri]
    real_path = tmp_path / "real.py"
    real_path.write_text(LOSS_SCRIPT)
    ours_path = tmp_path / "ours.py"
    ours_path.write_text(LOSS_SCRIPT.replace(REAL_IMPORT, OUR_IMPORT, 1))
    real = _start([SYSTEM_PYTHON, str(real_path), *uris])
    ours = _start([sys.executable, str(ours_path), *uris])
    try:
        pid = int((private_libvirtd.dir / "libvirtd.pid").read_text())
        os.kill(pid, sig)
        results = [proc.communicate("go\n", timeout=30) for proc in (real, ours)]
    finally:
        for proc in (real, ours):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    (real_out, real_err), (our_out, our_err) = results
    assert real.returncode == 0, real_err
    assert ours.returncode == 0, our_err
    expected = json.loads(real_out.splitlines()[-1])
    got = json.loads(our_out.splitlines()[-1])
    # the facts the comparison rests on: TCP says I/O error (0), unix says end of file (1)
    assert [row["reasons"] for row in expected] == [[0], [1]]
    assert expected[0]["deregister"] == [1, 7, "internal error: client socket is closed"]
    assert got == expected
    assert our_err == real_err == ""


def _clients_connected(port: int) -> int:
    """Established TCP connections from a client to 127.0.0.1:``port`` (via /proc)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


def test_cli_event_loop_reports_daemon_death_like_virsh(private_libvirtd):
    """The CLI engineer's report: virsh says "due to I/O error" and then "client socket is
    closed" (the deregistration failing); our CLI on the drop-in must say the same."""
    need_peer(shutil.which("virsh") is not None, "virsh")
    uri = private_libvirtd.tcp_uri
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    env.pop("LIBVIRT_DEFAULT_URI", None)
    argvs = [
        ["virsh", "-c", uri, "event", "--all", "--loop"],
        [sys.executable, "-m", "virtwire.tools.cli", "-c", uri, "event", "--all", "--loop"],
    ]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for argv in argvs
    ]
    try:
        deadline = time.monotonic() + 20
        while _clients_connected(private_libvirtd.port) < 2:
            assert time.monotonic() < deadline, "clients did not connect"
            time.sleep(0.05)
        time.sleep(1.5)  # let both finish registering their callbacks
        pid = int((private_libvirtd.dir / "libvirtd.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        (virsh_out, virsh_err), (our_out, our_err) = [p.communicate(timeout=30) for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert virsh_err == (
        f"error: Disconnected from {uri} due to I/O error\n"
        "error: internal error: client socket is closed\n"
    )
    assert (our_out, our_err) == (virsh_out, virsh_err)
    assert procs[1].returncode == procs[0].returncode == 1


# ---------------------------------------------------------------------------------------
# clean exit
# ---------------------------------------------------------------------------------------

# Registered before the drop-in is imported, so it runs after the drop-in's own exit hook
# (atexit is last-in first-out): it reports how the loop thread was left.
EXIT_PROBE = """\
import atexit, asyncio, gc, json, sys


def report():
    gc.collect()
    lv = sys.modules["virtwire.client.libvirt"]
    loop, thread = lv._LOOP._loop, lv._LOOP._thread
    pending = [] if loop is None else [t for t in asyncio.all_tasks(loop) if not t.done()]
    print("EXIT " + json.dumps({
        "thread_alive": thread is not None and thread.is_alive(),
        "loop_closed": loop is None or loop.is_closed(),
        "pending": [repr(t.get_coro()) for t in pending],
        "noise": NOISE,
    }), flush=True)


NOISE = []
atexit.register(report)
from virtwire.client import libvirt


def record(loop, context):
    NOISE.append(str(context.get("message")))


libvirt._quiet_exception_handler = record  # see what the safety net would have hidden
"""


def _run_probe(tmp_path: Path, body: str, *args: str, timeout: float = 30):
    script = tmp_path / "probe.py"
    script.write_text(EXIT_PROBE + body)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout
    )
    elapsed = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith("EXIT ")]
    assert lines, (proc.stdout, proc.stderr)
    return proc, json.loads(lines[-1][5:]), elapsed


CLEAN = {"thread_alive": False, "loop_closed": True, "pending": [], "noise": []}


def test_exit_after_loss_is_clean(virtwire_server, tmp_path):
    body = """
import os, signal, threading, time
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
conn = libvirt.open(sys.argv[1])
conn.setKeepAlive(5, 3)
reasons = []
conn.registerCloseCallback(lambda c, r, o: reasons.append(r), None)
os.kill(int(sys.argv[2]), signal.SIGKILL)
deadline = time.monotonic() + 10
while not reasons and time.monotonic() < deadline:
    time.sleep(0.02)
print("reasons", reasons, flush=True)
"""
    pid = str(virtwire_server.proc.pid)
    proc, state, _elapsed = _run_probe(tmp_path, body, virtwire_server.tcp_uri(), pid)
    assert "reasons [0]" in proc.stdout
    assert state == CLEAN
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_exit_with_connections_left_open_is_clean(virtwire_server, tmp_path):
    body = """
conns = [libvirt.open(sys.argv[1]) for _ in range(3)]
for conn in conns:
    conn.setKeepAlive(5, 3)
    conn.getHostname()
"""
    proc, state, _elapsed = _run_probe(tmp_path, body, virtwire_server.unix_uri())
    assert state == CLEAN
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_exit_while_a_call_waits_is_prompt_and_quiet(virtwire_server, tmp_path):
    """A daemon thread blocked in a call (the server is stopped) does not hold up exit."""
    body = """
import os, signal, threading, time
conn = libvirt.open(sys.argv[1])
conn.getHostname()
os.kill(int(sys.argv[2]), signal.SIGSTOP)
threading.Thread(target=conn.getHostname, daemon=True).start()
time.sleep(0.3)
"""
    pid = virtwire_server.proc.pid
    try:
        proc, state, elapsed = _run_probe(tmp_path, body, virtwire_server.unix_uri(), str(pid))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert elapsed < 10
    assert state == CLEAN
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_exit_while_a_thread_keeps_calling_is_quiet(virtwire_server, tmp_path):
    """The goodbye at exit fails the call in flight: the calling daemon thread must not
    print that error (or a traceback) after the application has finished."""
    body = """
import threading, time
conn = libvirt.open(sys.argv[1])


def hammer():
    while True:
        conn.getHostname()


threading.Thread(target=hammer, daemon=True).start()
time.sleep(0.3)
"""
    for _ in range(3):
        proc, state, elapsed = _run_probe(tmp_path, body, virtwire_server.unix_uri())
        assert state == CLEAN
        assert proc.stderr == ""
        assert proc.returncode == 0
        assert elapsed < 10


# ---------------------------------------------------------------------------------------
# stress: short-lived processes, each with a timeout, so a hang fails instead of blocking
# ---------------------------------------------------------------------------------------

CYCLES_SCRIPT = """\
import sys
from virtwire.client import libvirt

uri, cycles = sys.argv[1], int(sys.argv[2])
for i in range(cycles):
    conn = libvirt.open(uri)
    dom = conn.lookupByName("test")
    dom.info()
    del dom
    if i % 3 == 0:
        conn.close()  # the others are left to the collector and the exit hook
print("done", flush=True)
"""


def _run_bounded(argv: list[str], timeout: float) -> tuple[int | None, str, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return None, str(exc.stdout or ""), str(exc.stderr or "")
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.slow
def test_stress_short_lived_processes_never_hang(virtwire_server, tmp_path):
    """20 CLI runs and 8 processes of 25 open/call/close cycles (200 connections)."""
    script = tmp_path / "cycles.py"
    script.write_text(CYCLES_SCRIPT)
    env_uri = virtwire_server.tcp_uri()
    jobs = [
        [sys.executable, "-m", "virtwire.tools.cli", "-c", env_uri, "domstate", "test"]
        for _ in range(20)
    ] + [[sys.executable, str(script), virtwire_server.unix_uri(), "25"] for _ in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda argv: _run_bounded(argv, 30), jobs))
    hangs = [argv for argv, (rc, _o, _e) in zip(jobs, results, strict=True) if rc is None]
    assert not hangs, f"{len(hangs)} process(es) hung: {hangs[:2]}"
    for argv, (rc, out, err) in zip(jobs, results, strict=True):
        assert rc == 0, (argv, out, err)
        assert err == "", (argv, err)
    assert all(out.strip() == "running" for _rc, out, _e in results[:20])
