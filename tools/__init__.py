"""virtwire.tools."""
