"""The drop-in's object classes and every method of the generated table.

:func:`bind` walks :data:`virtwire.client.api_table.API` and gives each libvirt-python class
(and the module) one method per row that the class body does not already define by hand:
its parameters and defaults are the table's, its body :func:`_invoke`: fill the
procedure's args struct (``self``'s handle, object parameters' handles, plain values,
typed-parameter dicts), call it through :func:`_rpc` (the one place that talks to
:class:`~virtwire.client.connection.Connection`), and shape the reply the way
libvirt-python does (objects wrapped in their classes, ``0`` for status, lists, dicts,
``None``).  Shapes libvirt-python writes by hand in C are in :data:`_CUSTOM`; methods that
need what virtwire does not have yet (fd passing) raise
libvirt's NO_SUPPORT error.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable
from typing import Any

from virtwire.client.api_table import API, Api
from virtwire.protocol import typed_params
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.procedures import PROGRAMS, Procedure, resolve

__all__ = ["HANDLE_CLASS", "bind", "bind_module"]

#: filled by virtwire.client.libvirt: "call" (coro, api) -> result, the class objects
_RT: dict[str, Any] = {}

HANDLE_CLASS = {
    "RemoteNonnullDomain": "virDomain", "RemoteNonnullNetwork": "virNetwork",
    "RemoteNonnullNetworkPort": "virNetworkPort", "RemoteNonnullInterface": "virInterface",
    "RemoteNonnullStoragePool": "virStoragePool", "RemoteNonnullStorageVol": "virStorageVol",
    "RemoteNonnullNodeDevice": "virNodeDevice", "RemoteNonnullSecret": "virSecret",
    "RemoteNonnullNwfilter": "virNWFilter", "RemoteNonnullNwfilterBinding": "virNWFilterBinding",
    "RemoteNonnullDomainCheckpoint": "virDomainCheckpoint",
    "RemoteNonnullDomainSnapshot": "virDomainSnapshot",
}  # fmt: skip

_ERROR_DOMAIN = {
    "virNetwork": ErrorDomain.NETWORK, "virNetworkPort": ErrorDomain.NETWORK,
    "virStoragePool": ErrorDomain.STORAGE, "virStorageVol": ErrorDomain.STORAGE,
    "virInterface": ErrorDomain.INTERFACE, "virNodeDevice": ErrorDomain.NODEDEV,
    "virSecret": ErrorDomain.SECRET, "virNWFilter": ErrorDomain.NWFILTER,
    "virNWFilterBinding": ErrorDomain.NWFILTER, "virStream": ErrorDomain.STREAMS,
    "virDomainSnapshot": ErrorDomain.DOMAIN_SNAPSHOT,
    "virDomainCheckpoint": ErrorDomain.DOMAIN_CHECKPOINT,
}  # fmt: skip


def no_support(api: str, cls: str | None = None) -> LibvirtError:
    """libvirt's "this function is not supported by the connection driver: <api>"."""
    domain = _ERROR_DOMAIN.get(cls or "", ErrorDomain.DOMAIN if cls else ErrorDomain.NONE)
    return LibvirtError.make(ErrorCode.NO_SUPPORT, domain, api)


# --------------------------------------------------------------------------------------
# handles
# --------------------------------------------------------------------------------------


class _Handle:
    """What every object class shares: its connection and its wire handle (``_o``)."""

    _o: Any
    _conn: Any

    def __init__(self, conn: Any, _obj: Any = None) -> None:
        virConnect = _RT["virConnect"]  # noqa: N806
        self._conn = conn if isinstance(conn, virConnect) else conn._conn
        if _obj is None:
            raise TypeError(f"{type(self).__name__} needs a wire handle")
        self._o = _obj

    def connect(self) -> Any:
        return self._conn

    def c_pointer(self) -> int:
        """There is no C object: an integer identifying this wrapper."""
        return id(self)

    def _wire(self) -> Any:
        return self._o

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._o == self._o  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._o))

    def __repr__(self) -> str:
        return f"<virtwire.client.libvirt.{type(self).__name__} {self._o!r}>"


class _ChildOfDomain(_Handle):
    def __init__(self, dom: Any, _obj: Any = None) -> None:
        if _obj is None:
            raise TypeError(f"{type(self).__name__} needs a wire handle")
        self._dom = dom
        self._conn = dom.connect()
        self._o = _obj

    def domain(self) -> Any:
        return self._dom


def _uuid_string(raw: bytes) -> str:
    return str(_uuid.UUID(bytes=bytes(raw)))


def _make_class(name: str, base: type, local: dict[str, Callable[..., Any]]) -> type:
    ns: dict[str, Any] = {"__module__": "virtwire.client.libvirt", "__qualname__": name}
    ns.update(local)
    return type(name, (base,), ns)


def _network_port_init(self: Any, net: Any, _obj: Any = None) -> None:
    if _obj is None:
        raise TypeError("virNetworkPort needs a wire handle")
    self._net = net
    self._conn = net.connect()
    self._o = _obj


