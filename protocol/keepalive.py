"""libvirt's keepalive as a state machine that takes the time as an argument.

Both ends of a libvirt connection run the same logic: any received message proves the
peer alive; after ``interval`` seconds of silence a PING goes out, and another every
``interval`` seconds while silence lasts, up to ``count`` of them; when one more interval
passes with all ``count`` PINGs unanswered, the connection is declared dead. So a silent
peer is dropped after about ``interval * (count + 1)`` seconds; ``count == 0`` drops it
after one silent interval without any PING; ``interval <= 0`` disables the timer.

A PING is always answered with a PONG, even when our own timer was never started (the
daemon answers PINGs of clients that never asked for keepalive).

No sockets or clocks here: the owner calls :meth:`KeepAlive.received` for every frame,
:meth:`KeepAlive.on_frame` to get a PONG to send, sleeps until :meth:`next_wakeup`, then
calls :meth:`handle_timer` (aioquic style), so tests drive it with a fake clock.
"""

from __future__ import annotations

from enum import Enum

from virtwire.protocol.constants import (
    KEEPALIVE_PROC_PING,
    KEEPALIVE_PROC_PONG,
    KEEPALIVE_PROGRAM,
    KEEPALIVE_PROTOCOL_VERSION,
)
from virtwire.protocol.framing import Header, MessageStatus, MessageType, encode_frame

__all__ = ["PING_FRAME", "PONG_FRAME", "KeepAlive", "KeepAliveAction", "is_keepalive"]

PING_FRAME: bytes = encode_frame(
    Header(
        KEEPALIVE_PROGRAM,
        KEEPALIVE_PROTOCOL_VERSION,
        KEEPALIVE_PROC_PING,
        MessageType.MESSAGE,
        0,
        MessageStatus.OK,
    )
)
"""The 28-byte PING message: MESSAGE, serial 0, status OK, no payload."""

PONG_FRAME: bytes = encode_frame(
    Header(
        KEEPALIVE_PROGRAM,
        KEEPALIVE_PROTOCOL_VERSION,
        KEEPALIVE_PROC_PONG,
        MessageType.MESSAGE,
        0,
        MessageStatus.OK,
    )
)
"""The 28-byte PONG message."""


def is_keepalive(header: Header) -> bool:
    """True for a keepalive message; the RPC layer consumes these, never dispatches them."""
    return (
        header.prog == KEEPALIVE_PROGRAM
        and header.vers == KEEPALIVE_PROTOCOL_VERSION
        and header.type == MessageType.MESSAGE
    )


class KeepAliveAction(Enum):
    """What :meth:`KeepAlive.handle_timer` wants done."""

    NONE = "none"
    PING = "ping"
    DEAD = "dead"

    @property
    def data(self) -> bytes | None:
        """The bytes to send for PING; None otherwise."""
        return PING_FRAME if self is KeepAliveAction.PING else None


class KeepAlive:
    """The keepalive state of one connection.

    ``interval`` (seconds) and ``count`` are libvirt's ``keepalive_interval`` /
    ``keepalive_count``. The timer only runs between :meth:`start` and :meth:`stop`;
    answering PINGs does not depend on it.
    """

    __slots__ = (
        "interval",
        "count",
        "count_to_death",
        "started",
        "dead",
        "_last_received",
        "_interval_start",
    )

    def __init__(self, interval: float, count: int) -> None:
        self.interval = interval
        self.count = count
        self.count_to_death = count
        self.started = False
        self.dead = False
        self._last_received: float | None = None
        self._interval_start = 0.0

    def start(self, now: float, interval: float | None = None, count: int | None = None) -> bool:
        """Start the timer (optionally with new settings); False if keepalive is disabled.

        Silence already elapsed since the last received frame counts, so a connection
        that has been quiet for longer than ``interval`` pings at the first wake-up.
        """
        if interval is not None:
            self.interval = interval
        if count is not None:
            self.count = count
        self.count_to_death = self.count
        if self.interval <= 0:
            self.started = False
            return False
        last = self._last_received
        if last is None or now - last > self.interval:
            # Nothing heard for a whole interval (or ever): ping on the next wake-up.
            self._interval_start = now if last is None else now - self.interval
        else:
            self._interval_start = last
        self.started = True
        self.dead = False
        return True

    def stop(self) -> None:
        """Stop the timer; PINGs are still answered."""
        self.started = False

    def received(self, now: float) -> None:
        """Any frame of any program arrived: the peer is alive."""
        self.count_to_death = self.count
        self._last_received = now
        self._interval_start = now

    def on_frame(self, header: Header) -> bytes | None:
        """The PONG to send if ``header`` is a keepalive PING, else None.

        Call :meth:`received` for the frame too; use :func:`is_keepalive` to keep keepalive
        frames away from program dispatch (PONG and unknown keepalive procs are dropped).
        """
        if header.proc == KEEPALIVE_PROC_PING and is_keepalive(header):
            return PONG_FRAME
        return None

    def next_wakeup(self) -> float | None:
        """When :meth:`handle_timer` next has something to do; None while stopped/dead."""
        if not self.started or self.dead or self.interval <= 0:
            return None
        return self._interval_start + self.interval

    def handle_timer(self, now: float) -> KeepAliveAction:
        """Advance the timer to ``now``: nothing yet, send a PING, or the peer is dead."""
        if self.dead:
            return KeepAliveAction.DEAD
        if not self.started or self.interval <= 0:
            return KeepAliveAction.NONE
        if now < self._interval_start + self.interval:
            return KeepAliveAction.NONE
        if self.count_to_death <= 0:
            self.dead = True
            return KeepAliveAction.DEAD
        self.count_to_death -= 1
        self._interval_start = now
        return KeepAliveAction.PING
