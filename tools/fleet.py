"""``virtwire fleet list [--state-dir DIR] [-l]``: the URIs of a running fleet's hosts.

Reads the manifest ``virtwire serve --fleet`` writes in its state directory
(``STATE_DIR/fleet.json``) and prints one URI per line (``-l``: hostname, UUID, CPUs,
memory and URI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from virtwire.server.config import default_state_dir
from virtwire.server.fleet import FleetError, read_manifest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="virtwire fleet")
    sub = parser.add_subparsers(dest="action", required=True)
    lister = sub.add_parser("list", help="print every host's URI")
    lister.add_argument("--state-dir", type=Path, help="the fleet's state directory")
    lister.add_argument("-l", "--long", action="store_true", help="hostname, UUID, shape, URI")
    args = parser.parse_args(argv)
    state_dir = args.state_dir if args.state_dir is not None else default_state_dir()
    try:
        hosts = read_manifest(state_dir)
    except FleetError as exc:
        print(f"virtwire fleet: error: {exc}", file=sys.stderr)
        return 1
    for host in hosts:
        if args.long:
            print(
                f"{host['hostname']}\t{host['uuid']}\t{host['cpus']}\t"
                f"{host['memory_mib']} MiB\t{host['uri']}"
            )
        else:
            print(host["uri"])
    return 0
