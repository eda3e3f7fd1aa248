"""virtwire: libvirt's remote RPC protocol in pure Python.

The sub-packages live at the top of the source tree (``xdr/``, ``protocol/``, ``server/``,
``client/``, ``tools/``) and are installed as ``virtwire.xdr`` and so on.
"""

__version__ = "0.1.0"
