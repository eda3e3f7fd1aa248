"""Storage volumes as real files: creation, cloning, wiping, resizing and probing.

What libvirt's local file backend (storage_util.c) does to a file in a ``dir`` pool, without
external tools: raw volumes are sparse files (``ftruncate`` to the capacity, ``fallocate``
for a requested allocation); a ``qcow2`` volume gets a qcow2 header naming its virtual size
(enough for a refresh to find the format and capacity again; no guest ever reads it).
Allocation is what the file system reports (``st_blocks`` * 512). Holes are found with
``SEEK_DATA``/``SEEK_HOLE``, as ``virFileInData`` does, so clones stay sparse.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

QCOW2_MAGIC = b"QFI\xfb"
QCOW2_VERSION = 3
QCOW2_CLUSTER_BITS = 16
QCOW2_HEADER_LEN = 104  # the version 3 header's length field
BLOCK = 512  # the unit of st_blocks
COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """What a refresh learns from a volume file."""

    format: str
    capacity: int
    allocation: int


def qcow2_header(capacity: int) -> bytes:
    """A qcow2 v3 header (no L1 table: an image of unallocated clusters)."""
    head = struct.pack(
        ">4sIQIIQIIQQIIQQQII",
        QCOW2_MAGIC,
        QCOW2_VERSION,
        0,  # backing file offset
        0,  # backing file size
        QCOW2_CLUSTER_BITS,
        capacity,
        0,  # crypt method
        0,  # l1 size
        0,  # l1 table offset
        0,  # refcount table offset
        0,  # refcount table clusters
        0,  # snapshots
        0,  # snapshots offset
        0,  # incompatible features
        0,  # compatible features
        0,  # autoclear features
        4,  # refcount order
    )
    return head + struct.pack(">I", QCOW2_HEADER_LEN)


def probe(path: Path) -> FileInfo:
    """virStorageBackendRefreshLocal for one file: format, capacity, allocation."""
    st = path.stat()
    allocation = st.st_blocks * BLOCK
    with path.open("rb") as handle:
        head = handle.read(32)
    if len(head) >= 32 and head[:4] == QCOW2_MAGIC:
        return FileInfo("qcow2", struct.unpack(">Q", head[24:32])[0], allocation)
    return FileInfo("raw", st.st_size, allocation)


def create(path: Path, fmt: str, capacity: int, allocation: int) -> None:
    """A new volume file; fails with FileExistsError if one is there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if fmt == "qcow2":
            os.write(fd, qcow2_header(capacity))
        else:
            os.ftruncate(fd, capacity)
            if allocation:
                os.posix_fallocate(fd, 0, min(allocation, capacity))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def data_extents(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of each data run below ``size`` (virFileInData, repeated)."""
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole up to the end
                return
            raise
        if start >= size:
            return
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end - start
        pos = end


def clone(source: Path, target: Path, capacity: int) -> None:
    """storageBackendCreateRaw from an input volume: copy the data runs, keep holes."""
    fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fd_in = os.open(source, os.O_RDONLY)
        try:
            size = os.fstat(fd_in).st_size
            for offset, length in data_extents(fd_in, size):
                done = 0
                while done < length:
                    chunk = os.pread(fd_in, min(COPY_CHUNK, length - done), offset + done)
                    if not chunk:
                        break
                    os.pwrite(fd_out, chunk, offset + done)
                    done += len(chunk)
            os.ftruncate(fd_out, max(size, capacity))
        finally:
            os.close(fd_in)
        os.fsync(fd_out)
    except BaseException:
        os.close(fd_out)
        target.unlink(missing_ok=True)
        raise
    os.close(fd_out)


def wipe_zero(path: Path) -> None:
    """VIR_STORAGE_VOL_WIPE_ALG_ZERO: the same size, every byte zero (holes punched)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        size = os.fstat(fd).st_size
        os.ftruncate(fd, 0)
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def resize(path: Path, capacity: int, allocate: bool) -> None:
    """virStorageFileResize for a raw file: truncate, optionally allocating the growth."""
    fd = os.open(path, os.O_WRONLY)
    try:
        old = os.fstat(fd).st_size
        os.ftruncate(fd, capacity)
        if allocate and capacity > old:
            os.posix_fallocate(fd, old, capacity - old)
        os.fsync(fd)
    finally:
        os.close(fd)


_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 1, 2
_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)


def punch_hole(fd: int, offset: int, length: int) -> None:
    """Make ``length`` bytes at ``offset`` read as zeros and take no space (or write zeros)."""
    if length <= 0:
        return
    size = os.fstat(fd).st_size
    end = offset + length
    inside = min(end, size) - offset
    if inside > 0:
        mode = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
        if _libc.fallocate(fd, mode, offset, inside) != 0:
            zeros = bytes(min(inside, COPY_CHUNK))
            done = 0
            while done < inside:
                done += os.pwrite(fd, zeros[: inside - done], offset + done)
    if end > size:
        os.ftruncate(fd, end)


class FileSink:
    """The receiving end of STORAGE_VOL_UPLOAD: data written from ``offset``, holes punched."""

    def __init__(
        self, path: Path, offset: int, length: int, on_close: Callable[[], None] | None = None
    ) -> None:
        self.fd = os.open(path, os.O_WRONLY)
        self.pos = offset
        self.end = offset + length if length else None
        self.on_close = on_close  # the storage driver's stream close callback

    def _advance(self, count: int) -> int:
        if self.end is not None and self.pos + count > self.end:
            raise OverflowError("more data than the requested length")
        start = self.pos
        self.pos += count
        return start

    def write(self, data: bytes) -> None:
        """virFDStreamWrite: what fits in the requested length is written, then ENOSPC."""
        room = None if self.end is None else self.end - self.pos
        if room is not None and len(data) > room:
            self.write(data[:room])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        start = self._advance(len(data))
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, start)
            view, start = view[written:], start + written

    def hole(self, length: int) -> None:
        punch_hole(self.fd, self._advance(length), length)

    def finish(self) -> None:
        os.fsync(self.fd)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            on_close, self.on_close = self.on_close, None
            if on_close is not None:
                on_close()


class FileSource:
    """The sending end of STORAGE_VOL_DOWNLOAD: ("data", bytes) and ("hole", length)."""

    def __init__(self, path: Path, offset: int, length: int, *, sparse: bool, chunk: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        size = os.fstat(self.fd).st_size
        self.pos = min(offset, size)
        self.end = min(offset + length, size) if length else size
        self.sparse = sparse
        self.chunk = chunk

    def _in_data(self) -> tuple[bool, int]:
        """virFileInData: is ``pos`` in data, and how long the run lasts (to ``end``)."""
        try:
            data = os.lseek(self.fd, self.pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            data = self.end
        if data > self.pos:
            return False, min(data, self.end) - self.pos
        hole = os.lseek(self.fd, self.pos, os.SEEK_HOLE)
        return True, min(hole, self.end) - self.pos

    def __iter__(self) -> Iterator[tuple[str, bytes | int]]:
        try:
            while self.pos < self.end:
                in_data, run = self._in_data()
                if not in_data and self.sparse:
                    self.pos += run
                    yield "hole", run
                    continue
                count = min(run, self.chunk)
                data = os.pread(self.fd, count, self.pos) if in_data else bytes(count)
                if not data:
                    return
                self.pos += len(data)
                yield "data", data
        finally:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


__all__ = [
    "FileInfo",
    "FileSink",
    "FileSource",
    "clone",
    "create",
    "data_extents",
    "probe",
    "punch_hole",
    "resize",
    "wipe_zero",
]
