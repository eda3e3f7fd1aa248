"""Domain snapshots of the QEMU hosts, with libvirt 9.0's qemu driver rules, persistent.

The snapshot model, listing and XML are the test driver's (``snapshots.py``); this mixin
adds what ``src/qemu/qemu_snapshot.c`` does differently:

* **create** takes *internal* snapshots (``savevm`` for a running or paused domain,
  ``qemu-img snapshot -c`` for a shut-off one), so every disk selected must be a local
  file or block device in **qcow2** format (a disk without ``<driver type=...>`` is raw,
  qemu's default, and is refused with libvirt's text); a running domain is paused for the
  snapshot and resumed (SUSPENDED PAUSED, RESUMED UNPAUSED), ``--halt`` stops it instead
  (STOPPED FROM_SNAPSHOT).  External snapshots put qcow2 overlays on the disks (disk-only,
  no pause) and may save the memory too (``qemu_snapshot_memory.py``).
* **revert** follows qemuSnapshotRevert's nine transitions: a live snapshot restarts the
  guest paused from the snapshot (STOPPED FROM_SNAPSHOT if it ran, STARTED FROM_SNAPSHOT,
  then RESUMED FROM_SNAPSHOT or SUSPENDED FROM_SNAPSHOT), an inactive one stops it and
  optionally boots it (``--running``/``--paused``); the definition comes back from the
  snapshot (DEFINED FROM_SNAPSHOT for a persistent domain).
* **persistence**: a domain's snapshots are one XML document,
  ``<state>/snapshot/<uuid>.xml``, replaced atomically on every change and read back when
  the daemon starts; undefining a shut-off domain that has snapshots needs
  ``--snapshots-metadata``.
"""

from __future__ import annotations

import logging
import stat
import uuid as uuid_mod
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import defusedxml.ElementTree as SafeET
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import devices, domxml, volume_files
from virtwire.server.hypervisor.driver import (
    DEFINED,
    RESUMED,
    RESUMED_UNPAUSED,
    STARTED,
    STOPPED,
    SUSPENDED,
    SUSPENDED_PAUSED,
)
from virtwire.server.hypervisor.model import DomainObj, DomainState, PausedReason, RunningReason
from virtwire.server.hypervisor.persistence import DomainStore
from virtwire.server.hypervisor.qemu_snapshot_memory import QemuSnapshotMemory, check_memory_spec
from virtwire.server.hypervisor.snapshots import (
    CREATE_ATOMIC,
    CREATE_CURRENT,
    CREATE_DISK_ONLY,
    CREATE_HALT,
    CREATE_LIVE,
    CREATE_NO_METADATA,
    CREATE_QUIESCE,
    CREATE_REDEFINE,
    CREATE_REUSE_EXT,
    CREATE_VALIDATE,
    DELETE_CHILDREN,
    DELETE_CHILDREN_ONLY,
    DELETE_METADATA_ONLY,
    PAUSED_FROM_SNAPSHOT,
    REVERT_FORCE,
    REVERT_PAUSED,
    REVERT_RUNNING,
    RUNNING_FROM_SNAPSHOT,
    SHUTOFF_FROM_SNAPSHOT,
    STARTED_FROM_SNAPSHOT,
    STOPPED_FROM_SNAPSHOT,
    SUSPENDED_FROM_SNAPSHOT,
    Snapshot,
    SnapshotList,
    TestSnapshots,
    _parse_snapshot,
    format_snapshot,
)

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef

__all__ = ["QemuSnapshots", "SNAPSHOT_DIR", "invalid_arg", "plain_definition"]

log = logging.getLogger("virtwire.server")

Dom = rp.RemoteNonnullDomain
Snap = rp.RemoteNonnullDomainSnapshot

SNAPSHOT_DIR = "snapshot"
REVERT_RESET_NVRAM = 0x8
UNDEFINE_SNAPSHOTS_METADATA = 0x2
DEFINED_FROM_SNAPSHOT = 3  # VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT
RESUMED_FROM_SNAPSHOT = 2  # VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT
PAUSED_SAVE = 3  # VIR_DOMAIN_PAUSED_SAVE: qemuProcessStopCPUs' reason around savevm
LOCAL_TYPES = ("file", "block", "volume")  # what qemuSnapshotPrepareDiskInternal accepts


def invalid_arg(domain: ErrorDomain, function: str, text: str) -> LibvirtError:
    """virReportInvalidArg as VIR_EXCLUSIVE_FLAGS_RET / VIR_REQUIRE_FLAG_RET raise it."""
    return LibvirtError(
        ErrorCode.INVALID_ARG, domain, text, str1=function, str2="flags", int1=0, int2=0
    )


