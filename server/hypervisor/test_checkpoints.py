"""Domain checkpoints of ``test:///default``, as libvirt 9.0's test driver keeps them.

``testDomainCheckpointCreateXML`` and friends (src/test/test_driver.c) with the
checkpoint parser and formatter of src/conf/checkpoint_conf.c: a checkpoint needs a running
domain without snapshots (and a snapshot then needs a domain without checkpoints); its
name defaults to the creation time in seconds; without ``<disks>`` every writable disk
with a source gets a ``bitmap`` named after the checkpoint, the others ``checkpoint='no'``;
with ``<disks>``, the disks not named get ``no``. The new checkpoint's parent is the current
one and it becomes current. Deleting moves the children to the parent (or takes them along
with ``--children``/``--children-only``). ``--size`` only checks that the domain runs: the
test driver never marks its fake size valid, so no ``size=`` is printed. Redefinition
(``--redefine``) is not implemented here (NO_SUPPORT).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.snapshots import (
    CREATE_ATOMIC,
    CREATE_CURRENT,
    CREATE_HALT,
    CREATE_LIVE,
    CREATE_QUIESCE,
    CREATE_REDEFINE,
    CREATE_VALIDATE,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj
    from virtwire.server.hypervisor.snapshots import SnapshotList

__all__ = ["TestCheckpoints"]

Dom = rp.RemoteNonnullDomain
Chk = rp.RemoteNonnullDomainCheckpoint

# virDomainCheckpointCreateFlags
CHK_CREATE_REDEFINE, CHK_CREATE_QUIESCE = 0x1, 0x2
# virDomainCheckpointListFlags
CHK_LIST_ROOTS = CHK_LIST_DESCENDANTS = 0x1
CHK_LIST_TOPOLOGICAL, CHK_LIST_LEAVES, CHK_LIST_NO_LEAVES = 0x2, 0x4, 0x8
CHK_LIST_ALL = 0xF
# virDomainCheckpointXMLFlags
CHK_XML_SECURE, CHK_XML_NO_DOMAIN, CHK_XML_SIZE = 0x1, 0x2, 0x4
# virDomainCheckpointDeleteFlags
CHK_DELETE_CHILDREN, CHK_DELETE_METADATA_ONLY, CHK_DELETE_CHILDREN_ONLY = 0x1, 0x2, 0x4

CHK_TYPE_NONE, CHK_TYPE_BITMAP = "no", "bitmap"
SNAPSHOT_CREATE_FLAGS = (
    CREATE_REDEFINE | CREATE_CURRENT | CREATE_HALT | CREATE_QUIESCE | CREATE_ATOMIC
    | CREATE_LIVE | CREATE_VALIDATE
)  # fmt: skip


@dataclass(slots=True)
class CheckpointDisk:
    name: str
    kind: str | None  # "no", "bitmap" (None: the default, printed without checkpoint=)
    bitmap: str | None = None


@dataclass(slots=True)
class Checkpoint:
    name: str
    description: str | None
    created: int
    parent: str | None
    disks: list[CheckpointDisk]
    domain: DomainDef | None  # a redefinition may come without its domain


@dataclass(slots=True)
class CheckpointList:
    items: dict[str, Checkpoint] = field(default_factory=dict)
    current: str | None = None

    def children(self, name: str | None) -> list[Checkpoint]:
        return [c for c in self.items.values() if c.parent == name]

    def descendants(self, name: str) -> Iterator[Checkpoint]:
        for child in self.children(name):
            yield child
            yield from self.descendants(child.name)


def _chk_conf_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.DOMAIN_CHECKPOINT, detail)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _escape(text).replace("'", "&apos;")


def parse_checkpoint_root(xml: str) -> ET.Element:
    root = domxml.parse_document(xml, "domain_checkpoint")
    if root.tag != "domaincheckpoint":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"expecting root element of 'domaincheckpoint', not '{root.tag}'",
        )
    return root


def parse_checkpoint(root: ET.Element) -> tuple[str | None, str | None, list[CheckpointDisk]]:
    """virDomainCheckpointDefParse's common part: name, description, disks."""
    name = root.findtext("name")
    description = root.findtext("description")
    disks = []
    found = root.find("disks")
    for elem in list(found) if found is not None else []:
        kind = elem.get("checkpoint") or CHK_TYPE_BITMAP
        disks.append(CheckpointDisk(elem.get("name") or "", kind, elem.get("bitmap")))
    return name, description, disks


