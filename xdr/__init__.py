"""virtwire.xdr."""
