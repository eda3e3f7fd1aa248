"""Bounded fuzz smoke run (issue 14): the targets of ``virtwire.tools.fuzz_targets`` driven by
hypothesis with small budgets. The long run is ``virtwire fuzz --minutes 10``
(docs/robustness.md)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtwire.tools import fuzz
from virtwire.tools import fuzz_targets as ft

SMOKE = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
SEEDS = ft.seed_frames()
CODEC_NAMES = sorted(ft.CODECS)


def _mutated(seeds: list[bytes]):
    """A seed (or a splice of seeds) mutated by the long run's own mutator."""
    return st.builds(
        lambda seed, rnd: fuzz.mutate(rnd, seed, seeds),
        st.sampled_from(seeds),
        st.randoms(use_true_random=False),
    )


@SMOKE
@given(
    data=st.one_of(st.binary(max_size=200), _mutated([b"".join(SEEDS), *SEEDS])),
    cuts=st.lists(st.integers(0, 400), max_size=4),
)
def test_frame_decoder_raises_only_protocol_errors(data, cuts):
    ft.check_frames(data, cuts)


def test_frame_decoder_round_trips_a_session():
    stream = b"".join(SEEDS)
    assert ft.check_frames(stream, range(0, len(stream), 7)) == len(SEEDS)


@pytest.mark.parametrize("module", sorted({n.split(".")[0] for n in CODEC_NAMES}))
def test_every_codec_zero_seed_decodes(module):
    """Each codec's shortest zero encoding decodes and round-trips (the long run's seeds)."""
    names = [n for n in CODEC_NAMES if n.startswith(module + ".")]
    seeded = [n for n in names if (z := ft.zero_encoding(n)) is not None and ft.check_codec(n, z)]
    # only types with a fixed non-zero value (enums without 0, fixed-size opaque > 1 KiB) lack one
    assert len(seeded) >= len(names) - 4, set(names) - set(seeded)


@SMOKE
@given(
    name=st.sampled_from(CODEC_NAMES),
    data=st.binary(max_size=96),
    rnd=st.randoms(use_true_random=False),
)
def test_every_codec_raises_only_xdr_errors(name, data, rnd):
    ft.check_codec(name, data)
    seed = ft.zero_encoding(name)
    if seed is not None:
        ft.check_codec(name, fuzz.mutate(rnd, seed + data[:8], [data]))


def test_each_codec_once_on_hostile_words():
    """Every codec against words that are lengths/discriminants at their limits."""
    words = [w.to_bytes(4, "big") for w in (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1, 2)]
    tried = 0
    for name in CODEC_NAMES:
        for word in words:
            ft.check_codec(name, word * 6)
            tried += 1
    assert tried == 5 * len(CODEC_NAMES)


@SMOKE
@given(seed=st.sampled_from(ft.DOMAIN_SEEDS), rnd=st.randoms(use_true_random=False))
def test_domain_xml_is_a_domain_or_a_libvirt_error(seed, rnd):
    ft.check_domxml(fuzz._xml_mutate(rnd, seed, [seed.encode()]))


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60))
def test_domain_xml_arbitrary_text(text):
    ft.check_domxml(text)


def test_domain_xml_seeds_are_domains():
    assert all(ft.check_domxml(s) for s in ft.DOMAIN_SEEDS)


@pytest.fixture(scope="module")
def session_target(tmp_path_factory):
    with ft.SessionTarget(tmp_path_factory.mktemp("fuzz") / "state") as target:
        yield target


def test_session_valid_sequence_is_answered(session_target):
    before = session_target.stats.replies
    session_target.check(list(ft.numbered(SEEDS)))
    assert session_target.stats.replies - before == len(SEEDS)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    picks=st.lists(st.sampled_from(SEEDS), min_size=1, max_size=6),
    mutations=st.lists(st.tuples(st.integers(0, 8), st.randoms(use_true_random=False)), max_size=3),
)
def test_session_mutated_frames(session_target, picks, mutations):
    frames = list(ft.numbered(SEEDS[:3] + picks))
    for at, rnd in mutations:
        at %= len(frames)
        frames[at] = fuzz.mutate(rnd, frames[at], SEEDS)
    session_target.check(frames)
