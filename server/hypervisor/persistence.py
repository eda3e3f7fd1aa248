"""Crash-safe storage of persistent domain definitions: one XML file per domain.

A definition is written to a temporary file in the same directory, flushed to disk,
renamed over the old file and the directory is synced, so after a crash at any point the
file holds either the old or the new document, never a torn one.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

log = logging.getLogger("virtwire.server")

SUFFIX = ".xml"


def atomic_write(path: Path, data: str) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + fsync + rename + dir fsync)."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


class DomainStore:
    """The directory of one simulated host: ``<name>.xml`` per persistent domain."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # writes may come from a worker thread (offload.py): one at a time, and a write
        # overtaken by a later save or delete of the same name is skipped
        self._lock = threading.Lock()
        self._generation: dict[str, int] = {}
        self._counter = 0

    def path_for(self, name: str) -> Path:
        return self.directory / f"{name}{SUFFIX}"

    def _next(self, name: str) -> int:
        self._counter += 1
        self._generation[name] = self._counter
        return self._counter

    def save(self, name: str, xml: str) -> None:
        self._next(name)
        with self._lock:
            atomic_write(self.path_for(name), xml)

    def save_job(self, name: str, produce: Callable[[], str]) -> Callable[[], None]:
        """A job that writes ``produce()`` as ``name`` unless a later save or delete came
        first: ordered with them, for a worker thread."""
        generation = self._next(name)

        def job() -> None:
            with self._lock:
                if self._generation.get(name) == generation:
                    atomic_write(self.path_for(name), produce())

        return job

    def writable(self) -> bool:
        """Whether a write can be expected to succeed (checked before deferring one)."""
        return os.access(self.directory, os.W_OK | os.X_OK)

    def delete(self, name: str) -> None:
        self._next(name)
        with self._lock:
            remove(self.path_for(name))

    def autostart_path(self, name: str) -> Path:
        return self.directory / "autostart" / f"{name}{SUFFIX}"

    def set_autostart(self, name: str, enabled: bool) -> None:
        """libvirt marks autostart with a link in autostart/; an empty marker file here."""
        path = self.autostart_path(name)
        if enabled:
            atomic_write(path, "")
        else:
            remove(path)

    def is_autostart(self, name: str) -> bool:
        return self.autostart_path(name).exists()

    def load_all(self) -> list[tuple[Path, str]]:
        """Every stored definition; leftover temp files from a crash are removed."""
        out = []
        for entry in sorted(self.directory.iterdir()):
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                log.info("removing leftover temporary file %s", entry)
                try:
                    entry.unlink(missing_ok=True)
                except OSError as exc:  # a read-only directory: leave it, it is never read
                    log.warning("cannot remove %s: %s", entry, exc.strerror or exc)
                continue
            if entry.suffix != SUFFIX:
                continue
            if entry.is_symlink() or not entry.is_file():
                # never followed: a link's target (any file on the host) must not be read
                log.warning("skipping %s: not a regular file", entry)
                continue
            try:
                out.append((entry, entry.read_bytes().decode("utf-8")))
            except UnicodeDecodeError as exc:
                log.warning("skipping %s: not UTF-8 (byte %d)", entry, exc.start)
            except OSError as exc:
                log.warning("skipping %s: %s", entry, exc.strerror or exc)
        return out


def unusable_state_error(exc: OSError) -> LibvirtError:
    """What a host whose directory cannot be made or read answers CONNECT_OPEN with.

    libvirtd refuses to start when a driver cannot create or open its directories
    ("Failed to create state dir PATH", "cannot open directory 'PATH'", both
    SYSTEM_ERROR); per connection, the closest is that error for the open. Existing
    directories that are only read-only are fine: the host opens and its changes fail.
    """
    path = exc.filename
    code = exc.errno
    if isinstance(exc, FileExistsError):
        code = errno.ENOTDIR  # g_mkdir_with_parents on a path that is not a directory
    reason = os.strerror(code) if code else str(exc)
    if path is not None and Path(path).is_dir():
        return LibvirtError.make(
            ErrorCode.SYSTEM_ERROR, ErrorDomain.NONE, f"cannot open directory '{path}': {reason}"
        )
    return LibvirtError.make(
        ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, f"Failed to create state dir {path}: {reason}"
    )
