"""Procedure registry: (program, version, number) → name, codecs and annotations.

Why one registry: the daemon's dispatcher, the client and the capture tools all need the
same answers — "what are the bytes of this call's arguments?", "what is this number
called?" — and libvirt already encodes those answers in two places we reuse: the
``remote_<proc>_args/_ret/_msg`` naming convention of its ``.x`` files (so codecs are found by
name in the generated module) and the gendispatch annotations on each procedure (priority,
ACL).  Names of procedures we do not decode come from :mod:`procedure_names`, so every frame
of a real libvirt conversation gets its proper name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType

from virtwire.protocol.constants import (
    KEEPALIVE_PROC_PING,
    KEEPALIVE_PROC_PONG,
    KEEPALIVE_PROGRAM,
    PROGRAM_NAMES,
    PROTOCOL_VERSION,
    REMOTE_PROGRAM,
)
from virtwire.protocol.generated import remote_protocol
from virtwire.protocol.procedure_names import PROCEDURE_NAMES
from virtwire.xdr.runtime import Codec

__all__ = ["STATE_CHANGING_API", "Procedure", "all_procedures", "by_name", "lookup", "name_of"]

log = logging.getLogger("virtwire.wire")

STATE_CHANGING_API: dict[int, str] = {
    8: "virDomainAttachDevice",
    9: "virDomainCreate",
    10: "virDomainCreateXML",
    11: "virDomainDefineXML",
    12: "virDomainDestroy",
    13: "virDomainDetachDevice",
    27: "virDomainReboot",
    28: "virDomainResume",
    29: "virDomainSetAutostart",
    30: "virDomainSetMaxMemory",
    31: "virDomainSetMemory",
    33: "virDomainShutdown",
    34: "virDomainSuspend",
    35: "virDomainUndefine",
    160: "virDomainAttachDeviceFlags",
    161: "virDomainDetachDeviceFlags",
    174: "virDomainUpdateDeviceFlags",
    196: "virDomainCreateWithFlags",
    204: "virDomainSetMemoryFlags",
    231: "virDomainUndefineFlags",
    234: "virDomainDestroyFlags",
    258: "virDomainShutdownFlags",
    350: "virDomainDefineXMLFlags",
    392: "virDomainDetachDeviceAlias",
}
"""Remote procedure → the C API that changes state and so refuses read-only connections.

libvirt enforces read-only access in the public API layer (libvirt-domain.c), so the error
names the API function ("operation forbidden: read only access prevents virDomainDestroy").
DOMAIN_GET_XML_DESC is refused only with the SECURE/MIGRATABLE flags, which its handler
checks. Every other procedure of our ``.x`` is allowed on a read-only connection.
"""


@dataclass(frozen=True, slots=True)
class Procedure:
    """One procedure that virtwire can encode and decode.

    ``args``/``ret``/``msg`` are ``None`` when that part is void (no payload bytes).  A
    procedure with ``msg`` is an event: it only travels as a MESSAGE.  ``priority`` is
    ``"high"`` or ``"low"``; ``generate`` is libvirt's ``@generate`` value; ``acl`` holds the
    ``@acl`` entries and ``aclfilter`` the ``@aclfilter`` ones, in file order.
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

    @property
    def changes_state(self) -> bool:
        """True when a read-only connection is refused this procedure (OPERATION_DENIED)."""
        return self.program == REMOTE_PROGRAM and self.number in STATE_CHANGING_API

    @property
    def api(self) -> str | None:
        """The C API named in the read-only refusal, for state-changing procedures."""
        return STATE_CHANGING_API.get(self.number) if self.program == REMOTE_PROGRAM else None

    @property
    def is_event(self) -> bool:
        """True for MESSAGE-only procedures (events); a CALL of one is "unknown procedure"."""
        return self.msg is not None


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
    procs = _from_module(remote_protocol, REMOTE_PROGRAM, "REMOTE_PROC_", "remote_")
    procs += _keepalive()
    table = {(p.program, p.version, p.number): p for p in procs}
    names = {p.name: p for p in procs}
    for p in procs:
        known = PROCEDURE_NAMES.get(p.program, {}).get(p.number)
        if known is not None and known != p.name:  # would mean our .x disagrees with libvirt
            log.warning("procedure %s = %d is %s in libvirt", p.name, p.number, known)
    return table, names


_TABLE, _BY_NAME = _build()


def lookup(prog: int, vers: int, proc: int) -> Procedure | None:
    """The codecs and annotations of a procedure we cover, or ``None`` (not decodable)."""
    return _TABLE.get((prog, vers, proc))


def by_name(name: str) -> Procedure | None:
    """Find a covered procedure by its libvirt constant name (``REMOTE_PROC_CONNECT_OPEN``)."""
    return _BY_NAME.get(name)


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
        name = PROCEDURE_NAMES.get(prog, {}).get(proc)
        if name is not None:
            return name
        covered = _TABLE.get((prog, vers, proc))
        if covered is not None:
            return covered.name
    program = PROGRAM_NAMES.get(prog, f"program 0x{prog:08x}")
    version = "" if vers == PROTOCOL_VERSION else f" v{vers}"
    return f"{program}{version} proc {proc}"
