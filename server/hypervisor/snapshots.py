"""Domain snapshots of ``test:///default``, as libvirt 9.0's test driver keeps them.

Snapshots live in memory per domain (``testDomainSnapshotCreateXML`` and friends): each
records the domain's definition and state when it was taken, its parent (the current
snapshot at the time) and becomes the current one. Reverting replaces the domain's
definition and state with the snapshot's, raising the test driver's lifecycle events
(``STOPPED FROM_SNAPSHOT``, ``STARTED FROM_SNAPSHOT``, ``SUSPENDED FROM_SNAPSHOT``);
deleting can take the descendants along (``--children``) or only them
(``--children-only``); the children of a deleted snapshot move to its parent.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.model import DomainState

if TYPE_CHECKING:
    from collections.abc import Iterator

    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["TestSnapshots"]

Dom = rp.RemoteNonnullDomain
Snap = rp.RemoteNonnullDomainSnapshot

# virDomainSnapshotCreateFlags
CREATE_REDEFINE, CREATE_CURRENT, CREATE_NO_METADATA, CREATE_HALT = 0x1, 0x2, 0x4, 0x8
CREATE_DISK_ONLY, CREATE_REUSE_EXT, CREATE_QUIESCE, CREATE_ATOMIC = 0x10, 0x20, 0x40, 0x80
CREATE_LIVE, CREATE_VALIDATE = 0x100, 0x200
# virDomainSnapshotListFlags
LIST_ROOTS = LIST_DESCENDANTS = 0x1
LIST_METADATA, LIST_LEAVES, LIST_NO_LEAVES, LIST_NO_METADATA = 0x2, 0x4, 0x8, 0x10
LIST_INACTIVE, LIST_ACTIVE, LIST_DISK_ONLY, LIST_INTERNAL = 0x20, 0x40, 0x80, 0x100
LIST_EXTERNAL, LIST_TOPOLOGICAL = 0x200, 0x400
LIST_ALL = 0x7FF
# virDomainSnapshotRevertFlags / DeleteFlags
REVERT_RUNNING, REVERT_PAUSED, REVERT_FORCE = 0x1, 0x2, 0x4
DELETE_CHILDREN, DELETE_METADATA_ONLY, DELETE_CHILDREN_ONLY = 0x1, 0x2, 0x4
XML_SECURE = 0x1

# lifecycle events and reasons "from snapshot"
EV_STARTED, EV_SUSPENDED, EV_STOPPED = 2, 3, 5
STARTED_FROM_SNAPSHOT, SUSPENDED_FROM_SNAPSHOT, STOPPED_FROM_SNAPSHOT = 3, 5, 6
RUNNING_FROM_SNAPSHOT, SHUTOFF_FROM_SNAPSHOT, PAUSED_FROM_SNAPSHOT = 4, 7, 7

# virDomainSnapshotState names a redefinition may carry (not "nostate")
SNAPSHOT_STATES = (
    "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended",
    "disk-snapshot",
)  # fmt: skip

_STATE_NAMES = {
    DomainState.RUNNING: "running",
    DomainState.PAUSED: "paused",
    DomainState.SHUTOFF: "shutoff",
}


@dataclass(slots=True)
class Snapshot:
    name: str
    description: str | None
    state: str
    created: int
    parent: str | None
    domain: DomainDef
    # (target, location, external file) per disk as the QEMU host aligned them; None:
    # every disk internal (the test driver)
    disks: list[tuple[str, str, str | None]] | None = None
    memory_file: str | None = None  # an external memory image (QEMU hosts)

    @property
    def active(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def external(self) -> bool:
        """virDomainSnapshotDefIsExternal: external memory or any external disk."""
        if self.memory_file is not None:
            return True
        return any(loc == "external" for _n, loc, _p in self.disks or [])


STATUS_FILTERS = LIST_INACTIVE | LIST_ACTIVE | LIST_DISK_ONLY
LOCATION_FILTERS = LIST_INTERNAL | LIST_EXTERNAL


def _passes_filters(snap: Snapshot, flags: int) -> bool:
    """virDomainSnapshotFilter; a whole group of filters set is no filter."""
    if flags & STATUS_FILTERS == STATUS_FILTERS:
        flags &= ~STATUS_FILTERS
    if flags & LOCATION_FILTERS == LOCATION_FILTERS:
        flags &= ~LOCATION_FILTERS
    if flags & STATUS_FILTERS:
        if not flags & LIST_INACTIVE and snap.state == "shutoff":
            return False
        if not flags & LIST_DISK_ONLY and snap.state == "disk-snapshot":
            return False
        if not flags & LIST_ACTIVE and snap.state not in ("shutoff", "disk-snapshot"):
            return False
    if flags & LIST_INTERNAL and snap.external:
        return False
    return not (flags & LIST_EXTERNAL and not snap.external)


@dataclass(slots=True)
class SnapshotList:
    items: dict[str, Snapshot]
    current: str | None = None

    def children(self, name: str | None) -> list[Snapshot]:
        return [s for s in self.items.values() if s.parent == name]

    def descendants(self, name: str) -> Iterator[Snapshot]:
        for child in self.children(name):
            yield child
            yield from self.descendants(child.name)


class TestSnapshots:
    """The test driver's snapshot members (see the module docstring)."""

    # what virDomainSnapshotDelete accepts: no METADATA_ONLY in the test driver
    snapshot_delete_flags = DELETE_CHILDREN | DELETE_CHILDREN_ONLY

    if TYPE_CHECKING:  # provided by Driver / TestDriver
        fn_prefix: str

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def make_live(self, obj: DomainObj, ddef: DomainDef | None = None) -> None: ...
        def stop(self, obj: DomainObj, reason: int) -> None: ...
        def lifecycle(self, obj: DomainObj, event: int, detail: int) -> None: ...

    wall_s = staticmethod(lambda: int(time.time()))

    def snapshot_lists(self) -> dict[bytes, SnapshotList]:
        lists = self.__dict__.get("_snapshot_lists")
        if lists is None:
            lists = self.__dict__["_snapshot_lists"] = {}
        return lists

    def snaps_of(self, obj: DomainObj) -> SnapshotList:
        return self.snapshot_lists().setdefault(obj.uuid, SnapshotList({}))

    def _snap_lookup(self, snap: Snap) -> tuple[DomainObj, SnapshotList, Snapshot]:
        obj = self.find(snap.dom)
        snaps = self.snaps_of(obj)
        found = snaps.items.get(snap.name)
        if found is None:
            raise self.error(
                ErrorCode.NO_DOMAIN_SNAPSHOT,
                f"no domain snapshot with matching name '{snap.name}'",
            )
        return obj, snaps, found

    @staticmethod
    def _snap_handle(obj: DomainObj, name: str) -> Snap:
        return Snap(name=name, dom=obj.handle())

    # -- create ------------------------------------------------------------------------------

    def domain_snapshot_create_xml(self, dom: Dom, xml_desc: str, flags: int = 0) -> Snap:
        self.check_flags(
            flags,
            CREATE_REDEFINE | CREATE_CURRENT | CREATE_HALT | CREATE_QUIESCE | CREATE_ATOMIC
            | CREATE_LIVE | CREATE_VALIDATE,
            f"{self.fn_prefix}DomainSnapshotCreateXML",
        )  # fmt: skip
        obj = self.find(dom)
        if flags & CREATE_REDEFINE:
            return self._snap_redefine(obj, xml_desc, flags)
        if not obj.persistent and flags & CREATE_HALT:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cannot halt after transient domain snapshot"
            )
        name, description = _parse_snapshot(xml_desc, self)
        created = self.wall_s()
        name = name or str(created)
        snaps = self.snaps_of(obj)
        if name in snaps.items:
            raise LibvirtError.make(
                ErrorCode.OPERATION_FAILED, self.error_domain_of_moments(),
                f"domain moment {name} already exists",
            )  # fmt: skip
        snap = Snapshot(
            name=name,
            description=description,
            state=_STATE_NAMES.get(obj.state, "shutoff"),
            created=created,
            parent=snaps.current,
            domain=obj.current.copy(),
        )
        snaps.items[name] = snap
        if flags & CREATE_HALT and obj.active:
            self.stop(obj, SHUTOFF_FROM_SNAPSHOT)
            self.lifecycle(obj, EV_STOPPED, STOPPED_FROM_SNAPSHOT)
        snaps.current = name
        return self._snap_handle(obj, name)

    def _snap_redefine(self, obj: DomainObj, xml: str, flags: int) -> Snap:
        """testDomainSnapshotRedefine: virDomainSnapshotDefParse (REDEFINE) and
        virDomainSnapshotRedefinePrep, the parts an internal snapshot has."""
        from virtwire.protocol.errors import ErrorDomain

        def conf(code: ErrorCode, detail: str) -> LibvirtError:
            return LibvirtError.make(code, ErrorDomain.DOMAIN_SNAPSHOT, detail)

        root = domxml.parse_document(xml, "domain_snapshot")
        if root.tag != "domainsnapshot":
            raise LibvirtError.make(
                ErrorCode.XML_ERROR,
                ErrorDomain.XML,
                f"expecting root element of 'domainsnapshot', not '{root.tag}'",
            )
        name = root.findtext("name")
        if name is None:
            raise conf(ErrorCode.XML_ERROR, "a redefined snapshot must have a name")
        created = (root.findtext("creationTime") or "").strip()
        if not created.lstrip("-").isdigit():
            raise conf(ErrorCode.INTERNAL_ERROR, "missing creationTime from existing snapshot")
        state = root.findtext("state")
        if state is None:
            raise conf(ErrorCode.XML_ERROR, "missing state from existing snapshot")
        if state not in SNAPSHOT_STATES:
            raise conf(
                ErrorCode.CONFIG_UNSUPPORTED, f"Invalid state '{state}' in domain snapshot XML"
            )
        snaps = self.snaps_of(obj)
        other = snaps.items.get(name)
        domain = None
        dom_elem = root.find("domain")
        if dom_elem is not None and dom_elem.get("type"):
            domain = self.parse(ET.tostring(dom_elem, encoding="unicode"))  # type: ignore[attr-defined]
            if domain.uuid != obj.uuid:
                raise conf(
                    ErrorCode.INVALID_ARG,
                    f"definition for snapshot {name} must use uuid {domxml.uuid_str(obj.uuid)}",
                )
        online = state in ("running", "paused")
        if other is not None and other.active != online:
            raise conf(
                ErrorCode.INVALID_ARG,
                f"cannot change between online and offline snapshot state in snapshot {name}",
            )
        if domain is None:
            if other is None:
                raise conf(ErrorCode.INTERNAL_ERROR, "missing domain in snapshot")
            domain = other.domain
        snap = Snapshot(
            name=name,
            description=root.findtext("description"),
            state=state,
            created=int(created),
            parent=root.findtext("parent/name"),
            domain=domain,
        )
        snaps.items[name] = snap
        if flags & CREATE_CURRENT:
            snaps.current = name
        return self._snap_handle(obj, name)

    @staticmethod
    def error_domain_of_moments() -> int:
        from virtwire.protocol.errors import ErrorDomain

        return ErrorDomain.DOMAIN

    # -- queries -----------------------------------------------------------------------------

    def _snap_filtered(self, snaps: list[Snapshot], all_snaps: SnapshotList, flags: int) -> list:
        out = []
        for s in snaps:
            leaf = not all_snaps.children(s.name)
            leaves = flags & (LIST_LEAVES | LIST_NO_LEAVES)
            if leaves == LIST_LEAVES and not leaf or leaves == LIST_NO_LEAVES and leaf:
                continue
            if flags & LIST_NO_METADATA and not flags & LIST_METADATA:
                continue
            if not _passes_filters(s, flags):
                continue
            out.append(s)
        return out

    def _snap_list(self, obj: DomainObj, flags: int) -> list[Snapshot]:
        snaps = self.snaps_of(obj)
        pool = list(snaps.items.values())
        if flags & LIST_ROOTS:
            pool = snaps.children(None)
        return self._snap_filtered(pool, snaps, flags)

    def _snap_children(
        self, obj: DomainObj, snaps: SnapshotList, snap: Snapshot, flags: int
    ) -> list:
        pool = (
            list(snaps.descendants(snap.name))
            if flags & LIST_DESCENDANTS
            else snaps.children(snap.name)
        )
        return self._snap_filtered(pool, snaps, flags)

    def domain_snapshot_num(self, dom: Dom, flags: int = 0) -> int:
        self.check_flags(flags, LIST_ALL, f"{self.fn_prefix}DomainSnapshotNum")
        return len(self._snap_list(self.find(dom), flags))

    def domain_snapshot_list_names(self, dom: Dom, maxnames: int, flags: int = 0) -> list[str]:
        self.check_flags(flags, LIST_ALL, f"{self.fn_prefix}DomainSnapshotListNames")
        return [s.name for s in self._snap_list(self.find(dom), flags)][: max(maxnames, 0)]

    def domain_list_all_snapshots(
        self, dom: Dom, need_results: int, flags: int = 0
    ) -> tuple[list[Snap], int]:
        self.check_flags(flags, LIST_ALL, f"{self.fn_prefix}DomainListAllSnapshots")
        obj = self.find(dom)
        found = self._snap_list(obj, flags)
        handles = [self._snap_handle(obj, s.name) for s in found] if need_results else []
        return handles, len(found)

    def domain_snapshot_num_children(self, snap: Snap, flags: int = 0) -> int:
        self.check_flags(flags, LIST_ALL, f"{self.fn_prefix}DomainSnapshotNumChildren")
        obj, snaps, found = self._snap_lookup(snap)
        return len(self._snap_children(obj, snaps, found, flags))

    def domain_snapshot_list_children_names(
        self, snap: Snap, maxnames: int, flags: int = 0
    ) -> list[str]:
        self.check_flags(flags, LIST_ALL, f"{self.fn_prefix}DomainSnapshotListChildrenNames")
        obj, snaps, found = self._snap_lookup(snap)
        return [s.name for s in self._snap_children(obj, snaps, found, flags)][: max(maxnames, 0)]

    def domain_snapshot_list_all_children(
        self, snapshot: Snap, need_results: int, flags: int = 0
    ) -> tuple[list[Snap], int]:
        self.check_flags(flags, LIST_ALL, f"{self.fn_prefix}DomainSnapshotListAllChildren")
        obj, snaps, found = self._snap_lookup(snapshot)
        kids = self._snap_children(obj, snaps, found, flags)
        handles = [self._snap_handle(obj, s.name) for s in kids] if need_results else []
        return handles, len(kids)

    def domain_snapshot_lookup_by_name(self, dom: Dom, name: str, flags: int = 0) -> Snap:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainSnapshotLookupByName")
        obj, _snaps, found = self._snap_lookup(Snap(name=name, dom=dom))
        return self._snap_handle(obj, found.name)

    def domain_has_current_snapshot(self, dom: Dom, flags: int = 0) -> int:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainHasCurrentSnapshot")
        return int(self.snaps_of(self.find(dom)).current is not None)

    def domain_snapshot_get_parent(self, snap: Snap, flags: int = 0) -> Snap:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainSnapshotGetParent")
        obj, _snaps, found = self._snap_lookup(snap)
        if found.parent is None:
            raise self.error(
                ErrorCode.NO_DOMAIN_SNAPSHOT, f"snapshot '{found.name}' does not have a parent"
            )
        return self._snap_handle(obj, found.parent)

    def domain_snapshot_current(self, dom: Dom, flags: int = 0) -> Snap:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainSnapshotCurrent")
        obj = self.find(dom)
        current = self.snaps_of(obj).current
        if current is None:
            raise self.error(
                ErrorCode.NO_DOMAIN_SNAPSHOT, "the domain does not have a current snapshot"
            )
        return self._snap_handle(obj, current)

    def domain_snapshot_is_current(self, snap: Snap, flags: int = 0) -> int:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainSnapshotIsCurrent")
        _obj, snaps, found = self._snap_lookup(snap)
        return int(snaps.current == found.name)

    def domain_snapshot_has_metadata(self, snap: Snap, flags: int = 0) -> int:
        self.check_flags(flags, 0, f"{self.fn_prefix}DomainSnapshotHasMetadata")
        self._snap_lookup(snap)
        return 1

    def domain_snapshot_get_xml_desc(self, snap: Snap, flags: int = 0) -> str:
        self.check_flags(flags, XML_SECURE, f"{self.fn_prefix}DomainSnapshotGetXMLDesc")
        _obj, _snaps, found = self._snap_lookup(snap)
        return format_snapshot(found)

    # -- revert and delete -------------------------------------------------------------------

    def domain_revert_to_snapshot(self, snap: Snap, flags: int = 0) -> None:
        self.check_flags(
            flags,
            REVERT_RUNNING | REVERT_PAUSED | REVERT_FORCE,
            f"{self.fn_prefix}DomainRevertToSnapshot",
        )
        obj, snaps, found = self._snap_lookup(snap)
        if not obj.persistent and not found.active and not flags & (REVERT_RUNNING | REVERT_PAUSED):
            raise self.error(
                ErrorCode.OPERATION_INVALID,
                "transient domain needs to request run or pause to revert to inactive snapshot",
            )
        snaps.current = None
        config = found.domain.copy()
        if found.active:
            if obj.active:
                self.stop(obj, SHUTOFF_FROM_SNAPSHOT)
                self.lifecycle(obj, EV_STOPPED, STOPPED_FROM_SNAPSHOT)
            obj.config = config
            self.make_live(obj)
            obj.state, obj.reason = DomainState.RUNNING, RUNNING_FROM_SNAPSHOT
            self.lifecycle(obj, EV_STARTED, STARTED_FROM_SNAPSHOT)
            if not flags & REVERT_RUNNING and (found.state == "paused" or flags & REVERT_PAUSED):
                obj.state, obj.reason = DomainState.PAUSED, PAUSED_FROM_SNAPSHOT
                self.lifecycle(obj, EV_SUSPENDED, SUSPENDED_FROM_SNAPSHOT)
        else:
            obj.config = config
            if obj.active:
                self.stop(obj, SHUTOFF_FROM_SNAPSHOT)
                self.lifecycle(obj, EV_STOPPED, STOPPED_FROM_SNAPSHOT)
            if flags & (REVERT_RUNNING | REVERT_PAUSED):
                # the test driver only raises the events here; the domain stays shut off
                self.lifecycle(obj, EV_STARTED, STARTED_FROM_SNAPSHOT)
                if flags & REVERT_PAUSED:
                    self.lifecycle(obj, EV_SUSPENDED, SUSPENDED_FROM_SNAPSHOT)
        snaps.current = found.name

    def domain_snapshot_delete(self, snap: Snap, flags: int = 0) -> None:
        self.check_flags(flags, self.snapshot_delete_flags, f"{self.fn_prefix}DomainSnapshotDelete")
        _obj, snaps, found = self._snap_lookup(snap)
        if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY):
            gone = [s.name for s in snaps.descendants(found.name)]
            for name in gone:
                del snaps.items[name]
            if snaps.current in gone:
                snaps.current = found.name
        else:
            for child in snaps.children(found.name):
                child.parent = found.parent
        if not flags & DELETE_CHILDREN_ONLY:
            if snaps.current == found.name:
                snaps.current = found.parent
            del snaps.items[found.name]


