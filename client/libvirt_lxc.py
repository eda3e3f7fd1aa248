"""libvirt-python's ``libvirt_lxc`` module on virtwire: the LXC program's calls.

Functions and constants as python3-libvirt's module has them, bound from the generated
table (``lxcOpenNamespace`` passes file descriptors, which virtwire's client does not
receive yet: it answers libvirt's NO_SUPPORT error).
"""

from __future__ import annotations

from virtwire.client import libvirt as _libvirt  # noqa: F401  (the drop-in must be loaded)
from virtwire.client import objects as _objects
from virtwire.client.constants import LXC_CONSTANTS as _LXC_CONSTANTS

globals().update(_LXC_CONSTANTS)
_objects.bind_module(globals(), "libvirt_lxc")
del annotations  # noqa: F821  (not one of libvirt_lxc's names)
