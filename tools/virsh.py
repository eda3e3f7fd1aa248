"""virsh's verbs on top of a libvirt-python-compatible module.

`virtwire [-c URI] VERB ARGS…` behaves like `virsh -c URI VERB ARGS…` of libvirt 9.0 for the
verbs in `VERBS`: the same option syntax (`--opt value`, `--opt=value`, positional data, `--`),
the same output byte for byte, the same `error: …` lines on stderr and the same exit codes.
Like virsh in one-shot mode, a command that got as far as running prints one empty line after
its output.

The verbs are written against the *module*, not against virtwire's client: `run()` takes the
libvirt module as a parameter (default `virtwire.client.libvirt`), so the same code runs with
the real python3-libvirt — which is how the formatting is checked against real virsh.
Standard library only, for that reason.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TextIO

from virtwire.tools import virsh_format as fmt

log = logging.getLogger("virtwire.tools")

# --- libvirt ABI numbers used here (stable across libvirt versions) -------------------------

ERR_NO_SUPPORT = 3
ERR_INVALID_ARG = 8
ERR_NO_DOMAIN_METADATA = 80

AFFECT_CURRENT, AFFECT_LIVE, AFFECT_CONFIG = 0, 1, 2
LIST_ACTIVE, LIST_INACTIVE = 1, 2
XML_SECURE, XML_INACTIVE, XML_UPDATE_CPU, XML_MIGRATABLE = 1, 2, 4, 8
UINT_MAX = 0xFFFFFFFF
ULONG_MAX = (1 << 64) - 1
INT_MAX = 0x7FFFFFFF
MAX_XML_FILE = 10 * 1024 * 1024  # virsh's VSH_MAX_XML_FILE

LIST_FILTERS = {
    "persistent": 4,
    "transient": 8,
    "state-running": 16,
    "state-paused": 32,
    "state-shutoff": 64,
    "state-other": 128,
    "with-managed-save": 256,
    "without-managed-save": 512,
    "autostart": 1024,
    "no-autostart": 2048,
    "with-snapshot": 4096,
    "without-snapshot": 8192,
    "with-checkpoint": 16384,
    "without-checkpoint": 32768,
}
SHUTDOWN_MODES = {"acpi": 1, "agent": 2, "initctl": 4, "signal": 8, "paravirt": 16}


# --- option definitions and the vsh-style parser --------------------------------------------


@dataclass(frozen=True)
class Opt:
    """One option of a command. `kind`: "bool", "data" (a positional operand, shown as
    <name> in errors), "string" or "int" (valued options, also fillable positionally)."""

    name: str
    kind: str = "bool"
    required: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    handler: Callable[[Ctl, dict[str, Any]], bool]
    opts: tuple[Opt, ...] = ()
    needs_connection: bool = True


class OutputClosed(Exception):
    """stdout went away (`virtwire list | head -1`): stop quietly, as virsh dies of SIGPIPE."""


class UsageError(Exception):
    """Bad command line: each message becomes one `error: …` line, exit code 1."""

    def __init__(self, *messages: str) -> None:
        super().__init__(messages[0] if messages else "")
        self.messages = messages


def parse_options(cmd: Command, args: list[str]) -> dict[str, Any]:
    """Parse `args` as vshCommandParse does: named options may come anywhere, values of
    non-bool options may also be given positionally, in declaration order."""
    by_name = {o.name: o for o in cmd.opts}
    positional = [o for o in cmd.opts if o.kind != "bool"]
    values: dict[str, Any] = {}
    data_only = False
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        if not data_only and tok == "--":
            data_only = True
            continue
        if not data_only and tok.startswith("--") and len(tok) > 2:
            name, eq, inline = tok[2:].partition("=")
            opt = by_name.get(name)
            if opt is None:
                raise UsageError(f"command '{cmd.name}' doesn't support option --{name}")
            if opt.name in values:
                raise UsageError(f"option --{name} already seen")
            if opt.kind == "bool":
                if eq:
                    raise UsageError(f"invalid '=' after option --{name}")
                values[opt.name] = True
                continue
            if eq:
                values[opt.name] = inline
            elif i < len(args):
                values[opt.name] = args[i]
                i += 1
            else:
                kind = "number" if opt.kind == "int" else "string"
                raise UsageError(f"expected syntax: --{name} <{kind}>")
            if opt in positional:
                positional.remove(opt)
            continue
        # a positional operand fills the next valued option not given yet
        while positional and positional[0].name in values:
            positional.pop(0)
        if not positional:
            raise UsageError(f"unexpected data '{tok}'")
        values[positional.pop(0).name] = tok
    missing = [
        f"command '{cmd.name}' requires <{o.name}> option"
        if o.kind == "data"
        else f"command '{cmd.name}' requires --{o.name} option"
        for o in cmd.opts
        if o.required and o.name not in values
    ]
    if missing:
        raise UsageError(*missing)
    return values


def opt_str(opts: dict[str, Any], name: str) -> str | None:
    """vshCommandOptStringReq: a given-but-empty string option is an error."""
    value = opts.get(name)
    if value == "":
        raise UsageError(f"Failed to get option '{name}': Option argument is empty")
    return value


def opt_flags(opts: dict[str, Any], bits: Iterable[tuple[str, int]]) -> int:
    """The OR of the bits whose boolean options were given, as virsh's runs of
    ``if (vshCommandOptBool(...)) flags |= ...`` compute it."""
    flags = 0
    for name, bit in bits:
        if opts.get(name):
            flags |= bit
    return flags


def exclusive(opts: dict[str, Any], a: str, b: str) -> None:
    """VSH_EXCLUSIVE_OPTIONS."""
    if opts.get(a) and opts.get(b):
        raise UsageError(f"Options --{a} and --{b} are mutually exclusive")


# --- the control block: connection, output, virsh's error reporting -------------------------


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


@dataclass
class Ctl:
    """What virsh's vshControl carries for one command: the module, the connection, the
    streams and the last libvirt error (printed when the command fails, as vshReportError)."""

    lv: ModuleType
    uri: str | None
    out: TextIO
    err: TextIO
    conn: Any = None
    last_error: BaseException | None = None
    disconnected: bool = False
    output_closed: bool = False
    # set by whatever waits for events, so that a lost connection ends the wait
    wakeup: threading.Event | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def print(self, text: str) -> None:
        with self._lock:
            try:
                _write(self.out, text)
                self.out.flush()
            except BrokenPipeError:
                self.output_closed = True
                if self.wakeup is not None:
                    self.wakeup.set()
                raise OutputClosed from None

    def error(self, message: str) -> None:
        """vshError: flush stdout first so that the two streams interleave as virsh's do."""
        with self._lock:
            with contextlib.suppress(Exception):
                self.out.flush()
            _write(self.err, f"error: {message}\n")
            self.err.flush()

    def is_libvirt_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self.lv.libvirtError)

    def save_error(self, exc: BaseException) -> None:
        self.last_error = exc

    def report_error(self) -> None:
        """vshReportError: print the saved libvirt error, if any, then forget it."""
        exc, self.last_error = self.last_error, None
        if exc is None:
            return
        message = _error_message(exc)
        self.error(message if message else "unknown error")


