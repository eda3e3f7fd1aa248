"""Shared test configuration.

Tests marked ``interop`` drive the real C libvirt peers. Locally they skip when a peer is
missing; CI sets ``VIRTWIRE_REQUIRE_PEERS=1`` so that a missing peer fails the run instead of
silently skipping the acceptance tests.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_PEERS = os.environ.get("VIRTWIRE_REQUIRE_PEERS") == "1"


def need_peer(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI) when a real peer is not installed."""
    if available:
        return
    if REQUIRE_PEERS:
        pytest.fail(f"required peer missing: {what} (VIRTWIRE_REQUIRE_PEERS=1)")
    pytest.skip(f"peer missing: {what}")
