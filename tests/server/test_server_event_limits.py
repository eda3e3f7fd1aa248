"""One client's event registrations cannot stall the daemon (issue 14, finding 2).

libvirt 9.0 takes any UUID as a registration's domain filter and has no limit on a client's
registrations; virtwire caps them (``max_client_event_callbacks``) and indexes them, so
neither registering nor dispatching grows with how many one client holds.
"""

from __future__ import annotations

import os
import threading
import time

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.framing import MessageStatus
from virtwire.protocol.generated import remote_protocol as rp

from tests.server.wire import TEST_DOM, WireClient

REGISTER = rp.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY
DEREGISTER = rp.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY
NETWORK_REGISTER = rp.REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY
GET_INFO = rp.REMOTE_PROC_DOMAIN_GET_INFO
SUSPEND = rp.REMOTE_PROC_DOMAIN_SUSPEND
RESUME = rp.REMOTE_PROC_DOMAIN_RESUME
LIFECYCLE = 0


def filtered(uuid: bytes) -> rp.RemoteConnectDomainEventCallbackRegisterAnyArgs:
    dom = rp.RemoteNonnullDomain(name="any", uuid=uuid, id=-1)
    return rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(eventID=LIFECYCLE, dom=dom)


def test_registrations_past_the_limit_are_refused_and_the_connection_goes_on(make_daemon):
    daemon = make_daemon(max_client_event_callbacks=3)
    client = daemon.unix(readonly=True).open()
    ids = [client.call(REGISTER, filtered(os.urandom(16))).callbackID for _ in range(2)]
    net = rp.RemoteConnectNetworkEventRegisterAnyArgs(eventID=0, net=None)
    client.call(NETWORK_REGISTER, net)  # every object kind counts against the one limit
    err = client.call_error(REGISTER, filtered(os.urandom(16)))
    assert (err.code, err.domain) == (ErrorCode.RPC, ErrorDomain.RPC)
    assert err.message == "Too many event callbacks '4' for limit '3'"
    assert client.call(GET_INFO, rp.RemoteDomainGetInfoArgs(dom=TEST_DOM)).state == 1
    # deregistering makes room again; other clients have their own allowance
    client.call(DEREGISTER, rp.RemoteConnectDomainEventCallbackDeregisterAnyArgs(ids[0]))
    client.call(REGISTER, filtered(os.urandom(16)))
    other = daemon.unix(readonly=True).open()
    assert other.call(REGISTER, filtered(TEST_DOM.uuid)).callbackID >= 0


def _pipeline_registrations(client: WireClient, count: int) -> float:
    """Send ``count`` registrations at once, read their replies; return the seconds taken."""
    started = time.monotonic()
    proc = procedures.lookup(REMOTE_PROGRAM, 1, REGISTER)
    assert proc is not None and proc.args is not None
    serials = [
        client.send_call(REGISTER, proc.args.pack(filtered(os.urandom(16)))) for _ in range(count)
    ]
    for serial in serials:
        assert client.reply_to(serial, timeout=60).header.status == MessageStatus.OK
    return time.monotonic() - started


def test_other_clients_are_answered_while_one_registers_20000_callbacks(make_daemon):
    """20,000 domain-filtered registrations pipelined 2,000 at a time from the read-only
    socket: the last chunks cost what the first ones did (a list scan made them 20 times
    slower: seconds each), a well-behaved client's worst call stays under 1 s, and an
    event afterwards still reaches its one subscriber at once."""
    daemon = make_daemon(max_client_event_callbacks=25_000)
    attacker = daemon.unix(readonly=True).open()
    good = daemon.tcp().open()
    stop = threading.Event()
    latencies: list[float] = []

    def good_client() -> None:
        while not stop.is_set():
            started = time.monotonic()
            good.call(GET_INFO, rp.RemoteDomainGetInfoArgs(dom=TEST_DOM))
            latencies.append(time.monotonic() - started)

    worker = threading.Thread(target=good_client)
    worker.start()
    try:
        chunks = [_pipeline_registrations(attacker, 2_000) for _ in range(10)]
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    assert latencies and max(latencies) < 1.0, f"worst call {max(latencies):.2f} s"
    # linear: the last 4,000 cost about what the first 4,000 did (generous for a busy machine)
    first, last = sorted(chunks[:2])[0], sorted(chunks[-2:])[0]
    assert last < 5 * max(first, 0.05), f"chunks took {[round(c, 2) for c in chunks]} s"

    listener = daemon.tcp().open()
    listener.call(REGISTER, filtered(TEST_DOM.uuid))
    good.call(SUSPEND, rp.RemoteDomainSuspendArgs(dom=TEST_DOM))
    started = time.monotonic()
    listener.event()
    good.call(RESUME, rp.RemoteDomainResumeArgs(dom=TEST_DOM))
    listener.event()
    assert time.monotonic() - started < 1.0
