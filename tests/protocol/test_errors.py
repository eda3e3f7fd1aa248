"""LibvirtError: libvirt's numbers, message templates, captured error payloads (§1.6, §7.3, §7.5)."""

from __future__ import annotations

import importlib
import pickle
from types import SimpleNamespace

import pytest
from virtwire.protocol.errors import (
    ErrorCode,
    ErrorDomain,
    ErrorLevel,
    LibvirtError,
    message_templates,
)


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def xdr_string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(4, "big") + raw + b"\x00" * (-len(raw) % 4)


def generated_virnetprotocol():
    try:
        return importlib.import_module("virtwire.protocol.generated.virnetprotocol")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("virtwire.protocol.generated"):
            pytest.skip("virtwire.protocol.generated.virnetprotocol not generated yet")
        raise


def wire(err: LibvirtError) -> SimpleNamespace:
    """A received remote_error as any struct with the 11 fields."""
    return SimpleNamespace(
        code=int(err.code),
        domain=int(err.domain),
        message=err.message,
        level=int(err.level),
        dom=None,
        str1=err.str1,
        str2=err.str2,
        str3=err.str3,
        int1=err.int1,
        int2=err.int2,
        net=None,
    )


def test_enums_have_libvirts_values() -> None:
    assert [int(c) for c in ErrorCode] == list(range(114))
    assert [int(d) for d in ErrorDomain] == list(range(73))
    assert [int(level) for level in ErrorLevel] == [0, 1, 2]
    assert ErrorCode.NO_SUPPORT == 3
    assert ErrorCode.INVALID_ARG == 8
    assert ErrorCode.OPERATION_DENIED == 29
    assert ErrorCode.RPC == 39
    assert ErrorCode.NO_DOMAIN == 42
    assert ErrorCode.OPERATION_INVALID == 55
    assert ErrorCode.WAR_NO_SECRET == 64
    assert ErrorCode.MULTIPLE_DOMAINS == 110
    assert ErrorDomain.DOM == 6 and ErrorDomain.DOMAIN == 20
    assert ErrorDomain.RPC == 7 and ErrorDomain.REMOTE == 13 and ErrorDomain.TEST == 12
    assert ErrorDomain.QEMU == 10 and ErrorDomain.CH == 72


def test_every_code_of_libvirt_9_has_both_templates() -> None:
    for code in range(1, 111):
        plain, with_detail = message_templates(code)
        assert "%" not in plain
        assert with_detail.count("%s") == 1 and with_detail.count("%") == 1


def test_readonly_destroy_matches_capture() -> None:
    """§7.3: DESTROY on a read-only connection, libvirtd 9.0."""
    err = LibvirtError.operation_denied_readonly("virDomainDestroy")
    assert (err.code, err.domain, err.level) == (29, 20, 2)
    assert err.message == "operation forbidden: read only access prevents virDomainDestroy"
    assert err.str1 == "operation forbidden: %s"
    assert err.str2 == "read only access prevents virDomainDestroy"
    assert (err.str3, err.int1, err.int2, err.dom, err.net) == (None, -1, -1, None, None)
    assert str(err) == err.message
    captured = (
        h("0000001d 00000014 00000001")
        + xdr_string(err.message)
        + h("00000002 00000000 00000001")
        + xdr_string("operation forbidden: %s")
        + h("00000001")
        + xdr_string("read only access prevents virDomainDestroy")
        + h("00000000 ffffffff ffffffff 00000000")
    )
    assert h("0000003f")[3] == len(err.message)
    generated_virnetprotocol()
    assert err.pack() == captured
    back = LibvirtError.unpack(captured)
    assert back.fields() == err.fields()


def test_test_driver_no_domain_without_detail_matches_capture() -> None:
    """§1.6: LOOKUP_BY_NAME "nosuch" on the 9.0 test driver."""
    err = LibvirtError.no_domain(ErrorDomain.TEST)
    assert (err.code, err.domain) == (ErrorCode.NO_DOMAIN, ErrorDomain.TEST)
    assert err.message == "Domain not found" and err.str1 == "Domain not found"
    assert err.str2 is None and err.str3 is None
    assert (err.int1, err.int2) == (-1, -1)
    payload = h(
        """
        0000002a 0000000c 00000001 00000010 446f6d61 696e206e 6f742066 6f756e64
        00000002 00000000 00000001 00000010 446f6d61 696e206e 6f742066 6f756e64
        00000000 00000000 ffffffff ffffffff 00000000
        """
    )
    generated_virnetprotocol()
    assert err.pack() == payload
    assert LibvirtError.unpack(payload).fields() == err.fields()


