"""Live migration between two hosts of an in-process fleet, on a fake clock (no sleeps)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from virtwire.client import connect
from virtwire.protocol.errors import ErrorCode, LibvirtError
from virtwire.protocol.typed_params import from_wire, to_wire
from virtwire.server.config import ServerConfig
from virtwire.server.fleet import Fleet, fleet_from_count
from virtwire.server.hypervisor.migration import (
    AUTO_CONVERGE,
    LIVE,
    MIB,
    OFFLINE,
    PEER2PEER,
    PERSIST_DEST,
    UNDEFINE_SOURCE,
    FakeClock,
    MemoryTransfer,
)

UUID = "6d1a4c1e-0f3b-4a53-9a6e-2b8f37d0c001"
XML = f"""<domain type='qemu'>
  <name>vm</name>
  <uuid>{UUID}</uuid>
  <metadata><vw:guest xmlns:vw='https://virtwire.dev/xmlns/guest/1.0' dirty-rate='{{rate}}'/></metadata>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices/>
</domain>"""

# lifecycle (event, detail) pairs
SUSPENDED_MIGRATED, STOPPED_MIGRATED = (3, 1), (5, 3)
STARTED_MIGRATED, RESUMED_MIGRATED, DEFINED_ADDED, UNDEFINED_REMOVED = (
    (2, 1),
    (4, 1),
    (0, 0),
    (1, 0),
)


# -- the transfer model ------------------------------------------------------------------------


def test_idle_guest_converges_in_one_pass() -> None:
    t = MemoryTransfer(total=1024 * MIB, bandwidth=100 * MIB, dirty_rate=0, max_downtime=0.3)
    t.step(5.0)
    assert not t.converged and int(t.processed) == 500 * MIB and t.remaining == 524 * MIB
    t.step(5.0)
    assert t.converged and t.pop_iterations() == [1]
    t.switch_over()
    assert t.done and t.pop_iterations() == [2] and int(t.processed) == 1024 * MIB


def test_busy_guest_needs_more_passes_or_never_converges() -> None:
    t = MemoryTransfer(total=1024 * MIB, bandwidth=100 * MIB, dirty_rate=50 * MIB, max_downtime=0.3)
    for _ in range(100):
        t.step(1.0)
        if t.converged:
            break
    assert t.converged and t.iteration > 3  # each pass is half the previous one
    never = MemoryTransfer(
        total=1024 * MIB, bandwidth=10 * MIB, dirty_rate=50 * MIB, max_downtime=0.3
    )
    for _ in range(1000):
        never.step(1.0)
    assert not never.converged
    never.step(1.0, paused=True)  # a paused guest dirties nothing: it converges
    for _ in range(200):
        never.step(1.0, paused=True)
    assert never.converged


def test_auto_converge_throttles() -> None:
    t = MemoryTransfer(total=1024 * MIB, bandwidth=10 * MIB, dirty_rate=50 * MIB,
                       max_downtime=0.3, auto_converge=True)  # fmt: skip
    for _ in range(5000):
        t.step(1.0)
        if t.converged:
            break
    assert t.converged and t.throttle >= 80


# -- two hosts of one fleet ----------------------------------------------------------------------


class Host:
    def __init__(self, conn, events: list) -> None:
        self.conn, self.events = conn, events


async def _host(uri: str) -> Host:
    conn = await connect(uri)
    events: list = []
    for event_id in (0, 20, 21):  # LIFECYCLE, MIGRATION_ITERATION, JOB_COMPLETED
        await conn.register_event(event_id, events.append)
    return Host(conn, events)


def _lifecycle(events: list) -> list[tuple[int, int]]:
    return [(e.event, e.detail) for e in events if hasattr(e, "detail")]


async def _until(predicate, clock: FakeClock | None = None, step: float = 0.0) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            if clock is not None and clock.sleeping:
                clock.advance(step)
            await asyncio.sleep(0)


def run_fleet(tmp_path: Path, body, rate: int = 0) -> None:
    async def main() -> None:
        fleet = Fleet(ServerConfig(), tmp_path / "state", fleet_from_count(2))
        await fleet.start()
        clock = FakeClock()
        fleet.driver_of("host-0000").migration_clock = clock
        fleet.driver_of("host-0001").migration_clock = clock
        src, dst = await _host(fleet.members[0].uri), await _host(fleet.members[1].uri)
        try:
            dom = await src.conn.call("DOMAIN_DEFINE_XML", {"xml": XML.format(rate=rate)})
            await src.conn.call("DOMAIN_CREATE", {"dom": dom.dom})
            await _until(lambda: len(src.events) == 3)  # DEFINED, RESUMED, STARTED
            src.events.clear()
            await body(fleet, clock, src, dst, dom.dom)
        finally:
            await src.conn.close()
            await dst.conn.close()
            await fleet.stop()

    asyncio.run(main())


def _perform(src: Host, dom, dest_uri: str, flags: int, **params):
    return asyncio.ensure_future(
        src.conn.call(
            "DOMAIN_MIGRATE_PERFORM3_PARAMS",
            {"dom": dom, "dconnuri": dest_uri, "params": to_wire(params),
             "cookie_in": b"", "flags": flags},
        )
    )  # fmt: skip


async def _state(host: Host, dom) -> tuple[int, int]:
    ret = await host.conn.call("DOMAIN_GET_STATE", {"dom": dom, "flags": 0})
    return ret.state, ret.reason


def test_p2p_migration_with_progress_and_events(tmp_path: Path) -> None:
    async def body(fleet, clock, src, dst, dom) -> None:
        await src.conn.call(
            "DOMAIN_MIGRATE_SET_MAX_SPEED", {"dom": dom, "bandwidth": 100, "flags": 0}
        )
        job = _perform(
            src, dom, fleet.members[1].uri, LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE
        )
        await _until(lambda: clock.sleeping)
        for _ in range(40):  # 2 s of daemon time at 100 MiB/s: about 200 of 1024 MiB
            clock.advance(0.05)
            await asyncio.sleep(0)
        stats = await src.conn.call("DOMAIN_GET_JOB_STATS", {"dom": dom, "flags": 0})
        values = from_wire(stats.params)
        assert stats.type == 2 and values["operation"] == 5
        assert 150 * MIB < values["memory_processed"] < 250 * MIB
        assert values["memory_total"] == 1024 * MIB and values["time_elapsed"] >= 1900
        info = await src.conn.call("DOMAIN_GET_JOB_INFO", {"dom": dom})
        assert info.type == 2 and info.memProcessed == values["memory_processed"]
        assert await _state(dst, dom) == (3, 2)  # paused, reason migration
        await _until(job.done, clock, 0.05)
        job.result()
        assert _lifecycle(dst.events)[:1] == [STARTED_MIGRATED]
        await _until(lambda: len(src.events) >= 5 and len(dst.events) >= 3)
        await src.conn.call("CONNECT_GET_HOSTNAME", None)  # nothing more arrives after this
        # --undefinesource deletes the config without an UNDEFINED event, as libvirt 9.0
        assert [type(e).__name__ for e in src.events] == [
            "MigrationIterationEvent", "LifecycleEvent", "MigrationIterationEvent",
            "LifecycleEvent", "JobCompletedEvent"]  # fmt: skip
        assert _lifecycle(src.events) == [SUSPENDED_MIGRATED, STOPPED_MIGRATED]
        assert [e.iteration for e in src.events if hasattr(e, "iteration")] == [1, 2]
        assert _lifecycle(dst.events) == [STARTED_MIGRATED, DEFINED_ADDED, RESUMED_MIGRATED]
        assert await _state(dst, dom) == (1, 2)  # running, reason migrated
        with pytest.raises(LibvirtError) as err:
            await _state(src, dom)
        assert err.value.code == ErrorCode.NO_DOMAIN
        assert (await dst.conn.call("DOMAIN_IS_PERSISTENT", {"dom": dom})).persistent == 1

    run_fleet(tmp_path, body)


def test_abort_leaves_the_domain_running_on_the_source(tmp_path: Path) -> None:
    async def body(fleet, clock, src, dst, dom) -> None:
        await src.conn.call(
            "DOMAIN_MIGRATE_SET_MAX_SPEED", {"dom": dom, "bandwidth": 10, "flags": 0}
        )
        job = _perform(src, dom, fleet.members[1].uri, LIVE | PEER2PEER)
        await _until(lambda: clock.sleeping)
        clock.advance(0.05)
        await src.conn.call("DOMAIN_ABORT_JOB", {"dom": dom})
        await _until(job.done, clock, 0.05)
        with pytest.raises(LibvirtError) as err:
            job.result()
        assert err.value.code == ErrorCode.OPERATION_ABORTED
        assert err.value.message == "operation aborted: migration out: canceled by client"
        assert await _state(src, dom) == (1, 1)  # still running, booted
        await _until(lambda: (4, 1) not in _lifecycle(dst.events) and len(dst.events) >= 2)
        assert _lifecycle(dst.events) == [STARTED_MIGRATED, (5, 5)]  # STOPPED FAILED
        assert (await dst.conn.call("CONNECT_NUM_OF_DOMAINS", None)).num == 0
        with pytest.raises(LibvirtError, match="no job is active"):
            await src.conn.call("DOMAIN_ABORT_JOB", {"dom": dom})

    run_fleet(tmp_path, body)


def test_dirtying_guest_converges_with_auto_converge(tmp_path: Path) -> None:
    async def body(fleet, clock, src, dst, dom) -> None:
        await src.conn.call(
            "DOMAIN_MIGRATE_SET_MAX_SPEED", {"dom": dom, "bandwidth": 100, "flags": 0}
        )
        job = _perform(src, dom, fleet.members[1].uri, LIVE | PEER2PEER | AUTO_CONVERGE)
        await _until(job.done, clock, 0.5)
        job.result()
        iterations = [e.iteration for e in src.events if hasattr(e, "iteration")]
        assert len(iterations) > 3 and iterations == list(range(1, len(iterations) + 1))
        assert await _state(src, dom) == (5, 5)  # shut off, migrated (kept: persistent)

    run_fleet(tmp_path, body, rate=400)


def test_managed_direct_phases(tmp_path: Path) -> None:
    """What libvirt's client does for migrate3 without p2p: five calls on two connections."""

    async def body(fleet, clock, src, dst, dom) -> None:
        begin = await src.conn.call(
            "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": LIVE}
        )
        assert b"<qemu-migration>" in begin.cookie_out and "<name>vm</name>" in begin.xml
        prep = await dst.conn.call(
            "DOMAIN_MIGRATE_PREPARE3_PARAMS",
            {
                "params": to_wire({"destination_xml": begin.xml}),
                "cookie_in": begin.cookie_out,
                "flags": LIVE,
            },
        )
        assert prep.uri_out.startswith("tcp:127.0.0.1:")
        # a stray connection to the incoming port (a scanner, garbage) changes nothing
        _, writer = await asyncio.open_connection("127.0.0.1", int(prep.uri_out.rsplit(":", 1)[1]))
        writer.write(b'{"uuid": "not-this-domain"}\n')
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        perform = asyncio.ensure_future(src.conn.call(
            "DOMAIN_MIGRATE_PERFORM3_PARAMS",
            {"dom": dom, "dconnuri": None, "params": to_wire({"migrate_uri": prep.uri_out}),
             "cookie_in": prep.cookie_out, "flags": LIVE}))  # fmt: skip
        await _until(perform.done, clock, 0.05)
        fin = await dst.conn.call(
            "DOMAIN_MIGRATE_FINISH3_PARAMS",
            {"params": to_wire({"destination_name": "vm"}), "cookie_in": perform.result().cookie_out,
             "flags": LIVE, "cancelled": 0},
        )  # fmt: skip
        assert fin.dom.name == "vm" and bytes(fin.dom.uuid) == bytes(dom.uuid)
        await src.conn.call(
            "DOMAIN_MIGRATE_CONFIRM3_PARAMS",
            {"dom": dom, "params": [], "cookie_in": fin.cookie_out, "flags": LIVE, "cancelled": 0},
        )
        assert await _state(src, dom) == (5, 5)
        assert await _state(dst, dom) == (1, 2)
        done = await src.conn.call("DOMAIN_GET_JOB_STATS", {"dom": dom, "flags": 1})
        assert done.type == 3 and from_wire(done.params)["memory_processed"] == 1024 * MIB

    run_fleet(tmp_path, body)


