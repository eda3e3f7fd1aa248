"""libvirt 9.0's x86 CPU driver on the generated map (cpu_map_x86.py): compare and baseline.

As src/cpu/cpu_x86.c, CPUs are sets of CPUID/MSR bits (Python ints): a CPU definition is
its model's bits plus required/forced features minus disabled/forbidden ones
(``x86ModelFromCPU``); ``compare`` is ``virCPUx86Compare``/``x86Compute`` (INCOMPATIBLE 0,
IDENTICAL 1, SUPERSET 2; the reason in the error with FAIL_INCOMPATIBLE); ``baseline`` is
``virCPUx86Baseline``: the bits every CPU has, named by the model ``x86Decode`` picks
(newest first, the fewest extra and disabled features, the inputs' model when they all
name one) plus ``require``/``disable`` features.  CPU XML is read as
``virCPUDefParseXML`` reads it and written as ``virCPUDefFormat`` writes it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.hypervisor.cpu_map_x86 import X86_FEATURES, X86_MODELS, X86_VENDORS
from virtwire.server.hypervisor.cpu_models import ARCH_NAMES
from virtwire.server.hypervisor.domxml import parse_document

__all__ = ["CpuDef", "baseline", "compare", "expand_features", "format_cpu", "parse_cpu"]

INCOMPATIBLE, IDENTICAL, SUPERSET = 0, 1, 2  # virCPUCompareResult
X86_ARCHS = ("i686", "x86_64")
MODES = ("custom", "host-model", "host-passthrough", "maximum")
MATCHES = ("exact", "minimum", "strict")
CHECKS = ("default", "none", "partial", "full")
POLICIES = ("force", "require", "optional", "disable", "forbid")
FEATURE_MASKS = {name: mask for name, mask, _migratable in X86_FEATURES}
NOT_MIGRATABLE = frozenset(name for name, _mask, migratable in X86_FEATURES if not migratable)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    vendor: str | None
    decode_host: bool
    decode_guest: bool
    mask: int
    removed: tuple[str, ...]


def _model_mask(names: str) -> int:
    mask = 0
    for name in names.split():
        mask |= FEATURE_MASKS[name]
    return mask


MODELS = tuple(
    Model(name, vendor, host, guest, _model_mask(have), tuple(removed.split()))
    for name, vendor, host, guest, have, removed in X86_MODELS
)
MODEL_BY_NAME = {m.name: m for m in MODELS}


@dataclass
class CpuDef:
    """virCPUDef, as far as the x86 driver reads it; a feature's policy is None on a host CPU."""

    type: str  # "host" | "guest"
    mode: str = "custom"
    match: str = "exact"
    check: str = "default"
    arch: str | None = None
    model: str | None = None
    vendor: str | None = None
    fallback: str = "allow"
    features: list[tuple[str, str | None]] = field(default_factory=list)


def _cpu_error(code: ErrorCode, detail: str | None) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.CPU, detail)


# -- XML ------------------------------------------------------------------------------------


def _enum_attr(elem: ET.Element, name: str, values: tuple[str, ...], default: str) -> str:
    """virXMLPropEnum (VIR_XML_PROP_NONE)."""
    value = elem.get(name)
    if value is None:
        return default
    if value not in values:
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            ErrorDomain.XML,
            f"Invalid value for attribute '{name}' in element '{elem.tag}': '{value}'.",
        )
    return value


