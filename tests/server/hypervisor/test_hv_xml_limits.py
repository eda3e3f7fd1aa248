"""Issue 14 #3: values libvirtd 9.0 refuses are refused at the door, on every host and XML API.

The expected (code, domain, message) triples are what libvirtd 9.0 answered to the same
documents (recorded side by side; ``tests/interop/test_xml_limits.py`` compares live).
"""

from __future__ import annotations

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.errors import LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.xmllimits import STORED_MAX_DEPTH

GET_INFO = procedures.resolve("DOMAIN_GET_INFO")
HOSTS = ("test:///default", "qemu:///session")


def dom_xml(host: str, name: str, body: str) -> str:
    virt = "test" if host.startswith("test") else "qemu"
    return f"<domain type='{virt}'><name>{name}</name>{body}<os><type>hvm</type></os></domain>"


def nested(n: int) -> str:
    return "<a>" * n + "</a>" * n


def refusal(fn, *args) -> tuple[int, int, str]:
    with pytest.raises(LibvirtError) as ei:
        fn(*args)
    return int(ei.value.code), int(ei.value.domain), ei.value.message


SIZE_CASES = [
    (
        "<memory>1" + "0" * 30 + "</memory>",
        (
            27,
            5,
            "XML error: Invalid value '1" + "0" * 30 + "' for element or attribute './memory[1]'",
        ),
    ),
    (
        "<memory>18446744073709551616</memory>",
        (
            27,
            5,
            "XML error: Invalid value '18446744073709551616' for element or attribute './memory[1]'",
        ),
    ),
    (
        "<memory>18446744073709551615</memory>",
        (82, 0, "numerical overflow: value too large: 18446744073709551615"),
    ),
    (
        "<memory>9007199254740992</memory>",
        (82, 0, "numerical overflow: value too large: 9007199254740992"),
    ),
    (
        "<memory unit='GiB'>99999999999999</memory>",
        (82, 0, "numerical overflow: value too large: 99999999999999GiB"),
    ),
    (
        "<memory>-5</memory>",
        (27, 5, "XML error: Invalid value '-5' for element or attribute './memory[1]'"),
    ),
    ("<memory unit='zz'>5</memory>", (8, 0, "invalid argument: unknown suffix 'zz'")),
    (
        "<memory>1024</memory><currentMemory>" + "9" * 30 + "</currentMemory>",
        (
            27,
            5,
            "XML error: Invalid value '" + "9" * 30 + "' for element or attribute "
            "'./currentMemory[1]'",
        ),
    ),
    (
        "<memory>1024</memory><maxMemory slots='4'>" + "9" * 30 + "</maxMemory>",
        (
            27,
            5,
            "XML error: Invalid value '" + "9" * 30 + "' for element or attribute './maxMemory[1]'",
        ),
    ),
    (
        "<memory>1024</memory><vcpu>1000000000000</vcpu>",
        (27, 20, "XML error: maximum vcpus count must be an integer"),
    ),
    (
        "<memory>1024</memory><vcpu>4294967296</vcpu>",
        (27, 20, "XML error: maximum vcpus count must be an integer"),
    ),
]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(("body", "expected"), SIZE_CASES)
def test_out_of_range_values_are_refused_at_define_and_create(registry, host, body, expected):
    drv = registry.open(host)
    assert refusal(drv.domain_define_xml_flags, dom_xml(host, "big", body), 0) == expected
    assert refusal(drv.domain_create_xml, dom_xml(host, "big", body), 0) == expected
    assert all(obj.name != "big" for obj in drv.domains.values())


@pytest.mark.parametrize("host", HOSTS)
def test_largest_accepted_memory_comes_back_out(registry, host):
    drv = registry.open(host)
    dom = drv.domain_define_xml_flags(dom_xml(host, "m", "<memory>9007199254740991</memory>"), 0)
    info = drv.domain_get_info(dom)
    assert (info.max_mem, info.memory) == (9007199254740991, 9007199254740991)
    packed = GET_INFO.ret.pack(rp.RemoteDomainGetInfoRet(*info))  # fits the wire
    assert GET_INFO.ret.unpack(packed).maxMem == 9007199254740991
    assert drv.domain_get_max_memory(dom) == 9007199254740991
    assert "<memory unit='KiB'>9007199254740991</memory>" in drv.domain_get_xml_desc(dom, 0)


