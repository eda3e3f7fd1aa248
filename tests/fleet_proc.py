"""A `virtwire serve --fleet …` subprocess for tests: started, waited for, stopped by PID."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import stop_process


class FleetProcess:
    """``virtwire serve --state-dir DIR --fleet …``; its log goes to ``DIR/../fleet.log``."""

    def __init__(self, base: Path, args: list[str]) -> None:
        self.base = Path(base)
        self.state_dir = self.base / "state"
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "fleet.log"

    @property
    def manifest_path(self) -> Path:
        return self.state_dir / "fleet.json"

    def start(self, timeout: float = 60.0) -> FleetProcess:
        self.base.mkdir(parents=True, exist_ok=True)
        self.manifest_path.unlink(missing_ok=True)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "virtwire.tools.cli", "serve",
                 "--state-dir", str(self.state_dir), *self.args],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.manifest_path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fleet did not start:\n" + self.log_path.read_text())
            time.sleep(0.02)  # polling a condition with a deadline, not a fixed wait
        return self

    def hosts(self) -> list[dict]:
        return json.loads(self.manifest_path.read_text())["hosts"]

    def uris(self) -> list[str]:
        return [h["uri"] for h in self.hosts()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        proc, self.proc = self.proc, None
        return stop_process(proc, sig, timeout)

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)