def parse_cpu(text: str | None, cpu_type: str = "auto") -> CpuDef:
    """virCPUDefParseXMLString / the parse of virCPUDefListParse (``cpu_type`` auto|host)."""
    if text is None:
        raise _cpu_error(ErrorCode.INVALID_ARG, "missing CPU definition")
    try:
        root = parse_document(text, "CPU_definition")
    except LibvirtError as exc:
        exc.domain = ErrorDomain.CPU  # virXMLParseStringCtxt from conf/cpu_conf.c
        raise

    def xml_error(detail: str) -> LibvirtError:
        return _cpu_error(ErrorCode.XML_ERROR, detail)

    def unsupported(detail: str) -> LibvirtError:
        return _cpu_error(ErrorCode.CONFIG_UNSUPPORTED, detail)

    if root.tag != "cpu":
        raise xml_error("XML does not contain expected 'cpu' element")
    if cpu_type == "auto":
        if root.find("arch") is not None:
            if root.get("match") is not None:
                raise xml_error(
                    "'arch' element cannot be used inside 'cpu' element with 'match' attribute'"
                )
            cpu_type = "host"
        else:
            cpu_type = "guest"
    cpu = CpuDef(type=cpu_type)
    mode = root.get("mode")
    if mode is not None:
        if cpu_type == "host":
            raise unsupported("Attribute mode is only allowed for guest CPU")
        if mode not in MODES:
            raise unsupported(f"Invalid mode attribute '{mode}'")
        cpu.mode = mode
    if cpu_type == "guest":
        cpu.match = _enum_attr(root, "match", MATCHES, "exact")
        cpu.check = _enum_attr(root, "check", CHECKS, "default")
    if cpu_type == "host":
        arch = root.findtext("arch")
        if arch is None:
            raise xml_error("Missing CPU architecture")
        if arch not in ARCH_NAMES:
            raise unsupported(f"Unknown architecture {arch}")
        cpu.arch = arch
    model_el = root.find("model")
    cpu.model = "".join(model_el.itertext()) if model_el is not None else None
    if cpu.model is None and cpu_type == "host":
        raise xml_error("Missing CPU model name")
    if cpu_type == "guest" and cpu.mode not in ("host-passthrough", "maximum"):
        fallback = model_el.get("fallback") if model_el is not None else None
        if fallback is not None:
            if fallback not in ("allow", "forbid"):
                raise unsupported("Invalid fallback attribute")
            cpu.fallback = fallback
    cpu.vendor = root.findtext("vendor")
    if cpu.vendor is not None and cpu.model is None:
        raise xml_error("CPU vendor specified without CPU model")
    nodes = root.findall("feature")
    if nodes and cpu.model is None and cpu.mode == "custom":
        raise xml_error("Non-empty feature list specified without CPU model")
    for node in nodes:
        policy: str | None = None
        if cpu_type == "guest":
            policy = node.get("policy", "require")
            if policy not in POLICIES:
                raise unsupported("Invalid CPU feature policy")
        name = node.get("name")
        if not name:
            raise xml_error("Invalid CPU feature name")
        if any(name == seen for seen, _ in cpu.features):
            raise xml_error(f"CPU feature '{name}' specified more than once")
        cpu.features.append((name, policy))
    return cpu


def format_cpu(cpu: CpuDef) -> str:
    """virCPUDefFormat (no NUMA cells)."""
    attrs = ""
    if cpu.type == "guest" and (cpu.mode != "custom" or cpu.model):
        attrs = f" mode='{cpu.mode}'"
        if cpu.mode == "custom":
            attrs += f" match='{cpu.match}'"
        if cpu.check != "default":
            attrs += f" check='{cpu.check}'"
    children = []
    if cpu.type == "host" and cpu.arch:
        children.append(f"<arch>{cpu.arch}</arch>")
    with_model = cpu.mode in ("custom", "host-model")
    if with_model and cpu.model:
        fallback = f" fallback='{cpu.fallback}'" if cpu.type == "guest" else ""
        children.append(f"<model{fallback}>{_escape(cpu.model)}</model>")
    if with_model and cpu.vendor:
        children.append(f"<vendor>{_escape(cpu.vendor)}</vendor>")
    for name, policy in cpu.features:
        if cpu.type == "guest":
            children.append(f"<feature policy='{policy}' name='{name}'/>")
        else:
            children.append(f"<feature name='{name}'/>")
    if not children:
        return f"<cpu{attrs}/>\n"
    return f"<cpu{attrs}>\n" + "".join(f"  {c}\n" for c in children) + "</cpu>\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- bits -----------------------------------------------------------------------------------


def _feature_names(mask: int) -> str:
    """x86FeatureNames: every map feature whose bits ``mask`` has (aliases too)."""
    return ", ".join(n for n, m, _ in X86_FEATURES if mask & m == m)


def _to_features(mask: int, policy: str | None) -> list[tuple[str, str | None]]:
    """x86DataToCPUFeatures: map order, each feature's bits taken once."""
    out: list[tuple[str, str | None]] = []
    for name, fmask, _migratable in X86_FEATURES:
        if mask & fmask == fmask:
            mask &= ~fmask
            out.append((name, policy))
    return out


def model_bits(cpu: CpuDef, policy: str | None) -> tuple[int, Model | None]:
    """x86ModelFromCPU: the bits of ``cpu``'s features with ``policy`` (None: all of it)."""
    if cpu.type == "host" and policy not in ("require", None):
        return 0, None
    model = None
    mask = 0
    if cpu.model and policy in ("require", None):
        model = MODEL_BY_NAME.get(cpu.model)
        if model is None:
            raise _cpu_error(ErrorCode.INTERNAL_ERROR, f"Unknown CPU model {cpu.model}")
        mask = model.mask
    for name, fpol in cpu.features:
        fpol = fpol or "require"
        if (policy is None and fpol == "optional") or (policy is not None and fpol != policy):
            continue
        fmask = FEATURE_MASKS.get(name)
        if fmask is None:
            raise _cpu_error(ErrorCode.INTERNAL_ERROR, f"Unknown CPU feature {name}")
        if policy is None and fpol in ("disable", "forbid"):
            mask &= ~fmask
        else:
            mask |= fmask
    return mask, model


