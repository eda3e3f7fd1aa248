"""The procedures of the REMOTE, QEMU and LXC programs: registry entries → handlers.

Every procedure of the registry (``virtwire.protocol.procedures``) that is not an event
gets exactly one entry in the dispatch table of each driver class, built by
:func:`build_entry` (on the procedure's first call; :func:`build_table` builds them all):

1. a **hand-written** handler, registered with ``@serves("NAME")``, where libvirtd's
   daemon code does more than call the API (connection state, the prologue's special
   features, list limits, event registration, the read-only GET_XML_DESC flag check, the
   C ``char`` arrays of a few rets) — the same places libvirtd hand-writes in
   ``src/remote/remote_daemon_dispatch.c``;
2. else, when the driver class defines the procedure's driver member in snake_case
   (``Procedure.member`` ``domainGetOSType`` → ``domain_get_os_type``), the **generic**
   handler (libvirt's gendispatch idea): the args struct's fields go in as positional
   arguments, the return value comes out as the ret struct (see
   ``server/hypervisor/driver_api.py`` for the convention);
3. else the **NO_SUPPORT** handler: what libvirt's API layer answers when the connection's
   driver lacks the member, "this function is not supported by the connection driver:
   virXxx" in the procedure's error domain.

A ``remote_nonnull_domain`` from the wire reaches the driver as the generated struct
itself (no lookup and no conversion, as in libvirtd); drivers return the generated struct
too (``DomainObj.handle()``), which is packed as is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import Feature
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import lxc_protocol, qemu_protocol
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.protocol.procedures import Procedure
from virtwire.server import argchecks
from virtwire.server.dispatch import ProcedureHandler, TableKey, make_entry, rpc_error
from virtwire.server.hypervisor import offload, xmllimits
from virtwire.xdr.runtime import class_name

if TYPE_CHECKING:
    from virtwire.server.session import ClientSession

__all__ = ["HAND_WRITTEN", "build_entry", "build_table", "serves"]

log = logging.getLogger("virtwire.server")

Handler = Callable[["ClientSession", Any], Any]

REMOTE_DOMAIN_LIST_MAX = 16384
VIR_CONNECT_RO = 1
VIR_DOMAIN_XML_SECURE = 1
VIR_DOMAIN_XML_MIGRATABLE = 8
VIR_DOMAIN_VCPU_GUEST = 8
VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT = 1

# Features the daemon answers itself once a connection is open (remoteDispatchConnectSupportsFeature).
_DAEMON_FEATURES = frozenset(
    {Feature.FD_PASSING, Feature.REMOTE_EVENT_CALLBACK, Feature.REMOTE_CLOSE_CALLBACK}
)

HAND_WRITTEN: dict[str, tuple[Handler, bool]] = {}
"""Full procedure name → (handler, needs an open connection)."""

# APIs that check read-only access only for some arguments (libvirt's virCheckReadOnlyGoto
# inside an ``if``); all other ``changes_state`` procedures are refused unconditionally.
_READONLY_IF: dict[str, Callable[[Any], bool]] = {
    "REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS": lambda a: bool(a.flags & VIR_DOMAIN_VCPU_GUEST),
    "REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES": lambda a: (
        a.source == VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT
    ),
    # the daemon looks the callback up (and fails) before any API is involved
    "QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER": lambda a: False,
}


def serves(name: str, *, needs_conn: bool = True) -> Callable[[Handler], Handler]:
    """Register a hand-written handler for the procedure called ``name`` (a REMOTE name
    without prefix, or a full ``QEMU_PROC_...`` name)."""
    proc = procedures.resolve(name)
    if proc is None:
        raise LookupError(f"no procedure {name!r} in the registry")

    def register(fn: Handler) -> Handler:
        if proc.name in HAND_WRITTEN:
            raise ValueError(f"{proc.name} is served twice")
        HAND_WRITTEN[proc.name] = (fn, needs_conn)
        return fn

    return register


def _chars(text: str, *, nul: bool) -> list[int]:
    """A C string as an XDR ``char`` array (signed, one 4-byte word each), as libvirtd sends it."""
    data = text.encode("utf-8", "surrogateescape") + (b"\0" if nul else b"")
    return [b - 256 if b > 127 else b for b in data]


# --- connection and authentication -----------------------------------------------------------


@serves("CONNECT_OPEN", needs_conn=False)
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


@serves("CONNECT_CLOSE", needs_conn=False)
def connect_close(session: ClientSession, args: Any) -> None:
    session.close_after_reply()


@serves("AUTH_LIST", needs_conn=False)
def auth_list(session: ClientSession, args: Any) -> Any:
    return rp.RemoteAuthListRet(types=[rp.RemoteAuthType.REMOTE_AUTH_NONE])


def _sasl_not_configured(session: ClientSession, args: Any) -> None:
    """libvirtd 9.0 on a socket with auth none: the client did not ask for SASL."""
    raise LibvirtError.make(ErrorCode.AUTH_FAILED, ErrorDomain.RPC, "authentication failed")


for _name in ("AUTH_SASL_INIT", "AUTH_SASL_START", "AUTH_SASL_STEP"):
    serves(_name, needs_conn=False)(_sasl_not_configured)


@serves("AUTH_POLKIT", needs_conn=False)
def auth_polkit(session: ClientSession, args: Any) -> None:
    """libvirtd 9.0's remoteDispatchAuthPolkit fails without reporting an error on a socket
    that is not polkit-authenticated, so virNetMessageSaveError sends the worker thread's
    last error — on a fresh thread this fallback (ints 0, no str1)."""
    raise LibvirtError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.RPC,
        "Library function returned error but did not set virError",
        int1=0,
        int2=0,
    )


@serves("CONNECT_SUPPORTS_FEATURE", needs_conn=False)
def supports_feature(session: ClientSession, args: Any) -> Any:
    feature = args.feature
    if feature == Feature.PROGRAM_KEEPALIVE:  # answered before CONNECT_OPEN too
        session.start_keepalive()
        return rp.RemoteConnectSupportsFeatureRet(supported=1)
    driver = session.driver
    if driver is None:
        raise rpc_error(ErrorCode.INTERNAL_ERROR, "hypervisor connection not open")
    supported = 1 if feature in _DAEMON_FEATURES else driver.connect_supports_feature(feature)
    return rp.RemoteConnectSupportsFeatureRet(supported=int(supported))


@serves("CONNECT_GET_URI")
def get_uri(session: ClientSession, args: Any) -> Any:
    return rp.RemoteConnectGetUriRet(uri=session.driver.uri)


@serves("CONNECT_SET_IDENTITY")
def set_identity(session: ClientSession, args: Any) -> None:
    """remoteDispatchConnectSetIdentity: the daemon's own business; no driver involved."""


