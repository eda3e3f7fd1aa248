"""The driver API the daemon's dispatch calls (docs/internals.md, "The driver API").

``Driver`` holds what libvirt's test and QEMU drivers share (domain list, lookups, info,
XML, flag handling); the subclasses decide error texts, event order and device support.
Methods are synchronous: events are only *queued* on ``self.events``; the EventState's
scheduler delivers them on a later loop turn, as libvirt's zero-delay timer does.
"""

from __future__ import annotations

import copy
import logging
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_state import EventState
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain as Dom
from virtwire.protocol.records import DomainInfo, NodeInfo
from virtwire.server.hypervisor import domxml, offload
from virtwire.server.hypervisor.domxml import DomainDef
from virtwire.server.hypervisor.driver_api import LIB_VERSION
from virtwire.server.hypervisor.model import (
    MEM_MAXIMUM,
    XML_INACTIVE,
    DomainObj,
    DomainState,
    ListFlags,
    ModificationImpact,
    ShutoffReason,
)
from virtwire.server.hypervisor.xmllimits import INT_MAX, LIBXML_MAX_DEPTH

log = logging.getLogger("virtwire.server")


# Lifecycle event and detail numbers (spec §3.6).
DEFINED, UNDEFINED, STARTED, SUSPENDED, RESUMED, STOPPED, SHUTDOWN = range(7)
DEFINED_ADDED, DEFINED_UPDATED = 0, 1
UNDEFINED_REMOVED = 0
STARTED_BOOTED = 0
SUSPENDED_PAUSED = 0
RESUMED_UNPAUSED = 0
STOPPED_SHUTDOWN, STOPPED_DESTROYED = 0, 1
SHUTDOWN_FINISHED, SHUTDOWN_GUEST, SHUTDOWN_HOST = 0, 1, 2


