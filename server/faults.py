"""Fault injection: the table of faults a running daemon applies (sans-IO).

No real libvirtd can be told "fail the next two DOMAIN_CREATE calls" or "hold every event
until I say so"; a test of VM-management software needs exactly that. The table is set
through the daemon's control socket (:mod:`virtwire.server.control`, ``virtwire inject``)
and consulted at three points only:

- :meth:`FaultTable.on_call` once per dispatched call (:meth:`Dispatcher.dispatch
  <virtwire.server.dispatch.Dispatcher.dispatch>`): an injected error or an added latency
  for that procedure;
- :meth:`FaultTable.guest_refuses` by the simulated QEMU guest when it is asked to unplug a
  device or to shut down;
- :meth:`FaultTable.hold_event` for every event frame on its way to a client, while events
  are stalled.

The table does no I/O and knows no clock: a latency is returned as seconds for the
dispatcher to await, held events are handed back by :meth:`FaultTable.release_events` for
the caller to send. Every fault is logged when it is set and each time it fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.procedures import Procedure, resolve

__all__ = ["GUEST_ACTIONS", "CallFault", "Fault", "FaultError", "FaultTable"]

log = logging.getLogger("virtwire.server.faults")

GUEST_ACTIONS = ("unplug", "shutdown")
"""What the simulated guest can be made to refuse."""


class FaultError(ValueError):
    """A fault that cannot be set (unknown procedure, bad count, ...)."""


@dataclass(slots=True)
class Fault:
    """One active fault. ``remaining`` None: until reset; else fires that many more times."""

    id: int
    kind: str  # "fail" | "delay" | "refuse"
    target: str  # the procedure's full name, or the guest action
    remaining: int | None
    code: int = 0
    domain: int = 0
    message: str = ""
    seconds: float = 0.0
    fired: int = 0

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "remaining": self.remaining,
            "fired": self.fired,
        }
        if self.kind == "fail":
            out.update(code=self.code, domain=self.domain, message=self.message)
        elif self.kind == "delay":
            out["seconds"] = self.seconds
        return out


class CallFault(NamedTuple):
    """What :meth:`FaultTable.on_call` says about one call: fail with ``error``, or wait
    ``delay`` seconds first (both may be set: the wait comes first)."""

    error: LibvirtError | None = None
    delay: float = 0.0


def _positive_count(count: int | None) -> int | None:
    if count is not None and count < 1:
        raise FaultError(f"count must be at least 1, got {count}")
    return count


@dataclass
class FaultTable:
    """Every fault of one daemon. ``armed`` is False while nothing is set (the hot path
    checks only that attribute)."""

    faults: list[Fault] = field(default_factory=list)
    events_stalled: bool = False
    held: list[tuple[Any, bytes]] = field(default_factory=list)
    armed: bool = False
    _next_id: int = 1

    # --- setting ----------------------------------------------------------------------------

    def _add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        self.armed = True
        log.warning("fault set: %s", _text(fault))
        return fault

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    @staticmethod
    def procedure(name: str) -> Procedure:
        """The registry entry for a user-given name (``DOMAIN_CREATE``, any case)."""
        proc = resolve(name.strip()) if name.strip() and not name.strip().isdigit() else None
        if proc is None:
            raise FaultError(f"unknown procedure {name!r} (use a name such as DOMAIN_CREATE)")
        return proc

    def add_fail(
        self,
        procedure: str,
        code: int,
        message: str,
        *,
        domain: int | None = None,
        count: int | None = 1,
    ) -> Fault:
        """The next ``count`` calls of ``procedure`` fail with this libvirt error; the
        domain defaults to the procedure's own error domain (the registry's)."""
        proc = self.procedure(procedure)
        try:
            code = int(ErrorCode(code))
        except ValueError:
            raise FaultError(f"unknown libvirt error code {code}") from None
        if code == ErrorCode.OK:
            raise FaultError("error code 0 (VIR_ERR_OK) is not an error")
        if domain is None:
            domain = int(ErrorDomain[proc.error_domain])
        return self._add(
            Fault(
                self._new_id(),
                "fail",
                proc.name,
                _positive_count(count),
                code=code,
                domain=int(domain),
                message=message or f"injected failure of {proc.name}",
            )
        )

    def add_delay(self, procedure: str, seconds: float, *, count: int | None = None) -> Fault:
        """Calls of ``procedure`` wait ``seconds`` before they run (the loop keeps going)."""
        proc = self.procedure(procedure)
        if not 0 < seconds <= 3600:
            raise FaultError(f"latency must be between 0 and 3600 seconds, got {seconds}")
        return self._add(
            Fault(self._new_id(), "delay", proc.name, _positive_count(count), seconds=seconds)
        )

    def add_refusal(self, action: str, *, count: int | None = 1) -> Fault:
        """The simulated guest refuses the next ``count`` unplugs / shutdown requests."""
        if action not in GUEST_ACTIONS:
            raise FaultError(f"the guest can refuse {' or '.join(GUEST_ACTIONS)}, not {action!r}")
        return self._add(Fault(self._new_id(), "refuse", action, _positive_count(count)))

    def stall_events(self) -> None:
        """Hold every event frame until :meth:`release_events`."""
        self.events_stalled = True
        self.armed = True
        log.warning("fault set: events stalled until released")

    def release_events(self) -> list[tuple[Any, bytes]]:
        """Stop stalling; the held (sink, frame) pairs, in order, for the caller to send."""
        held, self.held = self.held, []
        if self.events_stalled:
            log.warning("fault cleared: events released (%d held)", len(held))
        self.events_stalled = False
        self._rearm()
        return held

    def reset(self) -> list[tuple[Any, bytes]]:
        """Clear every fault; returns the held events (to be sent) like :meth:`release_events`."""
        count = len(self.faults)
        self.faults.clear()
        held = self.release_events()
        log.warning("faults reset (%d cleared)", count)
        return held

    def describe(self) -> dict[str, Any]:
        return {
            "faults": [f.describe() for f in self.faults],
            "events_stalled": self.events_stalled,
            "events_held": len(self.held),
        }

    # --- consulting -------------------------------------------------------------------------

    def on_call(self, name: str, client_id: int = 0) -> CallFault | None:
        """A call of procedure ``name`` (full name) is about to run: what to do to it."""
        error: LibvirtError | None = None
        delay = 0.0
        for fault in list(self.faults):
            if fault.target != name or fault.kind not in ("fail", "delay"):
                continue
            if fault.kind == "fail":
                if error is not None:
                    continue
                error = LibvirtError(fault.code, fault.domain, fault.message)
            elif delay == 0.0:
                delay = fault.seconds
            else:
                continue
            self._fire(fault, f"client {client_id}")
        if error is None and delay == 0.0:
            return None
        return CallFault(error, delay)

    def guest_refuses(self, action: str, what: str = "") -> bool:
        """The simulated guest is asked to ``action`` (unplug / shutdown): refuse it?"""
        for fault in self.faults:
            if fault.kind == "refuse" and fault.target == action:
                self._fire(fault, what)
                return True
        return False

    def hold_event(self, sink: Any, frame: bytes) -> bool:
        """An event frame for ``sink``: True when it is held (events are stalled)."""
        if not self.events_stalled:
            return False
        self.held.append((sink, frame))
        log.info("fault fired: event held (%d held)", len(self.held))
        return True

    def _fire(self, fault: Fault, context: str) -> None:
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
                self._rearm()
        log.warning("fault fired: %s%s", _text(fault), f" ({context})" if context else "")

    def _rearm(self) -> None:
        self.armed = bool(self.faults) or self.events_stalled


def _text(fault: Fault) -> str:
    times = "until reset" if fault.remaining is None else f"{fault.remaining} more time(s)"
    if fault.kind == "fail":
        what = (
            f"{fault.target} fails with code {fault.code} domain {fault.domain}: {fault.message!r}"
        )
    elif fault.kind == "delay":
        what = f"{fault.target} delayed by {fault.seconds:g} s"
    else:
        what = f"guest refuses {fault.target}"
    return f"#{fault.id} {what}, {times}"
