"""Dispatch by registry entry: every procedure has an answer, and the unsupported ones answer
libvirt's NO_SUPPORT (raw frames against the in-process daemon)."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.constants import LXC_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.framing import MessageStatus
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server import handlers
from virtwire.server.dispatch import Dispatcher
from virtwire.server.handlers import HAND_WRITTEN
from virtwire.server.hypervisor import QemuDriver, TestDriver
from virtwire.server.hypervisor.driver_api import HypervisorDriver, method_name

from tests.server.wire import WireClient, zero_args

SERVED_PROGRAMS = (REMOTE_PROGRAM, QEMU_PROGRAM, LXC_PROGRAM)
CALLABLE = [
    p
    for p in procedures.all_procedures()
    if p.program in SERVED_PROGRAMS
    and not p.is_event
    and p.name not in ("REMOTE_PROC_CONNECT_OPEN", "REMOTE_PROC_CONNECT_CLOSE")
]


def error_of(reply):
    assert reply.header.status == MessageStatus.ERROR, reply
    return rp.unpack_remote_error(reply.payload)


def call_zero(c: WireClient, proc: procedures.Procedure):
    payload = proc.args.pack(zero_args(proc)) if proc.args is not None else b""
    return c.call_raw(proc.number, payload, prog=proc.program)


def test_member_names_in_snake_case():
    assert method_name("domainGetOSType") == "domain_get_os_type"
    assert method_name("connectListAllNetworks") == "connect_list_all_networks"
    assert method_name("domainLookupByUUID") == "domain_lookup_by_uuid"
    assert method_name("domainGetXMLDesc") == "domain_get_xml_desc"
    assert method_name("domainMigratePrepare3Params") == "domain_migrate_prepare3_params"


@pytest.mark.parametrize("cls", [TestDriver, QemuDriver])
def test_hosts_implement_the_hypervisor_protocol(cls, tmp_path):
    host = cls("test:///default", lambda fn: None) if cls is TestDriver else None
    if host is None:
        host = cls("qemu:///system", lambda fn: None, tmp_path)
    assert isinstance(host, HypervisorDriver)


@pytest.mark.parametrize("cls", [None, TestDriver, QemuDriver])
def test_table_covers_the_registry(cls):
    """One entry per non-event procedure of the three programs; nothing else."""
    table = Dispatcher().table_for(cls)
    assert set(table) == {(p.program, p.number) for p in CALLABLE} | {
        (REMOTE_PROGRAM, 1),
        (REMOTE_PROGRAM, 2),
    }
    assert len(table) > 390
    for proc in CALLABLE:
        assert table[(proc.program, proc.number)].proc is proc


def test_generic_entries_follow_the_driver_class():
    test = Dispatcher().table_for(TestDriver)
    qemu = Dispatcher().table_for(QemuDriver)
    key = (REMOTE_PROGRAM, procedures.resolve("DOMAIN_DETACH_DEVICE_FLAGS").number)
    assert test[key].handler.__name__ == "unsupported_domain_detach_device_flags"
    assert qemu[key].handler.__name__ == "generic_domain_detach_device_flags"
    for table in (test, qemu):
        for (_prog, _num), entry in table.items():
            kind = entry.handler.__name__.split("_", 1)[0]
            assert (entry.name in HAND_WRITTEN) == (kind not in ("generic", "unsupported"))


@pytest.mark.parametrize("uri", ["test:///default", "qemu:///system"])
def test_every_procedure_answers(daemon_thread, uri):
    """A CALL with zero-filled args (dom → the test domain) after the prologue: never
    "unknown procedure", never a handler bug; the connection survives all of it."""
    c = daemon_thread.tcp()
    c.prologue(uri)
    answers: dict[str, int] = {}
    for proc in CALLABLE:
        reply = call_zero(c, proc)
        assert reply.header.proc == proc.number
        if reply.header.status == MessageStatus.OK:
            answers[proc.name] = 0
            continue
        err = error_of(reply)
        assert "unknown procedure" not in (err.message or ""), proc.name
        assert not (err.code == ErrorCode.INTERNAL_ERROR and " failed: " in err.message), (
            proc.name,
            err.message,
        )
        answers[proc.name] = err.code
        if err.code == ErrorCode.NO_SUPPORT and not err.message.endswith(
            "does not support source discovery"  # the test driver's own NO_SUPPORT (TEST)
        ):
            assert err.domain == ErrorDomain[proc.error_domain], proc.name
            assert err.message.endswith(f": {proc.api}")
    # both hosts leave some of libvirt's API unserved and serve far more than domains
    unsupported = sum(1 for code in answers.values() if code == ErrorCode.NO_SUPPORT)
    assert 50 < unsupported < len(CALLABLE) - 200, unsupported
    assert c.call(3).type in ("TEST", "QEMU")


def test_no_support_fields(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    for name, domain, api in [
        ("NETWORK_GET_DHCP_LEASES", ErrorDomain.NETWORK, "virNetworkGetDHCPLeases"),
        ("STORAGE_VOL_RESIZE", ErrorDomain.STORAGE, "virStorageVolResize"),
        ("CONNECT_LIST_ALL_SECRETS", ErrorDomain.SECRET, "virConnectListAllSecrets"),
        ("DOMAIN_BLOCK_RESIZE", ErrorDomain.DOMAIN, "virDomainBlockResize"),
        ("DOMAIN_DETACH_DEVICE", ErrorDomain.DOMAIN, "virDomainDetachDevice"),
        ("QEMU_PROC_DOMAIN_MONITOR_COMMAND", ErrorDomain.NONE, "virDomainQemuMonitorCommand"),
        ("LXC_PROC_DOMAIN_OPEN_NAMESPACE", ErrorDomain.NONE, "virDomainLxcOpenNamespace"),
    ]:
        proc = procedures.resolve(name)
        args = zero_args(proc)
        if name == "STORAGE_VOL_RESIZE":  # zero capacity: libvirt's argument check first
            args = dataclasses.replace(args, capacity=1)
        err = error_of(c.call_raw(proc.number, proc.args.pack(args), prog=proc.program))
        text = "this function is not supported by the connection driver: "
        assert (err.code, err.domain, err.level) == (3, domain, 2), name
        assert (err.message, err.str1, err.str2, err.str3) == (text + api, text + "%s", api, None)
        assert (err.int1, err.int2) == (-1, -1)


@pytest.mark.parametrize("prog", SERVED_PROGRAMS)
@pytest.mark.parametrize("number", [0, 999, 100000])
def test_unknown_numbers(daemon_thread, prog, number):
    c = daemon_thread.tcp()
    c.prologue()
    err = error_of(c.call_raw(number, prog=prog))
    assert (err.code, err.domain, err.message) == (39, 7, f"unknown procedure: {number}")


def test_qemu_event_as_call_is_unknown(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    event = procedures.resolve("QEMU_PROC_DOMAIN_MONITOR_EVENT")
    err = error_of(c.call_raw(event.number, prog=QEMU_PROGRAM))
    assert err.message == f"unknown procedure: {event.number}"


def test_not_open_text_depends_on_the_driver_kind(daemon_thread):
    c = daemon_thread.tcp()
    for name, text in [
        ("CONNECT_GET_TYPE", "hypervisor connection not open"),
        ("QEMU_PROC_DOMAIN_MONITOR_COMMAND", "hypervisor connection not open"),
        ("NETWORK_LOOKUP_BY_NAME", "connection not open"),
        ("CONNECT_LIST_ALL_NETWORKS", "connection not open"),
        ("CONNECT_NETWORK_EVENT_REGISTER_ANY", "connection not open"),
    ]:
        err = error_of(call_zero(c, procedures.resolve(name)))
        assert (err.code, err.domain, err.message) == (1, 7, f"internal error: {text}"), name


def test_auth_procedures_without_sasl_or_polkit(daemon_thread):
    c = daemon_thread.tcp()
    for name in ("AUTH_SASL_INIT", "AUTH_SASL_START", "AUTH_SASL_STEP"):
        err = error_of(call_zero(c, procedures.resolve(name)))
        assert (err.code, err.domain, err.message) == (
            45,
            7,
            "authentication failed: authentication failed",
        )
    err = error_of(call_zero(c, procedures.resolve("AUTH_POLKIT")))
    assert (err.code, err.domain, err.str1, err.int1, err.int2) == (1, 7, None, 0, 0)
    assert err.message == "Library function returned error but did not set virError"


def _reg(c: WireClient, word: str, event_id: int):
    proc = procedures.resolve(f"CONNECT_{word}_EVENT_REGISTER_ANY")
    return c.call_raw(proc.number, struct.pack(">ii", event_id, 0))


def _dereg(c: WireClient, word: str, callback_id: int):
    proc = procedures.resolve(f"CONNECT_{word}_EVENT_DEREGISTER_ANY")
    return c.call_raw(proc.number, struct.pack(">i", callback_id))


def test_other_kinds_event_registration(daemon_thread):
    """IDs from one counter shared with domain registrations, as libvirtd's test driver."""
    c = daemon_thread.tcp()
    c.prologue()
    ids = []
    for word, event_id in [("NETWORK", 0), ("STORAGE_POOL", 1), ("NODE_DEVICE", 0)]:
        reply = _reg(c, word, event_id)
        assert reply.header.status == MessageStatus.OK, word
        ids.append(struct.unpack(">i", reply.payload)[0])
    dom = c.call(316, rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=0, dom=None))
    assert ids + [dom.callbackID] == list(range(ids[0], ids[0] + 4))
    # another kind's ID is not this kind's
    err = error_of(_dereg(c, "STORAGE_POOL", ids[0]))
    assert err.message == f"internal error: storage pool event callback {ids[0]} not registered"
    assert _dereg(c, "NETWORK", ids[0]).header.status == MessageStatus.OK
    err = error_of(_dereg(c, "NETWORK", ids[0]))
    assert err.message == f"internal error: network event callback {ids[0]} not registered"
    # out-of-range event IDs first, then the test driver's missing secret driver
    err = error_of(_reg(c, "NETWORK", 1))
    assert (err.code, err.domain, err.message) == (
        1,
        7,
        "internal error: unsupported network event ID 1",
    )
    err = error_of(_reg(c, "SECRET", 5))
    assert err.message == "internal error: unsupported secret event ID 5"
    err = error_of(_reg(c, "SECRET", 0))
    assert (err.code, err.domain) == (3, ErrorDomain.SECRET)
    err = error_of(_dereg(c, "SECRET", 7))  # libvirt 9.0's text (sic)
    assert err.message == "internal error: node device event callback 7 not registered"
    # registrations go with the connection
    c.close()
    d = daemon_thread.tcp()
    d.prologue()
    assert _reg(d, "NETWORK", 0).header.status == MessageStatus.OK