class Driver:
    """A simulated host behind one URI."""

    uri: str = ""
    type_name: str = ""
    # the Procedure.driver kinds this object serves (network, storage, ...: none yet)
    kinds: frozenset[str] = frozenset({"hypervisor"})
    features: frozenset[int] = frozenset()  # connectSupportsFeature's answers
    # secondary-object event registrations the host accepts (libvirt's test driver: these)
    other_event_kinds: frozenset[str] = frozenset({"network", "storage", "nodedev"})
    fn_prefix: str = ""  # libvirt's C function prefix ("test", "qemu") for flag errors
    error_domain: ErrorDomain = ErrorDomain.NONE
    virt_types: tuple[str, ...] = ()
    default_arch: str = "x86_64"

    def __init__(self, uri: str, schedule: Callable[[Callable[[], None]], object]) -> None:
        self.uri = uri
        self.events = EventState(schedule)
        self.domains: dict[bytes, DomainObj] = {}
        self.next_id = 1

    # -- errors ------------------------------------------------------------------------

    def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError:
        return LibvirtError.make(code, self.error_domain, detail)

    @staticmethod
    def conf_error(code: ErrorCode, detail: str | None = None) -> LibvirtError:
        """An error raised by libvirt's domain-config layer (domain DOMAIN)."""
        return LibvirtError.make(code, ErrorDomain.DOMAIN, detail)

    def not_running(self) -> LibvirtError:
        return self.conf_error(ErrorCode.OPERATION_INVALID, "domain is not running")

    def lookup_error(self, kind: str, key: object) -> LibvirtError:
        """Lookup miss; the test driver gives no detail, QEMU overrides."""
        return self.error(ErrorCode.NO_DOMAIN)

    def check_flags(self, flags: int, allowed: int, function: str) -> None:
        """libvirt's virCheckFlags: virReportInvalidArg's fields (no "invalid argument: "
        prefix; str1 the function, str2 "flags", ints 0), as libvirtd 9.0 sends them.
        ``allowed`` may be an IntFlag, whose ``~`` stays inside its members: int first."""
        unknown = int(flags) & ~int(allowed)
        if unknown:
            raise LibvirtError(
                ErrorCode.INVALID_ARG,
                self.error_domain,
                f"unsupported flags (0x{unknown:x}) in function {function}",
                str1=function,
                str2="flags",
                int1=0,
                int2=0,
            )

    # -- connection-level ----------------------------------------------------------------

    def connect_get_type(self) -> str:
        return self.type_name

    def connect_get_version(self) -> int:
        raise NotImplementedError

    def connect_get_lib_version(self) -> int:
        return LIB_VERSION

    def connect_get_hostname(self) -> str:
        return socket.gethostname()

    def connect_get_capabilities(self) -> str:
        raise NotImplementedError

    def connect_supports_feature(self, feature: int) -> int:
        """What the driver answers for a feature the daemon does not answer itself."""
        return int(feature in self.features)

    def connect_is_secure(self) -> int:
        return 1  # the simulated hosts are local: no data leaves the machine

    def node_get_info(self) -> NodeInfo:
        raise NotImplementedError

    def node_get_security_model(self) -> tuple[str, str]:
        raise NotImplementedError

    # -- events ----------------------------------------------------------------------------

    def emit(self, event: object) -> None:
        if not offload.hold(self.events.queue, event):
            self.events.queue(event)

    def lifecycle(self, obj: DomainObj, event: int, detail: int) -> None:
        self.emit(ev.LifecycleEvent(obj.ref(), event, detail))

    # -- domain list ------------------------------------------------------------------------

    def find(self, dom: Dom | ev.DomainRef) -> DomainObj:
        """Find by UUID as libvirt does; the name only appears in the error text."""
        obj = self.domains.get(bytes(dom.uuid))
        if obj is None:
            raise self.error(
                ErrorCode.NO_DOMAIN,
                f"no domain with matching uuid '{domxml.uuid_str(bytes(dom.uuid))}' ({dom.name})",
            )
        return obj

    def _sorted(self) -> list[DomainObj]:
        return sorted(self.domains.values(), key=lambda o: (o.id < 0, o.id, o.name))

    def connect_list_all_domains(self, flags: int = 0) -> list[Dom]:
        return [obj.handle() for obj in self._sorted() if _matches_filter(obj, flags)]

    def connect_num_of_domains(self) -> int:
        return sum(1 for o in self.domains.values() if o.active)

    def connect_list_domains(self, maxids: int) -> list[int]:
        return [o.id for o in self._sorted() if o.active][: max(maxids, 0)]

    def connect_num_of_defined_domains(self) -> int:
        return sum(1 for o in self.domains.values() if not o.active)

    def connect_list_defined_domains(self, maxnames: int) -> list[str]:
        names = sorted(o.name for o in self.domains.values() if not o.active)
        return names[: max(maxnames, 0)]

    def domain_lookup_by_name(self, name: str) -> Dom:
        for obj in self.domains.values():
            if obj.name == name:
                return obj.handle()
        raise self.lookup_error("name", name)

    def domain_lookup_by_uuid(self, uuid: bytes) -> Dom:
        obj = self.domains.get(bytes(uuid))
        if obj is None:
            raise self.lookup_error("uuid", bytes(uuid))
        return obj.handle()

    def domain_lookup_by_id(self, id: int) -> Dom:  # noqa: A002 - libvirt's name
        for obj in self.domains.values():
            if obj.active and obj.id == id:
                return obj.handle()
        raise self.lookup_error("id", id)

    # -- define / undefine --------------------------------------------------------------------

    def parse(self, xml: str, max_depth: int = LIBXML_MAX_DEPTH) -> DomainDef:
        ddef = domxml.parse_domain(xml, self.virt_types, self.default_arch, max_depth)
        self.check_vcpu_limit(ddef)
        domxml.apply_defaults(ddef)
        return ddef

    def check_vcpu_limit(self, ddef: DomainDef) -> None:
        """The host's validation of the vCPU count (the test driver has none)."""

    def _check_clash(self, ddef: DomainDef, *, live: bool) -> DomainObj | None:
        """virDomainObjListAdd's checks; returns the existing object with this UUID."""
        existing = self.domains.get(ddef.uuid)
        if existing is not None:
            if existing.name != ddef.name:
                raise self.conf_error(
                    ErrorCode.OPERATION_FAILED,
                    f"domain '{existing.name}' is already defined with uuid {domxml.uuid_str(ddef.uuid)}",
                )
            if live and existing.active:
                raise self.conf_error(
                    ErrorCode.OPERATION_INVALID, f"domain '{existing.name}' is already active"
                )
            return existing
        for other in self.domains.values():
            if other.name == ddef.name:
                raise self.conf_error(
                    ErrorCode.OPERATION_FAILED,
                    f"domain '{other.name}' already exists with uuid {domxml.uuid_str(other.uuid)}",
                )
        return None

    def domain_define_xml(self, xml: str) -> Dom:
        return self.domain_define_xml_flags(xml, 0)

    def domain_define_xml_flags(self, xml: str, flags: int = 0) -> Dom:
        self.check_flags(flags, 1, f"{self.fn_prefix}DomainDefineXMLFlags")  # VALIDATE
        ddef = self.parse(xml)
        existing = self._check_clash(ddef, live=False)
        # Saved before it becomes visible: a failed write leaves no half-defined domain.
        if existing is None:
            obj = DomainObj(config=ddef, persistent=True)
            self.save(obj)
            self.domains[ddef.uuid] = obj
            detail = DEFINED_ADDED
        else:
            obj = existing
            self.save(obj, ddef)
            detail = DEFINED_UPDATED if obj.persistent else DEFINED_ADDED
            obj.config = ddef
            obj.persistent = True
        self.lifecycle(obj, DEFINED, detail)
        return obj.handle()

    def domain_undefine(self, dom: Dom) -> None:
        self.domain_undefine_flags(dom, 0)

    def domain_undefine_flags(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0x7F, f"{self.fn_prefix}DomainUndefineFlags")
        obj = self.find(dom)
        if not obj.persistent:
            raise self.error(ErrorCode.OPERATION_INVALID, "cannot undefine transient domain")
        self.unsave(obj)
        self.lifecycle(obj, UNDEFINED, UNDEFINED_REMOVED)
        if obj.active:
            obj.persistent = False
        else:
            del self.domains[obj.uuid]

    # persistence hooks: the test driver keeps nothing on disk
    def save(self, obj: DomainObj, config: DomainDef | None = None) -> None:
        """Store ``config`` (default: the object's own) as the domain's persistent definition."""
        return None

    def unsave(self, obj: DomainObj) -> None:
        return None

    # -- start / stop ------------------------------------------------------------------------------

    def make_live(self, obj: DomainObj, ddef: DomainDef | None = None) -> None:
        """Turn the (copied) definition into the running domain's live definition."""
        obj.live = (ddef or obj.config).copy()
        obj.id = self.next_id
        self.next_id += 1
        obj.started_ns = time.monotonic_ns()
        self.decorate_live(obj.live)

    def decorate_live(self, live: DomainDef) -> None:
        """Add what only a running domain has (aliases, addresses); drivers override."""

    def stop(self, obj: DomainObj, reason: int) -> None:
        obj.live = None
        obj.id = -1
        obj.state = DomainState.SHUTOFF
        obj.reason = reason

    def forget_if_transient(self, obj: DomainObj) -> None:
        if not obj.persistent and not obj.active:
            self.domains.pop(obj.uuid, None)

    def domain_create(self, dom: Dom) -> None:
        self.domain_create_with_flags(dom, 0)

    def domain_create_with_flags(self, dom: Dom, flags: int = 0) -> Dom:
        raise NotImplementedError

    def domain_create_xml(self, xml_desc: str, flags: int = 0) -> Dom:
        raise NotImplementedError

    def domain_destroy(self, dom: Dom) -> None:
        self.domain_destroy_flags(dom, 0)

    def domain_shutdown(self, dom: Dom) -> None:
        self.domain_shutdown_flags(dom, 0)

    def domain_destroy_flags(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 1, f"{self.fn_prefix}DomainDestroyFlags")  # GRACEFUL
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        self.stop(obj, ShutoffReason.DESTROYED)
        self.lifecycle(obj, STOPPED, STOPPED_DESTROYED)
        self.forget_if_transient(obj)

    # -- info ------------------------------------------------------------------------------------------

    def domain_get_info(self, dom: Dom) -> DomainInfo:
        obj = self.find(dom)
        cur = obj.current
        # virDomainInfo.nrVirtCpu is an unsigned short: C keeps the low 16 bits (libvirtd
        # 9.0 answers 1 for a domain of 65537 vCPUs)
        return DomainInfo(
            int(obj.state),
            cur.total_memory(),
            cur.current_memory,
            cur.vcpus & 0xFFFF,
            obj.cpu_time(),
        )

    def domain_get_state(self, dom: Dom, flags: int = 0) -> tuple[int, int]:
        obj = self.find(dom)
        return int(obj.state), int(obj.reason)

    def domain_get_xml_desc(self, dom: Dom, flags: int = 0) -> str:
        return domxml.format_xml(self.domain_xml_desc_tree(dom, flags))

    def domain_xml_desc_tree(self, dom: Dom, flags: int = 0) -> ET.Element:
        """What getXMLDesc formats (the handler formats a large one off the loop)."""
        self.check_flags(flags, 0xF, f"{self.fn_prefix}DomainGetXMLDesc")
        obj = self.find(dom)
        if flags & XML_INACTIVE or not obj.active:
            ddef = obj.config
            ddef.sync_tree()
            return ddef.tree
        live = obj.live
        assert live is not None
        live.sync_tree()
        tree = copy.copy(live.tree)  # only the root's attributes differ: children shared
        attrs = dict(tree.attrib)
        tree.attrib.clear()
        tree.set("type", attrs.pop("type", live.virt_type))
        tree.set("id", str(obj.id))
        tree.attrib.update(attrs)
        return tree

    def domain_get_os_type(self, dom: Dom) -> str:
        return self.find(dom).current.os_type

    def domain_is_active(self, dom: Dom) -> bool:
        return self.find(dom).active

    def domain_is_persistent(self, dom: Dom) -> bool:
        return self.find(dom).persistent

    def domain_get_autostart(self, dom: Dom) -> bool:
        return self.find(dom).autostart

    def domain_has_managed_save_image(self, dom: Dom, flags: int = 0) -> bool:
        self.find(dom)
        return False

    def domain_get_security_label(self, dom: Dom) -> tuple[str, int]:
        self.find(dom)
        return "", 0

    def domain_get_messages(self, dom: Dom, flags: int = 0) -> list[str]:
        self.find(dom)
        return []

    def domain_snapshot_num(self, dom: Dom, flags: int = 0) -> int:
        self.find(dom)
        return 0

    # -- flags helper -------------------------------------------------------------------------------------

    def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]:
        """virDomainObjUpdateModificationImpact: resolve CURRENT, check LIVE/CONFIG."""
        live = bool(flags & ModificationImpact.LIVE)
        config = bool(flags & ModificationImpact.CONFIG)
        if not live and not config:
            live, config = obj.active, not obj.active
        if live and not obj.active:
            raise self.not_running()
        if config and not obj.persistent:
            raise self.conf_error(
                ErrorCode.OPERATION_INVALID, "transient domains do not have any persistent config"
            )
        return live, config

    # -- devices: driver specific (a host without a member answers NO_SUPPORT) ---------------------

    # -- memory ------------------------------------------------------------------------------------------

    set_memory_function = "virDomainSetMemoryFlags"

    def domain_set_memory(self, dom: Dom, memory: int) -> None:
        """virDomainSetMemory: SetMemoryFlags(AFFECT_LIVE) in every driver."""
        self.domain_set_memory_flags(dom, memory, ModificationImpact.LIVE)

    def domain_set_memory_flags(self, dom: Dom, kib: int, flags: int = 0) -> None:
        """virDomainSetMemoryFlags: balloon target (or, with MEM_MAXIMUM, the config maximum)."""
        obj = self.find(dom)
        self.check_flags(flags, 0x7, self.set_memory_function)
        live, config = self.impact(obj, flags)
        if flags & MEM_MAXIMUM:
            if live:
                raise self.error(
                    ErrorCode.OPERATION_INVALID,
                    "cannot resize the maximum memory on an active domain",
                )
            new = obj.config.copy()
            devs = new.total_memory() - new.base_memory
            if kib < devs:
                raise self.error(
                    ErrorCode.INVALID_ARG, "maximum memory is smaller than the memory devices"
                )
            new.base_memory = kib - devs
            new.current_memory = min(new.current_memory, new.total_memory())
            self.save(obj, new)
            obj.config = new
            return
        for ddef in ([obj.live] if live and obj.live else []) + ([obj.config] if config else []):
            if kib > ddef.total_memory():
                raise self.error(ErrorCode.INVALID_ARG, "cannot set memory higher than max memory")
        if config:
            new = obj.config.copy()
            new.current_memory = kib
            self.save(obj, new)
            obj.config = new
        if live and obj.live:
            obj.live.current_memory = kib
            self.on_balloon(obj, kib)

    def domain_set_max_memory(self, dom: Dom, kib: int) -> None:
        """virDomainSetMaxMemory: SetMemoryFlags(MEM_MAXIMUM) with CURRENT impact."""
        self.domain_set_memory_flags(dom, kib, MEM_MAXIMUM)

    def domain_get_max_memory(self, dom: Dom) -> int:
        return self.find(dom).current.total_memory()

    def domain_get_vcpus_flags(self, dom: Dom, flags: int = 0) -> int:
        """virDomainGetVcpusFlags; the simulated guests always run all their vCPUs."""
        self.check_flags(flags, 0xF, f"{self.fn_prefix}DomainGetVcpusFlags")
        obj = self.find(dom)
        live, config = self.impact(obj, flags & 0x3)
        ddef = obj.config if config else obj.current
        count = ddef.max_vcpus if flags & 0x4 else ddef.vcpus  # VIR_DOMAIN_VCPU_MAXIMUM
        if count > INT_MAX:
            # the driver's int return is negative: an error no one reported, which
            # virDispatchError turns into its generic failure
            raise LibvirtError(
                ErrorCode.INTERNAL_ERROR,
                ErrorDomain.NONE,
                "An error occurred, but the cause is unknown",
            )
        return count

    def connect_get_max_vcpus(self, virt_type: str | None) -> int:
        return 255

    def domain_set_autostart(self, dom: Dom, autostart: int) -> None:
        obj = self.find(dom)
        if not obj.persistent:
            raise self.error(
                ErrorCode.OPERATION_INVALID, "cannot set autostart for transient domain"
            )
        enabled = bool(autostart)
        self.save_autostart(obj, enabled)  # may fail: the flag changes only once stored
        obj.autostart = enabled

    def save_autostart(self, obj: DomainObj, enabled: bool) -> None:
        """Hook: persist the autostart flag (QEMU keeps it on disk)."""

    def on_balloon(self, obj: DomainObj, kib: int) -> None:
        """Hook: the guest's balloon reached ``kib`` (QEMU reports BALLOON_CHANGE)."""

    # -- lifetime ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Called by the registry when the host goes away."""

    def connection_closed(self, owner: object) -> None:
        """Hook: a client connection of this host closed (libvirt's close callbacks: what
        that connection left half done, such as an incoming migration, is cleaned up)."""


