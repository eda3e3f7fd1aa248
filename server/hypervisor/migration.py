"""Live migration between simulated QEMU hosts: libvirt's protocol v3 with parameters.

A mixin of :class:`~virtwire.server.hypervisor.qemudriver.QemuDriver`. The five phases are
the driver members libvirt's client calls (``domainMigrateBegin3Params`` …
``domainMigrateConfirm3Params``); for a peer-to-peer migration (``VIR_MIGRATE_PEER2PEER``)
the source's Perform runs them itself, calling the destination URI with virtwire's own
asyncio client, so a migration works between two hosts of one fleet and between two
separate daemons alike.

As QEMU does it, the destination's Prepare opens an *incoming* listener (``tcp:ADDR:PORT``,
returned as ``uri_out``) and the source's Perform connects to it and streams the
simulated memory: JSON lines with the progress, then ``complete``, answered ``ok``. The
transfer is a model of QEMU's pre-copy (:class:`MemoryTransfer`): passes over the guest
memory at the bandwidth set with ``migrate-setspeed``, while the guest dirties pages at the
rate of its ``<vw:guest dirty-rate='MiB/s'/>`` metadata; when what is left fits in the
maximum downtime (``migrate-setmaxdowntime``) the source pauses and sends the rest. Time
is the driver's ``migration_clock`` (the loop's clock, or a :class:`FakeClock` in tests).

The cookie is opaque to clients; ours is an XML document in the spirit of libvirt's
``<qemu-migration>`` cookie: name, UUID, host name and UUID, and the domain's XML (live,
and persistent for ``--persistent``).

Events, in libvirt 9.0's order (qemu_migration.c, qemu_process.c): the destination sends
STARTED MIGRATED in Prepare and, in Finish, DEFINED ADDED/UPDATED (``--persistent``) then
RESUMED MIGRATED; the source sends MIGRATION_ITERATION per memory pass, SUSPENDED MIGRATED
at the switch-over, then in Confirm STOPPED MIGRATED and JOB_COMPLETED; ``--undefinesource``
deletes the source's definition without an UNDEFINED event, as libvirt's Confirm does. A
failed or aborted migration leaves the domain running on the source (RESUMED MIGRATED if it
had been paused) and kills the incoming one on the destination (STOPPED FAILED). An
offline migration (``--offline --persistent``) only moves the definition: DEFINED ADDED on
the destination, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Protocol

import defusedxml.ElementTree as SafeET
from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain as Dom
from virtwire.protocol.typed_params import INT, ULLONG, from_wire, to_wire
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.caller import CALLER
from virtwire.server.hypervisor.domxml import GUEST_NS
from virtwire.server.hypervisor.driver import (
    DEFINED,
    DEFINED_ADDED,
    DEFINED_UPDATED,
    RESUMED,
    STARTED,
    STOPPED,
    SUSPENDED,
)
from virtwire.server.hypervisor.model import DomainObj, DomainState

__all__ = ["FakeClock", "LoopClock", "MemoryTransfer", "MigrationMixin"]

log = logging.getLogger("virtwire.server")

# virDomainMigrateFlags
LIVE = 1 << 0
PEER2PEER = 1 << 1
TUNNELLED = 1 << 2
PERSIST_DEST = 1 << 3
UNDEFINE_SOURCE = 1 << 4
PAUSED = 1 << 5
NON_SHARED_DISK = 1 << 6
NON_SHARED_INC = 1 << 7
CHANGE_PROTECTION = 1 << 8
OFFLINE = 1 << 10
AUTO_CONVERGE = 1 << 13
POSTCOPY = 1 << 15
QEMU_MIGRATION_FLAGS = 0x3FFFFFF  # every flag libvirt 9.0's QEMU driver accepts (qemu_migration.h)

# event details and state reasons (libvirt's enums)
STARTED_MIGRATED = SUSPENDED_MIGRATED = RESUMED_MIGRATED = 1
STOPPED_MIGRATED, STOPPED_FAILED = 3, 5
RUNNING_MIGRATED, RUNNING_MIGRATION_CANCELED = 2, 9
PAUSED_MIGRATION = 2
SHUTOFF_MIGRATED, SHUTOFF_FAILED = 5, 6

# virDomainJobType, virDomainJobOperation
JOB_NONE, JOB_UNBOUNDED, JOB_COMPLETED = 0, 2, 3
OP_MIGRATION_IN, OP_MIGRATION_OUT = 4, 5
JOB_STATS_COMPLETED = 1

MIB = 1024 * 1024
BANDWIDTH_MAX = (2**63 - 1) // MIB  # QEMU_DOMAIN_MIG_BANDWIDTH_MAX, MiB/s: "unlimited"
DEFAULT_DOWNTIME_MS = 300  # QEMU's default downtime-limit
_MAX_LINE = 64 * 1024  # an incoming-migration record longer than this closes the stream
TICK = 0.05  # seconds of daemon clock between progress updates

PARAM_URI = "migrate_uri"
PARAM_DEST_NAME = "destination_name"
PARAM_DEST_XML = "destination_xml"
PARAM_PERSIST_XML = "persistent_xml"
PARAM_BANDWIDTH = "bandwidth"
PARAM_LISTEN_ADDRESS = "listen_address"


class MigrationClock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The daemon's clock: the event loop's."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to (``advance``): migrations in tests never sleep."""

    def __init__(self) -> None:
        self.time = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.time + seconds, self._seq, fut))
        await fut

    @property
    def sleeping(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def advance(self, seconds: float) -> None:
        self.time += seconds
        while self._sleepers and self._sleepers[0][0] <= self.time + 1e-9:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)


