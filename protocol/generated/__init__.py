"""virtwire.protocol.generated."""
