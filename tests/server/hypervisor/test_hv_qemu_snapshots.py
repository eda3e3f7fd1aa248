"""QEMU hosts: snapshots, checkpoints, save/restore and managed save (libvirt 9.0 qemu rules)."""

from __future__ import annotations

import struct
import uuid

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import HostRegistry

# lifecycle events and details (libvirt-domain.h)
DEFINED, STARTED, SUSPENDED, RESUMED, STOPPED = 0, 2, 3, 4, 5
FROM_SNAPSHOT = {DEFINED: 3, STARTED: 3, SUSPENDED: 5, RESUMED: 2, STOPPED: 6}
RUNNING, PAUSED, SHUTOFF = 1, 3, 5


def guest_xml(name: str = "g1", fmt: str | None = "qcow2", cdrom: bool = False) -> str:
    driver = f"<driver name='qemu' type='{fmt}'/>" if fmt else ""
    extra = (
        "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>"
        if cdrom
        else ""
    )
    return (
        f"<domain type='kvm'><name>{name}</name><uuid>{uuid.uuid5(uuid.NAMESPACE_DNS, name)}</uuid>"
        "<memory unit='KiB'>1048576</memory>"
        "<vcpu>1</vcpu><os><type>hvm</type></os><devices>"
        f"<disk type='file' device='disk'>{driver}<source file='/var/lib/libvirt/images/{name}.img'/>"
        f"<target dev='vda' bus='virtio'/></disk>{extra}</devices></domain>"
    )


def snap_xml(name: str, description: str | None = None) -> str:
    desc = f"<description>{description}</description>" if description else ""
    return f"<domainsnapshot><name>{name}</name>{desc}</domainsnapshot>"


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


def lifecycle(rec) -> list[tuple[int, int]]:
    return [(e, d) for kind, e, d in (n for n in rec.names() if n[0] == "lifecycle")]


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///session")


@pytest.fixture
def dom(drv):
    return drv.domain_define_xml_flags(guest_xml())


def snap(dom, name: str) -> rp.RemoteNonnullDomainSnapshot:
    return rp.RemoteNonnullDomainSnapshot(name=name, dom=dom)


# -- snapshots: create ---------------------------------------------------------------------


def test_internal_snapshot_of_a_running_guest_pauses_and_resumes(drv, dom, recorder_for):
    drv.domain_create_with_flags(dom)
    rec = recorder_for(drv)
    s1 = drv.domain_snapshot_create_xml(dom, snap_xml("s1", "first"), 0)
    assert s1.name == "s1"
    assert lifecycle(rec) == [(SUSPENDED, 0), (RESUMED, 0)]  # savevm between stop/cont
    assert drv.domain_get_state(dom) == (RUNNING, 5)  # running (unpaused)
    xml = drv.domain_snapshot_get_xml_desc(s1, 0)
    assert "<state>running</state>" in xml and "<description>first</description>" in xml
    assert "<memory snapshot='internal'/>" in xml
    assert "<disk name='vda' snapshot='internal'/>" in xml
    assert "<alias" not in xml  # the domain inside is formatted inactive


def test_shut_off_snapshot_has_no_memory_and_no_events(drv, dom, recorder_for):
    rec = recorder_for(drv)
    s = drv.domain_snapshot_create_xml(dom, snap_xml("off"), 0)
    assert lifecycle(rec) == []
    xml = drv.domain_snapshot_get_xml_desc(s, 0)
    assert "<state>shutoff</state>" in xml and "<memory snapshot='no'/>" in xml


def test_raw_disks_are_refused_as_qemu_does(drv):
    raw = drv.domain_define_xml_flags(guest_xml("raw", fmt=None))  # qemu's default: raw
    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_create_xml(raw, snap_xml("s"), 0)
    assert err(exc) == (67, 10, "unsupported configuration: internal snapshot for disk vda "
                        "unsupported for storage type raw")  # fmt: skip
    cd = drv.domain_define_xml_flags(guest_xml("cd", cdrom=True))  # empty cdrom: skipped
    assert drv.domain_snapshot_create_xml(cd, snap_xml("s"), 0).name == "s"


