"""Shared test configuration.

Tests marked ``interop`` drive the real C libvirt peers. Locally they skip when a peer is
missing; CI sets ``VIRTWIRE_REQUIRE_PEERS=1`` so that a missing peer fails the run instead of
silently skipping the acceptance tests. The optional extras (``virtwire[plot]``,
``virtwire[uvloop]``) are treated the same way: CI installs them (.ci/run).
"""

from __future__ import annotations

import importlib.util
import logging
import os

import pytest

from tests import hygiene

REQUIRE_PEERS = os.environ.get("VIRTWIRE_REQUIRE_PEERS") == "1"


def need_peer(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI) when a real peer is not installed."""
    if available:
        return
    if REQUIRE_PEERS:
        pytest.fail(f"required peer missing: {what} (VIRTWIRE_REQUIRE_PEERS=1)")
    pytest.skip(f"peer missing: {what}")


def need_extra(module: str, extra: str) -> None:
    """Skip (locally) or fail (CI) when an optional extra's package is not installed."""
    need_peer(
        importlib.util.find_spec(module) is not None, f"{module} (pip install 'virtwire[{extra}]')"
    )


@pytest.fixture(autouse=True)
def _virtwire_logger_restored():
    """A test that runs a command's main() in-process (``serve_main``) points the
    ``virtwire`` logger at the stderr pytest captured for that test, without propagation;
    later tests' daemon threads would then log to a closed stream ("--- Logging error ---")
    and caplog would see nothing. Put the logger back as it was after every test."""
    logger = logging.getLogger("virtwire")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.propagate = propagate
    logger.setLevel(level)  # clears the loggers' cached isEnabledFor answers


# --- hygiene: no thread, child process, fd/socket or asyncio task left behind by a test ---------

HYGIENE = os.environ.get("VIRTWIRE_HYGIENE", "fail")  # fail | warn | off
_LEAKS: list[tuple[str, list[str]]] = []


@pytest.fixture(autouse=True)
def _no_leftovers(request: pytest.FixtureRequest):
    """Snapshot before the test (after its module/session fixtures), compare after its own
    fixtures are torn down; see tests/hygiene.py for what counts and the known exceptions."""
    if HYGIENE == "off" or request.node.get_closest_marker("leaves_process_state"):
        yield
        return
    before = hygiene.snapshot()
    yield
    found = hygiene.leftovers(before)
    if found:
        _LEAKS.append((request.node.nodeid, found))
        if HYGIENE == "fail":
            pytest.fail("left behind: " + "; ".join(found), pytrace=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _LEAKS:
        return
    terminalreporter.section(f"hygiene: {len(_LEAKS)} test(s) left something behind")
    for nodeid, found in _LEAKS:
        terminalreporter.write_line(f"{nodeid}: " + "; ".join(found))
