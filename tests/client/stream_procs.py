"""The stream procedures and their args, from the registry (names, numbers, codecs)."""

from __future__ import annotations

from virtwire.protocol import procedures
from virtwire.protocol.generated import remote_protocol as TYPES  # noqa: N812

STORAGE_VOL_UPLOAD = procedures.by_name("REMOTE_PROC_STORAGE_VOL_UPLOAD")
STORAGE_VOL_DOWNLOAD = procedures.by_name("REMOTE_PROC_STORAGE_VOL_DOWNLOAD")
DOMAIN_SCREENSHOT = procedures.by_name("REMOTE_PROC_DOMAIN_SCREENSHOT")


def screenshot_args(dom, screen: int = 0, flags: int = 0):
    wire = TYPES.RemoteNonnullDomain(name=dom.name, uuid=bytes(dom.uuid), id=dom.id)
    return TYPES.RemoteDomainScreenshotArgs(dom=wire, screen=screen, flags=flags)


def vol_args(pool: str, name: str, key: str, offset: int = 0, length: int = 0, flags: int = 0):
    vol = TYPES.RemoteNonnullStorageVol(pool=pool, name=name, key=key)
    return TYPES.RemoteStorageVolUploadArgs(vol=vol, offset=offset, length=length, flags=flags)
