"""libvirt-python's ``libvirt_qemu`` module on virtwire: the QEMU program's calls.

    from virtwire.client import libvirt, libvirt_qemu
    dom = libvirt.open("qemu:///system").lookupByName("vm")
    print(libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"query-status"}', 0))

Functions and constants as python3-libvirt's module has them, bound from the generated
table; monitor-event registration delivers ``cb(conn, dom, event, seconds, micros,
details, opaque)`` through the drop-in's event loop, as libvirt-python does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from virtwire.client import libvirt as _libvirt
from virtwire.client import objects as _objects
from virtwire.client.constants import QEMU_CONSTANTS as _QEMU_CONSTANTS

globals().update(_QEMU_CONSTANTS)


def qemuMonitorEventRegister(  # noqa: N802  (libvirt-python's name)
    conn: Any,
    dom: Any,
    event: str | None,
    cb: Callable[..., object],
    opaque: Any,
    flags: int = 0,
) -> int:
    """Call ``cb(conn, dom, event, seconds, micros, details, opaque)`` for QMP events."""
    api = "virConnectDomainQemuMonitorEventRegister"
    conn._require_event_impl()
    live = conn._live(api)
    wire = None if dom is None else dom._wire()

    def trampoline(ev: Any, callback_id: int) -> None:
        handle = _libvirt._rp.RemoteNonnullDomain(name=ev.dom.name, uuid=ev.dom.uuid, id=ev.dom.id)

        def call() -> None:
            entry = conn._callbacks.get(callback_id)
            if entry is not None:
                target = _objects.wrap("virDomain", conn, handle)
                entry[0](conn, target, ev.event, ev.seconds, ev.micros, ev.details, entry[1])

        _libvirt._deliver(call)

    async def register() -> int:
        cid = await live.register_qemu_monitor_event(trampoline, wire, event, flags)
        conn._callbacks[cid] = (cb, opaque)
        return cid

    return conn._run(register(), api)


def qemuMonitorEventDeregister(conn: Any, callbackID: int) -> None:  # noqa: N802, N803
    """Remove a QMP event callback."""
    conn._object_event_deregister("virConnectDomainQemuMonitorEventDeregister", callbackID)


_objects.bind_module(globals(), "libvirt_qemu")
del annotations  # noqa: F821  (not one of libvirt_qemu's names)
