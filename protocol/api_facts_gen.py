"""Generate ``protocol/api_facts.py``: what each procedure does in libvirt's public API layer.

The ``.x`` files say how a procedure's bytes look; they do not say which C API a procedure
serves, which driver of a connection implements it, or whether a read-only connection is
refused it.  libvirt keeps those facts in its API entry points (``src/libvirt*.c``): each
``virXxx`` function checks ``virCheckReadOnlyGoto`` (or not), calls
``conn-><kind>Driver-><member>`` when the driver has it, and otherwise reports
``virReportUnsupportedError`` in the error domain of its file (``VIR_FROM_THIS``).  This
generator reads those files from a libvirt source tree (``../shared/peer/
get-libvirt-x-files.sh`` unpacks Debian's) and writes one committed table, so nothing at run
time needs libvirt installed.

    python -m virtwire.protocol.api_facts_gen --libvirt-src TREE          # rewrite
    python -m virtwire.protocol.api_facts_gen --libvirt-src TREE --check  # exit 1 if stale
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

from virtwire.protocol.generated import (
    admin_protocol,
    lxc_protocol,
    qemu_protocol,
    remote_protocol,
)
from virtwire.xdr.runtime import class_name

OUTPUT = Path(__file__).resolve().parent / "api_facts.py"

# conn->fooDriver  ->  the object kind whose driver implements it
_DRIVER_KIND = {
    "driver": "hypervisor",
    "networkDriver": "network",
    "storageDriver": "storage",
    "interfaceDriver": "interface",
    "nodeDeviceDriver": "nodedev",
    "secretDriver": "secret",
    "nwfilterDriver": "nwfilter",
}

# Procedures whose C entry point is not "vir" + the camel-cased name (the rest are matched
# by that rule, case-insensitively, against the functions libvirt defines).
_API_OVERRIDES = {
    "REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY": "virConnectDomainEventRegisterAny",
    "REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY": "virConnectDomainEventDeregisterAny",
    "QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER": "virConnectDomainQemuMonitorEventRegister",
    "QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER": "virConnectDomainQemuMonitorEventDeregister",
    "QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES": "virDomainQemuMonitorCommandWithFiles",
    "REMOTE_PROC_CONNECT_OPEN": "virConnectOpen",
    "REMOTE_PROC_CONNECT_CLOSE": "virConnectClose",
    "REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL_LIST": "virDomainGetSecurityLabelList",
    "REMOTE_PROC_NODE_DEVICE_DETTACH": "virNodeDeviceDettach",
    # the daemon's own answers (no driver behind them)
    "ADMIN_PROC_CONNECT_GET_LIB_VERSION": "virAdmConnectGetLibVersion",
    "ADMIN_PROC_CLIENT_CLOSE": "virAdmClientClose",
}

# libvirt's argument-check macros (src/internal.h) -> the kind recorded in ARG_CHECKS
_CHECK_KINDS = {
    "virCheckNonNullArg": "nonnull",
    "virCheckNullArg": "null",
    "virCheckNonEmptyStringArg": "nonempty",
    "virCheckPositiveArg": "positive",
    "virCheckNonZeroArg": "nonzero",
    "virCheckZeroArg": "zero",
    "virCheckNonNegativeArg": "nonnegative",
    "virCheckNonNullArrayArg": "nonnull_array",
}
_CHECK_RE = re.compile(
    r"\b(virCheckReadOnlyGoto|(virCheck\w+Arg)(?:Goto|Return))\(\s*([\w>.-]+)(?:\s*,\s*(\w+))?"
)

# C parameter names that are not the args struct's field names: (API, C name) -> source
# ("field" the field's value, "len:field" its element count, "fds" the fds of the call,
# "alloc:field" a buffer of that many elements)
_ALIASES = {
    ("virDomainBlockPeek", "disk"): "path",
    ("virNodeAllocPages", "npages"): "len:pageSizes",
    ("virConnectBaselineCPU", "ncpus"): "len:xmlCPUs",
    ("virConnectBaselineHypervisorCPU", "ncpus"): "len:xmlCPUs",
    ("virDomainFDAssociate", "nfds"): "fds",
    # output buffers the daemon allocates with g_new0(type, field): NULL for a zero count
    ("virDomainGetVcpus", "info"): "alloc:maxinfo",
    ("virDomainGetEmulatorPinInfo", "cpumap"): "alloc:maplen",
}

# hand-written checks (not macros) that are simple enough to apply: API -> (kind, C name,
# source, a text the function must contain, so a new libvirt is noticed)
_HAND_CHECKS = {
    "virStorageVolResize": (
        "resize_capacity",
        "capacity",
        "capacity",
        "virReportInvalidArg(capacity,",
    ),
}

_HAND_KINDS = frozenset(hand[0] for hand in _HAND_CHECKS.values())

_FUNC_RE = re.compile(r"^(?:int |char \*)?(vir\w+)\(", re.M)
_THIS_RE = re.compile(r"#define VIR_FROM_THIS (VIR_FROM_\w+)")
_CALL_RE = re.compile(r"->(\w*[dD]river)->(\w+)\s*\(")


def _bodies(text: str) -> dict[str, str]:
    """Function name -> its body, for every top-level ``virXxx(`` definition of a C file."""
    out: dict[str, str] = {}
    for m in _FUNC_RE.finditer(text):
        end = text.find("\n}\n", m.end())
        out[m.group(1)] = text[m.start() : end if end >= 0 else len(text)]
    return out


def _read_sources(tree: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(function -> body, function -> VIR_FROM_* of its file) over libvirt's API files."""
    bodies: dict[str, str] = {}
    domains: dict[str, str] = {}
    files = sorted((tree / "src").glob("libvirt*.c")) + [tree / "src/admin/libvirt-admin.c"]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        this = _THIS_RE.search(text)
        domain = this.group(1).removeprefix("VIR_FROM_") if this else "NONE"
        for name, body in _bodies(text).items():
            bodies.setdefault(name, body)
            domains.setdefault(name, domain)
    return bodies, domains


def _conditional(body: str, pos: int) -> bool:
    """Whether the statement at ``pos`` runs only sometimes (inside an ``if`` or a block)."""
    head = body[body.find("{") + 1 : pos]
    if head.count("{") != head.count("}"):
        return True
    before = head.rstrip().rsplit("\n", 1)[-1].strip()
    return before.startswith(("if ", "if(", "else", "} else")) or before.endswith(")")


def _field_types(args_cls: type | None) -> dict[str, str]:
    if args_cls is None:
        return {}
    return {f.name: str(f.type) for f in dataclasses.fields(args_cls)}


def _source(api: str, cname: str, fields: dict[str, str]) -> str | None:
    """Where the C parameter ``cname`` comes from on the wire (see ``_ALIASES``)."""
    alias = _ALIASES.get((api, cname))
    if alias is not None:
        return alias
    if cname in fields:
        return cname
    folded = {n.lower(): n for n in fields}
    if cname.lower() in folded:  # maxCells / maxcells
        return folded[cname.lower()]
    lists = {n.lower(): n for n, t in fields.items() if t.startswith("list[") or t == "bytes"}
    if cname.startswith("n") and cname[1:].lower() in lists:
        return "len:" + lists[cname[1:].lower()]
    for suffix in ("_size", "_len", "len", "size"):
        if cname.endswith(suffix) and cname.removesuffix(suffix).lower() in lists:
            return "len:" + lists[cname.removesuffix(suffix).lower()]
    return None


def _typed(kind: str, source: str, fields: dict[str, str]) -> str | None:
    """The check as it can fire on what the daemon decoded, or None when it cannot be mapped:
    a NULL pointer is an absent optional string or an empty array/opaque (XDR decodes those
    to NULL); a ``remote_nonnull_string`` is never NULL."""
    if source.startswith("alloc:"):
        return "nonnull_alloc" if kind == "nonnull" else None
    if source == "fds" or source.startswith("len:"):  # a count is never negative
        return kind if kind in ("nonzero", "zero", "positive") else None
    ftype = fields.get(source, "")
    if source == "uuid" and ftype == "bytes":  # a remote_uuid: fixed 16 bytes, never NULL
        return None
    if kind in ("nonnull", "null"):
        if ftype == "str | None":
            return kind
        if ftype.startswith("list[") or ftype == "bytes":
            return kind + "_array" if kind == "nonnull" else None
        return None
    if kind == "nonempty":
        return {"str | None": "nonempty", "str": "nonempty_nonnull"}.get(ftype)
    if kind in ("positive", "nonzero", "zero", "nonnegative", "resize_capacity"):
        return kind if ftype == "int" else None
    return None


def arg_checks(
    api: str, body: str, args_cls: type | None
) -> tuple[tuple[tuple[str, str, str], ...], list[str]]:
    """The checks ``api`` makes before calling its driver, in order, as (kind, C name,
    source); ``("readonly", "", "")`` marks where its read-only check is.  Also the checks
    that were not kept (as text), for the table's comment."""
    fields = _field_types(args_cls)
    call = _CALL_RE.search(body)
    end = call.start() if call else len(body)
    unsup = body.find("virReportUnsupportedError")
    if 0 <= unsup < end:
        end = unsup
    found: list[tuple[int, str, str, str | None]] = []
    for m in _CHECK_RE.finditer(body, 0, end):
        if m.group(1) == "virCheckReadOnlyGoto":
            if not _conditional(body, m.start()):
                found.append((m.start(), "readonly", "", None))
            continue
        kind = _CHECK_KINDS.get(m.group(2))
        if kind is None:
            continue
        found.append((m.start(), kind, m.group(3), m.group(4)))
    hand = _HAND_CHECKS.get(api)
    if hand is not None:
        pos = body.find(hand[3])
        if 0 <= pos < end:
            found.append((pos, hand[0], hand[1], None))
    checks: list[tuple[str, str, str]] = []
    skipped: list[str] = []
    for pos, kind, cname, size in sorted(found):
        if kind == "readonly":
            checks.append(("readonly", "", ""))
            continue
        where = f"{api}: {kind}({cname})"
        if kind not in _HAND_KINDS and _conditional(body, pos):
            skipped.append(where + " conditional")
            continue
        source = _source(api, cname, fields)
        typed = None
        if source is not None:
            if kind == "nonnull_array":
                size_src = _source(api, size or "", fields)
                typed = None
                # NULL arrives only as an empty array: with its own length as the size it
                # never fires
                if (
                    size_src not in (None, "len:" + source)
                    and _typed("nonnull", source, fields) == "nonnull_array"
                ):
                    typed, source = "nonnull_sized", f"{source}:{size_src}"
            else:
                typed = _typed(kind, source, fields)
        if typed is None:
            skipped.append(where + " cannot fire on the wire or is unmapped")
            continue
        checks.append((typed, cname, source))
    if all(kind == "readonly" for kind, _, _ in checks):
        return (), skipped
    return tuple(checks), skipped


def _camel_candidates(name: str) -> list[str]:
    program, _, rest = name.partition("_PROC_")
    words = rest.split("_")
    camel = "".join(w.capitalize() for w in words)
    if program == "REMOTE":
        return ["vir" + camel]
    if program == "ADMIN":
        return ["virAdm" + camel]
    infix = program.capitalize()  # Qemu / Lxc after the object word
    obj, tail = words[0].capitalize(), "".join(w.capitalize() for w in words[1:])
    return [f"vir{obj}{infix}{tail}", "vir" + camel]


def build_rows(tree: Path) -> list[tuple[str, str | None, str | None, str | None, str, bool]]:
    """(procedure, api, driver kind, driver member, error domain, read-only refused)."""
    bodies, domains = _read_sources(tree)
    folded = {name.lower(): name for name in bodies}
    rows = []
    for module in (remote_protocol, qemu_protocol, lxc_protocol, admin_protocol):
        for pdef in module.PROCEDURES:
            name = pdef.name
            is_event = name.split("_PROC_")[1].startswith(
                (
                    "DOMAIN_EVENT",
                    "NETWORK_EVENT",
                    "STORAGE_POOL_EVENT",
                    "NODE_DEVICE_EVENT",
                    "SECRET_EVENT",
                    "CONNECT_EVENT",
                )
            ) or name.endswith("_MONITOR_EVENT")
            api = _API_OVERRIDES.get(name)
            if api is None and not is_event:
                for cand in _camel_candidates(name):
                    api = folded.get(cand.lower())
                    if api:
                        break
            if api is None:
                rows.append((name, None, None, None, "NONE", False))
                continue
            body = bodies.get(api, "")
            call = _CALL_RE.search(body)
            kind = member = None
            if call and call.group(1) in _DRIVER_KIND:
                kind, member = _DRIVER_KIND[call.group(1)], call.group(2)
            readonly = "virCheckReadOnlyGoto" in body
            rows.append((name, api, kind, member, domains.get(api, "NONE"), readonly))
    return rows


Checks = dict[str, tuple[tuple[str, str, str], ...]]


def build_checks(tree: Path, rows: list) -> tuple[Checks, list[str]]:
    """Procedure -> its API's argument checks (see :func:`arg_checks`); and what was left out."""
    bodies, _ = _read_sources(tree)
    modules = {"REMOTE": remote_protocol, "QEMU": qemu_protocol, "LXC": lxc_protocol,
               "ADMIN": admin_protocol}  # fmt: skip
    checks: Checks = {}
    skipped: list[str] = []
    for name, api, *_ in rows:
        if api is None or api not in bodies:
            continue
        prefix, _, rest = name.partition("_PROC_")
        struct = f"{prefix.lower()}_{rest.lower()}_args"
        args_cls = getattr(modules[prefix], class_name(struct), None)
        found, left = arg_checks(api, bodies[api], args_cls)
        skipped += [f"{name}: {text}" for text in left]
        if found:
            checks[name] = found
    return checks, skipped


def build(tree: Path) -> tuple[list, Checks, list[str]]:
    rows = build_rows(tree)
    return (rows, *build_checks(tree, rows))


def render(
    rows: list[tuple[str, str | None, str | None, str | None, str, bool]],
    checks: Checks | None = None,
    skipped: list[str] | None = None,
) -> str:
    out = [
        '"""What each procedure is in libvirt\'s API layer (generated; do not edit).',
        "",
        "Made by ``python -m virtwire.protocol.api_facts_gen`` from libvirt 9.0's src/libvirt*.c.",
        "Columns: the C API it serves; the connection driver that implements it (hypervisor,",
        "network, storage, interface, nodedev, secret, nwfilter; None: the daemon itself) and that",
        "driver's member; the error domain of the API's file (NO_SUPPORT and read-only errors are",
        "reported there); whether a read-only connection is refused it (virCheckReadOnlyGoto).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "#: procedure name -> (api, driver kind, driver member, error domain, read-only refused)",
        "API_FACTS: dict[str, tuple[str | None, str | None, str | None, str, bool]] = {",
    ]
    for name, api, kind, member, domain, readonly in rows:
        out.append(f"    {name!r}: ({api!r}, {kind!r}, {member!r}, {domain!r}, {readonly!r}),")
    out.append("}")
    out += [
        "",
        "#: procedure name -> the argument checks its API makes before calling the driver, in",
        "#: libvirt's order: (kind, C parameter name, source on the wire); source is an args",
        '#: field, "len:field" (its element count), "a:n" (an array and its size), "fds" (the',
        '#: fds passed with the call) or "alloc:field" (an output buffer the daemon allocates',
        '#: with that count: NULL for 0); ("readonly", "", "") is where the read-only check is.',
        "#: Applied by server/argchecks.py.  Checks left out (conditional, or of parameters that",
        "#: are not on the wire, e.g. output buffers the daemon allocates):",
    ]
    out += [f"#:   {text}" for text in skipped or ()]
    out.append("ARG_CHECKS: dict[str, tuple[tuple[str, str, str], ...]] = {")
    for name, found in (checks or {}).items():
        out.append(f"    {name!r}: {found!r},")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virtwire.protocol.api_facts_gen")
    parser.add_argument("--libvirt-src", type=Path, required=True, help="unpacked libvirt tree")
    parser.add_argument("--check", action="store_true", help="exit 1 if api_facts.py is stale")
    ns = parser.parse_args(argv)
    text = render(*build(ns.libvirt_src))
    if ns.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.name} is stale: regenerate it", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
