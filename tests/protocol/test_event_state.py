"""EventState with a fake scheduler: ordering, remote IDs, filters, deregistration, duplicates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_state import EventState

UUID_A = bytes.fromhex("6695eb01f6a4830479aa97f2502e193f")
UUID_B = bytes(range(16))
LIFECYCLE = 0
DEVICE_ADDED = 19


@dataclass(frozen=True)
class Dom:
    name: str
    uuid: bytes
    id: int = -1


@dataclass(frozen=True)
class Lifecycle:
    dom: Dom
    event: int
    detail: int = 0
    event_id = LIFECYCLE


@dataclass(frozen=True)
class DeviceAdded:
    dom: Dom
    dev_alias: str
    event_id = DEVICE_ADDED


A = Dom("test", UUID_A, 1)
B = Dom("other", UUID_B, 2)


class FakeLoop:
    """Collects scheduled functions; run() executes them like loop turns."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []
        self.scheduled = 0

    def schedule(self, fn: Callable[[], None]) -> None:
        self.scheduled += 1
        self.pending.append(fn)

    def run(self) -> None:
        while self.pending:
            self.pending.pop(0)()


class Recorder:
    def __init__(self, name: str, log: list) -> None:
        self.name = name
        self.log = log

    def __call__(self, event: object, callback_id: int) -> None:
        self.log.append((self.name, event, callback_id))


@pytest.fixture
def loop() -> FakeLoop:
    return FakeLoop()


@pytest.fixture
def state(loop: FakeLoop) -> EventState:
    return EventState(loop.schedule)


def test_callback_ids_start_at_zero_and_are_never_reused(state: EventState) -> None:
    log: list = []
    ids = [state.register(LIFECYCLE, Recorder(str(i), log)) for i in range(3)]
    assert ids == [0, 1, 2]
    state.deregister(1)
    assert state.register(LIFECYCLE, Recorder("x", log)) == 3
    assert [cb.callback_id for cb in state.registrations()] == [0, 2, 3]


def test_queue_without_callbacks_drops_the_event(state: EventState, loop: FakeLoop) -> None:
    assert state.queue(Lifecycle(A, 0)) is False
    assert loop.scheduled == 0 and state.pending == 0


def test_dispatch_is_deferred_fifo_and_in_registration_order(
    state: EventState, loop: FakeLoop
) -> None:
    log: list = []
    first, second = Recorder("first", log), Recorder("second", log)
    id1 = state.register(LIFECYCLE, first)
    id2 = state.register(LIFECYCLE, second)
    e1, e2, e3 = Lifecycle(A, 0), Lifecycle(A, 5), Lifecycle(B, 2)
    for event in (e1, e2, e3):
        assert state.queue(event)
    assert log == []  # nothing runs inside queue()
    assert loop.scheduled == 1  # one flush for a burst
    loop.run()
    assert log == [
        ("first", e1, id1),
        ("second", e1, id2),
        ("first", e2, id1),
        ("second", e2, id2),
        ("first", e3, id1),
        ("second", e3, id2),
    ]
    state.queue(e1)
    assert loop.scheduled == 2  # queue was empty again: a new flush


def test_event_id_and_domain_filter(state: EventState, loop: FakeLoop) -> None:
    log: list = []
    state.register(LIFECYCLE, Recorder("any", log))
    state.register(LIFECYCLE, Recorder("only-a", log), key=UUID_A)
    state.register(DEVICE_ADDED, Recorder("dev", log))
    state.queue(Lifecycle(B, 1))
    state.queue(DeviceAdded(A, "memdimm0"))
    state.queue(Lifecycle(A, 3))
    loop.run()
    assert [(name, ev.event_id, ev.dom.name) for name, ev, _ in log] == [
        ("any", LIFECYCLE, "other"),
        ("dev", DEVICE_ADDED, "test"),
        ("any", LIFECYCLE, "test"),
        ("only-a", LIFECYCLE, "test"),
    ]


def test_remote_id_matching(state: EventState, loop: FakeLoop) -> None:
    """Client side: events received with callbackID N reach only callbacks fed by N."""
    log: list = []
    c0 = state.register(DEVICE_ADDED, Recorder("srv19", log), remote_id=19)
    c1 = state.register(DEVICE_ADDED, Recorder("srv19-too", log), remote_id=19)
    state.register(DEVICE_ADDED, Recorder("srv46", log), remote_id=46)
    state.register(DEVICE_ADDED, Recorder("local", log))  # remote_id -1
    event = DeviceAdded(A, "memdimm0")
    state.queue(event, remote_id=19)
    loop.run()
    assert log == [("srv19", event, c0), ("srv19-too", event, c1)]
    log.clear()
    state.queue(event)  # locally raised / legacy form: remote_id -1
    loop.run()
    assert [name for name, _, _ in log] == ["local"]


