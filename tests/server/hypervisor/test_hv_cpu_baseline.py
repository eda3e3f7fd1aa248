"""cpu-compare / cpu-baseline and the hypervisor-cpu-* forms (cpu_x86.py, cpu_baseline.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor import cpu_map_gen
from virtwire.server.hypervisor.cpu_map_x86 import QEMU_HOST_MODELS

from tests.libvirt_source import libvirt_src_tree

INCOMPATIBLE, IDENTICAL, SUPERSET = 0, 1, 2
FAIL, EXPAND, MIGRATABLE = 1, 1, 2
SKYLAKE = (
    "<cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model><vendor>Intel</vendor>"
    "<feature name='ds'/><feature name='vmx'/><feature name='invtsc'/></cpu>"
)
HASWELL = (
    "<cpu><arch>x86_64</arch><model>Haswell-noTSX</model><vendor>Intel</vendor>"
    "<feature name='vmx'/></cpu>"
)


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///system")


def host_cpu_xml(drv) -> str:
    cpu = ET.fromstring(drv.connect_get_capabilities()).find("host/cpu")
    return ET.tostring(cpu, encoding="unicode")


@pytest.mark.interop
def test_cpu_map_is_not_stale() -> None:
    src = libvirt_src_tree()
    text = cpu_map_gen.render(*cpu_map_gen.build(src), cpu_map_gen.build_qemu(src))
    assert cpu_map_gen.OUTPUT.read_text(encoding="utf-8") == text, (
        "server/hypervisor/cpu_map_x86.py is stale: "
        "python -m virtwire.server.hypervisor.cpu_map_gen --libvirt-src TREE"
    )


def test_capabilities_advertise_the_host_cpu(drv):
    cpu = ET.fromstring(drv.connect_get_capabilities()).find("host/cpu")
    model, vendor, features = QEMU_HOST_MODELS["kvm"]
    assert (
        (cpu.findtext("model"), cpu.findtext("vendor")) == (model, vendor) == ("EPYC-Rome", "AMD")
    )
    assert [f.get("name") for f in cpu.findall("feature")] == [n for n, _ in features]


def test_compare_results(drv):
    host = host_cpu_xml(drv)
    assert drv.connect_compare_cpu(host, 0) == IDENTICAL
    assert drv.connect_compare_cpu("<cpu><model>EPYC</model></cpu>", 0) == SUPERSET
    assert drv.connect_compare_cpu("<cpu mode='host-passthrough'/>", 0) == SUPERSET
    lacking = "<cpu><model>EPYC-Rome</model><feature policy='require' name='avx512f'/></cpu>"
    assert drv.connect_compare_cpu(lacking, 0) == INCOMPATIBLE
    with pytest.raises(LibvirtError) as exc:
        drv.connect_compare_cpu(lacking, FAIL)
    assert err(exc) == (ErrorCode.CPU_INCOMPATIBLE, ErrorDomain.CPU,
                        "the CPU is incompatible with host CPU: Host CPU does not provide "
                        "required features: avx512f")  # fmt: skip
    optional = lacking.replace("'require'", "'optional'")
    assert drv.connect_compare_cpu(optional, FAIL) == SUPERSET
    for xml, why in [
        ("<cpu><model>EPYC-Rome</model><feature policy='forbid' name='svm'/></cpu>",
         "Host CPU provides forbidden features: svm"),
        ("<cpu match='strict'><model>EPYC</model></cpu>",
         "Host CPU does not strictly match guest CPU: Extra features: "),
        ("<cpu><model>Haswell</model><vendor>Intel</vendor></cpu>",
         "host CPU vendor does not match required CPU vendor Intel"),
        ("<cpu><arch>ppc64</arch><model>POWER9</model></cpu>",
         "CPU arch ppc64 does not match host arch"),
        (SKYLAKE.replace("<vendor>Intel</vendor>", ""),
         "Host CPU does not provide required features: "),
    ]:  # fmt: skip
        assert drv.connect_compare_cpu(xml, 0) == INCOMPATIBLE
        with pytest.raises(LibvirtError) as exc:
            drv.connect_compare_cpu(xml, FAIL)
        assert exc.value.message.startswith(f"the CPU is incompatible with host CPU: {why}"), xml


def test_compare_identical_means_the_same_bits(drv):
    """A definition that names the host's features another way is still identical."""
    expanded = drv.connect_baseline_cpu([host_cpu_xml(drv)], EXPAND)
    assert "<model fallback='forbid'>EPYC-Rome</model>" in expanded
    assert drv.connect_compare_cpu(expanded, 0) == IDENTICAL
    one_less = expanded.replace("<feature policy='require' name='avx2'/>\n", "")
    assert drv.connect_compare_cpu(one_less, 0) == IDENTICAL  # the model still has it
    # x86Compute leaves what the guest disables out of the extras: still identical
    disabled = expanded.replace("policy='require' name='avx2'", "policy='disable' name='avx2'")
    assert drv.connect_compare_cpu(disabled, 0) == IDENTICAL
    fewer = disabled.replace("<model fallback='forbid'>EPYC-Rome", "<model>EPYC")
    assert drv.connect_compare_cpu(fewer.split("<feature")[0] + "</cpu>", 0) == SUPERSET