def test_error_vector_116_bytes_through_libvirt_error() -> None:
    """§1.6 test vector payload (int1/int2 set, all three strings)."""
    payload = h(
        """
        00000001 00000007 00000001 0000000b 48656c6c 6f20576f 726c6400
        00000002 00000000 00000001 00000003 4f6e6500 00000001 00000003
        54776f00 00000001 00000005 54687265 65000000 00000001 00000002
        00000000
        """
    )
    generated_virnetprotocol()
    err = LibvirtError.unpack(payload)
    assert err.fields() == (1, 7, "Hello World", 2, None, "One", "Two", "Three", 1, 2, None)
    assert err.pack() == payload


def test_unsupported_api_matches_capture() -> None:
    """peers.md: attachDeviceFlags on the 9.0 test driver."""
    err = LibvirtError.no_support("virDomainAttachDeviceFlags")
    assert (err.code, err.domain, err.level) == (3, 20, 2)
    assert err.message == (
        "this function is not supported by the connection driver: virDomainAttachDeviceFlags"
    )
    assert err.str1 == "this function is not supported by the connection driver: %s"
    assert err.str2 == "virDomainAttachDeviceFlags"


def test_rpc_errors_use_the_bare_template() -> None:
    """§7.5: "unknown procedure: N", str1 "%s", str2 = message."""
    err = LibvirtError.rpc("unknown procedure: 9999")
    assert (err.code, err.domain) == (39, 7)
    assert err.message == "unknown procedure: 9999"
    assert err.str1 == "%s" and err.str2 == "unknown procedure: 9999"
    detail = "Cannot find program 1 version 1"
    assert LibvirtError.rpc(detail).message == detail


def test_internal_error_and_invalid_arg() -> None:
    err = LibvirtError.internal_error("hypervisor connection not open")
    assert (err.code, err.domain) == (1, 7)
    assert err.message == "internal error: hypervisor connection not open"
    assert err.str1 == "internal error: %s"
    bare = LibvirtError.make(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC)
    assert bare.message == "internal error" and bare.str2 is None
    arg = LibvirtError.invalid_arg("event callback already tracked")
    assert (arg.code, arg.domain) == (8, 0)
    assert arg.message == "invalid argument: event callback already tracked"


def test_detail_with_percent_is_not_reformatted() -> None:
    err = LibvirtError.operation_failed("100% done %s", ErrorDomain.QEMU)
    assert err.message == "operation failed: 100% done %s"


def test_templates_that_put_the_detail_in_the_middle() -> None:
    assert LibvirtError.make(ErrorCode.DOM_EXIST, 20, "vm1").message == "domain vm1 exists already"
    assert LibvirtError.make(ErrorCode.DOM_EXIST, 20).message == "this domain exists already"
    assert LibvirtError.make(ErrorCode.XML_DETAIL, 20, "(x):1: bad").message == "(x):1: bad"


def test_code_without_template_gets_libvirts_fallback() -> None:
    err = LibvirtError.make(113, ErrorDomain.QEMU, "agent said no")
    assert err.message == "No error message provided"
    assert err.str1 is None and err.str2 == "agent said no"
    with pytest.raises(ValueError):
        LibvirtError.make(ErrorCode.OK, 0)


def test_accessors_match_libvirt_python() -> None:
    err = LibvirtError(42, 10, "Domain not found: x", 2, None, "a", "b", "c", 5, 6)
    assert err.get_error_code() == 42
    assert err.get_error_domain() == 10
    assert err.get_error_message() == "Domain not found: x"
    assert err.get_error_level() == 2
    assert (err.get_str1(), err.get_str2(), err.get_str3()) == ("a", "b", "c")
    assert (err.get_int1(), err.get_int2()) == (5, 6)
    assert err.err == (42, 10, "Domain not found: x", 2, "a", "b", "c", 5, 6)
    assert isinstance(err.code, ErrorCode) and isinstance(err.domain, ErrorDomain)
    assert str(err) == "Domain not found: x"
    assert "NO_DOMAIN" in repr(err)