def test_create_refusals(drv, dom):
    drv.domain_create_with_flags(dom)
    cases = [
        (snap_xml("a/b"), 0, "name can't contain '/'"),
        (snap_xml(".hidden"), 0, "name can't start with '.'"),
        ("<domainsnapshot><memory snapshot='no'/></domainsnapshot>", 0,
         "internal snapshot of a running VM must include the memory state"),
        (snap_xml("q"), 0x40, "is required by flag"),  # QUIESCE without DISK_ONLY
        (snap_xml("l"), 0x100, "live snapshot creation is supported only"),
        ("<domainsnapshot><disks><disk name='vdz'/></disks></domainsnapshot>", 0,
         "no disk named 'vdz'"),
    ]  # fmt: skip
    for xml, flags, text in cases:
        with pytest.raises(LibvirtError) as exc:
            drv.domain_snapshot_create_xml(dom, xml, flags)
        assert text in exc.value.message
    drv.domain_snapshot_create_xml(dom, snap_xml("s"), 0)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_create_xml(dom, snap_xml("s"), 0)
    assert exc.value.message.endswith("domain moment s already exists")
    transient = drv.domain_create_xml(guest_xml("tr"), 0)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_create_xml(transient, snap_xml("h"), 0x8)
    assert "cannot halt after transient domain snapshot" in exc.value.message


def test_halt_stops_the_guest(drv, dom, recorder_for):
    drv.domain_create_with_flags(dom)
    rec = recorder_for(drv)
    drv.domain_snapshot_create_xml(dom, snap_xml("h"), 0x8)
    assert lifecycle(rec) == [(SUSPENDED, 0), (STOPPED, FROM_SNAPSHOT[STOPPED])]
    assert drv.domain_get_state(dom) == (SHUTOFF, 7)


# -- snapshots: tree -------------------------------------------------------------------------


def names(handles_and_count) -> list[str]:
    return [h.name for h in handles_and_count[0]]


def test_tree_listing_current_and_parent(drv, dom):
    for name in ("s1", "s2", "s3"):
        drv.domain_snapshot_create_xml(dom, snap_xml(name), 0)
    drv.domain_revert_to_snapshot(snap(dom, "s1"), 0)
    drv.domain_snapshot_create_xml(dom, snap_xml("s4"), 0)  # a second branch under s1
    assert names(drv.domain_list_all_snapshots(dom, 1, 0)) == ["s1", "s2", "s3", "s4"]
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x1)) == ["s1"]  # roots
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x4)) == ["s3", "s4"]  # leaves
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x8)) == ["s1", "s2"]  # no leaves
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x400)) == ["s1", "s2", "s3", "s4"]
    assert drv.domain_list_all_snapshots(dom, 1, 0x10)[1] == 0  # no-metadata: none
    assert names(drv.domain_snapshot_list_all_children(snap(dom, "s1"), 1, 0)) == ["s2", "s4"]
    assert names(drv.domain_snapshot_list_all_children(snap(dom, "s1"), 1, 0x1)) == [
        "s2",
        "s3",
        "s4",
    ]
    assert drv.domain_snapshot_current(dom, 0).name == "s4"
    assert drv.domain_snapshot_get_parent(snap(dom, "s4"), 0).name == "s1"
    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_get_parent(snap(dom, "s1"), 0)
    assert err(exc) == (72, 10, "Domain snapshot not found: snapshot 's1' does not have a parent")
    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_lookup_by_name(dom, "nope", 0)
    assert "no domain snapshot with matching name 'nope'" in exc.value.message


def test_delete_children_children_only_and_reparenting(drv, dom):
    for name in ("a", "b", "c"):
        drv.domain_snapshot_create_xml(dom, snap_xml(name), 0)
    drv.domain_snapshot_delete(snap(dom, "b"), 0)  # c moves up to a
    assert drv.domain_snapshot_get_parent(snap(dom, "c"), 0).name == "a"
    drv.domain_snapshot_create_xml(dom, snap_xml("d"), 0)
    drv.domain_snapshot_delete(snap(dom, "a"), 0x4)  # children only; current moves to a
    assert names(drv.domain_list_all_snapshots(dom, 1, 0)) == ["a"]
    assert drv.domain_snapshot_current(dom, 0).name == "a"
    drv.domain_snapshot_create_xml(dom, snap_xml("e"), 0)
    drv.domain_snapshot_delete(snap(dom, "a"), 0x1 | 0x2)  # with children, metadata only
    assert drv.domain_list_all_snapshots(dom, 1, 0)[1] == 0
    assert drv.domain_has_current_snapshot(dom, 0) == 0


# -- snapshots: revert -----------------------------------------------------------------------