CLOSE_REASONS = {
    0: "Disconnected from {} due to I/O error",
    1: "Disconnected from {} due to end of file",
    2: "Disconnected from {} due to keepalive timeout",
}
CLOSE_REASON_CLIENT = 3


def _watch_disconnect(ctl: Ctl) -> None:
    """virshCatchDisconnect: say so at once when the server goes away, and end an event wait."""

    def on_close(conn: Any, reason: int, _opaque: Any) -> None:
        if reason == CLOSE_REASON_CLIENT:
            return
        uri = ctl.uri
        if uri is None:
            with contextlib.suppress(Exception):
                uri = conn.getURI()
        template = CLOSE_REASONS.get(reason, "Disconnected from {} due to unknown reason")
        ctl.error(template.format(uri))
        ctl.disconnected = True
        if ctl.wakeup is not None:
            ctl.wakeup.set()

    with contextlib.suppress(Exception):
        ctl.conn.registerCloseCallback(on_close, None)


def _error_message(exc: BaseException) -> str:
    getter = getattr(exc, "get_error_message", None)
    if getter is not None:
        with contextlib.suppress(Exception):
            message = getter()
            if message is not None:
                return str(message)
    return str(exc)


def _error_code(exc: BaseException) -> int | None:
    getter = getattr(exc, "get_error_code", None)
    if getter is None:
        return None
    try:
        return getter()
    except Exception:
        return None


# --- domain lookup (virshLookupDomainInternal) ----------------------------------------------

_INT_RE = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+")
BY_ID, BY_UUID, BY_NAME = 1, 2, 4


def lookup_domain(ctl: Ctl, name: str, by: int = BY_ID | BY_UUID | BY_NAME) -> Any | None:
    """Try the string as an ID, then a UUID, then a name; every lookup error is dropped and
    the only message is virsh's `failed to get domain 'NAME'`."""
    conn = ctl.conn
    dom = None
    if by & BY_ID and _INT_RE.fullmatch(name):
        number = int(name)
        if 0 <= number <= INT_MAX:
            with contextlib.suppress(ctl.lv.libvirtError):
                dom = conn.lookupByID(number)
    if dom is None and by & BY_UUID and len(name.encode("utf-8", "surrogateescape")) == 36:
        with contextlib.suppress(ctl.lv.libvirtError):
            dom = conn.lookupByUUIDString(name)
    if dom is None and by & BY_NAME:
        with contextlib.suppress(ctl.lv.libvirtError):
            dom = conn.lookupByName(name)
    ctl.last_error = None
    if dom is None:
        ctl.error(f"failed to get domain '{name}'")
    return dom


def domain_state(ctl: Ctl, dom: Any) -> tuple[int, int]:
    """virshDomainState: (state, reason) from GET_STATE, or GET_INFO if the server lacks it."""
    try:
        state, reason = dom.state(0)[:2]
        return state, reason
    except ctl.lv.libvirtError as exc:
        if _error_code(exc) != ERR_NO_SUPPORT:
            raise
    return dom.info()[0], -1


