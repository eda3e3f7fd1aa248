"""Client test fixtures: a way to run coroutines with a hard deadline (nothing may hang)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest


@pytest.fixture
def arun() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """``arun(coro)`` runs ``coro`` on a fresh loop and fails the test after 15 s."""

    def run(coro: Coroutine[Any, Any, Any], timeout: float = 15.0) -> Any:
        return asyncio.run(asyncio.wait_for(coro, timeout))

    return run
