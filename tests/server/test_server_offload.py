"""Issue 14 #2: a large document's parse, save and getXMLDesc formatting run in a worker
thread, so one client's 1 MB definition does not stall the event loop for everyone else;
the reply still waits until the definition is on disk."""

from __future__ import annotations

import threading

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import domxml, offload, xmllimits

DEFINE = procedures.resolve("DOMAIN_DEFINE_XML")
XML_DESC = procedures.resolve("DOMAIN_GET_XML_DESC")
VERSION = procedures.resolve("CONNECT_GET_VERSION")
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