def make_classes() -> dict[str, type]:
    """The twelve handle classes (virConnect, virDomain and virStream live in libvirt.py)."""
    name = lambda self: self._o.name  # noqa: E731
    uuid = lambda self: bytes(self._o.uuid)  # noqa: E731
    uuidstr = lambda self: _uuid_string(self._o.uuid)  # noqa: E731
    classes = {
        "virNetwork": _make_class("virNetwork", _Handle, {"name": name, "UUID": uuid,
                                                          "UUIDString": uuidstr}),
        "virNetworkPort": _make_class("virNetworkPort", _Handle, {
            "__init__": _network_port_init, "network": lambda self: self._net,
            "UUID": uuid, "UUIDString": uuidstr}),
        "virInterface": _make_class("virInterface", _Handle, {
            "name": name, "MACString": lambda self: self._o.mac}),
        "virStoragePool": _make_class("virStoragePool", _Handle, {
            "name": name, "UUID": uuid, "UUIDString": uuidstr}),
        "virStorageVol": _make_class("virStorageVol", _Handle, {
            "name": name, "key": lambda self: self._o.key}),
        "virNodeDevice": _make_class("virNodeDevice", _Handle, {"name": name}),
        "virSecret": _make_class("virSecret", _Handle, {
            "UUID": uuid, "UUIDString": uuidstr,
            "usageType": lambda self: int(self._o.usageType),
            "usageID": lambda self: self._o.usageID}),
        "virNWFilter": _make_class("virNWFilter", _Handle, {
            "name": name, "UUID": uuid, "UUIDString": uuidstr}),
        "virNWFilterBinding": _make_class("virNWFilterBinding", _Handle, {
            "portDev": lambda self: self._o.portdev,
            "filterName": lambda self: self._o.filtername}),
        "virDomainSnapshot": _make_class("virDomainSnapshot", _ChildOfDomain, {
            "getName": name, "getConnect": lambda self: self._conn,
            "getDomain": lambda self: self._dom}),
        "virDomainCheckpoint": _make_class("virDomainCheckpoint", _ChildOfDomain, {
            "getName": name, "getConnect": lambda self: self._conn,
            "getDomain": lambda self: self._dom}),
    }  # fmt: skip
    return classes


def _handle_of(obj: Any, annot: str) -> Any:
    if annot == "str":  # node devices travel as their name
        return obj._o.name
    return obj._wire()


def wrap(cls_name: str, parent: Any, wire: Any) -> Any:
    """A wire handle from a reply as libvirt-python's object, parented like libvirt-python."""
    ns = _RT
    cls = ns[cls_name]
    conn = parent if isinstance(parent, ns["virConnect"]) else parent._conn
    if cls_name == "virDomain":
        from virtwire.client.connection import _ref

        return cls(conn, _ref=_ref(wire))
    if cls_name in ("virDomainSnapshot", "virDomainCheckpoint"):
        dom = parent if isinstance(parent, ns["virDomain"]) else getattr(parent, "_dom", None)
        if dom is None:
            dom = wrap("virDomain", conn, wire.dom)
        return cls(dom, _obj=wire)
    if cls_name == "virNetworkPort":
        net = parent if isinstance(parent, ns["virNetwork"]) else getattr(parent, "_net", None)
        if net is None:
            net = wrap("virNetwork", conn, wire.net)
        return cls(net, _obj=wire)
    if cls_name in ("virStoragePool", "virStorageVol"):
        return cls(parent, _obj=wire)
    return cls(conn, _obj=wire)


# --------------------------------------------------------------------------------------
# calling a procedure
# --------------------------------------------------------------------------------------


async def _rpc(conn: Any, proc: Procedure, args: Any, stream: Any = None) -> Any:
    """The one call into the connection."""
    return await conn.call(proc, args, stream=stream)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


_STRUCTS: dict[tuple[str, str], type | None] = {}


def struct_of(proc: Procedure, part: str) -> type | None:
    key = (proc.name, part)
    if key not in _STRUCTS:
        module, stem = next((m, s) for m, prog, _p, s in PROGRAMS if prog == proc.program)
        _STRUCTS[key] = getattr(module, _camel(stem + proc.short_name.lower() + "_" + part), None)
    return _STRUCTS[key]


def _connection(obj: Any, api: str) -> Any:
    conn = obj if isinstance(obj, _RT["virConnect"]) else obj._conn
    return conn._live(api)


def call(
    obj: Any, proc: Procedure | str, fields: dict[str, Any], api: str, stream: Any = None
) -> Any:
    """Call ``proc`` with an args struct built from ``fields``; return the ret struct.

    ``stream`` (a ``virtwire.client.Stream``) makes this the call whose reply opens it."""
    proc = resolve(proc) if isinstance(proc, str) else proc
    assert proc is not None
    struct = struct_of(proc, "args")
    args = None if struct is None else struct(**fields)
    conn = _connection(obj, api)
    result = _RT["call"](_rpc(conn, proc, args, stream), api)
    status = getattr(result, "ret", 0)
    if isinstance(status, int) and status < 0:
        # the server's driver failed without an error: libvirt's remote driver returns -1
        # and the public API reports its generic failure
        raise _RT["fail"](_unknown_failure(), api)
    return result


def _unknown_failure() -> LibvirtError:
    return LibvirtError(
        ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, "An error occurred, but the cause is unknown"
    )