def plain_definition(ddef: DomainDef) -> DomainDef:
    """A live definition formatted inactive (qemuDomainDefFormatLive(inactive)): no aliases."""
    out = ddef.copy()
    for dev in list(out.devices):
        devices.strip_live(dev)
    return out


class QemuSnapshots(QemuSnapshotMemory, TestSnapshots):
    """The snapshot members of a QEMU host (see the module docstring)."""

    snapshot_delete_flags = DELETE_CHILDREN | DELETE_METADATA_ONLY | DELETE_CHILDREN_ONLY

    snap_store: DomainStore

    if TYPE_CHECKING:  # provided by Driver / QemuDriver / QemuSave

        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...
        def parse(self, xml: str) -> DomainDef: ...
        def has_managed_save(self, obj: DomainObj) -> bool: ...
        def save_host_path(self, path: str) -> Path: ...

        domains: dict[bytes, DomainObj]
        error_domain: ErrorDomain

    def init_qemu_snapshots(self, state_dir: Path) -> None:
        """Read every domain's stored snapshots (before the domains autostart)."""
        self.snap_store = DomainStore(state_dir / SNAPSHOT_DIR)
        lists = self.snapshot_lists()
        for path, text in self.snap_store.load_all():
            try:
                uuid, snaps = self._snap_parse_stored(text)
            except (LibvirtError, ValueError, SyntaxError) as exc:
                log.error("ignoring unreadable snapshot file %s: %s", path, exc)
                continue
            lists[uuid] = snaps

    # -- persistence -------------------------------------------------------------------------

    def _snap_persist(self, obj: DomainObj) -> None:
        """Replace the domain's snapshot document (or remove it when none is left)."""
        snaps = self.snaps_of(obj)
        name = domxml.uuid_str(obj.uuid)
        path = self.snap_store.path_for(name)
        try:
            if not snaps.items:
                self.snap_store.delete(name)
                return
            self.snap_store.save(name, _format_stored(obj.uuid, snaps))
        except OSError as exc:  # qemuSnapshotCreateWriteMetadata's text
            raise self.error(
                ErrorCode.INTERNAL_ERROR,
                f"unable to save metadata for snapshot {snaps.current}: "
                f"{path}: {exc.strerror or exc}",
            ) from None

    def _snap_parse_stored(self, text: str) -> tuple[bytes, SnapshotList]:
        root = SafeET.fromstring(text)
        uuid = uuid_mod.UUID(root.get("uuid", "")).bytes
        snaps = SnapshotList({}, current=root.get("current"))
        for elem in root.findall("domainsnapshot"):
            dom_elem = elem.find("domain")
            if dom_elem is None:
                raise ValueError("snapshot without a domain")
            disks = [
                (d.get("name", ""), d.get("snapshot", "internal"), _src(d))
                for d in elem.findall("disks/disk")
            ]
            snap = Snapshot(
                name=elem.findtext("name", ""),
                description=elem.findtext("description"),
                state=elem.findtext("state", "shutoff"),
                created=int(elem.findtext("creationTime", "0")),
                parent=elem.findtext("parent/name"),
                domain=self.parse(ET.tostring(dom_elem, encoding="unicode")),
                disks=disks,
                memory_file=_memory_file(elem),
            )
            snaps.items[snap.name] = snap
        if snaps.current not in snaps.items:
            snaps.current = None
        return uuid, snaps

    # -- create ------------------------------------------------------------------------------

    def domain_snapshot_create_xml(self, dom: Dom, xml_desc: str, flags: int = 0) -> Snap:
        function = "qemuSnapshotCreateXML"
        self.check_flags(
            flags,
            CREATE_REDEFINE | CREATE_CURRENT | CREATE_NO_METADATA | CREATE_HALT
            | CREATE_DISK_ONLY | CREATE_REUSE_EXT | CREATE_QUIESCE | CREATE_ATOMIC
            | CREATE_LIVE | CREATE_VALIDATE,
            function,
        )  # fmt: skip
        if flags & CREATE_QUIESCE and not flags & CREATE_DISK_ONLY:
            raise invalid_arg(
                self.error_domain,
                function,
                "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag "
                "'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'",
            )
        if flags & CREATE_LIVE and flags & CREATE_REDEFINE:
            raise invalid_arg(
                self.error_domain,
                function,
                "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_LIVE' and "
                "'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' are mutually exclusive",
            )
        obj = self.find(dom)
        if not obj.persistent and flags & CREATE_HALT:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cannot halt after transient domain snapshot"
            )
        name, description = _parse_snapshot(xml_desc, self)
        memory, memory_file, requests = _parse_locations(xml_desc)
        if flags & CREATE_REDEFINE:
            return self._snap_redefine(obj, xml_desc, flags)
        disk_only = bool(flags & CREATE_DISK_ONLY)
        memory = check_memory_spec(memory, memory_file, offline=disk_only or not obj.active)
        created = self.wall_s()
        name = name or str(created)
        if not flags & CREATE_NO_METADATA:
            if "/" in name:
                raise self.error(
                    ErrorCode.XML_DETAIL, f"invalid snapshot name '{name}': name can't contain '/'"
                )
            if name.startswith("."):
                raise self.error(
                    ErrorCode.XML_DETAIL,
                    f"invalid snapshot name '{name}': name can't start with '.'",
                )
        if flags & CREATE_LIVE and (not obj.active or memory != "external"):
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "live snapshot creation is supported only during full system snapshots",
            )
        state = _SNAP_STATES.get(DomainState(obj.state), "shutoff")
        external_memory = not disk_only and memory == "external"
        if disk_only:  # qemuSnapshotCreateAlignDisks
            state = "disk-snapshot" if obj.active else "shutoff"
            memory = "no"
        elif external_memory:
            pass
        elif obj.active and memory == "no":
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "internal snapshot of a running VM must include the memory state",
            )
        else:
            memory = "no" if state == "shutoff" else "internal"
        taken = plain_definition(obj.current)
        align = "external" if disk_only or external_memory else "internal"
        disks = self._snap_align_disks(taken, requests, align, name)
        self._snap_prepare(
            obj, taken, disks, memory=memory, disk_only=disk_only,
            reuse=bool(flags & CREATE_REUSE_EXT),
        )  # fmt: skip
        snaps = self.snaps_of(obj)
        if name in snaps.items and not flags & CREATE_NO_METADATA:
            raise LibvirtError.make(
                ErrorCode.OPERATION_FAILED, ErrorDomain.DOMAIN_SNAPSHOT,
                f"domain moment {name} already exists",
            )  # fmt: skip
        snap = Snapshot(
            name=name,
            description=description,
            state=state,
            created=created,
            parent=snaps.current,
            domain=taken,
            disks=[(d.target, d.location, d.path) for d in disks],
            memory_file=memory_file if external_memory else None,
        )
        if external_memory:
            assert memory_file is not None
            self._snap_take_full_external(obj, disks, memory_file, flags)
        elif disk_only:
            self._snap_take_external(obj, disks, flags)
        else:
            self._snap_take(obj, flags)
        if not flags & CREATE_NO_METADATA:
            previous = snaps.current
            snaps.items[name] = snap
            snaps.current = name
            try:
                self._snap_persist(obj)
            except LibvirtError:
                del snaps.items[name]
                snaps.current = previous
                raise
        return self._snap_handle(obj, name)

    def _snap_redefine(self, obj: DomainObj, xml_desc: str, flags: int) -> Snap:
        """qemuSnapshotRedefine: take the metadata as given (nothing is done to disks)."""
        root = SafeET.fromstring(xml_desc)
        name = (root.findtext("name") or "").strip()
        if not name:
            raise _snap_error(ErrorCode.XML_ERROR, "a redefined snapshot must have a name")
        created = (root.findtext("creationTime") or "").strip()
        if not created.lstrip("-").isdigit():
            raise _snap_error(
                ErrorCode.INTERNAL_ERROR, "missing creationTime from existing snapshot"
            )
        state = (root.findtext("state") or "").strip()
        if not state:
            raise _snap_error(ErrorCode.XML_ERROR, "missing state from existing snapshot")
        if state not in _REDEFINE_STATES:
            raise _snap_error(
                ErrorCode.CONFIG_UNSUPPORTED, f"Invalid state '{state}' in domain snapshot XML"
            )
        dom_elem = root.find("domain")
        domain = obj.config.copy()  # an old snapshot without <domain>: the current one
        if dom_elem is not None:
            domain = self.parse(ET.tostring(dom_elem, encoding="unicode"))
            if domain.uuid != obj.uuid:
                raise _snap_error(
                    ErrorCode.INVALID_ARG,
                    f"definition for snapshot {name} must use uuid {domxml.uuid_str(obj.uuid)}",
                )
        snaps = self.snaps_of(obj)
        parent = (root.findtext("parent/name") or "").strip() or None
        _check_parent(snaps, name, parent)
        memory, memory_file, requests = _parse_locations(xml_desc)
        external = (
            state == "disk-snapshot"
            or memory == "external"
            or any(r.location == "external" for r in requests.values())
        )
        disks = []
        for elem in domain.devices.findall("disk"):
            target = devices.disk_target(elem) or ""
            req = requests.get(target)
            if req is not None and req.location:
                disks.append((target, req.location, req.path))
            elif _disk_source(elem) is None:
                disks.append((target, "no", None))
            else:
                disks.append((target, "external" if external else "internal", None))
        snap = Snapshot(
            name=name,
            description=root.findtext("description"),
            state=state,
            created=int(created),
            parent=parent,
            domain=domain,
            disks=disks,
            memory_file=memory_file if memory == "external" else None,
        )
        previous = (snaps.items.get(name), snaps.current)
        snaps.items[name] = snap
        if flags & CREATE_CURRENT:
            snaps.current = name
        try:
            self._snap_persist(obj)
        except LibvirtError:
            if previous[0] is None:
                del snaps.items[name]
            else:
                snaps.items[name] = previous[0]
            snaps.current = previous[1]
            raise
        return self._snap_handle(obj, name)

    def _snap_align_disks(
        self, ddef: DomainDef, requests: dict[str, _DiskRequest], default: str, name: str
    ) -> list[_SnapDisk]:
        """virDomainSnapshotAlignDisks + AssignExternalNames: one entry per domain disk."""
        disks = [(devices.disk_target(d) or "", d) for d in ddef.devices.findall("disk")]
        if len(requests) > len(disks):
            raise _snap_conf_error("too many disk snapshot requests for domain")
        by_target = dict(disks)
        require_match = default == "internal"
        out = []
        for target, elem in disks:
            req = requests.get(target)
            on_domain = elem.get("snapshot") or ""
            if req is None:  # defaults for the disks not asked for
                location = "no" if _disk_source(elem) is None else (on_domain or default)
                out.append(_SnapDisk(target, location, elem, None, None))
                continue
            location = req.location
            if not location:
                use_domain = on_domain and (not require_match or on_domain == "no")
                location = on_domain if use_domain else default
            elif (
                require_match
                and location != default
                and not (location == "no" and on_domain == "no")
            ):
                raise _snap_conf_error(f"disk '{target}' must use snapshot mode '{default}'")
            if req.path and location != "external":
                raise _snap_conf_error(
                    f"file '{req.path}' for disk '{target}' requires use of external snapshot mode"
                )
            out.append(_SnapDisk(target, location, elem, req.path, req.fmt))
        for requested in requests:
            if requested not in by_target:
                raise _snap_conf_error(f"no disk named '{requested}'")
        for i, disk in enumerate(out):
            if disk.location != "external" or disk.path:
                continue
            origin = _disk_source(disk.elem) if disk.elem.get("type", "file") == "file" else None
            if origin is None:
                raise _snap_conf_error(
                    f"cannot generate external snapshot name for disk '{disk.target}' "
                    "without source"
                )
            if not self.save_host_path(origin).is_file():
                raise _snap_conf_error(
                    f"source for disk '{disk.target}' is not a regular file; refusing to "
                    "generate external snapshot name"
                )
            stem, dot, ext = origin.rpartition(".")
            base = stem if dot and "/" not in ext else origin
            disk.path = f"{base}.{name}"
            for other in out[:i]:
                if other.path == disk.path:
                    raise _snap_conf_error(
                        f"cannot generate external snapshot name for disk '{disk.target}': "
                        f"collision with disk '{other.target}'"
                    )
        return out

    def _snap_prepare(
        self, obj: DomainObj, ddef: DomainDef, disks: list[_SnapDisk], *, memory: str,
        disk_only: bool, reuse: bool,
    ) -> None:  # fmt: skip
        """qemuSnapshotPrepare (``memory``: the aligned location, "no", "internal" or
        "external")."""
        found_internal = forbid_internal = False
        external = 0
        for disk in disks:
            target, elem = disk.target, disk.elem
            if disk.location == "internal":
                found_internal = True
                if disk_only and obj.active:
                    raise self.error(
                        ErrorCode.CONFIG_UNSUPPORTED,
                        "active qemu domains require external disk snapshots; disk "
                        f"{target} requested internal",
                    )
                self._snap_check_internal(obj, disk)
            elif disk.location == "external":
                self._snap_check_external(obj, disk, reuse)
                external += 1
            elif _disk_source(elem) is not None and elem.find("readonly") is None:
                forbid_internal = True
        if not found_internal and not external and memory == "no":
            raise self.error(ErrorCode.CONFIG_UNSUPPORTED, "nothing selected for snapshot")
        if (memory == "internal" and not found_internal) or (found_internal and forbid_internal):
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                "internal and full system snapshots require all disks to be selected for snapshot",
            )
        if disk_only and not external:
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                "disk-only snapshots require at least one disk to be selected for snapshot",
            )
        if (
            (found_internal and external)
            or (memory == "internal" and external)
            or (memory == "external" and found_internal)
        ):
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                "mixing internal and external targets for a snapshot is not yet supported",
            )
        os_elem = ddef.tree.find("os")
        loader = os_elem.find("loader") if os_elem is not None else None
        if found_internal and loader is not None and loader.get("type") == "pflash":
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "internal snapshots of a VM with pflash based firmware are not supported",
            )

    def _snap_check_internal(self, obj: DomainObj, disk: _SnapDisk) -> None:
        """qemuSnapshotPrepareDiskInternal and the qcow2 requirement."""
        elem = disk.elem
        kind = elem.get("type", "file")
        if not obj.active and kind not in LOCAL_TYPES:
            if kind == "network":
                src = elem.find("source")
                proto = src.get("protocol", "none") if src is not None else "none"
                raise self.error(
                    ErrorCode.INTERNAL_ERROR,
                    "internal inactive snapshots are not supported on 'network' "
                    f"disks using '{proto}' protocol",
                )
            raise self.error(
                ErrorCode.INTERNAL_ERROR,
                f"internal inactive snapshots are not supported on '{kind}' disks",
            )
        fmt = disk_format(elem)
        if fmt is not None and fmt != "qcow2":
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                f"internal snapshot for disk {disk.target} unsupported for storage type {fmt}",
            )

    def _snap_check_external(self, obj: DomainObj, disk: _SnapDisk, reuse: bool) -> None:
        """qemuSnapshotPrepareDiskExternal for a file overlay in the simulated root."""
        disk.fmt = disk.fmt or "qcow2"
        if disk.fmt not in ("qcow2", "qed"):
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                f"external snapshot format for disk {disk.target} is unsupported: {disk.fmt}",
            )
        kind = disk.elem.get("type", "file")
        if obj.active:
            if disk.elem.get("device") == "lun":
                raise self.error(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    "external active snapshots are not supported on scsi passthrough devices",
                )
            if kind not in ("file", "block", "network"):
                raise self.error(
                    ErrorCode.INTERNAL_ERROR,
                    f"external active snapshots are not supported on '{kind}' disks",
                )
        elif kind not in LOCAL_TYPES:
            raise self.error(
                ErrorCode.INTERNAL_ERROR,
                f"external inactive snapshots are not supported on '{kind}' disks",
            )
        assert disk.path is not None
        host = self.save_host_path(disk.path)
        try:
            st = host.lstat()
        except FileNotFoundError as exc:
            if reuse:
                raise self.error(
                    ErrorCode.SYSTEM_ERROR,
                    f"missing existing file for disk {disk.target}: {disk.path}: {exc.strerror}",
                ) from None
            return
        if not stat.S_ISREG(st.st_mode):
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                f"mismatch between configured type for snapshot disk '{disk.target}' and the "
                f"type of existing file '{disk.path}'",
            )
        if not reuse and st.st_size > 0:
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                f"external snapshot file for disk {disk.target} already exists and is not a "
                f"block device: {disk.path}",
            )

    def _snap_take_full_external(
        self, obj: DomainObj, disks: list[_SnapDisk], memory_file: str, flags: int
    ) -> None:
        """qemuSnapshotCreateActiveExternal with memory: pause, the memory image, the
        overlays, then resume (or --halt: stop)."""
        was_running, created = self.snap_save_memory(obj, memory_file)
        try:
            self._snap_make_overlays(obj, disks, flags)
        except LibvirtError:
            self.snap_forget_memory(memory_file, created)
            self.snap_resume(obj, was_running)
            raise
        if flags & CREATE_HALT:
            self.lifecycle(obj, STOPPED, STOPPED_FROM_SNAPSHOT)
            self.stop(obj, SHUTOFF_FROM_SNAPSHOT)
            return
        self.snap_resume(obj, was_running)

    def _snap_take_external(self, obj: DomainObj, disks: list[_SnapDisk], flags: int) -> None:
        """qemuSnapshotCreate{Active,Inactive}External: new qcow2 overlays become the
        disks' images, in the live and the persistent definition; no pause."""
        self._snap_make_overlays(obj, disks, flags)
        if flags & CREATE_HALT and obj.active:
            self.lifecycle(obj, STOPPED, STOPPED_FROM_SNAPSHOT)
            self.stop(obj, SHUTOFF_FROM_SNAPSHOT)

    def _snap_make_overlays(self, obj: DomainObj, disks: list[_SnapDisk], flags: int) -> None:
        """The qcow2 overlays of the external disks, pointed to by both definitions."""
        chosen = [d for d in disks if d.location == "external"]
        for disk in chosen:
            assert disk.path is not None
            host = self.save_host_path(disk.path)
            if flags & CREATE_REUSE_EXT and host.exists():
                continue
            base = _disk_source(disk.elem)
            base_host = self.save_host_path(base) if base else None
            try:
                capacity = volume_files.probe(base_host).capacity if base_host else 0
            except OSError:
                capacity = 0
            try:
                host.parent.mkdir(parents=True, exist_ok=True)
                host.unlink(missing_ok=True)  # an empty file is overwritten, as qemu-img does
                volume_files.create(host, "qcow2", capacity, 0)
            except OSError as exc:
                raise self.error(
                    ErrorCode.SYSTEM_ERROR,
                    f"failed to create image file '{disk.path}': {exc.strerror or exc}",
                ) from None
        targets = {d.target: (d.path, d.fmt) for d in chosen}
        if obj.persistent:
            config = obj.config.copy()
            _point_disks(config, targets)
            self.save(obj, config)
            obj.config = config
        if obj.live is not None:
            _point_disks(obj.live, targets)

    def _snap_take(self, obj: DomainObj, flags: int) -> None:
        """qemuSnapshotCreateActiveInternal: savevm between paused CPUs; --halt stops."""
        if not obj.active:
            return  # qemu-img snapshot -c on the images: no event
        was_running = obj.state == DomainState.RUNNING
        if was_running:
            obj.state, obj.reason = DomainState.PAUSED, PAUSED_SAVE
            self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED)
        if flags & CREATE_HALT:
            self.lifecycle(obj, STOPPED, STOPPED_FROM_SNAPSHOT)
            self.stop(obj, SHUTOFF_FROM_SNAPSHOT)
            return
        if was_running:
            obj.state, obj.reason = DomainState.RUNNING, RunningReason.UNPAUSED
            self.lifecycle(obj, RESUMED, RESUMED_UNPAUSED)

    # -- revert ------------------------------------------------------------------------------

    def domain_revert_to_snapshot(self, snap: Snap, flags: int = 0) -> None:
        function = "qemuSnapshotRevert"
        self.check_flags(
            flags, REVERT_RUNNING | REVERT_PAUSED | REVERT_FORCE | REVERT_RESET_NVRAM, function
        )
        if flags & REVERT_RUNNING and flags & REVERT_PAUSED:  # virDomainRevertToSnapshot
            raise invalid_arg(
                ErrorDomain.DOMAIN,
                "virDomainRevertToSnapshot",
                "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and "
                "'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive",
            )
        obj, snaps, found = self._snap_lookup(snap)
        start = flags & (REVERT_RUNNING | REVERT_PAUSED)
        if not obj.persistent and not found.active and not start:
            raise self.error(
                ErrorCode.OPERATION_INVALID,
                "transient domain needs to request run or pause to revert to inactive snapshot",
            )
        if found.external:
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED, "revert to external snapshot not supported yet"
            )
        if not flags & REVERT_FORCE and self.has_managed_save(obj) and not found.active:
            raise self.error(
                ErrorCode.SNAPSHOT_REVERT_RISKY,
                "snapshot without memory state, removal of existing managed saved state "
                "strongly recommended to avoid corruption",
            )
        config = found.domain.copy()
        config.name = obj.name
        if obj.active:  # transitions 4-9
            self.stop(obj, SHUTOFF_FROM_SNAPSHOT)
            self.lifecycle(obj, STOPPED, STOPPED_FROM_SNAPSHOT)
        if obj.persistent:
            self.save(obj, config)
        obj.config = config
        if found.active:  # qemuSnapshotRevertActive: -loadvm with CPUs paused
            self.make_live(obj, config.copy())
            obj.state, obj.reason = DomainState.PAUSED, PausedReason.USER
            self.lifecycle(obj, STARTED, STARTED_FROM_SNAPSHOT)
            if not flags & REVERT_RUNNING and (found.state == "paused" or flags & REVERT_PAUSED):
                obj.state, obj.reason = DomainState.PAUSED, PAUSED_FROM_SNAPSHOT
                self.lifecycle(obj, SUSPENDED, SUSPENDED_FROM_SNAPSHOT)
            else:
                obj.state, obj.reason = DomainState.RUNNING, RUNNING_FROM_SNAPSHOT
                self.lifecycle(obj, RESUMED, RESUMED_FROM_SNAPSHOT)
        elif start:  # qemuSnapshotRevertInactive, then a boot (transition 2 or 3)
            self.make_live(obj, config.copy())
            if flags & REVERT_PAUSED:
                obj.state, obj.reason = DomainState.PAUSED, PausedReason.USER
                self.lifecycle(obj, STARTED, STARTED_FROM_SNAPSHOT)
                self.lifecycle(obj, SUSPENDED, SUSPENDED_FROM_SNAPSHOT)
            else:
                obj.state, obj.reason = DomainState.RUNNING, RunningReason.BOOTED
                self.lifecycle(obj, RESUMED, RESUMED_UNPAUSED)
                self.lifecycle(obj, STARTED, STARTED_FROM_SNAPSHOT)
        snaps.current = found.name
        self._snap_persist(obj)
        if obj.persistent:
            self.lifecycle(obj, DEFINED, DEFINED_FROM_SNAPSHOT)

    # -- delete ------------------------------------------------------------------------------

    def domain_snapshot_delete(self, snap: Snap, flags: int = 0) -> None:
        self.check_flags(flags, self.snapshot_delete_flags, "qemuSnapshotDelete")
        obj, snaps, found = self._snap_lookup(snap)
        if not flags & DELETE_METADATA_ONLY:
            self._snap_delete_validate(obj, snaps, found, flags)
            if found.external and not flags & DELETE_CHILDREN_ONLY:
                self._snap_commit_external(obj, snaps, found)
        super().domain_snapshot_delete(snap, flags)
        self._snap_persist(obj)

    def _snap_delete_validate(
        self, obj: DomainObj, snaps: SnapshotList, found: Snapshot, flags: int
    ) -> None:
        """qemuSnapshotDeleteValidate."""
        if not found.external and obj.live is not None:
            for target, location, _path in found.disks or []:
                if location != "internal":
                    continue
                now = devices.find_disk(obj.live, target)
                then = devices.find_disk(found.domain, target)
                if now is None or then is None or _disk_source(now) != _disk_source(then):
                    raise self.error(
                        ErrorCode.OPERATION_UNSUPPORTED,
                        f"disk image '{target}' for internal snapshot '{found.name}' is not "
                        "the same as disk image currently used by VM",
                    )
        if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY):
            kinds = {s.external for s in snaps.descendants(found.name)}
            if kinds == {True, False}:
                raise self.error(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    "deletion of external and internal children disk snapshots not supported",
                )
            if True in kinds:
                raise self.error(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    "deletion of external children disk snapshots not supported",
                )
        if found.external and flags & DELETE_CHILDREN:
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                "deletion of external disk snapshots with children not supported",
            )

    def _snap_commit_external(self, obj: DomainObj, snaps: SnapshotList, found: Snapshot) -> None:
        """Block commit of each overlay into the image below it: whoever used the overlay
        (the domain, or the snapshot taken on top of it) uses that image again, and the
        overlay file goes."""
        commits = []
        for target, location, overlay in found.disks or []:
            if location != "external" or overlay is None:
                continue
            below = devices.find_disk(found.domain, target)
            if below is None:
                raise self.error(
                    ErrorCode.OPERATION_FAILED, f"failed to find disk '{target}' in snapshot VM XML"
                )
            base = (_disk_source(below), disk_format(below))
            users = [
                d for d in (obj.live, obj.config) if d is not None and _uses(d, target, overlay)
            ]
            users += [
                s.domain for s in snaps.children(found.name) if _uses(s.domain, target, overlay)
            ]
            if not users:
                raise self.error(
                    ErrorCode.OPERATION_FAILED,
                    "VM disk source and snapshot disk source are not the same",
                )
            commits.append((target, overlay, base, users))
        for target, overlay, base, users in commits:
            for ddef in users:
                _point_disks(ddef, {target: base})
            self.save_host_path(overlay).unlink(missing_ok=True)
        if obj.persistent:
            self.save(obj)

    def domain_snapshot_has_metadata(self, snap: Snap, flags: int = 0) -> int:
        self.check_flags(flags, 0, "qemuDomainSnapshotHasMetadata")
        self._snap_lookup(snap)
        return 1

    # -- the domain's side -------------------------------------------------------------------

    def snapshot_count(self, obj: DomainObj) -> int:
        return len(self.snaps_of(obj).items)

    def domain_undefine_flags(self, dom: Dom, flags: int = 0) -> None:
        """qemuDomainUndefineFlags: a shut-off domain's snapshots block it unless discarded."""
        obj = self.find(dom)
        count = self.snapshot_count(obj)
        if obj.persistent and not obj.active and count:
            if not flags & UNDEFINE_SNAPSHOTS_METADATA:
                raise self.error(
                    ErrorCode.OPERATION_INVALID,
                    f"cannot delete inactive domain with {count} snapshots",
                )
            self.snapshot_lists().pop(obj.uuid, None)
            self._snap_persist(obj)
        super().domain_undefine_flags(dom, flags)  # type: ignore[misc]


