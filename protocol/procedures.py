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
from virtwire.xdr.runtime import Codec

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


def _from_module(
    module: ModuleType, program: int, prefix: str, stem_prefix: str
) -> list[Procedure]:
    """Build procedures from a generated module's ``PROCEDURES`` and ``CODECS``.

    ``REMOTE_PROC_CONNECT_OPEN`` → looks for ``remote_connect_open_args`` / ``_ret`` / ``_msg``.
    """
    codecs: dict[str, Codec] = module.CODECS
    out: list[Procedure] = []
    for pdef in module.PROCEDURES:
        stem = pdef.name.removeprefix(prefix).lower()
        base = f"{stem_prefix}{stem}"
        notes: dict[str, list[str]] = {}
        for key, value in pdef.annotations:
            notes.setdefault(key, []).append(value)
        api, driver, member, error_domain, readonly = API_FACTS.get(
            pdef.name, (None, None, None, "NONE", False)
        )
        out.append(
            Procedure(
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
        )
    return out


def _keepalive() -> list[Procedure]:
    """PING and PONG: empty MESSAGE bodies in both directions."""
    return [
        Procedure(KEEPALIVE_PROGRAM, PROTOCOL_VERSION, number, name, None, None, None, "high")
        for number, name in (
            (KEEPALIVE_PROC_PING, "KEEPALIVE_PROC_PING"),
            (KEEPALIVE_PROC_PONG, "KEEPALIVE_PROC_PONG"),
        )
    ]


def _build() -> tuple[dict[tuple[int, int, int], Procedure], dict[str, Procedure]]:
    procs: list[Procedure] = []
    for module, program, prefix, stem_prefix in PROGRAMS:
        procs += _from_module(module, program, prefix, stem_prefix)
    procs += _keepalive()
    table = {(p.program, p.version, p.number): p for p in procs}
    names = {p.name: p for p in procs}
    return table, names


_TABLE, _BY_NAME = _build()


def lookup(prog: int, vers: int, proc: int) -> Procedure | None:
    """The procedure with that number, or ``None`` (unknown: not decodable)."""
    return _TABLE.get((prog, vers, proc))


def by_name(name: str) -> Procedure | None:
    """Find a procedure by its libvirt constant name (``REMOTE_PROC_CONNECT_OPEN``)."""
    return _BY_NAME.get(name)


def resolve(proc: int | str | Procedure, prog: int = REMOTE_PROGRAM) -> Procedure | None:
    """A procedure from a number (of ``prog``), a full name (``QEMU_PROC_DOMAIN_ATTACH``), a
    REMOTE name without its prefix (``DOMAIN_GET_VCPUS``, any case), or itself."""
    if isinstance(proc, Procedure):
        return proc
    if isinstance(proc, int):
        return _TABLE.get((prog, PROTOCOL_VERSION, proc))
    name = proc.upper()
    found = _BY_NAME.get(name)
    if found is None and "_PROC_" not in name:
        found = _BY_NAME.get("REMOTE_PROC_" + name)
    return found


def all_procedures() -> tuple[Procedure, ...]:
    """Every covered procedure, ordered by (program, number)."""
    return tuple(_TABLE[key] for key in sorted(_TABLE))


def name_of(prog: int, vers: int, proc: int) -> str:
    """libvirt's name for any procedure number, covered or not.

    Unknown numbers are named by program and number (``"REMOTE proc 9999"``); an unknown
    program by its hex number; a version other than 1 is spelled out, since libvirt only
    matches (program, version) pairs exactly.
    """
    if vers == PROTOCOL_VERSION:
        covered = _TABLE.get((prog, vers, proc))
        if covered is not None:
            return covered.name
        later = LATER_NAMES.get((prog, proc))
        if later is not None:
            return later
    program = PROGRAM_NAMES.get(prog, f"program 0x{prog:08x}")
    version = "" if vers == PROTOCOL_VERSION else f" v{vers}"
    return f"{program}{version} proc {proc}"
