"""Generate ``server/hypervisor/cpu_map_x86.py``: libvirt 9.0's x86 CPU map as tables.

libvirt's x86 CPU driver (src/cpu/cpu_x86.c) reasons about CPUID and MSR bits: each
feature of src/cpu_map/x86_features.xml names some bits, each model of x86_*.xml (in
index.xml's order) is the union of its features' bits.  This generator reads those files
and writes one committed table: every feature as a bit mask (bit ``32 * R + b`` is bit
``b`` of the R-th register the map mentions, in the order it mentions them), whether it is
migratable, and every model's vendor, decode flags, features and removed features; and,
from libvirt's QEMU 7.2 test data (tests/domaincapsdata/qemu_7.2.0.x86_64.xml, a real
KVM host), the CPU models that QEMU offers and the host-model CPU it reports, which the
simulated QEMU hosts use as their host CPU.  Nothing at run time needs libvirt's source.

    python -m virtwire.server.hypervisor.cpu_map_gen --libvirt-src TREE          # rewrite
    python -m virtwire.server.hypervisor.cpu_map_gen --libvirt-src TREE --check  # exit 1 if stale
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "cpu_map_x86.py"
DOMCAPS = {  # virttype → libvirt's domain capabilities test data for QEMU 7.2
    "kvm": Path("tests/domaincapsdata/qemu_7.2.0.x86_64.xml"),
    "qemu": Path("tests/domaincapsdata/qemu_7.2.0-tcg.x86_64.xml"),
}
HostModel = tuple[str, str, tuple[tuple[str, str], ...]]
CPUID_REGS = ("eax", "ebx", "ecx", "edx")
MSR_REGS = ("eax", "edx")

Feature = tuple[str, int, bool]
Model = tuple[str, str | None, bool, bool, tuple[str, ...], tuple[str, ...]]


def _x86_files(src: Path) -> list[Path]:
    """index.xml's x86 includes, in order."""
    cpu_map = src / "src" / "cpu_map"
    index = ET.parse(cpu_map / "index.xml").getroot()
    arch = next(a for a in index.findall("arch") if a.get("name") == "x86")
    return [cpu_map / inc.get("filename", "") for inc in arch.findall("include")]


def build(src: Path) -> tuple[dict[str, str], list[Feature], list[Model]]:
    """(vendor name → CPUID string, features in map order, models in map order)."""
    registers: dict[tuple[str, int, int, str], int] = {}
    vendors: dict[str, str] = {}
    features: list[Feature] = []
    models: list[Model] = []

    def bits(key: tuple[str, int, int, str], value: int) -> int:
        index = registers.setdefault(key, len(registers))
        return value << (32 * index)

    for path in _x86_files(src):
        root = ET.parse(path).getroot()
        for vendor in root.findall("vendor"):
            vendors[vendor.get("name", "")] = vendor.get("string", "")
        for feat in root.findall("feature"):
            mask = 0
            for cpuid in feat.findall("cpuid"):
                leaf, sub = int(cpuid.get("eax_in", "0"), 16), int(cpuid.get("ecx_in", "0"), 16)
                for reg in CPUID_REGS:
                    if cpuid.get(reg):
                        mask |= bits(("cpuid", leaf, sub, reg), int(cpuid.get(reg, "0"), 16))
            for msr in feat.findall("msr"):
                index = int(msr.get("index", "0"), 16)
                for reg in MSR_REGS:
                    if msr.get(reg):
                        mask |= bits(("msr", index, 0, reg), int(msr.get(reg, "0"), 16))
            features.append((feat.get("name", ""), mask, feat.get("migratable") != "no"))
        for model in root.findall("model"):
            if model.find("model") is not None:
                raise ValueError(f"{path.name}: ancestor models are not supported")
            decode = model.find("decode")
            assert decode is not None, path
            vendor_el = model.find("vendor")
            have = tuple(
                f.get("name", "") for f in model.findall("feature") if f.get("removed") != "yes"
            )
            removed = tuple(
                f.get("name", "") for f in model.findall("feature") if f.get("removed") == "yes"
            )
            models.append((
                model.get("name", ""),
                vendor_el.get("name") if vendor_el is not None else None,
                decode.get("host") == "on",
                decode.get("guest") == "on",
                have,
                removed,
            ))  # fmt: skip
    return vendors, features, models


def build_qemu(src: Path) -> tuple[dict[str, HostModel], tuple[str, ...]]:
    """QEMU 7.2's host-model CPU per virttype (model, vendor, (feature, policy)...) and the
    CPU models it offers (KVM's list)."""
    host_models: dict[str, HostModel] = {}
    names: tuple[str, ...] = ()
    for virttype, path in DOMCAPS.items():
        cpu = ET.parse(src / path).getroot().find("cpu")
        assert cpu is not None
        modes = {m.get("name"): m for m in cpu.findall("mode")}
        host = modes["host-model"]
        feats = tuple((f.get("name", ""), f.get("policy", "")) for f in host.findall("feature"))
        host_models[virttype] = (host.findtext("model", ""), host.findtext("vendor", ""), feats)
        if virttype == "kvm":
            names = tuple(m.text or "" for m in modes["custom"].findall("model"))
    return host_models, names


def render(
    vendors: dict[str, str],
    features: list[Feature],
    models: list[Model],
    qemu: tuple[dict[str, HostModel], tuple[str, ...]],
) -> str:
    out = [
        '"""libvirt 9.0\'s x86 CPU map (generated; do not edit).',
        "",
        "Made by ``python -m virtwire.server.hypervisor.cpu_map_gen`` from src/cpu_map/*.xml.",
        "A feature's mask has bit ``32 * R + b`` for bit ``b`` of the map's R-th CPUID/MSR",
        "register; models are listed in index.xml's order.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "#: vendor name -> CPUID vendor string",
        f"X86_VENDORS: dict[str, str] = {vendors!r}",
        "",
        "#: (name, bit mask, migratable), in x86_features.xml's order",
        "X86_FEATURES: tuple[tuple[str, int, bool], ...] = (",
    ]
    for name, mask, migratable in features:
        out.append(f"    ({name!r}, 0x{mask:x}, {migratable!r}),")
    out += [
        ")",
        "",
        "#: (name, vendor, decode host, decode guest, features, removed features); the",
        "#: feature lists are space-separated names in the model file's order",
        "X86_MODELS: tuple[tuple[str, str | None, bool, bool, str, str], ...] = (",
    ]
    for name, vendor, host, guest, have, removed in models:
        out.append(f"    ({name!r}, {vendor!r}, {host!r}, {guest!r},")
        out.append(f"     {' '.join(have)!r},")
        out.append(f"     {' '.join(removed)!r}),")
    host_models, qemu_models = qemu
    out += [
        ")",
        "",
        "#: QEMU 7.2's host-model CPU per virttype: (model, vendor, ((feature, policy), ...))",
        "QEMU_HOST_MODELS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {",
        *(f"    {k!r}: {v!r}," for k, v in host_models.items()),
        "}",
        "",
        "#: the CPU models QEMU 7.2 offers (domain capabilities, custom mode)",
        f"QEMU_CPU_MODELS: tuple[str, ...] = {qemu_models!r}",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virtwire.server.hypervisor.cpu_map_gen")
    parser.add_argument("--libvirt-src", type=Path, required=True, help="unpacked libvirt tree")
    parser.add_argument("--check", action="store_true", help="exit 1 if cpu_map_x86.py is stale")
    ns = parser.parse_args(argv)
    text = render(*build(ns.libvirt_src), build_qemu(ns.libvirt_src))
    if ns.check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.name} is stale: regenerate it", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
