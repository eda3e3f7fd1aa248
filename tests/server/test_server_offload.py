"""Issue 14 #2: a large document's parse, save and getXMLDesc formatting run in a worker
thread, so one client's 1 MB definition does not stall the event loop for everyone else;
the reply still waits until the definition is on disk."""

from __future__ import annotations

import errno
import os
import threading

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import domxml, offload, persistence, xmllimits

DEFINE = procedures.resolve("DOMAIN_DEFINE_XML")
XML_DESC = procedures.resolve("DOMAIN_GET_XML_DESC")
VERSION = procedures.resolve("CONNECT_GET_VERSION")
LOOKUP = procedures.resolve("DOMAIN_LOOKUP_BY_NAME")
REGISTER_ANY = procedures.resolve("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY")
LIFECYCLE = procedures.resolve("DOMAIN_EVENT_CALLBACK_LIFECYCLE")
N_INTERFACES = 5_000  # about 20,000 elements, 0.45 MB: over both thresholds


def big_domain() -> str:
    nics = "".join(
        f"<interface type='user'><mac address='52:54:01:00:{k >> 8:02x}:{k & 255:02x}'/>"
        "<model type='virtio'/></interface>"
        for k in range(N_INTERFACES)
    )
    return (
        "<domain type='kvm'><name>big</name><memory>1048576</memory><vcpu>1</vcpu>"
        f"<os><type arch='x86_64'>hvm</type></os><devices>{nics}</devices></domain>"
    )


@pytest.fixture
def recorded(monkeypatch):
    """Which threads parsed and formatted large documents; formatting can be held."""
    seen: dict[str, list[str]] = {"parse": [], "format": []}
    hold = threading.Event()
    hold.set()
    started = threading.Event()
    parse, fmt = xmllimits._parse_limited, domxml.format_xml

    def parse_spy(text, *args):
        if len(text) >= xmllimits.PREPARSE_MIN_CHARS:
            seen["parse"].append(threading.current_thread().name)
        return parse(text, *args)

    def format_spy(tree):
        if offload.is_large(tree):
            seen["format"].append(threading.current_thread().name)
            started.set()
            assert hold.wait(30), "the other client was not served meanwhile"
        return fmt(tree)

    monkeypatch.setattr(xmllimits, "_parse_limited", parse_spy)
    monkeypatch.setattr(domxml, "format_xml", format_spy)
    return seen, hold, started


def test_large_define_and_xml_desc_leave_the_loop(daemon_thread, recorded):
    seen, hold, started = recorded
    loop_thread = daemon_thread._thread.name
    bad, good = daemon_thread.unix().open("qemu:///session"), daemon_thread.unix().open()
    text = big_domain()
    hold.clear()  # the save's formatting waits until the good client has been answered
    out: dict = {}
    definer = threading.Thread(
        target=lambda: out.update(
            dom=bad.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=text)).dom
        )
    )
    definer.start()
    try:
        assert started.wait(30)
        assert good.call(VERSION.number).hv_ver > 0  # the loop serves while the save runs
        assert "dom" not in out  # and the define's reply waits for the write
    finally:
        hold.set()
        definer.join(30)
    dom = out["dom"]
    assert seen["parse"] and loop_thread not in seen["parse"]
    assert seen["format"] and loop_thread not in seen["format"]
    stored = (daemon_thread.state_dir / "qemu-session" / "big.xml").read_text()
    assert stored.count("<interface type='user'>") == N_INTERFACES
    seen["format"].clear()
    desc = bad.call(XML_DESC.number, rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0)).xml
    assert desc.count("<model type='virtio'/>") == N_INTERFACES
    assert seen["format"] and loop_thread not in seen["format"]


def test_small_documents_stay_on_the_loop(daemon_thread, recorded):
    seen, _hold, _started = recorded
    client = daemon_thread.unix().open("qemu:///session")
    small = (
        "<domain type='kvm'><name>s</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    client.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=small))
    assert seen == {"parse": [], "format": []}


def test_a_bad_large_document_is_still_libxml2s_error(daemon_thread):
    client = daemon_thread.unix().open("qemu:///session")
    err = client.call_error(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=big_domain()[:-9]))
    assert int(err.code) == 35 and "Premature end of data in tag domain" in err.message
    assert client.call(VERSION.number).hv_ver > 0


def test_a_failed_deferred_save_undoes_the_define_and_drops_its_event(daemon_thread, monkeypatch):
    """The worker thread's write fails (a full disk after the writability check): the
    client gets libvirt's error, the domain does not exist, no DEFINED event went out."""
    loop_thread = daemon_thread._thread.name
    write = persistence.atomic_write

    def full_disk(path, text, *args, **kwargs):
        if threading.current_thread().name != loop_thread:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(path, text, *args, **kwargs)

    monkeypatch.setattr(persistence, "atomic_write", full_disk)
    watcher = daemon_thread.unix().open("qemu:///session")
    watcher.call(REGISTER_ANY.number, rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(0, None))
    client = daemon_thread.unix().open("qemu:///session")
    err = client.call_error(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=big_domain()))
    assert int(err.code) == 38, err.message
    assert err.message.startswith("Failed to create file '") and "big.xml.new" in err.message
    assert "No space left on device" in err.message
    err = client.call_error(LOOKUP.number, rp.RemoteDomainLookupByNameArgs(name="big"))
    assert int(err.code) == 42  # VIR_ERR_NO_DOMAIN: the define was undone in memory
    assert not (daemon_thread.state_dir / "qemu-session" / "big.xml").exists()
    small = (
        "<domain type='kvm'><name>s</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    client.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=small))
    first = rp.unpack_remote_domain_event_callback_lifecycle_msg(
        watcher.event(LIFECYCLE.number).payload
    )
    assert first.msg.dom.name == "s"  # the first event is the small define's, not big's


def test_a_failed_deferred_save_keeps_the_old_definition(daemon_thread, monkeypatch):
    client = daemon_thread.unix().open("qemu:///session")
    dom = client.call(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=big_domain())).dom
    path = daemon_thread.state_dir / "qemu-session" / "big.xml"
    before = path.read_text()
    loop_thread = daemon_thread._thread.name

    def full_disk(*args, **kwargs):
        assert threading.current_thread().name != loop_thread
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(persistence, "atomic_write", full_disk)
    changed = big_domain().replace(
        "<memory>1048576</memory>",
        f"<uuid>{domxml.uuid_str(bytes(dom.uuid))}</uuid><memory>2097152</memory>",
    )
    err = client.call_error(DEFINE.number, rp.RemoteDomainDefineXmlArgs(xml=changed))
    assert int(err.code) == 38, err.message
    dom = client.call(LOOKUP.number, rp.RemoteDomainLookupByNameArgs(name="big")).dom
    desc = client.call(XML_DESC.number, rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0)).xml
    assert "<memory unit='KiB'>1048576</memory>" in desc
    assert path.read_text() == before
