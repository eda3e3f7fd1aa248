"""virtwire.client."""