@serves("CONNECT_REGISTER_CLOSE_CALLBACK")
def register_close_callback(session: ClientSession, args: Any) -> None:
    session.close_callback_registered = True


@serves("CONNECT_UNREGISTER_CLOSE_CALLBACK")
def unregister_close_callback(session: ClientSession, args: Any) -> None:
    session.close_callback_registered = False


# --- rets with C char arrays ---------------------------------------------------------------


@serves("NODE_GET_INFO")
def node_get_info(session: ClientSession, args: Any) -> Any:
    info = session.driver.node_get_info()
    model = _chars(info.model, nul=False)[:32]
    model += [0] * (32 - len(model))
    return rp.RemoteNodeGetInfoRet(model, *info[1:])


@serves("NODE_GET_SECURITY_MODEL")
def node_get_security_model(session: ClientSession, args: Any) -> Any:
    model, doi = session.driver.node_get_security_model()
    return rp.RemoteNodeGetSecurityModelRet(
        model=_chars(model, nul=True), doi=_chars(doi, nul=True)
    )


@serves("DOMAIN_GET_SECURITY_LABEL")
def get_security_label(session: ClientSession, args: Any) -> Any:
    label, enforcing = session.driver.domain_get_security_label(args.dom)
    return rp.RemoteDomainGetSecurityLabelRet(
        label=_chars(label, nul=True), enforcing=int(enforcing)
    )


# --- list limits (libvirtd checks them before calling the driver) -------------------------


@serves("CONNECT_LIST_ALL_DOMAINS")
def list_all_domains(session: ClientSession, args: Any) -> Any:
    doms = session.driver.connect_list_all_domains(args.flags)
    if len(doms) > REMOTE_DOMAIN_LIST_MAX:
        raise rpc_error(
            ErrorCode.RPC, f"Too many domains '{len(doms)}' for limit '{REMOTE_DOMAIN_LIST_MAX}'"
        )
    return rp.RemoteConnectListAllDomainsRet(
        domains=list(doms) if args.need_results else [], ret=len(doms)
    )


