"""``virtwire inject``: set faults on a running ``virtwire serve`` (no real libvirt can).

Usage::

    virtwire inject [-c URI] [--socket PATH] [--json] ACTION ...

    fail PROC --code CODE [--message TEXT] [--domain DOMAIN] [--count N | --forever]
    delay PROC SECONDS [--count N]              (default: until reset)
    refuse unplug|shutdown [--count N | --forever]
    drop [--client ID | --peer ADDR]            (default: every client)
    stall-events | release-events
    clients | list | reset

PROC is a procedure name of the registry (``DOMAIN_CREATE``, any case); CODE and DOMAIN
are libvirt's numbers or names (``1`` / ``INTERNAL_ERROR``, ``10`` / ``QEMU``); the
domain defaults to the procedure's own error domain. The daemon is reached on its
control socket ``virtwire-inject-sock`` (mode 0600, the daemon's owner only), found next
to the unix socket of the URI (``?socket=DIR/libvirt-sock``), else in the default socket
directory, or given with ``--socket``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from virtwire.server.config import CONTROL_SOCKET_NAME, default_socket_dir, default_state_dir

__all__ = ["build_parser", "control_socket_for", "main", "request"]

_TIMEOUT = 10.0


def control_socket_for(uri: str | None) -> Path:
    """The control socket of the daemon serving ``uri`` (see the module docstring)."""
    if uri:
        query = parse_qs(urlsplit(uri).query)
        sockets = query.get("socket")
        if sockets:
            return Path(sockets[-1]).parent / CONTROL_SOCKET_NAME
    return default_socket_dir(default_state_dir()) / CONTROL_SOCKET_NAME


def request(path: Path, message: dict[str, Any], timeout: float = _TIMEOUT) -> dict[str, Any]:
    """Send one request on the control socket, return the daemon's answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(os.fspath(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data:
        raise ConnectionError("the daemon closed the control socket without answering")
    return json.loads(data)


def _enum_value(enum_name: str, text: str, what: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    from virtwire.protocol import errors  # only for names: keeps the command quick

    enum_cls = getattr(errors, enum_name)
    name = text.upper().removeprefix("VIR_ERR_").removeprefix("VIR_FROM_")
    try:
        return int(enum_cls[name])
    except KeyError:
        raise argparse.ArgumentTypeError(f"unknown {what} {text!r}") from None


def _code(text: str) -> int:
    return _enum_value("ErrorCode", text, "error code")


def _domain(text: str) -> int:
    return _enum_value("ErrorDomain", text, "error domain")


def _count(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--count", type=int, help="fire this many times, then clear")
    group.add_argument("--forever", action="store_true", help="fire until reset")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtwire inject",
        description="Inject faults into a running virtwire daemon (its owner only).",
    )
    parser.add_argument("-c", "--connect", metavar="URI", help="the daemon's URI")
    parser.add_argument("--socket", metavar="PATH", type=Path, help="the control socket")
    parser.add_argument("--json", action="store_true", help="print the daemon's JSON answer")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fail = sub.add_parser("fail", help="fail the next calls of a procedure")
    fail.add_argument("procedure")
    fail.add_argument("--code", type=_code, required=True, help="libvirt error code")
    fail.add_argument("--message", default="", help="the error message")
    fail.add_argument("--domain", type=_domain, help="error domain (default: the procedure's)")
    _count(fail)
    delay = sub.add_parser("delay", help="add latency to a procedure")
    delay.add_argument("procedure")
    delay.add_argument("seconds", type=float)
    delay.add_argument("--count", type=int, help="delay this many calls (default: all)")
    refuse = sub.add_parser("refuse", help="the simulated guest refuses an unplug or a shutdown")
    refuse.add_argument("guest_action", choices=("unplug", "shutdown"))
    _count(refuse)
    drop = sub.add_parser("drop", help="drop client connections (default: all)")
    who = drop.add_mutually_exclusive_group()
    who.add_argument("--client", type=int, help="a client id (see `clients`)")
    who.add_argument("--peer", help="a peer address (HOST:PORT, or the unix socket)")
    sub.add_parser("stall-events", help="hold every event until release-events")
    sub.add_parser("release-events", help="send the held events, stop stalling")
    sub.add_parser("clients", help="list the connected clients")
    sub.add_parser("list", help="list the active faults")
    sub.add_parser("reset", help="clear every fault (held events are sent)")
    return parser


def _message(args: argparse.Namespace) -> dict[str, Any]:
    action = args.action
    count: Any = None
    if getattr(args, "forever", False):
        count = "forever"
    elif getattr(args, "count", None) is not None:
        count = args.count
    elif action in ("fail", "refuse"):
        count = 1
    if action == "fail":
        return {
            "op": "fail",
            "procedure": args.procedure,
            "code": args.code,
            "message": args.message,
            "domain": args.domain,
            "count": count,
        }
    if action == "delay":
        return {"op": "delay", "procedure": args.procedure, "seconds": args.seconds, "count": count}
    if action == "refuse":
        return {"op": "refuse", "action": args.guest_action, "count": count}
    if action == "drop":
        return {"op": "drop", "client": args.client, "peer": args.peer}
    return {"op": action}


def _show(answer: dict[str, Any]) -> None:
    if "fault" in answer:
        f = answer["fault"]
        print(f"fault {f['id']} set: {_describe(f)}")
    elif "faults" in answer:
        for f in answer["faults"]:
            print(f"{f['id']:>3}  {_describe(f)}  (fired {f['fired']})")
        if answer.get("events_stalled"):
            print(f"events stalled ({answer.get('events_held', 0)} held)")
        if not answer["faults"] and not answer.get("events_stalled"):
            print("no faults")
    elif "clients" in answer:
        for c in answer["clients"]:
            print(f"{c['id']:>4}  {c['peer']}{'  read-only' if c['readonly'] else ''}")
    elif "dropped" in answer:
        print(f"dropped {len(answer['dropped'])} client(s)")
    elif "released" in answer:
        print(f"done; {answer['released']} held event(s) sent")
    else:
        print("done")


def _describe(f: dict[str, Any]) -> str:
    times = "until reset" if f.get("remaining") is None else f"{f['remaining']} more"
    if f["kind"] == "fail":
        return (
            f"{f['target']} fails: code {f['code']} domain {f['domain']} {f['message']!r}, {times}"
        )
    if f["kind"] == "delay":
        return f"{f['target']} delayed {f['seconds']:g} s, {times}"
    return f"guest refuses {f['target']}, {times}"


def message_for(argv: list[str]) -> dict[str, Any]:
    """The control request for ``virtwire inject ACTION ...`` arguments (no -c/--socket)."""
    return _message(build_parser().parse_args(["--socket", "-", *argv]))


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    uri = args.connect or os.environ.get("LIBVIRT_DEFAULT_URI")
    path = args.socket or control_socket_for(uri)
    try:
        answer = request(path, _message(args))
    except (FileNotFoundError, ConnectionRefusedError):
        print(
            f"virtwire inject: error: no virtwire daemon's control socket at {path} "
            "(is `virtwire serve` running? give --socket)",
            file=sys.stderr,
        )
        return 1
    except (OSError, ValueError) as exc:
        print(f"virtwire inject: error: {path}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
    if not answer.get("ok"):
        print(f"virtwire inject: error: {answer.get('error')}", file=sys.stderr)
        return 1
    if not args.json:
        _show(answer)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
