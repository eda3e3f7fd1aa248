"""Domain checkpoints of the QEMU hosts, as libvirt 9.0's ``qemu_checkpoint.c`` keeps them.

A checkpoint records a point from which an incremental backup can start: QEMU adds a
dirty bitmap named after the checkpoint to every selected disk.  The qemu driver's rules:
the domain must be running (``cannot create checkpoint for inactive domain``), have a disk,
and every disk checkpointed with a bitmap must be **qcow2** (``checkpoint for disk vda
unsupported for storage type raw``); empty and read-only disks are left out.  The newest
checkpoint is the current one and the parent of the next; deleting one moves its children
to its parent (or takes them along with ``--children``), and needs a running domain unless
only the metadata goes.  ``checkpoint-dumpxml --size`` (qemuCheckpointGetXMLDescUpdateSize)
needs a running domain and gives ``size='N'`` only for a bitmap disk the domain still has
with the image the bitmap was made in (qemuBlockBitmapChainIsValid); N is what the guest
wrote since the checkpoint (stats.py's 96 KiB/s per disk, since the later of the
checkpoint and the domain's start), in whole 64 KiB bitmap granules.  A domain's
checkpoints are one XML document,
``<state>/checkpoint/<uuid>.xml``, replaced atomically and read back at daemon start.
"""

from __future__ import annotations

import logging
import time
import uuid as uuid_mod
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import defusedxml.ElementTree as SafeET
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import devices, domxml
from virtwire.server.hypervisor.model import DomainObj
from virtwire.server.hypervisor.persistence import DomainStore
from virtwire.server.hypervisor.qemu_snapshots import disk_format, plain_definition

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef

__all__ = ["Checkpoint", "QemuCheckpoints", "format_checkpoint"]

log = logging.getLogger("virtwire.server")

Dom = rp.RemoteNonnullDomain
Chk = rp.RemoteNonnullDomainCheckpoint

CHECKPOINT_DIR = "checkpoint"
# virDomainCheckpointCreateFlags, ListFlags, XMLFlags, DeleteFlags
CREATE_REDEFINE, CREATE_QUIESCE, CREATE_REDEFINE_VALIDATE = 0x1, 0x2, 0x4
LIST_ROOTS = LIST_DESCENDANTS = 0x1
LIST_TOPOLOGICAL, LIST_LEAVES, LIST_NO_LEAVES = 0x2, 0x4, 0x8
LIST_ALL = LIST_ROOTS | LIST_TOPOLOGICAL | LIST_LEAVES | LIST_NO_LEAVES
XML_SECURE, XML_NO_DOMAIN, XML_SIZE = 0x1, 0x2, 0x4
DELETE_CHILDREN, DELETE_METADATA_ONLY, DELETE_CHILDREN_ONLY = 0x1, 0x2, 0x4
UNDEFINE_CHECKPOINTS_METADATA = 0x10
BITMAP_GRANULARITY = 65536  # QEMU's default for a qcow2 image's dirty bitmaps
WRITE_BYTES_PER_S = 12 * 8192  # stats.QemuStats.block_counters: 12 writes of 8 KiB a second


@dataclass(slots=True)
class Checkpoint:
    name: str
    description: str | None
    created: int
    parent: str | None
    disks: list[tuple[str, str]]  # (target, "bitmap" | "no")
    domain: DomainDef


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