def test_revert_transitions_and_events(drv, dom, recorder_for):
    drv.domain_snapshot_create_xml(dom, snap_xml("off"), 0)
    drv.domain_create_with_flags(dom)
    drv.domain_snapshot_create_xml(dom, snap_xml("live"), 0)
    drv.domain_suspend(dom)
    drv.domain_snapshot_create_xml(dom, snap_xml("paused"), 0)
    rec = recorder_for(drv)
    fs = FROM_SNAPSHOT

    drv.domain_revert_to_snapshot(snap(dom, "live"), 0)  # paused -> running
    assert lifecycle(rec) == [
        (STOPPED, fs[STOPPED]), (STARTED, fs[STARTED]), (RESUMED, fs[RESUMED]),
        (DEFINED, fs[DEFINED]),
    ]  # fmt: skip
    assert drv.domain_get_state(dom) == (RUNNING, 4)

    drv.domain_revert_to_snapshot(snap(dom, "paused"), 0)  # running -> paused
    assert lifecycle(rec) == [
        (STOPPED, fs[STOPPED]), (STARTED, fs[STARTED]), (SUSPENDED, fs[SUSPENDED]),
        (DEFINED, fs[DEFINED]),
    ]  # fmt: skip
    assert drv.domain_get_state(dom) == (PAUSED, 7)

    drv.domain_revert_to_snapshot(snap(dom, "live"), 0x2)  # --paused wins over the state
    assert lifecycle(rec)[2] == (SUSPENDED, fs[SUSPENDED])

    drv.domain_revert_to_snapshot(snap(dom, "off"), 0)  # -> inactive
    assert lifecycle(rec) == [(STOPPED, fs[STOPPED]), (DEFINED, fs[DEFINED])]
    assert drv.domain_get_state(dom) == (SHUTOFF, 7)

    drv.domain_revert_to_snapshot(snap(dom, "off"), 0x1)  # inactive, then boot
    assert lifecycle(rec) == [(RESUMED, 0), (STARTED, fs[STARTED]), (DEFINED, fs[DEFINED])]
    assert drv.domain_get_state(dom) == (RUNNING, 1)
    assert drv.domain_snapshot_current(dom, 0).name == "off"

    with pytest.raises(LibvirtError) as exc:
        drv.domain_revert_to_snapshot(snap(dom, "off"), 0x3)
    assert "mutually exclusive" in exc.value.message


def test_revert_restores_the_definition(drv, dom):
    drv.domain_snapshot_create_xml(dom, snap_xml("before"), 0)
    changed = guest_xml().replace("<vcpu>1</vcpu>", "<vcpu>2</vcpu>")
    drv.domain_define_xml_flags(changed)
    assert "<vcpu placement='static'>2</vcpu>" in drv.domain_get_xml_desc(dom, 0)
    drv.domain_revert_to_snapshot(snap(dom, "before"), 0)
    assert "<vcpu placement='static'>1</vcpu>" in drv.domain_get_xml_desc(dom, 0)


def test_undefine_with_snapshots_needs_the_metadata_flag(drv, dom):
    drv.domain_snapshot_create_xml(dom, snap_xml("s"), 0)
    assert [d.name for d in drv.connect_list_all_domains(0x1000)] == ["g1"]  # HAS_SNAPSHOT
    assert drv.connect_list_all_domains(0x2000) == []  # NO_SNAPSHOT
    with pytest.raises(LibvirtError) as exc:
        drv.domain_undefine_flags(dom, 0)
    assert err(exc) == (55, 10, "Requested operation is not valid: cannot delete inactive "
                        "domain with 1 snapshots")  # fmt: skip
    drv.domain_undefine_flags(dom, 0x2)
    assert drv.connect_list_all_domains(0) == []