def test_compare_errors(drv):
    cases = [
        ("<domain/>", (ErrorCode.XML_ERROR, ErrorDomain.CPU,
                       "XML error: XML does not contain expected 'cpu' element")),
        ("<cpu><model>Pentium9</model></cpu>", (ErrorCode.INTERNAL_ERROR, ErrorDomain.CPU,
                                                "internal error: Unknown CPU model Pentium9")),
        ("<cpu><model>EPYC</model><feature name='warp'/></cpu>",
         (ErrorCode.INTERNAL_ERROR, ErrorDomain.CPU, "internal error: Unknown CPU feature warp")),
        ("<cpu><feature name='avx'/></cpu>",
         (ErrorCode.XML_ERROR, ErrorDomain.CPU,
          "XML error: Non-empty feature list specified without CPU model")),
        ("<cpu><model>EPYC</model><feature name='avx'/><feature name='avx'/></cpu>",
         (ErrorCode.XML_ERROR, ErrorDomain.CPU,
          "XML error: CPU feature 'avx' specified more than once")),
        ("<cpu mode='hostish'/>", (ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.CPU,
                                   "unsupported configuration: Invalid mode attribute 'hostish'")),
        ("<cpu match='exact'><arch>x86_64</arch></cpu>",
         (ErrorCode.XML_ERROR, ErrorDomain.CPU, "XML error: 'arch' element cannot be used inside "
                                                "'cpu' element with 'match' attribute'")),
    ]  # fmt: skip
    for xml, expected in cases:
        with pytest.raises(LibvirtError) as exc:
            drv.connect_compare_cpu(xml, 0)
        assert err(exc) == expected, xml
    with pytest.raises(LibvirtError) as exc:
        drv.connect_compare_cpu("<cpu><model>EPYC</model>", 0)
    assert exc.value.code == ErrorCode.XML_DETAIL and exc.value.domain == ErrorDomain.CPU
    with pytest.raises(LibvirtError) as exc:
        drv.connect_compare_cpu("<cpu/>", 4)
    assert exc.value.message == "unsupported flags (0x4) in function qemuConnectCompareCPU"


