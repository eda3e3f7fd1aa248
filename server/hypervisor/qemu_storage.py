"""Storage of the QEMU hosts: ``dir`` pools whose volumes are real files.

:class:`QemuStorage` reuses the pool/volume model, parser and formatter of :mod:`storage`
and replaces the test driver's in-memory volumes with libvirt's ``dir`` backend:

* Only ``dir`` pools have a backend; any other type is refused at define/create with the
  storage driver's "missing backend for pool type N (NAME)".
* The host's file system is rooted in ``<state>/root``: a pool whose target is
  ``/var/lib/libvirt/images`` keeps its files in ``<state>/root/var/lib/libvirt/images``
  (clients see and use the libvirt path), so a simulated host never writes outside its
  state directory.
* Build and start create the target directory (``virDirCreate``); refresh scans it (format
  and capacity probed, allocation from ``st_blocks``); capacity/available from ``statvfs``.
* Pool definitions are ``<state>/storage/<name>.xml`` plus autostart markers, written
  atomically; autostart pools start when the daemon starts.
"""

from __future__ import annotations

import logging
import os
import posixpath
from pathlib import Path

from virtwire.protocol import events as ev
from virtwire.protocol.constants import LEGACY_PAYLOAD_MAX
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_types import StoragePoolEventLifecycleType as PoolEvent
from virtwire.protocol.generated.remote_protocol import (
    RemoteNonnullStoragePool as PoolHandle,
)
from virtwire.protocol.generated.remote_protocol import (
    RemoteNonnullStorageVol as VolHandle,
)
from virtwire.server.hypervisor import volume_files
from virtwire.server.hypervisor.persistence import DomainStore
from virtwire.server.hypervisor.storage import (
    POOL_TYPES,
    PoolDef,
    PoolObj,
    StorageMixin,
    VolDef,
    format_pool,
    parse_pool,
    parse_volume,
)

log = logging.getLogger("virtwire.server")

POOLS_DIR = "storage"
ROOT_DIR = "root"
BACKENDS = ("dir",)

# virStoragePoolCreateFlags / virStoragePoolBuildFlags
CREATE_WITH_BUILD, CREATE_WITH_BUILD_OVERWRITE, CREATE_WITH_BUILD_NO_OVERWRITE = 1, 2, 4
BUILD_NO_OVERWRITE, BUILD_OVERWRITE = 4, 8
XML_INACTIVE = 1  # VIR_STORAGE_XML_INACTIVE
# virStorageVolCreateFlags, virStorageVolResizeFlags, virStorageVolDeleteFlags
VOL_CREATE_PREALLOC_METADATA, VOL_CREATE_REFLINK, VOL_CREATE_VALIDATE = 1, 2, 4
RESIZE_ALLOCATE, RESIZE_DELTA, RESIZE_SHRINK = 1, 2, 4
DELETE_ZEROED, DELETE_WITH_SNAPSHOTS = 1, 2
WIPE_ALG_ZERO = 0
VOL_GET_PHYSICAL = 1
# VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM == VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
SPARSE_STREAM = 1
STREAM_CHUNK = LEGACY_PAYLOAD_MAX  # what libvirtd reads from a volume at a time