def read_xml_file(ctl: Ctl, path: str) -> str | None:
    """virFileReadAll with virsh's limit; errors worded as libvirt words them."""
    try:
        with open(path, "rb") as f:
            try:
                data = f.read(MAX_XML_FILE + 1)
            except OSError as exc:
                ctl.error(f"Failed to read file '{path}': {exc.strerror}")
                return None
    except OSError as exc:
        ctl.error(f"Failed to open file '{path}': {exc.strerror}")
        return None
    if len(data) > MAX_XML_FILE:
        ctl.error(f"Failed to read file '{path}': File too large")
        return None
    return data.decode("utf-8", "surrogateescape")


def _call(ctl: Ctl, obj: Any, method: str, *args: Any, fallback: str | None = None) -> Any:
    """Call `obj.method(*args)`, or `fallback` when the module lacks `method` (a drop-in
    may implement only the *Flags variant)."""
    fn = getattr(obj, method, None)
    if fn is None and fallback is not None:
        return getattr(obj, fallback)(*args, 0)
    if fn is None:
        raise AttributeError(method)
    return fn(*args)


# --- verbs -----------------------------------------------------------------------------------

DOMAIN = Opt("domain", "data", required=True)


def cmd_list(ctl: Ctl, o: dict[str, Any]) -> bool:
    flags = LIST_ACTIVE
    if o.get("inactive") or o.get("state-shutoff"):
        flags = LIST_INACTIVE
    if o.get("all"):
        flags = LIST_ACTIVE | LIST_INACTIVE
    flags |= opt_flags(o, LIST_FILTERS.items())
    exclusive(o, "table", "name")
    exclusive(o, "table", "id")
    opt_uuid, opt_name, opt_id = o.get("uuid"), o.get("name"), o.get("id")
    opt_title, managed = o.get("title"), o.get("managed-save")
    opt_table = o.get("table") or not (opt_uuid or opt_name or opt_id)

    try:
        domains = list(ctl.conn.listAllDomains(flags))
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error("Failed to list domains")
        return False

    def sort_key(dom: Any) -> tuple:
        dom_id = dom.ID()
        if dom_id == -1 or dom_id == UINT_MAX:
            return (1, 0, fmt.ascii_casefold_key(dom.name()))
        return (0, dom_id, b"")

    domains.sort(key=sort_key)

    if opt_table:
        header = ["Id", "Name", "State"]
        if opt_title:
            header.append("Title")
        if opt_uuid:
            header.append("UUID")
        rows = []
    for dom in domains:
        dom_id = dom.ID()
        id_text = "-" if dom_id in (-1, UINT_MAX) else str(dom_id)
        if opt_table:
            try:
                state, _ = domain_state(ctl, dom)
            except ctl.lv.libvirtError as exc:  # the domain went away meanwhile
                ctl.save_error(exc)
                continue
            if managed and state == 5 and _has_managed_save(ctl, dom) > 0:
                state_text = "saved"
            else:
                state_text = fmt.state_to_string(state)
            row = [id_text, dom.name(), state_text]
            if opt_title:
                title = domain_title(ctl, dom)
                if title is None:
                    return False
                row.append(title)
            if opt_uuid:
                row.append(dom.UUIDString())
            rows.append(row)
            continue
        parts = []
        if opt_uuid:
            parts.append(dom.UUIDString())
        if opt_id:
            if id_text == "-" and not opt_uuid and not opt_name:
                continue
            parts.append(id_text)
        if opt_name:
            parts.append(dom.name())
        ctl.print(" ".join(parts) + "\n")
    if opt_table:
        ctl.print(fmt.format_table(header, rows))
    return True


def _field(label: str, value: object, width: int = 15) -> str:
    """One `Label:   value` line: virsh pads labels with printf's %-15s (dominfo) or
    %-20s (nodeinfo)."""
    return f"{label:<{width}} {value}\n"


def _has_managed_save(ctl: Ctl, dom: Any) -> int:
    try:
        return int(dom.hasManagedSaveImage(0))
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        return -1


def domain_title(ctl: Ctl, dom: Any) -> str | None:
    """virshGetDomainDescription(title=True): metadata API first, domain XML as fallback."""
    try:
        return dom.metadata(1, None, 0)
    except AttributeError:
        pass
    except ctl.lv.libvirtError as exc:
        code = _error_code(exc)
        if code == ERR_NO_DOMAIN_METADATA:
            ctl.last_error = None
            return ""
        if code != ERR_NO_SUPPORT:
            ctl.save_error(exc)
            return None
    try:
        root = ET.fromstring(dom.XMLDesc(0))
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        return None
    except ET.ParseError:
        return ""
    title = root.find("title")
    return "".join(title.itertext()) if title is not None else ""


