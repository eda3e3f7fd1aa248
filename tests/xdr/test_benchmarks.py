"""The benchmarks still run against the current generator (no timing here).

``benchmarks/`` is not part of the package, so a change to the generated code's internals
(which ``bench_object_models`` reuses) would otherwise only show up when someone next runs
a benchmark.  These checks run every decoder once and require the same values.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():  # noqa: ANN201 - the benchmark modules
    sys.path.insert(0, str(BENCH))
    try:
        import bench_object_models
        import bench_xdr

        yield bench_xdr, bench_object_models
    finally:
        sys.path.remove(str(BENCH))


def test_every_object_model_decodes_the_same_values(bench) -> None:  # noqa: ANN001
    bench_xdr, models = bench
    gen = bench_xdr.load_generated()
    hand = bench_xdr.HandWritten(gen)
    dom = gen.RemoteNonnullDomain("dom-é", uuid.UUID(int=5).bytes, -1)
    event = gen.pack_remote_domain_event_callback_device_added_msg(
        gen.RemoteDomainEventCallbackDeviceAddedMsg(3, dom, "dimm0")
    )
    listing = gen.pack_remote_connect_list_all_domains_ret(
        gen.RemoteConnectListAllDomainsRet(
            [gen.RemoteNonnullDomain(f"g{'x' * i}", uuid.UUID(int=i).bytes, i) for i in range(7)]
            + [dom],
            8,
        )
    )
    for data, baseline, decoders in (
        (event, hand.unpack_msg, models.event_decoders(gen)),
        (listing, hand.unpack_list, models.list_decoders(gen)),
    ):
        expected = models.flatten(baseline(data))
        assert set(decoders) == {
            "generated",
            "frozen-minimal",
            "mutable-slots",
            "tuple-subclass",
            "plain-tuple",
        }
        for model, decode in decoders.items():
            assert models.flatten(decode(data)) == expected, model
            with pytest.raises(Exception):  # noqa: B017, PT011 - each model's own error
                decode(data + b"\0\0\0\0")


def test_bench_xdr_sides_agree(bench) -> None:  # noqa: ANN001
    bench_xdr, _ = bench
    gen = bench_xdr.load_generated()
    hand = bench_xdr.HandWritten(gen)
    dom = gen.RemoteNonnullDomain("a", bytes(16), 1)
    msg = gen.RemoteDomainEventCallbackDeviceAddedMsg(1, dom, "dimm0")
    data = gen.pack_remote_domain_event_callback_device_added_msg(msg)
    assert hand.pack_msg(msg) == data
    assert hand.unpack_msg(data) == msg