class QemuStorage(StorageMixin):
    """The storage driver of a QEMU host (``Procedure.driver == "storage"``), persistent."""

    pool_store: DomainStore
    storage_root: Path

    def init_qemu_storage(self, state_dir: Path) -> None:
        self.pool_store = DomainStore(state_dir / POOLS_DIR)
        self.storage_root = state_dir / ROOT_DIR
        self.pools = []
        for path, text in self.pool_store.load_all():
            try:
                pool = parse_pool(text)
            except LibvirtError as exc:
                log.error("ignoring unreadable pool file %s: %s", path, exc)
                continue
            if any(o.uuid == pool.uuid or o.name == pool.name for o in self.pools):
                log.error("ignoring %s: duplicate pool %s", path, pool.name)
                continue
            obj = PoolObj(config=pool, autostart=self.pool_store.is_autostart(pool.name))
            self.pools.append(obj)
            if obj.autostart:
                try:  # storageDriverAutostart
                    self._pool_refresh_dir(obj)
                    obj.active = True
                except LibvirtError as exc:
                    log.error("cannot autostart pool %s: %s", pool.name, exc)

    # -- the storage driver's vocabulary ---------------------------------------------------

    def storage_error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError:
        return LibvirtError.make(code, ErrorDomain.STORAGE, detail)

    def storage_function(self, member: str) -> str:
        return f"storage{member}"

    def _system_error(self, exc: OSError, what: str) -> LibvirtError:
        """virReportSystemError: the text, then ": " and strerror."""
        return self.storage_error(ErrorCode.SYSTEM_ERROR, f"{what}: {exc.strerror or exc}")

    def host_path(self, path: str) -> Path:
        """Where a path of the simulated host lives in the daemon's file system: always
        inside its root (``..`` cannot climb out of it, as ``/..`` is ``/``)."""
        return self.storage_root / posixpath.normpath(posixpath.join("/", path)).lstrip("/")

    def _pool_backend(self, pool: PoolDef) -> None:
        """virStorageBackendForType."""
        if pool.type not in BACKENDS:
            raise self.storage_error(
                ErrorCode.INTERNAL_ERROR,
                f"missing backend for pool type {POOL_TYPES.index(pool.type)} ({pool.type})",
            )

    def _save_pool(self, obj: PoolObj) -> None:
        try:
            self.pool_store.save(obj.name, format_pool(obj.config))
        except OSError as exc:
            raise self._system_error(
                exc, f"cannot write config file '{self.pool_store.path_for(obj.name)}'"
            ) from None

    def _pool_dir(self, obj: PoolObj) -> Path:
        return self.host_path(obj.config.target_path or "")

    def _pool_refresh_dir(self, obj: PoolObj) -> None:
        """virStorageBackendRefreshLocal + the pool's size from statvfs."""
        directory = self._pool_dir(obj)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
            vfs = os.statvfs(directory)
        except OSError as exc:
            raise self._system_error(
                exc, f"cannot open directory '{obj.config.target_path}'"
            ) from None
        volumes = []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            vol = VolDef(name=entry.name)
            self._vol_fill(obj, vol)
            volumes.append(vol)
        obj.volumes = volumes
        cfg = obj.config
        cfg.capacity = vfs.f_frsize * vfs.f_blocks
        cfg.available = vfs.f_frsize * vfs.f_bavail
        cfg.allocation = cfg.capacity - vfs.f_frsize * vfs.f_bfree

    def _vol_fill(self, obj: PoolObj, vol: VolDef) -> None:
        """A volume's path, key and sizes from its file."""
        path = f"{obj.config.target_path}/{vol.name}"
        info = volume_files.probe(self.host_path(path))
        vol.key = vol.target.path = path
        vol.capacity, vol.allocation = info.capacity, info.allocation
        vol.target.format = info.format

    def _vol_file(self, handle: VolHandle) -> tuple[PoolObj, VolDef, Path]:
        obj = self._active_pool(handle.pool)
        vol = self._vol(obj, handle.name)
        return obj, vol, self.host_path(vol.target.path or "")

    # -- pools ------------------------------------------------------------------------------

    def storage_pool_define_xml(self, xml: str, flags: int) -> PoolHandle:
        self.check_flags(flags, 1, self.storage_function("PoolDefineXML"))  # type: ignore[attr-defined]
        pool = parse_pool(xml)
        self._pool_backend(pool)
        obj = self._add_pool(pool, check_live=False)
        obj.persistent = True
        self._save_pool(obj)
        self._pool_event(obj, PoolEvent.DEFINED)
        return obj.handle()

    def storage_pool_create_xml(self, xml: str, flags: int) -> PoolHandle:
        self.check_flags(flags, 7, self.storage_function("PoolCreateXML"))  # type: ignore[attr-defined]
        pool = parse_pool(xml)
        self._pool_backend(pool)
        obj = self._add_pool(pool, check_live=True)
        obj.persistent = False
        try:
            self._start_pool(obj, flags)
        except LibvirtError:
            self.pools.remove(obj)
            raise
        return obj.handle()

    def _pool_build_dir(self, obj: PoolObj) -> None:
        try:
            self._pool_dir(obj).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._system_error(
                exc, f"cannot create path '{obj.config.target_path}'"
            ) from None

    def _start_pool(self, obj: PoolObj, flags: int) -> None:
        if flags & (
            CREATE_WITH_BUILD | CREATE_WITH_BUILD_OVERWRITE | CREATE_WITH_BUILD_NO_OVERWRITE
        ):
            self._pool_build_dir(obj)
        self._pool_refresh_dir(obj)
        obj.active = True
        self._pool_event(obj, PoolEvent.STARTED)

    def storage_pool_build(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(  # type: ignore[attr-defined]
            flags, BUILD_OVERWRITE | BUILD_NO_OVERWRITE, self.storage_function("PoolBuild")
        )
        obj = self._inactive_pool(pool.name)
        self._pool_build_dir(obj)
        self._pool_event(obj, PoolEvent.CREATED)

    def storage_pool_create(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(flags, 7, self.storage_function("PoolCreate"))  # type: ignore[attr-defined]
        obj = self._pool_by_uuid(pool.uuid)
        if obj.active:
            raise self.storage_error(
                ErrorCode.OPERATION_INVALID, f"storage pool '{obj.name}' is already active"
            )
        self._start_pool(obj, flags)

    def storage_pool_undefine(self, pool: PoolHandle) -> None:
        obj = self._inactive_pool(pool.name)
        if not obj.persistent:
            raise self.storage_error(
                ErrorCode.OPERATION_INVALID, f"storage pool '{obj.name}' is transient"
            )
        self.pool_store.delete(obj.name)
        self.pool_store.set_autostart(obj.name, False)
        self._pool_event(obj, PoolEvent.UNDEFINED)
        self.pools.remove(obj)

    def storage_pool_destroy(self, pool: PoolHandle) -> None:
        obj = self._active_pool(pool.name)
        obj.active = False
        obj.volumes = []
        self._pool_event(obj, PoolEvent.STOPPED)
        if not obj.persistent:
            self.pools.remove(obj)

    def storage_pool_delete(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(flags, 1, self.storage_function("PoolDelete"))  # type: ignore[attr-defined]
        obj = self._inactive_pool(pool.name)
        try:
            self._pool_dir(obj).rmdir()
        except OSError as exc:
            raise self._system_error(
                exc, f"failed to remove pool '{obj.config.target_path}'"
            ) from None
        self._pool_event(obj, PoolEvent.DELETED)

    def storage_pool_refresh(self, pool: PoolHandle, flags: int) -> None:
        super().storage_pool_refresh(pool, flags)
        self._pool_refresh_dir(self._active_pool(pool.name))

    def storage_pool_get_info(self, pool: PoolHandle) -> tuple[int, int, int, int]:
        obj = self._pool_by_uuid(pool.uuid)
        if obj.active:
            self._pool_refresh_dir(obj)
        return super().storage_pool_get_info(pool)

    def storage_pool_get_xml_desc(self, pool: PoolHandle, flags: int) -> str:
        self.check_flags(flags, XML_INACTIVE, self.storage_function("PoolGetXMLDesc"))  # type: ignore[attr-defined]
        return super().storage_pool_get_xml_desc(pool, 0)

    def storage_pool_set_autostart(self, pool: PoolHandle, autostart: int) -> None:
        obj = self._pool_by_uuid(pool.uuid)
        if not obj.persistent:
            raise self.storage_error(ErrorCode.INVALID_ARG, "pool has no config file")
        self.pool_store.set_autostart(obj.name, autostart != 0)
        obj.autostart = autostart != 0

    def storage_pool_lookup_by_target_path(self, path: str) -> PoolHandle:
        wanted = os.path.normpath(path)
        for obj in self.pools:
            if obj.active and obj.config.target_path == wanted:
                return obj.handle()
        raise self.storage_error(
            ErrorCode.NO_STORAGE_POOL, f"no storage pool with matching target path '{path}'"
        )

    # -- volumes ------------------------------------------------------------------------------

    def _new_volume(self, obj: PoolObj, xml: str) -> VolDef:
        vol = parse_volume(obj.config, xml)
        if obj.vol(vol.name) is not None:
            raise self.storage_error(ErrorCode.STORAGE_VOL_EXIST, f"'{vol.name}'")
        if "/" in vol.name:
            raise self.storage_error(
                ErrorCode.INVALID_ARG, f"volume name '{vol.name}' cannot contain '/'"
            )
        vol.target.path = f"{obj.config.target_path}/{vol.name}"
        return vol

    def _vol_adopt(self, obj: PoolObj, vol: VolDef) -> VolHandle:
        self._vol_fill(obj, vol)
        obj.volumes.append(vol)
        return obj.vol_handle(vol)

    def storage_vol_create_xml(self, pool: PoolHandle, xml: str, flags: int) -> VolHandle:
        allowed = VOL_CREATE_PREALLOC_METADATA | VOL_CREATE_REFLINK | VOL_CREATE_VALIDATE
        self.check_flags(flags, allowed, self.storage_function("VolCreateXML"))  # type: ignore[attr-defined]
        obj = self._active_pool(pool.name)
        vol = self._new_volume(obj, xml)
        path = self.host_path(vol.target.path or "")
        try:
            volume_files.create(path, vol.target.format or "raw", vol.capacity, vol.allocation)
        except OSError as exc:
            raise self._system_error(exc, f"cannot create path '{vol.target.path}'") from None
        return self._vol_adopt(obj, vol)

    def storage_vol_create_xml_from(
        self, pool: PoolHandle, xml: str, clonevol: VolHandle, flags: int
    ) -> VolHandle:
        allowed = VOL_CREATE_PREALLOC_METADATA | VOL_CREATE_REFLINK | VOL_CREATE_VALIDATE
        self.check_flags(flags, allowed, self.storage_function("VolCreateXMLFrom"))  # type: ignore[attr-defined]
        obj = self._active_pool(pool.name)
        _, source, source_path = self._vol_file(clonevol)
        vol = self._new_volume(obj, xml)
        try:
            volume_files.clone(source_path, self.host_path(vol.target.path or ""), vol.capacity)
        except OSError as exc:
            raise self._system_error(exc, f"cannot create path '{vol.target.path}'") from None
        return self._vol_adopt(obj, vol)

    def storage_vol_delete(self, vol: VolHandle, flags: int) -> None:
        self.check_flags(  # type: ignore[attr-defined]
            flags, DELETE_ZEROED | DELETE_WITH_SNAPSHOTS, self.storage_function("VolDelete")
        )
        obj, found, path = self._vol_file(vol)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._system_error(exc, f"cannot unlink file '{found.target.path}'") from None
        obj.volumes.remove(found)

    def storage_vol_wipe(self, vol: VolHandle, flags: int) -> None:
        self.storage_vol_wipe_pattern(vol, WIPE_ALG_ZERO, flags)

    def storage_vol_wipe_pattern(self, vol: VolHandle, algorithm: int, flags: int) -> None:
        self.check_flags(flags, 0, self.storage_function("VolWipePattern"))  # type: ignore[attr-defined]
        obj, found, path = self._vol_file(vol)
        if algorithm != WIPE_ALG_ZERO:
            # the other algorithms run scrub(1), which a simulated host does not have
            raise self.storage_error(
                ErrorCode.OPERATION_UNSUPPORTED,
                f"wiping algorithm {algorithm} is not supported by this host",
            )
        try:
            volume_files.wipe_zero(path)
        except OSError as exc:
            raise self._system_error(
                exc, f"Failed to open storage volume with path '{found.target.path}'"
            ) from None
        self._vol_fill(obj, found)

    def storage_vol_resize(self, vol: VolHandle, capacity: int, flags: int) -> None:
        self.check_flags(  # type: ignore[attr-defined]
            flags,
            RESIZE_ALLOCATE | RESIZE_DELTA | RESIZE_SHRINK,
            self.storage_function("VolResize"),
        )
        obj, found, path = self._vol_file(vol)
        if flags & RESIZE_DELTA:
            if flags & RESIZE_SHRINK:
                capacity = found.capacity - capacity if capacity <= found.capacity else -1
            else:
                capacity += found.capacity
        if capacity < 0:
            raise self.storage_error(ErrorCode.INVALID_ARG, "can't shrink capacity below zero")
        if capacity < found.capacity and not flags & RESIZE_SHRINK:
            raise self.storage_error(
                ErrorCode.INVALID_ARG,
                "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
            )
        if capacity > found.capacity and flags & RESIZE_SHRINK:
            raise self.storage_error(
                ErrorCode.INVALID_ARG,
                "Can't expand capacity with shrink flag explicitly specified",
            )
        if found.target.format != "raw":
            raise self.storage_error(
                ErrorCode.OPERATION_UNSUPPORTED,
                f"resize of a '{found.target.format}' volume is not supported by this host",
            )
        try:
            volume_files.resize(path, capacity, bool(flags & RESIZE_ALLOCATE))
        except OSError as exc:
            raise self._system_error(
                exc, f"Failed to truncate volume with path '{found.target.path}'"
            ) from None
        self._vol_fill(obj, found)

    def storage_vol_get_info(self, vol: VolHandle) -> tuple[int, int, int]:
        obj, found, _ = self._vol_file(vol)
        self._vol_fill(obj, found)
        return super().storage_vol_get_info(vol)

    def storage_vol_get_info_flags(self, vol: VolHandle, flags: int) -> tuple[int, int, int]:
        self.check_flags(flags, VOL_GET_PHYSICAL, self.storage_function("VolGetInfoFlags"))  # type: ignore[attr-defined]
        kind, capacity, allocation = self.storage_vol_get_info(vol)
        if flags & VOL_GET_PHYSICAL:
            _, _, path = self._vol_file(vol)
            return kind, capacity, path.stat().st_size
        return kind, capacity, allocation

    def storage_vol_get_xml_desc(self, vol: VolHandle, flags: int) -> str:
        obj, found, _ = self._vol_file(vol)
        self._vol_fill(obj, found)
        return super().storage_vol_get_xml_desc(vol, flags)

    # -- streams (server/streams.py moves the bytes) ----------------------------------------

    def storage_vol_upload(
        self, vol: VolHandle, offset: int, length: int, flags: int
    ) -> volume_files.FileSink:
        self.check_flags(flags, SPARSE_STREAM, self.storage_function("VolUpload"))  # type: ignore[attr-defined]
        obj, found, path = self._vol_file(vol)
        try:
            return volume_files.FileSink(
                path, offset, length, on_close=lambda: self._upload_closed(obj.name)
            )
        except OSError as exc:
            raise self._system_error(exc, f"Unable to open '{found.target.path}'") from None

    def _upload_closed(self, pool_name: str) -> None:
        """virStorageVolPoolRefreshThread: once an upload's stream closes (finished or
        aborted), the pool is refreshed and a REFRESH event sent, whatever the refresh
        found."""
        obj = next((o for o in self.pools if o.name == pool_name), None)
        if obj is None:
            return
        try:
            self._pool_refresh_dir(obj)
        except LibvirtError:
            log.debug("refreshing pool %s after an upload failed", pool_name)
        self.events.queue(ev.StoragePoolRefreshEvent(obj.ref()))  # type: ignore[attr-defined]

    def storage_vol_download(
        self, vol: VolHandle, offset: int, length: int, flags: int
    ) -> volume_files.FileSource:
        self.check_flags(flags, SPARSE_STREAM, self.storage_function("VolDownload"))  # type: ignore[attr-defined]
        _, found, path = self._vol_file(vol)
        try:
            return volume_files.FileSource(
                path, offset, length, sparse=bool(flags & SPARSE_STREAM), chunk=STREAM_CHUNK
            )
        except OSError as exc:
            raise self._system_error(exc, f"Unable to open '{found.target.path}'") from None

    def connect_find_storage_pool_sources(self, type: str, src_spec: str, flags: int) -> str:  # noqa: A002
        raise self.storage_error(
            ErrorCode.NO_SUPPORT, f"pool type '{type}' does not support source discovery"
        )


__all__ = ["QemuStorage"]