def test_vcpus_beyond_an_unsigned_short_keep_the_low_bits_in_info(registry):
    """libvirtd 9.0: 65537 vCPUs are accepted; info's nrVirtCpu (unsigned short) says 1."""
    drv = registry.open("test:///default")
    dom = drv.domain_define_xml_flags(
        dom_xml("test:///default", "v", "<memory>1024</memory><vcpu>65537</vcpu>"), 0
    )
    info = drv.domain_get_info(dom)
    assert info.nr_virt_cpu == 1
    assert GET_INFO.ret.unpack(GET_INFO.ret.pack(rp.RemoteDomainGetInfoRet(*info))).nrVirtCpu == 1
    assert drv.domain_get_vcpus_flags(dom, 0) == 65537


def test_qemu_host_refuses_more_vcpus_than_the_machine_type(registry):
    drv = registry.open("qemu:///session")
    for machine, limit in (("pc", 255), ("pc-q35-7.2", 288)):
        xml = (
            f"<domain type='qemu'><name>v</name><memory>1024</memory><vcpu>{limit + 1}</vcpu>"
            f"<os><type machine='{machine}'>hvm</type></os></domain>"
        )
        assert refusal(drv.domain_define_xml_flags, xml, 0) == (
            67,  # VIR_ERR_CONFIG_UNSUPPORTED
            10,  # VIR_FROM_QEMU
            f"unsupported configuration: Maximum CPUs greater than specified machine type "
            f"limit {limit}",
        )
        ok = xml.replace(f"<vcpu>{limit + 1}</vcpu>", f"<vcpu>{limit}</vcpu>")
        drv.domain_undefine(drv.domain_define_xml_flags(ok, 0))


DEPTH_MULTILINE = (
    "<domain type='test'>\n<name>dm</name>\n<description>\n"
    + "<a>\n" * 300
    + "</a>\n" * 300
    + "</description><os><type>hvm</type></os></domain>"
)


def test_nesting_past_libxml2s_limit_is_refused_with_its_text():
    # libvirtd 9.0, byte for byte
    assert refusal(domxml.parse_document, DEPTH_MULTILINE) == (
        35,
        20,
        "(domain_definition):259: Excessive depth in document: 256 use XML_PARSE_HUGE option\n"
        "<a>\n^",
    )
    prefix = "<domain type='test'><name>d</name><memory>1024</memory><description>"
    for total, refused in ((257, False), (258, True)):
        text = prefix + nested(total - 2) + "</description><os><type>hvm</type></os></domain>"
        if not refused:
            domxml.parse_document(text)
            continue
        code, domain, message = refusal(domxml.parse_document, text)
        column = len(prefix) + 3 * (total - 3)  # the '<' of the element that is too deep
        assert (code, domain) == (35, 20)
        assert message == (
            "(domain_definition):1: Excessive depth in document: 256 use XML_PARSE_HUGE "
            f"option\n{text}\n" + "-" * column + "^"
        )


def test_a_100k_deep_document_is_refused_quickly_without_recursion():
    text = "<domain type='test'><name>d</name>" + nested(100_000) + "</domain>"
    code, domain, message = refusal(domxml.parse_document, text)
    assert (code, domain) == (35, 20) and "Excessive depth" in message


