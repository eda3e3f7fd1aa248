"""The `virtwire` command: one entry point for the daemon, the demo, the wire tools and the
virsh-style verbs.

Sub-commands are imported lazily so that `virtwire list` does not pay for the daemon's imports
and a broken optional tool cannot break the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from virtwire import __version__

# sub-command → module under virtwire.tools exposing `main(argv: list[str]) -> int`
TOOLS = {
    "serve": "serve",
    "demo": "demo",
    "decode": "decode",
    "proxy": "proxy",
    "conformance": "conformance",
    "pki": "pki",
    "bench": "bench",
    "fleet": "fleet",
    "inject": "inject",
    "fuzz": "fuzz",
    "load": "load",
}

USAGE = """\
usage: virtwire [-c URI] VERB [ARGS...]
       virtwire serve [--state-dir DIR] [--unix PATH] [--unix-ro PATH] [--tcp HOST:PORT]
                      [--tls HOST:PORT --pki-dir DIR] [--config FILE]
       virtwire serve --fleet N [--fleet-ports FIRST-LAST] | --fleet-config FILE
       virtwire fleet list [--state-dir DIR]
       virtwire pki init|check DIR
       virtwire inject -c URI fail|delay|refuse|drop|stall-events|release-events|list|reset ...
       virtwire fuzz [--minutes N] [--target frames|codecs|domxml|session] [--seed S]
       virtwire load [--clients N] [--rounds N] [--events N]
       virtwire demo
       virtwire --version

Tools: {tools}
virsh-style verbs: {verbs}
The connection URI comes from -c/--connect, else LIBVIRT_DEFAULT_URI.
"""


def _virsh_verbs() -> list[str]:
    try:
        from virtwire.tools import virsh
    except ImportError:
        return []
    return sorted(getattr(virsh, "VERBS", ()))


def available_tools() -> list[str]:
    """The sub-commands whose module exists in this build (others add theirs to TOOLS)."""
    return [name for name, module in TOOLS.items() if _has_module(f"virtwire.tools.{module}")]


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _usage() -> str:
    return USAGE.format(
        tools=", ".join(available_tools()), verbs=", ".join(_virsh_verbs()) or "(none)"
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    uri: str | None = None
    # global options come before the verb, as with virsh
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt in ("-c", "--connect"):
            if not args:
                print("error: option '-c' requires a URI", file=sys.stderr)
                return 1
            uri = args.pop(0)
        elif opt.startswith("--connect="):
            uri = opt.split("=", 1)[1]
        elif opt in ("-h", "--help"):
            print(_usage(), end="")
            return 0
        elif opt in ("-V", "--version"):
            print(__version__)
            return 0
        else:
            print(f"error: unsupported option '{opt}'. See --help.", file=sys.stderr)
            return 1
    if not args:
        print(_usage(), end="", file=sys.stderr)
        return 1
    verb, rest = args[0], args[1:]
    if verb in TOOLS:
        try:
            module = importlib.import_module(f"virtwire.tools.{TOOLS[verb]}")
        except ModuleNotFoundError as exc:
            if exc.name == f"virtwire.tools.{TOOLS[verb]}":
                print(f"error: '{verb}' is not available in this build", file=sys.stderr)
                return 1
            raise
        if verb == "inject" and uri is not None:
            rest = ["-c", uri, *rest]
        return int(module.main(rest) or 0)
    from virtwire.tools import virsh

    if uri is None:
        uri = os.environ.get("LIBVIRT_DEFAULT_URI")
    return int(virsh.run(uri, verb, rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
