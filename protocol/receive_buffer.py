"""The one buffer per thread that sockets are read into (daemon sessions, client batons).

Reading with ``sock.recv(256 KiB)`` (what asyncio's plain transports do) makes a fresh
256 KiB bytes object per read: above glibc's mmap threshold, so each read costs an mmap,
an mremap (shrinking it to what arrived) and a munmap besides the recv itself. Reading
with ``recv_into`` into this buffer and copying out only the bytes that came costs none
of those. One buffer per thread, because ``recv_into`` runs without the GIL; whoever reads
into it copies what it needs before anything else on the same thread reads again.
"""

from __future__ import annotations

import threading

RECEIVE_SIZE = 256 * 1024  # what asyncio's own transports ask recv() for


class ReceiveBuffer(threading.local):
    def __init__(self) -> None:
        self.data = bytearray(RECEIVE_SIZE)
        self.view = memoryview(self.data)


RECEIVE = ReceiveBuffer()
"""This thread's buffer (created on the thread's first use)."""