# -- compare --------------------------------------------------------------------------------


def _compute(host: CpuDef, cpu: CpuDef) -> tuple[int, str | None]:
    """x86Compute: the result and, when incompatible, why."""
    if cpu.arch is not None and cpu.arch not in X86_ARCHS:
        return INCOMPATIBLE, f"CPU arch {cpu.arch} does not match host arch"
    if cpu.vendor and (not host.vendor or cpu.vendor != host.vendor):
        return INCOMPATIBLE, f"host CPU vendor does not match required CPU vendor {cpu.vendor}"
    host_bits = model_bits(host, None)[0]
    force, require, optional, disable, forbid = (model_bits(cpu, p)[0] for p in POLICIES)
    if forbid & host_bits:
        return (
            INCOMPATIBLE,
            f"Host CPU provides forbidden features: {_feature_names(forbid & host_bits)}",
        )
    require &= ~(force | optional | disable)
    if require & ~host_bits:
        missing = _feature_names(require & ~host_bits)
        return INCOMPATIBLE, f"Host CPU does not provide required features: {missing}"
    diff = host_bits & ~(optional | require | disable | force)
    if not diff:
        return IDENTICAL, None
    if cpu.type == "guest" and cpu.match == "strict":
        extra = _feature_names(diff)
        return INCOMPATIBLE, f"Host CPU does not strictly match guest CPU: Extra features: {extra}"
    return SUPERSET, None


def compare(host: CpuDef | None, cpu: CpuDef, fail_incompatible: bool) -> int:
    """virCPUx86Compare."""
    if host is None or not host.model:
        if fail_incompatible:
            raise _cpu_error(ErrorCode.CPU_INCOMPATIBLE, "unknown host CPU")
        return INCOMPATIBLE
    result, why = _compute(host, cpu)
    if result == INCOMPATIBLE and fail_incompatible:
        raise _cpu_error(ErrorCode.CPU_INCOMPATIBLE, why)
    return result


# -- decode and baseline --------------------------------------------------------------------


def _data_to_cpu(data: int, model: Model, cpu_type: str) -> CpuDef:
    """x86DataToCPU: the model plus what ``data`` adds, minus what it lacks."""
    cpu = CpuDef(type="guest", model=model.name)
    cpu.features = _to_features(data & ~model.mask, "require")
    cpu.features += _to_features(model.mask & ~data, "disable")
    if cpu_type == "guest":  # virCPUx86DisableRemovedFeatures
        for name in model.removed:
            if all(name != have for have, _ in cpu.features):
                cpu.features.append((name, "disable"))
    cpu.type = cpu_type
    return cpu


def _better_features(current: CpuDef, candidate: CpuDef, preferred: bool) -> bool:
    """virCPUx86CompareCandidateFeatureList (its loop bounds shrink as it counts)."""
    cur, cand = len(current.features), len(candidate.features)
    disabled_cur = disabled = 0
    if candidate.type != "host":

        def weigh(features: list[tuple[str, str | None]]) -> tuple[int, int]:
            enabled, weight, penalty, i = len(features), 0, 2, 0  # BASE_PENALTY
            while i < enabled:
                if features[i][1] == "disable":
                    enabled -= 1
                    weight += penalty
                    penalty += 1
                i += 1
            return enabled, weight

        enabled_cur, disabled_cur = weigh(current.features)
        cur = enabled_cur + disabled_cur
        enabled, disabled = weigh(candidate.features)
        cand = enabled + disabled
    if cand < cur or (cand == cur and disabled < disabled_cur):
        return True
    return preferred and disabled < disabled_cur


def _use_candidate(
    current: CpuDef | None, model: Model, candidate: CpuDef, preferred: list[str] | None
) -> int:
    """x86DecodeUseCandidate without signatures (0 keep, 1 take, 2 take and stop)."""
    if candidate.type == "host" and not model.decode_host:
        return 0
    if candidate.type == "guest" and not model.decode_guest:
        return 0
    if candidate.type == "host":
        if any(policy == "disable" for _, policy in candidate.features):
            return 0
        candidate.features = [(name, None) for name, _ in candidate.features]
    is_preferred = False
    if preferred:
        is_preferred = candidate.model in preferred
        if is_preferred and len(preferred) == 1:
            return 2
    if current is None:
        return 1
    return int(_better_features(current, candidate, is_preferred))