def test_remote_id_sharing_helpers(state: EventState) -> None:
    noop = Recorder("n", [])
    assert state.remote_id_for(DEVICE_ADDED, None) is None
    first = state.register(DEVICE_ADDED, noop)
    assert state.remote_id_for(DEVICE_ADDED, None) is None  # still waiting for its ID
    state.set_remote_id(first, 7)
    assert state.find(first).remote_id == 7
    assert state.remote_id_for(DEVICE_ADDED, None) == 7
    assert state.remote_id_for(DEVICE_ADDED, UUID_A) is None
    assert state.remote_id_for(LIFECYCLE, None) is None
    second = state.register(DEVICE_ADDED, Recorder("m", []), remote_id=7)
    state.register(DEVICE_ADDED, Recorder("k", []), key=UUID_A)
    assert state.count(DEVICE_ADDED) == 2
    assert state.count(DEVICE_ADDED, UUID_A) == 1
    assert state.count(DEVICE_ADDED, any_key=True) == 3
    state.deregister(second)
    assert state.count(DEVICE_ADDED) == 1
    record = state.deregister(first)
    assert record.remote_id == 7 and record.event_id == DEVICE_ADDED
    assert state.count(DEVICE_ADDED) == 0  # -> the client would now CALL 317 {7}
    state.set_remote_id(12345, 1)  # unknown: silently ignored, like libvirt


def test_duplicate_registration_is_refused(state: EventState) -> None:
    cb = Recorder("cb", [])
    state.register(LIFECYCLE, cb)
    with pytest.raises(LibvirtError) as info:
        state.register(LIFECYCLE, cb)
    err = info.value
    assert err.code == ErrorCode.INVALID_ARG == 8
    assert err.domain == ErrorDomain.NONE == 0
    assert err.message == "invalid argument: event callback already tracked"
    assert err.str1 == "invalid argument: %s"
    # Different key, legacy flag, event ID or owner: not a duplicate.
    state.register(LIFECYCLE, cb, key=UUID_A)
    state.register(LIFECYCLE, cb, legacy=True)
    state.register(DEVICE_ADDED, cb)
    state.register(LIFECYCLE, cb, owner="conn-2")
    with pytest.raises(LibvirtError):
        state.register(LIFECYCLE, cb, key=UUID_A)
    # bound methods of one object compare equal: still a duplicate
    log: list = []

    class Client:
        def on_event(self, event: object, callback_id: int) -> None:
            log.append(callback_id)

    client = Client()
    state.register(DEVICE_ADDED, client.on_event, owner=client)
    with pytest.raises(LibvirtError):
        state.register(DEVICE_ADDED, client.on_event, owner=client)


def test_deregister_unknown(state: EventState) -> None:
    with pytest.raises(LibvirtError) as info:
        state.deregister(4)
    assert info.value.code == ErrorCode.INVALID_ARG
    assert info.value.message == "invalid argument: could not find event callback 4 for deletion"
    cb = state.register(LIFECYCLE, Recorder("x", []))
    state.deregister(cb)
    with pytest.raises(LibvirtError):
        state.deregister(cb)


def test_deregistration_during_dispatch(state: EventState, loop: FakeLoop) -> None:
    log: list = []
    ids: dict[str, int] = {}

    def remover(event: object, callback_id: int) -> None:
        log.append(("remover", callback_id))
        state.deregister(ids["victim"])  # later in this same dispatch
        state.deregister(callback_id)  # itself
        ids["late"] = state.register(LIFECYCLE, Recorder("late", log))

    ids["remover"] = state.register(LIFECYCLE, remover)
    ids["victim"] = state.register(LIFECYCLE, Recorder("victim", log))
    ids["keeper"] = state.register(LIFECYCLE, Recorder("keeper", log))
    e1, e2 = Lifecycle(A, 0), Lifecycle(A, 1)
    state.queue(e1)
    state.queue(e2)
    loop.run()
    # e1: remover runs, victim is skipped (marked deleted), keeper runs, late is not
    # visited (registered after the snapshot). e2: remover and victim are gone.
    assert log == [
        ("remover", ids["remover"]),
        ("keeper", e1, ids["keeper"]),
        ("keeper", e2, ids["keeper"]),
        ("late", e2, ids["late"]),
    ]
    assert [cb.callback_id for cb in state.registrations()] == [ids["keeper"], ids["late"]]
    assert state.find(ids["victim"]) is None


def test_registration_during_dispatch_sees_only_later_events(
    state: EventState, loop: FakeLoop
) -> None:
    log: list = []

    def first(event: object, callback_id: int) -> None:
        log.append("first")
        if len(log) == 1:
            state.register(LIFECYCLE, Recorder("new", log))
            state.queue(Lifecycle(A, 9))  # queued during dispatch: next flush

    state.register(LIFECYCLE, first)
    state.queue(Lifecycle(A, 0))
    loop.run()
    assert [x if isinstance(x, str) else x[0] for x in log] == ["first", "first", "new"]


