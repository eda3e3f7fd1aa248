"""virtwire.server."""