_REDEFINE_STATES = ("running", "paused", "shutoff", "shutdown", "crashed", "disk-snapshot")
_SNAP_STATES = {
    DomainState.RUNNING: "running",
    DomainState.PAUSED: "paused",
    DomainState.SHUTOFF: "shutoff",
    DomainState.SHUTDOWN: "shutdown",
    DomainState.CRASHED: "crashed",
}


def disk_format(elem: ET.Element) -> str | None:
    """The disk's image format after qemu's post-parse: raw unless <driver type> says
    otherwise; None for a pool volume (the pool decides)."""
    driver = elem.find("driver")
    fmt = driver.get("type") if driver is not None else None
    if fmt:
        return fmt
    return None if elem.get("type") == "volume" else "raw"


def _disk_source(elem: ET.Element) -> str | None:
    src = elem.find("source")
    if src is None:
        return None
    for key in ("file", "dev", "dir", "name", "volume"):
        if src.get(key):
            return src.get(key)
    return None


@dataclass(slots=True)
class _DiskRequest:
    location: str  # "" (default), "no", "internal", "external", "manual"
    path: str | None
    fmt: str | None


@dataclass(slots=True)
class _SnapDisk:
    target: str
    location: str
    elem: ET.Element
    path: str | None  # the external overlay
    fmt: str | None


