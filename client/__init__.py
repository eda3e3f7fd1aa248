"""virtwire.client: a pure-Python libvirt client (asyncio) and a libvirt-python drop-in.

``async with await virtwire.client.connect("test+tcp://host/default") as conn`` gives the
asyncio API (:class:`Connection`, :class:`Domain`); ``from virtwire.client import libvirt``
gives the synchronous facade that scripts written for ``import libvirt`` run unchanged on.
"""

from virtwire.client.connection import (
    CloseReason,
    Connection,
    ConnectionGap,
    EventOverflow,
    EventStream,
    ReconnectPolicy,
    connect,
)
from virtwire.client.core import ClientCore
from virtwire.client.domain import Domain, DomainInfo
from virtwire.client.stream import Stream
from virtwire.client.uri import ConnectURI, parse_uri

__all__ = [
    "ClientCore",
    "CloseReason",
    "ConnectURI",
    "Connection",
    "ConnectionGap",
    "Domain",
    "DomainInfo",
    "EventOverflow",
    "EventStream",
    "ReconnectPolicy",
    "Stream",
    "connect",
    "parse_uri",
]
