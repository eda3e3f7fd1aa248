"""Who reads a link's socket when threads drive it: the reading baton.

The sync facade (:mod:`virtwire.client.libvirt`) makes its calls from the application's
threads; each writes its own CALL. Without a baton, the loop thread would read every reply
and wake the caller: two thread wake-ups per call where python3-libvirt has one. With it,
a thread waiting for a reply reads the socket itself, as libvirt's C client "passes the
buck": one thread at a time holds the baton and resolves every waiter whose reply it
reads; when its own reply is in, it hands the baton to the next thread still waiting, or,
when none is, back to the loop, which reads while no thread does (events, keepalive,
replies to the loop's own calls).

The loop watches a private epoll set holding a duplicate of the socket's fd, armed one
shot at a time (``EPOLLONESHOT``): taking the baton disarms it and handing it back re-arms
it, one ``epoll_ctl`` each and nothing done to the asyncio loop from a foreign thread.
"""

from __future__ import annotations

import collections
import contextlib
import select
import socket
import threading
from collections.abc import Callable
from typing import Protocol

from virtwire.protocol.receive_buffer import RECEIVE


class Reader(Protocol):
    """What the baton hands itself to: a thread blocked for a reply (a ThreadWaiter)."""

    def promote(self) -> bool:
        """Wake the thread to read; False when it needs no baton any more (done, gone)."""
        ...


_ARMED = select.EPOLLIN | select.EPOLLONESHOT
_DISARMED = select.EPOLLONESHOT  # nothing asked for (a hang-up still reports, once)

LOOP = object()  # the owner while the loop reads


class Baton:
    """The reading baton of one link (a plain socket); see the module's text.

    ``owner`` is None (nobody reads: the loop's watch is armed), :data:`LOOP` or the
    :class:`Reader` that reads. Every change of owner happens under one lock.
    """

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=socket.dup(fd))
        self.sock.setblocking(False)
        self._io = threading.Lock()
        self._epoll = select.epoll()
        self._fd = self.sock.fileno()
        self._epoll.register(self._fd, _ARMED)
        self._poll = select.poll()  # the owning thread's wait (never two at once)
        self._poll.register(self.sock.fileno(), select.POLLIN)
        self._queue: collections.deque[Reader] = collections.deque()
        self.owner: object | None = None
        self.closed = False
        self._finalized = False

    def watch_fd(self) -> int:
        """The fd the loop watches (readable when the armed socket is)."""
        return self._epoll.fileno()

    # -- the loop ----------------------------------------------------------------------------

    def loop_enter(self) -> bool:
        """On the loop, its watch fired: True when the loop may read now."""
        with contextlib.suppress(OSError, ValueError):  # ValueError: finalized under us
            self._epoll.poll(0)  # consume the one shot (else the epoll fd stays readable)
        with self._io:
            if self.owner is not None or self.closed:
                return False
            self.owner = LOOP  # until its hand_off()
            return True

    # -- threads -----------------------------------------------------------------------------

    def take(self, reader: Reader) -> bool:
        """Become the reader; else wait in line (:meth:`hand_off` promotes the first)."""
        with self._io:
            if self.owner is None and not self.closed:
                self.owner = reader
                self._arm(False)
                return True
            if not self.closed and reader not in self._queue:
                self._queue.append(reader)
            return False

    def recv(self) -> bytes:
        """What the socket has (b"" at its end); only the owner calls it. Raises OSError."""
        buffer = RECEIVE  # this thread's
        count = self.sock.recv_into(buffer.data)
        return buffer.view[:count].tobytes()

    def readable(self, timeout: float) -> bool:
        """The owner waits (GIL released) until the socket has bytes or ``timeout`` s."""
        return bool(self._poll.poll(max(0, int(timeout * 1000))))

    def hand_off(self) -> Callable[[], None] | None:
        """The owner is done: promote the next waiting reader, else re-arm the loop's watch.

        Returns, once the link is closed and nobody reads any more, the clean-up that the
        loop must run (it removes its watch); None otherwise.
        """
        with self._io:
            while self._queue and not self.closed:
                reader = self._queue.popleft()
                if reader.promote():
                    self.owner = reader
                    return None
            self.owner = None
            if not self.closed:
                self._arm(True)
                return None
            self._queue.clear()
        return self.finalize

    def forget(self, reader: Reader) -> None:
        """A waiting reader left (interrupted): never promote it."""
        with self._io, contextlib.suppress(ValueError):
            self._queue.remove(reader)

    def _arm(self, on: bool) -> None:
        try:
            self._epoll.modify(self._fd, _ARMED if on else _DISARMED)
        except (OSError, ValueError):  # closed under us
            pass

    # -- the end -------------------------------------------------------------------------------

    def close(self) -> bool:
        """On the loop, the link is gone: True when :meth:`finalize` may run now; else a
        thread is reading and is woken (its read sees the end) to hand off and finalize."""
        with self._io:
            self.closed = True
            if self.owner is None or self.owner is LOOP:
                return True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RD)
            return False

    def finalize(self) -> None:
        """Close the duplicate fd and the epoll set (the loop removes its watch first)."""
        with self._io:
            if self._finalized:
                return
            self._finalized = True
        with contextlib.suppress(OSError):
            self._epoll.close()
        with contextlib.suppress(OSError):
            self.sock.close()