@serves("CONNECT_LIST_DOMAINS")
def list_domains(session: ClientSession, args: Any) -> Any:
    if args.maxids > REMOTE_DOMAIN_LIST_MAX:
        raise rpc_error(ErrorCode.RPC, "maxids > REMOTE_DOMAIN_LIST_MAX")
    return rp.RemoteConnectListDomainsRet(
        ids=list(session.driver.connect_list_domains(args.maxids))
    )


@serves("CONNECT_LIST_DEFINED_DOMAINS")
def list_defined_domains(session: ClientSession, args: Any) -> Any:
    if args.maxnames > REMOTE_DOMAIN_LIST_MAX:
        raise rpc_error(ErrorCode.RPC, "maxnames > REMOTE_DOMAIN_LIST_MAX")
    names = session.driver.connect_list_defined_domains(args.maxnames)
    return rp.RemoteConnectListDefinedDomainsRet(names=list(names))


# --- GET_SECURITY_LABEL_LIST: libvirtd's dispatcher swallows the API's failure ---------------


@serves("DOMAIN_GET_SECURITY_LABEL_LIST")
def domain_get_security_label_list(session: ClientSession, args: Any) -> Any:
    """remoteDispatchDomainGetSecurityLabelList: when virDomainGetSecurityLabelList fails
    (no simulated host has the member: NO_SUPPORT) the reply is a success with no labels
    and ``ret`` -1, the error dropped; the client's remote driver then reports libvirt's
    "unknown cause" error."""
    member = getattr(session.driver, "domain_get_security_label_list", None)
    try:
        if member is None:
            raise LibvirtError.no_support("virDomainGetSecurityLabelList", ErrorDomain.DOMAIN)
        labels = member(args.dom)
    except LibvirtError:
        return rp.RemoteDomainGetSecurityLabelListRet(labels=[], ret=-1)
    return rp.RemoteDomainGetSecurityLabelListRet(labels=labels, ret=len(labels))


# --- the read-only flag check of GET_XML_DESC ------------------------------------------------


@serves("DOMAIN_GET_XML_DESC")
def get_xml_desc(session: ClientSession, args: Any) -> Any:
    if session.readonly and args.flags & (VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE):
        raise LibvirtError.make(
            ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, "virDomainGetXMLDesc with secure flag"
        )
    driver = session.driver
    tree_of = getattr(driver, "domain_xml_desc_tree", None)
    if tree_of is None:
        return rp.RemoteDomainGetXmlDescRet(xml=driver.domain_get_xml_desc(args.dom, args.flags))
    tree = tree_of(args.dom, args.flags)
    from virtwire.server.hypervisor import domxml  # with the driver: not at start-up

    if offload.is_large(tree):  # formatted in a worker thread: the loop serves the others
        return _formatted_later(tree)
    return rp.RemoteDomainGetXmlDescRet(xml=domxml.format_xml(tree))


async def _formatted_later(tree: Any) -> Any:
    from virtwire.server.hypervisor import domxml

    return rp.RemoteDomainGetXmlDescRet(xml=await asyncio.to_thread(domxml.format_xml, tree))


# --- domain events (spec §5.2) ----------------------------------------------------------------


@serves("CONNECT_DOMAIN_EVENT_REGISTER")
def event_register(session: ClientSession, args: Any) -> Any:
    """Legacy lifecycle registration; libvirtd replies cb_registered = 0."""
    session.event_relay().register(0, None, legacy=True)
    return rp.RemoteConnectDomainEventRegisterRet(cb_registered=0)


@serves("CONNECT_DOMAIN_EVENT_DEREGISTER")
def event_deregister(session: ClientSession, args: Any) -> Any:
    session.event_relay().deregister_event_id(0, legacy_range=False)
    return rp.RemoteConnectDomainEventDeregisterRet(cb_registered=0)


@serves("CONNECT_DOMAIN_EVENT_REGISTER_ANY")
def event_register_any(session: ClientSession, args: Any) -> None:
    session.event_relay().register_legacy_any(args.eventID)


@serves("CONNECT_DOMAIN_EVENT_DEREGISTER_ANY")
def event_deregister_any(session: ClientSession, args: Any) -> None:
    session.event_relay().deregister_event_id(args.eventID, legacy_range=True)


@serves("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY")
def event_callback_register_any(session: ClientSession, args: Any) -> Any:
    uuid = args.dom.uuid if args.dom is not None else None
    callback_id = session.event_relay().register_callback_any(args.eventID, uuid)
    return rp.RemoteConnectDomainEventCallbackRegisterAnyRet(callbackID=callback_id)


