"""virtwire.server.hypervisor."""
