"""The inventory tool's tests: each gets its own virtwire daemon (the `virtwire_daemon`
fixture comes from virtwire's pytest plugin; no conftest.py needed)."""

from __future__ import annotations

import queue
from pathlib import Path

import inventory
import pytest
from inventory import Entry, libvirt

XML = Path(__file__).resolve().parents[2] / "xml"  # examples/xml: hp1.xml, dimm.xml


def test_lists_the_test_drivers_domain(virtwire_daemon):
    conn = libvirt.open(virtwire_daemon.uri("test"))
    try:
        assert inventory.inventory(conn) == [Entry("test", "running", 2097152)]
    finally:
        conn.close()


def test_a_fresh_host_per_test(virtwire_daemon):
    conn = libvirt.open(virtwire_daemon.uri("qemu"))
    try:
        assert inventory.inventory(conn) == []
        conn.defineXML((XML / "hp1.xml").read_text())
        assert inventory.inventory(conn) == [Entry("hp1", "shut off", 1048576)]
    finally:
        conn.close()


@pytest.mark.virtwire(mode="subprocess")
def test_reacts_to_a_dimm_hotplug(virtwire_daemon):
    inventory.start_event_loop()
    changes: queue.Queue = queue.Queue()
    conn = libvirt.open(virtwire_daemon.uri("qemu"))
    try:
        dom = conn.defineXML((XML / "hp1.xml").read_text())
        dom.create()
        inventory.watch_hotplug(conn, lambda *change: changes.put(change))
        dom.attachDeviceFlags((XML / "dimm.xml").read_text(), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        assert changes.get(timeout=10) == ("hp1", "memdimm0", 1048576 + 524288)
    finally:
        conn.close()


def test_main_prints_the_inventory(virtwire_daemon, capsys):
    assert inventory.main([virtwire_daemon.uri("test")]) == 0
    assert capsys.readouterr().out.split() == ["test", "running", "2097152", "KiB"]