@serves("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY")
def event_callback_deregister_any(session: ClientSession, args: Any) -> None:
    session.event_relay().deregister_callback(args.callbackID)


# --- events of the other object kinds ---------------------------------------------------------

# kind (Procedure.driver) -> (registry word, libvirtd's label, event IDs of libvirt 9.0)
_OTHER_EVENTS: dict[str, tuple[str, str, int]] = {
    "network": ("NETWORK", "network", 1),  # LIFECYCLE
    "storage": ("STORAGE_POOL", "storage pool", 2),  # LIFECYCLE, REFRESH
    "nodedev": ("NODE_DEVICE", "node device", 2),  # LIFECYCLE, UPDATE
    "secret": ("SECRET", "secret", 2),  # LIFECYCLE, VALUE_CHANGED
}


def _other_event_handlers(kind: str, word: str, label: str, id_last: int) -> None:
    register_proc = procedures.resolve(f"CONNECT_{word}_EVENT_REGISTER_ANY")
    assert register_proc is not None and register_proc.api is not None
    # the args' second field is the filter object (net, pool, dev, secret); events match
    # on its UUID (a node device: its name), the event's filter_key
    key_field = "name" if kind == "nodedev" else "uuid"

    def register(session: ClientSession, args: Any) -> Any:
        if not 0 <= args.eventID < id_last:
            raise rpc_error(
                ErrorCode.INTERNAL_ERROR, f"unsupported {label} event ID {args.eventID}"
            )
        if kind not in session.driver.other_event_kinds:
            raise LibvirtError.no_support(
                register_proc.api, ErrorDomain[register_proc.error_domain]
            )
        obj = getattr(args, dataclasses.fields(args)[1].name)
        key = None if obj is None else getattr(obj, key_field)
        callback_id = session.event_relay().register_other(kind, args.eventID, key)
        return _struct_class(register_proc, "ret")(callback_id)

    # libvirt 9.0's remoteDispatchConnectSecretEventDeregisterAny says "node device" (sic)
    dereg_label = "node device" if kind == "secret" else label

    def deregister(session: ClientSession, args: Any) -> None:
        session.event_relay().deregister_other(kind, args.callbackID, dereg_label)

    serves(f"CONNECT_{word}_EVENT_REGISTER_ANY")(register)
    serves(f"CONNECT_{word}_EVENT_DEREGISTER_ANY")(deregister)


for _kind, (_word, _label, _last) in _OTHER_EVENTS.items():
    _other_event_handlers(_kind, _word, _label, _last)


@serves("QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER")
def qemu_monitor_event_deregister(session: ClientSession, args: Any) -> None:
    """No host registers QEMU monitor events (the register call answers NO_SUPPORT)."""
    raise rpc_error(
        ErrorCode.INTERNAL_ERROR, f"qemu monitor event callback {args.callbackID} not registered"
    )


# --- the generic handler and the table --------------------------------------------------------

_MODULES = {
    procedures.PROGRAMS[0][1]: rp,
    procedures.PROGRAMS[1][1]: qemu_protocol,
    procedures.PROGRAMS[2][1]: lxc_protocol,
}


def _struct_class(proc: Procedure, part: str) -> type:
    """The generated class of ``proc``'s ``args``/``ret`` struct (``RemoteDomainGetInfoRet``)."""
    prefix = proc.name.split("_PROC_", 1)[0].lower()
    return getattr(_MODULES[proc.program], class_name(f"{prefix}_{proc.short_name.lower()}_{part}"))


_Shape = tuple[tuple[str, ...], Callable[[Any], Any] | None, tuple[str, ...]]


def _shape(proc: Procedure) -> _Shape:
    """What a generic handler needs from the wire structs: the args fields passed to the
    member, how its result becomes the ret struct, and which args fields are strings."""
    fields: tuple[str, ...] = ()
    str_fields: tuple[str, ...] = ()
    if proc.args is not None:
        args_fields = dataclasses.fields(_struct_class(proc, "args"))
        fields = tuple(f.name for f in args_fields)
        str_fields = tuple(f.name for f in args_fields if "str" in str(f.type))
    wrap: Callable[[Any], Any] | None = None
    if proc.ret is not None:
        ret_cls = _struct_class(proc, "ret")
        if len(dataclasses.fields(ret_cls)) == 1:
            wrap = ret_cls
        else:

            def wrap(value: Any) -> Any:
                return value if isinstance(value, ret_cls) else ret_cls(*value)

    return fields, wrap, str_fields


