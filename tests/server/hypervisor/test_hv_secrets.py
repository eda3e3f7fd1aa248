"""Secrets on the QEMU host: XML, values, private/ephemeral, events, persistence."""

from __future__ import annotations

import pytest
from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.qemudriver import QemuDriver

VOL = "<secret ephemeral='no' private='no'><uuid>11111111-2222-3333-4444-555555555555</uuid><description>d</description><usage type='volume'><volume>/a.img</volume></usage></secret>"


def make(tmp_path, monkeypatch=None):
    driver = QemuDriver("qemu:///system", lambda fn: None, tmp_path)
    driver.queued = []
    driver.events.queue = lambda e, remote_id=-1: driver.queued.append(e)
    return driver


def test_define_value_xml_and_events(tmp_path):
    drv = make(tmp_path)
    sec = drv.secret_define_xml(VOL, 0)
    assert (sec.usageType, sec.usageID) == (1, "/a.img")
    assert drv.secret_get_xml_desc(sec, 0) == (
        "<secret ephemeral='no' private='no'>\n  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n"
        "  <description>d</description>\n  <usage type='volume'>\n    <volume>/a.img</volume>\n"
        "  </usage>\n</secret>\n"
    )
    with pytest.raises(LibvirtError) as info:
        drv.secret_get_value(sec, 0)
    assert info.value.code == ErrorCode.NO_SECRET and info.value.domain == ErrorDomain.SECRET
    drv.secret_set_value(sec, b"pw", 0)
    assert drv.secret_get_value(sec, 0) == b"pw"
    assert drv.secret_lookup_by_usage(1, "/a.img") == sec
    drv.secret_undefine(sec)
    kinds = [(type(e).__name__, getattr(e, "event", None)) for e in drv.queued]
    assert kinds == [
        ("SecretLifecycleEvent", 0),
        ("SecretValueChangedEvent", None),
        ("SecretLifecycleEvent", 1),
    ]
    assert all(isinstance(e.secret, ev.SecretRef) for e in drv.queued)
    assert drv.connect_num_of_secrets() == 0


def test_private_secret_value_is_refused(tmp_path):
    drv = make(tmp_path)
    sec = drv.secret_define_xml(
        "<secret private='yes'><usage type='ceph'><name>c</name></usage></secret>", 0
    )
    drv.secret_set_value(sec, b"x", 0)
    with pytest.raises(LibvirtError) as info:
        drv.secret_get_value(sec, 0)
    assert (
        info.value.code == ErrorCode.INVALID_SECRET
        and info.value.message == "Invalid secret: secret is private"
    )
    with pytest.raises(LibvirtError):  # the usage is taken
        drv.secret_define_xml("<secret><usage type='ceph'><name>c</name></usage></secret>", 0)


@pytest.mark.parametrize(
    ("xml", "text"),
    [
        (
            "<secret><usage type='iscsi'/></secret>",
            "internal error: iSCSI usage specified, but target is missing",
        ),
        (
            "<secret><usage type='vtpm'/></secret>",
            "internal error: vTPM usage specified, but name is missing",
        ),
        (
            "<secret><usage type='bogus'/></secret>",
            "internal error: unknown secret usage type bogus",
        ),
        ("<secret><uuid>zz</uuid></secret>", "internal error: malformed uuid element"),
    ],
)
def test_parse_errors(tmp_path, xml, text):
    with pytest.raises(LibvirtError) as info:
        make(tmp_path).secret_define_xml(xml, 0)
    assert info.value.message == text and info.value.domain == ErrorDomain.SECRET


def test_persistent_survive_a_new_host_ephemeral_do_not(tmp_path):
    drv = make(tmp_path)
    sec = drv.secret_define_xml(VOL, 0)
    drv.secret_set_value(sec, b"\x00\xffbin", 0)
    eph = drv.secret_define_xml(
        "<secret ephemeral='yes'><usage type='tls'><name>t</name></usage></secret>", 0
    )
    drv.secret_set_value(eph, b"e", 0)
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == [
        "11111111-2222-3333-4444-555555555555.base64",
        "11111111-2222-3333-4444-555555555555.xml",
    ]
    again = make(tmp_path)
    assert again.connect_list_all_secrets(1, 0) == ([sec], 1)
    assert again.secret_get_value(sec, 0) == b"\x00\xffbin"
    assert again.connect_list_all_secrets(1, 1) == ([], 0)  # EPHEMERAL
    again.secret_undefine(sec)
    assert list((tmp_path / "secrets").iterdir()) == []
