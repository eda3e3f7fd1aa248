"""Save, restore and managed save on the QEMU hosts, as libvirt 9.0's qemu driver does them.

A save image is a real file in libvirt's own layout (``qemu_saveimage.c``): the 92-byte
``virQEMUSaveHeader`` (magic ``LibvirtQemudSave``, version 2, the XML's length, whether the
guest was running), the domain XML with its NUL, zero padding, then the memory state (here
a short QEMU migration-stream marker: there is no guest memory to keep).

**Paths are the simulated host's paths.**  libvirtd writes the file at the path the client
gives, on the host; a QEMU host here has a simulated root (``<state>/root``, the same one
its storage pools' volumes live in), so ``virsh save dom /tmp/dom.save`` writes
``<state>/root/tmp/dom.save`` and ``virsh restore /tmp/dom.save`` reads it back.  Paths are
normalised first (``..`` cannot climb out of the root, a relative path is taken from ``/``
as libvirtd's working directory), missing parent directories are created (a real host has
its ``/tmp``), and symbolic links are never followed.  The managed save image of a domain is
``/var/lib/libvirt/qemu/save/<name>.save`` in that root, as on a real system host.

Events and states follow qemuDomainSaveInternal and qemuSaveImageStartVM: a save of a
running guest pauses it (SUSPENDED PAUSED), then stops it (STOPPED SAVED, state
``shutoff (saved)``); a restore starts it paused (STARTED RESTORED) and resumes it (RESUMED
FROM_SNAPSHOT, state ``running (restored)``) or leaves it paused (SUSPENDED RESTORED).
Starting a domain that has a managed save image restores it instead of booting and removes
the image (``--force-boot`` discards it).
"""

from __future__ import annotations

import errno
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.driver import RESUMED, STARTED, STOPPED, SUSPENDED, SUSPENDED_PAUSED
from virtwire.server.hypervisor.model import DomainObj, DomainState, ListFlags
from virtwire.server.hypervisor.persistence import fsync_dir
from virtwire.server.hypervisor.qemu_snapshots import invalid_arg, plain_definition

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef

__all__ = ["QemuSave", "SaveImage", "read_image", "write_image"]

Dom = rp.RemoteNonnullDomain
log = logging.getLogger("virtwire.server")

SAVE_MAGIC = b"LibvirtQemudSave"
SAVE_PARTIAL = b"LibvirtQemudPart"
SAVE_VERSION = 2
HEADER = struct.Struct("=16s5I14I")  # virQEMUSaveHeader: magic, 5 fields, unused[14]
PAGE = 4096
MAX_XML = 16 * 1024 * 1024  # what libvirt reads of a save image's XML at most
QEMU_VM_MARKER = b"QEVM\x00\x00\x00\x03"  # QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION
MANAGED_SAVE_DIR = "/var/lib/libvirt/qemu/save"

# virDomainSaveRestoreFlags
SAVE_BYPASS_CACHE, SAVE_RUNNING, SAVE_PAUSED, SAVE_RESET_NVRAM = 0x1, 0x2, 0x4, 0x8
SAVE_IMAGE_XML_SECURE = 0x1
START_PAUSED, START_FORCE_BOOT = 0x1, 0x4
UNDEFINE_MANAGED_SAVE = 0x1
# lifecycle details and state reasons
STOPPED_SAVED, STARTED_RESTORED, SUSPENDED_RESTORED, RESUMED_FROM_SNAPSHOT = 4, 2, 4, 2
SHUTOFF_SAVED, RUNNING_RESTORED, PAUSED_SAVE, PAUSED_MIGRATION = 5, 3, 3, 2


@dataclass(slots=True)
class SaveImage:
    xml: str
    was_running: bool