def test_unknown_numbers_are_kept_as_ints() -> None:
    err = LibvirtError(500, 99, "from the future", 2)
    assert err.code == 500 and not isinstance(err.code, ErrorCode)
    assert err.domain == 99
    assert LibvirtError.from_remote_error(wire(err)).fields() == err.fields()


def test_pickle_round_trip() -> None:
    err = LibvirtError.no_support("virDomainFoo")
    back = pickle.loads(pickle.dumps(err))
    assert back.fields() == err.fields() and str(back) == str(err)


def test_client_rewrites_unknown_procedure_to_no_support() -> None:
    for domain in (ErrorDomain.RPC, ErrorDomain.REMOTE):
        received = wire(LibvirtError.rpc("unknown procedure: 454", domain))
        err = LibvirtError.from_remote_error(received)
        assert err.code == ErrorCode.NO_SUPPORT
        assert err.domain == domain
        assert err.message == "unknown procedure: 454"
        assert err.str1 == "%s" and err.str2 == "unknown procedure: 454"
        kept = LibvirtError.from_remote_error(received, rewrite_unknown_procedure=False)
        assert kept.code == ErrorCode.RPC
    # other domain, other code, other message or level: untouched
    for other in (
        LibvirtError.rpc("unknown procedure: 1", ErrorDomain.QEMU),
        LibvirtError.make(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, "unknown procedure: 1"),
        LibvirtError.rpc("Cannot find program 5 version 1"),
        LibvirtError(39, 7, "unknown procedure: 3", ErrorLevel.WARNING),
    ):
        assert LibvirtError.from_remote_error(wire(other)).code == other.code


def test_null_message_becomes_unknown_error() -> None:
    received = wire(LibvirtError.rpc("x"))
    received.message = None
    err = LibvirtError.from_remote_error(received)
    assert err.message == "Unknown error" and str(err) == "Unknown error"


def test_to_remote_error_builds_the_generated_struct() -> None:
    vnp = generated_virnetprotocol()
    err = LibvirtError.no_domain(ErrorDomain.QEMU, "no domain with matching uuid 'x'")
    struct_ = err.to_remote_error()
    assert isinstance(struct_, vnp.VirNetMessageError)
    assert struct_.code == 42 and struct_.domain == 10
    assert struct_.str1 == "Domain not found: %s"
    assert struct_.dom is None and struct_.net is None
    assert LibvirtError.from_remote_error(struct_).fields() == err.fields()


PYLIBVIRT_SCRIPT = r"""
import json, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
out = []
def grab(f):
    try:
        f()
    except libvirt.libvirtError as e:
        out.append([e.get_error_code(), e.get_error_domain(), e.get_error_message(),
                    e.get_error_level(), e.get_str1(), e.get_str2(), e.get_str3(),
                    e.get_int1(), e.get_int2()])
c = libvirt.open("test:///default")
grab(lambda: c.lookupByName("nosuch"))
d = c.lookupByName("test")
grab(lambda: d.attachDeviceFlags("<disk/>", 1))
d.destroy()
grab(lambda: d.destroy())
grab(lambda: c.defineXML("<domain type='test'><name>b</name></domain>"))
ro = libvirt.openReadOnly("test:///default")
grab(lambda: ro.lookupByName("test").destroy())
print(json.dumps(out))
"""


@pytest.mark.interop
def test_make_matches_real_libvirt_errors() -> None:
    """The same errors raised in-process by the real libvirt 9.0 test driver."""
    import json
    import os
    import subprocess

    from tests.conftest import need_peer

    python = "/usr/bin/python3"
    available = os.path.exists(python) and (
        subprocess.run([python, "-c", "import libvirt"], capture_output=True).returncode == 0
    )
    need_peer(available, "python3-libvirt under /usr/bin/python3")
    proc = subprocess.run(
        [python, "-c", PYLIBVIRT_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    real = [tuple(e) for e in json.loads(proc.stdout)]
    ours = [
        LibvirtError.no_domain(ErrorDomain.TEST),
        LibvirtError.no_support("virDomainAttachDeviceFlags"),
        LibvirtError.operation_invalid("domain is not running", ErrorDomain.DOMAIN),
        LibvirtError.xml_error("an os <type> must be specified"),
        LibvirtError.operation_denied_readonly("virDomainDestroy"),
    ]
    assert real == [e.err for e in ours]