def test_snapshots_survive_a_restart(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    dom = drv.domain_define_xml_flags(guest_xml())
    drv.domain_create_with_flags(dom)
    drv.domain_snapshot_create_xml(dom, snap_xml("s1", "one &amp; &lt;two&gt;"), 0)
    drv.domain_snapshot_create_xml(dom, snap_xml("s2"), 0)
    xml = drv.domain_snapshot_get_xml_desc(snap(dom, "s1"), 0)
    stored = list((tmp_path / "qemu-system" / "snapshot").iterdir())
    assert [p.suffix for p in stored] == [".xml"]

    drv2 = HostRegistry(tmp_path, scheduler).open("qemu:///system")  # as after SIGKILL
    assert names(drv2.domain_list_all_snapshots(dom, 1, 0)) == ["s1", "s2"]
    assert drv2.domain_snapshot_current(dom, 0).name == "s2"
    assert drv2.domain_snapshot_get_xml_desc(snap(dom, "s1"), 0) == xml
    drv2.domain_revert_to_snapshot(snap(dom, "s1"), 0)  # the live snapshot restarts it
    assert drv2.domain_get_state(dom) == (RUNNING, 4)


# -- checkpoints -------------------------------------------------------------------------------


def chk(dom, name: str) -> rp.RemoteNonnullDomainCheckpoint:
    return rp.RemoteNonnullDomainCheckpoint(name=name, dom=dom)


def test_checkpoints_follow_the_qemu_rules(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    dom = drv.domain_define_xml_flags(guest_xml(cdrom=True))
    with pytest.raises(LibvirtError) as exc:
        drv.domain_checkpoint_create_xml(dom, "<domaincheckpoint/>", 0)
    assert err(exc) == (84, 10, "Operation not supported: cannot create checkpoint for "
                        "inactive domain")  # fmt: skip
    raw = drv.domain_define_xml_flags(guest_xml("raw", fmt=None))
    drv.domain_create_with_flags(raw)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_checkpoint_create_xml(
            raw, "<domaincheckpoint><name>c</name></domaincheckpoint>", 0
        )
    assert "checkpoint for disk vda unsupported for storage type raw" in exc.value.message

    drv.domain_create_with_flags(dom)
    c1 = drv.domain_checkpoint_create_xml(
        dom, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0
    )
    drv.domain_checkpoint_create_xml(dom, "<domaincheckpoint><name>c2</name></domaincheckpoint>", 0)
    xml = drv.domain_checkpoint_get_xml_desc(chk(dom, "c2"), 0)
    assert "<parent>\n    <name>c1</name>\n  </parent>" in xml
    assert "<disk name='vda' checkpoint='bitmap' bitmap='c2'/>" in xml
    assert "<disk name='sda' checkpoint='no'/>" in xml  # empty read-only cdrom
    assert "<domain " not in drv.domain_checkpoint_get_xml_desc(chk(dom, "c2"), 0x2)
    assert "size='0'" in drv.domain_checkpoint_get_xml_desc(chk(dom, "c2"), 0x4)
    assert drv.domain_checkpoint_get_parent(chk(dom, "c2"), 0).name == "c1"
    assert names(drv.domain_list_all_checkpoints(dom, 1, 0)) == ["c1", "c2"]
    assert names(drv.domain_list_all_checkpoints(dom, 1, 0x4)) == ["c2"]  # leaves
    assert names(drv.domain_checkpoint_list_all_children(c1, 1, 0)) == ["c2"]

    drv2 = HostRegistry(tmp_path, scheduler).open("qemu:///system")  # restart
    assert names(drv2.domain_list_all_checkpoints(dom, 1, 0)) == ["c1", "c2"]
    with pytest.raises(LibvirtError) as exc:  # shut off now: only metadata can go
        drv2.domain_checkpoint_delete(chk(dom, "c1"), 0)
    assert "cannot delete checkpoint for inactive domain" in exc.value.message
    with pytest.raises(LibvirtError) as exc:
        drv2.domain_undefine_flags(dom, 0)
    assert "cannot delete inactive domain with 2 checkpoints" in exc.value.message
    drv2.domain_checkpoint_delete(chk(dom, "c1"), 0x2)
    with pytest.raises(LibvirtError) as exc:
        drv2.domain_checkpoint_get_parent(chk(dom, "c2"), 0)  # reparented to the root
    assert err(exc)[0] == 103
    drv2.domain_undefine_flags(dom, 0x10)


# -- save / restore / managed save -------------------------------------------------------------


def test_save_and_restore_through_a_real_file(tmp_path, scheduler, recorder_for):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    dom = drv.domain_define_xml_flags(guest_xml())
    drv.domain_create_with_flags(dom)
    rec = recorder_for(drv)
    drv.domain_save(dom, "/tmp/../tmp/g1.save")
    assert lifecycle(rec) == [(SUSPENDED, 0), (STOPPED, 4)]
    assert drv.domain_get_state(dom) == (SHUTOFF, 5)  # shut off (saved)
    image = tmp_path / "qemu-system" / "root" / "tmp" / "g1.save"
    head = image.read_bytes()
    assert head[:16] == b"LibvirtQemudSave"
    version, data_len, was_running = struct.unpack_from("=3I", head, 16)
    assert (version, was_running) == (2, 1)
    assert head[92 : 92 + data_len].rstrip(b"\0").startswith(b"<domain type='kvm'>")
    assert "<name>g1</name>" in drv.domain_save_image_get_xml_desc("/tmp/g1.save", 0)

    drv.domain_save_image_define_xml("/tmp/g1.save", guest_xml().replace("<vcpu>1", "<vcpu>3"), 4)
    assert "<vcpu placement='static'>3</vcpu>" in drv.domain_save_image_get_xml_desc(
        "/tmp/g1.save", 0
    )
    drv.domain_restore("/tmp/g1.save")  # saved paused by the define (SAVE_PAUSED)
    assert lifecycle(rec) == [(STARTED, 2), (SUSPENDED, 4)]
    assert drv.domain_get_state(dom) == (PAUSED, 2)  # qemu: paused (migrating), incoming
    drv.domain_destroy(dom)
    drv.domain_restore_flags("/tmp/g1.save", None, 0x2)  # --running
    assert lifecycle(rec)[-2:] == [(STARTED, 2), (RESUMED, 2)]
    assert drv.domain_get_state(dom) == (RUNNING, 3)  # running (restored)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_restore("/tmp/g1.save")
    assert "domain 'g1' is already active" in exc.value.message

    (image.parent / "junk").write_bytes(b"x" * 200)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_restore("/tmp/junk")
    assert err(exc) == (9, 10, "operation failed: image magic is incorrect")
    with pytest.raises(LibvirtError) as exc:
        drv.domain_restore("/nowhere.save")
    assert err(exc) == (38, 10, "Failed to open file '/nowhere.save': No such file or directory")


def test_save_paths_stay_inside_the_simulated_root(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    dom = drv.domain_define_xml_flags(guest_xml())
    root = tmp_path / "qemu-system" / "root"
    for given, lands in [
        ("../../../../escape.save", "escape.save"),
        ("rel/dir/x.save", "rel/dir/x.save"),
        ("/tmp/nul.save\0/../../../etc", "tmp/nul.save"),
    ]:
        drv.domain_create_with_flags(dom)
        drv.domain_save(dom, given)
        assert (root / lands).is_file(), given
    assert not (tmp_path / "escape.save").exists()
    link = root / "tmp" / "link.save"
    link.symlink_to(tmp_path / "outside")
    drv.domain_create_with_flags(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_save(dom, "/tmp/link.save")
    assert exc.value.message.startswith("Failed to create file '/tmp/link.save'")
    with pytest.raises(LibvirtError):
        drv.domain_restore("/tmp/link.save")  # never followed
    assert not (tmp_path / "outside").exists() and drv.domain_is_active(dom)


def test_restore_of_an_unknown_domain_makes_it_transient(drv, dom):
    drv.domain_create_with_flags(dom)
    drv.domain_save(dom, "/tmp/keep.save")
    drv.domain_undefine_flags(dom, 0)
    assert drv.connect_list_all_domains(0) == []
    drv.domain_restore("/tmp/keep.save")
    assert (drv.domain_is_active(dom), drv.domain_is_persistent(dom)) == (True, False)


def test_managed_save_start_restores(tmp_path, scheduler, recorder_for):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    dom = drv.domain_define_xml_flags(guest_xml())
    with pytest.raises(LibvirtError) as exc:
        drv.domain_managed_save(dom, 0)
    assert "domain is not running" in exc.value.message
    drv.domain_create_with_flags(dom)
    rec = recorder_for(drv)
    drv.domain_managed_save(dom, 0)
    assert lifecycle(rec) == [(SUSPENDED, 0), (STOPPED, 4)]
    assert drv.domain_has_managed_save_image(dom, 0)
    assert [d.name for d in drv.connect_list_all_domains(0x100)] == ["g1"]  # MANAGEDSAVE
    assert drv.connect_list_all_domains(0x200) == []
    assert "<name>g1</name>" in drv.domain_managed_save_get_xml_desc(dom, 0)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_undefine_flags(dom, 0)
    assert "Refusing to undefine while domain managed save image exists" in exc.value.message

    drv2 = HostRegistry(tmp_path, scheduler).open("qemu:///system")  # restart keeps it
    assert drv2.domain_has_managed_save_image(dom, 0)
    rec2 = recorder_for(drv2)
    drv2.domain_create_with_flags(dom, 0)
    assert lifecycle(rec2) == [(STARTED, 2), (RESUMED, 2)]
    assert drv2.domain_get_state(dom) == (RUNNING, 3)
    assert not drv2.domain_has_managed_save_image(dom, 0)

    drv2.domain_managed_save(dom, 0)
    drv2.domain_create_with_flags(dom, 0x4)  # --force-boot discards the image
    assert lifecycle(rec2)[-2:] == [(RESUMED, 0), (STARTED, 0)]
    assert not drv2.domain_has_managed_save_image(dom, 0)
    with pytest.raises(LibvirtError) as exc:
        drv2.domain_managed_save_remove(dom, 0)
    assert "Failed to remove managed save file '/var/lib/libvirt/qemu/save/g1.save'" in (
        exc.value.message
    )
    transient = drv2.domain_create_xml(guest_xml("t"), 0)
    with pytest.raises(LibvirtError) as exc:
        drv2.domain_managed_save(transient, 0)
    assert "cannot do managed save for transient domain" in exc.value.message


# -- disk-only (external) snapshots ----------------------------------------------------------


def test_disk_only_snapshots_make_qcow2_overlays(tmp_path, scheduler, recorder_for):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    root = tmp_path / "qemu-system" / "root"
    dom = drv.domain_define_xml_flags(guest_xml(fmt="raw"))  # external works for raw too
    with pytest.raises(LibvirtError) as exc:  # the image must exist to name the overlay
        drv.domain_snapshot_create_xml(dom, snap_xml("d1"), 0x10)
    assert "source for disk 'vda' is not a regular file" in exc.value.message
    base = root / "var/lib/libvirt/images/g1.img"
    base.parent.mkdir(parents=True)
    base.write_bytes(b"\0" * 4096)
    drv.domain_create_with_flags(dom)
    rec = recorder_for(drv)
    drv.domain_snapshot_create_xml(dom, snap_xml("d1"), 0x10)
    assert lifecycle(rec) == []  # a disk-only snapshot does not pause the guest
    overlay = root / "var/lib/libvirt/images/g1.d1"
    assert overlay.read_bytes()[:4] == b"QFI\xfb"
    live = drv.domain_get_xml_desc(dom, 0)
    assert "<source file='/var/lib/libvirt/images/g1.d1'/>" in live and "type='qcow2'" in live
    assert "g1.d1" in drv.domain_get_xml_desc(dom, 2)  # the persistent definition too
    xml = drv.domain_snapshot_get_xml_desc(snap(dom, "d1"), 0)
    assert "<state>disk-snapshot</state>" in xml and "<memory snapshot='no'/>" in xml
    assert (
        "<disk name='vda' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n"
        "      <source file='/var/lib/libvirt/images/g1.d1'/>\n    </disk>"
    ) in xml
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x200)) == ["d1"]  # external
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x100)) == []  # internal
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x80)) == ["d1"]  # disk-only

    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_create_xml(dom, snap_xml("d1"), 0x10)  # its file is there
    assert "external snapshot file for disk vda already exists" in exc.value.message
    with pytest.raises(LibvirtError) as exc:
        drv.domain_revert_to_snapshot(snap(dom, "d1"), 0)
    assert err(exc) == (67, 10, "unsupported configuration: revert to external snapshot not "
                        "supported yet")  # fmt: skip
    with pytest.raises(LibvirtError) as exc:  # internal on top of an external chain: mixing
        drv.domain_snapshot_create_xml(
            dom, "<domainsnapshot><disks><disk name='vda' snapshot='internal'/></disks>"
            "</domainsnapshot>", 0x10,
        )  # fmt: skip
    assert "active qemu domains require external disk snapshots" in exc.value.message

    drv2 = HostRegistry(tmp_path, scheduler).open("qemu:///system")  # restart
    assert "g1.d1" in drv2.domain_get_xml_desc(dom, 2)
    drv2.domain_snapshot_delete(snap(dom, "d1"), 0)  # block commit back into the base
    assert not overlay.exists()
    assert "<source file='/var/lib/libvirt/images/g1.img'/>" in drv2.domain_get_xml_desc(dom, 2)


