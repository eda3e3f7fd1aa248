"""SIGKILL of a `virtwire serve` process during define/undefine/attach/volume/snapshot/
network/secret writes (issue 14, and issue 10's "survive SIGKILL like domains do"): after each restart every object is fully before or fully after the call that was in
flight, every acknowledged call is there, and no stored file is skipped as unreadable."""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import stop_process
from tests.server.kill_worker import KINDS

WORKER = Path(__file__).with_name("kill_worker.py")
ROUNDS = 3
VOLUME_DIR = "/var/lib/virtwire-kill"
UNREADABLE = ("ignoring unreadable", "skipping", "Traceback")


def start_serve(state: Path, sock: Path, log: Path) -> subprocess.Popen:
    handle = log.open("a")
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtwire.tools.cli", "serve", "--state-dir", str(state),
         "--unix", str(sock)],
        stdout=subprocess.DEVNULL, stderr=handle,
    )  # fmt: skip
    handle.close()
    deadline = time.monotonic() + 20
    while "listening on unix" not in log.read_text().rsplit("--- start", 1)[-1]:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    return proc


def run_worker(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(WORKER.parents[2]))
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, text=True, env=env
    )


def apply(model: dict, op: str, name: str) -> None:
    domains, volumes, snapshots = model["domains"], model["volumes"], model["snapshots"]
    networks, secrets, usage = model["networks"], model["secrets"], f"{VOLUME_DIR}/{name}"
    if op == "define":
        domains[name] = False
    elif op == "attach":
        domains[name] = True
    elif op == "undefine":
        del domains[name]
    elif op == "volcreate":
        volumes[name] = 1 << 20
    elif op == "voldelete":
        del volumes[name]
    elif op == "snapcreate":
        snapshots[name] = [f"s{name}"]
    elif op == "snapdelete":
        del snapshots[name]
    elif op == "netdefine":
        networks[name] = f"vk{name}"
    elif op == "netundefine":
        del networks[name]
    elif op == "secdefine":
        secrets[usage] = None
    elif op == "secvalue":
        secrets[usage] = name
    elif op == "secundefine":
        del secrets[usage]
    else:
        raise AssertionError(f"unknown operation {op}")


def test_sigkill_during_writes_leaves_objects_before_or_after(tmp_path):
    seed = int(time.time())
    rng = random.Random(seed)
    state, sock, log = tmp_path / "st", tmp_path / "sock", tmp_path / "serve.log"
    uri = f"qemu+unix:///session?socket={sock}"
    model: dict = {kind: {} for kind in KINDS}
    pending: tuple[str, str] | None = None
    acked = kills = 0
    for round_no in range(ROUNDS + 1):
        with log.open("a") as handle:
            handle.write("--- start\n")
        daemon = start_serve(state, sock, log)
        worker = None
        try:
            last = round_no == ROUNDS
            worker = run_worker("check" if last else "work", uri, str(round_no))
            assert worker.stdout is not None
            word, found = worker.stdout.readline().split(" ", 1)
            assert word == "STATE", found
            got = json.loads(found)
            assert got.pop("active"), "the autostart pool did not come back"
            after = copy.deepcopy(model)
            if pending is not None:
                apply(after, *pending)
            assert got in (model, after), (seed, round_no, pending, got, model)
            model = got  # the in-flight call resolved one way or the other
            tail = log.read_text().rsplit("--- start", 1)[-1]
            assert not any(word in tail for word in UNREADABLE), tail
            if last:
                assert worker.wait(30) == 0
                worker.stdout.close()
                break
            assert worker.stdout.readline().strip() == "READY"
            target = rng.randint(1, 30)
            count = 0
            pending = None
            for line in worker.stdout:
                word, *rest = line.split()
                if word == "TRY":
                    pending = (rest[0], rest[1])
                elif word == "ACK":
                    apply(model, rest[0], rest[1])
                    pending = None
                    count += 1
                    if count >= target:
                        break
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait(10)
            kills += 1
            for line in worker.stdout:  # what the worker saw before the daemon died
                word, *rest = line.split()
                if word == "TRY":
                    pending = (rest[0], rest[1])
                elif word == "ACK":
                    apply(model, rest[0], rest[1])
                    pending = None
                    count += 1
            assert worker.wait(30) == 0
            worker.stdout.close()
            acked += count
        finally:
            stop_process(daemon, signal.SIGKILL)
            stop_process(worker, signal.SIGKILL)
            if worker is not None and worker.stdout is not None:
                worker.stdout.close()
    assert kills == ROUNDS and acked >= ROUNDS
    print(f"SIGKILL test: {kills} kills, {acked} acknowledged calls, none lost (seed {seed})")