def _parse_snapshot(xml: str, driver: TestSnapshots) -> tuple[str | None, str | None]:
    """virDomainSnapshotDefParseString, the parts the test driver keeps: name, description."""
    try:
        root = domxml.parse_document(xml, "domain_snapshot")
    except LibvirtError as exc:  # libxml2's errors, in virXMLParse's domain for snapshots
        raise LibvirtError(
            exc.code, ErrorDomain.DOMAIN_SNAPSHOT, exc.message, str1=exc.str1, str2=exc.str2
        ) from None
    if root.tag != "domainsnapshot":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR, driver.error_domain_of_moments(), "domainsnapshot"
        )
    name = root.findtext("name")
    description = root.findtext("description")
    return (name.strip() or None) if name else None, description


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    """virBufferEscapeString in an attribute quoted with '."""
    return _escape(text).replace("'", "&apos;").replace('"', "&quot;")


def format_snapshot(snap: Snapshot) -> str:
    """virDomainSnapshotDefFormat for an internal snapshot of the test driver."""
    out = ["<domainsnapshot>", f"  <name>{_escape(snap.name)}</name>"]
    if snap.description is not None:
        out.append(f"  <description>{_escape(snap.description)}</description>")
    out.append(f"  <state>{snap.state}</state>")
    if snap.parent is not None:
        out += ["  <parent>", f"    <name>{_escape(snap.parent)}</name>", "  </parent>"]
    out.append(f"  <creationTime>{snap.created}</creationTime>")
    if snap.memory_file is not None:
        out.append(f"  <memory snapshot='external' file='{_escape_attr(snap.memory_file)}'/>")
    else:
        out.append(f"  <memory snapshot='{'internal' if snap.active else 'no'}'/>")
    out.append("  <disks>")
    for name, loc, path in snap.disks or []:
        if path is None:
            out.append(f"    <disk name='{_escape(name)}' snapshot='{loc}'/>")
            continue
        out += [
            f"    <disk name='{_escape(name)}' snapshot='{loc}' type='file'>",
            "      <driver type='qcow2'/>",
            f"      <source file='{_escape(path)}'/>",
            "    </disk>",
        ]
    for disk in snap.domain.devices.findall("disk") if snap.disks is None else []:
        target = disk.find("target")
        if target is not None and disk.get("device", "disk") in ("disk", "lun"):
            out.append(f"    <disk name='{target.get('dev')}' snapshot='internal'/>")
    out.append("  </disks>")
    snap.domain.sync_tree()
    dom_xml = domxml.format_xml(snap.domain.tree).rstrip("\n")
    out += ["  " + line for line in dom_xml.split("\n")]
    if snap.memory_file is not None:  # qemuDomainSaveCookie (no CPU, no slirp helper)
        out += ["  <cookie>", "  </cookie>"]
    out.append("</domainsnapshot>")
    return "\n".join(out) + "\n"
