"""The receive buffer sockets are read into: one per thread (recv_into runs without the GIL)."""

from __future__ import annotations

import threading

from virtwire.protocol import receive_buffer


def test_receive_buffer_is_per_thread():
    """Daemons on two loop threads, or two client threads holding batons, must not share it."""
    views: list[memoryview] = []
    thread = threading.Thread(target=lambda: views.append(receive_buffer.RECEIVE.view))
    thread.start()
    thread.join()
    assert views[0] is not receive_buffer.RECEIVE.view
    assert len(views[0]) == len(receive_buffer.RECEIVE.view) == receive_buffer.RECEIVE_SIZE
    assert receive_buffer.RECEIVE_SIZE == 256 * 1024
