"""The generated API-facts table: fresh against libvirt 9.0's sources, and sane."""

from __future__ import annotations

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
