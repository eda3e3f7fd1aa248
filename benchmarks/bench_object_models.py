"""How fast can any decoder be, by the kind of object it returns?  (evidence for issue 2)

Run: ``python3 benchmarks/bench_object_models.py``.

``bench_xdr.py`` finds the generated decoders 3.4-3.9x faster than ``xdrlib3``, short of the
5x target.  This script asks whether a better generator could close the gap, or whether the
object model the issue requires (a frozen, slotted dataclass per struct) is the limit.  For
the same two cases it times the generated decoder and minimal hand-written decoders that do
the same reads and the same checks (maximum lengths, trailing bytes) but return:

* ``frozen-minimal``: the generated frozen slotted dataclasses, built the generated way
  (a plain slots instance filled by ordinary stores, then ``__class__`` switched), with no
  per-field error handling: the floor for the required model;
* ``mutable-slots``: the same slots instances left mutable (no class switch);
* ``tuple-subclass``: namedtuple-style classes (``tuple`` subclasses with C field getters);
* ``plain-tuple``: bare tuples, no class at all.

Each is timed in alternation with the hand-written ``xdrlib3`` codec of ``bench_xdr.py``;
ratios are against it.  A benchmark, not a test: it asserts only that every decoder reads
the same values.
"""

from __future__ import annotations

import struct
import sys
import uuid
from collections import _tuplegetter  # type: ignore[attr-defined]
from collections.abc import Callable
from itertools import repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_xdr  # noqa: E402

MAX = 4194304
LIST_MAX = 16384
_U_I = struct.Struct(">I").unpack_from
_U_iI = struct.Struct(">iI").unpack_from
_U_16si = struct.Struct(">16si").unpack_from
_U_16siI = struct.Struct(">16siI").unpack_from


class DomainT(tuple):
    """remote_nonnull_domain as a namedtuple-style class."""

    __slots__ = ()
    name = _tuplegetter(0, None)
    uuid = _tuplegetter(1, None)
    id = _tuplegetter(2, None)


class MsgT(tuple):
    __slots__ = ()
    callbackID = _tuplegetter(0, None)
    dom = _tuplegetter(1, None)
    devAlias = _tuplegetter(2, None)


class ListT(tuple):
    __slots__ = ()
    domains = _tuplegetter(0, None)
    ret = _tuplegetter(1, None)


_tnew = tuple.__new__


def event_decoders(gen) -> dict[str, Callable[[bytes], object]]:  # noqa: ANN001, C901
    """One event decoder per object model, each as lean as Python 3.11 allows."""
    Dom, Msg = gen.RemoteNonnullDomain, gen.RemoteDomainEventCallbackDeviceAddedMsg
    BDom = gen._B_remote_nonnull_domain
    BMsg = gen._B_remote_domain_event_callback_device_added_msg

    def frozen_minimal(buf: bytes) -> object:
        o = BMsg()
        o.dom = s = BDom()
        o.callbackID, n = _U_iI(buf, 0)
        if n > MAX:
            raise ValueError("too long")
        end = 8 + n
        s.name = buf[8:end].decode()
        off = (end + 3) & -4
        s.uuid, s.id, n = _U_16siI(buf, off)
        off += 24
        s.__class__ = Dom
        if n > MAX:
            raise ValueError("too long")
        end = off + n
        o.devAlias = buf[off:end].decode()
        if (end + 3) & -4 != len(buf):
            raise ValueError("trailing bytes")
        o.__class__ = Msg
        return o

    def mutable_slots(buf: bytes) -> object:
        o = BMsg()
        o.dom = s = BDom()
        o.callbackID, n = _U_iI(buf, 0)
        if n > MAX:
            raise ValueError("too long")
        end = 8 + n
        s.name = buf[8:end].decode()
        off = (end + 3) & -4
        s.uuid, s.id, n = _U_16siI(buf, off)
        off += 24
        if n > MAX:
            raise ValueError("too long")
        end = off + n
        o.devAlias = buf[off:end].decode()
        if (end + 3) & -4 != len(buf):
            raise ValueError("trailing bytes")
        return o

    def fields(buf: bytes) -> tuple:
        cb, n = _U_iI(buf, 0)
        if n > MAX:
            raise ValueError("too long")
        end = 8 + n
        name = buf[8:end].decode()
        off = (end + 3) & -4
        uid, id_, n = _U_16siI(buf, off)
        off += 24
        if n > MAX:
            raise ValueError("too long")
        end = off + n
        alias = buf[off:end].decode()
        if (end + 3) & -4 != len(buf):
            raise ValueError("trailing bytes")
        return cb, name, uid, id_, alias

    def tuple_subclass(buf: bytes) -> object:
        cb, name, uid, id_, alias = fields(buf)
        return _tnew(MsgT, (cb, _tnew(DomainT, (name, uid, id_)), alias))

    def plain_tuple(buf: bytes) -> object:
        # fields() inlined: a call would cost this model the overhead the others avoid
        cb, n = _U_iI(buf, 0)
        if n > MAX:
            raise ValueError("too long")
        end = 8 + n
        name = buf[8:end].decode()
        off = (end + 3) & -4
        uid, id_, n = _U_16siI(buf, off)
        off += 24
        if n > MAX:
            raise ValueError("too long")
        end = off + n
        alias = buf[off:end].decode()
        if (end + 3) & -4 != len(buf):
            raise ValueError("trailing bytes")
        return (cb, (name, uid, id_), alias)

    return {
        "generated": gen.unpack_remote_domain_event_callback_device_added_msg,
        "frozen-minimal": frozen_minimal,
        "mutable-slots": mutable_slots,
        "tuple-subclass": tuple_subclass,
        "plain-tuple": plain_tuple,
    }


