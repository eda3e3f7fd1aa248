"""Application event loops for the drop-in: ``virEventRegisterImpl`` and its helpers.

libvirt-python delivers callbacks (domain events, close callbacks, timers the application
adds with ``virEventAddTimeout``) through an *event implementation* the application
registers: the default poll loop (``virEventRegisterDefaultImpl`` + ``virEventRunDefaultImpl``)
or its own six functions (``virEventRegisterImpl(addHandle, updateHandle, removeHandle,
addTimeout, updateTimeout, removeTimeout)``), which is how ``libvirtaio`` runs libvirt on an
asyncio loop.  virtwire's client already runs on asyncio in its own thread; what it needs
from the application's loop is only "run this callback over there".  :class:`CustomImpl`
gets that from the six functions the same way libvirt does: it watches a wake-up pipe
through the application's ``addHandle`` and, when the loop reports it readable, runs the
posted callbacks.  ``virEventAddHandle``/``virEventAddTimeout`` and friends forward to the
application's functions, as in libvirt.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import traceback
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["CustomImpl", "EventImpl", "invoke_handle_callback", "invoke_timeout_callback"]

VIR_EVENT_HANDLE_READABLE = 1


class EventImpl(Protocol):
    """What the drop-in needs of a registered event implementation."""

    def post(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the application's event loop (called from any thread)."""

    def add_handle(self, fd: int, events: int, cb: Callable[..., object], opaque: Any) -> int: ...

    def update_handle(self, watch: int, events: int) -> None: ...

    def remove_handle(self, watch: int) -> int: ...

    def add_timeout(self, timeout: int, cb: Callable[..., object], opaque: Any) -> int: ...

    def update_timeout(self, timer: int, timeout: int) -> None: ...

    def remove_timeout(self, timer: int) -> int: ...


def run_user(fn: Callable[..., object], *args: Any) -> None:
    """Run an application callback; like libvirt-python, print its traceback and go on."""
    try:
        fn(*args)
    except Exception:
        traceback.print_exc()


class CustomImpl:
    """An event implementation made of the application's six functions."""

    def __init__(
        self,
        add_handle: Callable[..., int],
        update_handle: Callable[..., object],
        remove_handle: Callable[..., int],
        add_timeout: Callable[..., int],
        update_timeout: Callable[..., object],
        remove_timeout: Callable[..., int],
    ) -> None:
        self._add_handle = add_handle
        self._update_handle = update_handle
        self._remove_handle = remove_handle
        self._add_timeout = add_timeout
        self._update_timeout = update_timeout
        self._remove_timeout = remove_timeout
        self._lock = threading.Lock()
        self._posted: collections.deque[Callable[[], object]] = collections.deque()
        self._wake_r = self._wake_w = -1
        self._watch: int | None = None

    def _arm(self) -> None:
        """Watch the wake-up pipe through the application's loop (once, on first use)."""
        with self._lock:
            if self._watch is not None:
                return
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._watch = -1  # being added: a second poster must not add another
        watch = self._add_handle(self._wake_r, VIR_EVENT_HANDLE_READABLE, self._on_wake, None)
        with self._lock:
            self._watch = watch

    def _on_wake(self, _watch: int, fd: int, _events: int, _opaque: Any) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(fd, 4096):
                pass
        with self._lock:
            batch = list(self._posted)
            self._posted.clear()
        for fn in batch:
            run_user(fn)

    def post(self, fn: Callable[[], object]) -> None:
        if self._watch is None:
            self._arm()
        with self._lock:
            self._posted.append(fn)
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    def add_handle(self, fd: int, events: int, cb: Callable[..., object], opaque: Any) -> int:
        return self._add_handle(fd, events, cb, opaque)

    def update_handle(self, watch: int, events: int) -> None:
        self._update_handle(watch, events)

    def remove_handle(self, watch: int) -> int:
        return self._remove_handle(watch)

    def add_timeout(self, timeout: int, cb: Callable[..., object], opaque: Any) -> int:
        return self._add_timeout(timeout, cb, opaque)

    def update_timeout(self, timer: int, timeout: int) -> None:
        self._update_timeout(timer, timeout)

    def remove_timeout(self, timer: int) -> int:
        return self._remove_timeout(timer)


def _split(opaque: Any, compat: Any) -> tuple[Callable[..., object], Any]:
    # libvirt <= 0.9.2 had loops pass (cb, opaque) separately; later ones one tuple
    if compat is not None:
        return opaque, compat
    if isinstance(opaque, tuple) and len(opaque) == 2 and callable(opaque[0]):
        return opaque[0], opaque[1]
    raise TypeError("opaque must be the (callback, opaque) pair the handle was added with")


def invoke_handle_callback(watch: int, fd: int, event: int, opaque: Any, compat: Any) -> None:
    """``virEventInvokeHandleCallback``: call a handle callback a loop was given."""
    cb, data = _split(opaque, compat)
    cb(watch, fd, event, data)


def invoke_timeout_callback(timer: int, opaque: Any, compat: Any) -> None:
    """``virEventInvokeTimeoutCallback``: call a timeout callback a loop was given."""
    cb, data = _split(opaque, compat)
    cb(timer, data)
