"""The drop-in's surface against the real python3-libvirt 9.0, and the table's freshness.

- every public class, method, module function and constant of the real module exists in
  ``virtwire.client.libvirt`` with the same parameter names and defaults (both modules are
  introspected by the same script, the real one with /usr/bin/python3);
- libvirt-python's own coverage check (tests/test_api_coverage.py: every C function of
  libvirt-api.xml maps to a Python method, or is a known exception) holds for our table;
- the committed table and constants are what the generator makes from the installed XML.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_peer
from tests.interop.conftest import SYSTEM_PYTHON, have_pylibvirt

pytestmark = pytest.mark.interop

SCRIPT = Path(__file__).parent / "peer" / "introspect_libvirt.py"
API_XML = Path("/usr/share/libvirt/api/libvirt-api.xml")

# Dunder methods whose presence is an implementation detail of the C wrapper.
IGNORED_METHODS = {"__del__"}


def _dump(python: str, module: str) -> dict:
    out = subprocess.run([python, str(SCRIPT), module], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def surfaces() -> tuple[dict, dict]:
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    return _dump(SYSTEM_PYTHON, "libvirt"), _dump(sys.executable, "virtwire.client.libvirt")


def _params(sig: list | None) -> list[tuple[str, str | None]]:
    return [(name, default) for name, default, _kind in sig or []]


def test_every_class_and_method_with_the_same_signature(surfaces):
    real, ours = surfaces
    missing, different = [], []
    for cls, info in sorted(real["classes"].items()):
        mine = ours["classes"].get(cls)
        if mine is None:
            missing.append(cls)
            continue
        for meth, sig in sorted(info["methods"].items()):
            if meth in IGNORED_METHODS:
                continue
            if meth not in mine["methods"]:
                missing.append(f"{cls}.{meth}")
            elif meth != "__init__" and _params(sig) != _params(mine["methods"][meth]):
                different.append((f"{cls}.{meth}", _params(sig), _params(mine["methods"][meth])))
    assert not missing, missing
    assert not different, different
    n_methods = sum(len(c["methods"]) for c in real["classes"].values())
    assert len(real["classes"]) == 15 and n_methods > 450


def test_every_module_function_with_the_same_signature(surfaces):
    real, ours = surfaces
    missing = sorted(set(real["functions"]) - set(ours["functions"]))
    different = [(f, _params(s), _params(ours["functions"][f]))
                 for f, s in real["functions"].items()
                 if f in ours["functions"] and _params(s) != _params(ours["functions"][f])]  # fmt: skip
    assert not missing and not different, (missing, different)


def test_every_constant_with_the_same_value(surfaces):
    real, ours = surfaces
    wrong = {k: (v, ours["constants"].get(k)) for k, v in real["constants"].items()
             if ours["constants"].get(k) != v}  # fmt: skip
    assert not wrong, wrong
    assert len(real["constants"]) > 1100


# public names of ours that python3-libvirt 9.0 lacks: the event IDs of later libvirt
LATER_NAMES = {
    "VIR_DOMAIN_EVENT_ID_NIC_MAC_CHANGE",
    "VIR_DOMAIN_EVENT_ID_VCPU_REMOVED",
    "VIR_DOMAIN_EVENT_ID_CHANNEL_LIFECYCLE",
}


def test_the_namespace_holds_libvirt_pythons_names_only(surfaces):
    """Nothing of ours leaks into the module: every public name is one libvirt-python has
    (standard-library helpers it imports, like ``sys``, are not required of us)."""
    real, ours = surfaces
    assert set(ours["public"]) - set(real["public"]) == LATER_NAMES


@pytest.mark.parametrize("module", ["libvirt_qemu", "libvirt_lxc"])
def test_qemu_and_lxc_modules_have_the_same_functions_and_constants(module):
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    real = _dump(SYSTEM_PYTHON, module)
    ours = _dump(sys.executable, f"virtwire.client.{module}")
    assert {f: _params(s) for f, s in real["functions"].items()} == {
        f: _params(s) for f, s in ours["functions"].items()
    }
    assert real["constants"] == ours["constants"]


def test_qemu_and_lxc_functions_are_in_the_table():
    need_peer(have_pylibvirt(), "python3-libvirt for /usr/bin/python3")
    from virtwire.client.api_table import API

    for module in ("libvirt_qemu", "libvirt_lxc"):
        real = _dump(SYSTEM_PYTHON, module)
        ours = {r.name: r.params for r in API if r.module == module and r.name}
        for name, sig in real["functions"].items():
            assert name in ours, (module, name)
            assert [p for p, _d in _params(sig)] == [p.split("=")[0] for p in ours[name]]


# libvirt-python's tests/test_api_coverage.py, re-done on the table: every C function of the
# XML maps to a Python method or module function, except these (with libvirt-python's reason)
EXCEPTIONS_EXPECTED = 48


def test_api_coverage():
    need_peer(API_XML.exists(), "libvirt's API XML (/usr/share/libvirt/api)")
    from virtwire.client import apigen
    from virtwire.client import libvirt as lv
    from virtwire.client.api_table import API

    raw, _funcs = apigen.read_api(API_XML.parent)
    rows = {r.c_name: r for r in API}
    mapped, exceptions, unmapped = [], {}, []
    for name in sorted(raw):
        row = rows.get(name) or rows.get("virConnectListDomainsID")
        if name == "virConnectListDomains":  # libvirt-python's rename
            row = rows["virConnectListDomainsID"]
        if row is not None and row.name:
            if row.module != "libvirt":
                mapped.append(name)
                continue
            owner = lv if row.cls is None else getattr(lv, row.cls)
            (mapped if hasattr(owner, row.name) else unmapped).append(name)
        elif name in apigen.SKIP_FUNCTION or (row is not None and row.impl == "skip"):
            exceptions[name] = apigen.SKIP_FUNCTION.get(name, "destructor: Python frees it")
        else:
            unmapped.append(name)
    assert not unmapped, unmapped
    covered = (len(mapped) + len(exceptions)) / len(raw)
    assert covered >= 0.99
    assert len(exceptions) == EXCEPTIONS_EXPECTED, sorted(exceptions)
    assert all(exceptions.values())
    print(
        f"{len(mapped)}/{len(raw)} C functions are methods or functions "
        f"({100 * len(mapped) / len(raw):.1f}%), {len(exceptions)} intentional exceptions"
    )


def test_table_and_constants_are_fresh():
    """Regenerate from the installed XML and compare with what is committed."""
    need_peer(API_XML.exists(), "libvirt's API XML (/usr/share/libvirt/api)")
    from virtwire.client import apigen

    for path, text in apigen.generate(API_XML.parent).items():
        assert path.read_text() == text, (
            f"{path.name} is stale: run python -m virtwire.client.apigen"
        )
