"""``virtwire serve``: run the libvirt-compatible daemon.

Usage::

    virtwire serve [--state-dir DIR] [--unix PATH] [--unix-ro PATH]
                   [--tcp HOST:PORT] [--tls HOST:PORT [--pki-dir DIR]]
                   [--config FILE] [-v]

Listeners: with none of ``--unix``/``--unix-ro``/``--tcp`` on the command line, the
daemon listens on ``libvirt-sock`` and ``libvirt-sock-ro`` in ``unix_sock_dir`` (config)
or ``$XDG_RUNTIME_DIR/virtwire/`` (else ``STATE_DIR/run/``), plus TCP on
``listen_addr:tcp_port`` only when the config says ``listen_tcp = 1`` and TLS on
``listen_addr:tls_port`` only when it says ``listen_tls = 1``. Any listener option given
on the command line replaces that default set: exactly the listed ones are opened. There
is no network listener unless asked for.

TLS credentials: ``--pki-dir DIR`` (libvirt's layout: ``cacert.pem``, ``servercert.pem``,
``serverkey.pem``, optional ``cacrl.pem``; ``virtwire pki init DIR`` makes one), else the
config's ``ca_file``/``cert_file``/``key_file``/``crl_file``, else libvirt's /etc/pki
paths.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from virtwire.server.busypoll import DEFAULT_MAX_POLL_US
from virtwire.server.config import (
    ConfigError,
    ServerConfig,
    default_socket_dir,
    default_state_dir,
    load_config,
)
from virtwire.server.daemon import (
    EVENT_LOOPS,
    Daemon,
    DaemonError,
    ListenSpec,
    parse_tcp_address,
    run,
    tls_files_from_config,
)

__all__ = ["build_parser", "listen_specs", "main"]

log = logging.getLogger("virtwire.server")


def _microseconds(text: str) -> float:
    """A duration in µs for argparse: a number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of microseconds: {text!r}") from None
    if not 0 <= value < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more microseconds: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtwire serve",
        description="Run a libvirt-compatible daemon that real virsh and python3-libvirt "
        "can use (simulated test:///default, qemu:///system and qemu:///session hosts).",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where persistent domains live (default: $XDG_STATE_HOME/virtwire)",
    )
    parser.add_argument("--unix", metavar="PATH", help="read-write unix socket (libvirt-sock)")
    parser.add_argument("--unix-ro", metavar="PATH", help="read-only unix socket (libvirt-sock-ro)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="TCP listener (no auth!); port 0 = any")
    parser.add_argument(
        "--tls", metavar="HOST:PORT", help="TLS listener (client certificates required)"
    )
    parser.add_argument(
        "--pki-dir", metavar="DIR", help="TLS credentials in libvirt's pkipath layout"
    )
    parser.add_argument("--config", metavar="FILE", help="libvirtd.conf-style settings file")
    fleet = parser.add_argument_group("fleet (docs/fleet.md)")
    fleet.add_argument("--fleet", type=int, metavar="N", help="serve N simulated QEMU hosts")
    fleet.add_argument(
        "--fleet-config", metavar="FILE", type=Path, help="TOML file naming hosts and shapes"
    )
    fleet.add_argument(
        "--fleet-ports", metavar="FIRST-LAST", help="one TCP port per host (default 0: ephemeral)"
    )
    fleet.add_argument(
        "--fleet-listen", metavar="ADDR", help="address of the hosts' listeners (127.0.0.1)"
    )
    fleet.add_argument(
        "--fleet-unix-dir", metavar="DIR", type=Path, help="a unix socket per host instead of TCP"
    )
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="asyncio",
        help="asyncio (default) or uvloop (optional extra virtwire[uvloop])",
    )
    parser.add_argument(
        "--busy-poll",
        metavar="USEC",
        type=_microseconds,
        default=DEFAULT_MAX_POLL_US,
        help="poll the sockets up to USEC µs before sleeping while wake-ups come that soon "
        f"(adaptive; cuts one-call-at-a-time latency on VMs; 0 = off; default "
        f"{DEFAULT_MAX_POLL_US}; asyncio loop only)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def listen_specs(
    args: argparse.Namespace, config: ServerConfig, state_dir: Path
) -> list[ListenSpec]:
    """The listeners to open, from the command line or else the defaults/config."""
    specs: list[ListenSpec] = []
    if args.unix or args.unix_ro or args.tcp or getattr(args, "tls", None):
        if args.unix:
            specs.append(ListenSpec("unix", readonly=False, path=Path(args.unix)))
        if args.unix_ro:
            specs.append(ListenSpec("unix", readonly=True, path=Path(args.unix_ro)))
        if args.tcp:
            host, port = parse_tcp_address(args.tcp)
            specs.append(ListenSpec("tcp", host=host, port=port))
        if getattr(args, "tls", None):
            host, port = parse_tcp_address(args.tls, "--tls")
            specs.append(ListenSpec("tls", host=host, port=port))
        return specs
    sock_dir = Path(config.unix_sock_dir) if config.unix_sock_dir else default_socket_dir(state_dir)
    specs.append(ListenSpec("unix", readonly=False, path=sock_dir / "libvirt-sock"))
    specs.append(ListenSpec("unix", readonly=True, path=sock_dir / "libvirt-sock-ro"))
    if config.listen_tcp:
        specs.append(ListenSpec("tcp", host=config.listen_addr, port=int(config.tcp_port)))
    if config.listen_tls:
        specs.append(ListenSpec("tls", host=config.listen_addr, port=int(config.tls_port)))
    return specs


def _setup_logging(verbose: bool) -> None:
    root = logging.getLogger("virtwire")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s", "%H:%M:%S")
    )
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def main(argv: list[str]) -> int:
    """Entry point of ``virtwire serve``; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        config = load_config(args.config)
        state_dir = args.state_dir if args.state_dir is not None else default_state_dir()
        if args.fleet is not None or args.fleet_config is not None:
            from virtwire.server.fleet import build_fleet, run_fleet

            return run_fleet(build_fleet(args, config, state_dir), args.event_loop, args.busy_poll)
        specs = listen_specs(args, config, state_dir)
        tls_files = None
        if any(spec.kind == "tls" for spec in specs):
            tls_files = tls_files_from_config(config, args.pki_dir)
        elif args.pki_dir:
            raise DaemonError("--pki-dir needs a TLS listener (--tls or listen_tls = 1)")
        daemon = Daemon(config, state_dir, specs, tls_files=tls_files)
        return run(daemon, args.event_loop, args.busy_poll)
    except (ConfigError, DaemonError) as exc:
        print(f"virtwire serve: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. an unreadable state directory found by the hosts
        print(f"virtwire serve: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
