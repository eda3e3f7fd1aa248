"""The generated API-facts table: fresh against libvirt 9.0's sources, and sane."""

from __future__ import annotations

import dataclasses

import pytest
from virtwire.protocol import api_facts_gen, procedures
from virtwire.protocol.api_facts import API_FACTS
from virtwire.protocol.errors import ErrorDomain

from tests.libvirt_source import libvirt_src_tree


@pytest.mark.interop
def test_api_facts_are_not_stale() -> None:
    """Regenerating from libvirt's src/libvirt*.c gives the committed table."""
    text = api_facts_gen.render(*api_facts_gen.build(libvirt_src_tree()))
    assert api_facts_gen.OUTPUT.read_text(encoding="utf-8") == text, (
        "protocol/api_facts.py is stale: python -m virtwire.protocol.api_facts_gen --libvirt-src TREE"
    )


def test_every_procedure_has_facts_and_events_have_no_api() -> None:
    for proc in procedures.all_procedures():
        if proc.program == procedures.PROGRAMS[0][1] or proc.name in API_FACTS:
            assert proc.name in API_FACTS or proc.name.startswith("KEEPALIVE"), proc.name
        if proc.is_event:
            assert proc.api is None and not proc.changes_state, proc.name


def test_error_domains_are_known() -> None:
    for name, (_api, _driver, _member, domain, _ro) in API_FACTS.items():
        assert domain in ErrorDomain.__members__, (name, domain)


def test_only_the_daemons_own_procedures_lack_an_api() -> None:
    missing = sorted(
        p.short_name
        for p in procedures.all_procedures()
        if p.api is None and not p.is_event and p.program != 0x6B656570
    )
    assert missing == [
        "AUTH_LIST",
        "AUTH_POLKIT",
        "AUTH_SASL_INIT",
        "AUTH_SASL_START",
        "AUTH_SASL_STEP",
    ]


@pytest.mark.parametrize(
    ("name", "api", "driver", "domain", "readonly"),
    [
        ("REMOTE_PROC_DOMAIN_DESTROY", "virDomainDestroy", "hypervisor", "DOMAIN", True),
        ("REMOTE_PROC_DOMAIN_GET_XML_DESC", "virDomainGetXMLDesc", "hypervisor", "DOMAIN", False),
        ("REMOTE_PROC_NETWORK_CREATE", "virNetworkCreate", "network", "NETWORK", True),
        ("REMOTE_PROC_STORAGE_VOL_UPLOAD", "virStorageVolUpload", "storage", "STORAGE", True),
        ("REMOTE_PROC_NODE_DEVICE_DETTACH", "virNodeDeviceDettach", "hypervisor", "NODEDEV", True),
        ("REMOTE_PROC_SECRET_GET_VALUE", "virSecretGetValue", "secret", "SECRET", True),
        (
            "QEMU_PROC_DOMAIN_MONITOR_COMMAND",
            "virDomainQemuMonitorCommand",
            "hypervisor",
            "NONE",
            True,
        ),
        ("LXC_PROC_DOMAIN_OPEN_NAMESPACE", "virDomainLxcOpenNamespace", "hypervisor", "NONE", True),
    ],
)
def test_sample_facts(name: str, api: str, driver: str, domain: str, readonly: bool) -> None:
    proc = procedures.by_name(name)
    assert (proc.api, proc.driver, proc.error_domain, proc.changes_state) == (
        api,
        driver,
        domain,
        readonly,
    )


_BODY = """virDomainFooBar(virDomainPtr dom, const char *disk, int nparams,
                virTypedParameterPtr params, unsigned char *buffer, unsigned int flags)
{
    virCheckDomainReturn(dom, -1);
    virCheckNonEmptyStringArgGoto(disk, error);
    virCheckReadOnlyGoto(conn->flags, error);
    if (flags > 0)
        virCheckNonNullArgGoto(buffer, error);
    virCheckNonNullArgGoto(params, error);
    virCheckPositiveArgGoto(nparams, error);
    virCheckNonNullArgGoto(buffer, error);

    if (conn->driver->domainFooBar) {
        ret = conn->driver->domainFooBar(dom, disk, params, nparams, buffer, flags);
        virCheckNonZeroArgGoto(flags, error);
    }
    virReportUnsupportedError();
"""


def test_arg_checks_in_order_with_the_read_only_mark() -> None:
    @dataclasses.dataclass
    class Args:
        dom: object
        disk: str | None
        params: list[int]
        flags: int

    checks, skipped = api_facts_gen.arg_checks("virDomainFooBar", _BODY, Args)
    assert checks == (
        ("nonempty", "disk", "disk"),
        ("readonly", "", ""),
        ("nonnull_array", "params", "params"),
        ("positive", "nparams", "len:params"),
    )
    # the conditional one, an output buffer, nothing after the driver call
    assert skipped == [
        "virDomainFooBar: nonnull(buffer) conditional",
        "virDomainFooBar: nonnull(buffer) cannot fire on the wire or is unmapped",
    ]


def test_arg_checks_of_the_walks_procedures() -> None:
    """The argument errors libvirtd answers for zero args (the wire-diff walk) are all here."""
    from virtwire.protocol.api_facts import ARG_CHECKS

    assert ARG_CHECKS["REMOTE_PROC_SECRET_SET_VALUE"] == (
        ("readonly", "", ""),
        ("nonnull_array", "value", "value"),
    )
    assert ARG_CHECKS["REMOTE_PROC_DOMAIN_BLOCK_PEEK"] == (
        ("readonly", "", ""),
        ("nonempty_nonnull", "disk", "path"),
    )
    assert ARG_CHECKS["REMOTE_PROC_STORAGE_VOL_RESIZE"][-1][0] == "resize_capacity"
    assert ARG_CHECKS["REMOTE_PROC_DOMAIN_SET_LAUNCH_SECURITY_STATE"][-1][0] == "readonly"
    # a remote_uuid is never NULL: no check for it on the lookups
    assert "REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID" not in ARG_CHECKS