@dataclass
class MemoryTransfer:
    """QEMU's pre-copy as arithmetic: passes over memory while the guest dirties it."""

    total: int  # bytes of guest memory
    bandwidth: float  # bytes/s
    dirty_rate: float  # bytes/s while the guest runs
    max_downtime: float  # seconds
    auto_converge: bool = False
    iteration: int = 1
    processed: float = 0.0
    pass_left: float = 0.0
    dirty: float = 0.0
    throttle: int = 0  # auto-converge CPU throttle, percent
    converged: bool = False
    done: bool = False
    new_iterations: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pass_left = float(self.total)
        self.new_iterations.append(1)  # QEMU's first MIGRATION_PASS comes with the setup

    @property
    def remaining(self) -> int:
        return int(self.pass_left + self.dirty)

    def rate(self, paused: bool) -> float:
        if paused:
            return 0.0
        return self.dirty_rate * (100 - self.throttle) / 100

    def step(self, seconds: float, *, paused: bool = False) -> None:
        """Send for ``seconds`` at the bandwidth, starting new passes over what the guest
        dirtied; converged once what is left fits in the downtime (QEMU's threshold:
        bandwidth x downtime-limit)."""
        budget = self.bandwidth * seconds
        while not self.converged:
            if self.remaining <= self.bandwidth * self.max_downtime:
                self.converged = True
                break
            if budget <= 0:
                break
            send = min(budget, self.pass_left)
            self.pass_left -= send
            self.processed += send
            budget -= send
            self.dirty = min(self.dirty + self.rate(paused) * send / self.bandwidth, self.total)
            if self.pass_left > 0:
                continue
            self.iteration += 1
            self.new_iterations.append(self.iteration)
            self.pass_left, self.dirty = self.dirty, 0.0
            if self.auto_converge:  # QEMU's defaults: 20 % at first, +10 % a pass, at most 99
                self.throttle = min(99, 20 if self.throttle == 0 else self.throttle + 10)

    def switch_over(self) -> None:
        """The guest is paused: the last pass (QEMU's final bitmap sync) sends the rest."""
        self.iteration += 1
        self.new_iterations.append(self.iteration)
        self.processed += self.pass_left + self.dirty
        self.pass_left = self.dirty = 0.0
        self.done = True

    def pop_iterations(self) -> list[int]:
        out, self.new_iterations = self.new_iterations, []
        return out


@dataclass
class MigrationJob:
    operation: int
    started: float
    flags: int
    transfer: MemoryTransfer | None = None
    aborted: bool = False
    phase: str = "begin"
    incoming: Any = None  # the destination's listener (asyncio.Server)
    complete: bool = False  # destination: the source sent everything
    peer_processed: int = 0
    persistent_xml: str | None = None
    paused_at: float | None = None
    stream_taken: bool = False  # destination: the source's stream is connected
    owner: object = None  # the connection that drives the next phase (close callback)
    wall_started: float = field(default_factory=time.time)


@dataclass
class MigrationSettings:
    bandwidth_mib: int = BANDWIDTH_MAX
    max_downtime_ms: int = DEFAULT_DOWNTIME_MS


def _params(params: Any) -> dict[str, Any]:
    return from_wire(params or [])


def _cookie(
    driver: Any, obj: DomainObj, *, xml: str | None = None, persistent: str | None = None
) -> bytes:
    root = ET.Element("qemu-migration")
    ET.SubElement(root, "name").text = obj.name
    ET.SubElement(root, "uuid").text = domxml.uuid_str(obj.uuid)
    ET.SubElement(root, "hostname").text = driver.connect_get_hostname()
    host_uuid = _host_uuid(driver)
    if host_uuid:
        ET.SubElement(root, "hostuuid").text = host_uuid
    if xml is not None:
        ET.SubElement(root, "domain").text = xml
    if persistent is not None:
        ET.SubElement(root, "persistent").text = persistent
    return ET.tostring(root, encoding="utf-8") + b"\0"  # C strings: NUL included, as libvirt


