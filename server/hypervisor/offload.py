"""Work a driver call may leave for a worker thread: slow, pure jobs whose results the
reply must wait for, but the event loop need not.

A handler opens a scope (:func:`begin` … :func:`end`) around the driver call; inside it, the driver
hands a job to :func:`defer` instead of running it (formatting and writing a definition
of tens of thousands of elements: about 0.3 s of CPU that would stall every client). The
handler then runs the jobs in a thread and sends the reply only when they are done, so
what a client was told is stored is on disk before it hears so. Outside a scope (start-up,
tests calling drivers directly) :func:`defer` returns False and the caller does the work
itself, as before.

Jobs hold the GIL while they run Python code; the loop still gets it every switch interval
(5 ms), so other clients' calls interleave instead of waiting for the whole job.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

__all__ = ["LARGE_TREE_ELEMENTS", "begin", "defer", "end", "is_large", "run_jobs"]

if TYPE_CHECKING:  # ElementTree is imported by the XML work itself, not by the daemon's start
    import xml.etree.ElementTree as ET


Job = Callable[[], None]

# below this many elements a definition is formatted and written on the loop: a thread
# hop (~100 µs) costs more than the work
LARGE_TREE_ELEMENTS = 4096

_jobs: ContextVar[list[Job] | None] = ContextVar("virtwire_offload_jobs", default=None)


def begin() -> tuple[list[Job], Token[list[Job] | None]]:
    """Open the scope of one driver call (on the dispatch path: no generator, two ContextVar
    operations): the jobs it defers land in the returned list until :func:`end`."""
    jobs: list[Job] = []
    return jobs, _jobs.set(jobs)


def end(token: Token[list[Job] | None]) -> None:
    _jobs.reset(token)


def defer(job: Job) -> bool:
    """Leave ``job`` to the handler's worker thread; False outside a scope."""
    jobs = _jobs.get()
    if jobs is None:
        return False
    jobs.append(job)
    return True


def run_jobs(jobs: list[Job]) -> None:
    """Run the jobs in order; the first failure is raised after the rest have run."""
    failure: BaseException | None = None
    for job in jobs:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failure = failure or exc
    if failure is not None:
        raise failure


def is_large(tree: ET.Element) -> bool:
    """Whether ``tree`` has at least LARGE_TREE_ELEMENTS elements (counted up to there)."""
    return sum(1 for _ in itertools.islice(tree.iter(), LARGE_TREE_ELEMENTS)) >= LARGE_TREE_ELEMENTS