def test_refusals(tmp_path: Path) -> None:
    async def body(fleet, clock, src, dst, dom) -> None:
        with pytest.raises(LibvirtError, match="tunnelled migration is not supported"):
            await src.conn.call(
                "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": 4}
            )
        with pytest.raises(
            LibvirtError, match="offline migration must be specified with the persistent flag"
        ):
            await src.conn.call(
                "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": 1024}
            )
        with pytest.raises(LibvirtError, match="bandwidth must be less than"):
            await src.conn.call(
                "DOMAIN_MIGRATE_SET_MAX_SPEED", {"dom": dom, "bandwidth": 2**63, "flags": 0}
            )
        speed = await src.conn.call("DOMAIN_MIGRATE_GET_MAX_SPEED", {"dom": dom, "flags": 0})
        assert speed.bandwidth == 8796093022207
        await src.conn.call(
            "DOMAIN_MIGRATE_SET_MAX_DOWNTIME", {"dom": dom, "downtime": 50, "flags": 0}
        )
        assert (
            await src.conn.call("DOMAIN_MIGRATE_GET_MAX_DOWNTIME", {"dom": dom, "flags": 0})
        ).downtime == 50
        # a second migration of the same domain while one runs
        await src.conn.call(
            "DOMAIN_MIGRATE_SET_MAX_SPEED", {"dom": dom, "bandwidth": 1, "flags": 0}
        )
        job = _perform(src, dom, fleet.members[1].uri, LIVE | PEER2PEER)
        await _until(lambda: clock.sleeping)
        with pytest.raises(LibvirtError, match="another migration job"):
            await src.conn.call(
                "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": LIVE}
            )
        await src.conn.call("DOMAIN_ABORT_JOB", {"dom": dom})
        await _until(job.done, clock, 0.05)
        assert isinstance(job.exception(), LibvirtError)
        # to itself: libvirt compares the host UUIDs of the cookie
        job = _perform(src, dom, fleet.members[0].uri, LIVE | PEER2PEER)
        await _until(job.done, clock, 0.05)
        with pytest.raises(LibvirtError, match="Attempt to migrate guest to the same host"):
            job.result()
        # the same UUID running on the destination already
        await dst.conn.call("DOMAIN_CREATE_XML", {"xml_desc": XML.format(rate=0), "flags": 0})
        job = _perform(src, dom, fleet.members[1].uri, LIVE | PEER2PEER)
        await _until(job.done, clock, 0.05)
        with pytest.raises(LibvirtError, match="already active"):
            job.result()
        assert await _state(src, dom) == (1, 1)

    run_fleet(tmp_path, body)