def _fields(obj: Any, row: Api, proc: Procedure, values: dict[str, Any]) -> dict[str, Any]:
    struct = struct_of(proc, "args")
    annots = {} if struct is None else {k: str(v) for k, v in struct.__annotations__.items()}
    out: dict[str, Any] = {}
    for field, src in row.wire:
        if src == "@":
            out[field] = _handle_of(obj, annots.get(field, ""))
        elif src.startswith("*"):
            value = values[src[1:]]
            out[field] = None if value is None else value._wire()
        elif src.startswith("="):
            out[field] = int(src[1:])
        elif src == "#":
            out[field] = 0
        elif src.startswith("%"):
            value = values[src[1:]]
            hints = None if value is None else _hints(obj, row, values)
            out[field] = [] if value is None else typed_params.to_wire(value, hints)
        elif src == "?":
            raise no_support(row.c_name, row.cls)
        else:
            value = values[src]
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, tuple | list) and annots.get(field) == "bytes":
                value = _cpumap_bytes(value)  # libvirt-python's cpumap: a tuple of bools
            out[field] = value
    return out


def _cpumap_bytes(bits: Any) -> bytes:
    """A cpumap as libvirt packs it: bit i of byte i // 8 is CPU i."""
    out = bytearray((len(bits) + 7) // 8)
    for i, on in enumerate(bits):
        if on:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def _hints(obj: Any, row: Api, given: dict[str, Any]) -> dict[str, int] | None:
    """Types for a typed-parameter setter, from its getter (as libvirt-python does)."""
    getter = _GETTER_OF.get(row.c_name)
    if getter is None:
        return None
    grow = _ROWS[getter]
    proc = resolve(grow.proc) if grow.proc else None
    if proc is None:
        return None
    values = {p.split("=")[0]: 0 for p in grow.params}
    values.update({k: v for k, v in _LAST_VALUES.get(id(obj), {}).items() if k in values})
    # the setter's own arguments name the same device/disk the getter must ask about
    values.update({k: v for k, v in given.items() if k in values and k != "params"})
    try:
        ret = _typed_get(obj, grow, proc, values)
    except LibvirtError:
        return None
    return typed_params.types_of(ret.params)


_LAST_VALUES: dict[int, dict[str, Any]] = {}
_TYPED_PARAM_STRING_OKAY = 4


def _typed_get(obj: Any, row: Api, proc: Procedure, values: dict[str, Any]) -> Any:
    """A typed-parameter getter: ask how many (nparams 0), then ask for them.

    As libvirt's public API does for a daemon with the TYPED_PARAM_STRING feature (every
    daemon since 0.9.7), the flags gain VIR_TYPED_PARAM_STRING_OKAY.
    """
    fields = _fields(obj, row, proc, values)
    ret_struct = struct_of(proc, "ret")
    typed = ret_struct is not None and "RemoteTypedParam" in str(
        getattr(ret_struct, "__annotations__", {}).get("params", "")
    )
    if "flags" in fields and typed:
        fields["flags"] |= _TYPED_PARAM_STRING_OKAY
    ret = call(obj, proc, fields, row.c_name)
    count = getattr(ret, "nparams", 0)
    if count and not ret.params:
        fields["nparams"] = count
        ret = call(obj, proc, fields, row.c_name)
    return ret


def _single(ret: Any) -> Any:
    if ret is None:
        return None
    names = list(type(ret).__annotations__)
    if len(names) == 1:
        return getattr(ret, names[0])
    return ret


def _list_elements(obj: Any, ret: Any) -> list[Any]:
    """A list-all reply: wrap the handles of its (first) list field."""
    for field, annot in type(ret).__annotations__.items():
        annot = str(annot)
        if annot.startswith("list["):
            cls_name = HANDLE_CLASS.get(annot[5:-1])
            items = getattr(ret, field)
            if cls_name is None:
                return list(items)
            return [wrap(cls_name, obj, item) for item in items]
    return []


def _shape(obj: Any, row: Api, ret: Any) -> Any:
    shape = row.shape.removeprefix("custom:")
    if shape == "none":
        return None
    if shape.startswith("obj:"):
        return wrap(shape[4:], obj, _single(ret))
    value = _single(ret)
    if shape in ("int", "int0"):
        return 0 if value is None else int(value)
    if value is not None and not isinstance(value, (str, int, float, bytes, list)):
        names = list(type(value).__annotations__)  # a ret with several fields
        if "params" in names:
            return typed_params.from_wire(value.params)
        lists = [n for n in names if str(type(value).__annotations__[n]).startswith("list[")]
        if lists:
            return list(getattr(value, lists[0]))
    if isinstance(value, list) and value and hasattr(value[0], "field"):
        return typed_params.from_wire(value)
    return value


def _invoke(obj: Any, row: Api, values: dict[str, Any]) -> Any:
    custom = _CUSTOM.get(row.c_name)
    if custom is not None:
        return custom(obj, row, values)
    if row.proc is None:
        raise _RT["fail"](no_support(row.c_name, row.cls), row.c_name)
    proc = resolve(row.proc)
    assert proc is not None
    if row.impl == "py-override":
        if row.name.startswith("listAll"):
            fields = _fields_list_all(obj, proc, values)
            return _list_elements(obj, call(obj, proc, fields, row.c_name))
        raise _RT["fail"](no_support(row.c_name, row.cls), row.c_name)
    try:
        if any(src == "#" for _f, src in row.wire):
            _LAST_VALUES[id(obj)] = values
            ret = _typed_get(obj, row, proc, values)
            return typed_params.from_wire(ret.params)
        fields = _fields(obj, row, proc, values)
    except LibvirtError as err:
        raise _RT["fail"](err, row.c_name) from None
    stream = None
    if proc.stream is not None:  # @readstream/@writestream: the reply opens the virStream
        given = next((v for v in values.values() if isinstance(v, _RT["virStream"])), None)
        if given is None:
            raise _RT["fail"](
                LibvirtError.invalid_arg("a virStream argument is required", ErrorDomain.NONE),
                row.c_name,
            )
        stream = given._o
    ret = call(obj, proc, fields, row.c_name, stream)
    return _shape(obj, row, ret)


def _fields_list_all(obj: Any, proc: Procedure, values: dict[str, Any]) -> dict[str, Any]:
    struct = struct_of(proc, "args")
    out: dict[str, Any] = {}
    for field, annot in ({} if struct is None else struct.__annotations__).items():
        if field == "need_results":
            out[field] = 1
        elif field == "flags":
            out[field] = values.get("flags", 0)
        else:
            out[field] = _handle_of(obj, str(annot))
    return out


# --------------------------------------------------------------------------------------
# libvirt-python's hand-written shapes
# --------------------------------------------------------------------------------------


def _ret(obj: Any, row: Api, values: dict[str, Any]) -> Any:
    proc = resolve(row.proc)  # type: ignore[arg-type]
    return call(obj, proc, _fields(obj, row, proc, values), row.c_name)  # type: ignore[arg-type]


def _pool_info(obj: Any, row: Api, values: dict[str, Any]) -> list[int]:
    r = _ret(obj, row, values)
    return [int(r.state), int(r.capacity), int(r.allocation), int(r.available)]


def _vol_info(obj: Any, row: Api, values: dict[str, Any]) -> list[int]:
    r = _ret(obj, row, values)
    return [int(r.type), int(r.capacity), int(r.allocation)]


def _cpu_bits(data: bytes, maplen: int, index: int, ncpus: int) -> tuple[bool, ...]:
    chunk = bytes(data[index * maplen : (index + 1) * maplen])
    return tuple(bool(chunk[i // 8] & (1 << (i % 8))) if i // 8 < len(chunk) else False
                 for i in range(ncpus))  # fmt: skip


def _host_cpus(obj: Any) -> int:
    """The host's CPU count as libvirt-python learns it (virNodeGetCPUMap)."""
    r = call(obj, resolve("NODE_GET_CPU_MAP"), {"need_map": 0, "need_online": 0, "flags": 0},
             "virNodeGetCPUMap")  # fmt: skip
    return int(r.ret)


def _vcpus(obj: Any, row: Api, values: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    ncpus = _host_cpus(obj)
    maplen = (ncpus + 7) // 8
    nvcpus = obj.info()[3]
    proc = resolve("DOMAIN_GET_VCPUS")
    r = call(obj, proc, {"dom": obj._wire(), "maxinfo": nvcpus, "maplen": maplen}, row.c_name)
    info = [(int(v.number), int(v.state), int(v.cpu_time), int(v.cpu)) for v in r.info]
    maps = [_cpu_bits(r.cpumaps, maplen, i, ncpus) for i in range(len(info))]
    return info, maps


def _vcpu_pin_info(obj: Any, row: Api, values: dict[str, Any]) -> list[tuple[bool, ...]]:
    ncpus = _host_cpus(obj)
    maplen = (ncpus + 7) // 8
    nvcpus = obj.vcpusFlags(values.get("flags", 0))
    proc = resolve("DOMAIN_GET_VCPU_PIN_INFO")
    r = call(obj, proc, {"dom": obj._wire(), "ncpumaps": nvcpus, "maplen": maplen,
                         "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    return [_cpu_bits(r.cpumaps, maplen, i, ncpus) for i in range(int(r.num))]


def _cpu_stats(obj: Any, row: Api, values: dict[str, Any]) -> list[dict[str, Any]]:
    proc = resolve("DOMAIN_GET_CPU_STATS")
    flags = values.get("flags", 0)
    base = {"dom": obj._wire(), "flags": flags}
    if values["total"]:
        r = call(obj, proc, {**base, "nparams": 0, "start_cpu": -1, "ncpus": 1}, row.c_name)
        r = call(obj, proc, {**base, "nparams": r.nparams, "start_cpu": -1, "ncpus": 1},
                 row.c_name)  # fmt: skip
        return [typed_params.from_wire(r.params)]
    r = call(obj, proc, {**base, "nparams": 0, "start_cpu": 0, "ncpus": 0}, row.c_name)
    ncpus, nparams = int(r.nparams), 0
    r = call(obj, proc, {**base, "nparams": 0, "start_cpu": 0, "ncpus": 1}, row.c_name)
    nparams = int(r.nparams)
    out: list[dict[str, Any]] = []
    start = 0
    while start < ncpus:
        chunk = min(ncpus - start, 128)
        r = call(obj, proc, {**base, "nparams": nparams, "start_cpu": start, "ncpus": chunk},
                 row.c_name)  # fmt: skip
        params = list(r.params)
        for i in range(chunk):
            out.append(typed_params.from_wire(params[i * nparams : (i + 1) * nparams]))
        start += chunk
    return out


def _block_stats(obj: Any, row: Api, values: dict[str, Any]) -> tuple[int, ...]:
    r = call(obj, resolve("DOMAIN_BLOCK_STATS"), {"dom": obj._wire(), "path": values["path"]},
             row.c_name)  # fmt: skip
    return (int(r.rd_req), int(r.rd_bytes), int(r.wr_req), int(r.wr_bytes), int(r.errs))


def _interface_stats(obj: Any, row: Api, values: dict[str, Any]) -> tuple[int, ...]:
    r = call(obj, resolve("DOMAIN_INTERFACE_STATS"),
             {"dom": obj._wire(), "device": values["path"]}, row.c_name)  # fmt: skip
    return tuple(
        int(getattr(r, f))
        for f in (
            "rx_bytes",
            "rx_packets",
            "rx_errs",
            "rx_drop",
            "tx_bytes",
            "tx_packets",
            "tx_errs",
            "tx_drop",
        )
    )


_MEMORY_STAT_TAGS = ("swap_in", "swap_out", "major_fault", "minor_fault", "unused",
                     "available", "actual", "rss", "usable", "last_update", "disk_caches",
                     "hugetlb_pgalloc", "hugetlb_pgfail")  # fmt: skip


def _memory_stats(obj: Any, row: Api, values: dict[str, Any]) -> dict[str, int]:
    r = call(obj, resolve("DOMAIN_MEMORY_STATS"),
             {"dom": obj._wire(), "maxStats": 13, "flags": 0}, row.c_name)  # fmt: skip
    out = {}
    for stat in r.stats:
        if 0 <= stat.tag < len(_MEMORY_STAT_TAGS):
            out[_MEMORY_STAT_TAGS[stat.tag]] = int(stat.val)
    return out


def _scheduler_type(obj: Any, row: Api, values: dict[str, Any]) -> tuple[str, int]:
    r = call(obj, resolve("DOMAIN_GET_SCHEDULER_TYPE"), {"dom": obj._wire()}, row.c_name)
    return (r.type, int(r.nparams))


def _scheduler_params(obj: Any, row: Api, values: dict[str, Any]) -> dict[str, Any]:
    nparams = _scheduler_type(obj, row, values)[1]
    if "flags" in values:
        r = call(
            obj,
            resolve("DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS"),
            {"dom": obj._wire(), "nparams": nparams, "flags": values["flags"]},
            row.c_name,
        )
    else:
        r = call(obj, resolve("DOMAIN_GET_SCHEDULER_PARAMETERS"),
                 {"dom": obj._wire(), "nparams": nparams}, row.c_name)  # fmt: skip
    return typed_params.from_wire(r.params)


def _set_scheduler_params(obj: Any, row: Api, values: dict[str, Any]) -> int:
    nparams = _scheduler_type(obj, row, values)[1]
    current = call(obj, resolve("DOMAIN_GET_SCHEDULER_PARAMETERS"),
                   {"dom": obj._wire(), "nparams": nparams}, row.c_name)  # fmt: skip
    params = typed_params.to_wire(values["params"], typed_params.types_of(current.params))
    if "flags" in values:
        call(
            obj,
            resolve("DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS"),
            {"dom": obj._wire(), "params": params, "flags": values["flags"]},
            row.c_name,
        )
    else:
        call(obj, resolve("DOMAIN_SET_SCHEDULER_PARAMETERS"),
             {"dom": obj._wire(), "params": params}, row.c_name)  # fmt: skip
    return 0


def _secret_value(obj: Any, row: Api, values: dict[str, Any]) -> bytes:
    r = _ret(obj, row, values)
    return bytes(r.value)


def _secret_set_value(obj: Any, row: Api, values: dict[str, Any]) -> int:
    value = values["value"]
    if isinstance(value, str):
        value = value.encode()
    call(obj, resolve("SECRET_SET_VALUE"),
         {"secret": obj._wire(), "value": bytes(value), "flags": values.get("flags", 0)},
         row.c_name)  # fmt: skip
    return 0


def _lookup_by_uuid_string(target: str) -> Callable[[Any, Api, dict[str, Any]], Any]:
    def lookup(obj: Any, row: Api, values: dict[str, Any]) -> Any:
        text = next(iter(values.values()))
        try:
            raw = _uuid.UUID(str(text)).bytes
        except ValueError:
            err = LibvirtError(ErrorCode.INVALID_ARG, _ERROR_DOMAIN.get(row.cls or "",
                               ErrorDomain.DOMAIN), "Invalid UUID", str1=row.c_name)  # fmt: skip
            raise _RT["fail"](err, row.c_name) from None
        return _invoke(obj, _ROWS[target], {"uuid": raw})

    return lookup


def _revert_to_snapshot(obj: Any, row: Api, values: dict[str, Any]) -> int:
    snap = values["snap"]
    call(obj, resolve("DOMAIN_REVERT_TO_SNAPSHOT"),
         {"snap": snap._wire(), "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    return 0


def _new_stream(obj: Any, row: Api, values: dict[str, Any]) -> Any:
    conn = _connection(obj, row.c_name)
    return _RT["virStream"](obj, _obj=conn.new_stream(values.get("flags", 0)))


# --- shapes found by comparing every no-argument method with python3-libvirt ---------------


def _numbered_list(obj: Any, row: Api, values: dict[str, Any]) -> list[Any]:
    """libvirt-python's virConnectListXxx: ask NumOfXxx first, then list that many."""
    proc = resolve(row.proc)
    count_proc = resolve(proc.short_name.replace("_LIST_", "_NUM_OF_", 1))
    fields = _fields(obj, row, proc, values)
    count_fields = {k: v for k, v in fields.items() if not k.startswith("max")}
    count = call(obj, count_proc, count_fields, count_proc.api or row.c_name)
    n = int(_single(count))
    bound = next(k for k in fields if k.startswith("max"))
    ret = call(obj, proc, {**fields, bound: n}, row.c_name)
    return list(_single(ret))


def _cpu_map(obj: Any, row: Api, values: dict[str, Any]) -> tuple[int, list[bool], int]:
    r = call(obj, resolve("NODE_GET_CPU_MAP"),
             {"need_map": 1, "need_online": 1, "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    ncpus = int(r.ret)
    return ncpus, list(_cpu_bits(r.cpumap, (ncpus + 7) // 8, 0, ncpus)), int(r.online)


def _control_info(obj: Any, row: Api, values: dict[str, Any]) -> list[int]:
    r = _ret(obj, row, values)
    return [int(r.state), int(r.details), int(r.stateTime)]


def _disk_errors(obj: Any, row: Api, values: dict[str, Any]) -> dict[str, int]:
    proc = resolve("DOMAIN_GET_DISK_ERRORS")
    base = {"dom": obj._wire(), "flags": values.get("flags", 0)}
    count = call(obj, proc, {**base, "maxerrors": 0}, row.c_name)
    r = call(obj, proc, {**base, "maxerrors": int(count.nerrors)}, row.c_name)
    return {e.disk: int(e.error) for e in r.errors}


def _emulator_pin_info(obj: Any, row: Api, values: dict[str, Any]) -> tuple[bool, ...]:
    ncpus = _host_cpus(obj)
    maplen = (ncpus + 7) // 8
    r = call(obj, resolve("DOMAIN_GET_EMULATOR_PIN_INFO"),
             {"dom": obj._wire(), "maplen": maplen, "flags": values.get("flags", 0)},
             row.c_name)  # fmt: skip
    return _cpu_bits(r.cpumaps, maplen, 0, ncpus)


def _fs_info(obj: Any, row: Api, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    r = _ret(obj, row, values)
    return [(i.mountpoint, i.name, i.fstype, list(i.dev_aliases)) for i in r.info]


def _get_time(obj: Any, row: Api, values: dict[str, Any]) -> dict[str, int]:
    r = call(obj, resolve("DOMAIN_GET_TIME"),
             {"dom": obj._wire(), "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    return {"seconds": int(r.seconds), "nseconds": int(r.nseconds)}


_VIR_DOMAIN_TIME_SYNC = 1


def _set_time(obj: Any, row: Api, values: dict[str, Any]) -> int:
    when, flags = values.get("time"), values.get("flags", 0)
    if (
        when is None
        and not flags & _VIR_DOMAIN_TIME_SYNC
        or when is not None
        and not isinstance(when, dict)
    ):
        raise TypeError("time must be a dictionary or None with flags set")
    when = when or {}
    call(obj, resolve("DOMAIN_SET_TIME"),
         {"dom": obj._wire(), "seconds": int(when.get("seconds", 0)),
          "nseconds": int(when.get("nseconds", 0)), "flags": flags}, row.c_name)  # fmt: skip
    return 0


_VIR_MIGRATE_PEER2PEER = 2
_FEATURE_MIGRATION_P2P = 4
_FEATURE_MIGRATION_DIRECT = 5


def _migrate_to_uri(obj: Any, row: Api, values: dict[str, Any]) -> Any:
    """virDomainMigrateToURI*: libvirt first asks the source whether it can migrate that
    way (peer-to-peer or direct) and refuses with ARGUMENT_UNSUPPORTED when it cannot."""
    p2p = bool(values.get("flags", 0) & _VIR_MIGRATE_PEER2PEER)
    feature = _FEATURE_MIGRATION_P2P if p2p else _FEATURE_MIGRATION_DIRECT
    r = call(obj, resolve("CONNECT_SUPPORTS_FEATURE"), {"feature": feature}, row.c_name)
    if not r.supported:
        how = "peer-to-peer" if p2p else "direct"
        err = LibvirtError.make(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.DOMAIN,
                                f"{how} migration is not supported by the source host")  # fmt: skip
        raise _RT["fail"](err, row.c_name)
    raise _RT["fail"](no_support(row.c_name, row.cls), row.c_name)  # migration: not yet


def _none_on_error(inner: Callable[[Any, Api, dict[str, Any]], Any]) -> Callable[..., Any]:
    """libvirt-python's C glue returns None (no exception) when these calls fail."""

    def run(obj: Any, row: Api, values: dict[str, Any]) -> Any:
        try:
            return inner(obj, row, values)
        except _RT["libvirtError"]:
            return None

    return run


def _single_value(obj: Any, row: Api, values: dict[str, Any]) -> Any:
    return _single(_ret(obj, row, values))


def _guest_vcpus(obj: Any, row: Api, values: dict[str, Any]) -> dict[str, Any]:
    return typed_params.from_wire(_ret(obj, row, values).params)


def _security_label_list(obj: Any, row: Api, values: dict[str, Any]) -> list[list[Any]]:
    r = _ret(obj, row, values)
    return [[_c_string(label.label), int(label.enforcing)] for label in r.labels]


def _cpu_model_names(obj: Any, row: Api, values: dict[str, Any]) -> list[str]:
    r = call(obj, resolve("CONNECT_GET_CPU_MODEL_NAMES"),
             {"arch": values["arch"], "need_results": 1, "flags": values.get("flags", 0)},
             row.c_name)  # fmt: skip
    return list(r.models)


def _block_info(obj: Any, row: Api, values: dict[str, Any]) -> list[int]:
    r = _ret(obj, row, values)
    return [int(r.capacity), int(r.allocation), int(r.physical)]


def _interface_addresses(obj: Any, row: Api, values: dict[str, Any]) -> dict[str, Any]:
    r = _ret(obj, row, values)
    return {
        i.name: {
            "hwaddr": i.hwaddr,
            "addrs": [{"type": int(a.type), "addr": a.addr, "prefix": int(a.prefix)}
                      for a in i.addrs],
        }
        for i in r.ifaces
    }  # fmt: skip


def _iothread_info(obj: Any, row: Api, values: dict[str, Any]) -> list[tuple[int, list[bool]]]:
    ncpus = _host_cpus(obj)
    r = _ret(obj, row, values)
    return [(int(t.iothread_id), list(_cpu_bits(t.cpumap, len(t.cpumap), 0, ncpus)))
            for t in r.info]  # fmt: skip


def _dhcp_leases(obj: Any, row: Api, values: dict[str, Any]) -> list[dict[str, Any]]:
    r = call(obj, resolve("NETWORK_GET_DHCP_LEASES"),
             {"net": obj._wire(), "mac": values.get("mac"), "need_results": 1,
              "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    keys = ("iface", "expirytime", "type", "mac", "iaid", "ipaddr", "prefix", "hostname",
            "clientid")  # fmt: skip
    return [{k: getattr(lease, k) for k in keys} for lease in r.leases]


def _stats_records(obj: Any, ret: Any) -> list[tuple[Any, dict[str, Any]]]:
    return [(wrap("virDomain", obj, rec.dom), typed_params.from_wire(rec.params))
            for rec in ret.retStats]  # fmt: skip


def _all_domain_stats(obj: Any, row: Api, values: dict[str, Any]) -> list[tuple[Any, Any]]:
    r = call(obj, resolve("CONNECT_GET_ALL_DOMAIN_STATS"),
             {"doms": [], "stats": values.get("stats", 0), "flags": values.get("flags", 0)},
             row.c_name)  # fmt: skip
    return _stats_records(obj, r)


def _domain_list_stats(obj: Any, row: Api, values: dict[str, Any]) -> list[tuple[Any, Any]]:
    doms = [d._wire() for d in values["doms"]]
    r = call(obj, resolve("CONNECT_GET_ALL_DOMAIN_STATS"),
             {"doms": doms, "stats": values.get("stats", 0), "flags": values.get("flags", 0)},
             row.c_name)  # fmt: skip
    return _stats_records(obj, r)


def _fs_freeze_thaw(proc_name: str) -> Callable[..., int]:
    def run(obj: Any, row: Api, values: dict[str, Any]) -> int:
        r = call(obj, resolve(proc_name),
                 {"dom": obj._wire(), "mountpoints": list(values.get("mountpoints") or []),
                  "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
        return int(r.filesystems)

    return run


def _free_pages(obj: Any, row: Api, values: dict[str, Any]) -> dict[int, dict[int, int]]:
    pages = [int(p) for p in values["pages"]]
    start, cells = int(values["startCell"]), int(values["maxCells"])
    r = call(obj, resolve("NODE_GET_FREE_PAGES"),
             {"pages": pages, "startCell": start, "cellCount": cells,
              "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    counts = list(r.counts)
    return {start + i: {size: int(counts[i * len(pages) + j]) for j, size in enumerate(pages)}
            for i in range(len(counts) // max(len(pages), 1))}  # fmt: skip


def _alloc_pages(obj: Any, row: Api, values: dict[str, Any]) -> int:
    pages = dict(values["pages"])
    r = call(obj, resolve("NODE_ALLOC_PAGES"),
             {"pageSizes": [int(k) for k in pages], "pageCounts": [int(v) for v in pages.values()],
              "startCell": values.get("startCell", 0), "cellCount": values.get("cellCount", 0),
              "flags": values.get("flags", 0)}, row.c_name)  # fmt: skip
    return int(r.ret)


def _create_linux(obj: Any, row: Api, values: dict[str, Any]) -> Any:
    return obj.createXML(values["xmlDesc"], values.get("flags", 0))


def _c_string(chars: Any) -> str:
    """A C char array from the wire (signed bytes, NUL-terminated) as text."""
    raw = bytes(c & 0xFF for c in chars)
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


_CUSTOM: dict[str, Callable[[Any, Api, dict[str, Any]], Any]] = {
    "virStoragePoolGetInfo": _pool_info,
    "virStorageVolGetInfo": _vol_info,
    "virStorageVolGetInfoFlags": _vol_info,
    "virDomainGetVcpus": _vcpus,
    "virDomainGetVcpuPinInfo": _vcpu_pin_info,
    "virDomainGetCPUStats": _cpu_stats,
    "virDomainBlockStats": _block_stats,
    "virDomainInterfaceStats": _interface_stats,
    "virDomainMemoryStats": _memory_stats,
    "virDomainGetSchedulerType": _scheduler_type,
    "virDomainGetSchedulerParameters": _scheduler_params,
    "virDomainGetSchedulerParametersFlags": _scheduler_params,
    "virDomainSetSchedulerParameters": _set_scheduler_params,
    "virDomainSetSchedulerParametersFlags": _set_scheduler_params,
    "virSecretGetValue": _secret_value,
    "virSecretSetValue": _secret_set_value,
    "virDomainRevertToSnapshot": _revert_to_snapshot,
    "virStreamNew": _new_stream,
    "virNodeGetCPUMap": _cpu_map,
    "virDomainGetControlInfo": _control_info,
    "virDomainGetDiskErrors": _disk_errors,
    "virDomainGetEmulatorPinInfo": _emulator_pin_info,
    "virDomainGetFSInfo": _fs_info,
    "virDomainGetTime": _get_time,
    "virDomainSetTime": _set_time,
    "virDomainGetGuestVcpus": _none_on_error(_guest_vcpus),
    "virDomainMigrateGetCompressionCache": _none_on_error(_single_value),
    "virDomainMigrateGetMaxDowntime": _none_on_error(_single_value),
    "virDomainGetSecurityLabelList": _security_label_list,
    "virConnectGetCPUModelNames": _cpu_model_names,
    "virDomainGetBlockInfo": _block_info,
    "virDomainInterfaceAddresses": _interface_addresses,
    "virDomainGetIOThreadInfo": _iothread_info,
    "virNetworkGetDHCPLeases": _dhcp_leases,
    "virConnectGetAllDomainStats": _all_domain_stats,
    "virDomainListGetStats": _domain_list_stats,
    "virDomainFSFreeze": _fs_freeze_thaw("DOMAIN_FSFREEZE"),
    "virDomainFSThaw": _fs_freeze_thaw("DOMAIN_FSTHAW"),
    "virNodeGetFreePages": _free_pages,
    "virNodeAllocPages": _alloc_pages,
    "virDomainCreateLinux": _create_linux,
    "virDomainMigrateToURI": _migrate_to_uri,
    "virDomainMigrateToURI2": _migrate_to_uri,
    "virDomainMigrateToURI3": _migrate_to_uri,
}
for _row in API:
    if _row.impl == "c-override" and _row.proc and "_PROC_" in _row.proc:
        _short = _row.proc.split("_PROC_", 1)[1]
        if (
            "_LIST_" in _short
            and "_LIST_ALL_" not in _short
            and resolve(_short.replace("_LIST_", "_NUM_OF_", 1))
        ):
            _CUSTOM.setdefault(_row.c_name, _numbered_list)
for _name in ("virNetwork", "virStoragePool", "virSecret", "virNWFilter", "virNetworkPort"):
    _CUSTOM[f"{_name}LookupByUUIDString"] = _lookup_by_uuid_string(f"{_name}LookupByUUID")

_ROWS: dict[str, Api] = {row.c_name: row for row in API}
_GETTER_OF: dict[str, str] = {}
for _row in API:
    if "Set" in _row.c_name and any(src.startswith("%") for _f, src in _row.wire):
        _getter = _row.c_name.replace("Set", "Get", 1)
        if _getter in _ROWS and any(src == "#" for _f, src in _ROWS[_getter].wire):
            _GETTER_OF[_row.c_name] = _getter


# --------------------------------------------------------------------------------------
# binding the table
# --------------------------------------------------------------------------------------


def _make_method(row: Api, has_self: bool, target: str | None = None) -> Callable[..., Any]:
    names = [p.split("=")[0] for p in row.params]
    params = ", ".join((["self"] if has_self else []) + list(row.params))
    values = ", ".join(f"{n!r}: {n}" for n in names)
    target = target or ("self" if has_self else "None")
    src = f"def {row.name}({params}):\n    return _invoke({target}, _row, {{{values}}})\n"
    scope: dict[str, Any] = {"_invoke": _invoke, "_row": row}
    exec(compile(src, f"<virtwire.client.api_table {row.c_name}>", "exec"), scope)  # noqa: S102
    fn = scope[row.name]
    fn.__doc__ = f"libvirt's {row.c_name} ({row.proc or 'no remote procedure'})."
    fn.__module__ = "virtwire.client.libvirt"
    return fn


def bind_module(namespace: dict[str, Any], module: str) -> int:
    """The functions of ``libvirt_qemu`` / ``libvirt_lxc``: each acts on its first argument
    (a virDomain or virConnect), which is the object the call goes through."""
    added = 0
    for row in API:
        if row.module == module and row.name and row.name not in namespace:
            fn = _make_method(row, has_self=False, target=row.params[0].split("=")[0])
            fn.__module__ = f"virtwire.client.{module}"
            namespace[row.name] = fn
            added += 1
    return added


def bind(namespace: dict[str, Any]) -> int:
    """Give every class of ``namespace`` (and the namespace) the table's missing methods."""
    _RT.update(namespace)
    added = 0
    for row in API:
        if row.module != "libvirt" or not row.name:
            continue
        if row.cls is None:
            if row.name not in namespace:
                namespace[row.name] = _make_method(row, has_self=False)
                added += 1
            continue
        cls = namespace[row.cls]
        if any(row.name in vars(k) for k in cls.__mro__[:-1]):
            continue
        fn = _make_method(row, has_self=True)
        fn.__qualname__ = f"{row.cls}.{row.name}"
        setattr(cls, row.name, fn)
        added += 1
    return added