def test_redefine_takes_the_metadata_back(drv, dom):
    drv.domain_create_with_flags(dom)
    drv.domain_snapshot_create_xml(dom, snap_xml("a"), 0)
    drv.domain_snapshot_create_xml(dom, snap_xml("b"), 0)
    saved = {n: drv.domain_snapshot_get_xml_desc(snap(dom, n), 0) for n in ("a", "b")}
    drv.domain_snapshot_delete(snap(dom, "a"), 0x2 | 0x1)  # metadata only, with children
    assert drv.domain_list_all_snapshots(dom, 1, 0)[1] == 0
    drv.domain_snapshot_create_xml(dom, saved["a"], 0x1)  # --redefine
    drv.domain_snapshot_create_xml(dom, saved["b"], 0x1 | 0x2)  # --redefine --current
    assert {n: drv.domain_snapshot_get_xml_desc(snap(dom, n), 0) for n in ("a", "b")} == saved
    assert drv.domain_snapshot_current(dom, 0).name == "b"
    edited = saved["a"].replace(
        "<state>running</state>", "<state>running</state><description>x</description>", 1
    )
    drv.domain_snapshot_create_xml(dom, edited, 0x1)  # snapshot-edit: replaces it
    assert "<description>x</description>" in drv.domain_snapshot_get_xml_desc(snap(dom, "a"), 0)
    cases = [
        ("<domainsnapshot><state>running</state></domainsnapshot>", "must have a name"),
        ("<domainsnapshot><name>n</name><state>x</state><creationTime>1</creationTime>"
         "</domainsnapshot>", "Invalid state 'x' in domain snapshot XML"),
        ("<domainsnapshot><name>n</name><state>shutoff</state><creationTime>1</creationTime>"
         "<parent><name>zz</name></parent></domainsnapshot>", "parent zz for moment n not found"),
        (saved["a"].replace("<name>a</name>", "<name>c</name>", 1).replace(
            "<creationTime>", "<parent><name>b</name></parent><creationTime>", 1),
         None),
        (saved["a"].replace("<creationTime>", "<parent><name>c</name></parent><creationTime>", 1),
         "would create cycle to a"),
    ]  # fmt: skip
    for xml, text in cases:
        if text is None:
            drv.domain_snapshot_create_xml(dom, xml, 0x1)
            continue
        with pytest.raises(LibvirtError) as exc:
            drv.domain_snapshot_create_xml(dom, xml, 0x1)
        assert text in exc.value.message


