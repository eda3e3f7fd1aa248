"""The connection prologue and every procedure's reply shape on test:///default, raw frames."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.framing import MessageStatus, MessageType
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.wire import TEST_DOM, TEST_UUID, WireClient


def test_auth_list_reply_bytes_match_libvirtd(daemon_thread):
    c = daemon_thread.tcp()
    # captured AUTH_LIST call, serial 0 (spec §8.3)
    c.send_raw(bytes.fromhex("0000001c200080860000000100000042000000000000000000000000"))
    reply = c.reply_to(0)
    raw = bytes.fromhex(
        "00000024200080860000000100000042000000010000000000000000" + "0000000100000000"
    )
    assert reply.payload == raw[28:]
    assert reply.header.type == MessageType.REPLY and reply.header.status == MessageStatus.OK


def test_virsh_prologue_and_close(daemon_thread):
    c = daemon_thread.tcp()
    # feature 10 works before OPEN; 14 does not (captured on libvirtd 9.0)
    assert c.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=10)).supported == 1
    err = c.call_error(60, rp.RemoteConnectSupportsFeatureArgs(feature=14))
    assert (err.code, err.domain) == (1, 7)
    assert err.message == "internal error: hypervisor connection not open"
    c.call(1, rp.RemoteConnectOpenArgs(name="test:///default", flags=0))
    for feature in (8, 14, 15):
        assert c.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=feature)).supported == 1
    assert c.call(60, rp.RemoteConnectSupportsFeatureArgs(feature=5)).supported == 0
    c.call(360)
    c.call(361)
    serial = c.send_call(2)
    reply = c.reply_to(serial)
    assert reply.header.status == MessageStatus.OK and reply.payload == b""
    assert c.wait_closed(3), "CONNECT_CLOSE must close the socket after the reply"


def test_calls_before_open_fail_like_libvirtd(daemon_thread):
    c = daemon_thread.tcp()
    for proc in (3, 110, 23, 316):
        p_args = None
        if proc == 23:
            p_args = rp.RemoteDomainLookupByNameArgs(name="test")
        if proc == 316:
            p_args = rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=0, dom=None)
        err = c.call_error(proc, p_args)
        assert (err.code, err.domain, err.level) == (1, 7, 2)
        assert err.message == "internal error: hypervisor connection not open"
        assert err.str1 == "internal error: %s"
        assert err.str2 == "hypervisor connection not open"


def test_open_unknown_uri_is_no_connect(daemon_thread):
    c = daemon_thread.tcp()
    err = c.call_error(1, rp.RemoteConnectOpenArgs(name="bogus:///nowhere", flags=0))
    assert err.code == 5  # VIR_ERR_NO_CONNECT
    # the connection stays usable and can open a real host afterwards
    c.call(1, rp.RemoteConnectOpenArgs(name="test:///default", flags=0))
    assert c.call(3).type == "TEST"


@pytest.fixture
def client(daemon_thread) -> Iterator[WireClient]:
    c = daemon_thread.unix()
    c.prologue()
    yield c
    c.close()


def test_connection_queries(client):
    assert client.call(4).hv_ver == 2
    assert client.call(157).lib_ver == 9_000_000
    assert client.call(59).hostname
    assert client.call(110).uri == "test:///default"
    assert "<capabilities>" in client.call(7).capabilities
    info = client.call(6)
    assert len(info.model) == 32 and info.memory > 0 and info.cpus > 0
    model = client.call(122)
    assert bytes(model.model) == b"testSecurity\0" and model.doi == [0]


def test_node_get_info_payload_is_160_bytes(client):
    reply = client.call_raw(6)
    assert len(reply.payload) == 160


def test_list_all_domains_reply_bytes_match_capture(client):
    reply = client.call_raw(273, rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=0).pack())
    assert reply.payload == bytes.fromhex(
        "00000001 00000004 74657374 6695eb01f6a4830479aa97f2502e193f 00000001 00000001".replace(
            " ", ""
        )
    )
    counted = client.call(273, rp.RemoteConnectListAllDomainsArgs(need_results=0, flags=0))
    assert counted.domains == [] and counted.ret == 1


def test_domain_queries_on_the_builtin_test_domain(client):
    assert client.call(51).num == 1
    assert client.call(37, rp.RemoteConnectListDomainsArgs(maxids=10)).ids == [1]
    assert client.call(25).num == 0
    assert client.call(21, rp.RemoteConnectListDefinedDomainsArgs(maxnames=10)).names == []
    dom = client.call(23, rp.RemoteDomainLookupByNameArgs(name="test")).dom
    assert (dom.name, dom.uuid, dom.id) == ("test", TEST_UUID, 1)
    assert client.call(24, rp.RemoteDomainLookupByUuidArgs(uuid=TEST_UUID)).dom == dom
    assert client.call(22, rp.RemoteDomainLookupByIdArgs(id=1)).dom == dom
    info = client.call(16, rp.RemoteDomainGetInfoArgs(dom=TEST_DOM))
    assert (info.state, info.maxMem, info.memory, info.nrVirtCpu) == (1, 8388608, 2097152, 2)
    st = client.call(212, rp.RemoteDomainGetStateArgs(dom=TEST_DOM, flags=0))
    assert (st.state, st.reason) == (1, 1) or st.state == 1
    assert client.call(19, rp.RemoteDomainGetOsTypeArgs(dom=TEST_DOM)).type in ("linux", "hvm")
    assert client.call(150, rp.RemoteDomainIsActiveArgs(dom=TEST_DOM)).active == 1
    assert client.call(151, rp.RemoteDomainIsPersistentArgs(dom=TEST_DOM)).persistent == 1
    assert client.call(15, rp.RemoteDomainGetAutostartArgs(dom=TEST_DOM)).autostart == 0
    assert (
        client.call(183, rp.RemoteDomainHasManagedSaveImageArgs(dom=TEST_DOM, flags=0)).result == 0
    )
    label = client.call(121, rp.RemoteDomainGetSecurityLabelArgs(dom=TEST_DOM))
    assert bytes(label.label) == b"libvirt-test\0" and label.enforcing == 1
    assert client.call(426, rp.RemoteDomainGetMessagesArgs(dom=TEST_DOM, flags=0)).msgs == []
    assert client.call(187, rp.RemoteDomainSnapshotNumArgs(dom=TEST_DOM, flags=0)).num == 0
    xml = client.call(14, rp.RemoteDomainGetXmlDescArgs(dom=TEST_DOM, flags=0)).xml
    assert "<name>test</name>" in xml
    assert client.call(17, rp.RemoteDomainGetMaxMemoryArgs(dom=TEST_DOM)).memory == 8388608
    assert client.call(200, rp.RemoteDomainGetVcpusFlagsArgs(dom=TEST_DOM, flags=0)).num == 2


def test_missing_domain_is_test_driver_no_domain(client):
    err = client.call_error(23, rp.RemoteDomainLookupByNameArgs(name="nosuch"))
    assert (err.code, err.domain, err.message) == (42, 12, "Domain not found")
    assert err.str2 is None and err.int1 == -1 and err.int2 == -1


def test_define_start_suspend_resume_destroy_undefine(client):
    xml = (
        "<domain type='test'><name>t2</name><memory>1048576</memory>"
        "<os><type>hvm</type></os></domain>"
    )
    dom = client.call(11, rp.RemoteDomainDefineXmlArgs(xml=xml)).dom
    assert dom.name == "t2" and dom.id == -1
    client.call(9, rp.RemoteDomainCreateArgs(dom=dom))
    dom = client.call(24, rp.RemoteDomainLookupByUuidArgs(uuid=dom.uuid)).dom
    assert dom.id > 1
    client.call(34, rp.RemoteDomainSuspendArgs(dom=dom))
    assert client.call(212, rp.RemoteDomainGetStateArgs(dom=dom, flags=0)).state == 3
    client.call(28, rp.RemoteDomainResumeArgs(dom=dom))
    client.call(204, rp.RemoteDomainSetMemoryFlagsArgs(dom=dom, memory=524288, flags=1))
    assert client.call(16, rp.RemoteDomainGetInfoArgs(dom=dom)).memory == 524288
    client.call(12, rp.RemoteDomainDestroyArgs(dom=dom))
    assert client.call(212, rp.RemoteDomainGetStateArgs(dom=dom, flags=0)).state == 5
    started = client.call(196, rp.RemoteDomainCreateWithFlagsArgs(dom=dom, flags=0)).dom
    assert started.id > 0
    client.call(234, rp.RemoteDomainDestroyFlagsArgs(dom=started, flags=0))
    client.call(231, rp.RemoteDomainUndefineFlagsArgs(dom=dom, flags=0))
    err = client.call_error(23, rp.RemoteDomainLookupByNameArgs(name="t2"))
    assert err.code == 42


def test_test_driver_has_no_hotplug(client):
    """libvirt 9.0's test driver has no attach member: NO_SUPPORT (domain DOMAIN)."""
    err = client.call_error(
        160,
        rp.RemoteDomainAttachDeviceFlagsArgs(
            dom=TEST_DOM,
            xml="<memory model='dimm'><target><size unit='KiB'>524288</size>"
            "<node>0</node></target></memory>",
            flags=1,
        ),
    )
    assert isinstance(err, LibvirtError)
    assert (err.code, err.domain) == (3, 20)
    assert err.message.endswith("virDomainAttachDeviceFlags")


def test_second_open_fails_and_drops_the_first_like_libvirtd(daemon_thread):
    c = daemon_thread.tcp()
    c.open()
    err = c.call_error(1, rp.RemoteConnectOpenArgs(name="test:///default", flags=0))
    assert (err.code, err.domain, err.message) == (1, 7, "internal error: connection already open")
    # libvirtd 9.0's error path releases the connection it had
    err = c.call_error(3)
    assert err.message == "internal error: hypervisor connection not open"
    c.call(1, rp.RemoteConnectOpenArgs(name="test:///default", flags=0))
    assert c.call(3).type == "TEST"
