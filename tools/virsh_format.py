"""virsh's output vocabulary and layouts, as pure functions.

Everything here is what libvirt 9.0's `virsh` prints, reduced to data and string building so
that it can be checked without any connection: state and reason names
(`tools/virsh-domain-monitor.c`), the table layout of `list` (`tools/vsh-table.c`), the event
lines of `event` (`tools/virsh-domain-event.c`) and the scaled-size parser behind `setmem`
(`virScaleInteger`). The command logic lives in `virtwire.tools.virsh`.

Standard library only: this module is also imported by the real python3-libvirt's
interpreter in the differential tests.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence

# --- domain states and reasons --------------------------------------------------------------

DOMAIN_STATES = (
    "no state",
    "running",
    "idle",
    "paused",
    "in shutdown",
    "shut off",
    "crashed",
    "pmsuspended",
)

# per state (virDomainState value) the names of its reasons, index = reason value
STATE_REASONS: dict[int, tuple[str, ...]] = {
    0: ("unknown",),
    1: (
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from snapshot",
        "unpaused",
        "migration canceled",
        "save canceled",
        "event wakeup",
        "crashed",
        "post-copy",
        "post-copy failed",
    ),
    2: ("unknown",),
    3: (
        "unknown",
        "user",
        "migrating",
        "saving",
        "dumping",
        "I/O error",
        "watchdog",
        "from snapshot",
        "shutting down",
        "creating snapshot",
        "crashed",
        "starting up",
        "post-copy",
        "post-copy failed",
        "api error",
    ),
    4: ("unknown", "user"),
    5: (
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from snapshot",
        "daemon",
    ),
    6: ("unknown", "panicked"),
    7: ("unknown",),
}


def _pick(names: Sequence[str], index: int, default: str) -> str:
    return names[index] if 0 <= index < len(names) else default


def state_to_string(state: int) -> str:
    """virsh's name for a virDomainState; out-of-range values read as "no state" as in virsh."""
    return _pick(DOMAIN_STATES, state, "no state")


def state_reason_to_string(state: int, reason: int) -> str:
    return _pick(STATE_REASONS.get(state, ()), reason, "unknown")


# --- the vsh table (list) -------------------------------------------------------------------


def _char_width(ch: str) -> int:
    """Terminal columns of one printable character, like wcwidth() in a UTF-8 locale."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def table_safe_encode(cell: str) -> tuple[str, int]:
    """The cell as vsh-table prints it and its display width.

    Control characters (and a literal backslash-x, so that the escape stays unambiguous)
    become `\\xNN`, four columns each; everything else keeps its own width.
    """
    out: list[str] = []
    width = 0
    i = 0
    while i < len(cell):
        ch = cell[i]
        if (ch == "\\" and cell[i + 1 : i + 2] == "x") or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
            width += 4
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
            width += 4
        elif not ch.isprintable() and ch != " ":
            for byte in ch.encode("utf-8"):
                out.append(f"\\x{byte:02x}")
                width += 4
        else:
            out.append(ch)
            width += _char_width(ch)
        i += 1
    return "".join(out), width


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, show_header=True) -> str:
    """A vsh table: each cell preceded by one space, columns padded to the widest cell plus
    two spaces (the last column unpadded), and a dashed line of sum(width + 3) under the header.
    """
    encoded = [[table_safe_encode(c) for c in row] for row in [header, *rows]]
    ncols = len(header)
    start = 0 if show_header else 1
    maxw = [0] * ncols
    for row in encoded[start:]:
        for j, (_, w) in enumerate(row):
            maxw[j] = max(maxw[j], w)

    def line(row: list[tuple[str, int]]) -> str:
        parts = []
        for j, (text, w) in enumerate(row):
            parts.append(" " + text)
            if j < ncols - 1:
                parts.append(" " * (maxw[j] - w + 2))
        return "".join(parts) + "\n"

    out = []
    if show_header:
        out.append(line(encoded[0]))
        out.append("-" * sum(w + 3 for w in maxw) + "\n")
    out.extend(line(row) for row in encoded[1:])
    return "".join(out)


def ascii_casefold_key(name: str) -> bytes:
    """Sort key of g_ascii_strcasecmp: only ASCII letters fold, bytes compare unsigned."""
    return name.encode("utf-8", "surrogateescape").lower()


# --- versions -------------------------------------------------------------------------------


def version_triplet(number: int) -> str:
    """libvirt's packed version (major * 1e6 + minor * 1e3 + release) as "M.m.r"."""
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


# --- scaled sizes (setmem) ------------------------------------------------------------------