def test_a_domain_with_snapshots_does_not_migrate(drv, dom):
    drv.domain_create_with_flags(dom)
    drv.domain_snapshot_create_xml(dom, snap_xml("s"), 0)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_migrate_begin3_params(dom, [], 0x1)  # LIVE
    assert err(exc) == (55, 10, "Requested operation is not valid: cannot migrate domain with "
                        "1 snapshots")  # fmt: skip
    drv.domain_snapshot_delete(snap(dom, "s"), 0)
    assert drv.domain_migrate_begin3_params(dom, [], 0x1)[1].startswith("<domain")


MEMSPEC = (
    "<domainsnapshot><name>{name}</name><memory snapshot='external' file='{path}'/>"
    "<disks><disk name='vda' snapshot='external'/></disks></domainsnapshot>"
)


def _host_with_image(tmp_path, scheduler):
    drv = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    root = tmp_path / "qemu-system" / "root"
    base = root / "var/lib/libvirt/images/g1.img"
    base.parent.mkdir(parents=True)
    base.write_bytes(b"\0" * 4096)
    return drv, root, drv.domain_define_xml_flags(guest_xml())


def test_external_memory_snapshot_saves_an_image_and_overlays(tmp_path, scheduler, recorder_for):
    drv, root, dom = _host_with_image(tmp_path, scheduler)
    drv.domain_create_with_flags(dom)
    rec = recorder_for(drv)
    drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="m1", path="/srv/m1.mem"), 0)
    # paused for the memory, resumed after the overlays (qemuSnapshotCreateActiveExternal)
    assert lifecycle(rec) == [(SUSPENDED, 0), (RESUMED, 0)]
    image = (root / "srv/m1.mem").read_bytes()
    assert image[:16] == b"LibvirtQemudSave"
    assert struct.unpack_from("=I", image, 24)[0] == 1  # the guest was running
    assert b"<source file='/var/lib/libvirt/images/g1.img'/>" in image  # before the overlay
    assert (root / "var/lib/libvirt/images/g1.m1").read_bytes()[:4] == b"QFI\xfb"
    assert drv.domain_get_state(dom, 0) == (RUNNING, 5)  # running (unpaused)
    xml = drv.domain_snapshot_get_xml_desc(snap(dom, "m1"), 0)
    assert "<state>running</state>" in xml
    assert "<memory snapshot='external' file='/srv/m1.mem'/>" in xml
    assert "<source file='/var/lib/libvirt/images/g1.m1'/>" in xml
    assert xml.endswith("  <cookie>\n  </cookie>\n</domainsnapshot>\n")
    assert names(drv.domain_list_all_snapshots(dom, 1, 0x200)) == ["m1"]  # external
    # libvirt 9.0 cannot revert to it
    with pytest.raises(LibvirtError) as exc:
        drv.domain_revert_to_snapshot(snap(dom, "m1"), 0)
    assert err(exc) == (67, 10, "unsupported configuration: revert to external snapshot not "
                        "supported yet")  # fmt: skip
    # kept across a restart, with its memory file
    drv2 = HostRegistry(tmp_path, scheduler).open("qemu:///system")
    again = drv2.domain_snapshot_get_xml_desc(snap(dom, "m1"), 0)
    assert "<memory snapshot='external' file='/srv/m1.mem'/>" in again
    drv2.domain_snapshot_delete(snap(dom, "m1"), 0)  # commits the overlay; 9.0 keeps the file
    assert not (root / "var/lib/libvirt/images/g1.m1").exists()
    assert (root / "srv/m1.mem").exists()


