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
import re
import sys
from pathlib import Path

from virtwire.protocol.generated import (
    admin_protocol,
    lxc_protocol,
    qemu_protocol,
    remote_protocol,
)

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


def render(rows: list[tuple[str, str | None, str | None, str | None, str, bool]]) -> str:
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
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virtwire.protocol.api_facts_gen")
    parser.add_argument("--libvirt-src", type=Path, required=True, help="unpacked libvirt tree")
    parser.add_argument("--check", action="store_true", help="exit 1 if api_facts.py is stale")
    ns = parser.parse_args(argv)
    text = render(build_rows(ns.libvirt_src))
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