class ScaleError(ValueError):
    """A size that virsh rejects. `detail` is the libvirt error message virsh prints on a
    second line (None when virsh prints only its own line)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "malformed")
        self.detail = detail


ULLONG_MAX = (1 << 64) - 1
_DIGITS = re.compile(r"[ \t\n\v\f\r]*\+?([0-9]+)")


def parse_scaled_int(text: str, default_scale: int, limit: int = ULLONG_MAX) -> int:
    """Bytes for a size with an optional suffix, as virsh's vshCommandOptScaledInt.

    Without a suffix the number counts units of `default_scale`; `b`, `k`/`KiB`, `M`/`MiB`,
    `G`, `T`, `P`, `E` are powers of 1024 and `KB`, `MB`, … powers of 1000 (case-insensitive).
    Negative numbers are refused.
    """
    m = _DIGITS.match(text)
    if not m:
        raise ScaleError(None)
    value = int(m.group(1))
    if value > ULLONG_MAX:
        raise ScaleError(None)
    suffix = text[m.end() :]
    if not suffix:
        scale = default_scale
    else:
        if len(suffix) == 1 or suffix[1:].lower() == "ib":
            base = 1024
        elif len(suffix) == 2 and suffix[1].lower() == "b":
            base = 1000
        else:
            raise ScaleError(f"invalid argument: unknown suffix '{suffix}'")
        powers = {"b": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
        power = powers.get(suffix[0].lower())
        if power is None:
            raise ScaleError(f"invalid argument: unknown suffix '{suffix}'")
        scale = base**power
    if value and value > limit // scale:
        raise ScaleError(f"numerical overflow: value too large: {value}{suffix}")
    return value * scale


# --- events ---------------------------------------------------------------------------------

# virsh 9.0's event names, index = VIR_DOMAIN_EVENT_ID_* (its VIR_DOMAIN_EVENT_ID_LAST is 27)
EVENT_NAMES = (
    "lifecycle",
    "reboot",
    "rtc-change",
    "watchdog",
    "io-error",
    "graphics",
    "io-error-reason",
    "control-error",
    "block-job",
    "disk-change",
    "tray-change",
    "pm-wakeup",
    "pm-suspend",
    "balloon-change",
    "pm-suspend-disk",
    "device-removed",
    "block-job-2",
    "tunable",
    "agent-lifecycle",
    "device-added",
    "migration-iteration",
    "job-completed",
    "device-removal-failed",
    "metadata-change",
    "block-threshold",
    "memory-failure",
    "memory-device-size-change",
)

LIFECYCLE_EVENTS = (
    "Defined",
    "Undefined",
    "Started",
    "Suspended",
    "Resumed",
    "Stopped",
    "Shutdown",
    "PMSuspended",
    "Crashed",
)

LIFECYCLE_DETAILS: tuple[tuple[str, ...], ...] = (
    ("Added", "Updated", "Renamed", "Snapshot"),
    ("Removed", "Renamed"),
    ("Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"),
    (
        "Paused",
        "Migrated",
        "I/O Error",
        "Watchdog",
        "Restored",
        "Snapshot",
        "API error",
        "Post-copy",
        "Post-copy Error",
    ),
    ("Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"),
    ("Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"),
    ("Finished", "Finished after guest request", "Finished after host request"),
    ("Memory", "Disk"),
    ("Panicked", "Crashloaded"),
)

WATCHDOG_ACTIONS = ("none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi")
IO_ERROR_ACTIONS = ("none", "pause", "report")
GRAPHICS_PHASES = ("connect", "initialize", "disconnect")
GRAPHICS_FAMILIES = ("IPv4", "IPv6", "unix")
BLOCK_JOB_TYPES = (
    "Unknown job",
    "Block Pull",
    "Block Copy",
    "Block Commit",
    "Active Block Commit",
    "Backup",
)
BLOCK_JOB_STATUSES = ("completed", "failed", "canceled", "ready")
DISK_CHANGE_REASONS = ("changed", "dropped")
TRAY_CHANGE_REASONS = ("opened", "closed")
AGENT_STATES = ("unknown", "connected", "disconnected")
AGENT_REASONS = ("unknown", "domain started", "channel event")
METADATA_TYPES = ("description", "title", "element")
MEMORY_FAILURE_RECIPIENTS = ("hypervisor", "guest")
MEMORY_FAILURE_ACTIONS = ("ignore", "inject", "fatal", "reset")
UNSUPPORTED = "unsupported value"


def _nullstr(value: str | None) -> str:
    return "<null>" if value is None else value


def typed_param_to_string(value: object) -> str:
    """A typed parameter's value as virTypedParameterToString prints it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"  # C's %g
    return str(value)


def _params_block(params: object) -> str:
    items = params.items() if isinstance(params, dict) else (params or ())
    return "".join(f"\t{k}: {typed_param_to_string(v)}\n" for k, v in items)


def _graphics_address(addr: object) -> tuple[str, str, str]:
    if isinstance(addr, dict):
        family, node, service = addr.get("family", -1), addr.get("node"), addr.get("service")
    else:
        family, node, service = addr  # type: ignore[misc]
    return _pick(GRAPHICS_FAMILIES, int(family), "unknown"), str(node), str(service)


def format_event(event_id: int, dom_name: str, *args: object) -> str:
    """One event as virsh prints it (including the final newline), given the arguments that
    libvirt-python passes to the callback of that event ID between `dom` and `opaque`."""
    name = EVENT_NAMES[event_id] if 0 <= event_id < len(EVENT_NAMES) else str(event_id)
    head = f"event '{name}' for domain '{dom_name}'"
    formatter = _EVENT_FORMATTERS.get(name)
    if formatter is None:
        return head + "\n"
    return formatter(head, *args)


