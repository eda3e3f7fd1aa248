"""Save, restore, save-image XML and core dumps on ``test:///default``, as libvirt 9.0's test
driver does them (``testDomainSaveFlags``, ``testDomainRestoreFlags``,
``testDomainSaveImageGetXMLDesc``, ``testDomainSaveImageDefineXML``,
``testDomainCoreDumpWithFormat``).

**Paths are real paths.**  Like libvirtd's test driver, the daemon opens the path the client
gives in its own file system, as the user it runs as.

The save image is byte for byte the test driver's (``testDomainSaveImageWrite``): the 15
bytes ``TestGuestMagic\\0``, the XML's length as a native ``int`` (4 bytes, little-endian on
the hosts libvirt runs on here), then the domain's live XML (``<domain ... id='N'>``) without
a NUL. A file libvirtd's test driver wrote restores here and the other way round. A core
dump is the 15 magic bytes alone. Files are created with mode 0600; a failed save removes
the path, as libvirt does.

Events and states: a save stops the domain (STOPPED SAVED, ``shut off (saved)``) and a
transient one disappears; a restore adds the domain live (a new one is transient) and starts
it (STARTED RESTORED, ``running (restored)``) with the next domain id; a dump with
``VIR_DUMP_CRASH`` stops it as crashed (STOPPED CRASHED).
"""

from __future__ import annotations

import contextlib
import os
import struct
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain as Dom
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.driver import STARTED, STOPPED
from virtwire.server.hypervisor.model import DomainObj, DomainState

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef

__all__ = ["SAVE_MAGIC", "TestSave", "pack_image", "unpack_length"]

SAVE_MAGIC = b"TestGuestMagic\0"  # TEST_SAVE_MAGIC with its NUL: sizeof() bytes are written
LENGTH = struct.Struct("<i")  # the XML's length, a C int
MAX_XML = 8192  # what testDomainSaveImageOpen accepts
FILE_MODE = 0o600  # S_IRUSR | S_IWUSR

XML_SECURE = 0x1  # VIR_DOMAIN_XML_SECURE / VIR_DOMAIN_SAVE_IMAGE_XML_SECURE
SAVE_RUNNING, SAVE_PAUSED = 0x2, 0x4
DUMP_CRASH = 0x1
CORE_DUMP_FORMAT_RAW = 0
# lifecycle details and state reasons
STOPPED_CRASHED, STOPPED_SAVED, STARTED_RESTORED = 2, 4, 2
SHUTOFF_CRASHED, SHUTOFF_SAVED, RUNNING_RESTORED = 3, 5, 3


def pack_image(xml: str) -> bytes:
    """A test-driver save image holding ``xml``."""
    data = xml.encode("utf-8")
    return SAVE_MAGIC + LENGTH.pack(len(data)) + data


def unpack_length(raw: bytes) -> int:
    return LENGTH.unpack(raw)[0]


def _strerror(exc: OSError | None) -> str:
    """What virReportSystemError appends: strerror(errno); a short read leaves errno 0."""
    if exc is None:
        return os.strerror(0)
    return exc.strerror or os.strerror(exc.errno or 0)


