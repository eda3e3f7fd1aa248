"""What a test leaves behind: threads, child processes, open fds/sockets, pending asyncio tasks.

:func:`snapshot` is cheap (a listdir of /proc/self/fd, the thread list, the children files of
this process's tasks, a WeakSet scan); :func:`leftovers` compares, and when something is left
it collects garbage and waits up to ``grace`` seconds for it to go (threads finishing,
sockets closed by their finalizers) before reporting it. tests/conftest.py runs it around
every test (VIRTWIRE_HYGIENE=fail|warn|off).

Known, documented exceptions (process-wide by design, not a test's leftover):

* the virtwire client library's loop thread (``virtwire-client-loop``), started on first use
  like libvirt-python's event thread, with the fds of its event loop (an epoll fd and its
  self-pipe socket pair);
* the drop-in's default event implementation's wake-up pipe, made by the first
  ``virEventRunDefaultImpl`` and kept for the process (libvirt's virEventPollInit keeps its
  own the same way);
* threads libvirt's own default event implementation runs for close callbacks (unnamed
  daemon threads whose target is ``_run_user``) finish by themselves;
* a ``Connection.close`` task in progress: a drop-in connection collected as garbage
  closes itself on the client loop (the collection may well be this check's own).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
from dataclasses import dataclass

ALLOWED_THREADS = ("virtwire-client-loop",)


@dataclass(frozen=True)
class Snapshot:
    threads: frozenset[threading.Thread]
    children: frozenset[int]
    fds: dict[int, str]
    tasks: frozenset[int]


def _fds() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the fd listdir itself used, closed meanwhile
            continue
    return found


def _children() -> frozenset[int]:
    pids: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as handle:
                pids.update(int(p) for p in handle.read().split())
        except OSError:
            continue
    return frozenset(pids)


# a drop-in connection collected as garbage closes itself on the client loop: a close in
# progress (often started by the gc.collect below, for an earlier test's object) is cleanup
CLEANUP_COROUTINES = ("Connection.close",)


def _pending_tasks() -> frozenset[int]:
    return frozenset(
        id(t)
        for t in list(asyncio.tasks._all_tasks)
        if not t.done() and t.get_coro().__qualname__ not in CLEANUP_COROUTINES
    )


def snapshot() -> Snapshot:
    return Snapshot(frozenset(threading.enumerate()), _children(), _fds(), _pending_tasks())


def _compare(before: Snapshot) -> tuple[list[str], bool]:
    """What is new since ``before``; the flag says whether an allowed thread appeared."""
    allowed_thread = False
    found = []
    for t in threading.enumerate():
        if t in before.threads or not t.is_alive():
            continue
        if t.name in ALLOWED_THREADS:
            allowed_thread = True
            continue
        found.append(f"thread {t.name!r}")
    for pid in _children() - before.children:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmd = handle.read().replace(b"\0", b" ").decode(errors="replace")[:120]
        except OSError:
            continue  # gone meanwhile
        found.append(f"child process {pid} ({cmd.strip()})")
    now = _fds()
    process_wide = _default_impl_fds()
    for fd, target in sorted(now.items()):
        if before.fds.get(fd) != target and fd not in process_wide:
            found.append(f"fd {fd} → {target}")
    new_tasks = _pending_tasks() - before.tasks
    if new_tasks:
        names = sorted(
            {
                t.get_coro().__qualname__
                for t in list(asyncio.tasks._all_tasks)
                if id(t) in new_tasks
            }
        )
        found.append(f"{len(new_tasks)} pending asyncio task(s): {', '.join(names)}")
    return found, allowed_thread


def _default_impl_fds() -> frozenset[int]:
    """The drop-in default event implementation's wake-up pipe, once it exists."""
    dropin = sys.modules.get("virtwire.client.libvirt")
    impl = getattr(dropin, "_IMPL", None)
    return frozenset(fd for fd in (getattr(impl, "_wake_r", -1), getattr(impl, "_wake_w", -1)))


def _loop_fd(entry: str) -> bool:
    """An fd an event loop owns: its epoll fd or its self-pipe (a socket pair)."""
    return "anon_inode:[eventpoll]" in entry or "socket:[" in entry


def leftovers(before: Snapshot, grace: float = 2.0) -> list[str]:
    """Everything the test left behind (empty: clean)."""
    found, allowed = _compare(before)
    if not found:
        return []
    gc.collect()
    deadline = time.monotonic() + grace
    while True:
        found, allowed = _compare(before)
        if allowed:  # the client library's loop thread came up: its loop's fds are its own
            found = [f for f in found if not (f.startswith("fd ") and _loop_fd(f))]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
