"""A tiny VM inventory: list a host's domains, and keep the list current on memory hot-plug.

This is "your" code, the kind virtwire lets you test without a hypervisor: it speaks
libvirt's Python API (python3-libvirt when it is importable, else virtwire's drop-in).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

try:
    import libvirt
except ImportError:  # no C libvirt here: virtwire's pure-Python drop-in
    from virtwire.client import libvirt

_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
}


@dataclass(frozen=True)
class Entry:
    name: str
    state: str
    memory_kib: int


def inventory(conn: libvirt.virConnect) -> list[Entry]:
    """Every domain of the host, sorted by name."""
    entries = []
    for dom in conn.listAllDomains():
        state, _max_mem, memory, _vcpus, _cpu_time = dom.info()
        entries.append(Entry(dom.name(), _STATES.get(state, "other"), memory))
    return sorted(entries, key=lambda e: e.name)


def start_event_loop() -> None:
    """libvirt delivers events only while its default event loop runs (call once)."""
    libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, name="libvirt-events", daemon=True).start()


def watch_hotplug(conn: libvirt.virConnect, on_change: Callable[[str, str, int], None]) -> int:
    """Call ``on_change(domain, device_alias, memory_kib)`` when a device is added to a domain
    (a DIMM hot-plug, say); returns the callback id (``conn.domainEventDeregisterAny``)."""

    def added(
        _conn: libvirt.virConnect, dom: libvirt.virDomain, alias: str, _opaque: object
    ) -> None:
        on_change(dom.name(), alias, dom.info()[2])

    return conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, added, None)


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    conn = libvirt.open(args[0] if args else None)
    for entry in inventory(conn):
        print(f"{entry.name:20} {entry.state:10} {entry.memory_kib} KiB")
    conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
