"""Domain snapshots of the QEMU hosts, with libvirt 9.0's qemu driver rules, persistent.

The snapshot model, listing and XML are the test driver's (``snapshots.py``); this mixin
adds what ``src/qemu/qemu_snapshot.c`` does differently:

* **create** takes *internal* snapshots only (``savevm`` for a running or paused domain,
  ``qemu-img snapshot -c`` for a shut-off one), so every disk selected must be a local
  file or block device in **qcow2** format (a disk without ``<driver type=...>`` is raw,
  qemu's default, and is refused with libvirt's text); a running domain is paused for the
  snapshot and resumed (SUSPENDED PAUSED, RESUMED UNPAUSED), ``--halt`` stops it instead
  (STOPPED FROM_SNAPSHOT).  External (disk-only or external memory) snapshots are refused.
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
import uuid as uuid_mod
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import defusedxml.ElementTree as SafeET
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import devices, domxml
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


class QemuSnapshots(TestSnapshots):
    """The snapshot members of a QEMU host (see the module docstring)."""

    snap_store: DomainStore

    if TYPE_CHECKING:  # provided by Driver / QemuDriver / QemuSave

        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...
        def parse(self, xml: str) -> DomainDef: ...
        def has_managed_save(self, obj: DomainObj) -> bool: ...

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
                (d.get("name", ""), d.get("snapshot", "internal"))
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
        memory, disk_requests = _parse_locations(xml_desc)
        if flags & CREATE_REDEFINE:
            raise self.error(ErrorCode.NO_SUPPORT, "snapshot redefinition")
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
        if flags & CREATE_LIVE:  # only external full-system snapshots may stay live
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "live snapshot creation is supported only during full system snapshots",
            )
        state = _SNAP_STATES.get(DomainState(obj.state), "shutoff")
        if flags & CREATE_DISK_ONLY or memory == "external" or "external" in disk_requests.values():
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "external snapshots are not supported by this simulated host "
                "(internal snapshots of qcow2 disks are)",
            )
        if obj.active and memory == "no":
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "internal snapshot of a running VM must include the memory state",
            )
        taken = plain_definition(obj.current)
        disks = self._snap_align_disks(taken, disk_requests)
        self._snap_prepare(obj, taken, disks, with_memory=obj.active)
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
            disks=[(d[0], d[1]) for d in disks],
        )
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

    def _snap_align_disks(self, ddef: DomainDef, requests: dict[str, str]) -> list[tuple]:
        """virDomainSnapshotAlignDisks(INTERNAL): (target, location, elem) per domain disk."""
        disks = [(devices.disk_target(d) or "", d) for d in ddef.devices.findall("disk")]
        targets = {t for t, _ in disks}
        for requested in requests:
            if requested not in targets:
                raise LibvirtError.make(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    ErrorDomain.DOMAIN_SNAPSHOT,
                    f"no disk named '{requested}'",
                )
        out = []
        for target, elem in disks:
            location = requests.get(target) or ""
            if location not in ("", "no", "internal"):
                raise LibvirtError.make(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    ErrorDomain.DOMAIN_SNAPSHOT,
                    f"disk '{target}' must use snapshot mode 'internal'",
                )
            if not location:
                if _disk_source(elem) is None:
                    location = "no"  # empty drives are never snapshotted
                else:
                    location = elem.get("snapshot") or "internal"
            out.append((target, location, elem))
        return out

    def _snap_prepare(
        self, obj: DomainObj, ddef: DomainDef, disks: list[tuple], *, with_memory: bool
    ) -> None:
        """qemuSnapshotPrepare for internal snapshots."""
        found_internal = forbid_internal = False
        for target, location, elem in disks:
            if location == "internal":
                found_internal = True
                kind = elem.get("type", "file")
                if not obj.active and kind not in LOCAL_TYPES:
                    if kind == "network":
                        protocol = elem.find("source")
                        proto = protocol.get("protocol", "none") if protocol is not None else "none"
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
                        f"internal snapshot for disk {target} unsupported for storage type {fmt}",
                    )
            elif _disk_source(elem) is not None and elem.find("readonly") is None:
                forbid_internal = True
        if not found_internal and not with_memory:
            raise self.error(ErrorCode.CONFIG_UNSUPPORTED, "nothing selected for snapshot")
        if (with_memory and not found_internal) or (found_internal and forbid_internal):
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED,
                "internal and full system snapshots require all disks to be selected for snapshot",
            )
        os_elem = ddef.tree.find("os")
        loader = os_elem.find("loader") if os_elem is not None else None
        if found_internal and loader is not None and loader.get("type") == "pflash":
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                "internal snapshots of a VM with pflash based firmware are not supported",
            )

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
        self.check_flags(
            flags,
            DELETE_CHILDREN | DELETE_METADATA_ONLY | DELETE_CHILDREN_ONLY,
            "qemuSnapshotDelete",
        )
        obj, _snaps, _found = self._snap_lookup(snap)
        super().domain_snapshot_delete(snap, flags)
        self._snap_persist(obj)

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


def _parse_locations(xml: str) -> tuple[str, dict[str, str]]:
    """The <memory snapshot=...> and per-disk locations a snapshot request asks for."""
    root = SafeET.fromstring(xml)
    mem = root.find("memory")
    memory = (mem.get("snapshot") or "") if mem is not None else ""
    disks = {}
    for disk in root.findall("disks/disk"):
        disks[disk.get("name", "")] = disk.get("snapshot") or (
            "external" if disk.find("source") is not None else ""
        )
    return memory, disks


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