def test_callback_exception_is_logged_not_propagated(
    state: EventState, loop: FakeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    log: list = []

    def broken(event: object, callback_id: int) -> None:
        raise RuntimeError("boom")

    state.register(LIFECYCLE, broken)
    state.register(LIFECYCLE, Recorder("after", log))
    state.queue(Lifecycle(A, 0))
    with caplog.at_level(logging.ERROR, logger="virtwire.wire"):
        loop.run()
    assert len(log) == 1
    assert "boom" in caplog.text


def test_last_callback_removed_drops_pending_events(state: EventState, loop: FakeLoop) -> None:
    log: list = []
    cb = state.register(LIFECYCLE, Recorder("x", log))
    state.queue(Lifecycle(A, 0))
    state.deregister(cb)
    assert state.pending == 0
    state.register(LIFECYCLE, Recorder("y", log))
    loop.run()
    assert log == []


def test_flush_that_removes_every_callback_clears_the_queue(
    state: EventState, loop: FakeLoop
) -> None:
    log: list = []

    def once(event: object, callback_id: int) -> None:
        log.append(event)
        state.deregister(callback_id)
        state.queue(Lifecycle(A, 7))  # still accepted: the record is only marked

    state.register(LIFECYCLE, once)
    state.queue(Lifecycle(A, 0))
    loop.run()
    assert len(log) == 1
    assert len(state) == 0 and state.pending == 0


def test_deregister_owner(state: EventState, loop: FakeLoop) -> None:
    log: list = []
    s1, s2 = object(), object()
    a = state.register(LIFECYCLE, Recorder("s1-life", log), owner=s1)
    state.register(LIFECYCLE, Recorder("s2-life", log), owner=s2)
    b = state.register(DEVICE_ADDED, Recorder("s1-dev", log), owner=s1)
    assert state.count(LIFECYCLE, owner=s1) == 1
    removed = state.deregister_owner(s1)
    assert [cb.callback_id for cb in removed] == [a, b]
    state.queue(Lifecycle(A, 0))
    loop.run()
    assert [name for name, _, _ in log] == ["s2-life"]
    assert state.deregister_owner(s1) == []


def test_synchronous_scheduler_still_delivers_everything() -> None:
    """A scheduler that runs at once re-enters flush; nothing may be lost."""
    log: list = []
    state = EventState(lambda fn: fn())

    def chain(event: Lifecycle, callback_id: int) -> None:
        log.append(event.event)
        if event.event < 3:
            state.queue(Lifecycle(A, event.event + 1))

    state.register(LIFECYCLE, chain)
    state.queue(Lifecycle(A, 0))
    assert log == [0, 1, 2, 3]


def test_event_without_a_domain_reaches_unfiltered_callbacks_only(
    state: EventState, loop: FakeLoop
) -> None:
    @dataclass(frozen=True)
    class ConnectionClosed:
        reason: int
        event_id = 100

    log: list = []
    state.register(100, Recorder("all", log))
    state.register(100, Recorder("filtered", log), key=UUID_A)
    state.queue(ConnectionClosed(1))
    loop.run()
    assert [name for name, _, _ in log] == ["all"]


# --- cost: indexed registrations (issue 14, finding 2) -----------------------------------------


class CountingKey:
    """A filter key that counts how often the event state compares or hashes it."""

    ops = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        CountingKey.ops += 1
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        CountingKey.ops += 1
        return isinstance(other, CountingKey) and other.value == self.value


@dataclass(frozen=True)
class KeyedEvent:
    filter_key: object
    event_id = LIFECYCLE


def test_domain_filtered_registration_costs_do_not_grow_with_their_number(
    state: EventState,
) -> None:
    """20,000 filtered registrations of one client: key work per registration is bounded
    (a scan of the whole list made 20,000 registrations cost ~2*10^8 comparisons)."""
    relay, owner = Recorder("relay", []), object()
    n, chunk = 20_000, 1_000
    for start in range(0, 2 * n, chunk):  # checked per chunk: a quadratic state fails early
        CountingKey.ops = 0
        for i in range(start, start + chunk):
            state.register(LIFECYCLE, relay, key=CountingKey(i), owner=owner)
        assert CountingKey.ops <= 8 * chunk, f"{CountingKey.ops} key operations at {start}"
    assert len(state) == 2 * n
    CountingKey.ops = 0
    assert len(state.deregister_owner(owner)) == 2 * n
    assert CountingKey.ops <= 8 * 2 * n and len(state) == 0


def test_event_reaches_its_subscriber_past_many_unrelated_registrations(
    state: EventState, loop: FakeLoop
) -> None:
    log: list = []
    crowd, owner = Recorder("crowd", log), object()
    for i in range(20_000):
        state.register(LIFECYCLE, crowd, key=i.to_bytes(16, "big"), owner=owner)
    target = CountingKey(-1)
    mine = state.register(LIFECYCLE, Recorder("mine", log), key=target)
    anyone = state.register(LIFECYCLE, Recorder("anyone", log))
    event = KeyedEvent(CountingKey(-1))
    CountingKey.ops = 0
    state.queue(event)
    loop.run()
    assert log == [("mine", event, mine), ("anyone", event, anyone)]  # registration order
    assert CountingKey.ops <= 8  # one bucket lookup, not 20,000 comparisons
    CountingKey.ops = 0
    state.deregister(mine)
    assert CountingKey.ops <= 8
