"""Callbacks on the application's asyncio loop: virEventRegisterImpl and libvirtaio.

The drop-in runs against an in-process virtwire daemon; a lifecycle event must reach the
callback on the thread that runs the asyncio loop (never virtwire's I/O thread), through
our ``virtwire.client.libvirtaio`` and through libvirt-python's own ``libvirtaio`` module
running on top of the drop-in.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from virtwire.client import libvirt, libvirtaio

from tests.conftest import need_peer
from tests.server.wire import DaemonThread

REAL_LIBVIRTAIO = Path("/usr/lib/python3/dist-packages/libvirtaio.py")


@pytest.fixture(autouse=True)
def _restore_event_impl():
    """An impl registered here is process-wide (as in libvirt): put the previous one back."""
    saved = (libvirt._CUSTOM, libvirt._IMPL.registered)
    yield
    libvirt._CUSTOM, libvirt._IMPL.registered = saved


@pytest.fixture
def daemon():
    d = DaemonThread().start()
    try:
        yield d
    finally:
        d.stop()


def _uri(d: DaemonThread) -> str:
    return f"test+unix:///default?socket={d.unix_path}"


# a registered event implementation lasts the process (as in libvirt) with its wake-up pipe
@pytest.mark.leaves_process_state
def test_asyncio_impl_delivers_events_on_the_loop_thread(daemon):
    seen: list[tuple[int, int, str]] = []

    async def main() -> None:
        got = asyncio.Event()
        impl = libvirtaio.virEventRegisterAsyncIOImpl()
        assert libvirtaio.getCurrentImpl() is impl
        conn = libvirt.open(_uri(daemon))

        def cb(_conn, dom, event, detail, _opaque) -> None:
            seen.append((event, detail, threading.current_thread().name))
            got.set()

        cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
        dom = conn.lookupByName("test")
        await asyncio.to_thread(dom.suspend)
        await asyncio.wait_for(got.wait(), 10)
        conn.domainEventDeregisterAny(cid)
        await asyncio.to_thread(dom.resume)
        conn.close()

    asyncio.run(main())
    assert seen == [
        (
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
            threading.current_thread().name,
        )
    ]


@pytest.mark.leaves_process_state  # the registered impl's wake-up pipe, as above
def test_timeouts_and_handles_run_through_the_registered_impl(daemon):
    async def main() -> list[str]:
        log: list[str] = []
        done = asyncio.Event()
        libvirtaio.virEventRegisterAsyncIOImpl()

        def tick(timer: int, opaque: str) -> None:
            log.append(opaque)
            if len(log) == 3:
                libvirt.virEventRemoveTimeout(timer)
                done.set()

        timer = libvirt.virEventAddTimeout(0, tick, "t")
        assert timer > 0
        await asyncio.wait_for(done.wait(), 10)
        r, w = __import__("os").pipe()
        readable = asyncio.Event()

        def on_fd(watch: int, fd: int, events: int, opaque: object) -> None:
            assert fd == r and events & libvirt.VIR_EVENT_HANDLE_READABLE
            libvirt.virEventRemoveHandle(watch)
            readable.set()

        libvirt.virEventAddHandle(r, libvirt.VIR_EVENT_HANDLE_READABLE, on_fd, None)
        __import__("os").write(w, b"x")
        try:
            await asyncio.wait_for(readable.wait(), 10)
        finally:
            __import__("os").close(r)
            __import__("os").close(w)
        return log

    assert asyncio.run(main()) == ["t", "t", "t"]


def test_invoke_callbacks_take_the_pair_libvirt_gave():
    calls = []
    libvirt._eventInvokeHandleCallback(3, 4, 1, (lambda *a: calls.append(a), "op"))
    libvirt._eventInvokeTimeoutCallback(5, (lambda *a: calls.append(a), "op2"))
    libvirt._eventInvokeHandleCallback(6, 7, 2, lambda *a: calls.append(a), "compat")
    libvirt.virEventInvokeFreeCallback(("anything", None))
    assert calls == [(3, 4, 1, "op"), (5, "op2"), (6, 7, 2, "compat")]


@pytest.mark.interop
def test_libvirt_pythons_own_libvirtaio_runs_on_the_dropin(daemon, tmp_path):
    need_peer(REAL_LIBVIRTAIO.is_file(), "python3-libvirt's libvirtaio.py")
    shutil.copy(REAL_LIBVIRTAIO, tmp_path / "libvirtaio.py")
    script = textwrap.dedent(
        f"""
        import asyncio, sys, threading
        from virtwire.client import libvirt
        sys.modules["libvirt"] = libvirt          # what a drop-in user does
        sys.path.insert(0, {str(tmp_path)!r})
        import libvirtaio                          # libvirt-python's own module

        async def main():
            got = asyncio.Event()
            libvirtaio.virEventRegisterAsyncIOImpl()
            conn = libvirt.open({_uri(daemon)!r})
            def cb(c, dom, event, detail, opaque):
                print("event", dom.name(), event, detail,
                      threading.current_thread() is threading.main_thread())
                got.set()
            cid = conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None
            )
            dom = conn.lookupByName("test")
            await asyncio.to_thread(dom.suspend)
            await asyncio.wait_for(got.wait(), 10)
            conn.domainEventDeregisterAny(cid)
            await asyncio.to_thread(dom.resume)
            conn.close()
        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["event test 3 0 True"]