def generic_handler(proc: Procedure, method: Callable[..., Any]) -> Handler:
    """Call ``method`` (a driver class's function) with the args struct's fields and pack
    what it returns into the ret struct.

    The structs are looked at on the first call, not when the table is built: a table
    holds a handler for every member a driver has, and the generated classes of most
    procedures are never imported by a session (see virtwire.xdr.lazy).
    """
    kind = proc.driver
    fields: tuple[str, ...] = ()
    wrap: Callable[[Any], Any] | None = None
    str_fields: tuple[str, ...] = ()
    ready = False

    def handler(session: ClientSession, args: Any) -> Any:
        nonlocal fields, wrap, str_fields, ready
        if not ready:
            fields, wrap, str_fields = _shape(proc)
            ready = True
        big = [t for n in str_fields if _is_big_text(t := getattr(args, n))] if str_fields else None
        if big:  # a large document: parsed in a worker thread, then the call on the loop
            return _preparsed_call(session, args, big)
        return call(session, args)

    async def _preparsed_call(session: ClientSession, args: Any, texts: list[str]) -> Any:
        done = await asyncio.to_thread(xmllimits.preparse, texts)
        token = xmllimits.using(done)
        try:
            result = call(session, args)
        finally:
            xmllimits.forget(token)
        if hasattr(type(result), "__await__"):
            result = await result
        return result

    def call(session: ClientSession, args: Any) -> Any:
        driver = session.drivers[kind]
        scope, token = offload.begin()
        try:
            if fields:
                result = method(driver, *[getattr(args, name) for name in fields])
            else:
                result = method(driver)
        except BaseException:
            if scope.jobs:  # what the call changed before failing is still stored
                try:
                    scope.run_jobs()
                finally:
                    scope.settle(failed=False)
            raise
        finally:
            offload.end(token)
        if scope.jobs:
            return _after_jobs(scope, result, wrap)  # the reply waits for them, the loop not
        if wrap is not None and hasattr(type(result), "__await__"):
            return _wrap_later(result, wrap)  # a coroutine member (migration's Perform)
        return None if wrap is None else wrap(result)

    handler.__name__ = handler.__qualname__ = f"generic_{proc.short_name.lower()}"
    return handler


def _is_big_text(value: object) -> bool:
    return type(value) is str and len(value) >= xmllimits.PREPARSE_MIN_CHARS and "<" in value


async def _wrap_later(pending: Any, wrap: Callable[[Any], Any]) -> Any:
    return wrap(await pending)


async def _after_jobs(scope: offload.Scope, result: Any, wrap: Callable[[Any], Any] | None) -> Any:
    """The deferred jobs in a worker thread, then the reply (see hypervisor/offload.py); if
    they failed, the call is undone and the error is its reply."""
    try:
        await asyncio.to_thread(scope.run_jobs)
    except BaseException:
        scope.settle(failed=True)
        raise
    scope.settle(failed=False)
    if hasattr(type(result), "__await__"):
        result = await result
    return None if wrap is None else wrap(result)


def unsupported_handler(proc: Procedure) -> Handler:
    """libvirt's API layer for a driver without the member: NO_SUPPORT naming the API."""
    api = proc.api or proc.name
    domain = ErrorDomain[proc.error_domain]

    def handler(session: ClientSession, args: Any) -> Any:
        raise LibvirtError.no_support(api, domain)

    handler.__name__ = handler.__qualname__ = f"unsupported_{proc.short_name.lower()}"
    return handler


def served_kinds(driver_cls: type | None) -> frozenset[str]:
    """The ``Procedure.driver`` kinds whose members a session's driver object serves."""
    if driver_cls is None:
        return frozenset()
    return frozenset(driver_cls.kinds)