def cmd_dominfo(ctl: Ctl, o: dict[str, Any]) -> bool:
    dom = lookup_domain(ctl, opt_str(o, "domain"))
    if dom is None:
        return False
    lv = ctl.lv
    ok = True
    dom_id = dom.ID()
    ctl.print(_field("Id:", "-" if dom_id in (-1, UINT_MAX) else dom_id))
    ctl.print(_field("Name:", dom.name()))
    ctl.print(_field("UUID:", dom.UUIDString()))
    try:
        ctl.print(_field("OS Type:", dom.OSType()))
    except lv.libvirtError as exc:
        ctl.save_error(exc)
    try:
        state, max_mem, memory, ncpus, cpu_time = dom.info()[:5]
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        ok = False
    else:
        ctl.print(_field("State:", fmt.state_to_string(state)))
        ctl.print(_field("CPU(s):", ncpus))
        if cpu_time != 0:
            ctl.print(_field("CPU time:", f"{float(cpu_time) / 1000000000.0:.1f}s"))
        if max_mem != UINT_MAX:
            ctl.print(_field("Max memory:", f"{max_mem} KiB"))
        else:
            ctl.print(_field("Max memory:", "no limit"))
        ctl.print(_field("Used memory:", f"{memory} KiB"))
    try:
        persistent = "yes" if dom.isPersistent() else "no"
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        persistent = "unknown"
    ctl.print(_field("Persistent:", persistent))
    try:
        ctl.print(_field("Autostart:", "enable" if dom.autostart() else "disable"))
    except lv.libvirtError as exc:
        ctl.save_error(exc)
    managed = _has_managed_save(ctl, dom)
    managed_text = "unknown" if managed < 0 else ("yes" if managed else "no")
    ctl.print(_field("Managed save:", managed_text))

    try:
        model, doi = _security_model(ctl)
    except lv.libvirtError as exc:
        if _error_code(exc) != ERR_NO_SUPPORT:
            ctl.save_error(exc)
            return False
        ctl.last_error = None
    else:
        if model:
            ctl.print(_field("Security model:", model))
            ctl.print(_field("Security DOI:", doi))
            try:
                label, enforcing = dom.securityLabel()[:2]
            except lv.libvirtError as exc:
                ctl.save_error(exc)
                return False
            if label:
                mode = "enforcing" if enforcing else "permissive"
                ctl.print(_field("Security label:", f"{label} ({mode})"))
    messages_fn = getattr(dom, "messages", None)
    if messages_fn is not None:
        try:
            messages = messages_fn(0)
        except lv.libvirtError:
            messages = []
        for i, message in enumerate(messages or ()):
            ctl.print(_field("Messages:" if i == 0 else "", message))
    return ok


def _security_model(ctl: Ctl) -> tuple[str, str]:
    fn = getattr(ctl.conn, "getSecurityModel", None)
    if fn is None:  # a module without it behaves as a server without it: nothing printed
        return "", ""
    model, doi = fn()[:2]
    return model or "", doi or ""


def cmd_domstate(ctl: Ctl, o: dict[str, Any]) -> bool:
    dom = lookup_domain(ctl, opt_str(o, "domain"))
    if dom is None:
        return False
    state, reason = domain_state(ctl, dom)
    if o.get("reason"):
        reason_text = fmt.state_reason_to_string(state, reason)
        ctl.print(f"{fmt.state_to_string(state)} ({reason_text})\n")
    else:
        ctl.print(f"{fmt.state_to_string(state)}\n")
    return True


def cmd_dumpxml(ctl: Ctl, o: dict[str, Any]) -> bool:
    flags = opt_flags(
        o,
        (
            ("inactive", XML_INACTIVE),
            ("security-info", XML_SECURE),
            ("update-cpu", XML_UPDATE_CPU),
            ("migratable", XML_MIGRATABLE),
        ),
    )
    dom = lookup_domain(ctl, opt_str(o, "domain"))
    if dom is None:
        return False
    ctl.print(dom.XMLDesc(flags))
    return True


def cmd_define(ctl: Ctl, o: dict[str, Any]) -> bool:
    path = opt_str(o, "file")
    xml = read_xml_file(ctl, path)
    if xml is None:
        return False
    try:
        validate = o.get("validate")
        dom = ctl.conn.defineXMLFlags(xml, 1) if validate else ctl.conn.defineXML(xml)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error(f"Failed to define domain from {path}")
        return False
    ctl.print(f"Domain '{dom.name()}' defined from {path}\n")
    return True


def cmd_undefine(ctl: Ctl, o: dict[str, Any]) -> bool:
    flags = opt_flags(
        o,
        (
            ("managed-save", 1),
            ("snapshots-metadata", 2),
            ("nvram", 4),
            ("keep-nvram", 8),
            ("checkpoints-metadata", 16),
        ),
    )
    exclusive(o, "nvram", "keep-nvram")
    name = opt_str(o, "domain")
    dom = lookup_domain(ctl, name)
    if dom is None:
        return False
    lv = ctl.lv
    # virsh probes these before choosing the API; failures only matter if unexpected
    with contextlib.suppress(lv.libvirtError):
        dom.isActive()
    if _has_managed_save(ctl, dom) < 0 and _error_code(ctl.last_error) != ERR_NO_SUPPORT:
        return False
    ctl.last_error = None
    snapshot_num = getattr(dom, "snapshotNum", None)
    if snapshot_num is not None:
        with contextlib.suppress(lv.libvirtError):
            snapshot_num(0)
    try:
        try:
            if flags:
                dom.undefineFlags(flags)
            else:
                _undefine_plainly(dom)
        except lv.libvirtError as exc:
            if flags or _error_code(exc) not in (ERR_NO_SUPPORT, ERR_INVALID_ARG):
                raise
            dom.undefine()
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error(f"Failed to undefine domain '{name}'")
        return False
    ctl.print(f"Domain '{name}' has been undefined\n")
    return True