def _memory_file(elem: ET.Element) -> str | None:
    mem = elem.find("memory")
    if mem is None or mem.get("snapshot") != "external":
        return None
    return mem.get("file")


def _src(elem: ET.Element) -> str | None:
    src = elem.find("source")
    return src.get("file") if src is not None else None


def _parse_locations(xml: str) -> tuple[str, str | None, dict[str, _DiskRequest]]:
    """virDomainSnapshotDefParse's <memory snapshot=... file=...> and <disks> requests."""
    root = SafeET.fromstring(xml)
    mem = root.find("memory")
    memory = (mem.get("snapshot") or "") if mem is not None else ""
    memory_file = mem.get("file") if mem is not None else None
    disks: dict[str, _DiskRequest] = {}
    for disk in root.findall("disks/disk"):
        name = disk.get("name", "")
        if name in disks:
            raise _snap_conf_error(f"disk '{name}' specified twice")
        driver = disk.find("driver")
        fmt = driver.get("type") if driver is not None else None
        path = _src(disk)
        location = disk.get("snapshot") or ("external" if path or fmt else "")
        disks[name] = _DiskRequest(location, path, fmt)
    return memory, memory_file, disks


def _uses(ddef: DomainDef, target: str, path: str) -> bool:
    disk = devices.find_disk(ddef, target)
    return disk is not None and _disk_source(disk) == path


