"""Generated struct/union classes behave exactly like ``@dataclass(frozen=True, slots=True)``.

The generator writes the classes out and :func:`virtwire.xdr.runtime.frozen_dataclass` adds
the dataclass bookkeeping without ``exec`` (that is what keeps importing ``remote_protocol``
cheap).  These tests hold every generated class of the committed protocol module, and of a
freshly generated module, to what ``dataclasses`` itself builds for the same annotations:
metadata, signature, repr, equality, hash, immutability, copying, pickling, pattern matching
and subclassing.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import sys
import types

import pytest
from virtwire.protocol.generated import remote_protocol, virnetprotocol

from .conftest import DATA, UUID_CONSTANTS


def dataclass_types(module: types.ModuleType) -> list[type]:
    return [
        value
        for name, value in vars(module).items()
        if isinstance(value, type) and not name.startswith("_") and hasattr(value, "pack")
    ]


def reference(cls: type) -> type:
    """What ``dataclasses`` makes of ``cls``'s annotations and ``__init__`` defaults."""
    names = list(cls.__annotations__)
    defaults = cls.__init__.__defaults__ or ()
    namespace: dict[str, object] = {
        "__annotations__": dict(cls.__annotations__),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    for name, default in zip(names[len(names) - len(defaults) :], defaults, strict=True):
        namespace[name] = default
    return dataclasses.dataclass(frozen=True, slots=True)(type(cls.__name__, (), namespace))


@pytest.fixture(scope="module")
def everything(compile_x) -> types.ModuleType:  # noqa: ANN001
    return compile_x(DATA / "everything.x", UUID_CONSTANTS)


def all_classes(everything: types.ModuleType) -> list[type]:
    classes = []
    for module in (remote_protocol, virnetprotocol, everything):
        classes += dataclass_types(module)
    return classes


def test_there_are_classes_to_check(everything) -> None:  # noqa: ANN001
    assert len(dataclass_types(remote_protocol)) > 100
    assert len(dataclass_types(everything)) >= 3


def test_metadata_matches_what_dataclasses_builds(everything) -> None:  # noqa: ANN001
    for cls in all_classes(everything):
        ref = reference(cls)
        assert dataclasses.is_dataclass(cls), cls
        assert repr(cls.__dataclass_params__) == repr(ref.__dataclass_params__), cls
        assert cls.__match_args__ == ref.__match_args__, cls
        ours, theirs = dataclasses.fields(cls), dataclasses.fields(ref)
        assert [f.name for f in ours] == [f.name for f in theirs], cls
        for mine, real in zip(ours, theirs, strict=True):
            for slot in dataclasses.Field.__slots__:
                assert getattr(mine, slot) == getattr(real, slot), (cls, mine.name, slot)
        sig, ref_sig = inspect.signature(cls), inspect.signature(ref)
        assert list(sig.parameters.values()) == list(ref_sig.parameters.values()), cls
        assert "__dict__" not in dir(cls) and "__weakref__" not in dir(cls), cls
        assert cls.__slots__ == (), cls  # the fields' slots are in the plain base
        assert hasattr(cls, "__replace__") == hasattr(ref, "__replace__"), cls  # 3.13+
        assert set(cls.__bases__[0].__slots__) == {f.name for f in ours}, cls


def test_instances_behave_like_dataclass_instances(everything) -> None:  # noqa: ANN001
    for cls in all_classes(everything):
        ref = reference(cls)
        n = len(dataclasses.fields(cls))
        args = tuple(range(10, 10 + n))
        obj, twin = cls(*args), ref(*args)
        assert repr(obj) == repr(twin), cls
        assert dataclasses.astuple(obj) == dataclasses.astuple(twin) == args
        assert dataclasses.asdict(obj) == dataclasses.asdict(twin)
        assert obj == cls(*args) and hash(obj) == hash(cls(*args)) == hash(twin), cls
        assert obj != twin and (obj == twin) is False  # other classes never compare equal
        assert obj.__eq__(twin) is NotImplemented
        changed = dataclasses.replace(obj, **{dataclasses.fields(cls)[0].name: -1})
        assert type(changed) is cls and dataclasses.astuple(changed) == (-1, *args[1:])
        assert obj != changed
        if hasattr(copy, "replace"):  # Python 3.13+
            assert copy.replace(obj) == obj and copy.replace(obj) is not obj
        for name in [f.name for f in dataclasses.fields(cls)] + ["not_a_field"]:
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
                setattr(obj, name, 0)
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field"):
                delattr(obj, name)
        assert dataclasses.astuple(obj) == args  # nothing changed
        assert not hasattr(obj, "__dict__")


def test_copy_pickle_and_unhashable_fields() -> None:
    dom = remote_protocol.RemoteNonnullDomain("vm1", bytes(range(16)), 7)
    ret = remote_protocol.RemoteConnectListAllDomainsRet([dom, dom], 2)
    for value in (dom, ret):
        assert copy.copy(value) == value and copy.deepcopy(value) == value
        again = pickle.loads(pickle.dumps(value))
        assert again == value and type(again) is type(value)
    assert copy.deepcopy(ret).domains is not ret.domains
    with pytest.raises(TypeError, match="unhashable"):
        hash(ret)  # like a dataclass holding a list
    assert hash(dom) == hash(("vm1", bytes(range(16)), 7))


def test_repr_survives_self_reference() -> None:
    ret = remote_protocol.RemoteConnectListAllDomainsRet([], 0)
    ret.domains.append(ret)
    assert repr(ret) == "RemoteConnectListAllDomainsRet(domains=[...], ret=0)"
    ref = reference(remote_protocol.RemoteConnectListAllDomainsRet)([], 0)
    ref.domains.append(ref)
    assert repr(ret) == repr(ref)


def test_nan_fields_compare_as_in_this_pythons_dataclasses() -> None:
    nan = float("nan")
    cls = remote_protocol.RemoteTypedParamValue
    ref = reference(cls)
    double = remote_protocol.VIR_TYPED_PARAM_DOUBLE
    value = cls(double, nan)
    assert value == value
    # 3.11/3.12 compare tuples (identical NaN objects are equal); 3.13 compares field by field
    assert (value == cls(double, nan)) is (ref(double, nan) == ref(double, nan))


def test_union_value_defaults_to_none() -> None:
    cls = remote_protocol.RemoteTypedParamValue
    assert cls(1) == cls(1, None) == cls(type=1, value=None)
    assert dataclasses.fields(cls)[1].default is None
    assert dataclasses.fields(cls)[0].default is dataclasses.MISSING
    with pytest.raises(TypeError):
        cls()  # the discriminant is required


def test_pattern_matching_uses_field_order() -> None:
    dom = remote_protocol.RemoteNonnullDomain("vm1", bytes(16), 7)
    match dom:
        case remote_protocol.RemoteNonnullDomain(name, _, 7):
            assert name == "vm1"
        case _:
            pytest.fail("positional pattern did not match")


def test_decoded_values_are_ordinary_instances() -> None:
    dom = remote_protocol.RemoteNonnullDomain("vm1", bytes(16), 7)
    decoded = remote_protocol.RemoteNonnullDomain.unpack(dom.pack())
    assert type(decoded) is remote_protocol.RemoteNonnullDomain
    assert decoded == dom and hash(decoded) == hash(dom) and repr(decoded) == repr(dom)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.id = 8  # type: ignore[misc]


def test_subclasses_follow_dataclass_rules() -> None:
    base = remote_protocol.RemoteNonnullDomain

    class Plain(base):  # a plain subclass may add attributes, never change fields
        pass

    obj = Plain("vm1", bytes(16), 7)
    obj.note = "extra"  # type: ignore[attr-defined]
    assert obj.note == "extra"  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.name = "other"  # type: ignore[misc]

    @dataclasses.dataclass(frozen=True)
    class Tagged(base):
        tag: str = "t"

    tagged = Tagged("vm1", bytes(16), 7)
    assert [f.name for f in dataclasses.fields(tagged)] == ["name", "uuid", "id", "tag"]
    assert repr(tagged) == f"{Tagged.__qualname__}(name='vm1', uuid={bytes(16)!r}, id=7, tag='t')"
    with pytest.raises(TypeError, match="non-frozen dataclass from a frozen one"):

        @dataclasses.dataclass
        class Thawed(base):
            tag: str = "t"


_COMPILES: list[str] = []
_WATCHING: list[bool] = []


def _audit(event: str, args: tuple) -> None:  # noqa: ARG001
    if _WATCHING and event == "compile":
        _COMPILES.append(event)


def test_importing_generated_code_compiles_nothing() -> None:
    """Import cost guard (not a timing test): the module body runs no ``exec`` of source.

    ``@dataclass`` compiles each method from text at import time; generated classes must
    not, or every ``virtwire`` command pays for it again.
    """
    from virtwire.xdr.codegen import generate
    from virtwire.xdr.parser import parse_file

    text = generate(parse_file(DATA / "everything.x", UUID_CONSTANTS))
    assert "@dataclass" not in text
    code = compile(text, "everything_gen.py", "exec")  # what a .pyc holds
    sys.addaudithook(_audit)  # cannot be removed: it only records while _WATCHING is set
    namespace: dict[str, object] = {"__name__": "everything_gen_audit"}
    _WATCHING.append(True)
    try:
        exec(code, namespace)  # noqa: S102
    finally:
        _WATCHING.clear()
    assert _COMPILES == []
    assert dataclasses.is_dataclass(namespace["Domain"])