def _undefine_plainly(dom: Any) -> None:
    """UNDEFINE_FLAGS with 0 (what virsh sends), or plain UNDEFINE for a module without it."""
    fn = getattr(dom, "undefineFlags", None)
    if fn is None:
        dom.undefine()
    else:
        fn(0)


def cmd_start(ctl: Ctl, o: dict[str, Any]) -> bool:
    dom = lookup_domain(ctl, opt_str(o, "domain"), BY_UUID | BY_NAME)
    if dom is None:
        return False
    if dom.ID() not in (-1, UINT_MAX):
        ctl.error("Domain is already active")
        return False
    flags = opt_flags(
        o,
        (
            ("paused", 1),
            ("autodestroy", 2),
            ("bypass-cache", 4),
            ("force-boot", 8),
            ("reset-nvram", 16),
        ),
    )
    try:
        if flags:
            dom.createWithFlags(flags)
        else:
            dom.create()
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error(f"Failed to start domain '{dom.name()}'")
        return False
    ctl.print(f"Domain '{dom.name()}' started\n")
    return True


def _simple_action(
    action: str, done: str, call: Callable[[Any, dict[str, Any]], Any]
) -> Callable[[Ctl, dict[str, Any]], bool]:
    """destroy/suspend/resume/shutdown/reboot: virsh names the domain as the user typed it."""

    def handler(ctl: Ctl, o: dict[str, Any]) -> bool:
        name = opt_str(o, "domain")
        dom = lookup_domain(ctl, name)
        if dom is None:
            return False
        try:
            call(dom, o)
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
            ctl.error(f"Failed to {action} domain '{name}'")
            return False
        ctl.print(f"Domain '{name}' {done}\n")
        return True

    return handler


def _modes(o: dict[str, Any]) -> int:
    """shutdown/reboot --mode a,b,…: the VIR_DOMAIN_{SHUTDOWN,REBOOT}_* flags (same values)."""
    if "mode" not in o:
        return 0
    flags = 0
    for mode in opt_str(o, "mode").split(","):
        if mode not in SHUTDOWN_MODES:
            raise UsageError(
                f"Unknown mode {mode} value, expecting 'acpi', 'agent', 'initctl', "
                "'signal', or 'paravirt'"
            )
        flags |= SHUTDOWN_MODES[mode]
    return flags


def _destroy(dom: Any, o: dict[str, Any]) -> None:
    if o.get("graceful"):
        dom.destroyFlags(1)
    else:
        dom.destroy()


def _shutdown(dom: Any, o: dict[str, Any]) -> None:
    flags = _modes(o)
    if flags:
        dom.shutdownFlags(flags)
    else:
        dom.shutdown()


def _affect_flags(o: dict[str, Any], *, persistent: bool) -> int:
    if persistent:
        exclusive(o, "persistent", "current")
    exclusive(o, "current", "live")
    exclusive(o, "current", "config")
    flags = 0
    if o.get("config") or o.get("persistent"):
        flags |= AFFECT_CONFIG
    if o.get("live"):
        flags |= AFFECT_LIVE
    return flags


def _device_verb(verb: str) -> Callable[[Ctl, dict[str, Any]], bool]:
    """attach-device / detach-device: the *Flags call only when a flag was given, as virsh."""
    plain, with_flags = (
        ("attachDevice", "attachDeviceFlags")
        if verb == "attach"
        else ("detachDevice", "detachDeviceFlags")
    )

    def handler(ctl: Ctl, o: dict[str, Any]) -> bool:
        flags = _affect_flags(o, persistent=True)
        dom = lookup_domain(ctl, opt_str(o, "domain"))
        if dom is None:
            return False
        if o.get("persistent") and dom.isActive() == 1:
            flags |= AFFECT_LIVE
        path = opt_str(o, "file")
        xml = read_xml_file(ctl, path)
        if xml is None:
            return False
        try:
            if flags or o.get("current"):
                getattr(dom, with_flags)(xml, flags)
            else:
                _call(ctl, dom, plain, xml, fallback=with_flags)
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
            ctl.error(f"Failed to {verb} device from {path}")
            return False
        ctl.print(f"Device {verb}ed successfully\n")
        return True

    return handler


def cmd_detach_device_alias(ctl: Ctl, o: dict[str, Any]) -> bool:
    flags = _affect_flags(o, persistent=False)
    dom = lookup_domain(ctl, opt_str(o, "domain"))
    if dom is None:
        return False
    alias = opt_str(o, "alias")
    try:
        dom.detachDeviceAlias(alias, flags)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error(f"Failed to detach device with alias {alias}")
        return False
    ctl.print("Device detach request sent successfully\n")
    return True


