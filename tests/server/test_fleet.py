"""Fleets: many simulated QEMU hosts in one daemon, each its own listener, name and shape."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from virtwire.client import connect
from virtwire.server.config import ServerConfig
from virtwire.server.fleet import (
    Fleet,
    FleetError,
    HostShape,
    fleet_from_count,
    fleet_from_toml,
    parse_port_range,
    read_manifest,
)
from virtwire.tools import fleet as fleet_cli


def test_port_range() -> None:
    assert parse_port_range("17000-17999") == (17000, 17999)
    assert parse_port_range("0") == (0, 0)
    for bad in ("x", "17999-17000", "0-10", "1-70000"):
        with pytest.raises(FleetError):
            parse_port_range(bad)


def test_shapes_from_toml(tmp_path: Path) -> None:
    conf = tmp_path / "fleet.toml"
    conf.write_text(
        '[fleet]\nports = "17000-17010"\n'
        '[[host]]\nhostname = "big"\ncpus = 64\nmemory_mib = 262144\n'
        '[[host]]\nhostname = "small-{n}"\ncount = 3\ncpus = 2\n'
    )
    hosts, settings = fleet_from_toml(conf)
    assert settings == {"ports": "17000-17010"}
    assert hosts[0] == HostShape("big", 64, 262144)
    assert [h.hostname for h in hosts[1:]] == ["small-0", "small-1", "small-2"]
    assert hosts[1].cpus == 2 and hosts[1].memory_mib == 16384
    conf.write_text('[[host]]\nhostname = "x"\ncpus = 0\n')
    with pytest.raises(FleetError, match="cpus must be a positive integer"):
        fleet_from_toml(conf)
    conf.write_text('[[host]]\nhostname = "x"\nsockets = 2\n')
    with pytest.raises(FleetError, match="unknown key"):
        fleet_from_toml(conf)


def test_bad_fleets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="duplicate host name"):
        Fleet(ServerConfig(), tmp_path, [HostShape("a"), HostShape("a")])
    with pytest.raises(FleetError, match="has 2 ports for 3 hosts"):
        Fleet(ServerConfig(), tmp_path, fleet_from_count(3), ports=(17000, 17001))
    with pytest.raises(FleetError, match="invalid host name"):
        Fleet(ServerConfig(), tmp_path, [HostShape("bad name")])


def test_host_uuid_is_stable_and_distinct() -> None:
    a, b = fleet_from_count(2)
    assert a.uuid == HostShape(a.hostname).uuid
    assert a.uuid != b.uuid


def test_fleet_hosts_answer_with_their_own_identity(tmp_path: Path, capsys) -> None:
    shapes = [*fleet_from_count(20), HostShape("big", 64, 262144)]

    async def main() -> None:
        fleet = Fleet(ServerConfig(), tmp_path / "state", shapes)
        await fleet.start()
        try:
            hosts = read_manifest(tmp_path / "state")
            assert [h["hostname"] for h in hosts] == [s.hostname for s in shapes]
            assert len({h["uri"] for h in hosts}) == len(shapes)
            for host in (hosts[0], hosts[13], hosts[-1]):
                async with await connect(host["uri"]) as conn:
                    assert await conn.get_hostname() == host["hostname"]
                    caps = await conn.get_capabilities()
                    assert f"<uuid>{host['uuid']}</uuid>" in caps
                    info = await conn.node_get_info()
                    assert info.cpus == host["cpus"]
                    assert info.memory == host["memory_mib"] * 1024
            # lazy: hosts nobody connected to have built no QEMU driver
            opened = [m for m in fleet.members if m.daemon.registry._qemu]
            assert {m.shape.hostname for m in opened} == {"host-0000", "host-0013", "big"}
            # each host has its own state directory
            assert (tmp_path / "state" / "hosts" / "big" / "qemu-system").is_dir()
            assert fleet_cli.main(["list", "--state-dir", str(tmp_path / "state")]) == 0
        finally:
            await fleet.stop()
        assert not (tmp_path / "state" / "fleet.json").exists()

    asyncio.run(main())
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(shapes) and all(u.startswith("qemu+tcp://127.0.0.1:") for u in out)


def test_fleet_list_without_a_fleet(tmp_path: Path, capsys) -> None:
    assert fleet_cli.main(["list", "--state-dir", str(tmp_path)]) == 1
    assert "no fleet manifest" in capsys.readouterr().err
    (tmp_path / "fleet.json").write_text(json.dumps({"nohosts": 1}))
    assert fleet_cli.main(["list", "--state-dir", str(tmp_path)]) == 1


def test_fleet_events_are_per_host(tmp_path: Path) -> None:
    """A domain defined on one host raises its event there and nowhere else."""
    xml = "<domain type='qemu'><name>vm</name><memory>65536</memory><os><type>hvm</type></os></domain>"

    async def main() -> None:
        fleet = Fleet(ServerConfig(), tmp_path / "state", fleet_from_count(2))
        await fleet.start()
        try:
            a = await connect(fleet.members[0].uri)
            b = await connect(fleet.members[1].uri)
            seen: dict[str, list] = {"a": [], "b": []}
            arrived = asyncio.Event()

            def on_a(ev: object) -> None:
                seen["a"].append(ev)
                arrived.set()

            await a.register_event(0, on_a)
            await b.register_event(0, lambda ev: seen["b"].append(ev))
            await a.call("DOMAIN_DEFINE_XML", {"xml": xml})
            await asyncio.wait_for(arrived.wait(), 5)
            await b.call("CONNECT_GET_HOSTNAME", None)  # a round trip on b: its events flushed
            assert seen["b"] == []
            assert seen["a"][0].dom.name == "vm"
            await a.close()
            await b.close()
        finally:
            await fleet.stop()

    asyncio.run(main())


def test_container_entrypoint_shards_by_pod_ordinal(tmp_path: Path) -> None:
    """deploy/fleet-entrypoint.sh: pod virtwire-fleet-7 serves hv-7-0000 … on 17000 …"""
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    shim = tmp_path / "bin" / "virtwire"
    shim.parent.mkdir()
    shim.write_text('#!/bin/sh\necho "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{shim.parent}:{os.environ['PATH']}", HOSTNAME="virtwire-fleet-7",
               FLEET_HOSTS="3", FLEET_FIRST_PORT="17000", FLEET_STATE=str(tmp_path / "st"))  # fmt: skip
    out = subprocess.run(["sh", str(root / "deploy" / "fleet-entrypoint.sh")], env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    conf = tmp_path / "st" / "fleet.toml"
    assert out.split() == [
        "serve",
        "--state-dir",
        str(tmp_path / "st"),
        "--fleet-config",
        str(conf),
    ]
    hosts, settings = fleet_from_toml(conf)
    assert [h.hostname for h in hosts] == ["hv-7-0000", "hv-7-0001", "hv-7-0002"]
    assert settings == {"listen": "0.0.0.0", "ports": "17000-17002"}