def build_entry(
    proc: Procedure, driver_cls: type | None, kinds: frozenset[str] | None = None
) -> ProcedureHandler | None:
    """The dispatch-table entry of ``proc`` for connections to ``driver_cls`` (None: before
    CONNECT_OPEN); None when ``proc`` is not in the table. ``kinds``: what
    :func:`served_kinds` says of ``driver_cls`` (computed when not given).

    Decided here, once per class and procedure: whether the class implements the member
    (generic handler) or lacks it (NO_SUPPORT); hand-written handlers win over both.
    """
    if proc.program not in _MODULES or proc.is_event:
        return None  # ADMIN has its own socket; an event used as a CALL is "unknown"
    hand = HAND_WRITTEN.get(proc.name)
    if hand is not None:
        handler, needs_conn = hand
    else:
        needs_conn = True
        method = None
        if driver_cls is not None and proc.member:
            # the driver API (its naming convention) is loaded with the driver classes: the
            # table before CONNECT_OPEN needs neither
            from virtwire.server.hypervisor.driver_api import method_name

            if kinds is None:
                kinds = served_kinds(driver_cls)
            if proc.driver in kinds:
                method = getattr(driver_cls, method_name(proc.member), None)
        handler = generic_handler(proc, method) if method is not None else unsupported_handler(proc)
    readonly_if = _READONLY_IF.get(proc.name)
    readonly_moved = False
    # the API's argument checks wrap generic and NO_SUPPORT handlers; hand-written ones
    # check things of their own first, as libvirtd's dispatch code does (list limits,
    # event IDs, callback lookups)
    if hand is None:
        handler, readonly_moved = argchecks.wrap(proc, handler, readonly_if)
    entry = make_entry(proc, handler, needs_conn=needs_conn, readonly_if=readonly_if)
    if readonly_moved:  # libvirt checks some arguments before read-only access
        entry = dataclasses.replace(entry, readonly_api=None)
    return entry


def build_table(driver_cls: type | None) -> dict[TableKey, ProcedureHandler]:
    """The whole dispatch table for connections to ``driver_cls`` (:func:`build_entry` of
    every procedure)."""
    kinds = served_kinds(driver_cls)
    table: dict[TableKey, ProcedureHandler] = {}
    for proc in procedures.all_procedures():
        entry = build_entry(proc, driver_cls, kinds)
        if entry is not None:
            table[(proc.program, proc.number)] = entry
    return table


# --- streams (server/streams.py) ---------------------------------------------------------------

VIR_STORAGE_VOL_SPARSE_STREAM = 1  # ..._UPLOAD_SPARSE_STREAM == ..._DOWNLOAD_SPARSE_STREAM


def _stream_opener(name: str, member: str, upload: bool) -> None:
    proc = procedures.resolve(name)
    assert proc is not None

    @serves(name)
    def handler(session: ClientSession, args: Any) -> None:
        # remoteDispatchStorageVolUpload/Download: the API opens the stream, the daemon
        # attaches it to the call's serial
        driver = session.drivers.get("storage")
        method = getattr(driver, member, None)
        if method is None:
            raise LibvirtError.no_support(proc.api or name, ErrorDomain[proc.error_domain])
        end = method(args.vol, args.offset, args.length, args.flags)
        header = session.current_header
        assert header is not None
        sparse = bool(args.flags & VIR_STORAGE_VOL_SPARSE_STREAM)
        if upload:
            session.streams.open_upload(header, end, sparse=sparse)
        else:
            session.streams.open_download(header, end, sparse=sparse)


_stream_opener("STORAGE_VOL_UPLOAD", "storage_vol_upload", upload=True)
_stream_opener("STORAGE_VOL_DOWNLOAD", "storage_vol_download", upload=False)


def _hypervisor_member(session: ClientSession, name: str, member: str) -> Any:
    """The driver's method for a stream-opening domain API, or libvirt's NO_SUPPORT."""
    proc = procedures.resolve(name)
    assert proc is not None
    method = getattr(session.drivers.get("hypervisor"), member, None)
    if method is None:
        raise LibvirtError.no_support(proc.api or name, ErrorDomain[proc.error_domain])
    return method


@serves("DOMAIN_SCREENSHOT")
def domain_screenshot(session: ClientSession, args: Any) -> Any:
    # remoteDispatchDomainScreenshot: the API opens a download stream on the call's serial
    method = _hypervisor_member(session, "DOMAIN_SCREENSHOT", "domain_screenshot")
    mime, source = method(args.dom, args.screen, args.flags)
    header = session.current_header
    assert header is not None
    session.streams.open_download(header, source, sparse=False)
    return rp.RemoteDomainScreenshotRet(mime)


@serves("DOMAIN_OPEN_CONSOLE")
def domain_open_console(session: ClientSession, args: Any) -> None:
    # remoteDispatchDomainOpenConsole: a stream both ways (server/hypervisor/console.py)
    method = _hypervisor_member(session, "DOMAIN_OPEN_CONSOLE", "domain_open_console")
    console = method(args.dom, args.dev_name, args.flags)
    header = session.current_header
    assert header is not None
    session.streams.open_console(header, console)