def test_hypervisor_compare_uses_the_host_model_of_the_virttype(drv):
    host = host_cpu_xml(drv)
    assert drv.connect_compare_hypervisor_cpu(None, None, None, None, host, 0) == IDENTICAL
    args = ("/usr/bin/qemu-system-x86_64", "x86_64", "q35", "kvm")
    assert drv.connect_compare_hypervisor_cpu(*args, host, 0) == IDENTICAL
    # TCG's host-model is an EPYC without (among others) sha-ni
    tcg = drv.connect_compare_hypervisor_cpu(None, None, None, "qemu", host, 0)
    assert tcg == INCOMPATIBLE
    with pytest.raises(LibvirtError) as exc:
        drv.connect_compare_hypervisor_cpu(None, None, None, "qemu", host, FAIL)
    assert "Host CPU does not provide required features: " in exc.value.message
    for args, expected in [
        ((None, None, None, "warp"), (ErrorCode.INVALID_ARG, "invalid argument: unknown virttype: warp")),
        ((None, "z80", None, None), (ErrorCode.INVALID_ARG, "invalid argument: unknown architecture: z80")),
        ((None, "aarch64", None, None), (ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: unable to find any emulator to serve 'aarch64' architecture")),
        (("/usr/bin/qemu-kvm", None, None, None), (ErrorCode.SYSTEM_ERROR,
         "Cannot check QEMU binary /usr/bin/qemu-kvm: No such file or directory")),
        ((None, None, "virt", None), (ErrorCode.INVALID_ARG, "invalid argument: the machine 'virt' "
                                      "is not supported by emulator '/usr/bin/qemu-system-x86_64'")),
    ]:  # fmt: skip
        with pytest.raises(LibvirtError) as exc:
            drv.connect_compare_hypervisor_cpu(*args, host, 0)
        assert (exc.value.code, exc.value.domain, exc.value.message) == (
            expected[0],
            ErrorDomain.QEMU,
            expected[1],
        ), args


def test_baseline_of_identical_cpus_is_that_cpu(drv):
    out = drv.connect_baseline_cpu([SKYLAKE, SKYLAKE], 0)
    assert out == (
        "<cpu mode='custom' match='exact'>\n"
        "  <model fallback='forbid'>Skylake-Client-IBRS</model>\n"
        "  <vendor>Intel</vendor>\n"
        "  <feature policy='require' name='ds'/>\n"
        "  <feature policy='require' name='vmx'/>\n"
        "  <feature policy='require' name='invtsc'/>\n"
        "</cpu>\n"
    )
    assert drv.connect_compare_cpu(out, 0) == INCOMPATIBLE  # an Intel CPU on an AMD host
    migratable = drv.connect_baseline_cpu([SKYLAKE], MIGRATABLE)
    assert "invtsc" not in migratable and "name='vmx'" in migratable


def test_baseline_intersects_and_names_the_best_model(drv):
    out = drv.connect_baseline_cpu([SKYLAKE, HASWELL], 0)
    assert out == (
        "<cpu mode='custom' match='exact'>\n"
        "  <model fallback='allow'>Haswell-noTSX</model>\n"
        "  <vendor>Intel</vendor>\n"
        "  <feature policy='require' name='vmx'/>\n"
        "</cpu>\n"
    )
    expanded = drv.connect_baseline_cpu([SKYLAKE, HASWELL], EXPAND)
    names = [f.get("name") for f in ET.fromstring(expanded).findall("feature")]
    assert names == sorted(names) and "avx2" in names and "vmx" in names and "hle" not in names


def test_baseline_leaves_out_what_qemu_filters(drv, registry):
    cpu = HASWELL.replace("<feature name='vmx'/>", "<feature name='osxsave'/><feature name='cmt'/>")
    assert "osxsave" not in drv.connect_baseline_cpu([cpu], 0)
    assert "name='osxsave'" in registry.open("test:///default").connect_baseline_cpu([cpu], 0)


def test_baseline_errors(drv):
    cases = [
        ([], (ErrorCode.INVALID_ARG, "invalid argument: no CPUs given")),
        (["<cpu><model>EPYC</model></cpu>"], (ErrorCode.XML_ERROR,
                                              "XML error: Missing CPU architecture")),
        ([SKYLAKE, SKYLAKE.replace("Intel", "AMD")],
         (ErrorCode.OPERATION_FAILED, "operation failed: CPU vendor Intel of model "
                                      "Skylake-Client-IBRS differs from vendor AMD")),
        ([SKYLAKE, "<cpu><arch>x86_64</arch><model>EPYC</model><vendor>AMD</vendor></cpu>"],
         (ErrorCode.OPERATION_FAILED, "operation failed: CPU vendors do not match")),
        ([SKYLAKE.replace("Intel", "Cyrix").replace("Skylake-Client-IBRS", "486")],
         (ErrorCode.OPERATION_FAILED, "operation failed: Unknown CPU vendor Cyrix")),
        (["<cpu><arch>ppc64</arch><model>POWER9</model></cpu>"],
         (ErrorCode.NO_SUPPORT, "this function is not supported by the connection driver: "
                                "cannot compute baseline CPU of ppc64 architecture")),
    ]  # fmt: skip
    for cpus, (code, text) in cases:
        with pytest.raises(LibvirtError) as exc:
            drv.connect_baseline_cpu(cpus, 0)
        assert (exc.value.code, exc.value.domain, exc.value.message) == (
            code,
            ErrorDomain.CPU,
            text,
        ), cpus


def test_hypervisor_baseline_offers_only_qemu_models(drv):
    icelake = "<cpu><model>Icelake-Client</model><vendor>Intel</vendor></cpu>"  # gone in QEMU 7.1
    out = drv.connect_baseline_hypervisor_cpu(None, None, None, None, [icelake, icelake], 0)
    root = ET.fromstring(out)
    assert root.findtext("model") != "Icelake-Client" and root.find("model").get("fallback") == (
        "forbid"
    )
    assert "<model fallback='forbid'>Icelake-Client</model>" in drv.connect_baseline_cpu(
        [icelake.replace("<cpu>", "<cpu><arch>x86_64</arch>")], 0
    )
    guest = "<cpu mode='custom' match='exact'><model>Haswell-noTSX</model></cpu>"
    out = drv.connect_baseline_hypervisor_cpu(None, "x86_64", "pc", "kvm", [guest], 0)
    assert out.splitlines()[1] == "  <model fallback='forbid'>Haswell-noTSX</model>"
    with pytest.raises(LibvirtError) as exc:
        drv.connect_baseline_hypervisor_cpu(None, None, None, None, ["<cpu/>"], 0)
    assert exc.value.message == "invalid argument: no CPU model specified at index 0"
