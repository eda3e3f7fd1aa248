"""A drop-in for the part of libvirt-python that management scripts use.

``from virtwire.client import libvirt`` and a script written for ``import libvirt`` runs
unchanged: the same functions (``open``, ``openReadOnly``, ``virEventRegisterDefaultImpl``,
``virEventRunDefaultImpl``, ``registerErrorHandler`` …), classes (``virConnect``,
``virDomain``, ``libvirtError``), method names, signatures, return shapes, callback
signatures and constants.

How it works — and why: the asyncio core (:mod:`virtwire.client.connection`) runs on one
private loop thread per process (a daemon thread started on first use). It is not a second
implementation. A plain call (encode, one RPC, decode: see :func:`_drivable_codes`) runs
its coroutine on the calling thread, which writes the CALL and waits on a
:class:`~virtwire.client.connection.ThreadWaiter`: on a plain socket it reads the reply
itself while it holds the link's reading baton (:mod:`virtwire.client.baton`), else the
loop's reader resolves it; anything
that needs the loop itself (open, close, events, streams, keepalive) is submitted to it
as a coroutine and waited for.
User callbacks never run on that thread: as in libvirt-python, event and close callbacks
are delivered by :func:`virEventRunDefaultImpl` in whatever thread the application runs it
(the usual pattern is a daemon thread looping on it). The loop thread only posts them to
the default event implementation's queue and wakes it through a pipe, so callbacks may
call back into the API without deadlocking, and keepalive PINGs are answered even while
the application's loop is busy.

Errors: every failure raises :class:`libvirtError` carrying the server's fields, after
the registered error handler (or libvirt's default one, which prints
``libvirt: <domain> <level> : <message>`` to stderr) has seen it, as libvirt does.
"""

from __future__ import annotations

# Our own names are private (underscored): the module's namespace holds libvirt-python's.
import asyncio as _asyncio
import atexit as _atexit
import collections as _collections
import concurrent.futures as _cf
import contextlib as _contextlib
import inspect as _inspect
import logging as _logging
import os as _os
import select as _select
import sys as _sys
import threading as _threading
import time as _time
import traceback as _traceback
import uuid as _uuid
import weakref as _weakref
from collections.abc import Callable
from collections.abc import Coroutine as _Coroutine
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any, TypeVar

from virtwire.client import constants as _constants
from virtwire.client import event_impl as _event_impl
from virtwire.client import objects as _objects
from virtwire.client.connection import CloseReason as _CloseReason
from virtwire.client.connection import Connection as _Connection
from virtwire.client.connection import ThreadWaiter as _ThreadWaiter
from virtwire.client.connection import _closed_error, _ref
from virtwire.client.connection import connect as _connect
from virtwire.client.constants import *  # noqa: F403  (libvirt's public constants)
from virtwire.client.domain import Domain as _Domain
from virtwire.protocol.errors import ErrorCode as _ErrorCode
from virtwire.protocol.errors import ErrorDomain as _ErrorDomain
from virtwire.protocol.errors import LibvirtError as _LibvirtError
from virtwire.protocol.event_types import DomainEventID as _DomainEventID
from virtwire.protocol.event_types import DomainRef as _DomainRef
from virtwire.protocol.events import callback_args as _callback_args
from virtwire.protocol.generated import remote_protocol as _rp

if _TYPE_CHECKING:  # the event classes load with the first event, not with the module
    from virtwire.protocol.event_classes import DomainEvent as _DomainEvent

_log = _logging.getLogger("virtwire.client")

# libvirt-python's callback type aliases (libvirtaio annotates with libvirt._EventCB...)
_T = TypeVar("_T")
_EventCB = Callable[[int, int, int, _T], None]
_EventAddHandleFunc = Callable[[int, int, _EventCB, _T], int]
_EventUpdateHandleFunc = Callable[[int, int], None]
_EventRemoveHandleFunc = Callable[[int], int]
_TimerCB = Callable[[int, _T], None]
_EventAddTimeoutFunc = Callable[[int, _TimerCB, _T], int]
_EventUpdateTimeoutFunc = Callable[[int, int], None]
_EventRemoveTimeoutFunc = Callable[[int], int]

__all__ = [  # noqa: F405
    "libvirtError",
    "open",
    "openAuth",
    "openReadOnly",
    "registerErrorHandler",
    "virConnect",
    "virDomain",
    "virEventAddHandle",
    "virEventAddTimeout",
    "virEventRegisterDefaultImpl",
    "virEventRegisterImpl",
    "virEventRemoveHandle",
    "virEventRemoveTimeout",
    "virEventRunDefaultImpl",
    "virEventUpdateHandle",
    "virEventUpdateTimeout",
    "virGetLastError",
    "virGetLastErrorCode",
    "virGetLastErrorDomain",
    "virGetLastErrorMessage",
    "virResetLastError",
    *[name for name in dir(_constants) if name.startswith("VIR_")],
]

#: The libvirt version whose API and constants this module mirrors (virGetVersion).
_LIBVIR_VERSION_NUMBER = 9000000

# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------

# virErrorDomain display names (virerror.c), for the default error handler's line.
_DOMAIN_NAMES = (
    "", "Xen Driver", "Xen Daemon", "Xen Store", "S-Expression",
    "XML Util", "Domain", "XML-RPC", "Proxy Daemon", "Config File",
    "QEMU Driver", "Network", "Test Driver", "Remote Driver", "OpenVZ Driver",
    "Xen XM Driver", "Linux Statistics", "LXC Driver", "Storage Driver", "Network Driver",
    "Domain Config", "User Mode Linux Driver", "Node Device Driver", "Xen Inotify Driver",
    "Security Driver",
    "VirtualBox Driver", "Network Interface Driver", "Open Nebula Driver", "ESX Driver",
    "Power Hypervisor Driver",
    "Secrets Driver", "CPU Driver", "XenAPI Driver", "Network Filter Driver", "Lifecycle Hook",
    "Domain Snapshot", "Audit Utils", "Sysinfo Utils", "I/O Stream Utils", "VMware Driver",
    "Event Loop", "Xen Light Driver", "Lock Driver", "Hyper-V Driver", "Capabilities Utils",
    "URI Utils", "Authentication Utils", "DBus Utils", "Parallels Cloud Server", "Device Config",
    "SSH transport layer", "Lock Space", "Init control", "Identity", "Cgroup",
    "Access Manager", "Systemd", "Bhyve", "Crypto", "Firewall",
    "Polkit", "Thread jobs", "Admin Interface", "Log Manager", "Xen XL Config",
    "Perf", "Libssh transport layer", "Resource control", "FirewallD", "Domain Checkpoint",
    "TPM", "BPF", "Cloud-Hypervisor Driver",
)  # fmt: skip

_ErrorTuple = tuple[int, int, str, int, "str | None", "str | None", "str | None", int, int]

_tls = _threading.local()
_error_handler: tuple[Callable[[Any, _ErrorTuple], object], Any] | None = None


def _error_tuple(err: _LibvirtError) -> _ErrorTuple:
    return (
        int(err.code),
        int(err.domain),
        err.message if err.message is not None else "Unknown error",
        int(err.level),
        err.str1,
        err.str2,
        err.str3,
        int(err.int1),
        int(err.int2),
    )


def _default_error_handler(err: _ErrorTuple) -> None:
    """libvirt's virDefaultErrorFunc: ``libvirt: <domain> <level> : <message>``."""
    code, domain, message, level = err[0], err[1], err[2], err[3]
    if code == 0:
        return
    lvl = {0: "", 1: "warning", 2: "error"}.get(level, "")
    dom = _DOMAIN_NAMES[domain] if 0 <= domain < len(_DOMAIN_NAMES) else "Unknown"
    text = message or ""
    end = "" if text.endswith("\n") else "\n"
    with _contextlib.suppress(Exception):
        _sys.stderr.write(f"libvirt: {dom} {lvl} : {text}{end}")
        _sys.stderr.flush()


def _dispatch_error(err: _LibvirtError) -> None:
    """Record ``err`` as this thread's last error and show it to the error handler."""
    info = _error_tuple(err)
    _tls.last_error = info
    handler = _error_handler
    if handler is None:
        _default_error_handler(info)
        return
    func, ctx = handler
    try:
        func(ctx, info)
    except Exception:
        _traceback.print_exc()