def _host_uuid(driver: Any) -> str | None:
    """The simulated host's UUID (fleet hosts have one; a plain daemon's host has none)."""
    return getattr(getattr(driver, "shape", None), "uuid", None)


def _read_cookie(data: bytes | None) -> dict[str, str]:
    if not data:
        return {}
    try:
        root = SafeET.fromstring(bytes(data).rstrip(b"\0").decode("utf-8", "replace"))
    except (ET.ParseError, ValueError):
        return {}
    return {child.tag: child.text or "" for child in root}


_URI_RE = re.compile(r"^tcp:(?://)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/?$")


def parse_migrate_uri(uri: str) -> tuple[str, int]:
    match = _URI_RE.match(uri or "")
    if not match:
        raise LibvirtError.make(
            ErrorCode.INVALID_ARG, ErrorDomain.QEMU, f"unsupported scheme in migration URI {uri}"
        )
    host = match.group(1).strip("[]")
    return host, int(match.group(2) or 0)


class MigrationMixin:
    """The migration members of a simulated QEMU host."""

    migration_clock: MigrationClock | None = None

    # the attributes QemuDriver provides
    domains: dict[bytes, DomainObj]

    # -- state ------------------------------------------------------------------------------

    def _clock(self) -> MigrationClock:
        if self.migration_clock is None:
            self.migration_clock = LoopClock()
        return self.migration_clock

    def _jobs(self) -> dict[bytes, MigrationJob]:
        jobs = self.__dict__.get("_migration_jobs")
        if jobs is None:
            jobs = self.__dict__["_migration_jobs"] = {}
        return jobs

    def _settings(self, obj: DomainObj) -> MigrationSettings:
        table = self.__dict__.setdefault("_migration_settings", {})
        return table.setdefault(obj.uuid, MigrationSettings())

    def _completed(self) -> dict[bytes, dict[str, Any]]:
        return self.__dict__.setdefault("_migration_completed", {})

    def _job_busy(self, obj: DomainObj) -> None:
        if obj.uuid in self._jobs():
            raise self.error(
                ErrorCode.OPERATION_INVALID,
                f"another migration job is already running for domain '{obj.name}'",
            )

    # -- settings ---------------------------------------------------------------------------

    def domain_migrate_set_max_speed(self, dom: Dom, bandwidth: int, flags: int = 0) -> None:
        self.check_flags(flags, 1, "qemuDomainMigrateSetMaxSpeed")
        obj = self.find(dom)
        if bandwidth > BANDWIDTH_MAX:
            raise self.error(ErrorCode.OVERFLOW, f"bandwidth must be less than {BANDWIDTH_MAX + 1}")
        self._settings(obj).bandwidth_mib = bandwidth
        job = self._jobs().get(obj.uuid)
        if job is not None and job.transfer is not None:
            job.transfer.bandwidth = max(bandwidth, 1) * MIB

    def domain_migrate_get_max_speed(self, dom: Dom, flags: int = 0) -> int:
        self.check_flags(flags, 1, "qemuDomainMigrateGetMaxSpeed")
        return self._settings(self.find(dom)).bandwidth_mib

    def domain_migrate_set_max_downtime(self, dom: Dom, downtime: int, flags: int = 0) -> None:
        self.check_flags(flags, 0, "qemuDomainMigrateSetMaxDowntime")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        self._settings(obj).max_downtime_ms = downtime
        job = self._jobs().get(obj.uuid)
        if job is not None and job.transfer is not None:
            job.transfer.max_downtime = downtime / 1000

    def domain_migrate_get_max_downtime(self, dom: Dom, flags: int = 0) -> int:
        self.check_flags(flags, 0, "qemuDomainMigrateGetMaxDowntime")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        return self._settings(obj).max_downtime_ms

    # -- job info ------------------------------------------------------------------------------

    def _job_values(self, obj: DomainObj, job: MigrationJob) -> dict[str, Any]:
        elapsed = int((self._clock().now() - job.started) * 1000)
        t = job.transfer
        if t is not None:
            total, processed, remaining = t.total, int(t.processed), t.remaining
        else:
            total = obj.current.current_memory * 1024
            processed = job.peer_processed
            remaining = max(total - processed, 0)
        values: dict[str, Any] = {
            "operation": (INT, job.operation),
            "time_elapsed": (ULLONG, elapsed),
            "data_total": (ULLONG, total),
            "data_processed": (ULLONG, processed),
            "data_remaining": (ULLONG, remaining),
            "memory_total": (ULLONG, total),
            "memory_processed": (ULLONG, processed),
            "memory_remaining": (ULLONG, remaining),
        }
        if t is not None:
            values["memory_bps"] = (ULLONG, int(min(t.bandwidth, 2**63 - 1)))
            values["memory_dirty_rate"] = (
                ULLONG,
                int(t.rate(obj.state == DomainState.PAUSED) / 4096),
            )
            values["memory_page_size"] = (ULLONG, 4096)
            values["memory_iteration"] = (ULLONG, t.iteration)
            if t.auto_converge:
                values["auto_converge_throttle"] = (INT, t.throttle)
        return values

    @staticmethod
    def _wire(values: dict[str, Any]) -> list[Any]:
        return to_wire(
            {k: v for k, (_, v) in values.items()}, {k: t for k, (t, _) in values.items()}
        )

    def domain_get_job_info(self, dom: Dom) -> tuple[int, ...]:
        obj = self.find(dom)
        job = self._jobs().get(obj.uuid)
        if job is None or job.phase in ("begin", "confirm"):
            return super().domain_get_job_info(dom)  # type: ignore[misc]  # no job (stats.py)
        v = {k: val for k, (_, val) in self._job_values(obj, job).items()}
        return (JOB_UNBOUNDED, v["time_elapsed"], 0, v["data_total"], v["data_processed"],
                v["data_remaining"], v["memory_total"], v["memory_processed"],
                v["memory_remaining"], 0, 0, 0)  # fmt: skip

    def domain_get_job_stats(self, dom: Dom, flags: int = 0) -> tuple[int, list[Any]]:
        self.check_flags(flags, 0x3, "qemuDomainGetJobStats")
        obj = self.find(dom)
        if flags & JOB_STATS_COMPLETED:
            done = self._completed().get(obj.uuid)
            if done is None:
                return super().domain_get_job_stats(dom, flags)  # type: ignore[misc]
            return JOB_COMPLETED, self._wire(done)
        job = self._jobs().get(obj.uuid)
        if job is None or job.phase in ("begin", "confirm"):
            return super().domain_get_job_stats(dom, flags)  # type: ignore[misc]  # no job
        return JOB_UNBOUNDED, self._wire(self._job_values(obj, job))

    def domain_abort_job(self, dom: Dom) -> None:
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        job = self._jobs().get(obj.uuid)
        if job is None or job.operation != OP_MIGRATION_OUT or job.phase != "perform":
            raise self.error(ErrorCode.OPERATION_INVALID, "no job is active on the domain")
        job.aborted = True

    # -- Begin (source) ------------------------------------------------------------------------

    def _begin(self, obj: DomainObj, params: dict[str, Any], flags: int) -> tuple[bytes, str]:
        self.check_flags(flags, QEMU_MIGRATION_FLAGS, "qemuMigrationSrcBegin")
        if flags & TUNNELLED:
            raise self.error(
                ErrorCode.ARGUMENT_UNSUPPORTED,
                "tunnelled migration is not supported by virtwire's simulated hosts",
            )
        if flags & POSTCOPY:
            raise self.error(ErrorCode.ARGUMENT_UNSUPPORTED, "post-copy migration is not supported")
        snapshots = getattr(self, "snapshot_count", lambda _obj: 0)(obj)  # qemu_snapshots.py
        if snapshots:  # qemuMigrationSrcIsAllowed (remote)
            raise self.error(
                ErrorCode.OPERATION_INVALID, f"cannot migrate domain with {snapshots} snapshots"
            )
        if flags & OFFLINE:
            if flags & (NON_SHARED_DISK | NON_SHARED_INC):
                raise self.error(ErrorCode.OPERATION_INVALID,
                                 "offline migration cannot handle non-shared storage")  # fmt: skip
            if not flags & PERSIST_DEST:
                raise self.error(ErrorCode.OPERATION_INVALID,
                                 "offline migration must be specified with the persistent flag set")  # fmt: skip
            self._job_busy(obj)
            obj.config.sync_tree()
            xml = params.get(PARAM_DEST_XML) or domxml.format_xml(obj.config.tree)
            return _cookie(self, obj, xml=xml, persistent=params.get(PARAM_PERSIST_XML, xml)), xml
        if not obj.active:
            raise self.not_running()
        self._job_busy(obj)
        xml = params.get(PARAM_DEST_XML) or self.domain_get_xml_desc(obj.handle(), 0)
        persistent = params.get(PARAM_PERSIST_XML)
        if persistent is None and flags & PERSIST_DEST and obj.persistent:
            obj.config.sync_tree()
            persistent = domxml.format_xml(obj.config.tree)
        return _cookie(self, obj, xml=xml, persistent=persistent), xml

    def domain_migrate_begin3_params(
        self, dom: Dom, params: Any, flags: int = 0
    ) -> tuple[bytes, str]:
        obj = self.find(dom)
        return self._begin(obj, _params(params), flags)

    # -- Prepare (destination) -------------------------------------------------------------------

    async def domain_migrate_prepare3_params(
        self, params: Any, cookie_in: bytes, flags: int = 0
    ) -> tuple[bytes, str | None]:
        return await self._prepare(_params(params), cookie_in, flags)

    async def _prepare(
        self, params: dict[str, Any], cookie_in: bytes, flags: int
    ) -> tuple[bytes, str | None]:
        self.check_flags(flags, QEMU_MIGRATION_FLAGS, "qemuMigrationDstPrepareDirect")
        cookie = _read_cookie(cookie_in)
        own = _host_uuid(self)
        if own is not None and cookie.get("hostuuid") == own:
            raise self.error(
                ErrorCode.INTERNAL_ERROR, f"Attempt to migrate guest to the same host {own}"
            )
        xml = params.get(PARAM_DEST_XML) or cookie.get("domain")
        if not xml:
            raise self.error(ErrorCode.OPERATION_FAILED, "no domain XML passed")
        ddef = self.parse(xml)
        if params.get(PARAM_DEST_NAME):
            ddef.name = params[PARAM_DEST_NAME]
            ddef.sync_tree()
        if flags & (NON_SHARED_DISK | NON_SHARED_INC):
            self._precreate_storage(ddef)
        existing = self._check_clash(ddef, live=True)
        obj = existing or DomainObj(config=ddef, persistent=False)
        self._job_busy(obj)
        if flags & OFFLINE:  # no QEMU, no incoming stream: Finish only stores the definition
            job = MigrationJob(OP_MIGRATION_IN, self._clock().now(), flags, phase="prepare")
            job.persistent_xml, job.complete = cookie.get("persistent"), True
            job.owner = CALLER.get()
            self.domains[ddef.uuid] = obj
            self._jobs()[obj.uuid] = job
            # libvirt's client wants a URI even here; nothing will connect to it
            return _cookie(self, obj), "tcp:127.0.0.1:49152"
        host, port = "127.0.0.1", 0
        if params.get(PARAM_URI):
            host, port = parse_migrate_uri(params[PARAM_URI])
        host = params.get(PARAM_LISTEN_ADDRESS) or host
        job = MigrationJob(OP_MIGRATION_IN, self._clock().now(), flags, phase="prepare")
        job.persistent_xml, job.owner = cookie.get("persistent"), CALLER.get()
        loop = asyncio.get_running_loop()
        try:
            job.incoming = await loop.create_server(
                lambda: _Incoming(self, obj, job), host, port, reuse_address=True
            )
        except OSError as exc:
            raise self.error(
                ErrorCode.OPERATION_FAILED,
                f"Failed to bind socket for incoming migration on {host}:{port}: {exc.strerror}",
            ) from None
        bound = job.incoming.sockets[0].getsockname()
        self.domains[ddef.uuid] = obj
        self._jobs()[obj.uuid] = job
        self.make_live(obj, ddef)
        obj.state, obj.reason = DomainState.PAUSED, PAUSED_MIGRATION
        self.lifecycle(obj, STARTED, STARTED_MIGRATED)
        addr = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        return _cookie(self, obj), f"tcp:{addr}:{bound[1]}"

    def _precreate_storage(self, ddef: Any) -> None:
        """qemuMigrationDstPrecreateDisk: a file disk's directory must be a storage pool."""
        for dev in ddef.devices:
            if dev.tag != "disk":
                continue
            source = dev.find("source")
            path = source.get("file") if source is not None else None
            if path:
                base = path.rsplit("/", 1)[0] or "/"
                raise LibvirtError.make(
                    ErrorCode.NO_STORAGE_POOL,
                    ErrorDomain.STORAGE,
                    f"no storage pool with matching target path '{base}'",
                )

    def _incoming_lost(self, obj: DomainObj, job: MigrationJob) -> None:
        """The source went away before sending everything: QEMU exits, the domain goes."""
        if job.complete or self._jobs().get(obj.uuid) is not job:
            return
        self._fail_incoming(obj, job)

    def connection_closed(self, owner: object) -> None:
        """libvirt's migration close callbacks: the connection that prepared an incoming
        migration went away before Finish (a failed or abandoned migration), so the incoming
        domain goes (qemuMigrationDstPrepareCleanup); the one that ran Perform went away
        before Confirm, so the source's job ends (qemuMigrationAnyConnectionClosed)."""
        super().connection_closed(owner)  # type: ignore[misc]
        for uuid, job in list(self._jobs().items()):
            if owner is None or job.owner is not owner:
                continue
            obj = self.domains.get(uuid)
            if obj is None:
                self._jobs().pop(uuid, None)
                continue
            if job.operation == OP_MIGRATION_OUT:
                self._outgoing_abandoned(obj, job)
                continue
            log.warning("domain %s: incoming migration abandoned by its client", obj.name)
            self._fail_incoming(obj, job)
            if not obj.active and not obj.persistent:
                self.domains.pop(uuid, None)

    def _outgoing_abandoned(self, obj: DomainObj, job: MigrationJob) -> None:
        """qemuMigrationAnyConnectionClosed at PERFORM3_DONE: the client that drove a managed
        migration went away between Perform and Confirm. Nobody knows whether the destination
        runs the guest, so the job ends and the source stays paused, as libvirt leaves it."""
        if job.phase != "confirm":
            return
        log.warning("domain %s: migration finished but we don't know if the domain was "
                    "successfully started on destination or not", obj.name)  # fmt: skip
        self._jobs().pop(obj.uuid, None)

    def _fail_incoming(self, obj: DomainObj, job: MigrationJob) -> None:
        self._jobs().pop(obj.uuid, None)
        if job.incoming is not None:
            job.incoming.close()
        if obj.active:
            self.stop(obj, SHUTOFF_FAILED)
            self.lifecycle(obj, STOPPED, STOPPED_FAILED)
        self.forget_if_transient(obj)

    # -- Perform (source) ----------------------------------------------------------------------

    async def domain_migrate_perform3_params(
        self, dom: Dom, dconnuri: str | None, params: Any, cookie_in: bytes, flags: int = 0
    ) -> bytes:
        obj = self.find(dom)
        values = _params(params)
        if flags & PEER2PEER:
            if not dconnuri:
                raise self.error(ErrorCode.INVALID_ARG, "dconnuri must not be NULL")
            await self._peer2peer(obj, dconnuri, values, flags)
            return b""
        if flags & OFFLINE:
            return _cookie(self, obj)
        if not values.get(PARAM_URI):
            raise self.error(ErrorCode.INVALID_ARG, "migration URI must be specified")
        await self._transfer(obj, values, flags, values[PARAM_URI])
        job = self._jobs().get(obj.uuid)
        if job is not None:  # Confirm is the client's next step: a close callback till then
            job.owner = CALLER.get()
        return _cookie(self, obj)

    def _start_out_job(self, obj: DomainObj, params: dict[str, Any], flags: int) -> MigrationJob:
        self._job_busy(obj)
        settings = self._settings(obj)
        bandwidth = params.get(PARAM_BANDWIDTH) or settings.bandwidth_mib
        job = MigrationJob(OP_MIGRATION_OUT, self._clock().now(), flags, phase="perform")
        dirty = _dirty_rate(obj) * MIB
        job.transfer = MemoryTransfer(
            total=obj.current.current_memory * 1024,
            bandwidth=max(int(bandwidth), 1) * MIB,
            dirty_rate=dirty,
            max_downtime=settings.max_downtime_ms / 1000,
            auto_converge=bool(flags & AUTO_CONVERGE),
        )
        self._jobs()[obj.uuid] = job
        return job

    async def _transfer(self, obj: DomainObj, params: dict[str, Any], flags: int, uri: str) -> None:
        """Stream the simulated memory to the destination's incoming listener."""
        if not obj.active:
            raise self.not_running()
        host, port = parse_migrate_uri(uri)
        job = self._start_out_job(obj, params, flags)
        transfer = job.transfer
        assert transfer is not None
        clock = self._clock()
        writer = None
        try:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                raise self.error(ErrorCode.OPERATION_FAILED,
                                 f"migration out job: unexpectedly failed: {exc.strerror or exc}") from None  # fmt: skip
            writer.write(_line({"uuid": domxml.uuid_str(obj.uuid)}))
            last = clock.now()
            while not transfer.converged:
                self._emit_iterations(obj, transfer)
                self._check_abort(obj, job)
                await clock.sleep(min(TICK, transfer.pass_left / transfer.bandwidth))
                now = clock.now()
                transfer.step(now - last, paused=obj.state == DomainState.PAUSED)
                last = now
                self._check_abort(obj, job)
                writer.write(_line({"processed": int(transfer.processed)}))
                await writer.drain()
            # switch-over: QEMU stops the CPUs, then syncs and sends the rest
            job.paused_at = clock.now()
            if obj.state == DomainState.RUNNING:
                obj.state, obj.reason = DomainState.PAUSED, PAUSED_MIGRATION
                self.lifecycle(obj, SUSPENDED, SUSPENDED_MIGRATED)
            transfer.switch_over()
            self._emit_iterations(obj, transfer)
            writer.write(_line({"processed": int(transfer.processed), "complete": True}))
            await writer.drain()
            answer = await reader.readline()
            if answer.strip() != b"ok":
                raise self.error(ErrorCode.OPERATION_FAILED,
                                 "migration out job: unexpectedly failed")  # fmt: skip
            job.phase = "confirm"
        except (OSError, asyncio.IncompleteReadError):
            self._restore_source(obj)
            raise self.error(ErrorCode.OPERATION_FAILED,
                             "migration out job: unexpectedly failed") from None  # fmt: skip
        except BaseException:
            self._restore_source(obj)
            raise
        finally:
            if writer is not None:
                writer.close()

    def _emit_iterations(self, obj: DomainObj, transfer: MemoryTransfer) -> None:
        for n in transfer.pop_iterations():
            self.emit(ev.MigrationIterationEvent(obj.ref(), n))

    def _check_abort(self, obj: DomainObj, job: MigrationJob) -> None:
        if job.aborted:
            raise LibvirtError.make(
                ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, "migration out: canceled by client"
            )

    def _restore_source(self, obj: DomainObj) -> None:
        """A failed migration: the source keeps (or resumes) running, as libvirt leaves it."""
        self._jobs().pop(obj.uuid, None)
        if obj.active and obj.state == DomainState.PAUSED and obj.reason == PAUSED_MIGRATION:
            obj.state, obj.reason = DomainState.RUNNING, RUNNING_MIGRATION_CANCELED
            self.lifecycle(obj, RESUMED, RESUMED_MIGRATED)

    async def _peer2peer(
        self, obj: DomainObj, dconnuri: str, params: dict[str, Any], flags: int
    ) -> None:
        """qemuMigrationSrcPerformPeer2Peer3: Begin here, Prepare there, Perform, Finish there,
        Confirm here."""
        from virtwire.client import connect
        from virtwire.protocol.constants import Feature

        cookie, xml = self._begin(obj, params, flags)
        try:
            dconn = await connect(dconnuri, connect_timeout=30.0)
        except LibvirtError as exc:
            raise LibvirtError.make(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU,
                                    f"Failed to connect to remote libvirt URI {dconnuri}: {exc.message}") from None  # fmt: skip
        except OSError as exc:
            raise LibvirtError.make(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU,
                                    f"Failed to connect to remote libvirt URI {dconnuri}: {exc}") from None  # fmt: skip
        try:
            probe = await dconn.call("CONNECT_SUPPORTS_FEATURE", {"feature": Feature.MIGRATION_P2P})
            if not probe.supported:
                raise self.error(ErrorCode.OPERATION_FAILED,
                                 "Destination libvirt does not support peer-to-peer migration protocol")  # fmt: skip
            dest_params = dict(params)
            dest_params.setdefault(PARAM_DEST_XML, xml)
            wire = to_wire(dest_params)
            dest_flags = flags & ~PEER2PEER
            prep = await dconn.call(
                "DOMAIN_MIGRATE_PREPARE3_PARAMS",
                {"params": wire, "cookie_in": cookie, "flags": dest_flags},
            )
            uri = params.get(PARAM_URI) or prep.uri_out
            error: LibvirtError | None = None
            try:
                if not flags & OFFLINE:
                    await self._transfer(obj, params, flags, uri)
            except LibvirtError as exc:
                error = exc
            name = params.get(PARAM_DEST_NAME) or obj.name
            finish_params = to_wire({PARAM_DEST_NAME: name, **({PARAM_URI: uri} if uri else {})})
            try:
                await dconn.call(
                    "DOMAIN_MIGRATE_FINISH3_PARAMS",
                    {"params": finish_params, "cookie_in": cookie, "flags": dest_flags,
                     "cancelled": int(error is not None)},
                )  # fmt: skip
            except LibvirtError as exc:
                if error is None:
                    error = exc
                    self._restore_source(obj)
            self._confirm(obj, flags, cancelled=error is not None)
            if error is not None:
                raise error
        finally:
            with contextlib.suppress(Exception):
                await dconn.close()

    # -- Finish (destination) ------------------------------------------------------------------

    def domain_migrate_finish3_params(
        self, params: Any, cookie_in: bytes, flags: int = 0, cancelled: int = 0
    ) -> tuple[Dom, bytes]:
        values = _params(params)
        cookie = _read_cookie(cookie_in)
        name = values.get(PARAM_DEST_NAME) or cookie.get("name", "")
        obj = next((o for o in self.domains.values() if o.name == name), None)
        job = self._jobs().get(obj.uuid) if obj is not None else None
        if obj is None or job is None or job.operation != OP_MIGRATION_IN:
            raise self.error(ErrorCode.NO_DOMAIN, f"no domain with matching name '{name}'")
        if cancelled or not job.complete:
            self._fail_incoming(obj, job)
            raise self.error(ErrorCode.OPERATION_FAILED, "migration in job: unexpectedly failed")
        if job.incoming is not None:
            job.incoming.close()
        if flags & PERSIST_DEST:
            xml = job.persistent_xml
            config = self.parse(xml) if xml else obj.live.copy()
            devices_live_free(config)
            was_persistent = obj.persistent
            self.save(obj, config)
            obj.config, obj.persistent = config, True
            self.lifecycle(obj, DEFINED, DEFINED_UPDATED if was_persistent else DEFINED_ADDED)
        if flags & OFFLINE:
            pass  # qemuMigrationDstFinishOffline: persisted, nothing runs
        elif flags & PAUSED:
            obj.state, obj.reason = DomainState.PAUSED, 1  # VIR_DOMAIN_PAUSED_USER
            self.lifecycle(obj, SUSPENDED, 0)
        else:
            obj.state, obj.reason = DomainState.RUNNING, RUNNING_MIGRATED
            self.lifecycle(obj, RESUMED, RESUMED_MIGRATED)
        self._jobs().pop(obj.uuid, None)
        return obj.handle(), _cookie(self, obj)

    # -- Confirm (source) ----------------------------------------------------------------------

    def domain_migrate_confirm3_params(
        self, dom: Dom, params: Any, cookie_in: bytes, flags: int = 0, cancelled: int = 0
    ) -> None:
        obj = self.find(dom)
        self._confirm(obj, flags, cancelled=bool(cancelled))

    def _confirm(self, obj: DomainObj, flags: int, *, cancelled: bool) -> None:
        job = self._jobs().get(obj.uuid)
        if cancelled:
            self._restore_source(obj)
            return
        if flags & OFFLINE:
            self._undefine_source(obj, flags)
            return
        if job is None or job.operation != OP_MIGRATION_OUT:
            raise self.error(
                ErrorCode.OPERATION_INVALID,
                f"domain '{obj.name}' is not processing incoming migration",
            )
        values = self._job_values(obj, job)
        downtime = self._clock().now() - (
            job.paused_at if job.paused_at is not None else job.started
        )
        values["downtime"] = (ULLONG, int(downtime * 1000))
        values.pop("data_remaining", None)
        self._completed()[obj.uuid] = values
        self._jobs().pop(obj.uuid, None)
        self.stop(obj, SHUTOFF_MIGRATED)
        self.lifecycle(obj, STOPPED, STOPPED_MIGRATED)
        self.emit(ev.JobCompletedEvent(obj.ref(), tuple(_event_params(values))))
        self._undefine_source(obj, flags)

    def _undefine_source(self, obj: DomainObj, flags: int) -> None:
        """qemuMigrationSrcConfirm: an inactive source loses its config with
        --undefinesource — virDomainDeleteConfig, and no UNDEFINED event is queued."""
        if obj.active:
            return
        if flags & UNDEFINE_SOURCE and obj.persistent:
            self.unsave(obj)
            obj.persistent = False
        self.forget_if_transient(obj)


