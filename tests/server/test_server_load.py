"""The shortened load run (issue 14): 100 concurrent unix clients against `virtwire serve`,
two rounds; the full run is `virtwire load` (500 clients, docs/robustness.md)."""

from __future__ import annotations

from virtwire.tools import load


def test_hundred_clients_calls_events_fds_rss():
    results = load.run(clients=100, rounds=2, calls=3, events=10, timeout=60)
    assert len(results) == 2
    for r in results:
        # 100 clients × (open 3 + 15 mixed calls) + the actor's 2 + 20
        assert r.calls == 100 * 18 + 22
        assert r.events == 100 * 20  # each client got every DEFINED and UNDEFINED, in order
        assert r.fds_peak >= r.fds_before + 100
        assert r.fds_after == results[0].fds_before
    assert results[1].rss_after <= results[0].rss_after + load.RSS_SLACK


def test_a_wrong_answer_fails_the_run(monkeypatch):
    """The checks can fail: an expected event list that cannot arrive is reported."""
    monkeypatch.setattr(load, "_expected_events", lambda r, n: [(0, "never-defined")])
    try:
        load.run(clients=5, rounds=1, calls=1, events=1, timeout=20)
    except load.LoadError as exc:
        assert "events" in str(exc)
    else:
        raise AssertionError("the load run did not notice missing events")