def _matches_filter(obj: DomainObj, flags: int) -> bool:
    f = ListFlags(flags & 0x3FFF) if flags else ListFlags(0)

    def group(a: ListFlags, b: ListFlags, va: bool) -> bool:
        if f & a and f & b:
            return True
        if f & a:
            return va
        if f & b:
            return not va
        return True

    if not group(ListFlags.ACTIVE, ListFlags.INACTIVE, obj.active):
        return False
    if not group(ListFlags.PERSISTENT, ListFlags.TRANSIENT, obj.persistent):
        return False
    if not group(ListFlags.AUTOSTART, ListFlags.NO_AUTOSTART, obj.autostart):
        return False
    if not group(ListFlags.MANAGEDSAVE, ListFlags.NO_MANAGEDSAVE, False):
        return False
    if not group(ListFlags.HAS_SNAPSHOT, ListFlags.NO_SNAPSHOT, False):
        return False
    state_flags = f & (ListFlags.RUNNING | ListFlags.PAUSED | ListFlags.SHUTOFF | ListFlags.OTHER)
    if state_flags:
        st = obj.state
        ok = (
            (f & ListFlags.RUNNING and st == DomainState.RUNNING)
            or (f & ListFlags.PAUSED and st == DomainState.PAUSED)
            or (f & ListFlags.SHUTOFF and st == DomainState.SHUTOFF)
            or (
                f & ListFlags.OTHER
                and st not in (DomainState.RUNNING, DomainState.PAUSED, DomainState.SHUTOFF)
            )
        )
        if not ok:
            return False
    return True