class libvirtError(Exception):  # noqa: N801  (libvirt-python's name)
    """libvirt-python's exception: ``str(e)`` is the message; ``e.err`` the 9-tuple.

    As in libvirt-python, constructing one reads this thread's last error; ``defmsg`` is
    only used when there is none.
    """

    def __init__(self, defmsg: str) -> None:
        err = getattr(_tls, "last_error", None)
        msg = defmsg if err is None else err[2]
        Exception.__init__(self, msg)
        self.err: _ErrorTuple | None = err

    def get_error_code(self) -> int | None:
        return None if self.err is None else self.err[0]

    def get_error_domain(self) -> int | None:
        return None if self.err is None else self.err[1]

    def get_error_message(self) -> str | None:
        return None if self.err is None else self.err[2]

    def get_error_level(self) -> int | None:
        return None if self.err is None else self.err[3]

    def get_str1(self) -> str | None:
        return None if self.err is None else self.err[4]

    def get_str2(self) -> str | None:
        return None if self.err is None else self.err[5]

    def get_str3(self) -> str | None:
        return None if self.err is None else self.err[6]

    def get_int1(self) -> int | None:
        return None if self.err is None else self.err[7]

    def get_int2(self) -> int | None:
        return None if self.err is None else self.err[8]


def registerErrorHandler(f: Callable[[Any, _ErrorTuple], object] | None, ctx: Any) -> int:  # noqa: N802
    """Call ``f(ctx, error_tuple)`` for every error instead of printing it; None resets."""
    global _error_handler
    if f is not None and not callable(f):
        raise TypeError("registerErrorHandler: f must be callable or None")
    _error_handler = None if f is None else (f, ctx)
    return 1


def virGetLastError() -> _ErrorTuple | None:  # noqa: N802
    return getattr(_tls, "last_error", None)


def virGetLastErrorCode() -> int:  # noqa: N802
    err = virGetLastError()
    return 0 if err is None else err[0]


def virGetLastErrorDomain() -> int:  # noqa: N802
    err = virGetLastError()
    return 0 if err is None else err[1]


def virGetLastErrorMessage() -> str:  # noqa: N802
    err = virGetLastError()
    return "no error" if err is None else err[2]


def virResetLastError() -> None:  # noqa: N802
    _tls.last_error = None


def _fail(err: _LibvirtError, defmsg: str) -> libvirtError:
    _dispatch_error(err)
    # the new error is raised "from None" (err stays only as its hidden __context__); err's
    # traceback runs through the loop's frames, which hold the future that holds err: a
    # cycle that kept the caller's objects (a virDomain, so its connection) alive until a
    # garbage collection, and made close() defer the real close to that moment
    err.__traceback__ = None
    return libvirtError(defmsg)


# ---------------------------------------------------------------------------------------
# the private loop thread
# ---------------------------------------------------------------------------------------


class _LoopThread:
    """One asyncio loop on a daemon thread, shared by every connection of the process.

    Its life cycle is what keeps short-lived scripts (one call, then exit) from hanging or
    printing asyncio noise at exit:

    - a blocking call waits in slices and gives up with libvirt's "client socket is
      closed" if the loop thread has died, instead of waiting forever;
    - at interpreter exit (:func:`_shutdown_at_exit`) connections are closed, every task
      of the loop is cancelled and awaited, the loop is stopped, its thread joined and the
      loop closed, each step bounded in time; a daemon thread that calls in after that is
      parked (it is about to be frozen by the interpreter anyway) rather than made to
      start a new loop thread while the interpreter is going away.
    """

    def __init__(self) -> None:
        self._lock = _threading.Lock()
        self._loop: _asyncio.AbstractEventLoop | None = None
        self._thread: _threading.Thread | None = None
        #: set once interpreter exit has begun; no loop is (re)started after that
        self.exiting = False

    def loop(self) -> _asyncio.AbstractEventLoop:
        return self._start()[0]

    def _start(self) -> tuple[_asyncio.AbstractEventLoop, _threading.Thread]:
        loop, thread = self._loop, self._thread  # every call: no lock while it runs
        if not self.exiting and loop is not None and thread is not None and thread.is_alive():
            return loop, thread
        with self._lock:
            if self.exiting:
                raise _closed_error()
            loop, thread = self._loop, self._thread
            if loop is None or thread is None or not thread.is_alive():
                if loop is not None and not loop.is_running():
                    with _contextlib.suppress(Exception):
                        loop.close()
                loop = _asyncio.new_event_loop()
                ready = _threading.Event()
                thread = _threading.Thread(
                    target=_run_loop, args=(loop, ready), name="virtwire-client-loop", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return loop, thread

    def running(self) -> _asyncio.AbstractEventLoop | None:
        """The loop if its thread is alive; never starts one (safe in finalizers)."""
        loop, thread = self._loop, self._thread
        if self.exiting or loop is None or thread is None or not thread.is_alive():
            return None
        if loop.is_closed():
            return None
        return loop

    def run(self, coro: _Coroutine[Any, Any, Any]) -> Any:
        if _threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("virtwire.client.libvirt called from its own loop thread")
        try:
            loop, thread = self._start()
        except _LibvirtError:
            coro.close()
            _park_if_exiting()
            raise
        if _drivable(coro):
            return _drive(coro, thread)
        try:
            future = _asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # closed between _start and here: only at exit
            coro.close()
            _park_if_exiting()
            raise _closed_error() from None
        try:
            while not future.done():
                _cf.wait([future], timeout=_LIVENESS_CHECK)
                if not future.done() and not thread.is_alive():
                    future.cancel()
                    _log.error("the client loop thread has stopped")
                    raise _closed_error()
            try:
                return future.result()
            except _cf.CancelledError:
                # the loop cancelled it: interpreter exit is winding the connections down
                _park_if_exiting()
                raise _closed_error() from None
            except _LibvirtError:
                _park_if_exiting()  # failed by the goodbye at exit: not the thread's news
                raise
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt: do not leave the call running
            raise

    def shutdown(self, timeout: float) -> None:
        """Close every connection, end every task, stop and close the loop (at exit)."""
        with self._lock:
            self.exiting = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        if _threading.current_thread() is thread:
            return
        if thread.is_alive():
            # most of the budget for the goodbyes and task cleanup, the rest for the join
            try:
                done = _asyncio.run_coroutine_threadsafe(_wind_down(timeout * 0.35), loop)
            except RuntimeError:
                pass
            else:
                _cf.wait([done], timeout=timeout * 0.75)
            with _contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout * 0.25 + 0.5)
        if thread.is_alive():
            _log.warning("the client loop thread did not stop at exit")
            return
        with _contextlib.suppress(Exception):
            loop.close()


def _drivable_codes() -> frozenset[Any]:
    """The coroutines that only encode, call and decode: safe to run on the calling thread.

    Their one await is :meth:`Connection.call`, which from a foreign thread hands just the
    CALL to the loop and returns a :class:`ThreadWaiter`; everything else in them is plain
    Python. Anything that needs the loop itself (open, close, event registration, streams,
    keepalive) is not listed and runs on the loop as a task.
    """
    from virtwire.client import objects

    codes = {objects._rpc.__code__, _Connection.call.__code__}
    for name in (
        "get_type", "get_version", "get_lib_version", "get_hostname", "get_uri",
        "get_capabilities", "get_max_vcpus", "node_get_info", "node_get_security_model",
        "num_of_domains", "list_domains", "num_of_defined_domains", "list_defined_domains",
        "list_all_domains", "lookup_by_name", "lookup_by_uuid", "lookup_by_id", "define_xml",
        "create_xml",
    ):  # fmt: skip
        codes.add(getattr(_Connection, name).__code__)
    for value in vars(_Domain).values():
        if _inspect.iscoroutinefunction(value):
            codes.add(value.__code__)
    return frozenset(codes)


_DRIVABLE: frozenset[Any] | None = None
_WITH_STREAM: frozenset[Any] = frozenset()  # those of them that have a ``stream`` local