def test_offline_migration_moves_the_definition(tmp_path: Path) -> None:
    async def body(fleet, clock, src, dst, dom) -> None:
        await src.conn.call("DOMAIN_DESTROY", {"dom": dom})
        await _until(lambda: len(src.events) == 1)
        src.events.clear()
        flags = PEER2PEER | OFFLINE | PERSIST_DEST | UNDEFINE_SOURCE
        with pytest.raises(LibvirtError, match="not running"):  # without --offline
            await _perform(src, dom, fleet.members[1].uri, LIVE | PEER2PEER)
        await _perform(src, dom, fleet.members[1].uri, flags)
        await _until(lambda: len(dst.events) >= 1)
        assert _lifecycle(dst.events) == [DEFINED_ADDED]
        assert await _state(dst, dom) == (5, 0)  # shut off
        assert (await dst.conn.call("DOMAIN_IS_PERSISTENT", {"dom": dom})).persistent == 1
        with pytest.raises(LibvirtError):
            await _state(src, dom)
        await src.conn.call("CONNECT_GET_HOSTNAME", None)
        assert src.events == []

    run_fleet(tmp_path, body)


def test_client_gone_between_perform_and_confirm(tmp_path: Path) -> None:
    """The client of a managed migration vanishes after Perform: the source's job ends and
    the guest stays paused there (libvirt cannot know whether the destination runs it)."""

    async def body(fleet, clock, src, dst, dom) -> None:
        ctl = await connect(fleet.members[0].uri)
        begin = await ctl.call(
            "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": LIVE}
        )
        prep = await dst.conn.call(
            "DOMAIN_MIGRATE_PREPARE3_PARAMS",
            {"params": to_wire({"destination_xml": begin.xml}), "cookie_in": begin.cookie_out,
             "flags": LIVE},
        )  # fmt: skip
        perform = asyncio.ensure_future(ctl.call(
            "DOMAIN_MIGRATE_PERFORM3_PARAMS",
            {"dom": dom, "dconnuri": None, "params": to_wire({"migrate_uri": prep.uri_out}),
             "cookie_in": prep.cookie_out, "flags": LIVE}))  # fmt: skip
        await _until(perform.done, clock, 0.05)
        perform.result()
        busy = await src.conn.call("DOMAIN_GET_JOB_INFO", {"dom": dom})
        assert busy.type == 0  # between Perform and Confirm no job is reported ...
        with pytest.raises(LibvirtError, match="another migration job is already running"):
            await src.conn.call(  # ... but the domain is still in one
                "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": LIVE}
            )
        await ctl.close()
        await _until(lambda: not fleet.driver_of("host-0000")._jobs())
        assert await _state(src, dom) == (3, 2)  # PAUSED, PAUSED_MIGRATION
        again = await src.conn.call(
            "DOMAIN_MIGRATE_BEGIN3_PARAMS", {"dom": dom, "params": [], "flags": LIVE}
        )
        assert "<name>vm</name>" in again.xml

    run_fleet(tmp_path, body)