def list_decoders(gen) -> dict[str, Callable[[bytes], object]]:  # noqa: ANN001, C901
    Dom, Ret = gen.RemoteNonnullDomain, gen.RemoteConnectListAllDomainsRet
    BDom, BRet = gen._B_remote_nonnull_domain, gen._B_remote_connect_list_all_domains_ret

    def header(buf: bytes) -> int:
        n = _U_I(buf, 0)[0]
        if n > LIST_MAX:
            raise ValueError("too many")
        if n * 24 > len(buf) - 4:
            raise ValueError("truncated")
        return n

    def slots(buf: bytes, switch: bool) -> object:
        n = header(buf)
        last = n - 1
        text = buf.decode("latin-1")
        lst = list(map(object.__new__, repeat(BDom, n)))  # as the generated code does
        h = _U_I(buf, 4)[0] if n else 0
        off = 8
        for i in range(n):
            if h > MAX:
                raise ValueError("too long")
            end = off + h
            t = text[off:end]
            if not t.isascii():
                t = buf[off:end].decode("utf-8", "surrogateescape")
            off = (end + 3) & -4
            if i < last:  # the next element's length word is read with this one's fields
                uid, id_, h = _U_16siI(buf, off)
                off += 24
            else:
                uid, id_ = _U_16si(buf, off)
                off += 20
            s = lst[i]
            s.name, s.uuid, s.id = t, uid, id_
            if switch:
                s.__class__ = Dom
        ret = _U_I(buf, off)[0]
        if off + 4 != len(buf):
            raise ValueError("trailing bytes")
        o = BRet()
        o.domains, o.ret = lst, ret
        if switch:
            o.__class__ = Ret
        return o

    def tuples(buf: bytes, subclass: bool) -> object:
        # one branch per element, as slots() has for its class switch
        n = header(buf)
        last = n - 1
        text = buf.decode("latin-1")
        lst: list = []
        append = lst.append
        h = _U_I(buf, 4)[0] if n else 0
        off = 8
        for i in range(n):
            if h > MAX:
                raise ValueError("too long")
            end = off + h
            t = text[off:end]
            if not t.isascii():
                t = buf[off:end].decode("utf-8", "surrogateescape")
            off = (end + 3) & -4
            if i < last:  # the next element's length word is read with this one's fields
                uid, id_, h = _U_16siI(buf, off)
                off += 24
            else:
                uid, id_ = _U_16si(buf, off)
                off += 20
            append(_tnew(DomainT, (t, uid, id_)) if subclass else (t, uid, id_))
        ret = _U_I(buf, off)[0]
        if off + 4 != len(buf):
            raise ValueError("trailing bytes")
        return _tnew(ListT, (lst, ret)) if subclass else (lst, ret)

    return {
        "generated": gen.unpack_remote_connect_list_all_domains_ret,
        "frozen-minimal": lambda buf: slots(buf, True),
        "mutable-slots": lambda buf: slots(buf, False),
        "tuple-subclass": lambda buf: tuples(buf, True),
        "plain-tuple": lambda buf: tuples(buf, False),
    }


def flatten(value: object) -> object:
    """Field values of any model's result, for checking that all decoders agree."""
    if isinstance(value, (list, tuple)):
        return tuple(flatten(v) for v in value)
    names = getattr(value, "__dataclass_fields__", None) or getattr(value, "__slots__", ())
    if names:
        return tuple(flatten(getattr(value, f)) for f in names)
    return value


def main() -> int:
    gen = bench_xdr.load_generated()
    hand = bench_xdr.HandWritten(gen)
    dom = gen.RemoteNonnullDomain("test-domain", uuid.UUID(int=0x6695EB01).bytes, 7)
    event = gen.pack_remote_domain_event_callback_device_added_msg(
        gen.RemoteDomainEventCallbackDeviceAddedMsg(3, dom, "dimm0")
    )
    domains = [
        gen.RemoteNonnullDomain(f"guest-{i:04d}", uuid.UUID(int=i).bytes, i if i % 3 else -1)
        for i in range(1000)
    ]
    listing = gen.pack_remote_connect_list_all_domains_ret(
        gen.RemoteConnectListAllDomainsRet(domains, 1000)
    )
    cases = (
        ("device-added event", event, hand.unpack_msg, event_decoders(gen)),
        ("list of 1000 domains", listing, hand.unpack_list, list_decoders(gen)),
    )
    print(f"{'case':<22} {'object model':<16} {'decode/s':>12} {'xdrlib3/s':>12} {'ratio':>7}")
    for label, data, baseline, decoders in cases:
        expected = flatten(baseline(data))
        for model, decode in decoders.items():
            assert flatten(decode(data)) == expected, f"{model} decodes differently"
            rate, base = bench_xdr.rates(decode, baseline, data)
            print(f"{label:<22} {model:<16} {rate:>12,.0f} {base:>12,.0f} {rate / base:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