def _disk_of(domain: DomainDef, name: str) -> ET.Element | None:
    """virDomainDiskByName: by target, or by source path."""
    for disk in domain.devices.findall("disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == name:
            return disk
    for disk in domain.devices.findall("disk"):
        source = disk.find("source")
        if source is not None and name in (source.get("file"), source.get("dev")):
            return disk
    return None


def _empty_or_readonly(disk: ET.Element) -> bool:
    source = disk.find("source")
    has_source = source is not None and any(
        source.get(a) for a in ("file", "dev", "dir", "name", "volume")
    )
    return not has_source or disk.find("readonly") is not None


def align_disks(name: str, domain: DomainDef, asked: list[CheckpointDisk]) -> list[CheckpointDisk]:
    """virDomainCheckpointAlignDisks + virDomainCheckpointDefAssignBitmapNames."""
    disks = domain.devices.findall("disk")
    if len(asked) > len(disks):
        raise _chk_conf_error(
            ErrorCode.CONFIG_UNSUPPORTED, "too many disk checkpoint requests for domain"
        )
    if not disks:
        raise _chk_conf_error(
            ErrorCode.CONFIG_UNSUPPORTED,
            "domain must have at least one disk to perform checkpoints",
        )
    default = CHK_TYPE_BITMAP if not asked else CHK_TYPE_NONE
    by_dst: dict[str, CheckpointDisk] = {}
    for req in asked:
        disk = _disk_of(domain, req.name)
        if disk is None:
            raise _chk_conf_error(ErrorCode.CONFIG_UNSUPPORTED, f"no disk named '{req.name}'")
        dst = disk.find("target").get("dev")  # type: ignore[union-attr]
        if dst in by_dst:
            raise _chk_conf_error(
                ErrorCode.CONFIG_UNSUPPORTED, f"disk '{req.name}' specified twice"
            )
        if _empty_or_readonly(disk) and req.kind != CHK_TYPE_NONE:
            raise _chk_conf_error(
                ErrorCode.CONFIG_UNSUPPORTED, f"disk '{req.name}' is empty or readonly"
            )
        by_dst[dst or ""] = CheckpointDisk(dst or "", req.kind, req.bitmap)
    out = []
    for disk in disks:
        target = disk.find("target")
        dst = target.get("dev") if target is not None else ""
        if dst in by_dst:
            out.append(by_dst[dst or ""])
            continue
        kind = CHK_TYPE_NONE if _empty_or_readonly(disk) else default
        out.append(CheckpointDisk(dst or "", kind))
    for disk_def in out:
        if disk_def.kind == CHK_TYPE_BITMAP and not disk_def.bitmap:
            disk_def.bitmap = name
    return out


def format_checkpoint(chk: Checkpoint, flags: int) -> str:
    """virDomainCheckpointDefFormat."""
    out = ["<domaincheckpoint>", f"  <name>{_escape(chk.name)}</name>"]
    if chk.description is not None:
        out.append(f"  <description>{_escape(chk.description)}</description>")
    if chk.parent is not None:
        out += ["  <parent>", f"    <name>{_escape(chk.parent)}</name>", "  </parent>"]
    if chk.created:
        out.append(f"  <creationTime>{chk.created}</creationTime>")
    if chk.disks:
        out.append("  <disks>")
        for disk in chk.disks:
            line = f"    <disk name='{_attr(disk.name)}'"
            if disk.kind:
                line += f" checkpoint='{disk.kind}'"
            if disk.bitmap:
                line += f" bitmap='{_attr(disk.bitmap)}'"
            out.append(line + "/>")
        out.append("  </disks>")
    if chk.domain is not None and not flags & CHK_XML_NO_DOMAIN:
        chk.domain.sync_tree()
        dom_xml = domxml.format_xml(chk.domain.tree).rstrip("\n")
        out += ["  " + line for line in dom_xml.split("\n")]
    out.append("</domaincheckpoint>")
    return "\n".join(out) + "\n"


class TestCheckpoints:
    """The test driver's checkpoint members (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver / TestDriver / TestSnapshots

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def not_running(self) -> LibvirtError: ...
        def snaps_of(self, obj: DomainObj) -> SnapshotList: ...

    chk_wall_s = staticmethod(lambda: int(time.time()))

    def chk_list_of(self, obj: DomainObj) -> CheckpointList:
        lists = self.__dict__.setdefault("_checkpoint_lists", {})
        return lists.setdefault(obj.uuid, CheckpointList())

    def _chk_find(self, chk: Chk) -> tuple[DomainObj, CheckpointList, Checkpoint]:
        obj = self.find(chk.dom)
        chks = self.chk_list_of(obj)
        found = chks.items.get(chk.name)
        if found is None:
            raise self.error(
                ErrorCode.NO_DOMAIN_CHECKPOINT,
                f"no domain checkpoint with matching name '{chk.name}'",
            )
        return obj, chks, found

    @staticmethod
    def _chk_handle(obj: DomainObj, name: str) -> Chk:
        return Chk(name=name, dom=obj.handle())

    # -- snapshots and checkpoints exclude each other ------------------------------------

    def domain_snapshot_create_xml(self, dom: Dom, xml_desc: str, flags: int = 0) -> object:
        obj = self.find(dom)
        if self.chk_list_of(obj).items:
            # testDomainSnapshotCreateXML checks this right after its flags
            self.check_flags(flags, SNAPSHOT_CREATE_FLAGS, "testDomainSnapshotCreateXML")
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "cannot create snapshot while checkpoint exists"
            )
        return super().domain_snapshot_create_xml(dom, xml_desc, flags)  # type: ignore[misc]

    # -- create ----------------------------------------------------------------------------

    def domain_checkpoint_create_xml(self, dom: Dom, xml_desc: str, flags: int = 0) -> Chk:
        self.check_flags(
            flags, CHK_CREATE_REDEFINE | CHK_CREATE_QUIESCE, "testDomainCheckpointCreateXML"
        )
        obj = self.find(dom)
        if self.snaps_of(obj).items:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "cannot create checkpoint while snapshot exists"
            )
        if not obj.active:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "cannot create checkpoint for inactive domain"
            )
        root = parse_checkpoint_root(xml_desc)
        if flags & CHK_CREATE_REDEFINE:
            return self._chk_redefine(obj, root)
        name, description, asked = parse_checkpoint(root)
        created = self.chk_wall_s()
        name = name if name is not None else str(created)
        domain = obj.current.copy()
        disks = align_disks(name, domain, asked)
        chks = self.chk_list_of(obj)
        if name in chks.items:
            raise LibvirtError.make(
                ErrorCode.OPERATION_FAILED,
                ErrorDomain.DOMAIN,
                f"domain moment {name} already exists",
            )
        chks.items[name] = Checkpoint(name, description, created, chks.current, disks, domain)
        chks.current = name
        return self._chk_handle(obj, name)

    def _chk_redefine(self, obj: DomainObj, root: ET.Element) -> Chk:
        """virDomainCheckpointRedefinePrep + RedefineCommit (the cycle check left out)."""
        name, description, asked = parse_checkpoint(root)
        if name is None:
            raise _chk_conf_error(ErrorCode.XML_ERROR, "a redefined checkpoint must have a name")
        created_text = (root.findtext("creationTime") or "").strip()
        if not created_text.lstrip("-").isdigit():
            raise _chk_conf_error(
                ErrorCode.INTERNAL_ERROR, "missing creationTime from existing checkpoint"
            )
        parent = root.findtext("parent/name")
        domain = None
        dom_elem = root.find("domain")
        if dom_elem is not None:
            domain = self.parse(ET.tostring(dom_elem, encoding="unicode"))  # type: ignore[attr-defined]
            if domain.uuid != obj.uuid:
                raise LibvirtError.make(
                    ErrorCode.INVALID_ARG,
                    ErrorDomain.DOMAIN_CHECKPOINT,
                    f"definition for checkpoint {name} must use uuid {domxml.uuid_str(obj.uuid)}",
                )
            disks = align_disks(name, domain, asked)
        else:
            disks = asked
            for disk in disks:
                if disk.kind == CHK_TYPE_BITMAP and not disk.bitmap:
                    disk.bitmap = name
        chks = self.chk_list_of(obj)
        update_current = chks.current is None or (parent is not None and parent == chks.current)
        chks.items[name] = Checkpoint(name, description, int(created_text), parent, disks, domain)
        if update_current:
            chks.current = name
        return self._chk_handle(obj, name)

    # -- queries ---------------------------------------------------------------------------

    def _chk_filter(self, chks: CheckpointList, pool: list[Checkpoint], flags: int) -> list:
        leaves = flags & (CHK_LIST_LEAVES | CHK_LIST_NO_LEAVES)
        out = []
        for chk in pool:
            leaf = not chks.children(chk.name)
            if leaves == CHK_LIST_LEAVES and not leaf or leaves == CHK_LIST_NO_LEAVES and leaf:
                continue
            out.append(chk)
        return out

    def domain_list_all_checkpoints(
        self, dom: Dom, need_results: int, flags: int = 0
    ) -> tuple[list[Chk], int]:
        self.check_flags(flags, CHK_LIST_ALL, "testDomainListAllCheckpoints")
        obj = self.find(dom)
        chks = self.chk_list_of(obj)
        pool = chks.children(None) if flags & CHK_LIST_ROOTS else list(chks.items.values())
        found = self._chk_filter(chks, pool, flags)
        handles = [self._chk_handle(obj, c.name) for c in found] if need_results else []
        return handles, len(found)

    def domain_checkpoint_list_all_children(
        self, checkpoint: Chk, need_results: int, flags: int = 0
    ) -> tuple[list[Chk], int]:
        self.check_flags(flags, CHK_LIST_ALL, "testDomainCheckpointListAllChildren")
        obj, chks, found = self._chk_find(checkpoint)
        if flags & CHK_LIST_DESCENDANTS:
            pool = list(chks.descendants(found.name))
        else:
            pool = chks.children(found.name)
        kids = self._chk_filter(chks, pool, flags)
        handles = [self._chk_handle(obj, c.name) for c in kids] if need_results else []
        return handles, len(kids)

    def domain_checkpoint_lookup_by_name(self, dom: Dom, name: str, flags: int = 0) -> Chk:
        self.check_flags(flags, 0, "testDomainCheckpointLookupByName")
        obj, _chks, found = self._chk_find(Chk(name=name, dom=dom))
        return self._chk_handle(obj, found.name)

    def domain_checkpoint_get_parent(self, checkpoint: Chk, flags: int = 0) -> Chk:
        self.check_flags(flags, 0, "testDomainCheckpointGetParent")
        obj, _chks, found = self._chk_find(checkpoint)
        if found.parent is None:
            raise self.error(
                ErrorCode.NO_DOMAIN_CHECKPOINT,
                f"checkpoint '{found.name}' does not have a parent",
            )
        return self._chk_handle(obj, found.parent)

    def domain_checkpoint_get_xml_desc(self, checkpoint: Chk, flags: int = 0) -> str:
        self.check_flags(
            flags,
            CHK_XML_SECURE | CHK_XML_NO_DOMAIN | CHK_XML_SIZE,
            "testDomainCheckpointGetXMLDesc",
        )
        obj, _chks, found = self._chk_find(checkpoint)
        if flags & CHK_XML_SIZE and not obj.active:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is not running")
        return format_checkpoint(found, flags)

    # -- delete ----------------------------------------------------------------------------

    def domain_checkpoint_delete(self, checkpoint: Chk, flags: int = 0) -> None:
        self.check_flags(
            flags,
            CHK_DELETE_CHILDREN | CHK_DELETE_METADATA_ONLY | CHK_DELETE_CHILDREN_ONLY,
            "testDomainCheckpointDelete",
        )
        _obj, chks, found = self._chk_find(checkpoint)
        if flags & (CHK_DELETE_CHILDREN | CHK_DELETE_CHILDREN_ONLY):
            gone = [c.name for c in chks.descendants(found.name)]
            for name in gone:
                del chks.items[name]
            if chks.current in gone:
                chks.current = found.name
        else:
            for child in chks.children(found.name):
                child.parent = found.parent
        if not flags & CHK_DELETE_CHILDREN_ONLY:
            if chks.current == found.name:
                chks.current = found.parent
            del chks.items[found.name]
