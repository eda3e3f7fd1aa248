"""vHBA storage pools of ``test:///default``: a pool with an ``fc_host`` adapter brings its
node device along, as libvirt 9.0's test driver mocks it.

``testStoragePoolCreateXML`` (a transient pool) creates the vHBA with the adapter's WWNs
(``testCreateVport``: ``scsi_host12``, node device CREATED) before the pool's STARTED;
``testStoragePoolDestroy`` removes ``scsi_host12`` (node device DELETED, or ``no node device
with matching name 'scsi_host12'``) before the pool's STOPPED. Starting a defined pool
creates nothing (libvirt's test driver only mocks the transient path).
"""

from __future__ import annotations

from typing import Any

from virtwire.protocol.errors import ErrorCode

VHBA_NAME = "scsi_host12"  # the name testDestroyVport "knows was created"
STARTED, STOPPED = 2, 3  # VIR_STORAGE_POOL_EVENT_STARTED / _STOPPED


def fc_host_wwns(obj: Any) -> tuple[str, str] | None:
    adapter = obj.config.source.adapter
    if adapter is None or adapter.get("type") != "fc_host":
        return None
    return adapter.get("wwnn") or "", adapter.get("wwpn") or ""


class TestVhbaPools:
    """Hooks the test driver's pool events (server/hypervisor/storage.py) to its node
    devices (server/hypervisor/nodedevs.py)."""

    __test__ = False
    devices: dict[str, Any]
    error: Any
    mock_create_vport: Any
    _dev_event: Any

    def _pool_event(self, obj: Any, event: int) -> None:
        wwns = fc_host_wwns(obj)
        if wwns is not None:
            if event == STARTED and not obj.persistent:  # only createXML makes a transient pool
                self.mock_create_vport(*wwns)
            elif event == STOPPED:
                if VHBA_NAME not in self.devices:
                    raise self.error(
                        ErrorCode.NO_NODE_DEVICE,
                        f"no node device with matching name '{VHBA_NAME}'",
                    )
                self._dev_event(VHBA_NAME, 1)  # VIR_NODE_DEVICE_EVENT_DELETED
                del self.devices[VHBA_NAME]
        super()._pool_event(obj, event)  # type: ignore[misc]


__all__ = ["TestVhbaPools", "fc_host_wwns"]
