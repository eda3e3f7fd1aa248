"""The daemon's protocol-level errors (spec §7.5) and read-only enforcement (§7.3), raw frames."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorDomain
from virtwire.protocol.framing import MessageStatus, MessageType
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.handlers import HAND_WRITTEN

from tests.server.wire import TEST_DOM, WireClient, zero_args

# every state-changing procedure the daemon refuses up front (a few APIs refuse only for
# some flags: handlers._READONLY_IF)
READONLY_DENIED = [
    p
    for p in procedures.all_procedures()
    if p.program in (procedures.REMOTE_PROGRAM, procedures.QEMU_PROGRAM, procedures.LXC_PROGRAM)
    and p.changes_state
    and not p.is_event
    and p.name
    not in (
        "REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS",
        "REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES",
        "QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER",
    )
]


def rpc_error_of(reply):
    assert reply.header.type == MessageType.REPLY
    assert reply.header.status == MessageStatus.ERROR
    return rp.unpack_remote_error(reply.payload)


@pytest.fixture
def client(daemon_thread) -> Iterator[WireClient]:
    c = daemon_thread.tcp()
    c.prologue()
    yield c
    c.close()


@pytest.mark.parametrize("proc", [9999, 0, -5, 318, 354, 107])
def test_unknown_procedure(client, proc):
    """Numbers without a handler, proc 0 and event procedures used as calls."""
    reply = client.call_raw(proc)
    assert reply.header.proc == proc
    err = rpc_error_of(reply)
    assert (err.code, err.domain, err.level) == (39, 7, 2)
    assert err.message == f"unknown procedure: {proc}"
    assert err.str1 == "%s" and err.str2 == err.message
    assert (err.int1, err.int2, err.dom, err.net) == (-1, -1, None, None)


@pytest.mark.parametrize(
    ("prog", "vers"), [(0x12345678, 1), (REMOTE_PROGRAM, 2), (0x20008087, 2), (0x06900690, 1)]
)
def test_unknown_program_echoes_prog_and_vers(client, prog, vers):
    reply = client.call_raw(3, prog=prog, vers=vers)
    assert (reply.header.prog, reply.header.vers, reply.header.proc) == (prog, vers, 3)
    err = rpc_error_of(reply)
    assert (err.code, err.domain) == (39, 7)
    assert err.message == f"Cannot find program {prog} version {vers}"


def test_undecodable_payload(client):
    reply = client.call_raw(23, b"\x00\x00\x00\xff")  # string length past the end
    err = rpc_error_of(reply)
    assert (err.code, err.domain, err.message) == (39, 7, "Unable to decode message payload")


def test_payload_decoded_as_libvirtd_decodes_it(daemon_thread, client):
    """virNetMessageDecodePayload: trailing bytes are ignored, flags/bools are any non-zero
    word (xdr_bool), undeclared enum values pass (xdr_enum); maximums stay enforced."""
    lookup = rp.RemoteDomainLookupByNameArgs(name="test").pack()
    reply = client.call_raw(23, lookup + b"\x00\x00\x00\x07")
    assert reply.header.status == MessageStatus.OK
    assert rp.unpack_remote_domain_lookup_by_name_ret(reply.payload).dom.name == "test"
    name = b"test:///default"
    open_args = struct.pack(">II", 0x01000000, len(name)) + name + b"\x00" + struct.pack(">I", 0)
    fresh = daemon_thread.tcp()
    fresh.call_raw(66)
    assert fresh.call_raw(1, open_args).header.status == MessageStatus.OK
    assert fresh.call(3).type == "TEST"
    too_long = struct.pack(">I", 4194305)  # remote_nonnull_string over REMOTE_STRING_MAX
    err = rpc_error_of(client.call_raw(23, too_long + b"\x00" * 8))
    assert err.message == "Unable to decode message payload"


def test_call_with_bad_status(client):
    reply = client.call_raw(3, status=MessageStatus.ERROR)
    err = rpc_error_of(reply)
    assert err.message == "Unexpected message status 1"


@pytest.mark.parametrize(
    "mtype", [MessageType.REPLY, MessageType.MESSAGE, MessageType.STREAM, MessageType.STREAM_HOLE]
)
def test_non_call_messages_are_dropped_silently(client, mtype):
    client.send_call(3, mtype=mtype, serial=777)
    # the next thing the client gets is the reply to a later call, not an error for 777
    assert client.call(3).type == "TEST"
    assert not [f for f in client.frames if f.header.serial == 777]


def test_keepalive_ping_always_answered(daemon_thread):
    c = daemon_thread.tcp()  # never asked for feature 10
    c.send_raw(bytes.fromhex("0000001c6b656570000000010000000100000002000000000000000000"[:56]))
    pong = c.keepalive()
    assert (pong.header.proc, pong.header.type, pong.header.serial) == (2, MessageType.MESSAGE, 0)
    assert pong.payload == b""


@pytest.mark.parametrize(
    "raw",
    [
        struct.pack(">I", 5) + b"\0" * 24,  # length word below the header size
        struct.pack(">I", 33554437),  # one byte over 32 MiB + 4
        struct.pack(">I", 0xFFFFFFFF),
    ],
)
def test_bad_length_closes_only_that_connection(daemon_thread, raw):
    good = daemon_thread.tcp()
    good.prologue()
    bad = daemon_thread.tcp()
    bad.send_raw(raw)
    assert bad.wait_closed(3)
    assert good.call(3).type == "TEST"


# --- read-only --------------------------------------------------------------------------


def assert_denied(err, api, domain=ErrorDomain.DOMAIN):
    assert (err.code, err.domain, err.level) == (29, domain, 2)
    assert err.message == f"operation forbidden: read only access prevents {api}"
    assert err.str1 == "operation forbidden: %s"
    assert err.str2 == f"read only access prevents {api}"


def test_ro_socket_refuses_destroy_with_libvirts_text(daemon_thread):
    c = daemon_thread.unix(readonly=True)
    c.prologue()
    assert_denied(c.call_error(12, rp.RemoteDomainDestroyArgs(dom=TEST_DOM)), "virDomainDestroy")
    # and the domain is still running
    assert c.call(212, rp.RemoteDomainGetStateArgs(dom=TEST_DOM, flags=0)).state == 1


def test_open_flag_ro_refuses_every_state_changing_procedure(daemon_thread):
    """Implemented or not (NO_SUPPORT comes after the read-only check, as in libvirt;
    arguments libvirt checks before it are given valid)."""
    from tests.server.test_server_dispatch import _RO_INVALID_FIRST, _RO_VALID_ARGS

    assert len(READONLY_DENIED) > 200
    c = daemon_thread.tcp()
    c.prologue(flags=1)
    for proc in READONLY_DENIED:
        if proc.name in _RO_INVALID_FIRST:
            continue
        args = zero_args(proc)
        if proc.name in _RO_VALID_ARGS:
            args = dataclasses.replace(args, **_RO_VALID_ARGS[proc.name])
        payload = proc.args.pack(args) if proc.args is not None else b""
        reply = c.call_raw(proc.number, payload, prog=proc.program)
        err = rpc_error_of(reply)
        assert_denied(err, proc.api, ErrorDomain[proc.error_domain])


def test_ro_conditional_refusal(daemon_thread):
    """virDomainGetVcpusFlags checks read-only access only with VIR_DOMAIN_VCPU_GUEST."""
    c = daemon_thread.tcp()
    c.prologue(flags=1)
    assert c.call(200, rp.RemoteDomainGetVcpusFlagsArgs(dom=TEST_DOM, flags=0)).num == 2
    err = c.call_error(200, rp.RemoteDomainGetVcpusFlagsArgs(dom=TEST_DOM, flags=8))
    assert_denied(err, "virDomainGetVcpusFlags")
    assert "REMOTE_PROC_DOMAIN_GET_XML_DESC" in HAND_WRITTEN


def test_ro_allows_reads_and_event_registration(daemon_thread):
    c = daemon_thread.unix(readonly=True)
    c.prologue()
    assert c.call(273, rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=0)).ret == 1
    assert c.call(14, rp.RemoteDomainGetXmlDescArgs(dom=TEST_DOM, flags=0)).xml
    cb = c.call(316, rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=0, dom=None))
    assert cb.callbackID >= 0


@pytest.mark.parametrize("flags", [1, 8, 9])
def test_ro_get_xml_desc_secure_flag(daemon_thread, flags):
    c = daemon_thread.unix(readonly=True)
    c.prologue()
    err = c.call_error(14, rp.RemoteDomainGetXmlDescArgs(dom=TEST_DOM, flags=flags))
    assert (err.code, err.domain) == (29, 20)
    assert err.message == "operation forbidden: virDomainGetXMLDesc with secure flag"


def test_rw_socket_is_not_read_only(daemon_thread):
    c = daemon_thread.unix()
    c.prologue()
    c.call(34, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))
    c.call(28, rp.RemoteDomainResumeArgs(dom=TEST_DOM))


def test_name_of_string_max_gets_a_reply(daemon_thread, client):
    """issue 14 #4: a 4 MiB name (REMOTE_STRING_MAX exactly) to lookupByName is answered
    with libvirtd's NO_DOMAIN (42), and the connection keeps serving; one byte more is a
    decode error (39), also answered."""
    limit = 4194304
    err = rpc_error_of(client.call_raw(23, struct.pack(">I", limit) + b"a" * limit))
    assert (err.code, err.domain) == (42, 12)
    assert len(err.message) < 1024  # the error text does not carry the 4 MiB name back
    err = rpc_error_of(client.call_raw(23, struct.pack(">I", limit + 1) + b"a" * (limit + 4)))
    assert err.code == 39
    assert client.call(3).type == "TEST"
