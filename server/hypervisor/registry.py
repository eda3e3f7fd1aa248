"""HostRegistry: which simulated host serves which URI, and how long it lives.

As in libvirtd, ``test:///default`` is shared by all its connections while at least one is
open and starts afresh from the built-in default after the last one closes; the QEMU hosts
live as long as the registry and keep their domains on disk under ``state_dir``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.server.faults import FaultTable

if TYPE_CHECKING:
    from virtwire.server.hypervisor.driver import Driver
    from virtwire.server.hypervisor.qemudriver import QemuDriver
    from virtwire.server.hypervisor.testdriver import TestDriver

# Each host's code (the test driver's ~50 ms of imports, the QEMU host's ~35 ms, the state
# files' persistence with tempfile) loads when a client first opens it: `virtwire serve`
# answers its first calls without any of them.

log = logging.getLogger("virtwire.server")

TEST_DEFAULT = "test:///default"
TEST_FILE_PREFIX = "test:///"
QEMU_DIRS = {"qemu:///system": "qemu-system", "qemu:///session": "qemu-session"}


class HostRegistry:
    """Owns the simulated hosts of one daemon."""

    def __init__(
        self,
        state_dir: Path,
        schedule: Callable[[Callable[[], None]], object],
        faults: FaultTable | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.faults = faults  # injected guest refusals (virtwire inject), for the QEMU hosts
        self.schedule = schedule
        self._test: TestDriver | None = None
        self._test_users = 0
        self._qemu: dict[str, QemuDriver] = {}
        self._file_drivers: set[Driver] = set()  # test:///PATH: one per connection

    def open(self, uri_name: str) -> Driver:
        """The driver for a CONNECT_OPEN name; unknown names are NO_CONNECT as in libvirtd."""
        name = normalise(uri_name)
        if name == TEST_DEFAULT:
            if self._test is None:
                from virtwire.server.hypervisor.testdriver import TestDriver

                self._test = TestDriver(TEST_DEFAULT, self.schedule)
                log.info("test:///default: fresh state")
            self._test_users += 1
            return self._test
        if is_test_file_uri(name):
            from virtwire.server.hypervisor.testfile import TestFileDriver

            # testOpenFromFile: no state shared between connections to the same file
            file_driver = TestFileDriver(name, self.schedule)
            self._file_drivers.add(file_driver)
            return file_driver
        if name in QEMU_DIRS:
            driver = self._qemu.get(name)
            if driver is None:
                from virtwire.server.hypervisor.persistence import unusable_state_error
                from virtwire.server.hypervisor.qemudriver import QemuDriver

                try:
                    driver = QemuDriver(name, self.schedule, self.state_dir / QEMU_DIRS[name])
                except OSError as exc:  # not kept: a later open tries again
                    err = unusable_state_error(exc)
                    log.warning("%s: %s", name, err.message)
                    raise err from None
                driver.faults = self.faults
                self._qemu[name] = driver
            return driver
        raise LibvirtError.make(ErrorCode.NO_CONNECT, ErrorDomain.NONE, uri_name)

    def close(self, driver: Driver) -> None:
        """A connection to ``driver`` ended; the last test:///default one drops its state."""
        if driver is self._test:
            self._test_users -= 1
            if self._test_users <= 0:
                self._test.close()
                self._test = None
                self._test_users = 0
        elif driver in self._file_drivers:
            self._file_drivers.discard(driver)
            driver.close()


def is_test_file_uri(name: str) -> bool:
    """``test:///PATH`` other than ``test:///default`` (testConnectOpen's file branch)."""
    return name.startswith(TEST_FILE_PREFIX) and name != TEST_DEFAULT


def normalise(uri_name: str) -> str:
    """Accept the forms clients send for the same host (``qemu:///system/``, no slash)."""
    name = uri_name.strip()
    if name.endswith("/") and name.count("/") > 3:
        name = name.rstrip("/")
    return name