def _lifecycle(head: str, event: int, detail: int) -> str:
    ev = _pick(LIFECYCLE_EVENTS, event, "unknown")
    details = LIFECYCLE_DETAILS[event] if 0 <= event < len(LIFECYCLE_DETAILS) else ()
    return f"{head}: {ev} {_pick(details, detail, 'unknown')}\n"


def _block_job(head: str, disk: str, job_type: int, status: int) -> str:
    jt = _pick(BLOCK_JOB_TYPES, job_type, "Unknown job")
    st = _pick(BLOCK_JOB_STATUSES, status, "unknown")
    return f"{head}: {jt} for {disk} {st}\n"


def _graphics(head, phase, local, remote, auth_scheme, subject) -> str:
    lf, ln, ls = _graphics_address(local)
    rf, rn, rs = _graphics_address(remote)
    text = (
        f"{head}: {_pick(GRAPHICS_PHASES, phase, 'unknown')} "
        f"local[{lf} {ln} {ls}] remote[{rf} {rn} {rs}] {auth_scheme}\n"
    )
    for ident_type, ident_name in subject or ():
        text += f"\t{ident_type}={ident_name}\n"
    return text


def _io_error(head, src_path, dev_alias, action, reason=None) -> str:
    act = _pick(IO_ERROR_ACTIONS, action, "unknown")
    tail = f" due to {reason}" if reason is not None else ""
    return f"{head}: {src_path} ({dev_alias}) {act}{tail}\n"


def _memory_failure(head, recipient, action, flags) -> str:
    return (
        f"{head}:\nrecipient: {_pick(MEMORY_FAILURE_RECIPIENTS, recipient, UNSUPPORTED)}\n"
        f"action: {_pick(MEMORY_FAILURE_ACTIONS, action, UNSUPPORTED)}\n"
        f"flags:\n\taction required: {int(bool(flags & 1))}\n"
        f"\trecursive: {int(bool(flags & 2))}\n"
    )


_EVENT_FORMATTERS: dict[str, Callable[..., str]] = {
    "lifecycle": _lifecycle,
    "reboot": lambda head: head + "\n",
    "rtc-change": lambda head, offset: f"{head}: {offset}\n",
    "watchdog": lambda head, action: f"{head}: {_pick(WATCHDOG_ACTIONS, action, 'unknown')}\n",
    "io-error": _io_error,
    "graphics": _graphics,
    "io-error-reason": _io_error,
    "control-error": lambda head: head + "\n",
    "block-job": _block_job,
    "disk-change": lambda head, old, new, alias, reason: (
        f"{head} disk {alias}: {_nullstr(old)} -> {_nullstr(new)}: "
        f"{_pick(DISK_CHANGE_REASONS, reason, 'unknown')}\n"
    ),
    "tray-change": lambda head, alias, reason: (
        f"{head} disk {alias}: {_pick(TRAY_CHANGE_REASONS, reason, 'unknown')}\n"
    ),
    "pm-wakeup": lambda head, reason=0: head + "\n",
    "pm-suspend": lambda head, reason=0: head + "\n",
    "balloon-change": lambda head, actual: f"{head}: {actual}KiB\n",
    "pm-suspend-disk": lambda head, reason=0: head + "\n",
    "device-removed": lambda head, alias: f"{head}: {alias}\n",
    "block-job-2": _block_job,
    "tunable": lambda head, params: f"{head}:\n{_params_block(params)}",
    "agent-lifecycle": lambda head, state, reason: (
        f"{head}: state: '{_pick(AGENT_STATES, state, UNSUPPORTED)}' "
        f"reason: '{_pick(AGENT_REASONS, reason, UNSUPPORTED)}'\n"
    ),
    "device-added": lambda head, alias: f"{head}: {alias}\n",
    "migration-iteration": lambda head, iteration: f"{head}: iteration: '{iteration}'\n",
    "job-completed": lambda head, params: f"{head}:\n{_params_block(params)}",
    "device-removal-failed": lambda head, alias: f"{head}: {alias}\n",
    "metadata-change": lambda head, mtype, nsuri: (
        f"{head}: type {_pick(METADATA_TYPES, mtype, UNSUPPORTED)}, uri {_nullstr(nsuri)}\n"
    ),
    "block-threshold": lambda head, dev, path, threshold, excess: (
        f"{head}: dev: {dev}({_nullstr(path)}) {threshold} {excess}\n"
    ),
    "memory-failure": _memory_failure,
    "memory-device-size-change": lambda head, alias, size: (
        f"{head}:\nalias: {alias}\nsize: {size}\n"
    ),
}


def timestamp_now(now: float | None = None) -> str:
    """virTimeStringNowRaw: UTC with milliseconds and a literal +0000."""
    now = time.time() if now is None else now
    secs = int(now)
    millis = int((now - secs) * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs)) + f".{millis:03d}+0000"