def _snap_error(code: ErrorCode, text: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.DOMAIN_SNAPSHOT, text)


def _check_parent(snaps: SnapshotList, name: str, parent: str | None) -> None:
    """virDomainMomentCheckCycles."""
    if parent is None:
        return
    if parent == name:
        raise _snap_error(ErrorCode.INVALID_ARG, f"cannot set moment {name} as its own parent")
    other = snaps.items.get(parent)
    if other is None:
        raise _snap_error(ErrorCode.INVALID_ARG, f"parent {parent} for moment {name} not found")
    while other is not None and other.parent is not None:
        if other.parent == name:
            raise _snap_error(
                ErrorCode.INVALID_ARG, f"parent {other.name} would create cycle to {name}"
            )
        other = snaps.items.get(other.parent)


def _snap_conf_error(text: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_SNAPSHOT, text)


def _point_disks(ddef: DomainDef, targets: dict[str, tuple[str | None, str | None]]) -> None:
    """Make each named disk use its new image (a qcow2 overlay, or a committed base)."""
    for elem in ddef.devices.findall("disk"):
        target = devices.disk_target(elem)
        if target not in targets:
            continue
        path, fmt = targets[target]
        src = elem.find("source")
        if src is None:
            src = ET.SubElement(elem, "source")
        if path is not None:
            src.set("file", path)
        driver = elem.find("driver")
        if driver is None:
            driver = ET.Element("driver", {"name": "qemu"})
            elem.insert(0, driver)
        if fmt:
            driver.set("type", fmt)
        elif "type" in driver.attrib:
            del driver.attrib["type"]


def _format_stored(uuid: bytes, snaps: SnapshotList) -> str:
    head = f"<snapshots uuid='{domxml.uuid_str(uuid)}'"
    if snaps.current is not None:
        head += f" current='{_attr(snaps.current)}'"
    body = [format_snapshot(s) for s in snaps.items.values()]
    return head + ">\n" + "".join(body) + "</snapshots>\n"


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace("'", "&apos;")
        .replace('"', "&quot;")
    )
