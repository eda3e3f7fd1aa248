"""virtwire: libvirt's remote RPC protocol in pure Python.

The sub-packages live at the top of the source tree (``xdr/``, ``protocol/``, ``server/``,
``client/``, ``tools/``) and are installed as ``virtwire.xdr`` and so on. This folder holds
only the top package (its ``__init__``, ``__main__`` and the pytest plugin
:mod:`virtwire.testing`).

From a source tree (the clone, or its editable install) Python finds this folder first when
the clone's root is the working directory: the folder would then shadow the installed
package and ``import virtwire.client`` would fail. So, in a source tree, the sub-packages are
also searched for beside this folder.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

_tree = _Path(__file__).resolve().parent.parent
if (_tree / "pyproject.toml").is_file() and (_tree / "client" / "__init__.py").is_file():
    __path__.append(str(_tree))  # noqa: F821 - a package's __path__
del _Path, _tree
