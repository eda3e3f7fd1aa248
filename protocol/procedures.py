"""Procedure registry: (program, version, number) → name, codecs, annotations and API facts.

Why one registry: the daemon's dispatcher, the client and the capture tools all need the
same answers — "what are the bytes of this call's arguments?", "what is this number
called?", "may a read-only connection call it?", "which driver serves it?" — and each answer
has exactly one source: the ``.x`` files (``protocol/defs``: numbers, names, codecs through
libvirt's ``remote_<proc>_args/_ret/_msg`` naming convention, gendispatch annotations) and
:mod:`virtwire.protocol.api_facts` (generated from libvirt's API entry points: the C API,
its driver, its error domain, whether read-only connections are refused it).  Nothing else
spells a procedure number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType

from virtwire.protocol.api_facts import API_FACTS
from virtwire.protocol.constants import (
    ADMIN_PROGRAM,
    KEEPALIVE_PROC_PING,
    KEEPALIVE_PROC_PONG,
    KEEPALIVE_PROGRAM,
    LXC_PROGRAM,
    PROGRAM_NAMES,
    PROTOCOL_VERSION,
    QEMU_PROGRAM,
    REMOTE_PROGRAM,
)
from virtwire.protocol.generated import (
    admin_protocol,
    lxc_protocol,
    qemu_protocol,
    remote_protocol,
)
from virtwire.xdr.runtime import Codec, ProcedureDef

__all__ = [
    "LATER_NAMES",
    "PROGRAMS",
    "Procedure",
    "all_procedures",
    "by_name",
    "lookup",
    "name_of",
    "resolve",
]

log = logging.getLogger("virtwire.wire")

#: (generated module, program number, procedure-name prefix, struct-name prefix)
PROGRAMS: tuple[tuple[ModuleType, int, str, str], ...] = (
    (remote_protocol, REMOTE_PROGRAM, "REMOTE_PROC_", "remote_"),
    (qemu_protocol, QEMU_PROGRAM, "QEMU_PROC_", "qemu_"),
    (lxc_protocol, LXC_PROGRAM, "LXC_PROC_", "lxc_"),
    (admin_protocol, ADMIN_PROGRAM, "ADMIN_PROC_", "admin_"),
)

LATER_NAMES: dict[tuple[int, int], str] = {
    (REMOTE_PROGRAM, 446): "REMOTE_PROC_NETWORK_EVENT_CALLBACK_METADATA_CHANGE",
    (REMOTE_PROGRAM, 456): "REMOTE_PROC_DOMAIN_ANNOUNCE_INTERFACE",
}
"""Procedures of libvirt releases after 9.0 whose names we know but whose layouts we do not
(so they are named in logs and captures, never decoded or served).  REMOTE 444, 445 and
447..452 exist in newer libvirt too; their names were not available to us."""

# The object a procedure acts on, by the first words of its name (longest prefix first).
_OBJECT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("DOMAIN_SNAPSHOT_", "snapshot"),
    ("DOMAIN_CHECKPOINT_", "checkpoint"),
    ("DOMAIN_", "domain"),
    ("NETWORK_PORT_", "network_port"),
    ("NETWORK_", "network"),
    ("STORAGE_POOL_", "storage_pool"),
    ("STORAGE_VOL_", "storage_vol"),
    ("INTERFACE_", "interface"),
    ("NODE_DEVICE_", "node_device"),
    ("NODE_", "host"),
    ("SECRET_", "secret"),
    ("NWFILTER_BINDING_", "nwfilter_binding"),
    ("NWFILTER_", "nwfilter"),
    ("SERVER_", "server"),
    ("CLIENT_", "client"),
)


@dataclass(frozen=True, slots=True)
class Procedure:
    """One procedure of one program.

    ``args``/``ret``/``msg`` are ``None`` when that part is void (no payload bytes).  A
    procedure with ``msg`` is an event: it only travels as a MESSAGE.  ``priority`` is
    ``"high"`` or ``"low"``; ``generate`` is libvirt's ``@generate`` value; ``acl`` holds the
    ``@acl`` entries and ``aclfilter`` the ``@aclfilter`` ones, in file order;
    ``annotations`` all of them.  From :mod:`api_facts`: ``api`` is the C API it serves
    (``None`` for events and the daemon's own AUTH procedures), ``driver`` the connection
    driver that implements it (``"hypervisor"``, ``"network"``, ``"storage"``,
    ``"interface"``, ``"nodedev"``, ``"secret"``, ``"nwfilter"``; ``None``: the daemon),
    ``member`` that driver's member name (``domainGetVcpus``), ``error_domain`` the name of
    the ``ErrorDomain`` its NO_SUPPORT and read-only errors carry, and ``changes_state``
    whether a read-only connection is refused it.
    """

    program: int
    version: int
    number: int
    name: str
    args: Codec | None
    ret: Codec | None
    msg: Codec | None
    priority: str = "low"
    generate: str = "none"
    acl: tuple[str, ...] = ()
    aclfilter: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    api: str | None = None
    driver: str | None = None
    member: str | None = None
    error_domain: str = "NONE"
    changes_state: bool = False

    @property
    def is_event(self) -> bool:
        """True for MESSAGE-only procedures (events); a CALL of one is "unknown procedure"."""
        return self.msg is not None

    @property
    def short_name(self) -> str:
        """The name without its program prefix: ``DOMAIN_GET_VCPUS``."""
        return self.name.split("_PROC_", 1)[1]

    @property
    def object(self) -> str:
        """What it acts on: ``domain``, ``snapshot``, ``network``, ``storage_pool``, ...

        ``connect`` for connection-wide calls; list/lookup/define calls of another kind
        (``CONNECT_LIST_ALL_NETWORKS``) belong to that kind's driver, see ``driver``.
        """
        short = self.short_name
        for prefix, kind in _OBJECT_PREFIXES:
            if short.startswith(prefix):
                return kind
        return "connect"

    @property
    def stream(self) -> str | None:
        """``"read"``/``"write"`` when the call opens a stream (libvirt's @readstream /
        @writestream annotations), else None."""
        keys = {key for key, _ in self.annotations}
        if "readstream" in keys:
            return "read"
        if "writestream" in keys:
            return "write"
        return None


def _from_def(
    pdef: ProcedureDef, codecs: dict[str, Codec], program: int, prefix: str, stem_prefix: str
) -> Procedure:
    """The procedure of one entry of a generated module's ``PROCEDURES``, with its codecs
    from the module's ``CODECS``.

    ``REMOTE_PROC_CONNECT_OPEN`` → looks for ``remote_connect_open_args`` / ``_ret`` / ``_msg``.
    """
    stem = pdef.name.removeprefix(prefix).lower()
    base = f"{stem_prefix}{stem}"
    notes: dict[str, list[str]] = {}
    for key, value in pdef.annotations:
        notes.setdefault(key, []).append(value)
    api, driver, member, error_domain, readonly = API_FACTS.get(
        pdef.name, (None, None, None, "NONE", False)
    )
    return Procedure(
        program=program,
        version=PROTOCOL_VERSION,
        number=pdef.number,
        name=pdef.name,
        args=codecs.get(f"{base}_args"),
        ret=codecs.get(f"{base}_ret"),
        msg=codecs.get(f"{base}_msg"),
        priority=notes.get("priority", ["low"])[-1],
        generate=notes.get("generate", ["none"])[-1],
        acl=tuple(notes.get("acl", ())),
        aclfilter=tuple(notes.get("aclfilter", ())),
        annotations=tuple(pdef.annotations),
        api=api,
        driver=driver,
        member=member,
        error_domain=error_domain,
        changes_state=readonly,
    )


def _keepalive() -> list[Procedure]:
    """PING and PONG: empty MESSAGE bodies in both directions."""
    return [
        Procedure(KEEPALIVE_PROGRAM, PROTOCOL_VERSION, number, name, None, None, None, "high")
        for number, name in (
            (KEEPALIVE_PROC_PING, "KEEPALIVE_PROC_PING"),
            (KEEPALIVE_PROC_PONG, "KEEPALIVE_PROC_PONG"),
        )
    ]


Key = tuple[int, int, int]
"""(program, version, number)"""

_Def = tuple[ProcedureDef, dict[str, Codec], int, str, str]
"""What :func:`_from_def` builds one procedure from."""


def _index() -> tuple[dict[Key, _Def], dict[str, Key], dict[Key, Procedure]]:
    """The key and name of every procedure (from the generated modules' ``PROCEDURES``) and
    the table with the keepalive procedures in it; the others are built on first lookup."""
    defs: dict[Key, _Def] = {}
    keys: dict[str, Key] = {}
    for module, program, prefix, stem_prefix in PROGRAMS:
        codecs = module.CODECS
        for pdef in module.PROCEDURES:
            key = (program, PROTOCOL_VERSION, pdef.number)
            defs[key] = (pdef, codecs, program, prefix, stem_prefix)
            keys[pdef.name] = key
    table: dict[Key, Procedure] = {}
    for proc in _keepalive():
        key = (proc.program, proc.version, proc.number)
        table[key] = proc
        keys[proc.name] = key
    return defs, keys, table


# A Procedure is built the first time it is looked up (a daemon's first call needs a few,
# not ~475); all_procedures() builds every one.
_DEFS, _KEYS, _TABLE = _index()
_ALL: tuple[Procedure, ...] | None = None


def _get(key: Key) -> Procedure | None:
    """The procedure with that key (built on its first lookup), or None."""
    found = _TABLE.get(key)
    if found is None:
        spec = _DEFS.get(key)
        if spec is not None:
            found = _TABLE[key] = _from_def(*spec)
    return found


def lookup(prog: int, vers: int, proc: int) -> Procedure | None:
    """The procedure with that number, or ``None`` (unknown: not decodable)."""
    return _get((prog, vers, proc))


def by_name(name: str) -> Procedure | None:
    """Find a procedure by its libvirt constant name (``REMOTE_PROC_CONNECT_OPEN``)."""
    key = _KEYS.get(name)
    return None if key is None else _get(key)


def resolve(proc: int | str | Procedure, prog: int = REMOTE_PROGRAM) -> Procedure | None:
    """A procedure from a number (of ``prog``), a full name (``QEMU_PROC_DOMAIN_ATTACH``), a
    REMOTE name without its prefix (``DOMAIN_GET_VCPUS``, any case), or itself."""
    if isinstance(proc, Procedure):
        return proc
    if isinstance(proc, int):
        return _get((prog, PROTOCOL_VERSION, proc))
    name = proc.upper()
    key = _KEYS.get(name)
    if key is None and "_PROC_" not in name:
        key = _KEYS.get("REMOTE_PROC_" + name)
    return None if key is None else _get(key)


def all_procedures() -> tuple[Procedure, ...]:
    """Every covered procedure, ordered by (program, number)."""
    global _ALL
    if _ALL is None:
        everything = (_get(key) for key in sorted(_DEFS.keys() | _TABLE.keys()))
        _ALL = tuple(p for p in everything if p is not None)
    return _ALL


def name_of(prog: int, vers: int, proc: int) -> str:
    """libvirt's name for any procedure number, covered or not.

    Unknown numbers are named by program and number (``"REMOTE proc 9999"``); an unknown
    program by its hex number; a version other than 1 is spelled out, since libvirt only
    matches (program, version) pairs exactly.
    """
    if vers == PROTOCOL_VERSION:
        covered = lookup(prog, vers, proc)
        if covered is not None:
            return covered.name
        later = LATER_NAMES.get((prog, proc))
        if later is not None:
            return later
    program = PROGRAM_NAMES.get(prog, f"program 0x{prog:08x}")
    version = "" if vers == PROTOCOL_VERSION else f" v{vers}"
    return f"{program}{version} proc {proc}"
