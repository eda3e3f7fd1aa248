"""What a guest tells about itself: hostname and clock (libvirt 9.0's test driver).

``testDomainGetHostname`` answers ``NAMEhost`` for a running domain; the guest clock is
kept per domain object (``testDomainObjPrivate``: it starts at 627319920 s and survives a
restart of the domain), set by ``domtime --time``/``--sync`` and read back as set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.model import DomainState

if TYPE_CHECKING:
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["TestGuestInfo"]

Dom = rp.RemoteNonnullDomain

TEST_GUEST_EPOCH = 627319920  # testDomainObjPrivateAlloc's priv->seconds
VIR_DOMAIN_TIME_SYNC = 1


class TestGuestInfo:
    """domhostname and domtime as the test driver answers them."""

    if TYPE_CHECKING:  # provided by Driver

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def not_running(self) -> LibvirtError: ...

    def guest_clocks(self) -> dict[bytes, tuple[int, int]]:
        clocks = self.__dict__.get("_guest_clocks")
        if clocks is None:
            clocks = self.__dict__["_guest_clocks"] = {}
        return clocks

    def domain_get_hostname(self, dom: Dom, flags: int = 0) -> str:
        self.check_flags(flags, 0, "testDomainGetHostname")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        return f"{dom.name}host"

    def domain_get_time(self, dom: Dom, flags: int = 0) -> tuple[int, int]:
        self.check_flags(flags, 0, "testDomainGetTime")
        obj = self.find(dom)
        if obj.state != DomainState.RUNNING:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is not running")
        return self.guest_clocks().get(obj.uuid, (TEST_GUEST_EPOCH, 0))

    def domain_set_time(self, dom: Dom, seconds: int, nseconds: int, flags: int = 0) -> None:
        self.check_flags(flags, VIR_DOMAIN_TIME_SYNC, "testDomainSetTime")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        self.guest_clocks()[obj.uuid] = (seconds, nseconds)
