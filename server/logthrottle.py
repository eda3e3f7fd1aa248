"""Per-peer rate limit for the daemon's repeated log messages.

A client that opens connection after connection with a bad length word, or makes call
after failing call, must not be able to fill the daemon's log (an adversarial probe wrote
4.5 MB in 5 s). :class:`LogThrottle` lets through the first ``burst`` messages of one kind
(its format string) from one peer (the address without the port; one unix socket counts as
one peer) per ``interval`` seconds, counts the rest, and reports them with the next message
of that kind after the interval as one line::

    client 912 (127.0.0.1:40112): closing connection: ...  [suppressed 994 similar messages from 127.0.0.1 in the last 60 s]

The clock is injectable (``clock=``) so tests need no sleeps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LOG_BURST", "LOG_INTERVAL", "LogThrottle", "peer_host"]

LOG_BURST = 5
"""Messages of one kind from one peer logged per interval before the rest are counted."""

LOG_INTERVAL = 60.0
"""Seconds of one rate-limit window."""

_MAX_KEYS = 4096
"""Windows kept at most; past it, expired ones are dropped and new peers share one window."""


def peer_host(peer: str) -> str:
    """The rate-limit key of a peer: ``host`` of ``host:port`` / ``[v6]:port``; a unix
    socket's display name as it is."""
    host, sep, port = peer.rpartition(":")
    if sep and port.isdigit() and not peer.startswith(("unix", "/")):
        return host
    return peer


@dataclass(slots=True)
class _Window:
    start: float
    logged: int = 0
    suppressed: int = 0


class LogThrottle:
    """Rate-limits ``logger`` calls per (peer, message kind)."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = LOG_BURST,
        interval: float = LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def log(self, level: int, peer: str, msg: str, *args: object, exc_info: bool = False) -> bool:
        """Log ``msg % args`` unless this peer already had ``burst`` of them in this
        interval; return whether it was logged."""
        if not self.logger.isEnabledFor(level):
            return False
        host = peer_host(peer)
        now = self.clock()
        window = self._window(host, msg, now)
        if now - window.start >= self.interval:
            if window.suppressed:
                shown = host.replace("%", "%%")
                msg = (
                    f"{msg}  [suppressed {window.suppressed} similar messages from {shown} "
                    f"in the last {now - window.start:.0f} s]"
                )
            window.start, window.logged, window.suppressed = now, 0, 0
        if window.logged >= self.burst:
            window.suppressed += 1
            return False
        window.logged += 1
        self.logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def _window(self, host: str, msg: str, now: float) -> _Window:
        key = (host, msg)
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= _MAX_KEYS:
                self._windows = {
                    k: w for k, w in self._windows.items() if now - w.start < self.interval
                }
                if len(self._windows) >= _MAX_KEYS:
                    key = ("*", msg)  # too many peers at once: they share one window
                    window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(now)
        return window