def test_external_memory_snapshot_of_a_paused_guest_and_halt(tmp_path, scheduler, recorder_for):
    drv, root, dom = _host_with_image(tmp_path, scheduler)
    drv.domain_create_with_flags(dom)
    drv.domain_suspend(dom)
    rec = recorder_for(drv)
    drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="p", path="/srv/p.mem"), 0)
    assert lifecycle(rec) == []  # already paused: no events
    assert struct.unpack_from("=I", (root / "srv/p.mem").read_bytes(), 24)[0] == 0
    assert "<state>paused</state>" in drv.domain_snapshot_get_xml_desc(snap(dom, "p"), 0)
    drv.domain_resume(dom)
    rec.take()
    drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="h", path="/srv/h.mem"), 0x8)
    assert lifecycle(rec) == [(SUSPENDED, 0), (STOPPED, FROM_SNAPSHOT[STOPPED])]
    assert drv.domain_get_state(dom, 0) == (SHUTOFF, 7)  # shut off (from snapshot)
    drv.domain_create_with_flags(dom)
    rec.take()
    drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="l", path="/srv/l.mem"), 0x100)
    assert lifecycle(rec) == [(SUSPENDED, 0), (RESUMED, 0)]  # --live: qemu pauses at the end


def test_external_memory_refusals(tmp_path, scheduler):
    drv, root, dom = _host_with_image(tmp_path, scheduler)
    mem = "<domainsnapshot><memory {attrs}/></domainsnapshot>"
    with pytest.raises(LibvirtError) as exc:  # shut off: offline
        drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="x", path="/srv/x.mem"), 0)
    assert err(exc) == (27, 35, "XML error: memory state cannot be saved with offline or "
                        "disk-only snapshot")  # fmt: skip
    drv.domain_create_with_flags(dom)
    cases = [
        (mem.format(attrs="snapshot='external'"), 0,
         "XML error: external memory snapshots require a filename"),
        (mem.format(attrs="snapshot='internal' file='/a'"), 0,
         "XML error: memory filename '/a' requires external snapshot"),
        (mem.format(attrs="file='rel.mem'"), 0,
         "XML error: memory snapshot file path (rel.mem) must be absolute"),
        (mem.format(attrs="snapshot='manual'"), 0,
         "XML error: 'manual' memory snapshot mode not supported"),
        (mem.format(attrs="file='/m'"), 0x10,
         "XML error: memory state cannot be saved with offline or disk-only snapshot"),
        ("<domainsnapshot><memory file='/m'/><disks><disk name='vda' snapshot='internal'/>"
         "</disks></domainsnapshot>", 0,
         "unsupported configuration: mixing internal and external targets for a snapshot is "
         "not yet supported"),
    ]  # fmt: skip
    for xml, flags, text in cases:
        with pytest.raises(LibvirtError) as exc:
            drv.domain_snapshot_create_xml(dom, xml, flags)
        assert exc.value.message == text, xml
    assert not (root / "m").exists()
    # the memory file is a path of the simulated host: it cannot leave its root
    drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="j", path="/../../../j.mem"), 0)
    assert (root / "j.mem").exists() and not (tmp_path / "j.mem").exists()
    # a failed overlay removes the memory image this call wrote, and resumes the guest
    (root / "var/lib/libvirt/images/g1.k").write_bytes(b"x")
    with pytest.raises(LibvirtError) as exc:
        drv.domain_snapshot_create_xml(dom, MEMSPEC.format(name="k", path="/srv/k.mem"), 0)
    assert "external snapshot file for disk vda already exists" in exc.value.message
    assert not (root / "srv/k.mem").exists()
    assert drv.domain_get_state(dom, 0)[0] == RUNNING
