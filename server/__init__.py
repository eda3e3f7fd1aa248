"""virtwire.server: the daemon. Embed one with :func:`serve` / :func:`serve_sync`
(:mod:`virtwire.server.embed`; docs/server.md, "Embedding")."""

from __future__ import annotations

from typing import Any

__all__ = ["serve", "serve_sync"]


def __getattr__(name: str) -> Any:
    # lazy: importing a server sub-module must not pay for the daemon's imports
    if name in __all__:
        from virtwire.server import embed

        return getattr(embed, name)
    raise AttributeError(f"module 'virtwire.server' has no attribute {name!r}")
