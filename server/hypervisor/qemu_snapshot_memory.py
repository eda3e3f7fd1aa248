"""External memory snapshots of the QEMU hosts (``--memspec file=PATH,snapshot=external``).

libvirt 9.0's ``qemuSnapshotCreateActiveExternal``: a running guest is paused (SUSPENDED
PAUSED, state ``paused (snapshot)``; with ``--live`` qemu pauses it at the end of the
migration to the file, the same event), its memory is written to ``PATH`` as a save image
(the layout of ``qemu_save.py``, the inactive definition inside, "running" as the guest
was), then every disk selected gets its qcow2 overlay (as disk-only snapshots do), and the
guest is resumed (RESUMED UNPAUSED) or, with ``--halt``, stopped (STOPPED FROM_SNAPSHOT).
A paused guest stays paused, without events.  ``PATH`` is a path of the simulated host (in
its root, as save files and pools; symbolic links are not followed); a memory image this
call created is removed again when a later step fails.

The parse-time rules are ``virDomainSnapshotDefParse``'s (:func:`check_memory_spec`).
Reverting to such a snapshot is refused (libvirt 9.0: "revert to external snapshot not
supported yet"; it arrived in 9.7); deleting it commits the overlays as for disk-only
snapshots and, as in 9.0, leaves the memory file where it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.driver import RESUMED, RESUMED_UNPAUSED, SUSPENDED, SUSPENDED_PAUSED
from virtwire.server.hypervisor.model import DomainObj, DomainState, RunningReason

if TYPE_CHECKING:
    from pathlib import Path

    from virtwire.server.hypervisor.domxml import DomainDef

__all__ = ["PAUSED_SNAPSHOT", "QemuSnapshotMemory", "check_memory_spec"]

PAUSED_SNAPSHOT = 9  # VIR_DOMAIN_PAUSED_SNAPSHOT: qemuProcessStopCPUs' reason here


def _xml_error(text: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN_SNAPSHOT, text)


def check_memory_spec(memory: str, path: str | None, *, offline: bool) -> str:
    """virDomainSnapshotDefParse's <memory snapshot=… file=…> checks; the location it
    resolves to ("" when left to the driver)."""
    if memory == "manual":
        raise _xml_error("'manual' memory snapshot mode not supported")
    if memory not in ("", "no", "internal", "external"):
        raise _xml_error(f"Invalid value for attribute 'snapshot' in element 'memory': '{memory}'.")
    if not memory and path:
        memory = "external"
    if path and memory != "external":
        raise _xml_error(f"memory filename '{path}' requires external snapshot")
    if not path and memory == "external":
        raise _xml_error("external memory snapshots require a filename")
    if offline and memory not in ("", "no"):
        raise _xml_error("memory state cannot be saved with offline or disk-only snapshot")
    if path and not path.startswith("/"):
        raise _xml_error(f"memory snapshot file path ({path}) must be absolute")
    return memory


class QemuSnapshotMemory:
    """The memory half of a full-system external snapshot (composed into QemuSnapshots)."""

    if TYPE_CHECKING:  # provided by Driver / QemuSave

        def lifecycle(self, obj: DomainObj, event: int, detail: int) -> None: ...
        def save_host_path(self, path: str) -> Path: ...
        def write_memory_image(self, path: str, ddef: DomainDef, was_running: bool) -> None: ...

    def snap_save_memory(self, obj: DomainObj, path: str) -> tuple[bool, bool]:
        """Pause a running guest and write its memory image: (was running, file created)."""
        was_running = obj.state == DomainState.RUNNING
        if was_running:
            obj.state, obj.reason = DomainState.PAUSED, PAUSED_SNAPSHOT
            self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED)
        existed = self.save_host_path(path).exists()
        try:
            self.write_memory_image(path, obj.current, was_running)
        except LibvirtError:
            self.snap_resume(obj, was_running)
            raise
        return was_running, not existed

    def snap_resume(self, obj: DomainObj, was_running: bool) -> None:
        """The cleanup's qemuProcessStartCPUs: RESUMED UNPAUSED."""
        if was_running and obj.active:
            obj.state, obj.reason = DomainState.RUNNING, RunningReason.UNPAUSED
            self.lifecycle(obj, RESUMED, RESUMED_UNPAUSED)

    def snap_forget_memory(self, path: str, created: bool) -> None:
        """A failed snapshot removes the memory image it created (memory_unlink)."""
        if created:
            self.save_host_path(path).unlink(missing_ok=True)
