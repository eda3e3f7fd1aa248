"""QEMU hosts keep their domains on disk; test:///default resets; atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.server.hypervisor import HostRegistry, persistence
from virtwire.server.hypervisor.persistence import DomainStore, atomic_write

from .test_hv_qemu import dimm, domain_xml


def test_domains_survive_a_new_registry(tmp_path, scheduler):
    reg = HostRegistry(tmp_path, scheduler)
    drv = reg.open("qemu:///system")
    a = drv.domain_define_xml_flags(domain_xml("a"))
    b = drv.domain_define_xml_flags(domain_xml("b"))
    drv.domain_attach_device_flags(b, dimm(), 2)  # CONFIG change is persisted too
    drv.domain_create_with_flags(a)
    drv.domain_create_xml(domain_xml("transient"))
    xml_a, xml_b = drv.domain_get_xml_desc(a, 2), drv.domain_get_xml_desc(b, 2)
    host = tmp_path / "qemu-system"
    assert sorted(p.name for p in host.iterdir() if p.is_file()) == ["a.xml", "b.xml"]

    # "kill -9": nothing is closed; a new registry reads the same directory
    drv2 = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    assert [d.name for d in drv2.connect_list_all_domains(0)] == ["a", "b"]
    a2, b2 = drv2.domain_lookup_by_name("a"), drv2.domain_lookup_by_name("b")
    assert (a2.uuid, b2.uuid) == (a.uuid, b.uuid)
    assert drv2.domain_get_xml_desc(a2, 2) == xml_a and drv2.domain_get_xml_desc(b2, 2) == xml_b
    assert not drv2.domain_is_active(a2)  # live state starts shut off
    assert drv2.domain_get_state(a2) == (5, 0)


def test_system_and_session_are_separate(registry):
    system = registry.open("qemu:///system")
    session = registry.open("qemu:///session")
    assert system is not session
    system.domain_define_xml_flags(domain_xml("only-system"))
    assert session.connect_list_all_domains(0) == []
    assert registry.open("qemu:///system") is system


def test_undefine_removes_file(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    dom = drv.domain_define_xml_flags(domain_xml("gone"))
    assert (tmp_path / "qemu-session" / "gone.xml").exists()
    drv.domain_undefine_flags(dom)
    assert not (tmp_path / "qemu-session" / "gone.xml").exists()


def test_crash_between_temp_write_and_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "d.xml"
    atomic_write(target, "old")

    def crash(src, dst):
        raise KeyboardInterrupt("simulated crash before rename")

    monkeypatch.setattr(persistence.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["d.xml"]  # temp file cleaned up


def test_leftover_temp_file_is_ignored_on_load(tmp_path):
    store = DomainStore(tmp_path)
    store.save("x", "<domain/>")
    (tmp_path / ".x.xml.abc.tmp").write_text("<domain><name>torn")
    loaded = store.load_all()
    assert [p.name for p, _ in loaded] == ["x.xml"]
    assert not (tmp_path / ".x.xml.abc.tmp").exists()


def test_atomic_write_fsyncs(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(persistence.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    atomic_write(tmp_path / "f.xml", "data")
    assert len(synced) == 2  # the file, then the directory


def test_unreadable_file_is_skipped(tmp_path, scheduler):
    d = tmp_path / "qemu-session"
    d.mkdir()
    (d / "bad.xml").write_text("<domain><name>broken")
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    assert drv.connect_list_all_domains(0) == []


def test_test_default_shared_then_reset(registry):
    one = registry.open("test:///default")
    two = registry.open("test:///default")
    assert one is two
    dom = one.domain_lookup_by_name("test")
    one.domain_destroy_flags(dom)
    registry.close(one)
    assert not two.domain_is_active(dom)  # still shared while a connection is open
    registry.close(two)
    fresh = registry.open("test:///default")
    assert fresh is not one
    assert fresh.domain_lookup_by_name("test").id == 1
    assert fresh.domain_is_active(dom)


def test_unknown_uri(registry):
    with pytest.raises(LibvirtError) as ei:
        registry.open("xen:///system")
    e = ei.value
    assert (e.code, e.domain, e.message) == (
        5,
        0,
        "no connection driver available for xen:///system",
    )


def test_state_dir_layout(tmp_path: Path, scheduler):
    HostRegistry(tmp_path, scheduler).open("qemu:///session").domain_define_xml_flags(
        domain_xml("z")
    )
    text = (tmp_path / "qemu-session" / "z.xml").read_text()
    assert text.startswith("<domain type='qemu'>") and "<name>z</name>" in text


def test_write_failure_is_a_clean_error(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    with pytest.raises(LibvirtError) as ei:
        drv.domain_define_xml_flags(domain_xml("x" * 300))  # longer than a file name may be
    # libvirtd 9.0's virFileRewrite error: SYSTEM_ERROR from util (domain NONE)
    assert (ei.value.code, ei.value.domain) == (38, 0)
    assert ei.value.message.startswith("Failed to create file '")
    assert drv.connect_list_all_domains(0) == []


def test_set_memory_config_persists(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    dom = drv.domain_define_xml_flags(domain_xml("m"))
    drv.domain_set_memory_flags(dom, 524288, 0)  # CURRENT on a stopped domain = CONFIG
    drv.domain_set_memory_flags(dom, 2097152, 4 | 2)  # MEM_MAXIMUM | CONFIG
    again = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    info = again.domain_get_info(again.domain_lookup_by_name("m"))
    assert (info.max_mem, info.memory) == (2097152, 524288)


def test_autostart_persists_and_starts(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    dom = drv.domain_define_xml_flags(domain_xml("auto"))
    drv.domain_set_autostart(dom, True)
    assert drv.domain_get_autostart(dom)
    again = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    ref = again.domain_lookup_by_name("auto")
    assert again.domain_get_autostart(ref) and again.domain_is_active(ref) and ref.id == 1
    again.domain_set_autostart(ref, False)
    third = HostRegistry(tmp_path, scheduler).open("qemu:///session")
    assert not third.domain_is_active(third.domain_lookup_by_name("auto"))


def test_autostart_of_transient_refused(registry):
    drv = registry.open("qemu:///session")
    dom = drv.domain_create_xml(domain_xml("tr"))
    with pytest.raises(LibvirtError) as ei:
        drv.domain_set_autostart(dom, True)
    assert (ei.value.code, ei.value.domain) == (55, 10)


def test_max_memory_and_vcpus(registry):
    drv = registry.open("qemu:///session")
    dom = drv.domain_define_xml_flags(domain_xml("mm"))
    drv.domain_set_max_memory(dom, 2097152)
    assert drv.domain_get_max_memory(dom) == 2097152
    assert drv.domain_get_vcpus_flags(dom, 0) == 1
    dom = drv.domain_create_with_flags(dom)
    with pytest.raises(LibvirtError) as ei:
        drv.domain_set_max_memory(dom, 1048576)
    assert ei.value.message == (
        "Requested operation is not valid: cannot resize the maximum memory on an active domain"
    )
