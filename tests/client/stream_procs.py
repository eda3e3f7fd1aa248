"""Procedure entries for the stream procedures, from the registry once our .x covers them,
else from ``stream_procs.x`` through the dynamic loader (same numbers and layouts)."""

from __future__ import annotations

from pathlib import Path

from virtwire.protocol import procedures
from virtwire.protocol.constants import PROTOCOL_VERSION, REMOTE_PROGRAM

from virtwire import xdr

TYPES = xdr.load(Path(__file__).with_name("stream_procs.x"))


def _procedure(name: str, number: int) -> procedures.Procedure:
    known = procedures.by_name(f"REMOTE_PROC_{name}")
    if known is not None:
        return known
    stem = f"remote_{name.lower()}"
    return procedures.Procedure(
        REMOTE_PROGRAM,
        PROTOCOL_VERSION,
        number,
        f"REMOTE_PROC_{name}",
        TYPES.CODECS.get(f"{stem}_args"),
        TYPES.CODECS.get(f"{stem}_ret"),
        None,
    )


STORAGE_VOL_UPLOAD = _procedure("STORAGE_VOL_UPLOAD", 208)
STORAGE_VOL_DOWNLOAD = _procedure("STORAGE_VOL_DOWNLOAD", 209)
DOMAIN_SCREENSHOT = _procedure("DOMAIN_SCREENSHOT", 211)


def screenshot_args(dom, screen: int = 0, flags: int = 0):
    wire = TYPES.RemoteNonnullDomain(name=dom.name, uuid=bytes(dom.uuid), id=dom.id)
    return TYPES.RemoteDomainScreenshotArgs(dom=wire, screen=screen, flags=flags)


def vol_args(pool: str, name: str, key: str, offset: int = 0, length: int = 0, flags: int = 0):
    vol = TYPES.RemoteNonnullStorageVol(pool=pool, name=name, key=key)
    return TYPES.RemoteStorageVolUploadArgs(vol=vol, offset=offset, length=length, flags=flags)