def test_read_only_refusal_for_other_kinds(daemon_thread):
    c = daemon_thread.unix(readonly=True)
    c.prologue()
    net = rp.RemoteNonnullNetwork(name="default", uuid=bytes(16))
    err = error_of(
        c.call_raw(
            procedures.resolve("NETWORK_DESTROY").number,
            rp.RemoteNetworkDestroyArgs(net=net).pack(),
        )
    )
    assert (err.code, err.domain, err.level) == (29, ErrorDomain.NETWORK, 2)
    assert err.message == "operation forbidden: read only access prevents virNetworkDestroy"
    # reads that the host lacks still answer NO_SUPPORT on a read-only connection
    err = error_of(call_zero(c, procedures.resolve("NETWORK_GET_DHCP_LEASES")))
    assert (err.code, err.domain) == (3, ErrorDomain.NETWORK)


def test_sysinfo_is_served_by_the_test_driver_only(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    sysinfo = c.call(203, rp.RemoteConnectGetSysinfoArgs(flags=0)).sysinfo
    assert "<entry name='vendor'>LENOVO</entry>" in sysinfo
    q = daemon_thread.tcp()
    q.prologue("qemu:///session")
    err = q.call_error(203, rp.RemoteConnectGetSysinfoArgs(flags=0))
    assert (err.code, err.domain, err.str2) == (3, ErrorDomain.DOMAIN, "virConnectGetSysinfo")


# libvirt checks read-only access for these only with some arguments (handlers._READONLY_IF):
# the arguments that make it check
_READONLY_WHEN = {
    "REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS": {"flags": handlers.VIR_DOMAIN_VCPU_GUEST},
    "REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES": {
        "source": handlers.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT
    },
}
# the daemon answers before libvirt's read-only check is reached (the callback lookup)
_READONLY_NEVER = {"QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER"}
# libvirt validates these arguments before its read-only check (api_facts.ARG_CHECKS):
# valid ones, so that the read-only check is what answers
_RO_VALID_ARGS = {
    "REMOTE_PROC_DOMAIN_SEND_PROCESS_SIGNAL": {"pid_value": 1},
    "REMOTE_PROC_DOMAIN_RENAME": {"new_name": "renamed"},
    "REMOTE_PROC_CONNECT_BASELINE_HYPERVISOR_CPU": {"xmlCPUs": ["<cpu/>"]},
    "REMOTE_PROC_DOMAIN_SET_LAUNCH_SECURITY_STATE": {
        "params": [rp.RemoteTypedParam("x", rp.RemoteTypedParamValue(1, 0))]
    },
    "QEMU_PROC_DOMAIN_ATTACH": {"pid_value": 1},
}
# nfds is checked before read-only access, and no call brings fds to virtwire
_RO_INVALID_FIRST = {"REMOTE_PROC_DOMAIN_FD_ASSOCIATE"}


@pytest.mark.parametrize("uri", ["test:///default", "qemu:///session"])
def test_every_state_changing_procedure_is_refused_read_only(daemon_thread, uri):
    """The whole registry: each ``changes_state`` procedure answers OPERATION_DENIED with
    libvirt's text and the procedure's error domain on the read-only socket."""
    changing = [p for p in CALLABLE if p.changes_state and p.name not in _READONLY_NEVER]
    assert len(changing) > 150  # the registry's flag is really set
    c = daemon_thread.unix(readonly=True)
    c.prologue(uri)
    wrong = []
    for proc in changing:
        args = zero_args(proc)
        changes = {**_READONLY_WHEN.get(proc.name, {}), **_RO_VALID_ARGS.get(proc.name, {})}
        if changes:
            args = dataclasses.replace(args, **changes)
        payload = proc.args.pack(args) if proc.args is not None else b""
        reply = c.call_raw(proc.number, payload, prog=proc.program)
        if reply.header.status != MessageStatus.ERROR:
            wrong.append((proc.name, "succeeded"))
            continue
        err = rp.unpack_remote_error(reply.payload)
        if proc.name in _RO_INVALID_FIRST:
            if err.code != ErrorCode.INVALID_ARG:
                wrong.append((proc.name, err.code, err.domain, err.message))
            continue
        want = (
            ErrorCode.OPERATION_DENIED,
            ErrorDomain[proc.error_domain],
            f"operation forbidden: read only access prevents {proc.api}",
        )
        if (err.code, err.domain, err.message) != want:
            wrong.append((proc.name, err.code, err.domain, err.message))
    assert wrong == []
    # and the same connection still reads
    assert c.call_raw(procedures.resolve("CONNECT_GET_VERSION").number, b"").header.status == 0