def _drivable(coro: Any) -> bool:
    global _DRIVABLE, _WITH_STREAM
    if _DRIVABLE is None:
        codes = _drivable_codes()
        _WITH_STREAM = frozenset(c for c in codes if "stream" in c.co_varnames)
        _DRIVABLE = codes  # last: a thread that sees it set sees _WITH_STREAM too
    code = getattr(coro, "cr_code", None)
    if code not in _DRIVABLE or getattr(coro, "cr_frame", None) is None:
        return False
    if code not in _WITH_STREAM:
        return True
    # a stream call needs the loop (the stream attaches to the link there)
    return coro.cr_frame.f_locals.get("stream") is None


def _drive(coro: Any, thread: _threading.Thread) -> Any:
    """Run a drivable coroutine on this thread, blocking on each :class:`ThreadWaiter`."""
    waiter: Any = None
    try:
        waiter = coro.send(None)
        while True:
            if not isinstance(waiter, _ThreadWaiter):
                raise RuntimeError(f"virtwire: {coro!r} awaited {waiter!r} off the loop")
            while not waiter.wait(_LIVENESS_CHECK):
                if not thread.is_alive():
                    _log.error("the client loop thread has stopped")
                    raise _closed_error()
            waiter = coro.send(None)
    except StopIteration as stop:
        return stop.value
    except _LibvirtError:
        _park_if_exiting()
        raise
    except BaseException:
        if isinstance(waiter, _ThreadWaiter) and not waiter.done():
            waiter.abandon()  # e.g. KeyboardInterrupt: do not leave the call registered
        coro.close()
        raise


# How often a blocked API call checks that the loop thread is still there.
_LIVENESS_CHECK = 0.5
# Longest the exit hook waits for goodbyes and task cleanup (a dead server cannot stall it).
_EXIT_TIMEOUT = 2.0
_PARKED = _threading.Event()  # never set: where daemon threads wait once exit has begun


def _run_loop(loop: _asyncio.AbstractEventLoop, ready: _threading.Event) -> None:
    _asyncio.set_event_loop(loop)
    loop.set_exception_handler(_quiet_exception_handler)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    except BaseException:  # a callback raised SystemExit & co.: callers see it die
        _log.exception("client loop thread stopped")
    finally:
        _asyncio.set_event_loop(None)


def _park_if_exiting() -> None:
    """A daemon thread calling in during interpreter exit waits to be frozen, quietly.

    libvirt-python's threads simply stop at exit; failing their calls instead would make
    them print errors (and tracebacks) after the application has finished.
    """
    if _LOOP.exiting and _threading.current_thread().daemon:
        _PARKED.wait()


