"""test:///default: save, restore, save-image XML and core dumps (server/hypervisor/test_save.py),
as libvirt 9.0's test driver does them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.server.hypervisor.test_save import SAVE_MAGIC, pack_image

# a save image libvirtd 9.0's test driver wrote (`virsh save test FILE` on test:///default)
LIBVIRTD_IMAGE = Path(__file__).parent / "data" / "libvirtd-9.0-test.save"
SYSTEM, INTERNAL, INVALID, UNSUPPORTED = 38, 1, 55, 84
TEST_DOMAIN, DOMAIN_DOMAIN = 23, 20


def err(exc_info) -> tuple[int, str]:
    return int(exc_info.value.code), exc_info.value.message


@pytest.fixture
def drv(registry):
    return registry.open("test:///default")


def test_header_bytes_are_the_test_drivers():
    assert SAVE_MAGIC == b"TestGuestMagic\0"
    assert pack_image("<d/>") == b"TestGuestMagic\x00\x04\x00\x00\x00<d/>"
    libvirtd = LIBVIRTD_IMAGE.read_bytes()
    assert libvirtd[:15] == SAVE_MAGIC
    assert int.from_bytes(libvirtd[15:19], "little") == len(libvirtd) - 19


def test_save_writes_libvirtds_bytes_and_stops(drv, recorder_for, tmp_path):
    rec = recorder_for(drv)
    dom = drv.domain_lookup_by_name("test")
    path = tmp_path / "s"
    drv.domain_save(dom, str(path))
    # the same live XML (id='1') libvirtd writes, in the same layout
    assert path.read_bytes() == LIBVIRTD_IMAGE.read_bytes()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert drv.domain_get_state(dom) == (5, 5)  # shut off (saved)
    assert rec.names() == [("lifecycle", 5, 4)]  # STOPPED SAVED


def test_restore_a_libvirtd_image(drv, recorder_for):
    dom = drv.domain_lookup_by_name("test")
    drv.domain_destroy_flags(dom)
    rec = recorder_for(drv)
    drv.domain_restore(str(LIBVIRTD_IMAGE))
    dom = drv.domain_lookup_by_name("test")
    assert dom.id == 2 and drv.domain_get_state(dom) == (1, 3)  # running (restored)
    assert drv.domain_is_persistent(dom)
    assert rec.names() == [("lifecycle", 2, 2)]  # STARTED RESTORED
    xml = drv.domain_save_image_get_xml_desc(str(LIBVIRTD_IMAGE), 0)
    assert xml.startswith("<domain type='test'>\n  <name>test</name>")


def test_restore_new_domain_is_transient_and_save_removes_it(drv, tmp_path):
    image = LIBVIRTD_IMAGE.read_text(errors="replace")
    xml = image[19:].replace("<name>test</name>", "<name>t2</name>")
    xml = xml.replace("6695eb01", "6695eb02")
    path = tmp_path / "t2"
    path.write_bytes(pack_image(xml))
    drv.domain_restore_flags(str(path), None, 0)
    t2 = drv.domain_lookup_by_name("t2")
    assert not drv.domain_is_persistent(t2) and drv.domain_is_active(t2)
    drv.domain_save_flags(t2, str(tmp_path / "again"), None, 0)
    with pytest.raises(LibvirtError):
        drv.domain_lookup_by_name("t2")
    drv.domain_restore(str(tmp_path / "again"))
    assert drv.domain_is_active(drv.domain_lookup_by_name("t2"))


def test_restore_of_a_running_domain_is_refused(drv):
    with pytest.raises(LibvirtError) as exc:
        drv.domain_restore(str(LIBVIRTD_IMAGE))
    assert err(exc) == (
        INVALID,
        "Requested operation is not valid: domain 'test' is already active",
    )


def test_image_errors_are_libvirts(drv, tmp_path):
    def fails(path: Path) -> tuple[int, str]:
        with pytest.raises(LibvirtError) as exc:
            drv.domain_save_image_get_xml_desc(str(path), 0)
        return err(exc)

    missing = tmp_path / "missing"
    assert fails(missing) == (
        SYSTEM,
        f"cannot read domain image '{missing}': No such file or directory",
    )
    short = tmp_path / "short"
    short.write_bytes(b"TestGuest")
    assert fails(short) == (SYSTEM, f"incomplete save header in '{short}': Success")
    wrong = tmp_path / "wrong"
    wrong.write_text("<network><name>nat1</name></network>\n")
    assert fails(wrong) == (INTERNAL, "internal error: mismatched header magic")
    nolen = tmp_path / "nolen"
    nolen.write_bytes(SAVE_MAGIC)
    assert fails(nolen) == (SYSTEM, f"failed to read metadata length in '{nolen}': Success")
    big = tmp_path / "big"
    big.write_bytes(SAVE_MAGIC + (8193).to_bytes(4, "little"))
    assert fails(big) == (INTERNAL, "internal error: length of metadata out of range")
    cut = tmp_path / "cut"
    cut.write_bytes(SAVE_MAGIC + (10).to_bytes(4, "little") + b"<dom")
    assert fails(cut) == (SYSTEM, f"incomplete metadata in '{cut}': Success")


def test_save_errors_are_libvirts(drv, tmp_path):
    dom = drv.domain_lookup_by_name("test")
    with pytest.raises(LibvirtError) as exc:
        drv.domain_save(dom, "/nonexistent/s")
    assert err(exc) == (
        SYSTEM,
        "saving domain 'test' to '/nonexistent/s': open failed: No such file or directory",
    )
    with pytest.raises(LibvirtError) as exc:
        drv.domain_save_flags(dom, str(tmp_path / "x"), "<domain/>", 0)
    assert err(exc) == (74, "argument unsupported: xml modification unsupported")
    assert drv.domain_is_active(dom)
    drv.domain_destroy_flags(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_save(dom, str(tmp_path / "x"))
    assert err(exc) == (INVALID, "Requested operation is not valid: domain is not running")
    assert int(exc.value.domain) == DOMAIN_DOMAIN


def test_core_dump_writes_the_magic_and_crash_stops(drv, recorder_for, tmp_path):
    dom = drv.domain_lookup_by_name("test")
    rec = recorder_for(drv)
    path = tmp_path / "d"
    drv.domain_core_dump(dom, str(path), 0)
    assert path.read_bytes() == SAVE_MAGIC and drv.domain_is_active(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_core_dump_with_format(dom, str(tmp_path / "k"), 1, 0)
    assert err(exc) == (
        UNSUPPORTED,
        "Operation not supported: kdump-compressed format is not supported here",
    )
    assert (tmp_path / "k").read_bytes() == SAVE_MAGIC  # written before the format check
    with pytest.raises(LibvirtError) as exc:
        drv.domain_core_dump(dom, "/nonexistent/d", 0)
    assert err(exc) == (
        SYSTEM,
        "domain 'test' coredump: failed to open /nonexistent/d: No such file or directory",
    )
    assert rec.names() == []
    drv.domain_core_dump(dom, str(path), 1)  # VIR_DUMP_CRASH
    assert drv.domain_get_state(dom) == (5, 3)  # shut off (crashed)
    assert rec.names() == [("lifecycle", 5, 2)]  # STOPPED CRASHED
    with pytest.raises(LibvirtError) as exc:
        drv.domain_core_dump(dom, str(path), 2)
    assert err(exc)[0] == 8  # unsupported flags


def test_save_image_define_xml_rewrites_the_image(drv, tmp_path):
    dom = drv.domain_lookup_by_name("test")
    path = tmp_path / "s"
    drv.domain_save(dom, str(path))
    xml = drv.domain_save_image_get_xml_desc(str(path), 0)
    drv.domain_save_image_define_xml(str(path), xml.replace("2097152", "1048576"), 0)
    assert "<currentMemory unit='KiB'>1048576</currentMemory>" in (
        drv.domain_save_image_get_xml_desc(str(path), 0)
    )
