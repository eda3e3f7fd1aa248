"""A fleet: many independent simulated QEMU hosts served by one process and one event loop.

Each host is a small :class:`~virtwire.server.daemon.Daemon` of its own (one TCP port from a
range, or one unix socket), with its own host UUID, hostname, node shape (CPUs, memory),
state directory (``STATE_DIR/hosts/HOSTNAME/``) and event state. The daemons share the
process's dispatcher (one procedure table per driver class) and the loop. A host's
``qemu:///system`` driver is built only when the first client opens it, so an idle host
costs a listening socket and a few small objects.

The fleet writes a manifest, ``STATE_DIR/fleet.json`` (atomically), naming every host's
URI; ``virtwire fleet list`` prints it.

Shapes come from ``--fleet N`` (hosts ``host-0000`` … with the default shape) or a TOML
file (``--fleet-config``)::

    [fleet]
    listen = "127.0.0.1"
    ports = "17000-17999"        # or 0: an ephemeral port per host

    [[host]]
    hostname = "big"             # one host
    cpus = 64
    memory_mib = 262144

    [[host]]
    hostname = "small-{n}"       # count hosts, {n} = 0, 1, ...
    count = 10
    cpus = 4
    memory_mib = 8192
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import resource
import tomllib
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virtwire.protocol.records import NodeInfo
from virtwire.server.config import ServerConfig
from virtwire.server.daemon import Daemon, DaemonError, ListenSpec, lock_state_dir, loop_factory
from virtwire.server.dispatch import Dispatcher
from virtwire.server.hypervisor.driver import Driver
from virtwire.server.hypervisor.hostfacts import qemu_topology
from virtwire.server.hypervisor.persistence import atomic_write
from virtwire.server.hypervisor.qemudriver import QemuDriver
from virtwire.server.hypervisor.registry import QEMU_DIRS, HostRegistry, normalise

__all__ = [
    "Fleet",
    "FleetError",
    "FleetQemuDriver",
    "FleetRegistry",
    "HostShape",
    "MANIFEST",
    "fleet_from_count",
    "fleet_from_toml",
    "parse_port_range",
    "read_manifest",
]

log = logging.getLogger("virtwire.server")

MANIFEST = "fleet.json"
DEFAULT_CPUS = 8
DEFAULT_MEMORY_MIB = 16384
# uuid5 namespace of fleet host UUIDs: a host's UUID is stable across restarts
_HOST_NS = uuidlib.UUID("5b0e6a58-2f44-4d59-9f1e-7d1c0f3a9e11")
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$")


class FleetError(DaemonError):
    """A fleet cannot be built or started (bad shape file, port range too small ...)."""


@dataclass(frozen=True, slots=True)
class HostShape:
    """What one simulated host looks like from the outside."""

    hostname: str
    cpus: int = DEFAULT_CPUS
    memory_mib: int = DEFAULT_MEMORY_MIB

    @property
    def uuid(self) -> str:
        return str(uuidlib.uuid5(_HOST_NS, self.hostname))


def parse_port_range(text: str) -> tuple[int, int]:
    """``17000-17999`` → (17000, 17999); ``0`` → (0, 0) (ephemeral ports)."""
    first, sep, last = text.strip().partition("-")
    try:
        lo = int(first)
        hi = int(last) if sep else lo
    except ValueError:
        raise FleetError(f"--fleet-ports expects FIRST-LAST, got {text!r}") from None
    if not (0 <= lo <= hi <= 65535) or (lo == 0 and hi != 0):
        raise FleetError(f"--fleet-ports: bad port range {text!r}")
    return lo, hi


def fleet_from_count(count: int, prefix: str = "host") -> list[HostShape]:
    if count < 1:
        raise FleetError(f"--fleet needs at least one host, got {count}")
    width = max(4, len(str(count - 1)))
    return [HostShape(f"{prefix}-{i:0{width}d}") for i in range(count)]


def fleet_from_toml(path: Path) -> tuple[list[HostShape], dict[str, Any]]:
    """The hosts of a shape file and its ``[fleet]`` table (``listen``, ``ports``)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetError(f"cannot read fleet config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"fleet config {path}: {exc}") from None
    settings = data.get("fleet", {})
    if not isinstance(settings, dict):
        raise FleetError(f"fleet config {path}: [fleet] must be a table")
    hosts: list[HostShape] = []
    for i, entry in enumerate(data.get("host", [])):
        if not isinstance(entry, dict):
            raise FleetError(f"fleet config {path}: [[host]] #{i} must be a table")
        unknown = set(entry) - {"hostname", "count", "cpus", "memory_mib"}
        if unknown:
            raise FleetError(f"fleet config {path}: unknown key(s) {sorted(unknown)} in host #{i}")
        count = entry.get("count", 1)
        pattern = entry.get("hostname", "host-{n}" if count > 1 else None)
        cpus, mem = entry.get("cpus", DEFAULT_CPUS), entry.get("memory_mib", DEFAULT_MEMORY_MIB)
        if not isinstance(pattern, str):
            raise FleetError(f"fleet config {path}: host #{i} needs a hostname")
        for name, value in (("count", count), ("cpus", cpus), ("memory_mib", mem)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise FleetError(
                    f"fleet config {path}: host #{i}: {name} must be a positive integer"
                )
        for n in range(count):
            hosts.append(HostShape(pattern.format(n=n), cpus, mem))
    if not hosts:
        raise FleetError(f"fleet config {path}: no [[host]] entries")
    return hosts, settings


def check_hostnames(hosts: list[HostShape]) -> None:
    seen: set[str] = set()
    for host in hosts:
        if not _HOSTNAME_RE.match(host.hostname):
            raise FleetError(f"invalid host name {host.hostname!r}")
        if host.hostname in seen:
            raise FleetError(f"duplicate host name {host.hostname!r}")
        seen.add(host.hostname)


class FleetQemuDriver(QemuDriver):
    """A QEMU host with its own hostname, host UUID and node shape."""

    def __init__(
        self,
        uri: str,
        schedule: Callable[[Callable[[], None]], object],
        state_dir: Path,
        shape: HostShape,
    ) -> None:
        self.shape = shape
        self.host_topology = qemu_topology(shape.cpus, shape.memory_mib * 1024)
        super().__init__(uri, schedule, state_dir)

    def connect_get_hostname(self) -> str:
        return self.shape.hostname

    def connect_get_capabilities(self) -> str:
        caps = super().connect_get_capabilities()  # the <topology> from host_topology
        return caps.replace(
            "  <host>\n", f"  <host>\n    <uuid>{self.shape.uuid}</uuid>\n", 1
        ).replace("cores='8'", f"cores='{self.shape.cpus}'", 1)

    def node_get_info(self) -> NodeInfo:
        cpus = self.shape.cpus
        return NodeInfo("x86_64", self.shape.memory_mib * 1024, cpus, 2400, 1, 1, cpus, 1)


class FleetRegistry(HostRegistry):
    """The hosts behind one fleet member's listener: its QEMU drivers are fleet-shaped."""

    def __init__(
        self, state_dir: Path, schedule: Callable[[Callable[[], None]], object], shape: HostShape
    ) -> None:
        super().__init__(state_dir, schedule)
        self.shape = shape

    def open(self, uri_name: str) -> Driver:
        name = normalise(uri_name)
        if name in QEMU_DIRS and name not in self._qemu:
            self._qemu[name] = FleetQemuDriver(
                name, self.schedule, self.state_dir / QEMU_DIRS[name], self.shape
            )
        return super().open(uri_name)


@dataclass(slots=True)
class FleetMember:
    shape: HostShape
    daemon: Daemon
    uri: str = ""
    address: str = ""


@dataclass(slots=True)
class Fleet:
    """N hosts in this process: start them all, write the manifest, stop them all."""

    config: ServerConfig
    state_dir: Path
    hosts: list[HostShape]
    listen: str = "127.0.0.1"
    ports: tuple[int, int] = (0, 0)
    unix_dir: Path | None = None
    members: list[FleetMember] = field(default_factory=list)
    _stop: asyncio.Event | None = None
    _lock_fd: int | None = None

    def __post_init__(self) -> None:
        check_hostnames(self.hosts)
        lo, hi = self.ports
        if self.unix_dir is None and lo and hi - lo + 1 < len(self.hosts):
            raise FleetError(
                f"port range {lo}-{hi} has {hi - lo + 1} ports for {len(self.hosts)} hosts"
            )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._lock_fd is None:
            self._lock_fd = lock_state_dir(self.state_dir)  # one daemon per state directory
        _raise_fd_limit(len(self.hosts) * 2 + 64)
        dispatcher = Dispatcher()
        try:
            for i, shape in enumerate(self.hosts):
                host_dir = self.state_dir / "hosts" / shape.hostname
                if self.unix_dir is not None:
                    spec = ListenSpec("unix", path=self.unix_dir / f"{shape.hostname}.sock")
                else:
                    port = self.ports[0] + i if self.ports[0] else 0
                    spec = ListenSpec("tcp", host=self.listen, port=port)
                registry = FleetRegistry(host_dir, loop.call_soon, shape)
                daemon = Daemon(
                    self.config,
                    host_dir,
                    [spec],
                    registry=registry,
                    dispatcher=dispatcher,
                    lock_state=False,  # the fleet holds its root's lock
                )
                await daemon.start()
                member = FleetMember(shape, daemon)
                member.address = daemon.addresses()[0]
                member.uri = _uri_of(member.address)
                self.members.append(member)
        except BaseException:
            await self.stop()
            raise
        self.write_manifest()
        log.info("fleet of %d hosts ready; manifest %s", len(self.members), self.manifest_path)

    @property
    def manifest_path(self) -> Path:
        return self.state_dir / MANIFEST

    def write_manifest(self) -> None:
        hosts = [
            {
                "hostname": m.shape.hostname,
                "uuid": m.shape.uuid,
                "cpus": m.shape.cpus,
                "memory_mib": m.shape.memory_mib,
                "uri": m.uri,
                "address": m.address,
            }
            for m in self.members
        ]
        atomic_write(self.manifest_path, json.dumps({"hosts": hosts}, indent=1) + "\n")

    def request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def serve_forever(self) -> None:
        assert self._stop is not None
        await self._stop.wait()
        await self.stop()

    async def stop(self) -> None:
        members, self.members = self.members, []
        await asyncio.gather(*(m.daemon.stop() for m in members), return_exceptions=True)
        try:
            self.manifest_path.unlink()
        except FileNotFoundError:
            pass
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def driver_of(self, hostname: str) -> Driver:
        """The ``qemu:///system`` driver of one host (built if nobody opened it yet)."""
        for member in self.members:
            if member.shape.hostname == hostname:
                return member.daemon.registry.open("qemu:///system")
        raise KeyError(hostname)


def _uri_of(address: str) -> str:
    kind, _, rest = address.partition(":")
    if kind == "unix":
        return f"qemu+unix:///system?socket={rest}"
    return f"qemu+tcp://{rest}/system"


def _raise_fd_limit(wanted: int) -> None:
    """Listeners take one descriptor each: lift the soft limit towards the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def read_manifest(state_dir: Path) -> list[dict[str, Any]]:
    """The hosts of a running fleet, from ``STATE_DIR/fleet.json``."""
    path = Path(state_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FleetError(
            f"no fleet manifest at {path} (is `virtwire serve --fleet` running?)"
        ) from None
    except (OSError, ValueError) as exc:
        raise FleetError(f"cannot read fleet manifest {path}: {exc}") from None
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, list):
        raise FleetError(f"fleet manifest {path} has no host list")
    return hosts


def build_fleet(args: Any, config: ServerConfig, state_dir: Path) -> Fleet:
    """A :class:`Fleet` from ``virtwire serve``'s ``--fleet*`` options."""
    settings: dict[str, Any] = {}
    if args.fleet_config is not None:
        if args.fleet is not None:
            raise FleetError("--fleet and --fleet-config exclude each other")
        hosts, settings = fleet_from_toml(args.fleet_config)
    else:
        hosts = fleet_from_count(args.fleet)
    ports = parse_port_range(str(args.fleet_ports or settings.get("ports", "0")))
    listen = args.fleet_listen or settings.get("listen", "127.0.0.1")
    unix_dir = args.fleet_unix_dir or settings.get("unix_dir")
    return Fleet(
        config,
        Path(state_dir),
        hosts,
        listen=str(listen),
        ports=ports,
        unix_dir=Path(unix_dir) if unix_dir else None,
    )


async def _run_async(fleet: Fleet) -> None:
    import signal

    loop = asyncio.get_running_loop()
    await fleet.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, fleet.request_stop)
    await fleet.serve_forever()


def run_fleet(fleet: Fleet, event_loop: str = "asyncio", busy_poll_us: float = 0) -> int:
    """Run until SIGTERM/SIGINT; 0 after a clean shutdown (the loop as for one daemon:
    :func:`virtwire.server.daemon.loop_factory`)."""
    with asyncio.Runner(loop_factory=loop_factory(event_loop, busy_poll_us)) as runner:
        runner.run(_run_async(fleet))
    return 0