class QemuCheckpoints:
    """The checkpoint members of a QEMU host (see the module docstring)."""

    chk_store: DomainStore
    chk_lists: dict[bytes, CheckpointList]

    if TYPE_CHECKING:  # provided by Driver
        error_domain: ErrorDomain

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def parse(self, xml: str) -> DomainDef: ...
        def not_running(self) -> LibvirtError: ...
        def uptime_s(self, obj: DomainObj) -> int: ...  # stats.QemuStats

    wall_chk_s = staticmethod(lambda: int(time.time()))

    def init_qemu_checkpoints(self, state_dir: Path) -> None:
        self.chk_store = DomainStore(state_dir / CHECKPOINT_DIR)
        self.chk_lists = {}
        for path, text in self.chk_store.load_all():
            try:
                uuid, chks = self._chk_parse_stored(text)
            except (LibvirtError, ValueError, SyntaxError) as exc:
                log.error("ignoring unreadable checkpoint file %s: %s", path, exc)
                continue
            self.chk_lists[uuid] = chks

    def chks_of(self, obj: DomainObj) -> CheckpointList:
        return self.chk_lists.setdefault(obj.uuid, CheckpointList())

    def checkpoint_count(self, obj: DomainObj) -> int:
        return len(self.chks_of(obj).items)

    # -- persistence -------------------------------------------------------------------------

    def _chk_persist(self, obj: DomainObj) -> None:
        chks = self.chks_of(obj)
        name = domxml.uuid_str(obj.uuid)
        try:
            if not chks.items:
                self.chk_store.delete(name)
                return
            head = f"<checkpoints uuid='{name}'"
            if chks.current is not None:
                head += f" current='{_esc(chks.current)}'"
            body = "".join(format_checkpoint(c, 0) for c in chks.items.values())
            self.chk_store.save(name, f"{head}>\n{body}</checkpoints>\n")
        except OSError as exc:  # qemuCheckpointCreateFinalize's text
            raise self.error(
                ErrorCode.INTERNAL_ERROR,
                f"unable to save metadata for checkpoint {chks.current}: {exc.strerror or exc}",
            ) from None

    def _chk_parse_stored(self, text: str) -> tuple[bytes, CheckpointList]:
        root = SafeET.fromstring(text)
        chks = CheckpointList(current=root.get("current"))
        for elem in root.findall("domaincheckpoint"):
            dom_elem = elem.find("domain")
            if dom_elem is None:
                raise ValueError("checkpoint without a domain")
            chk = Checkpoint(
                name=elem.findtext("name", ""),
                description=elem.findtext("description"),
                created=int(elem.findtext("creationTime", "0")),
                parent=elem.findtext("parent/name"),
                disks=[
                    (d.get("name", ""), d.get("checkpoint", "no"))
                    for d in elem.findall("disks/disk")
                ],
                domain=self.parse(ET.tostring(dom_elem, encoding="unicode")),
            )
            chks.items[chk.name] = chk
        if chks.current not in chks.items:
            chks.current = None
        return uuid_mod.UUID(root.get("uuid", "")).bytes, chks

    # -- lookups -----------------------------------------------------------------------------

    def _chk_lookup(self, chk: Chk) -> tuple[DomainObj, CheckpointList, Checkpoint]:
        obj = self.find(chk.dom)
        chks = self.chks_of(obj)
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

    @staticmethod
    def _chk_filter(pool: list[Checkpoint], chks: CheckpointList, flags: int) -> list:
        leaves = flags & (LIST_LEAVES | LIST_NO_LEAVES)
        out = []
        for c in pool:
            leaf = not chks.children(c.name)
            if leaves == LIST_LEAVES and not leaf or leaves == LIST_NO_LEAVES and leaf:
                continue
            out.append(c)
        return out

    # -- create ------------------------------------------------------------------------------

    def domain_checkpoint_create_xml(self, dom: Dom, xml_desc: str, flags: int = 0) -> Chk:
        self.check_flags(
            flags, CREATE_REDEFINE | CREATE_REDEFINE_VALIDATE, "qemuCheckpointCreateXML"
        )
        obj = self.find(dom)
        if flags & CREATE_REDEFINE:
            raise self.error(ErrorCode.NO_SUPPORT, "checkpoint redefinition")
        if not obj.active:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "cannot create checkpoint for inactive domain"
            )
        name, description, requests = _parse_checkpoint(xml_desc)
        created = self.wall_chk_s()
        name = name or str(created)
        taken = plain_definition(obj.current)
        disks = self._chk_align(taken, requests)
        for target, kind, elem in disks:
            if kind != "bitmap":
                continue
            fmt = disk_format(elem) or "none"
            if fmt != "qcow2":
                raise self.error(
                    ErrorCode.CONFIG_UNSUPPORTED,
                    f"checkpoint for disk {target} unsupported for storage type {fmt}",
                )
        chks = self.chks_of(obj)
        if name in chks.items:
            raise LibvirtError.make(
                ErrorCode.OPERATION_FAILED,
                ErrorDomain.DOMAIN_CHECKPOINT,
                f"domain moment {name} already exists",
            )
        chk = Checkpoint(
            name, description, created, chks.current, [(t, k) for t, k, _e in disks], taken
        )
        previous = chks.current
        chks.items[name] = chk
        chks.current = name
        try:
            self._chk_persist(obj)
        except LibvirtError:
            del chks.items[name]
            chks.current = previous
            raise
        return self._chk_handle(obj, name)

    def _chk_align(self, ddef: DomainDef, requests: dict[str, str]) -> list[tuple]:
        """virDomainCheckpointAlignDisks: (target, "bitmap" | "no", elem) per disk."""
        disks = [(devices.disk_target(d) or "", d) for d in ddef.devices.findall("disk")]
        if len(requests) > len(disks):
            raise self._chk_conf_error("too many disk checkpoint requests for domain")
        if not disks:
            raise self._chk_conf_error("domain must have at least one disk to perform checkpoints")
        by_target = dict(disks)
        for requested, kind in requests.items():
            elem = by_target.get(requested)
            if elem is None:
                raise self._chk_conf_error(f"no disk named '{requested}'")
            if kind != "no" and (_empty(elem) or elem.find("readonly") is not None):
                raise self._chk_conf_error(f"disk '{requested}' is empty or readonly")
        default = "no" if requests else "bitmap"
        out = []
        for target, elem in disks:
            if target in requests:
                kind = requests[target] or "bitmap"
            elif _empty(elem) or elem.find("readonly") is not None:
                kind = "no"
            else:
                kind = default
            out.append((target, kind, elem))
        return out

    @staticmethod
    def _chk_conf_error(text: str) -> LibvirtError:
        return LibvirtError.make(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_CHECKPOINT, text)

    # -- queries -----------------------------------------------------------------------------

    def domain_list_all_checkpoints(
        self, dom: Dom, need_results: int, flags: int = 0
    ) -> tuple[list[Chk], int]:
        self.check_flags(flags, LIST_ALL, "qemuDomainListAllCheckpoints")
        obj = self.find(dom)
        chks = self.chks_of(obj)
        pool = chks.children(None) if flags & LIST_ROOTS else list(chks.items.values())
        found = self._chk_filter(pool, chks, flags)
        handles = [self._chk_handle(obj, c.name) for c in found] if need_results else []
        return handles, len(found)

    def domain_checkpoint_list_all_children(
        self, checkpoint: Chk, need_results: int, flags: int = 0
    ) -> tuple[list[Chk], int]:
        self.check_flags(
            flags,
            LIST_DESCENDANTS | LIST_TOPOLOGICAL | LIST_LEAVES | LIST_NO_LEAVES,
            "qemuDomainCheckpointListAllChildren",
        )
        obj, chks, found = self._chk_lookup(checkpoint)
        pool = (
            list(chks.descendants(found.name))
            if flags & LIST_DESCENDANTS
            else chks.children(found.name)
        )
        kids = self._chk_filter(pool, chks, flags)
        handles = [self._chk_handle(obj, c.name) for c in kids] if need_results else []
        return handles, len(kids)

    def domain_checkpoint_lookup_by_name(self, dom: Dom, name: str, flags: int = 0) -> Chk:
        self.check_flags(flags, 0, "qemuDomainCheckpointLookupByName")
        obj, _chks, found = self._chk_lookup(Chk(name=name, dom=dom))
        return self._chk_handle(obj, found.name)

    def domain_checkpoint_get_parent(self, checkpoint: Chk, flags: int = 0) -> Chk:
        self.check_flags(flags, 0, "qemuDomainCheckpointGetParent")
        obj, _chks, found = self._chk_lookup(checkpoint)
        if found.parent is None:
            raise self.error(
                ErrorCode.NO_DOMAIN_CHECKPOINT,
                f"checkpoint '{found.name}' does not have a parent",
            )
        return self._chk_handle(obj, found.parent)

    def domain_checkpoint_get_xml_desc(self, checkpoint: Chk, flags: int = 0) -> str:
        self.check_flags(
            flags, XML_SECURE | XML_NO_DOMAIN | XML_SIZE, "qemuDomainCheckpointGetXMLDesc"
        )
        obj, _chks, found = self._chk_lookup(checkpoint)
        sizes: dict[str, int] = {}
        if flags & XML_SIZE:
            if obj.live is None:  # virDomainObjCheckActive
                raise self.not_running()
            sizes = self._chk_sizes(obj, obj.live, found)
        return format_checkpoint(found, flags, sizes)

    def _chk_sizes(self, obj: DomainObj, live: DomainDef, chk: Checkpoint) -> dict[str, int]:
        """qemuCheckpointGetXMLDescUpdateSize: target → dirty bytes of the merged bitmap."""
        taken = {devices.disk_target(d): d for d in chk.domain.devices.findall("disk")}
        now = {devices.disk_target(d): d for d in live.devices.findall("disk")}
        written_s = max(min(self.wall_chk_s() - chk.created, self.uptime_s(obj)), 0)
        dirty = -(-written_s * WRITE_BYTES_PER_S // BITMAP_GRANULARITY) * BITMAP_GRANULARITY
        sizes = {}
        for target, kind in chk.disks:
            disk, then = now.get(target), taken.get(target)
            if kind != "bitmap" or disk is None or then is None:
                continue  # virDomainDiskByTarget found nothing
            if _image(disk) != _image(then) or disk_format(disk) != "qcow2":
                continue  # another image: no bitmap chain from its top
            sizes[target] = dirty
        return sizes

    # -- delete ------------------------------------------------------------------------------

    def domain_checkpoint_delete(self, checkpoint: Chk, flags: int = 0) -> None:
        self.check_flags(
            flags,
            DELETE_CHILDREN | DELETE_METADATA_ONLY | DELETE_CHILDREN_ONLY,
            "qemuCheckpointDelete",
        )
        obj = self.find(checkpoint.dom)
        if not flags & DELETE_METADATA_ONLY and not obj.active:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "cannot delete checkpoint for inactive domain"
            )
        _obj, chks, found = self._chk_lookup(checkpoint)
        if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY):
            gone = [c.name for c in chks.descendants(found.name)]
            for name in gone:
                del chks.items[name]
            if chks.current in gone:
                chks.current = found.name
        else:
            for child in chks.children(found.name):
                child.parent = found.parent
        if not flags & DELETE_CHILDREN_ONLY:
            if chks.current == found.name:
                chks.current = found.parent
            del chks.items[found.name]
        self._chk_persist(obj)

    # -- the domain's side -------------------------------------------------------------------

    def domain_undefine_flags(self, dom: Dom, flags: int = 0) -> None:
        obj = self.find(dom)
        count = self.checkpoint_count(obj)
        if obj.persistent and not obj.active and count:
            if not flags & UNDEFINE_CHECKPOINTS_METADATA:
                raise self.error(
                    ErrorCode.OPERATION_INVALID,
                    f"cannot delete inactive domain with {count} checkpoints",
                )
            self.chk_lists.pop(obj.uuid, None)
            self._chk_persist(obj)
        super().domain_undefine_flags(dom, flags)  # type: ignore[misc]