def cmd_setmem(ctl: Ctl, o: dict[str, Any]) -> bool:
    flags = _affect_flags(o, persistent=False)
    dom = lookup_domain(ctl, opt_str(o, "domain"))
    if dom is None:
        return False
    text = o["size"]
    try:
        size = fmt.parse_scaled_int(text, 1024, ULONG_MAX)
    except fmt.ScaleError as exc:
        ctl.error(f"Scaled numeric value '{text}' for <size> option is malformed or out of range")
        if exc.detail:
            ctl.error(exc.detail)
        return False
    kib = -(-size // 1024)
    try:
        if flags == 0:
            _call(ctl, dom, "setMemory", kib, fallback="setMemoryFlags")
        else:
            dom.setMemoryFlags(kib, flags)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        return False
    return True


def cmd_version(ctl: Ctl, o: dict[str, Any]) -> bool:
    lv = ctl.lv
    lib = _library_version(lv)
    ctl.print(f"Compiled against library: libvirt {fmt.version_triplet(lib)}\n")
    ctl.print(f"Using library: libvirt {fmt.version_triplet(lib)}\n")
    try:
        hv_type = ctl.conn.getType()
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error("failed to get hypervisor type")
        return False
    ctl.print(f"Using API: {hv_type} {fmt.version_triplet(lib)}\n")
    try:
        hv_version = ctl.conn.getVersion()
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error("failed to get the hypervisor version")
        return False
    if hv_version == 0:
        ctl.print(f"Cannot extract running {hv_type} hypervisor version\n")
    else:
        ctl.print(f"Running hypervisor: {hv_type} {fmt.version_triplet(hv_version)}\n")
    if o.get("daemon"):
        try:
            daemon = ctl.conn.getLibVersion()
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            ctl.error("failed to get the daemon version")
        else:
            ctl.print(f"Running against daemon: {fmt.version_triplet(daemon)}\n")
    return True


def _library_version(lv: ModuleType) -> int:
    """The libvirt API level the module speaks (9.0.0 for virtwire's drop-in)."""
    getter = getattr(lv, "getVersion", None)
    if getter is not None:
        with contextlib.suppress(Exception):
            return int(getter())
    return 9000000


def cmd_uri(ctl: Ctl, o: dict[str, Any]) -> bool:
    ctl.print(f"{ctl.conn.getURI()}\n")
    return True


def cmd_hostname(ctl: Ctl, o: dict[str, Any]) -> bool:
    try:
        hostname = ctl.conn.getHostname()
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error("failed to get hostname")
        return False
    ctl.print(f"{hostname}\n")
    return True


def cmd_nodeinfo(ctl: Ctl, o: dict[str, Any]) -> bool:
    try:
        model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = ctl.conn.getInfo()[:8]
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.error("failed to get node information")
        return False
    ctl.print(_field("CPU model:", model, 20))
    ctl.print(_field("CPU(s):", cpus, 20))
    if mhz:
        ctl.print(_field("CPU frequency:", f"{mhz} MHz", 20))
    ctl.print(_field("CPU socket(s):", sockets, 20))
    ctl.print(_field("Core(s) per socket:", cores, 20))
    ctl.print(_field("Thread(s) per core:", threads, 20))
    ctl.print(_field("NUMA cell(s):", nodes, 20))
    # libvirt-python's getInfo() reports MiB (the C struct has KiB): scale back
    ctl.print(_field("Memory size:", f"{memory_mib * 1024} KiB", 20))
    return True


# --- event -----------------------------------------------------------------------------------

_event_impl_registered = False


def _ensure_event_impl(lv: ModuleType) -> None:
    """virEventRegisterDefaultImpl must precede the connection and runs once per process."""
    global _event_impl_registered
    if not _event_impl_registered:
        lv.virEventRegisterDefaultImpl()
        _event_impl_registered = True


def _parse_timeout(text: str) -> int:
    """vshCommandOptTimeoutToMs of virsh 9.0: a whole number of seconds, 1..INT_MAX/1000."""
    if not _INT_RE.fullmatch(text) or not 1 <= int(text) <= INT_MAX // 1000:
        raise UsageError(
            f"Numeric value '{text}' for <timeout> option is malformed or out of range"
        )
    return int(text)


class _EventPrinter:
    """The state shared by all event callbacks of one `event` command (virshDomEventData)."""

    def __init__(self, ctl: Ctl, loop: bool, timestamp: bool) -> None:
        self.ctl = ctl
        self.loop = loop
        self.timestamp = timestamp
        self.count = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def emit(self, text: str) -> None:
        with self._lock:
            if not self.loop and self.count:
                return
            if self.timestamp:
                text = f"{fmt.timestamp_now()}: {text}"
            self.ctl.print(text)
            self.count += 1
            if not self.loop:
                self.done.set()

    def callback(self, event_id: int) -> Callable[..., None]:
        """A callback with libvirt-python's signature for `event_id`: (conn, dom, *args,
        opaque)."""

        def cb(conn: Any, dom: Any, *rest: Any) -> None:
            try:
                self.emit(fmt.format_event(event_id, dom.name(), *rest[:-1]))
            except OutputClosed:
                pass  # the waiting thread has been woken up and ends the command
            except Exception:  # never let a formatting slip kill the event loop
                log.exception("cannot print event %d", event_id)

        return cb


def cmd_event(ctl: Ctl, o: dict[str, Any]) -> bool:
    exclusive(o, "all", "event")
    exclusive(o, "list", "all")
    exclusive(o, "list", "event")
    if o.get("list"):
        ctl.print("".join(f"{name}\n" for name in fmt.EVENT_NAMES))
        return True
    event_name = opt_str(o, "event")
    if event_name is None and not o.get("all"):
        ctl.error("one of --list, --all, or --event <type> is required")
        return False
    ids = [i for i, n in enumerate(fmt.EVENT_NAMES) if event_name is None or n == event_name]
    if not ids:
        ctl.error(f"unknown event type {event_name}")
        return False
    timeout = _parse_timeout(o["timeout"]) if "timeout" in o else None
    dom = None
    if "domain" in o:
        dom = lookup_domain(ctl, opt_str(o, "domain"))
        if dom is None:
            return False

    printer = _EventPrinter(ctl, bool(o.get("loop")), bool(o.get("timestamp")))
    ctl.wakeup = printer.done
    callback_ids: list[int] = []
    ok = False
    stop = threading.Event()
    try:
        for n, event_id in enumerate(ids):
            try:
                callback_ids.append(
                    ctl.conn.domainEventRegisterAny(dom, event_id, printer.callback(event_id), None)
                )
            except ctl.lv.libvirtError as exc:
                # as virsh: an older server may not know the later IDs; only the first counts
                if n == 0:
                    ctl.save_error(exc)
                    return False
                ctl.last_error = None
        runner = threading.Thread(
            target=_run_event_loop, args=(ctl.lv, stop), name="virsh-event-loop", daemon=True
        )
        runner.start()
        outcome = _wait(printer.done, timeout)
        if outcome == "interrupt":
            ctl.print("event loop interrupted\n")
        elif outcome == "timeout":
            ctl.print("event loop timed out\n")
        ctl.print(f"events received: {printer.count}\n")
        ok = printer.count > 0
        if ctl.output_closed:
            raise OutputClosed
    finally:
        stop.set()
        for callback_id in callback_ids:
            try:
                ctl.conn.domainEventDeregisterAny(callback_id)
            except ctl.lv.libvirtError as exc:
                ctl.save_error(exc)
                ok = False
    return ok


def _wait(done: threading.Event, timeout: int | None) -> str:
    """vshEventWait: "done", "timeout" or "interrupt" (SIGINT).

    virsh installs its own SIGINT handler, so Ctrl-C ends the wait even when the shell that
    started it in the background set SIGINT to ignored; Python would inherit that, so the
    handler is (re)installed here for the duration of the wait."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            remaining = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if remaining <= 0:
                return "timeout"
            if done.wait(remaining):
                return "done"
    except KeyboardInterrupt:
        return "interrupt"
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _run_event_loop(lv: ModuleType, stop: threading.Event) -> None:
    """Drive the module's default event loop until told to stop (python3-libvirt dispatches
    callbacks only from inside virEventRunDefaultImpl)."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            lv.virEventRunDefaultImpl()
        except Exception:
            log.debug("event loop ended", exc_info=True)
            return
        if time.monotonic() - started < 0.001:
            time.sleep(0.01)  # a non-blocking implementation must not make us spin