def devices_live_free(config: Any) -> None:
    """A persistent definition made from a live one loses what only running domains have."""
    from virtwire.server.hypervisor import devices

    for dev in config.devices:
        devices.strip_live(dev)
    config.tree.attrib.pop("id", None)


def _event_params(values: dict[str, Any]) -> list[Any]:
    from virtwire.protocol.event_types import TypedParam, TypedParamType

    return [TypedParam(k, TypedParamType(t), v) for k, (t, v) in values.items()]


def _dirty_rate(obj: DomainObj) -> float:
    guest = obj.current.tree.find(f"metadata/{{{GUEST_NS}}}guest")
    if guest is None:
        return 0.0
    try:
        return max(float(guest.get("dirty-rate", "0")), 0.0)
    except ValueError:
        return 0.0


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"


class _Incoming(asyncio.Protocol):
    """The destination's incoming migration socket (QEMU's ``-incoming tcp:…``).

    The first line must name the domain's UUID; a connection that does not (a port scan,
    a stray client) is closed without touching the migration. Only the accepted stream's
    loss fails the incoming migration.
    """

    def __init__(self, driver: MigrationMixin, obj: DomainObj, job: MigrationJob) -> None:
        self.driver, self.obj, self.job = driver, obj, job
        self.buffer = b""
        self.accepted = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.job.stream_taken:
            transport.close()  # one migration stream per incoming migration

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        if len(self.buffer) > _MAX_LINE:
            self.transport.close()
            return
        while b"\n" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\n", 1)
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                self.transport.close()
                return
            if not self.accepted:
                if self.job.stream_taken or record.get("uuid") != domxml.uuid_str(self.obj.uuid):
                    self.transport.close()
                    return
                self.accepted = self.job.stream_taken = True
                continue
            processed = record.get("processed")
            if isinstance(processed, int):
                self.job.peer_processed = processed
            if record.get("complete") is True:
                self.job.complete = True
                self.transport.write(b"ok\n")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.accepted:
            self.driver._incoming_lost(self.obj, self.job)
