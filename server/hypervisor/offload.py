"""Work a driver call may leave for a worker thread: slow, pure jobs whose results the
reply must wait for, but the event loop need not.

A handler opens a scope (:func:`begin` … :func:`end`) around the driver call; inside it, the driver
hands a job to :func:`defer` instead of running it (formatting and writing a definition
of tens of thousands of elements: about 0.3 s of CPU that would stall every client). The
handler then runs the jobs in a thread and sends the reply only when they are done, so
what a client was told is stored is on disk before it hears so. Outside a scope (start-up,
tests calling drivers directly) :func:`defer` returns False and the caller does the work
itself, as before.

If a job fails (a full disk after the writability check), the call is undone as far as
libvirt would never have done it: each deferred job may come with an ``undo`` that puts the
in-memory object back, run on the loop, and the events the call raised after deferring
(held by :func:`hold` until the jobs are done) are dropped instead of sent.

Jobs hold the GIL while they run Python code; the loop still gets it every switch interval
(5 ms), so other clients' calls interleave instead of waiting for the whole job.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

__all__ = ["LARGE_TREE_ELEMENTS", "Scope", "begin", "defer", "end", "hold", "is_large"]

if TYPE_CHECKING:  # ElementTree is imported by the XML work itself, not by the daemon's start
    import xml.etree.ElementTree as ET


Job = Callable[[], None]

# below this many elements a definition is formatted and written on the loop: a thread
# hop (~100 µs) costs more than the work
LARGE_TREE_ELEMENTS = 4096


class Scope:
    """What one driver call left for later: jobs (worker thread), their undos and the
    events raised after the first job (both for the loop)."""

    __slots__ = ("held", "jobs", "undos")

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.undos: list[Job] = []
        self.held: list[tuple[Callable[[object], object], object]] = []

    def run_jobs(self) -> None:
        """Run the jobs in order (in a worker thread); the first failure is raised after
        the rest have run."""
        failure: BaseException | None = None
        for job in self.jobs:
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failure = failure or exc
        if failure is not None:
            raise failure

    def settle(self, failed: bool) -> None:
        """On the loop once the jobs ran: undo the call and drop its events if they
        failed, else send the events it raised."""
        if failed:
            for undo in reversed(self.undos):
                undo()
        else:
            for send, event in self.held:
                send(event)
        self.undos.clear()
        self.held.clear()


_scope: ContextVar[Scope | None] = ContextVar("virtwire_offload_scope", default=None)


def begin() -> tuple[Scope, Token[Scope | None]]:
    """Open the scope of one driver call (on the dispatch path: no generator, two ContextVar
    operations): what it defers lands in the returned scope until :func:`end`."""
    scope = Scope()
    return scope, _scope.set(scope)


def end(token: Token[Scope | None]) -> None:
    _scope.reset(token)


def defer(job: Job, undo: Job | None = None) -> bool:
    """Leave ``job`` to the handler's worker thread (``undo`` puts memory back if it
    fails); False outside a scope."""
    scope = _scope.get()
    if scope is None:
        return False
    scope.jobs.append(job)
    if undo is not None:
        scope.undos.append(undo)
    return True


def hold(send: Callable[[object], object], event: object) -> bool:
    """Keep ``send(event)`` until the call's deferred jobs are done; False (send it now)
    when nothing was deferred."""
    scope = _scope.get()
    if scope is None or not scope.jobs:
        return False
    scope.held.append((send, event))
    return True


def is_large(tree: ET.Element) -> bool:
    """Whether ``tree`` has at least LARGE_TREE_ELEMENTS elements (counted up to there)."""
    return sum(1 for _ in itertools.islice(tree.iter(), LARGE_TREE_ELEMENTS)) >= LARGE_TREE_ELEMENTS
