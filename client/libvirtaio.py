"""Run the drop-in's callbacks on an asyncio loop: what libvirt-python's ``libvirtaio`` does.

    from virtwire.client import libvirt, libvirtaio
    libvirtaio.virEventRegisterAsyncIOImpl()          # before libvirt.open()
    conn = libvirt.open("test:///default")
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)

Callbacks then run on the loop given (default: the running one, else the thread's current
one), never on virtwire's own I/O thread.  Same public names as libvirtaio:
:func:`virEventRegisterAsyncIOImpl`, :func:`getCurrentImpl`, :class:`virEventAsyncIOImpl`
with ``register()``, ``drain()`` and ``is_idle()``.  It registers itself through
``libvirt.virEventRegisterImpl`` exactly like libvirtaio, so the real libvirtaio module also
works on top of the drop-in.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable
from typing import Any

from virtwire.client import libvirt

__all__ = ["getCurrentImpl", "virEventAsyncIOImpl", "virEventRegisterAsyncIOImpl"]

_current_impl: virEventAsyncIOImpl | None = None


class virEventAsyncIOImpl:  # noqa: N801  (libvirtaio's name)
    """libvirt's six event-loop functions on an asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop_policy().get_event_loop()
        self.loop = loop
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._handles: dict[int, list[Any]] = {}  # watch -> [fd, events, cb, opaque]
        self._timers: dict[int, list[Any]] = {}  # timer -> [timeout, cb, opaque, TimerHandle]
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def register(self) -> virEventAsyncIOImpl:
        libvirt.virEventRegisterImpl(
            self._add_handle,
            self._update_handle,
            self._remove_handle,
            self._add_timeout,
            self._update_timeout,
            self._remove_timeout,
        )
        return self

    # everything touching the loop runs on the loop's thread
    def _on_loop(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    # handles ---------------------------------------------------------------------------
    def _add_handle(self, fd: int, events: int, cb: Callable[..., object], opaque: Any) -> int:
        watch = next(self._ids)
        with self._lock:
            self._handles[watch] = [fd, events, cb, opaque]
        self._on_loop(self._rewatch, fd)
        return watch

    def _update_handle(self, watch: int, events: int) -> None:
        with self._lock:
            entry = self._handles.get(watch)
            if entry is None:
                return
            entry[1] = events
            fd = entry[0]
        self._on_loop(self._rewatch, fd)

    def _remove_handle(self, watch: int) -> int:
        with self._lock:
            entry = self._handles.pop(watch, None)
        if entry is None:
            return -1
        self._on_loop(self._rewatch, entry[0])
        return 0

    def _rewatch(self, fd: int) -> None:
        with self._lock:
            mine = [e for e in self._handles.values() if e[0] == fd]
        want_read = any(e[1] & libvirt.VIR_EVENT_HANDLE_READABLE for e in mine)
        want_write = any(e[1] & libvirt.VIR_EVENT_HANDLE_WRITABLE for e in mine)
        self.loop.remove_reader(fd)
        self.loop.remove_writer(fd)
        if want_read:
            self.loop.add_reader(fd, self._fire, fd, libvirt.VIR_EVENT_HANDLE_READABLE)
        if want_write:
            self.loop.add_writer(fd, self._fire, fd, libvirt.VIR_EVENT_HANDLE_WRITABLE)

    def _fire(self, fd: int, event: int) -> None:
        with self._lock:
            due = [(w, e) for w, e in self._handles.items() if e[0] == fd and e[1] & event]
        for watch, (_fd, _events, cb, opaque) in due:
            cb(watch, fd, event, opaque)

    # timeouts (ms; -1 disabled, 0 = as soon as possible, repeating) ---------------------
    def _add_timeout(self, timeout: int, cb: Callable[..., object], opaque: Any) -> int:
        timer = next(self._ids)
        with self._lock:
            self._timers[timer] = [timeout, cb, opaque, None]
        self._on_loop(self._schedule, timer)
        return timer

    def _update_timeout(self, timer: int, timeout: int) -> None:
        with self._lock:
            entry = self._timers.get(timer)
            if entry is None:
                return
            entry[0] = timeout
        self._on_loop(self._schedule, timer)

    def _remove_timeout(self, timer: int) -> int:
        with self._lock:
            entry = self._timers.pop(timer, None)
        if entry is None:
            return -1
        if entry[3] is not None:
            self.loop.call_soon_threadsafe(entry[3].cancel)
        return 0

    def _schedule(self, timer: int) -> None:
        with self._lock:
            entry = self._timers.get(timer)
            if entry is None:
                return
            if entry[3] is not None:
                entry[3].cancel()
                entry[3] = None
            if entry[0] < 0:
                return
            entry[3] = self.loop.call_later(entry[0] / 1000, self._tick, timer)

    def _tick(self, timer: int) -> None:
        with self._lock:
            entry = self._timers.get(timer)
            if entry is None:
                return
            entry[3] = None
        entry[1](timer, entry[2])
        self._schedule(timer)

    # libvirtaio's helpers --------------------------------------------------------------
    def is_idle(self) -> bool:
        """True when no handle and no enabled timer is registered."""
        with self._lock:
            return not self._handles and not any(e[0] >= 0 for e in self._timers.values())

    async def drain(self) -> None:
        """Let callbacks already due run (libvirtaio waits for pending frees)."""
        await asyncio.sleep(0)


def getCurrentImpl() -> virEventAsyncIOImpl | None:  # noqa: N802  (libvirtaio's name)
    """The registered implementation, or None."""
    return _current_impl


def virEventRegisterAsyncIOImpl(  # noqa: N802  (libvirtaio's name)
    loop: asyncio.AbstractEventLoop | None = None,
) -> virEventAsyncIOImpl:
    """Dispatch the drop-in's callbacks on ``loop`` (call before opening connections)."""
    global _current_impl
    _current_impl = virEventAsyncIOImpl(loop=loop).register()
    return _current_impl