async def _wind_down(timeout: float) -> None:
    """On the loop at exit: say goodbye on open connections, then end every task."""
    closing = [_asyncio.ensure_future(conn.close()) for conn in list(_OPEN)]
    if closing:
        await _asyncio.wait(closing, timeout=timeout)
    me = _asyncio.current_task()
    tasks = [task for task in _asyncio.all_tasks() if task is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await _asyncio.wait(tasks, timeout=timeout)
    await _asyncio.get_running_loop().shutdown_asyncgens()


def _quiet_exception_handler(loop: _asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Last line of defence for the application's stderr.

    Every task of ours is finished and awaited on close, on loss and at exit, so asyncio
    has no pending task to complain about; should one still be collected pending (a
    shutdown that ran out of time), it goes to our logger at DEBUG, not to stderr, where
    libvirt-python prints nothing. Anything else goes to asyncio's default handler.
    """
    message = str(context.get("message", ""))
    if message.startswith("Task was destroyed but it is pending"):
        _log.debug("%s: %r", message, context.get("task"))
        return
    loop.default_exception_handler(context)


_LOOP = _LoopThread()
_OPEN: _weakref.WeakSet[_Connection] = _weakref.WeakSet()
_BACKGROUND: set[_asyncio.Task[Any]] = set()  # fire-and-forget closes, kept until done


@_atexit.register
def _shutdown_at_exit() -> None:
    """Say goodbye (CONNECT_CLOSE) on connections left open and stop the loop, briefly."""
    _LOOP.shutdown(_EXIT_TIMEOUT)


def _call(coro: _Coroutine[Any, Any, Any], api: str) -> Any:
    """Run ``coro`` on the loop thread; turn a LibvirtError into libvirtError('<api>() failed')."""
    try:
        return _LOOP.run(coro)
    except _LibvirtError as err:
        raise _fail(err, f"{api}() failed") from None


# ---------------------------------------------------------------------------------------
# the default event implementation (what virEventRunDefaultImpl runs)
# ---------------------------------------------------------------------------------------

VIR_EVENT_HANDLE_READABLE = 1
VIR_EVENT_HANDLE_WRITABLE = 2
VIR_EVENT_HANDLE_ERROR = 4
VIR_EVENT_HANDLE_HANGUP = 8

# Longest a run blocks with nothing to do: callers loop anyway (libvirt's own loop wakes for
# the daemon's keepalive), and "while not stop: virEventRunDefaultImpl()" stays responsive.
_IDLE_WAKEUP = 0.5


class _EventImpl:
    """A poll loop for the application's thread: posted callbacks, timers and fd watches.

    The loop thread only ever calls :meth:`post` (thread-safe, wakes a blocked run via a
    pipe); everything else runs in the thread that calls :meth:`run_once`.
    """

    def __init__(self) -> None:
        self.registered = False
        self._lock = _threading.Lock()
        self._run_lock = _threading.RLock()  # a callback that runs the loop must not deadlock
        self._posted: _collections.deque[Callable[[], object]] = _collections.deque()
        self._wake_r = self._wake_w = -1  # the pipe: made by the first run_once
        self._timers: dict[int, list[Any]] = {}  # id -> [interval_ms, cb, opaque, due]
        self._handles: dict[int, list[Any]] = {}  # watch -> [fd, events, cb, opaque]
        self._next_timer = 1
        self._next_watch = 1

    def post(self, fn: Callable[[], object]) -> None:
        with self._lock:
            self._posted.append(fn)
        self.wake()

    def wake(self) -> None:
        # before the first run_once nothing waits on the pipe (run_once makes it under the
        # lock, then looks at what was posted)
        if self._wake_w >= 0:
            with _contextlib.suppress(BlockingIOError, OSError):
                _os.write(self._wake_w, b"\0")

    def _make_pipe(self) -> None:
        """The wake-up pipe, made on first use (under the lock), so that importing the
        module or opening a connection without running the loop holds no descriptors."""
        self._wake_r, self._wake_w = _os.pipe()
        _os.set_blocking(self._wake_r, False)
        _os.set_blocking(self._wake_w, False)

    # timers (ms; -1 disabled, 0 every iteration) and handles, as virEventAddTimeout/Handle
    def add_timeout(self, timeout: int, cb: Callable[..., object], opaque: Any) -> int:
        with self._lock:
            timer = self._next_timer
            self._next_timer += 1
            self._timers[timer] = [timeout, cb, opaque, _time.monotonic() + max(timeout, 0) / 1000]
        self.wake()
        return timer

    def update_timeout(self, timer: int, timeout: int) -> None:
        with self._lock:
            entry = self._timers.get(timer)
            if entry is not None:
                entry[0] = timeout
                entry[3] = _time.monotonic() + max(timeout, 0) / 1000
        self.wake()

    def remove_timeout(self, timer: int) -> int:
        with self._lock:
            found = self._timers.pop(timer, None) is not None
        self.wake()
        return 0 if found else -1

    def add_handle(self, fd: int, events: int, cb: Callable[..., object], opaque: Any) -> int:
        with self._lock:
            watch = self._next_watch
            self._next_watch += 1
            self._handles[watch] = [fd, events, cb, opaque]
        self.wake()
        return watch

    def update_handle(self, watch: int, events: int) -> None:
        with self._lock:
            entry = self._handles.get(watch)
            if entry is not None:
                entry[1] = events
        self.wake()

    def remove_handle(self, watch: int) -> int:
        with self._lock:
            found = self._handles.pop(watch, None) is not None
        self.wake()
        return 0 if found else -1

    def run_once(self) -> int:
        """One iteration: wait for something to do, do it, return 0."""
        with self._run_lock:
            with self._lock:
                if self._wake_r < 0:
                    self._make_pipe()
                now = _time.monotonic()
                timeout = None if self._posted else _IDLE_WAKEUP
                if self._posted:
                    timeout = 0.0
                for interval, _cb, _opaque, due in self._timers.values():
                    if interval >= 0:
                        wait = max(0.0, due - now)
                        timeout = wait if timeout is None else min(timeout, wait)
                handles = {w: list(h) for w, h in self._handles.items()}
            # poll(), not select(): no FD_SETSIZE limit on the application's descriptors
            poller = _select.poll()
            poller.register(self._wake_r, _select.POLLIN)
            wanted: dict[int, int] = {}
            for fd, events, _cb, _opaque in handles.values():
                mask = (_select.POLLIN if events & 1 else 0) | (
                    _select.POLLOUT if events & 2 else 0
                )
                wanted[fd] = wanted.get(fd, 0) | mask
            for fd, mask in wanted.items():
                with _contextlib.suppress(OSError, ValueError):
                    poller.register(fd, mask)
            try:
                if timeout is None:
                    wait_ms = None
                else:
                    wait_ms = 0 if timeout <= 0 else int(timeout * 1000) + 1
                ready = dict(poller.poll(wait_ms))
            except (OSError, ValueError):
                ready = {}
            if self._wake_r in ready:
                with _contextlib.suppress(BlockingIOError, OSError):
                    while _os.read(self._wake_r, 4096):
                        pass
            for watch, (fd, events, cb, opaque) in handles.items():
                revents = ready.get(fd, 0)
                happened = 0
                if revents & _select.POLLIN and events & 1:
                    happened |= VIR_EVENT_HANDLE_READABLE
                if revents & _select.POLLOUT and events & 2:
                    happened |= VIR_EVENT_HANDLE_WRITABLE
                if revents & (_select.POLLERR | _select.POLLNVAL):
                    happened |= VIR_EVENT_HANDLE_ERROR
                if revents & _select.POLLHUP:
                    happened |= VIR_EVENT_HANDLE_HANGUP
                if happened and watch in self._handles:
                    _run_user(cb, watch, fd, happened, opaque)
            now = _time.monotonic()
            with self._lock:
                due_timers = [
                    (timer, entry)
                    for timer, entry in self._timers.items()
                    if entry[0] >= 0 and entry[3] <= now
                ]
                for _timer, entry in due_timers:
                    entry[3] = now + max(entry[0], 0) / 1000
            for timer, entry in due_timers:
                if timer in self._timers:
                    _run_user(entry[1], timer, entry[2])
            with self._lock:
                batch = list(self._posted)
                self._posted.clear()
            for fn in batch:
                _run_user(fn)
        return 0


def _run_user(fn: Callable[..., object], *args: Any) -> None:
    """Run an application callback; like libvirt-python, print its traceback and go on."""
    try:
        fn(*args)
    except Exception:
        _traceback.print_exc()


_IMPL = _EventImpl()
_CUSTOM: _event_impl.CustomImpl | None = None  # the application's own loop, once registered


def _active() -> Any:
    """The registered event implementation (the application's, else the default poll)."""
    return _CUSTOM if _CUSTOM is not None else _IMPL


def _have_event_impl() -> bool:
    return _CUSTOM is not None or _IMPL.registered


def virEventRegisterDefaultImpl() -> int:  # noqa: N802
    """Enable callback delivery through :func:`virEventRunDefaultImpl` (call before open)."""
    global _CUSTOM
    _CUSTOM = None
    _IMPL.registered = True
    return 0


def virEventRegisterImpl(  # noqa: N802
    addHandle: Callable[..., int],  # noqa: N803
    updateHandle: Callable[..., object],  # noqa: N803
    removeHandle: Callable[..., int],  # noqa: N803
    addTimeout: Callable[..., int],  # noqa: N803
    updateTimeout: Callable[..., object],  # noqa: N803
    removeTimeout: Callable[..., int],  # noqa: N803
) -> None:
    """Deliver callbacks through the application's event loop (libvirtaio, glib, Qt...).

    Call before opening connections. The loop is given a wake-up pipe with ``addHandle``;
    when it reports it readable, pending callbacks run on the loop's thread.
    """
    global _CUSTOM
    _CUSTOM = _event_impl.CustomImpl(
        addHandle, updateHandle, removeHandle, addTimeout, updateTimeout, removeTimeout
    )
    _IMPL.registered = False


def virEventRunDefaultImpl() -> int:  # noqa: N802
    """Run one iteration: deliver pending callbacks and timers; blocks until there is work."""
    return _IMPL.run_once()


def virEventAddTimeout(timeout: int, cb: Callable[[int, Any], object], opaque: Any) -> int:  # noqa: N802
    return _active().add_timeout(timeout, cb, opaque)


def virEventUpdateTimeout(timer: int, timeout: int) -> None:  # noqa: N802
    _active().update_timeout(timer, timeout)


def virEventRemoveTimeout(timer: int) -> int:  # noqa: N802
    return _active().remove_timeout(timer)


def virEventAddHandle(fd: int, events: int, cb: Callable[..., object], opaque: Any) -> int:  # noqa: N802
    return _active().add_handle(fd, events, cb, opaque)


def virEventUpdateHandle(watch: int, events: int) -> None:  # noqa: N802
    _active().update_handle(watch, events)


def virEventRemoveHandle(watch: int) -> int:  # noqa: N802
    return _active().remove_handle(watch)


def _eventInvokeHandleCallback(  # noqa: N802  (libvirt-python's name)
    watch: int, fd: int, event: int, opaque: Any, opaquecompat: Any = None
) -> None:
    """Run the handle callback an event loop was given with ``addHandle``."""
    _event_impl.invoke_handle_callback(watch, fd, event, opaque, opaquecompat)


def _eventInvokeTimeoutCallback(timer: int, opaque: Any, opaquecompat: Any = None) -> None:  # noqa: N802
    """Run the timeout callback an event loop was given with ``addTimeout``."""
    _event_impl.invoke_timeout_callback(timer, opaque, opaquecompat)


def _dispatchEventHandleCallback(watch: int, fd: int, events: int, cbData: dict) -> int:  # noqa: N802, N803
    """libvirt-python's trampoline for virEventAddHandle callbacks (``cbData`` cb/opaque)."""
    cbData["cb"](watch, fd, events, cbData["opaque"])
    return 0


def _dispatchEventTimeoutCallback(timer: int, cbData: dict) -> int:  # noqa: N802, N803
    """libvirt-python's trampoline for virEventAddTimeout callbacks."""
    cbData["cb"](timer, cbData["opaque"])
    return 0


def _deliver(fn: Callable[[], object]) -> None:
    """Hand an application callback to the app's event loop (from the loop thread)."""
    if _CUSTOM is not None:
        _CUSTOM.post(fn)
    elif _IMPL.registered:
        _IMPL.post(fn)
    else:  # close callbacks work without an event impl in libvirt too
        _threading.Thread(target=_run_user, args=(fn,), daemon=True).start()


# ---------------------------------------------------------------------------------------
# virConnect
# ---------------------------------------------------------------------------------------


class virConnect:  # noqa: N801
    """A connection (libvirt-python's virConnect)."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self._closed = False
        self._close_pending = False
        # live virDomain objects: like C handles they keep the connection referenced, which
        # is what virConnectClose's return value (1 = still referenced) reports
        self._handles: dict[int, _weakref.ref[virDomain]] = {}
        self._callbacks: dict[int, tuple[Callable[..., object], Any]] = {}
        self._legacy: dict[Callable[..., object], Any] = {}
        self._legacy_id: int | None = None
        self._close_cb: tuple[Callable[..., object], Any] | None = None

    # -- plumbing ---------------------------------------------------------------------------

    def _live(self, api: str) -> _Connection:
        """The async connection, or libvirt's error for a closed virConnect."""
        if self._closed:
            raise _fail(
                _LibvirtError.make(_ErrorCode.INVALID_CONN, _ErrorDomain.DOMAIN, api),
                f"{api}() failed",
            )
        return self._conn

    def _api(self, api: str, call: Callable[[_Connection], _Coroutine[Any, Any, Any]]) -> Any:
        return _call(call(self._live(api)), api)

    def _run(self, coro: _Coroutine[Any, Any, Any], api: str) -> Any:
        return _call(coro, api)

    def _dom(self, dom: _Domain) -> virDomain:
        return virDomain(self, _obj=dom)

    def __enter__(self) -> virConnect:
        return self

    def __del__(self) -> None:
        # libvirt-python closes a forgotten connection when it is collected; do the same
        # without blocking (this may run in any thread, the loop's own included).
        if getattr(self, "_closed", True) and not getattr(self, "_close_pending", False):
            return
        self._closed = True
        self._close_pending = False
        self._close_later()

    def _close_later(self) -> None:
        """Close the async connection without waiting (safe from any thread)."""
        conn = self._conn
        loop = None if _sys.is_finalizing() else _LOOP.running()
        if loop is None:
            return  # at exit the process closes the socket anyway

        def start() -> None:
            task = loop.create_task(conn.close())
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)

        with _contextlib.suppress(Exception):
            loop.call_soon_threadsafe(start)
            _IMPL.wake()

    def __exit__(self, exc_type_: Any, exc_value_: Any, traceback_: Any) -> None:
        self.close()

    def c_pointer(self) -> int:
        """There is no C object: an integer identifying this wrapper."""
        return id(self)

    # -- open/close -------------------------------------------------------------------------

    def close(self) -> int:
        """Drop the application's reference, as virConnectClose does.

        Like a C ``virConnectPtr``, the connection stays open while ``virDomain`` objects
        of it are alive (they keep working) and really closes when the last one goes; the
        return value is 1 while such references remain, else 0.
        """
        if self._closed:  # python3-libvirt then calls virConnectClose(NULL)
            raise _fail(
                _LibvirtError.make(_ErrorCode.INVALID_CONN, _ErrorDomain.NONE, "virConnectClose"),
                "virConnectClose() failed",
            )
        self._closed = True
        if self._handles:
            self._close_pending = True
            return 1
        # a lost connection has already released what a close callback holds (libvirt
        # calls it once and drops its reference), so close() then answers 0
        lost = self._conn.state == "closed"
        try:
            _call(self._conn.close(), "virConnectClose")
        finally:
            _IMPL.wake()  # as libvirt's loop wakes when a connection's watches go away
        return 1 if self._close_cb is not None and not lost else 0

    def _track(self, dom: virDomain) -> None:
        key = id(dom)
        handles = self._handles

        def gone(_ref: object) -> None:
            handles.pop(key, None)
            if not handles and self._close_pending:
                self._close_pending = False
                self._close_later()

        handles[key] = _weakref.ref(dom, gone)

    def isAlive(self) -> int:  # noqa: N802
        return 0 if self._closed or not self._conn.is_open else 1

    def isSecure(self) -> int:  # noqa: N802
        uri = self._live("virConnectIsSecure")._uri
        return 1 if uri is None or uri.effective_transport in ("unix", "tls", "ssh") else 0

    def isEncrypted(self) -> int:  # noqa: N802
        uri = self._live("virConnectIsEncrypted")._uri
        return 1 if uri is not None and uri.effective_transport == "tls" else 0  # not ssh

    def setKeepAlive(self, interval: int, count: int) -> int:  # noqa: N802
        return self._api("virConnectSetKeepAlive", lambda c: c.set_keepalive(interval, count))

    # -- host -------------------------------------------------------------------------------

    def getType(self) -> str:  # noqa: N802
        return self._api("virConnectGetType", lambda c: c.get_type())

    def getVersion(self) -> int:  # noqa: N802
        return self._api("virConnectGetVersion", lambda c: c.get_version())

    def getLibVersion(self) -> int:  # noqa: N802
        return self._api("virConnectGetLibVersion", lambda c: c.get_lib_version())

    def getHostname(self) -> str:  # noqa: N802
        return self._api("virConnectGetHostname", lambda c: c.get_hostname())

    def getURI(self) -> str:  # noqa: N802
        """The URI as opened (libvirt answers from the client side, without a round trip)."""
        uri = self._live("virConnectGetURI").uri
        if uri is None:
            return self._api("virConnectGetURI", lambda c: c.get_uri())
        return uri

    def getCapabilities(self) -> str:  # noqa: N802
        return self._api("virConnectGetCapabilities", lambda c: c.get_capabilities())

    def getMaxVcpus(self, type: str | None) -> int:  # noqa: N802
        return self._api("virConnectGetMaxVcpus", lambda c: c.get_max_vcpus(type))

    def getInfo(self) -> list[Any]:  # noqa: N802
        """[model, memory (MiB), cpus, mhz, nodes, sockets, cores, threads]."""
        info = self._api("virNodeGetInfo", lambda c: c.node_get_info())
        return [
            info.model,
            info.memory >> 10,
            info.cpus,
            info.mhz,
            info.nodes,
            info.sockets,
            info.cores,
            info.threads,
        ]

    def getSecurityModel(self) -> list[str]:  # noqa: N802
        model, doi = self._api("virNodeGetSecurityModel", lambda c: c.node_get_security_model())
        return [model, doi]

    # -- domains ----------------------------------------------------------------------------

    def listAllDomains(self, flags: int = 0) -> list[virDomain]:  # noqa: N802
        doms = self._api("virConnectListAllDomains", lambda c: c.list_all_domains(flags))
        return [self._dom(d) for d in doms]

    def listDomainsID(self) -> list[int]:  # noqa: N802
        return self._api("virConnectListDomains", lambda c: c.list_domains())

    def listDefinedDomains(self) -> list[str]:  # noqa: N802
        return self._api("virConnectListDefinedDomains", lambda c: c.list_defined_domains())

    def numOfDomains(self) -> int:  # noqa: N802
        return self._api("virConnectNumOfDomains", lambda c: c.num_of_domains())

    def numOfDefinedDomains(self) -> int:  # noqa: N802
        return self._api("virConnectNumOfDefinedDomains", lambda c: c.num_of_defined_domains())

    def lookupByName(self, name: str) -> virDomain:  # noqa: N802
        return self._dom(self._api("virDomainLookupByName", lambda c: c.lookup_by_name(name)))

    def lookupByID(self, id: int) -> virDomain:  # noqa: N802
        return self._dom(self._api("virDomainLookupByID", lambda c: c.lookup_by_id(id)))

    def lookupByUUID(self, uuid: bytes) -> virDomain:  # noqa: N802
        if len(uuid) != 16:
            # python3-libvirt's C glue fails without an error of its own: the exception
            # carries this thread's last error (or none), and no handler is called
            raise libvirtError("virDomainLookupByUUID() failed")
        return self._dom(
            self._api("virDomainLookupByUUID", lambda c: c.lookup_by_uuid(bytes(uuid)))
        )

    def lookupByUUIDString(self, uuidstr: str) -> virDomain:  # noqa: N802
        hexdigits = uuidstr.replace("-", "").strip() if isinstance(uuidstr, str) else ""
        if len(hexdigits) != 32 or any(ch not in "0123456789abcdefABCDEF" for ch in hexdigits):
            # libvirt's virReportInvalidArg: the API and the argument name in str1/str2
            err = _LibvirtError(
                _ErrorCode.INVALID_ARG,
                _ErrorDomain.DOMAIN,
                "Invalid UUID",
                str1="virDomainLookupByUUIDString",
                str2="uuidstr",
                int1=0,
                int2=0,
            )
            raise _fail(err, "virDomainLookupByUUIDString() failed")
        return self._dom(
            self._api("virDomainLookupByUUIDString", lambda c: c.lookup_by_uuid(uuidstr))
        )

    def defineXML(self, xml: str) -> virDomain:  # noqa: N802
        return self._dom(self._api("virDomainDefineXML", lambda c: c.define_xml(xml)))

    def defineXMLFlags(self, xml: str, flags: int = 0) -> virDomain:  # noqa: N802
        """Always DEFINE_XML_FLAGS, as libvirt's client."""
        return self._dom(
            self._api("virDomainDefineXMLFlags", lambda c: _define_flags(c, xml, flags))
        )

    def createXML(self, xmlDesc: str, flags: int = 0) -> virDomain:  # noqa: N802, N803
        return self._dom(self._api("virDomainCreateXML", lambda c: c.create_xml(xmlDesc, flags)))

    # -- events -----------------------------------------------------------------------------

    def _require_event_impl(self) -> None:
        if not _have_event_impl():
            raise _fail(
                _LibvirtError.internal_error(
                    "could not initialize domain event timer", _ErrorDomain.NONE
                ),
                "virConnectDomainEventRegisterAny() failed",
            )

    def _trampoline(self, event: _DomainEvent, callback_id: int) -> None:
        """Runs on the loop thread (EventState flush): hand the call to the app's loop."""
        if callback_id not in self._callbacks:
            return
        args = _callback_args(event)
        ref = event.dom

        def call() -> None:
            entry = self._callbacks.get(callback_id)
            if entry is None:  # deregistered meanwhile
                return
            cb, opaque = entry
            cb(self, virDomain(self, _ref=ref), *args, opaque)

        _deliver(call)

    def domainEventRegisterAny(  # noqa: N802
        self,
        dom: virDomain | None,
        eventID: int,
        cb: Callable[..., object],
        opaque: Any,  # noqa: N803
    ) -> int:
        """Call ``cb(conn, dom, <event fields>, opaque)`` for each ``eventID`` event."""
        self._require_event_impl()
        if not 0 <= eventID <= max(_DomainEventID):
            # python3-libvirt's C glue fails without setting an error of its own, so the
            # exception carries whatever error this thread saw last; so does ours
            raise libvirtError("virConnectDomainEventRegisterAny() failed")
        conn = self._live("virConnectDomainEventRegisterAny")
        ref = None if dom is None else dom._ref

        async def register() -> int:
            cid = await conn.register_event_raw(eventID, self._trampoline, ref)
            self._callbacks[cid] = (cb, opaque)  # on the loop: no event can slip in between
            return cid

        return self._run(register(), "virConnectDomainEventRegisterAny")

    def domainEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        conn = self._live("virConnectDomainEventDeregisterAny")

        async def deregister() -> None:
            await conn.deregister_event(callbackID)
            self._callbacks.pop(callbackID, None)

        self._run(deregister(), "virConnectDomainEventDeregisterAny")

    # network, storage-pool, node-device and secret events: one server registration each
    def _object_event_register(
        self, kind: str, api: str, obj: Any, event_id: int, cb: Callable[..., object], opaque: Any
    ) -> int:
        self._require_event_impl()
        cls_name, wire_cls = _OBJECT_EVENT_KINDS[kind]
        conn = self._live(api)
        wire = None if obj is None else obj._wire()

        def trampoline(event: Any, callback_id: int) -> None:
            if callback_id not in self._callbacks:
                return
            args = _callback_args(event)
            ref = getattr(event, type(event).ref_field)
            handle = wire_cls(**{f: getattr(ref, f) for f in wire_cls.__annotations__})

            def call() -> None:
                entry = self._callbacks.get(callback_id)
                if entry is not None:
                    entry[0](self, _objects.wrap(cls_name, self, handle), *args, entry[1])

            _deliver(call)

        async def register() -> int:
            cid = await conn.register_object_event(kind, event_id, trampoline, wire)
            self._callbacks[cid] = (cb, opaque)
            return cid

        return self._run(register(), api)

    def _object_event_deregister(self, api: str, callback_id: int) -> None:
        conn = self._live(api)

        async def deregister() -> None:
            await conn.deregister_object_event(callback_id)
            self._callbacks.pop(callback_id, None)

        self._run(deregister(), api)

    def networkEventRegisterAny(  # noqa: N802
        self,
        net: Any,
        eventID: int,
        cb: Callable[..., object],
        opaque: Any,  # noqa: N803
    ) -> int:
        """Call ``cb(conn, net, <event fields>, opaque)`` for each ``eventID`` event."""
        return self._object_event_register(
            "network", "virConnectNetworkEventRegisterAny", net, eventID, cb, opaque
        )

    def networkEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        self._object_event_deregister("virConnectNetworkEventDeregisterAny", callbackID)

    def storagePoolEventRegisterAny(  # noqa: N802
        self,
        pool: Any,
        eventID: int,
        cb: Callable[..., object],
        opaque: Any,  # noqa: N803
    ) -> int:
        """Call ``cb(conn, pool, <event fields>, opaque)`` for each ``eventID`` event."""
        return self._object_event_register(
            "storage_pool", "virConnectStoragePoolEventRegisterAny", pool, eventID, cb, opaque
        )

    def storagePoolEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        self._object_event_deregister("virConnectStoragePoolEventDeregisterAny", callbackID)

    def nodeDeviceEventRegisterAny(  # noqa: N802
        self,
        dev: Any,
        eventID: int,
        cb: Callable[..., object],
        opaque: Any,  # noqa: N803
    ) -> int:
        """Call ``cb(conn, dev, <event fields>, opaque)`` for each ``eventID`` event."""
        return self._object_event_register(
            "node_device", "virConnectNodeDeviceEventRegisterAny", dev, eventID, cb, opaque
        )

    def nodeDeviceEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        self._object_event_deregister("virConnectNodeDeviceEventDeregisterAny", callbackID)

    def secretEventRegisterAny(  # noqa: N802
        self,
        secret: Any,
        eventID: int,
        cb: Callable[..., object],
        opaque: Any,  # noqa: N803
    ) -> int:
        """Call ``cb(conn, secret, <event fields>, opaque)`` for each ``eventID`` event."""
        return self._object_event_register(
            "secret", "virConnectSecretEventRegisterAny", secret, eventID, cb, opaque
        )

    def secretEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        self._object_event_deregister("virConnectSecretEventDeregisterAny", callbackID)

    def _legacy_trampoline(self, event: _DomainEvent, _callback_id: int) -> None:
        ref, ev, detail = event.dom, event.event, event.detail

        def call() -> None:
            for cb, opaque in list(self._legacy.items()):
                _run_user(cb, self, virDomain(self, _ref=ref), ev, detail, opaque)

        _deliver(call)

    def domainEventRegister(self, cb: Callable[..., object], opaque: Any) -> None:  # noqa: N802
        """Legacy lifecycle callbacks ``cb(conn, dom, event, detail, opaque)``."""
        self._require_event_impl()
        first = not self._legacy
        self._legacy[cb] = opaque
        if first:
            conn = self._live("virConnectDomainEventRegister")
            try:
                self._legacy_id = self._run(
                    conn.register_event_raw(_DomainEventID.LIFECYCLE, self._legacy_trampoline),
                    "virConnectDomainEventRegister",
                )
            except libvirtError:
                self._legacy.pop(cb, None)
                raise

    def domainEventDeregister(self, cb: Callable[..., object]) -> None:  # noqa: N802
        if not self._legacy:
            return  # python3-libvirt: nothing registered is silently ignored ...
        if cb not in self._legacy:
            raise KeyError(cb)  # ... but an unknown callback among others is a KeyError
        del self._legacy[cb]
        if not self._legacy and self._legacy_id is not None:
            cid, self._legacy_id = self._legacy_id, None
            self._api("virConnectDomainEventDeregister", lambda c: c.deregister_event(cid))

    def registerCloseCallback(self, cb: Callable[..., object], opaque: Any) -> int:  # noqa: N802
        """``cb(conn, reason, opaque)`` when the connection closes (one per connection)."""
        if self._close_cb is not None:
            raise _fail(
                _LibvirtError.make(
                    _ErrorCode.OPERATION_INVALID,
                    _ErrorDomain.REMOTE,
                    "A close callback is already registered",
                ),
                "virConnectRegisterCloseCallback() failed",
            )
        self._close_cb = (cb, opaque)
        self._api(
            "virConnectRegisterCloseCallback", lambda c: c.register_close_callback(self._on_close)
        )
        return 0

    def unregisterCloseCallback(self) -> None:  # noqa: N802
        if self._close_cb is None:
            raise _fail(
                _LibvirtError.make(
                    _ErrorCode.OPERATION_INVALID,
                    _ErrorDomain.REMOTE,
                    "A different callback was requested",
                ),
                "virConnectUnregisterCloseCallback() failed",
            )
        self._api(
            "virConnectUnregisterCloseCallback",
            lambda c: c.unregister_close_callback(self._on_close),
        )
        self._close_cb = None  # only now: libvirt keeps it when the server call fails

    def _on_close(self, reason: _CloseReason) -> None:
        entry = self._close_cb
        if entry is None or (reason is _CloseReason.CLIENT and self._closed):
            return  # libvirt does not call back for the application's own close()
        if _LOOP.exiting:
            return  # our goodbye at interpreter exit is not the application's business
        cb, opaque = entry
        _deliver(lambda: cb(self, int(reason), opaque))


async def _define_flags(conn: _Connection, xml: str, flags: int) -> _Domain:
    ret = await conn.call(
        _rp.RemoteProcedure.REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS,
        _rp.RemoteDomainDefineXmlFlagsArgs(xml=xml, flags=flags),
    )
    return _Domain(conn, _ref(ret.dom))


# ---------------------------------------------------------------------------------------
# virDomain
# ---------------------------------------------------------------------------------------


class virDomain:  # noqa: N801
    """A domain (libvirt-python's virDomain); identity methods need no round trip."""

    def __init__(
        self, conn: virConnect, _obj: _Domain | None = None, _ref: _DomainRef | None = None
    ) -> None:
        self._conn = conn
        if _obj is None:
            if _ref is None:
                raise TypeError("virDomain needs a domain")
            _obj = _Domain(conn._conn, _ref)
        self._o = _obj
        conn._track(self)

    @property
    def _ref(self) -> _DomainRef:
        return self._o.ref

    def _wire(self) -> Any:
        return self._o._wire()

    def c_pointer(self) -> int:
        """There is no C object: an integer identifying this wrapper."""
        return id(self)

    def _run(self, coro: _Coroutine[Any, Any, Any], api: str) -> Any:
        return _call(coro, api)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, virDomain) and other._o == self._o

    def __hash__(self) -> int:
        return hash(self._o)

    def __repr__(self) -> str:
        return f"<virtwire.client.libvirt.virDomain {self.name()!r}>"

    # -- identity ---------------------------------------------------------------------------

    def connect(self) -> virConnect:
        return self._conn

    def name(self) -> str:
        return self._o.name

    def ID(self) -> int:  # noqa: N802
        return self._o.id

    def UUID(self) -> bytes:  # noqa: N802
        return self._o.uuid

    def UUIDString(self) -> str:  # noqa: N802
        return str(_uuid.UUID(bytes=self._o.uuid))

    # -- life cycle -------------------------------------------------------------------------

    def create(self) -> int:
        self._run(self._o.create(), "virDomainCreate")
        return 0

    def createWithFlags(self, flags: int = 0) -> int:  # noqa: N802
        self._run(self._create_with_flags(flags), "virDomainCreateWithFlags")
        return 0

    async def _create_with_flags(self, flags: int) -> None:
        """Always CREATE_WITH_FLAGS (its reply carries the new id), as libvirt's client."""
        ret = await self._o.conn.call(
            _rp.RemoteProcedure.REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS,
            _rp.RemoteDomainCreateWithFlagsArgs(dom=self._o._wire(), flags=flags),
        )
        self._o._set_id(ret.dom.id)

    def destroy(self) -> int:
        self._run(self._o.destroy(), "virDomainDestroy")
        return 0

    def destroyFlags(self, flags: int = 0) -> int:  # noqa: N802
        self._run(self._destroy_flags(flags), "virDomainDestroyFlags")
        return 0

    async def _destroy_flags(self, flags: int) -> None:
        await self._o.conn.call(
            _rp.RemoteProcedure.REMOTE_PROC_DOMAIN_DESTROY_FLAGS,
            _rp.RemoteDomainDestroyFlagsArgs(dom=self._o._wire(), flags=flags),
        )
        self._o._set_id(-1)

    def suspend(self) -> int:
        self._run(self._o.suspend(), "virDomainSuspend")
        return 0

    def resume(self) -> int:
        self._run(self._o.resume(), "virDomainResume")
        return 0

    def shutdown(self) -> int:
        self._run(self._o.shutdown(), "virDomainShutdown")
        return 0

    def shutdownFlags(self, flags: int = 0) -> int:  # noqa: N802
        self._run(
            self._o.shutdown(flags) if flags else self._shutdown_flags0(), "virDomainShutdownFlags"
        )
        return 0

    async def _shutdown_flags0(self) -> None:
        await self._o.conn.call(
            _rp.RemoteProcedure.REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS,
            _rp.RemoteDomainShutdownFlagsArgs(dom=self._o._wire(), flags=0),
        )

    def reboot(self, flags: int = 0) -> int:
        self._run(self._o.reboot(flags), "virDomainReboot")
        return 0

    def undefine(self) -> int:
        self._run(self._o.undefine(), "virDomainUndefine")
        return 0

    def undefineFlags(self, flags: int = 0) -> int:  # noqa: N802
        self._run(self._undefine_flags(flags), "virDomainUndefineFlags")
        return 0

    async def _undefine_flags(self, flags: int) -> None:
        await self._o.conn.call(
            _rp.RemoteProcedure.REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS,
            _rp.RemoteDomainUndefineFlagsArgs(dom=self._o._wire(), flags=flags),
        )

    # -- queries ----------------------------------------------------------------------------

    def info(self) -> list[int]:
        return self._run(self._o.info(), "virDomainGetInfo").as_list()

    def state(self, flags: int = 0) -> list[int]:
        return list(self._run(self._o.state(flags), "virDomainGetState"))

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        return self._run(self._o.xml_desc(flags), "virDomainGetXMLDesc")

    def OSType(self) -> str:  # noqa: N802
        return self._run(self._o.os_type(), "virDomainGetOSType")

    def maxMemory(self) -> int:  # noqa: N802
        return self._run(self._o.max_memory(), "virDomainGetMaxMemory")

    def vcpusFlags(self, flags: int = 0) -> int:  # noqa: N802
        return self._run(self._o.vcpus_flags(flags), "virDomainGetVcpusFlags")

    def isActive(self) -> int:  # noqa: N802
        return int(self._run(self._o.is_active(), "virDomainIsActive"))

    def isPersistent(self) -> int:  # noqa: N802
        return int(self._run(self._o.is_persistent(), "virDomainIsPersistent"))

    def autostart(self) -> int:
        return int(self._run(self._o.autostart(), "virDomainGetAutostart"))

    def setAutostart(self, autostart: int) -> int:  # noqa: N802
        self._run(self._o.set_autostart(bool(autostart)), "virDomainSetAutostart")
        return 0

    def hasManagedSaveImage(self, flags: int = 0) -> int:  # noqa: N802
        return int(self._run(self._o.has_managed_save_image(flags), "virDomainHasManagedSaveImage"))

    def securityLabel(self) -> list[Any]:  # noqa: N802
        label, enforcing = self._run(self._o.security_label(), "virDomainGetSecurityLabel")
        return [label, bool(enforcing)]

    def messages(self, flags: int = 0) -> list[str]:
        return self._run(self._o.messages(flags), "virDomainGetMessages")

    def snapshotNum(self, flags: int = 0) -> int:  # noqa: N802
        return self._run(self._o.snapshot_num(flags), "virDomainSnapshotNum")

    # -- devices and memory -----------------------------------------------------------------

    def attachDevice(self, xml: str) -> int:  # noqa: N802
        self._run(self._o.attach_device(xml), "virDomainAttachDevice")
        return 0

    def attachDeviceFlags(self, xml: str, flags: int = 0) -> int:  # noqa: N802
        self._run(self._o.attach_device(xml, flags), "virDomainAttachDeviceFlags")
        return 0

    def detachDevice(self, xml: str) -> int:  # noqa: N802
        self._run(self._o.detach_device(xml), "virDomainDetachDevice")
        return 0

    def detachDeviceFlags(self, xml: str, flags: int = 0) -> int:  # noqa: N802
        self._run(self._o.detach_device(xml, flags), "virDomainDetachDeviceFlags")
        return 0

    def detachDeviceAlias(self, alias: str, flags: int = 0) -> int:  # noqa: N802
        self._run(self._o.detach_device_alias(alias, flags), "virDomainDetachDeviceAlias")
        return 0

    def setMemory(self, memory: int) -> int:  # noqa: N802
        self._run(self._o.set_memory(memory), "virDomainSetMemory")
        return 0

    def setMemoryFlags(self, memory: int, flags: int = 0) -> int:  # noqa: N802
        self._run(self._o.set_memory(memory, flags), "virDomainSetMemoryFlags")
        return 0

    def setMaxMemory(self, memory: int) -> int:  # noqa: N802
        self._run(self._o.set_max_memory(memory), "virDomainSetMaxMemory")
        return 0


# ---------------------------------------------------------------------------------------
# module functions
# ---------------------------------------------------------------------------------------


def _open(name: str | None, readonly: bool, api: str) -> virConnect:
    try:
        conn = _LOOP.run(_connect(name, readonly, thread_reads=True))
    except _LibvirtError as err:
        raise _fail(err, f"{api}() failed") from None
    _OPEN.add(conn)
    return virConnect(conn)


def open(name: str | None = None) -> virConnect:  # noqa: A001  (libvirt-python's name)
    """Open a read-write connection (``name`` None: $LIBVIRT_DEFAULT_URI or the daemon's)."""
    return _open(name, False, "virConnectOpen")


def openReadOnly(name: str | None = None) -> virConnect:  # noqa: N802
    return _open(name, True, "virConnectOpenReadOnly")


def openAuth(uri: str | None, auth: Any, flags: int = 0) -> virConnect:  # noqa: N802
    """As libvirt-python; only auth type "none" is supported, so ``auth`` is not consulted."""
    readonly = bool(flags & VIR_CONNECT_RO)  # noqa: F405
    return _open(uri, readonly, "virConnectOpenAuth")


def getVersion(name: str | None = None) -> int:  # noqa: N802
    """virGetVersion: the libvirt library version this module mirrors."""
    return _LIBVIR_VERSION_NUMBER


def virInitialize() -> int:  # noqa: N802
    return 0


def virEventInvokeFreeCallback(opaque: Any) -> None:  # noqa: N802
    """libvirt-python's helper for custom event loops: call ``opaque``'s free callback."""
    if isinstance(opaque, (list, tuple)) and len(opaque) >= 3 and callable(opaque[2]):
        opaque[2](opaque[1])


# ---------------------------------------------------------------------------------------
# every other class and method: generated from virtwire.client.api_table
# ---------------------------------------------------------------------------------------


class virStream(_objects._Handle):  # noqa: N801
    """A data stream (libvirt-python's virStream) over STREAM / STREAM_HOLE packets.

    Made by ``virConnect.newStream(flags)``; a method that opens a stream
    (``virDomain.screenshot``, ``virStorageVol.upload``/``download``,
    ``virDomain.openConsole``...) takes it as an argument, and its data then flows through
    ``send``/``recv``. Blocking, as libvirt-python's streams without NONBLOCK.
    """

    #: libvirt-python's stream packet payload size (what sendAll/recvAll use)
    streamBufSize = 262120  # noqa: N815

    def __init__(self, conn: virConnect, _obj: Any = None) -> None:  # noqa: D107
        self._conn = conn
        self._o = _obj

    def __del__(self) -> None:
        pass

    def _do(self, coro: _Coroutine[Any, Any, Any], api: str) -> Any:
        return _call(coro, api)

    def connect(self) -> virConnect:
        return self._conn

    def send(self, data: bytes) -> int:
        self._do(self._o.send(bytes(data)), "virStreamSend")
        return len(data)

    def recv(self, nbytes: int) -> bytes:
        data = self._do(self._o.recv(nbytes), "virStreamRecv")
        return b"" if data is None else bytes(data)

    def recvFlags(self, nbytes: int, flags: int = 0) -> bytes | int:  # noqa: N802
        stop = bool(flags & VIR_STREAM_RECV_STOP_AT_HOLE)  # noqa: F405
        data = self._do(self._o.recv(nbytes, stop_at_hole=stop), "virStreamRecvFlags")
        return -3 if data is None else bytes(data)  # -3: at a hole (libvirt's value)

    def recvHole(self, flags: int = 0) -> int:  # noqa: N802
        return int(self._do(self._o.recv_hole(), "virStreamRecvHole"))

    def sendHole(self, length: int, flags: int = 0) -> int:  # noqa: N802
        self._do(self._o.send_hole(length, flags), "virStreamSendHole")
        return 0

    def finish(self) -> int:
        self._do(self._o.finish(), "virStreamFinish")
        return 0

    def abort(self) -> int:
        self._do(self._o.abort(), "virStreamAbort")
        return 0

    def _abort_quietly(self) -> None:
        with _contextlib.suppress(Exception):
            self.abort()

    def recvAll(self, handler: Callable[..., object], opaque: Any) -> None:  # noqa: N802
        """Receive until the end of the stream, handing each chunk to ``handler``."""
        while True:
            got = self.recv(self.streamBufSize)
            if not got:
                return
            try:
                ret = handler(self, got, opaque)
                if isinstance(ret, int) and ret < 0:
                    raise RuntimeError(f"recvAll handler returned {ret}")
            except BaseException:
                self._abort_quietly()
                raise

    def sendAll(self, handler: Callable[..., bytes], opaque: Any) -> None:  # noqa: N802
        """Send what ``handler(stream, nbytes, opaque)`` returns until it returns nothing."""
        while True:
            try:
                got = handler(self, self.streamBufSize, opaque)
            except BaseException:
                self._abort_quietly()
                raise
            if not got:
                return
            self.send(got)

    def sparseRecvAll(  # noqa: N802
        self,
        handler: Callable[..., object],
        holeHandler: Callable[..., object],
        opaque: Any,  # noqa: N803
    ) -> None:
        """Receive data and holes until the end, calling ``handler`` / ``holeHandler``."""
        while True:
            got = self.recvFlags(self.streamBufSize, VIR_STREAM_RECV_STOP_AT_HOLE)  # noqa: F405
            if got == -3:
                ret = holeHandler(self, self.recvHole(), opaque)
                if isinstance(ret, int) and ret < 0:
                    self._abort_quietly()
                    raise RuntimeError(f"holeHandler handler returned {ret}")
                continue
            if not got:
                return
            ret = handler(self, got, opaque)
            if isinstance(ret, int) and ret < 0:
                self._abort_quietly()
                raise RuntimeError(f"sparseRecvAll handler returned {ret}")

    def sparseSendAll(  # noqa: N802
        self,
        handler: Callable[..., bytes],
        holeHandler: Callable[..., Any],  # noqa: N803
        skipHandler: Callable[..., object],  # noqa: N803
        opaque: Any,
    ) -> None:
        """Send data and holes as ``holeHandler(stream, opaque) -> (inData, length)`` says."""
        while True:
            try:
                in_data, section = holeHandler(self, opaque)
                if not in_data and section:
                    self.sendHole(section)
                    ret = skipHandler(self, section, opaque)
                    if isinstance(ret, int) and ret < 0:
                        raise RuntimeError(f"skipHandler handler returned {ret}")
                    continue
                got = handler(self, min(section, self.streamBufSize), opaque)
            except BaseException:
                self._abort_quietly()
                raise
            if isinstance(got, int) and got < 0:
                self._abort_quietly()
                raise RuntimeError(f"sparseSendAll handler returned {got}")
            if not got:
                return
            self.send(got)


for _name, _cls in _objects.make_classes().items():
    globals()[_name] = _cls
del _name, _cls


# event kind -> (libvirt-python class of its object, wire handle struct)
_OBJECT_EVENT_KINDS: dict[str, tuple[str, type]] = {
    "network": ("virNetwork", _rp.RemoteNonnullNetwork),
    "storage_pool": ("virStoragePool", _rp.RemoteNonnullStoragePool),
    "node_device": ("virNodeDevice", _rp.RemoteNonnullNodeDevice),
    "secret": ("virSecret", _rp.RemoteNonnullSecret),
}


def _fail_api(err: _LibvirtError, api: str) -> libvirtError:
    return _fail(err, f"{api}() failed")


_ns = {**globals(), "call": _call, "fail": _fail_api}
_objects.bind(_ns)
_name = ""
for _name in set(_ns) - set(globals()) - {"call", "fail"}:
    globals()[_name] = _ns[_name]  # generated module functions
del _name, _ns

# libvirt-python's public names: the classes and every module function of the table
__all__ = sorted(
    {*__all__, "getVersion", "virInitialize", "virEventInvokeFreeCallback", "virStream",
     *_objects.make_classes(), *(row.name for row in _objects.API
                                 if row.module == "libvirt" and row.name and row.cls is None)}
)  # fmt: skip

# not libvirt-python's names: the __future__ flag and the qemu/lxc modules' constant tables
del annotations, QEMU_CONSTANTS, LXC_CONSTANTS  # noqa: F821