def write_image(path: Path, image: SaveImage) -> None:
    """The image, atomically: temp file (never following links), fsync, rename, dir fsync."""
    xml = image.xml.encode("utf-8") + b"\0"
    head = HEADER.pack(SAVE_MAGIC, SAVE_VERSION, len(xml), int(image.was_running), 0, 0, *[0] * 14)
    body = head + xml
    body += b"\0" * (-len(body) % PAGE) + QEMU_VM_MARKER
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def read_image(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(HEADER.size + MAX_XML)


class QemuSave:
    """save / restore / managed save members of a QEMU host (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver / QemuDriver
        error_domain: ErrorDomain
        domains: dict[bytes, DomainObj]

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def parse(self, xml: str) -> DomainDef: ...
        def make_live(self, obj: DomainObj, ddef: DomainDef | None = None) -> None: ...
        def stop(self, obj: DomainObj, reason: int) -> None: ...
        def lifecycle(self, obj: DomainObj, event: int, detail: int) -> None: ...
        def forget_if_transient(self, obj: DomainObj) -> None: ...
        def not_running(self) -> LibvirtError: ...
        def _check_clash(self, ddef: DomainDef, *, live: bool) -> DomainObj | None: ...
        def host_path(self, path: str) -> Path: ...

    # -- paths ------------------------------------------------------------------------------

    def save_host_path(self, path: str) -> Path:
        """Where the simulated host's ``path`` lives in the daemon's file system (inside
        the host's root, as for storage: :meth:`QemuStorage.host_path`)."""
        return self.host_path(path.split("\0", 1)[0])  # what libvirtd's C string holds

    def managed_save_path(self, obj: DomainObj) -> str:
        return f"{MANAGED_SAVE_DIR}/{obj.name}.save"

    def has_managed_save(self, obj: DomainObj) -> bool:
        return os.path.lexists(self.save_host_path(self.managed_save_path(obj)))

    def _save_system_error(self, what: str, exc: OSError) -> LibvirtError:
        return self.error(ErrorCode.SYSTEM_ERROR, f"{what}: {exc.strerror or exc}")

    # -- writing ------------------------------------------------------------------------------

    def _save_write(self, path: str, image: SaveImage) -> None:
        host = self.save_host_path(path)
        try:
            host.parent.mkdir(parents=True, exist_ok=True)
            if host.is_symlink():
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            write_image(host, image)
        except OSError as exc:
            raise self._save_system_error(f"Failed to create file '{path}'", exc) from None

    def write_memory_image(self, path: str, ddef: DomainDef, was_running: bool) -> None:
        """qemuSaveImageCreate of an external memory snapshot: the save image layout, the
        inactive definition, at ``path`` in the host's root (qemu_snapshot_memory.py)."""
        ddef = plain_definition(ddef)
        ddef.sync_tree()
        self._save_write(path, SaveImage(domxml.format_xml(ddef.tree), was_running))

    def _save_read(self, path: str) -> tuple[SaveImage, DomainDef]:
        """qemuSaveImageOpen: the header's checks with libvirt's texts, then the XML."""
        try:
            data = read_image(self.save_host_path(path))
        except OSError as exc:
            raise self._save_system_error(f"Failed to open file '{path}'", exc) from None
        if len(data) < HEADER.size:
            raise self.error(ErrorCode.OPERATION_FAILED, "failed to read qemu header")
        magic, version, data_len, was_running, *_rest = HEADER.unpack_from(data)
        if magic != SAVE_MAGIC:
            text = "save image is incomplete" if magic == SAVE_PARTIAL else None
            raise self.error(ErrorCode.OPERATION_FAILED, text or "image magic is incorrect")
        if version > SAVE_VERSION:
            raise self.error(
                ErrorCode.OPERATION_FAILED,
                f"image version is not supported ({version} > {SAVE_VERSION})",
            )
        if data_len <= 0 or data_len > 0x7FFFFFFF:
            raise self.error(ErrorCode.OPERATION_FAILED, f"invalid header data length: {data_len}")
        raw = data[HEADER.size : HEADER.size + data_len]
        if len(raw) < data_len:
            raise self.error(ErrorCode.OPERATION_FAILED, "failed to read domain XML")
        xml = raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")
        return SaveImage(xml, bool(was_running)), self.parse(xml)

    def _save_image_of(self, obj: DomainObj, dxml: str | None, flags: int) -> SaveImage:
        ddef = plain_definition(obj.current)
        if dxml:
            ddef = self._save_update_def(ddef, dxml)
        ddef.sync_tree()
        was_running = obj.state == DomainState.RUNNING
        if flags & SAVE_RUNNING:
            was_running = True
        elif flags & SAVE_PAUSED:
            was_running = False
        return SaveImage(domxml.format_xml(ddef.tree), was_running)

    def _save_update_def(self, current: DomainDef, dxml: str) -> DomainDef:
        """qemuSaveImageUpdateDef: the replacement must describe the same guest."""
        new = self.parse(dxml)
        if new.name != current.name:
            raise LibvirtError.make(
                ErrorCode.CONFIG_UNSUPPORTED,
                ErrorDomain.DOMAIN,
                f"Target domain name '{new.name}' does not match source '{current.name}'",
            )
        if new.uuid != current.uuid:
            raise LibvirtError.make(
                ErrorCode.CONFIG_UNSUPPORTED,
                ErrorDomain.DOMAIN,
                f"Target domain uuid {domxml.uuid_str(new.uuid)} does not match source "
                f"{domxml.uuid_str(current.uuid)}",
            )
        return new

    def _save_check_exclusive(self, flags: int, function: str) -> None:
        if flags & SAVE_RUNNING and flags & SAVE_PAUSED:
            raise invalid_arg(
                ErrorDomain.DOMAIN,
                function,
                "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are "
                "mutually exclusive",
            )

    def _save_domain(self, obj: DomainObj, path: str, dxml: str | None, flags: int) -> None:
        """qemuDomainSaveInternal: pause, write the image, stop (STOPPED SAVED)."""
        if not obj.active:
            raise self.not_running()
        image = self._save_image_of(obj, dxml, flags)
        was_running = obj.state == DomainState.RUNNING
        self._save_write(path, image)  # nothing has changed if writing fails
        if was_running:
            obj.state, obj.reason = DomainState.PAUSED, PAUSED_SAVE
            self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED)
        self.stop(obj, SHUTOFF_SAVED)
        self.lifecycle(obj, STOPPED, STOPPED_SAVED)
        self.forget_if_transient(obj)

    def _save_start_from(
        self, obj: DomainObj, ddef: DomainDef, was_running: bool, start_paused: bool
    ) -> None:
        """qemuSaveImageStartVM: start with CPUs paused, STARTED RESTORED, then resume."""
        self.make_live(obj, ddef)
        # qemuProcessStart with an incoming stream leaves it paused "for migration"
        obj.state, obj.reason = DomainState.PAUSED, PAUSED_MIGRATION
        self.lifecycle(obj, STARTED, STARTED_RESTORED)
        if was_running and not start_paused:
            obj.state, obj.reason = DomainState.RUNNING, RUNNING_RESTORED
            self.lifecycle(obj, RESUMED, RESUMED_FROM_SNAPSHOT)
        else:
            self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED if start_paused else SUSPENDED_RESTORED)

    # -- save / restore -----------------------------------------------------------------------

    def domain_save(self, dom: Dom, to: str) -> None:
        self.domain_save_flags(dom, to, None, 0)

    def domain_save_flags(self, dom: Dom, to: str, dxml: str | None, flags: int = 0) -> None:
        self._save_check_exclusive(flags, "virDomainSaveFlags")
        self.check_flags(
            flags, SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED, "qemuDomainSaveFlags"
        )
        self._save_domain(self.find(dom), to, dxml, flags)

    def domain_restore(self, path: str) -> None:
        self.domain_restore_flags(path, None, 0)

    def domain_restore_flags(self, path: str, dxml: str | None, flags: int = 0) -> None:
        self._save_check_exclusive(flags, "virDomainRestoreFlags")
        self.check_flags(
            flags,
            SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED | SAVE_RESET_NVRAM,
            "qemuDomainRestoreFlags",
        )
        image, ddef = self._save_read(path)
        if dxml:
            ddef = self._save_update_def(ddef, dxml)
        existing = self._check_clash(ddef, live=True)
        obj = existing or DomainObj(config=ddef, persistent=False)
        self.domains[ddef.uuid] = obj
        was_running = image.was_running
        if flags & SAVE_RUNNING:
            was_running = True
        elif flags & SAVE_PAUSED:
            was_running = False
        self._save_start_from(obj, ddef, was_running, start_paused=False)

    def domain_save_image_get_xml_desc(self, file: str, flags: int = 0) -> str:
        self.check_flags(flags, SAVE_IMAGE_XML_SECURE, "qemuDomainSaveImageGetXMLDesc")
        _image, ddef = self._save_read(file)
        ddef.sync_tree()
        return domxml.format_xml(ddef.tree)

    def domain_save_image_define_xml(self, file: str, dxml: str, flags: int = 0) -> None:
        self._save_check_exclusive(flags, "virDomainSaveImageDefineXML")
        self.check_flags(flags, SAVE_RUNNING | SAVE_PAUSED, "qemuDomainSaveImageDefineXML")
        self._save_redefine(file, dxml, flags)

    def _save_redefine(self, path: str, dxml: str | None, flags: int) -> None:
        image, ddef = self._save_read(path)
        if dxml:
            ddef = self._save_update_def(ddef, dxml)
            ddef.sync_tree()
            image.xml = domxml.format_xml(ddef.tree)
        if flags & SAVE_RUNNING:
            image.was_running = True
        elif flags & SAVE_PAUSED:
            image.was_running = False
        self._save_write(path, image)

    # -- managed save -------------------------------------------------------------------------

    def domain_managed_save(self, dom: Dom, flags: int = 0) -> None:
        self._save_check_exclusive(flags, "virDomainManagedSave")
        self.check_flags(
            flags, SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED, "qemuDomainManagedSave"
        )
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        if not obj.persistent:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cannot do managed save for transient domain"
            )
        self._save_domain(obj, self.managed_save_path(obj), None, flags)

    def domain_has_managed_save_image(self, dom: Dom, flags: int = 0) -> bool:
        self.check_flags(flags, 0, "qemuDomainHasManagedSaveImage")
        return self.has_managed_save(self.find(dom))

    def domain_managed_save_remove(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0, "qemuDomainManagedSaveRemove")
        obj = self.find(dom)
        self._save_remove_managed(obj, "Failed to remove managed save file '{}'")

    def _save_remove_managed(self, obj: DomainObj, what: str) -> None:
        path = self.managed_save_path(obj)
        host = self.save_host_path(path)
        try:
            host.unlink()
        except OSError as exc:
            raise self._save_system_error(what.format(path), exc) from None
        fsync_dir(host.parent)

    def _save_managed_or_fail(self, obj: DomainObj) -> str:
        if not self.has_managed_save(obj):
            raise self.error(ErrorCode.OPERATION_INVALID, "domain does not have managed save image")
        return self.managed_save_path(obj)

    def domain_managed_save_get_xml_desc(self, dom: Dom, flags: int = 0) -> str:
        self.check_flags(flags, SAVE_IMAGE_XML_SECURE, "qemuDomainManagedSaveGetXMLDesc")
        path = self._save_managed_or_fail(self.find(dom))
        _image, ddef = self._save_read(path)
        ddef.sync_tree()
        return domxml.format_xml(ddef.tree)

    def domain_managed_save_define_xml(self, dom: Dom, dxml: str | None, flags: int = 0) -> None:
        self._save_check_exclusive(flags, "virDomainManagedSaveDefineXML")
        self.check_flags(flags, SAVE_RUNNING | SAVE_PAUSED, "qemuDomainManagedSaveDefineXML")
        path = self._save_managed_or_fail(self.find(dom))
        self._save_redefine(path, dxml, flags)

    def managed_save_start(self, obj: DomainObj, flags: int) -> bool:
        """qemuDomainObjStart's first half: restore from the managed save image if there is
        one (then remove it) and say so; ``--force-boot`` removes it and boots."""
        if not self.has_managed_save(obj):
            return False
        if flags & START_FORCE_BOOT:
            self._save_remove_managed(obj, "cannot remove managed save file {}")
            return False
        image, ddef = self._save_read(self.managed_save_path(obj))
        self._save_start_from(obj, ddef, image.was_running, start_paused=bool(flags & START_PAUSED))
        try:
            self._save_remove_managed(obj, "{}")
        except LibvirtError:
            pass  # libvirt only warns ("Failed to remove the managed state")
        return True

    def managed_save_autostart(self, obj: DomainObj) -> bool:
        """At daemon start: a failed restore is logged (libvirt's "Failed to autostart VM")
        and the domain stays shut off; True when nothing else should start it."""
        try:
            return self.managed_save_start(obj, 0)
        except LibvirtError as exc:
            log.error("Failed to autostart VM '%s': %s", obj.name, exc)
            return True

    # -- the domain's side ----------------------------------------------------------------------

    def domain_undefine_flags(self, dom: Dom, flags: int = 0) -> None:
        obj = self.find(dom)
        if obj.persistent and self.has_managed_save(obj):
            if not flags & UNDEFINE_MANAGED_SAVE:
                raise self.error(
                    ErrorCode.OPERATION_INVALID,
                    "Refusing to undefine while domain managed save image exists",
                )
            try:
                self._save_remove_managed(obj, "{}")
            except LibvirtError:
                raise self.error(
                    ErrorCode.INTERNAL_ERROR, "Failed to remove domain managed save image"
                ) from None
        super().domain_undefine_flags(dom, flags)  # type: ignore[misc]

    def connect_list_all_domains(self, flags: int = 0) -> list[Dom]:
        """The managed-save and snapshot filters, which the generic list cannot see."""
        mine = int(
            ListFlags.MANAGEDSAVE | ListFlags.NO_MANAGEDSAVE
            | ListFlags.HAS_SNAPSHOT | ListFlags.NO_SNAPSHOT
        )  # fmt: skip
        found = super().connect_list_all_domains(flags & ~mine)  # type: ignore[misc]
        out = []
        for handle in found:
            obj = self.domains[bytes(handle.uuid)]
            count = getattr(self, "snapshot_count", lambda _o: 0)(obj)
            if _group(
                flags, ListFlags.MANAGEDSAVE, ListFlags.NO_MANAGEDSAVE, self.has_managed_save(obj)
            ) and _group(flags, ListFlags.HAS_SNAPSHOT, ListFlags.NO_SNAPSHOT, count > 0):
                out.append(handle)
        return out


def _group(flags: int, yes: int, no: int, value: bool) -> bool:
    if flags & yes and flags & no or not flags & (yes | no):
        return True
    return value if flags & yes else not value