# --- the command table and the entry point ---------------------------------------------------

AFFECT_OPTS = (Opt("config"), Opt("live"), Opt("current"))

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "list",
            cmd_list,
            tuple(
                Opt(n)
                for n in (
                    "inactive",
                    "all",
                    "transient",
                    "persistent",
                    "with-snapshot",
                    "without-snapshot",
                    "with-checkpoint",
                    "without-checkpoint",
                    "state-running",
                    "state-paused",
                    "state-shutoff",
                    "state-other",
                    "autostart",
                    "no-autostart",
                    "with-managed-save",
                    "without-managed-save",
                    "uuid",
                    "name",
                    "id",
                    "table",
                    "managed-save",
                    "title",
                )
            ),
        ),
        Command("dominfo", cmd_dominfo, (DOMAIN,)),
        Command("domstate", cmd_domstate, (DOMAIN, Opt("reason"))),
        Command(
            "dumpxml",
            cmd_dumpxml,
            (DOMAIN, Opt("inactive"), Opt("security-info"), Opt("update-cpu"), Opt("migratable")),
        ),
        Command("define", cmd_define, (Opt("file", "data", required=True), Opt("validate"))),
        Command(
            "undefine",
            cmd_undefine,
            (
                DOMAIN,
                Opt("managed-save"),
                Opt("snapshots-metadata"),
                Opt("checkpoints-metadata"),
                Opt("nvram"),
                Opt("keep-nvram"),
            ),
        ),
        Command(
            "start",
            cmd_start,
            (
                DOMAIN,
                Opt("paused"),
                Opt("autodestroy"),
                Opt("bypass-cache"),
                Opt("force-boot"),
                Opt("reset-nvram"),
            ),
        ),
        Command(
            "destroy", _simple_action("destroy", "destroyed", _destroy), (DOMAIN, Opt("graceful"))
        ),
        Command(
            "suspend", _simple_action("suspend", "suspended", lambda d, o: d.suspend()), (DOMAIN,)
        ),
        Command("resume", _simple_action("resume", "resumed", lambda d, o: d.resume()), (DOMAIN,)),
        Command(
            "shutdown",
            _simple_action("shutdown", "is being shutdown", _shutdown),
            (DOMAIN, Opt("mode", "string")),
        ),
        Command(
            "reboot",
            _simple_action("reboot", "is being rebooted", lambda d, o: d.reboot(_modes(o))),
            (DOMAIN, Opt("mode", "string")),
        ),
        Command(
            "attach-device",
            _device_verb("attach"),
            (DOMAIN, Opt("file", "data", required=True), Opt("persistent"), *AFFECT_OPTS),
        ),
        Command(
            "detach-device",
            _device_verb("detach"),
            (DOMAIN, Opt("file", "data", required=True), Opt("persistent"), *AFFECT_OPTS),
        ),
        Command(
            "detach-device-alias",
            cmd_detach_device_alias,
            (DOMAIN, Opt("alias", "data", required=True), *AFFECT_OPTS),
        ),
        Command("setmem", cmd_setmem, (DOMAIN, Opt("size", "int", required=True), *AFFECT_OPTS)),
        Command(
            "event",
            cmd_event,
            (
                Opt("domain", "string"),
                Opt("event", "string"),
                Opt("all"),
                Opt("loop"),
                Opt("timeout", "int"),
                Opt("list"),
                Opt("timestamp"),
            ),
        ),
        Command("version", cmd_version, (Opt("daemon"),)),
        Command("uri", cmd_uri),
        Command("hostname", cmd_hostname),
        Command("nodeinfo", cmd_nodeinfo),
    )
}

