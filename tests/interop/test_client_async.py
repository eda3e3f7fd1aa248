"""virtwire.client's asyncio API against a real libvirtd (test:///default), compared with what
python3-libvirt reports for the same server."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import virtwire.client as vc
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.events import LifecycleEvent

pytestmark = pytest.mark.interop

DOM_XML = """<domain type='test'>
  <name>{name}</name>
  <memory unit='KiB'>65536</memory>
  <os><type>hvm</type></os>
</domain>"""

PYLIBVIRT_FACTS = r"""
import json, sys, libvirt
c = libvirt.open(sys.argv[1])
d = c.lookupByName("test")
info = d.info()
print(json.dumps({
    "type": c.getType(), "version": c.getVersion(), "lib": c.getLibVersion(),
    "hostname": c.getHostname(), "node": c.getInfo(),
    "doms": [(x.name(), x.ID(), x.UUIDString()) for x in c.listAllDomains(0)],
    "info": info[:4], "state": d.state(), "os": d.OSType(), "active": d.isActive(),
    "persistent": d.isPersistent(), "autostart": d.autostart(),
    "managed": d.hasManagedSaveImage(0), "xml": d.XMLDesc(0),
    "caps": c.getCapabilities(),
}))
"""


def _run(coro, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_async_api_reads_what_python3_libvirt_reads(libvirtd_peer, run_pylibvirt):
    ref = run_pylibvirt(PYLIBVIRT_FACTS, libvirtd_peer.tcp_uri)
    assert ref.returncode == 0, ref.stderr
    expected = json.loads(ref.stdout)

    async def scenario():
        async with await vc.connect(libvirtd_peer.tcp_uri) as conn:
            dom = await conn.lookup_by_name("test")
            info = await dom.info()
            node = await conn.node_get_info()
            return {
                "type": await conn.get_type(),
                "version": await conn.get_version(),
                "lib": await conn.get_lib_version(),
                "hostname": await conn.get_hostname(),
                "node": [
                    node.model,
                    node.memory >> 10,
                    node.cpus,
                    node.mhz,
                    node.nodes,
                    node.sockets,
                    node.cores,
                    node.threads,
                ],
                "doms": [[d.name, d.id, d.uuid_string] for d in await conn.list_all_domains()],
                "info": info.as_list()[:4],
                "state": list(await dom.state()),
                "os": await dom.os_type(),
                "active": int(await dom.is_active()),
                "persistent": int(await dom.is_persistent()),
                "autostart": int(await dom.autostart()),
                "managed": int(await dom.has_managed_save_image()),
                "xml": await dom.xml_desc(),
                "caps": await conn.get_capabilities(),
            }

    assert _run(scenario()) == expected


def test_async_api_over_unix_socket(libvirtd_peer):
    async def scenario():
        async with await vc.connect(libvirtd_peer.unix_uri, readonly=True) as conn:
            names = [d.name for d in await conn.list_all_domains()]
            with pytest.raises(LibvirtError) as info:
                await (await conn.lookup_by_name("test")).destroy()
            return names, info.value

    names, err = _run(scenario())
    assert names == ["test"]
    assert (err.code, err.domain) == (29, 20)
    assert str(err) == "operation forbidden: read only access prevents virDomainDestroy"


def test_lifecycle_events_from_another_connection_in_order(libvirtd_peer):
    """A listener gets every lifecycle event another connection causes, in order, none lost."""

    async def scenario():
        async with await vc.connect(libvirtd_peer.tcp_uri) as listener:
            seen: list = []
            async with listener.events([0], maxsize=256) as stream:

                async def consume():
                    async for event in stream:
                        seen.append(event)
                        if len(seen) == expected_count:
                            return

                async with await vc.connect(libvirtd_peer.unix_uri) as actor:
                    rounds = 5
                    expected_count = rounds * 6
                    consumer = asyncio.ensure_future(consume())
                    for i in range(rounds):
                        dom = await actor.define_xml(DOM_XML.format(name=f"vwa{i}"))
                        await dom.create()
                        await dom.suspend()
                        await dom.resume()
                        await dom.destroy()
                        await dom.undefine()
                    await asyncio.wait_for(consumer, 10)
            return seen

    seen = _run(scenario())
    got = [(e.dom.name, e.event, e.detail) for e in seen]
    want = []
    for i in range(5):
        name = f"vwa{i}"
        want += [(name, 0, 0), (name, 2, 0), (name, 3, 0), (name, 4, 0), (name, 5, 1), (name, 1, 0)]
    assert got == want
    assert all(isinstance(e, LifecycleEvent) for e in seen)


def test_domain_filter_and_shared_registration_on_libvirtd(libvirtd_peer):
    async def scenario():
        async with await vc.connect(libvirtd_peer.tcp_uri) as conn:
            test = await conn.lookup_by_name("test")
            everything: list = []
            only_test: list = []
            also_everything: list = []
            await conn.register_event(0, everything.append)
            await conn.register_event(0, also_everything.append)
            await conn.register_event(0, only_test.append, dom=test)
            other = await conn.define_xml(DOM_XML.format(name="vwfilter"))
            await other.undefine()
            await test.suspend()
            await test.resume()
            for _ in range(100):
                if len(everything) >= 4 and len(only_test) >= 2:
                    break
                await asyncio.sleep(0.02)
            return everything, also_everything, only_test

    everything, also, only_test = _run(scenario())
    assert [(e.dom.name, e.event) for e in everything] == [
        ("vwfilter", 0),
        ("vwfilter", 1),
        ("test", 3),
        ("test", 4),
    ]
    assert also == everything
    assert [(e.dom.name, e.event) for e in only_test] == [("test", 3), ("test", 4)]


def test_reconnect_against_a_restarted_virtwire_daemon(virtwire_server):
    """Kill the daemon under a connection: waiters fail, the client re-dials, re-registers
    and reports the gap; events flow again on the new connection."""

    async def scenario():
        policy = vc.ReconnectPolicy(initial_delay=0.1, max_delay=0.5)
        uri = virtwire_server.unix_uri()
        async with await vc.connect(uri, reconnect=policy) as conn:
            seen: list = []
            gaps: list = []
            conn.register_gap_callback(gaps.append)
            await conn.register_event(0, seen.append)
            await asyncio.get_running_loop().run_in_executor(None, virtwire_server.kill9)
            await asyncio.get_running_loop().run_in_executor(None, virtwire_server.start)
            for _ in range(200):
                if gaps:
                    break
                await asyncio.sleep(0.05)
            assert gaps, "no reconnect"
            async with await vc.connect(uri) as actor:
                dom = await actor.define_xml(DOM_XML.format(name="vwreconnect"))
                await dom.undefine()
            for _ in range(100):
                if len(seen) >= 2:
                    break
                await asyncio.sleep(0.02)
            return [(e.dom.name, e.event) for e in seen], gaps[0]

    seen, gap = _run(scenario(), timeout=60)
    assert seen == [("vwreconnect", 0), ("vwreconnect", 1)]
    assert gap.reason in (vc.CloseReason.EOF, vc.CloseReason.ERROR)


def test_client_keepalive_with_libvirtd(libvirtd_peer, caplog):
    """libvirtd answers our PINGs: a keepalive of 0.3 s x 2 keeps an idle connection up."""
    caplog.set_level(logging.DEBUG, logger="virtwire.client")

    async def scenario():
        async with await vc.connect(libvirtd_peer.tcp_uri) as conn:
            assert conn.supports(10)
            pongs: list = []
            conn.add_frame_listener(
                lambda f: f.header.prog == 0x6B656570 and f.header.proc == 2 and pongs.append(f)
            )
            assert await conn.set_keepalive(0.3, 2) == 0
            # three PINGs answered: 0.3 s x 2 would have dropped a silent peer after 0.9 s
            for _ in range(200):
                if len(pongs) >= 3:
                    break
                await asyncio.sleep(0.05)
            assert len(pongs) >= 3
            return conn.is_open, await conn.get_lib_version()

    assert _run(scenario()) == (True, 9000000)
    assert caplog.text.count("sending keepalive PING") >= 3
