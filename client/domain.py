"""Domain handles of the asyncio client: one async method per domain procedure.

A :class:`Domain` is what libvirt calls a ``virDomainPtr``: a (name, UUID, id) triple the
daemon resolves by UUID on every call, plus the connection it belongs to. Like libvirt's
remote driver it caches the id: CREATE is followed by a lookup by UUID to learn the new id
(the void CREATE reply does not carry it), DESTROY sets it to -1.
"""

from __future__ import annotations

import uuid as _uuid
from typing import TYPE_CHECKING, Any

from virtwire.protocol.events import DomainRef
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.records import DomainInfo

if TYPE_CHECKING:
    from virtwire.client.connection import Connection

__all__ = ["Domain", "DomainInfo"]

P = rp.RemoteProcedure


def _chars_to_str(chars: Any) -> str:
    """``char x[N]`` / ``char x<N>`` arrive as lists of ints (one per 4-byte word)."""
    if isinstance(chars, str):
        return chars.split("\0", 1)[0]
    data = bytes((c & 0xFF) for c in chars)
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


class Domain:
    """A domain of one :class:`~virtwire.client.connection.Connection`."""

    __slots__ = ("conn", "_ref")

    def __init__(self, conn: Connection, ref: DomainRef) -> None:
        self.conn = conn
        self._ref = ref

    # --- identity (local, no round trip) ---------------------------------------------------

    @property
    def ref(self) -> DomainRef:
        return self._ref

    @property
    def name(self) -> str:
        return self._ref.name

    @property
    def uuid(self) -> bytes:
        return self._ref.uuid

    @property
    def uuid_string(self) -> str:
        return str(_uuid.UUID(bytes=self._ref.uuid))

    @property
    def id(self) -> int:
        return self._ref.id

    def _set_id(self, new_id: int) -> None:
        self._ref = DomainRef(self._ref.name, self._ref.uuid, new_id)

    def _wire(self) -> Any:
        return rp.RemoteNonnullDomain(name=self._ref.name, uuid=self._ref.uuid, id=self._ref.id)

    def __repr__(self) -> str:
        return f"<Domain {self.name!r} id={self.id} uuid={self.uuid_string}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Domain) and other._ref.uuid == self._ref.uuid

    def __hash__(self) -> int:
        return hash(self._ref.uuid)

    async def _call(self, proc: int, args: Any = None) -> Any:
        return await self.conn.call(proc, args)

    # --- life cycle --------------------------------------------------------------------------

    async def create(self, flags: int = 0) -> None:
        """Start a defined domain (CREATE, or CREATE_WITH_FLAGS when flags are given)."""
        if flags:
            ret = await self._call(
                P.REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS,
                rp.RemoteDomainCreateWithFlagsArgs(dom=self._wire(), flags=flags),
            )
            self._set_id(ret.dom.id)
            return
        await self._call(P.REMOTE_PROC_DOMAIN_CREATE, rp.RemoteDomainCreateArgs(dom=self._wire()))
        # As libvirt's remote driver: the void reply does not carry the new id.
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, rp.RemoteDomainLookupByUuidArgs(uuid=self.uuid)
        )
        self._set_id(ret.dom.id)

    async def destroy(self, flags: int = 0) -> None:
        if flags:
            await self._call(
                P.REMOTE_PROC_DOMAIN_DESTROY_FLAGS,
                rp.RemoteDomainDestroyFlagsArgs(dom=self._wire(), flags=flags),
            )
        else:
            await self._call(
                P.REMOTE_PROC_DOMAIN_DESTROY, rp.RemoteDomainDestroyArgs(dom=self._wire())
            )
        self._set_id(-1)

    async def suspend(self) -> None:
        await self._call(P.REMOTE_PROC_DOMAIN_SUSPEND, rp.RemoteDomainSuspendArgs(dom=self._wire()))

    async def resume(self) -> None:
        await self._call(P.REMOTE_PROC_DOMAIN_RESUME, rp.RemoteDomainResumeArgs(dom=self._wire()))

    async def shutdown(self, flags: int = 0) -> None:
        if flags:
            await self._call(
                P.REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS,
                rp.RemoteDomainShutdownFlagsArgs(dom=self._wire(), flags=flags),
            )
        else:
            await self._call(
                P.REMOTE_PROC_DOMAIN_SHUTDOWN, rp.RemoteDomainShutdownArgs(dom=self._wire())
            )

    async def reboot(self, flags: int = 0) -> None:
        await self._call(
            P.REMOTE_PROC_DOMAIN_REBOOT, rp.RemoteDomainRebootArgs(dom=self._wire(), flags=flags)
        )

    async def undefine(self, flags: int = 0) -> None:
        if flags:
            await self._call(
                P.REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS,
                rp.RemoteDomainUndefineFlagsArgs(dom=self._wire(), flags=flags),
            )
        else:
            await self._call(
                P.REMOTE_PROC_DOMAIN_UNDEFINE, rp.RemoteDomainUndefineArgs(dom=self._wire())
            )

    # --- queries -----------------------------------------------------------------------------

    async def info(self) -> DomainInfo:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_INFO, rp.RemoteDomainGetInfoArgs(dom=self._wire())
        )
        return DomainInfo(ret.state, ret.maxMem, ret.memory, ret.nrVirtCpu, ret.cpuTime)

    async def state(self, flags: int = 0) -> tuple[int, int]:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_STATE,
            rp.RemoteDomainGetStateArgs(dom=self._wire(), flags=flags),
        )
        return ret.state, ret.reason

    async def xml_desc(self, flags: int = 0) -> str:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_XML_DESC,
            rp.RemoteDomainGetXmlDescArgs(dom=self._wire(), flags=flags),
        )
        return ret.xml

    async def os_type(self) -> str:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_OS_TYPE, rp.RemoteDomainGetOsTypeArgs(dom=self._wire())
        )
        return ret.type

    async def max_memory(self) -> int:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_MAX_MEMORY, rp.RemoteDomainGetMaxMemoryArgs(dom=self._wire())
        )
        return ret.memory

    async def vcpus_flags(self, flags: int = 0) -> int:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS,
            rp.RemoteDomainGetVcpusFlagsArgs(dom=self._wire(), flags=flags),
        )
        return ret.num

    async def is_active(self) -> bool:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_IS_ACTIVE, rp.RemoteDomainIsActiveArgs(dom=self._wire())
        )
        return bool(ret.active)

    async def is_persistent(self) -> bool:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_IS_PERSISTENT, rp.RemoteDomainIsPersistentArgs(dom=self._wire())
        )
        return bool(ret.persistent)

    async def autostart(self) -> bool:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_AUTOSTART, rp.RemoteDomainGetAutostartArgs(dom=self._wire())
        )
        return bool(ret.autostart)

    async def set_autostart(self, autostart: bool) -> None:
        await self._call(
            P.REMOTE_PROC_DOMAIN_SET_AUTOSTART,
            rp.RemoteDomainSetAutostartArgs(dom=self._wire(), autostart=int(bool(autostart))),
        )

    async def has_managed_save_image(self, flags: int = 0) -> bool:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE,
            rp.RemoteDomainHasManagedSaveImageArgs(dom=self._wire(), flags=flags),
        )
        return bool(ret.result)

    async def security_label(self) -> tuple[str, int]:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL,
            rp.RemoteDomainGetSecurityLabelArgs(dom=self._wire()),
        )
        return _chars_to_str(ret.label), ret.enforcing

    async def messages(self, flags: int = 0) -> list[str]:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_GET_MESSAGES,
            rp.RemoteDomainGetMessagesArgs(dom=self._wire(), flags=flags),
        )
        return list(ret.msgs)

    async def snapshot_num(self, flags: int = 0) -> int:
        ret = await self._call(
            P.REMOTE_PROC_DOMAIN_SNAPSHOT_NUM,
            rp.RemoteDomainSnapshotNumArgs(dom=self._wire(), flags=flags),
        )
        return ret.num

    # --- devices and memory ------------------------------------------------------------------

    async def attach_device(self, xml: str, flags: int | None = None) -> None:
        """ATTACH_DEVICE (flags None) or ATTACH_DEVICE_FLAGS."""
        if flags is None:
            await self._call(
                P.REMOTE_PROC_DOMAIN_ATTACH_DEVICE,
                rp.RemoteDomainAttachDeviceArgs(dom=self._wire(), xml=xml),
            )
        else:
            await self._call(
                P.REMOTE_PROC_DOMAIN_ATTACH_DEVICE_FLAGS,
                rp.RemoteDomainAttachDeviceFlagsArgs(dom=self._wire(), xml=xml, flags=flags),
            )

    async def detach_device(self, xml: str, flags: int | None = None) -> None:
        """DETACH_DEVICE (flags None) or DETACH_DEVICE_FLAGS."""
        if flags is None:
            await self._call(
                P.REMOTE_PROC_DOMAIN_DETACH_DEVICE,
                rp.RemoteDomainDetachDeviceArgs(dom=self._wire(), xml=xml),
            )
        else:
            await self._call(
                P.REMOTE_PROC_DOMAIN_DETACH_DEVICE_FLAGS,
                rp.RemoteDomainDetachDeviceFlagsArgs(dom=self._wire(), xml=xml, flags=flags),
            )

    async def detach_device_alias(self, alias: str, flags: int = 0) -> None:
        await self._call(
            P.REMOTE_PROC_DOMAIN_DETACH_DEVICE_ALIAS,
            rp.RemoteDomainDetachDeviceAliasArgs(dom=self._wire(), alias=alias, flags=flags),
        )

    async def set_memory(self, kib: int, flags: int | None = None) -> None:
        """SET_MEMORY (flags None) or SET_MEMORY_FLAGS; size in KiB."""
        if flags is None:
            await self._call(
                P.REMOTE_PROC_DOMAIN_SET_MEMORY,
                rp.RemoteDomainSetMemoryArgs(dom=self._wire(), memory=kib),
            )
        else:
            await self._call(
                P.REMOTE_PROC_DOMAIN_SET_MEMORY_FLAGS,
                rp.RemoteDomainSetMemoryFlagsArgs(dom=self._wire(), memory=kib, flags=flags),
            )

    async def set_max_memory(self, kib: int) -> None:
        await self._call(
            P.REMOTE_PROC_DOMAIN_SET_MAX_MEMORY,
            rp.RemoteDomainSetMaxMemoryArgs(dom=self._wire(), memory=kib),
        )
