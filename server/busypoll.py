"""Adaptive busy polling: the daemon's selector polls briefly before it sleeps.

Why: a client that makes one call at a time (python3-libvirt, virsh, most management
code) leaves the daemon idle between calls. On a virtual machine an idle vCPU halts, and
waking it for the next call costs an inter-processor interrupt through the hypervisor:
measured on the 2-core machine this project is benchmarked on, a getLibVersion round trip
from python3-libvirt took ~165 µs when daemon and client ran on different vCPUs and ~40 µs
on the same one, with the daemon's own work at ~7 µs. Polling the sockets for a few tens
of microseconds before sleeping catches the next call while the vCPU is still awake.

How much: KVM's halt polling (virt/kvm/kvm_main.c), which solves the same problem one
level down. The polling window starts at 0; a sleep that ended (with I/O) sooner than
:attr:`AdaptivePollPolicy.max_poll` grows it (to ``start``, then doubling, up to
``max_poll``): polling that long would have caught that wake-up. A sleep longer than
``max_poll`` (an idle daemon, a client thinking) resets it to 0. So the daemon polls only
while its wake-ups keep coming quickly, and an idle daemon costs no CPU; a busy one never
sleeps, so never polls either. ``select(0)`` (asyncio has ready callbacks) never polls.
Between polls it calls ``sched_yield``: the kernel places a thread woken by our send (the
client's event thread, say) on the waker's vCPU, expecting the waker to sleep, and
without the yield that thread would wait out the window — in the bench's event workload
that showed as rounds with a p99 of 1-1.5 ms instead of ~0.2 ms.

Only ``virtwire serve`` (its own process) uses it: a daemon embedded in a program's
process (:mod:`virtwire.server.embed`) would compete with the program's threads for the
GIL while it polls.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_MAX_POLL_US", "AdaptivePollPolicy", "AdaptivePollSelector", "new_event_loop"]

_yield = getattr(os, "sched_yield", lambda: None)

DEFAULT_MAX_POLL_US = 100
"""``virtwire serve --busy-poll``'s default, µs (KVM's halt_poll_ns default is 200 µs)."""


class AdaptivePollPolicy:
    """How long to poll before the next sleep, from how long the last sleeps lasted (sans-IO)."""

    __slots__ = ("max_poll", "start", "window")

    def __init__(self, max_poll: float, start: float | None = None) -> None:
        self.max_poll = max_poll  # seconds; 0 turns polling off
        self.start = min(max_poll, 10e-6) if start is None else start  # KVM: 10 µs
        self.window = 0.0  # seconds to poll before the next sleep

    def slept(self, seconds: float, woke_for_io: bool) -> None:
        """A sleep ended after ``seconds``; ``woke_for_io``: with ready file descriptors."""
        if seconds > self.max_poll:
            self.window = 0.0  # idle: polling would have been wasted
        elif woke_for_io and self.window < self.max_poll:
            self.window = min(self.max_poll, max(self.start, self.window * 2))


class AdaptivePollSelector(selectors.EpollSelector):
    """An epoll selector that polls (``epoll_wait`` with no timeout) for the policy's
    window before it sleeps."""

    def __init__(self, max_poll: float, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.policy = AdaptivePollPolicy(max_poll)
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        poll = super().select
        if timeout is not None and timeout <= 0:
            return poll(0)
        clock = self._clock
        policy = self.policy
        window = policy.window
        if window:
            started = clock()
            end = started + (window if timeout is None else min(window, timeout))
            while True:
                ready = poll(0)
                if ready:
                    return ready  # polling paid off: the window stays
                if clock() >= end:
                    break
                # a thread the kernel queued on this vCPU (a socket wake-up is placed on the
                # waker's CPU, expecting it to sleep) runs now instead of after the window
                _yield()
            if timeout is not None:
                timeout = max(0.0, timeout - (clock() - started))
        started = clock()
        ready = poll(timeout)
        policy.slept(clock() - started, bool(ready))
        return ready


def new_event_loop(max_poll_us: float = DEFAULT_MAX_POLL_US) -> asyncio.AbstractEventLoop:
    """asyncio's event loop on an :class:`AdaptivePollSelector` (plain when 0 µs or where
    epoll does not exist)."""
    if max_poll_us <= 0 or not hasattr(selectors, "EpollSelector"):
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(AdaptivePollSelector(max_poll_us * 1e-6))