def _empty(elem: ET.Element) -> bool:
    src = elem.find("source")
    return src is None or not any(src.get(k) for k in ("file", "dev", "dir", "name", "volume"))


def _parse_checkpoint(xml: str) -> tuple[str | None, str | None, dict[str, str]]:
    """virDomainCheckpointDefParseString: name, description, <disks> requests."""
    try:
        root = SafeET.fromstring(xml)
    except Exception as exc:  # defusedxml raises several kinds
        raise LibvirtError.make(
            ErrorCode.XML_DETAIL, ErrorDomain.DOMAIN_CHECKPOINT, f"(domain_checkpoint): {exc}"
        ) from exc
    if root.tag != "domaincheckpoint":
        raise LibvirtError.make(
            ErrorCode.XML_ERROR, ErrorDomain.DOMAIN_CHECKPOINT, "domaincheckpoint"
        )
    name = (root.findtext("name") or "").strip() or None
    requests = {d.get("name", ""): d.get("checkpoint") or "" for d in root.findall("disks/disk")}
    return name, root.findtext("description"), requests


def _image(disk: ET.Element) -> tuple[str | None, ...]:
    """What identifies a disk's top image (its source)."""
    src = disk.find("source")
    keys = ("file", "dev", "dir", "name", "volume", "pool")
    return tuple(src.get(k) for k in keys) if src is not None else ()


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
    )


