"""Who is calling: the client connection whose call runs now.

The session sets it around each call (the tasks a call starts copy it); what libvirt's close
callbacks (virCloseCallbacks) are keyed by.  Its own module so that the session does not
import the driver base (and with it the domain model and XML code) before a host is opened.
"""

from __future__ import annotations

import contextvars

__all__ = ["CALLER"]

CALLER: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "virtwire_caller", default=None
)