def test_bytes_that_are_not_utf8_are_refused_with_libxml2s_text():
    raw = (
        b"<domain type='test'>\n<name>u</name>\n<description>ok \xc3\x28 x</description>"
        b"<memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    text = raw.decode("utf-8", "surrogateescape")  # how strings arrive from the wire
    code, domain, message = refusal(domxml.parse_document, text)
    line = "<description>ok \udcc3( x</description><memory>1024</memory><os><type>hvm</type></os></domain>"
    assert (code, domain) == (35, 20)
    assert message == (
        "(domain_definition):3: Input is not proper UTF-8, indicate encoding !\n"
        "Bytes: 0xC3 0x28 0x20 0x78\n" + line + "\n" + "-" * 16 + "^"
    )


@pytest.mark.parametrize("host", HOSTS)
def test_every_xml_api_of_the_host_refuses_deep_documents(registry, host):
    drv = registry.open(host)
    deep = nested(256)
    dom = drv.domain_define_xml_flags(dom_xml(host, "d", "<memory>1024</memory>"), 0)
    drv.domain_create_with_flags(dom, 0)
    calls = [
        (
            "domain_definition",
            20,
            drv.domain_define_xml_flags,
            dom_xml(host, "x", f"<description>{deep}</description>"),
            0,
        ),
        (
            "domain_definition",
            20,
            drv.domain_create_xml,
            dom_xml(host, "x", f"<description>{deep}</description>"),
            0,
        ),
        (
            "network_definition",
            19,
            drv.network_define_xml_flags,
            f"<network><name>n1</name><description>{deep}</description></network>",
            0,
        ),
        (
            "storage_pool_definition",
            18,
            drv.storage_pool_define_xml,
            f"<pool type='dir'><name>p1</name><target><path>/x</path></target>"
            f"<source>{deep}</source></pool>",
            0,
        ),
    ]
    if host.startswith("qemu"):  # libvirt 9.0's test driver has no device hot-plug
        calls.append(
            (
                "device_definition",
                20,
                drv.domain_attach_device_flags,
                dom,
                f"<interface type='network'><source network='default'/><x>{deep}</x></interface>",
                1,
            )
        )
    if host.startswith("test"):
        calls.append(
            (
                "domain_snapshot",
                35,
                drv.domain_snapshot_create_xml,
                dom,
                f"<domainsnapshot><name>s1</name><description>{deep}</description>"
                "</domainsnapshot>",
                0,
            )
        )
        calls.append(
            (
                "interface_definition",
                26,
                drv.interface_define_xml,
                f"<interface type='ethernet' name='e9'><x>{deep}</x></interface>",
                0,
            )
        )
    for what, domain, fn, *args in calls:
        code, got_domain, message = refusal(fn, *args)
        assert (code, got_domain) == (35, domain), (what, message[:200])
        assert message.startswith(f"({what}):1: Excessive depth in document: 256 use")
    assert "<a>" not in drv.domain_get_xml_desc(dom, 0)


def test_a_stored_domain_holding_an_attached_deep_device_loads_again(registry):
    """A device may be 257 deep on its own; inside <domain><devices> the stored file is
    deeper, and the QEMU host still reads it back at start."""
    drv = registry.open("qemu:///session")
    dom = drv.domain_define_xml_flags(dom_xml("qemu", "keep", "<memory>1024</memory>"), 0)
    device = "<interface type='network'><source network='default'/>" + nested(255) + "</interface>"
    drv.domain_attach_device_flags(dom, device, 2)  # --config
    stored = drv.store.path_for("keep").read_text()
    with pytest.raises(LibvirtError):
        domxml.parse_document(stored)  # deeper than one client document may be
    assert domxml.parse_document(stored, max_depth=STORED_MAX_DEPTH) is not None
    assert drv.parse(stored, max_depth=STORED_MAX_DEPTH).name == "keep"


def test_a_syntax_error_shows_the_whole_line_as_libvirt_does():
    """libvirt 9.0's catchXMLError copies the whole line (no 80-column cut)."""
    text = (
        "<domain type='test'><name>" + "x" * 100 + "</name><memory>1024</memory>"
        "<os><type>hvm</type></os></domainz>"
    )
    code, domain, message = refusal(domxml.parse_document, text)
    assert (code, domain) == (35, 20)
    assert message == (
        "(domain_definition):1: Opening and ending tag mismatch: domain line 1 and domainz\n"
        + text
        + "\n"
        + "-" * len(text)  # libxml2 stops after the closing tag
        + "^"
    )