def format_checkpoint(chk: Checkpoint, flags: int, sizes: dict[str, int] | None = None) -> str:
    """virDomainCheckpointDefFormat (SIZE: ``sizes``' dirty bytes, where known)."""
    out = ["<domaincheckpoint>", f"  <name>{_esc(chk.name)}</name>"]
    if chk.description is not None:
        out.append(f"  <description>{_esc(chk.description)}</description>")
    if chk.parent is not None:
        out += ["  <parent>", f"    <name>{_esc(chk.parent)}</name>", "  </parent>"]
    out.append(f"  <creationTime>{chk.created}</creationTime>")
    out.append("  <disks>")
    for target, kind in chk.disks:
        if kind == "bitmap":
            known = (sizes or {}).get(target) if flags & XML_SIZE else None
            size = f" size='{known}'" if known is not None else ""
            out.append(
                f"    <disk name='{_esc(target)}' checkpoint='bitmap' bitmap='{_esc(chk.name)}'{size}/>"
            )
        else:
            out.append(f"    <disk name='{_esc(target)}' checkpoint='no'/>")
    out.append("  </disks>")
    if not flags & XML_NO_DOMAIN:
        chk.domain.sync_tree()
        dom_xml = domxml.format_xml(chk.domain.tree).rstrip("\n")
        out += ["  " + line for line in dom_xml.split("\n")]
    out.append("</domaincheckpoint>")
    return "\n".join(out) + "\n"