VERBS = frozenset(COMMANDS)


def _help(cmd: Command) -> str:
    parts = []
    for o in cmd.opts:
        if o.kind == "bool":
            parts.append(f"[--{o.name}]")
        elif o.required:
            parts.append(f"<{o.name}>" if o.kind == "data" else f"--{o.name} <{o.kind}>")
        else:
            parts.append(f"[--{o.name} <{o.kind}>]")
    return f"  SYNOPSIS\n    {' '.join([cmd.name, *parts])}\n\n"


def _silence_closed_stdout(out: TextIO) -> None:
    """After EPIPE, point the real stdout at /dev/null so that the interpreter's final flush
    does not print a BrokenPipeError traceback (the recipe in Python's signal docs)."""
    if out is sys.stdout:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _load_default_module() -> ModuleType:
    return importlib.import_module("virtwire.client.libvirt")


def run(
    uri: str | None,
    verb: str,
    args: list[str],
    *,
    libvirt: ModuleType | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one virsh verb and return its exit code (0 success, 1 failure), as virsh does.

    `uri` None means LIBVIRT_DEFAULT_URI (or the module's default when that is unset too).
    `libvirt` is the libvirt-python-compatible module to use (default: virtwire's drop-in).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if uri is None:
        uri = os.environ.get("LIBVIRT_DEFAULT_URI") or None

    cmd = COMMANDS.get(verb)
    if cmd is None:
        _write(err, f"error: unknown command: '{verb}'\n")
        return 1
    if "--help" in args[: args.index("--") if "--" in args else len(args)]:
        _write(out, _help(cmd))
        return 0
    try:
        opts = parse_options(cmd, args)
    except UsageError as exc:
        for message in exc.messages:
            _write(err, f"error: {message}\n")
        return 1

    lv = libvirt if libvirt is not None else _load_default_module()
    ctl = Ctl(lv=lv, uri=uri, out=out, err=err)
    # virsh keeps libvirt quiet and reports errors itself; without this python-libvirt's
    # default handler would print "libvirt: … error : …" lines as well. The caller's handler
    # comes back afterwards where the module lets it be read (the drop-in's does).
    previous = getattr(lv, "_error_handler", _UNREADABLE)
    with contextlib.suppress(Exception):
        lv.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        return _run_connected(ctl, cmd, opts, verb, uri)
    finally:
        if previous is not _UNREADABLE:
            with contextlib.suppress(Exception):
                lv.registerErrorHandler(*(previous or (None, None)))


_UNREADABLE = object()


def _run_connected(ctl: Ctl, cmd: Any, opts: dict[str, Any], verb: str, uri: str | None) -> int:
    lv = ctl.lv
    if verb == "event":
        _ensure_event_impl(lv)
    try:
        ctl.conn = lv.open(uri)
    except lv.libvirtError as exc:
        ctl.error("failed to connect to the hypervisor")
        ctl.error(_error_message(exc) or "unknown error")
        return 1
    _watch_disconnect(ctl)
    try:
        try:
            ok = cmd.handler(ctl, opts)
        except UsageError as exc:
            for message in exc.messages:
                ctl.error(message)
            ok = False
        except lv.libvirtError as exc:  # an API failure the verb does not word itself
            ctl.save_error(exc)
            ok = False
        except (AttributeError, NotImplementedError) as exc:
            # a libvirt module that lacks an API: say so instead of a traceback
            log.debug("missing API in %s", getattr(lv, "__name__", lv), exc_info=True)
            name = getattr(exc, "name", None) or str(exc)
            ctl.error(f"this function is not supported by the libvirt module: {name}")
            ok = False
        if not ok:
            ctl.report_error()
        ctl.print("\n")
        return 0 if ok else 1
    except OutputClosed:
        _silence_closed_stdout(ctl.out)
        return 1
    finally:
        if not ctl.disconnected:
            with contextlib.suppress(Exception):
                ctl.conn.unregisterCloseCallback()
        with contextlib.suppress(Exception):
            ctl.conn.close()
