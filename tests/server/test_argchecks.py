"""libvirt's API argument checks, applied before the driver (server/argchecks.py): the
error's fields, the order around the read-only check, and nothing for other procedures."""

from __future__ import annotations

import dataclasses

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server import argchecks, handlers
from virtwire.server.dispatch import Dispatcher
from virtwire.server.hypervisor import TestDriver

from tests.server.test_server_dispatch import error_of
from tests.server.wire import zero_args

PARAM = rp.RemoteTypedParam("x", rp.RemoteTypedParamValue(1, 0))


def call(c, name: str, **changes):
    proc = procedures.resolve(name)
    args = dataclasses.replace(zero_args(proc), **changes) if changes else zero_args(proc)
    return c.call_raw(proc.number, proc.args.pack(args), prog=proc.program)


def test_fields_as_virerror_fills_them(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    err = error_of(call(c, "SECRET_SET_VALUE", value=b""))
    assert (err.code, err.domain, err.level) == (ErrorCode.INVALID_ARG, ErrorDomain.SECRET, 2)
    assert err.message == "value in virSecretSetValue must not be NULL"
    assert (err.str1, err.str2, err.str3, err.int1, err.int2) == (
        "virSecretSetValue",
        "value",
        None,
        0,
        0,
    )
    # a value passes the check and reaches the host (which lacks the member)
    err = error_of(call(c, "SECRET_SET_VALUE", value=b"x"))
    assert err.code == ErrorCode.NO_SUPPORT


def test_kinds_and_their_texts(daemon_thread):
    c = daemon_thread.tcp()
    c.prologue()
    cases = [
        ("DOMAIN_BLOCK_PEEK", {}, "string disk in virDomainBlockPeek must not be empty"),
        ("NODE_ALLOC_PAGES", {}, "npages in virNodeAllocPages must not be zero"),
        (
            "NODE_ALLOC_PAGES",
            {"pageSizes": [4]},
            "pageCounts in virNodeAllocPages must not be NULL",
        ),
        (
            "NODE_ALLOC_PAGES",
            {"pageSizes": [4], "pageCounts": [1]},
            "cellCount in virNodeAllocPages must not be zero",
        ),
        (
            "STORAGE_VOL_RESIZE",
            {},
            "capacity in virStorageVolResize cannot be zero without 'delta' or 'shrink' flags set",
        ),
        (
            "DOMAIN_SET_LAUNCH_SECURITY_STATE",
            {},
            "params in virDomainSetLaunchSecurityState must not be NULL",
        ),
        ("QEMU_PROC_DOMAIN_ATTACH", {}, "pid_value in virDomainQemuAttach must not be zero"),
    ]
    for name, changes, text in cases:
        err = error_of(call(c, name, **changes))
        assert (err.code, err.message) == (ErrorCode.INVALID_ARG, text), name
    # with 'shrink' a zero capacity passes the check
    err = error_of(call(c, "STORAGE_VOL_RESIZE", flags=4))
    assert err.code != ErrorCode.INVALID_ARG


def test_order_around_the_read_only_check(daemon_thread):
    c = daemon_thread.unix(readonly=True)
    c.prologue()
    # virDomainSetLaunchSecurityState checks params before read-only access ...
    err = error_of(call(c, "DOMAIN_SET_LAUNCH_SECURITY_STATE"))
    assert err.code == ErrorCode.INVALID_ARG
    err = error_of(call(c, "DOMAIN_SET_LAUNCH_SECURITY_STATE", params=[PARAM]))
    assert err.code == ErrorCode.OPERATION_DENIED
    assert err.message.endswith("read only access prevents virDomainSetLaunchSecurityState")
    # ... virSecretSetValue after it
    err = error_of(call(c, "SECRET_SET_VALUE", value=b""))
    assert err.code == ErrorCode.OPERATION_DENIED


def test_split_and_nothing_for_procedures_without_checks():
    before, after = argchecks.checks_of(procedures.resolve("DOMAIN_SET_LAUNCH_SECURITY_STATE"))
    assert (len(before), len(after)) == (2, 0)
    before, after = argchecks.checks_of(procedures.resolve("NODE_ALLOC_PAGES"))
    assert (len(before), len(after)) == (0, 4)
    assert argchecks.checks_of(procedures.resolve("DOMAIN_GET_INFO")) is None
    table = Dispatcher().table_for(TestDriver)
    entry = table[(REMOTE_PROGRAM, procedures.resolve("DOMAIN_GET_INFO").number)]
    assert "checked" not in entry.handler.__code__.co_name
    # the read-only check moved into the handler only where libvirt checks arguments first
    moved = table[(REMOTE_PROGRAM, procedures.resolve("DOMAIN_SET_LAUNCH_SECURITY_STATE").number)]
    assert moved.readonly_api is None
    assert moved.handler.__code__.co_name == "checked_readonly"
    kept = table[(REMOTE_PROGRAM, procedures.resolve("SECRET_SET_VALUE").number)]
    assert kept.readonly_api == "virSecretSetValue"
    assert kept.handler.__code__.co_name == "checked"


def test_hand_written_handlers_keep_their_own_order():
    """Event registration checks its event ID in the daemon before the API (libvirtd's
    "unsupported ... event ID" text), so its handler is not wrapped."""
    table = Dispatcher().table_for(TestDriver)
    name = "REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY"
    proc = procedures.by_name(name)
    assert name in handlers.HAND_WRITTEN
    assert table[(proc.program, proc.number)].handler is handlers.HAND_WRITTEN[name][0]