class TestSave:
    """The test driver's save / restore / core dump members (see the module docstring)."""

    __test__ = False

    if TYPE_CHECKING:  # provided by Driver / TestDriver
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
        def managed_saves(self) -> set[bytes]: ...
        def domain_get_xml_desc(self, dom: Dom, flags: int = 0) -> str: ...
        def _check_clash(self, ddef: DomainDef, *, live: bool) -> DomainObj | None: ...

    def _system_error(self, text: str, exc: OSError | None) -> LibvirtError:
        return self.error(ErrorCode.SYSTEM_ERROR, f"{text}: {_strerror(exc)}")

    def _no_dxml(self, dxml: str | None) -> None:
        if dxml:
            raise self.error(ErrorCode.ARGUMENT_UNSUPPORTED, "xml modification unsupported")

    # -- the image ----------------------------------------------------------------------------

    def _image_write(self, path: str, name: str, xml: str) -> None:
        """testDomainSaveImageWrite: on any failure the path is unlinked."""
        where = f"saving domain '{name}' to '{path}'"
        try:
            fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, FILE_MODE)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise self._system_error(f"{where}: open failed", exc) from None
        try:
            try:
                os.write(fd, pack_image(xml))
            finally:
                os.close(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise self._system_error(f"{where}: write failed", exc) from None

    def _image_read(self, path: str) -> DomainDef:
        """testDomainSaveImageOpen: the header's checks with libvirt's texts, then the XML
        parsed as an inactive definition."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise self._system_error(f"cannot read domain image '{path}'", exc) from None
        with os.fdopen(fd, "rb") as handle:
            try:
                magic = handle.read(len(SAVE_MAGIC))
                if len(magic) != len(SAVE_MAGIC):
                    raise self._system_error(f"incomplete save header in '{path}'", None)
                if magic != SAVE_MAGIC:
                    raise self.error(ErrorCode.INTERNAL_ERROR, "mismatched header magic")
                raw = handle.read(LENGTH.size)
                if len(raw) != LENGTH.size:
                    raise self._system_error(f"failed to read metadata length in '{path}'", None)
                length = unpack_length(raw)
                if length < 1 or length > MAX_XML:
                    raise self.error(ErrorCode.INTERNAL_ERROR, "length of metadata out of range")
                data = handle.read(length)
                if len(data) != length:
                    raise self._system_error(f"incomplete metadata in '{path}'", None)
            except OSError as exc:  # a read error (EISDIR, EIO)
                raise self._system_error(f"incomplete save header in '{path}'", exc) from None
        # a C string: it ends at the first NUL
        return self.parse(data.split(b"\0", 1)[0].decode("utf-8", errors="replace"))

    # -- save / restore -----------------------------------------------------------------------

    def domain_save(self, dom: Dom, to: str) -> None:
        self.domain_save_flags(dom, to, None, 0)

    def domain_save_flags(self, dom: Dom, to: str, dxml: str | None, flags: int = 0) -> None:
        self.check_flags(flags, 0, "testDomainSaveFlags")
        self._no_dxml(dxml)
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        xml = self.domain_get_xml_desc(obj.handle(), XML_SECURE)
        self._image_write(to, obj.name, xml)
        self.stop(obj, SHUTOFF_SAVED)
        self.lifecycle(obj, STOPPED, STOPPED_SAVED)
        self.forget_if_transient(obj)

    def domain_restore(self, path: str) -> None:
        self.domain_restore_flags(path, None, 0)

    def domain_restore_flags(self, path: str, dxml: str | None, flags: int = 0) -> None:
        self.check_flags(flags, 0, "testDomainRestoreFlags")
        self._no_dxml(dxml)
        ddef = self._image_read(path)
        existing = self._check_clash(ddef, live=True)
        obj = existing or DomainObj(config=ddef, persistent=False)
        self.domains[ddef.uuid] = obj
        self.make_live(obj, ddef)
        obj.state, obj.reason = DomainState.RUNNING, RUNNING_RESTORED
        self.managed_saves().discard(obj.uuid)  # testDomainStartState
        self.lifecycle(obj, STARTED, STARTED_RESTORED)

    def domain_save_image_get_xml_desc(self, file: str, flags: int = 0) -> str:
        self.check_flags(flags, XML_SECURE, "testDomainSaveImageGetXMLDesc")
        ddef = self._image_read(file)
        ddef.sync_tree()
        return domxml.format_xml(ddef.tree)

    def domain_save_image_define_xml(self, file: str, dxml: str, flags: int = 0) -> None:
        self.check_flags(flags, SAVE_RUNNING | SAVE_PAUSED, "testDomainSaveImageDefineXML")
        old = self._image_read(file)
        new = self.parse(dxml)
        new.sync_tree()
        self._image_write(file, old.name, domxml.format_xml(new.tree))

    # -- core dump ----------------------------------------------------------------------------

    def domain_core_dump(self, dom: Dom, to: str, flags: int = 0) -> None:
        self.domain_core_dump_with_format(dom, to, CORE_DUMP_FORMAT_RAW, flags)

    def domain_core_dump_with_format(
        self, dom: Dom, to: str, dumpformat: int, flags: int = 0
    ) -> None:
        self.check_flags(flags, DUMP_CRASH, "testDomainCoreDumpWithFormat")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        where = f"domain '{dom.name}' coredump"
        try:
            fd = os.open(to, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, FILE_MODE)
        except OSError as exc:
            raise self._system_error(f"{where}: failed to open {to}", exc) from None
        try:
            try:
                os.write(fd, SAVE_MAGIC)
            except OSError as exc:
                raise self._system_error(f"{where}: failed to write header to {to}", exc) from None
        finally:
            os.close(fd)
        if dumpformat != CORE_DUMP_FORMAT_RAW:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "kdump-compressed format is not supported here"
            )
        if flags & DUMP_CRASH:
            self.stop(obj, SHUTOFF_CRASHED)
            self.lifecycle(obj, STOPPED, STOPPED_CRASHED)
            self.forget_if_transient(obj)