def decode(
    cpu_type: str,
    data: int,
    vendor: str | None,
    models: frozenset[str] | None = None,
    preferred: list[str] | None = None,
    migratable: bool = False,
) -> CpuDef:
    """x86Decode: the model (newest first) that describes ``data`` best."""
    best: CpuDef | None = None
    preferred = preferred or None
    for model in reversed(MODELS):
        if models is not None and model.name not in models:
            continue  # the preferred one only warns: baseline CPUs allow fallback
        if vendor and model.vendor and vendor != model.vendor:
            continue
        candidate = _data_to_cpu(data, model, cpu_type)
        rc = _use_candidate(best, model, candidate, preferred)
        if rc:
            best = candidate
            if rc == 2:
                break
    if best is None:
        raise _cpu_error(ErrorCode.INTERNAL_ERROR, "Cannot find suitable CPU model for given data")
    if migratable:
        best.features = [(n, p) for n, p in best.features if n not in NOT_MIGRATABLE]
    best.vendor = vendor
    return best


def baseline(
    cpus: list[CpuDef],
    models: frozenset[str] | None = None,
    features: frozenset[str] | None = None,
    migratable: bool = False,
) -> CpuDef:
    """virCPUx86Baseline (after virCPUBaseline's checks: see :func:`check_baseline_input`)."""

    def failed(detail: str) -> LibvirtError:
        return _cpu_error(ErrorCode.OPERATION_FAILED, detail)

    base = model_bits(cpus[0], None)[0]
    output_vendor = True
    vendor = cpus[0].vendor
    if not vendor:
        output_vendor = False
    elif vendor not in X86_VENDORS:
        raise failed(f"Unknown CPU vendor {vendor}")
    names = [cpus[0].model] if cpus[0].model else []
    for cpu in cpus[1:]:
        if cpu.model and cpu.model not in names:
            names.append(cpu.model)
        bits, model = model_bits(cpu, None)
        model_vendor = model.vendor if model is not None else None
        if cpu.vendor and model_vendor and cpu.vendor != model_vendor:
            assert model is not None
            raise failed(
                f"CPU vendor {model_vendor} of model {model.name} differs from vendor {cpu.vendor}"
            )
        given = cpu.vendor
        if not given:
            output_vendor = False
            given = model_vendor
        if given:
            if vendor is None:
                if given not in X86_VENDORS:
                    raise failed(f"Unknown CPU vendor {given}")
                vendor = given
            elif vendor != given:
                raise failed("CPU vendors do not match")
        base &= bits
    if features is not None:
        allowed = 0
        for name in features:
            allowed |= FEATURE_MASKS.get(name, 0)
        base &= allowed
    if not base:
        raise failed("CPUs are incompatible")
    cpu = decode("guest", base, vendor, models, names, migratable)
    if len(names) == 1 and cpu.model == names[0]:
        cpu.fallback = "forbid"
    if not output_vendor:
        cpu.vendor = None
    return cpu


def check_baseline_input(cpus: list[CpuDef], arch: str | None) -> str:
    """virCPUBaseline's checks; the architecture whose CPU driver computes it."""
    for i, cpu in enumerate(cpus):
        if not cpu.model:
            raise _cpu_error(ErrorCode.INVALID_ARG, f"no CPU model specified at index {i}")
    arch = arch or cpus[0].arch
    if arch is None:
        raise _cpu_error(ErrorCode.INTERNAL_ERROR, "undefined hardware architecture")
    if arch not in X86_ARCHS:
        from virtwire.server.hypervisor.cpu_models import _DRIVER_MODELS

        if arch not in _DRIVER_MODELS:
            raise _cpu_error(
                ErrorCode.NO_SUPPORT, f"'{arch}' architecture is not supported by CPU driver"
            )
        raise _cpu_error(
            ErrorCode.NO_SUPPORT, f"cannot compute baseline CPU of {arch} architecture"
        )
    return arch


def expand_features(cpu: CpuDef) -> None:
    """virCPUExpandFeatures (x86): the model's own features listed too, sorted by name."""
    host = cpu.type == "host"
    model = MODEL_BY_NAME.get(cpu.model or "")
    if model is None:
        raise _cpu_error(ErrorCode.INTERNAL_ERROR, f"unknown CPU model {cpu.model}")
    expanded = _to_features(model.mask, None if host else "require")
    for name, policy in cpu.features:
        if not host and policy not in ("require", "disable"):
            continue
        for i, (have, _) in enumerate(expanded):
            if have == name:
                expanded[i] = (name, policy)
                break
        else:
            expanded.append((name, policy))
    if not host:
        for name in model.removed:
            if all(name != have for have, _ in expanded):
                expanded.append((name, "disable"))
    cpu.features = sorted(expanded, key=lambda f: f[0])
