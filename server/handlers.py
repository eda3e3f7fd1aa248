"""The remote program's procedures: wire structs ↔ driver API calls.

Each handler takes the session and the decoded ``*_args`` struct (None for void args)
and returns the ``*_ret`` struct (None for void). They are thin on purpose: the driver
(``virtwire.server.hypervisor``) owns the semantics and raises libvirt's errors; the
handlers only do what libvirtd's dispatch code does around the API call (connection
state, the prologue's special features, list limits, event registration, the read-only
GET_XML_DESC flag check).

Like libvirtd, a ``remote_nonnull_domain`` from the wire is turned into a handle without a
lookup; the driver finds the domain by UUID.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from virtwire.protocol.constants import Feature
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.events import DomainRef
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.dispatch import ProcedureHandler, make_entry, rpc_error

if TYPE_CHECKING:
    from virtwire.server.session import ClientSession

__all__ = ["HANDLERS", "build_table", "LIB_VERSION"]

log = logging.getLogger("virtwire.server")

LIB_VERSION = 9_000_000
"""What CONNECT_GET_LIB_VERSION reports: the libvirt release whose behaviour we follow."""

REMOTE_DOMAIN_LIST_MAX = 16384
VIR_CONNECT_RO = 1
VIR_DOMAIN_AFFECT_LIVE = 1
VIR_DOMAIN_XML_SECURE = 1
VIR_DOMAIN_XML_MIGRATABLE = 8

# Features the daemon answers itself once a connection is open (remoteDispatchConnectSupportsFeature).
_DAEMON_FEATURES = frozenset(
    {Feature.FD_PASSING, Feature.REMOTE_EVENT_CALLBACK, Feature.REMOTE_CLOSE_CALLBACK}
)
# What libvirt's own drivers answer when asked (testConnectSupportsFeature, qemu's list).
_DRIVER_FEATURES: dict[str, frozenset[int]] = {
    "TEST": frozenset({Feature.TYPED_PARAM_STRING, Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER}),
    "QEMU": frozenset(
        {
            Feature.MIGRATION_V2,
            Feature.MIGRATION_V3,
            Feature.MIGRATION_P2P,
            Feature.MIGRATE_CHANGE_PROTECTION,
            Feature.TYPED_PARAM_STRING,
            Feature.XML_MIGRATABLE,
            Feature.MIGRATION_OFFLINE,
            Feature.MIGRATION_PARAMS,
            Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER,
        }
    ),
}


def _dom(wire: Any) -> DomainRef:
    return DomainRef(wire.name, wire.uuid, wire.id)


def _wire(ref: Any) -> Any:
    return rp.RemoteNonnullDomain(name=ref.name, uuid=ref.uuid, id=ref.id)


def _chars(text: str, *, nul: bool) -> list[int]:
    """A C string as an XDR ``char`` array (signed, one 4-byte word each), as libvirtd sends it."""
    data = text.encode("utf-8", "surrogateescape") + (b"\0" if nul else b"")
    return [b - 256 if b > 127 else b for b in data]


def _driver(session: ClientSession) -> Any:
    return session.driver


# --- connection ---------------------------------------------------------------------------


def connect_open(session: ClientSession, args: Any) -> None:
    if session.driver is not None:
        # libvirtd's error path of CONNECT_OPEN releases the hypervisor connection even
        # when the error was "already open": later calls fail with "not open" (checked
        # byte for byte against libvirtd 9.0 in tests/interop/test_server_wire_diff.py).
        session.close_driver()
        raise rpc_error(ErrorCode.INTERNAL_ERROR, "connection already open")
    if args.flags & VIR_CONNECT_RO:
        session.readonly = True
    if args.name is None:
        raise rpc_error(ErrorCode.INTERNAL_ERROR, "connection not open")
    session.open_driver(args.name)
    return None


def connect_close(session: ClientSession, args: Any) -> None:
    session.close_after_reply()
    return None


def auth_list(session: ClientSession, args: Any) -> Any:
    return rp.RemoteAuthListRet(types=[rp.RemoteAuthType.REMOTE_AUTH_NONE])


def supports_feature(session: ClientSession, args: Any) -> Any:
    feature = args.feature
    if feature == Feature.PROGRAM_KEEPALIVE:
        session.start_keepalive()
        return rp.RemoteConnectSupportsFeatureRet(supported=1)
    driver = session.driver
    if driver is None:
        raise rpc_error(ErrorCode.INTERNAL_ERROR, "hypervisor connection not open")
    if feature in _DAEMON_FEATURES:
        supported = 1
    else:
        ask = getattr(driver, "supports_feature", None)
        if ask is not None:
            supported = 1 if ask(feature) else 0
        else:
            supported = int(feature in _DRIVER_FEATURES.get(driver.type_name, frozenset()))
    return rp.RemoteConnectSupportsFeatureRet(supported=supported)


def get_type(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetTypeRet(type=session.driver.type_name)


def get_version(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetVersionRet(hv_ver=session.driver.get_version())


def get_lib_version(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetLibVersionRet(lib_ver=LIB_VERSION)


def get_hostname(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetHostnameRet(hostname=session.driver.get_hostname())


def get_uri(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetUriRet(uri=session.driver.uri)


def get_capabilities(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetCapabilitiesRet(capabilities=session.driver.get_capabilities())


def get_max_vcpus(session: ClientSession, args: Any) -> Any:
    ask = getattr(session.driver, "get_max_vcpus", None)
    if ask is None:
        raise LibvirtError.no_support("virConnectGetMaxVcpus", ErrorDomain.NONE)
    return rp.RemoteConnectGetMaxVcpusRet(max_vcpus=ask(args.type))


def node_get_info(session: ClientSession, args: Any) -> Any:
    info = session.driver.node_get_info()
    model = _chars(info.model, nul=False)[:32]
    model += [0] * (32 - len(model))
    return rp.RemoteNodeGetInfoRet(
        model=model,
        memory=info.memory,
        cpus=info.cpus,
        mhz=info.mhz,
        nodes=info.nodes,
        sockets=info.sockets,
        cores=info.cores,
        threads=info.threads,
    )


def node_get_security_model(session: ClientSession, args: Any) -> Any:
    model, doi = session.driver.node_get_security_model()
    return rp.RemoteNodeGetSecurityModelRet(
        model=_chars(model, nul=True),
        doi=_chars(doi, nul=True),
    )


def register_close_callback(session: ClientSession, args: Any) -> None:
    session.close_callback_registered = True
    return None


def unregister_close_callback(session: ClientSession, args: Any) -> None:
    session.close_callback_registered = False
    return None


# --- listing and lookup -------------------------------------------------------------------


def list_all_domains(session: ClientSession, args: Any) -> Any:
    doms = session.driver.list_all_domains(args.flags)
    if len(doms) > REMOTE_DOMAIN_LIST_MAX:
        raise rpc_error(
            ErrorCode.RPC, f"Too many domains '{len(doms)}' for limit '{REMOTE_DOMAIN_LIST_MAX}'"
        )
    wire = [_wire(d) for d in doms] if args.need_results else []
    return rp.RemoteConnectListAllDomainsRet(domains=wire, ret=len(doms))


def num_of_domains(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectNumOfDomainsRet(num=session.driver.num_of_domains())


def list_domains(session: ClientSession, args: Any) -> Any:
    if args.maxids > REMOTE_DOMAIN_LIST_MAX:
        raise rpc_error(ErrorCode.RPC, "maxids > REMOTE_DOMAIN_LIST_MAX")
    return rp.RemoteConnectListDomainsRet(ids=list(session.driver.list_domains(args.maxids)))


def num_of_defined_domains(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectNumOfDefinedDomainsRet(num=session.driver.num_of_defined_domains())


def list_defined_domains(session: ClientSession, args: Any) -> Any:
    if args.maxnames > REMOTE_DOMAIN_LIST_MAX:
        raise rpc_error(ErrorCode.RPC, "maxnames > REMOTE_DOMAIN_LIST_MAX")
    names = session.driver.list_defined_domains(args.maxnames)
    return rp.RemoteConnectListDefinedDomainsRet(names=list(names))


def lookup_by_name(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainLookupByNameRet(dom=_wire(session.driver.lookup_by_name(args.name)))


def lookup_by_uuid(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainLookupByUuidRet(dom=_wire(session.driver.lookup_by_uuid(args.uuid)))


def lookup_by_id(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainLookupByIdRet(dom=_wire(session.driver.lookup_by_id(args.id)))


# --- lifecycle ------------------------------------------------------------------------------


def define_xml(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainDefineXmlRet(dom=_wire(session.driver.define_xml(args.xml, 0)))


def define_xml_flags(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainDefineXmlFlagsRet(
        dom=_wire(session.driver.define_xml(args.xml, args.flags))
    )


def undefine(session: ClientSession, args: Any) -> None:
    session.driver.undefine(_dom(args.dom), 0)


def undefine_flags(session: ClientSession, args: Any) -> None:
    session.driver.undefine(_dom(args.dom), args.flags)


def create(session: ClientSession, args: Any) -> None:
    session.driver.create(_dom(args.dom), 0)


def create_with_flags(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainCreateWithFlagsRet(
        dom=_wire(session.driver.create(_dom(args.dom), args.flags))
    )


def create_xml(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainCreateXmlRet(
        dom=_wire(session.driver.create_xml(args.xml_desc, args.flags))
    )


def destroy(session: ClientSession, args: Any) -> None:
    session.driver.destroy(_dom(args.dom), 0)


def destroy_flags(session: ClientSession, args: Any) -> None:
    session.driver.destroy(_dom(args.dom), args.flags)


def suspend(session: ClientSession, args: Any) -> None:
    session.driver.suspend(_dom(args.dom))


def resume(session: ClientSession, args: Any) -> None:
    session.driver.resume(_dom(args.dom))


def shutdown(session: ClientSession, args: Any) -> None:
    session.driver.shutdown(_dom(args.dom), 0)


def shutdown_flags(session: ClientSession, args: Any) -> None:
    session.driver.shutdown(_dom(args.dom), args.flags)


def reboot(session: ClientSession, args: Any) -> None:
    session.driver.reboot(_dom(args.dom), args.flags)


# --- domain queries -------------------------------------------------------------------------


def get_info(session: ClientSession, args: Any) -> Any:
    info = session.driver.get_info(_dom(args.dom))
    return rp.RemoteDomainGetInfoRet(
        state=int(info.state),
        maxMem=info.max_mem,
        memory=info.memory,
        nrVirtCpu=info.nr_virt_cpu,
        cpuTime=info.cpu_time,
    )


def get_state(session: ClientSession, args: Any) -> Any:
    state, reason = session.driver.get_state(_dom(args.dom), args.flags)
    return rp.RemoteDomainGetStateRet(state=int(state), reason=int(reason))


def get_xml_desc(session: ClientSession, args: Any) -> Any:
    if session.readonly and args.flags & (VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE):
        raise LibvirtError.make(
            ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, "virDomainGetXMLDesc with secure flag"
        )
    return rp.RemoteDomainGetXmlDescRet(xml=session.driver.get_xml_desc(_dom(args.dom), args.flags))


def get_os_type(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainGetOsTypeRet(type=session.driver.get_os_type(_dom(args.dom)))


def get_max_memory(session: ClientSession, args: Any) -> Any:
    driver = session.driver
    ask = getattr(driver, "get_max_memory", None)
    memory = ask(_dom(args.dom)) if ask is not None else driver.get_info(_dom(args.dom)).max_mem
    return rp.RemoteDomainGetMaxMemoryRet(memory=memory)


def get_vcpus_flags(session: ClientSession, args: Any) -> Any:
    driver = session.driver
    ask = getattr(driver, "get_vcpus_flags", None)
    if ask is not None:
        num = ask(_dom(args.dom), args.flags)
    else:
        num = driver.get_info(_dom(args.dom)).nr_virt_cpu
    return rp.RemoteDomainGetVcpusFlagsRet(num=num)


def is_active(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainIsActiveRet(active=int(session.driver.is_active(_dom(args.dom))))


def is_persistent(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainIsPersistentRet(
        persistent=int(session.driver.is_persistent(_dom(args.dom)))
    )


def get_autostart(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainGetAutostartRet(
        autostart=int(session.driver.get_autostart(_dom(args.dom)))
    )


def set_autostart(session: ClientSession, args: Any) -> None:
    ask = getattr(session.driver, "set_autostart", None)
    if ask is None:
        raise LibvirtError.no_support("virDomainSetAutostart")
    ask(_dom(args.dom), bool(args.autostart))


def has_managed_save_image(session: ClientSession, args: Any) -> Any:
    result = session.driver.has_managed_save_image(_dom(args.dom), args.flags)
    return rp.RemoteDomainHasManagedSaveImageRet(result=int(result))


def get_security_label(session: ClientSession, args: Any) -> Any:
    label, enforcing = session.driver.get_security_label(_dom(args.dom))
    return rp.RemoteDomainGetSecurityLabelRet(
        label=_chars(label, nul=True), enforcing=int(enforcing)
    )


def get_messages(session: ClientSession, args: Any) -> Any:
    msgs = session.driver.get_messages(_dom(args.dom), args.flags)
    return rp.RemoteDomainGetMessagesRet(msgs=list(msgs))


def snapshot_num(session: ClientSession, args: Any) -> Any:
    return rp.RemoteDomainSnapshotNumRet(
        num=session.driver.snapshot_num(_dom(args.dom), args.flags)
    )


# --- devices and memory ---------------------------------------------------------------------


def attach_device(session: ClientSession, args: Any) -> None:
    # virDomainAttachDevice is AttachDeviceFlags(LIVE) in every driver.
    session.driver.attach_device(_dom(args.dom), args.xml, VIR_DOMAIN_AFFECT_LIVE)


def attach_device_flags(session: ClientSession, args: Any) -> None:
    session.driver.attach_device(_dom(args.dom), args.xml, args.flags)


def detach_device(session: ClientSession, args: Any) -> None:
    session.driver.detach_device(_dom(args.dom), args.xml, VIR_DOMAIN_AFFECT_LIVE)


def detach_device_flags(session: ClientSession, args: Any) -> None:
    session.driver.detach_device(_dom(args.dom), args.xml, args.flags)


def detach_device_alias(session: ClientSession, args: Any) -> None:
    session.driver.detach_device_alias(_dom(args.dom), args.alias, args.flags)


def set_memory(session: ClientSession, args: Any) -> None:
    session.driver.set_memory(_dom(args.dom), args.memory, VIR_DOMAIN_AFFECT_LIVE)


def set_memory_flags(session: ClientSession, args: Any) -> None:
    session.driver.set_memory(_dom(args.dom), args.memory, args.flags)


def set_max_memory(session: ClientSession, args: Any) -> None:
    ask = getattr(session.driver, "set_max_memory", None)
    if ask is None:
        raise LibvirtError.no_support("virDomainSetMaxMemory")
    ask(_dom(args.dom), args.memory)


# --- events (spec §5.2) ---------------------------------------------------------------------


def event_register(session: ClientSession, args: Any) -> Any:
    """Proc 105: legacy lifecycle registration; libvirtd replies cb_registered = 0."""
    session.event_relay().register(0, None, legacy=True)
    return rp.RemoteConnectDomainEventRegisterRet(cb_registered=0)


def event_deregister(session: ClientSession, args: Any) -> Any:
    session.event_relay().deregister_event_id(0, legacy_range=False)
    return rp.RemoteConnectDomainEventDeregisterRet(cb_registered=0)


def event_register_any(session: ClientSession, args: Any) -> None:
    session.event_relay().register_legacy_any(args.eventID)


def event_deregister_any(session: ClientSession, args: Any) -> None:
    session.event_relay().deregister_event_id(args.eventID, legacy_range=True)


def event_callback_register_any(session: ClientSession, args: Any) -> Any:
    uuid = args.dom.uuid if args.dom is not None else None
    callback_id = session.event_relay().register_callback_any(args.eventID, uuid)
    return rp.RemoteConnectDomainEventCallbackRegisterAnyRet(callbackID=callback_id)


def event_callback_deregister_any(session: ClientSession, args: Any) -> None:
    session.event_relay().deregister_callback(args.callbackID)


# --- the table ----------------------------------------------------------------------------

# number -> (handler, needs an open hypervisor connection)
HANDLERS: dict[int, tuple[Any, bool]] = {
    1: (connect_open, False),
    2: (connect_close, False),
    3: (get_type, True),
    4: (get_version, True),
    5: (get_max_vcpus, True),
    6: (node_get_info, True),
    7: (get_capabilities, True),
    8: (attach_device, True),
    9: (create, True),
    10: (create_xml, True),
    11: (define_xml, True),
    12: (destroy, True),
    13: (detach_device, True),
    14: (get_xml_desc, True),
    15: (get_autostart, True),
    16: (get_info, True),
    17: (get_max_memory, True),
    19: (get_os_type, True),
    21: (list_defined_domains, True),
    22: (lookup_by_id, True),
    23: (lookup_by_name, True),
    24: (lookup_by_uuid, True),
    25: (num_of_defined_domains, True),
    27: (reboot, True),
    28: (resume, True),
    29: (set_autostart, True),
    30: (set_max_memory, True),
    31: (set_memory, True),
    33: (shutdown, True),
    34: (suspend, True),
    35: (undefine, True),
    37: (list_domains, True),
    51: (num_of_domains, True),
    59: (get_hostname, True),
    60: (supports_feature, False),  # feature 10 works before OPEN; the handler checks the rest
    66: (auth_list, False),
    105: (event_register, True),
    106: (event_deregister, True),
    110: (get_uri, True),
    121: (get_security_label, True),
    122: (node_get_security_model, True),
    150: (is_active, True),
    151: (is_persistent, True),
    157: (get_lib_version, True),
    160: (attach_device_flags, True),
    161: (detach_device_flags, True),
    167: (event_register_any, True),
    168: (event_deregister_any, True),
    183: (has_managed_save_image, True),
    187: (snapshot_num, True),
    196: (create_with_flags, True),
    200: (get_vcpus_flags, True),
    204: (set_memory_flags, True),
    212: (get_state, True),
    231: (undefine_flags, True),
    234: (destroy_flags, True),
    258: (shutdown_flags, True),
    273: (list_all_domains, True),
    316: (event_callback_register_any, True),
    317: (event_callback_deregister_any, True),
    350: (define_xml_flags, True),
    360: (register_close_callback, True),
    361: (unregister_close_callback, True),
    392: (detach_device_alias, True),
    426: (get_messages, True),
}


def build_table() -> dict[int, ProcedureHandler]:
    """The dispatch table: every handler bound to its procedure's codecs."""
    table: dict[int, ProcedureHandler] = {}
    for number, (handler, needs_conn) in HANDLERS.items():
        entry = make_entry(number, handler, needs_conn=needs_conn)
        if entry is not None:
            table[number] = entry
    return table
