"""virtwire.protocol."""
