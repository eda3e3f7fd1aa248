"""`virtwire load`: many concurrent clients against a `virtwire serve` process, checked.

Each round connects ``--clients`` raw-frame clients over the daemon's unix socket at once;
each opens ``test:///default``, registers for domain lifecycle events and makes a mix of calls
(type, lookup, info, list, XML) while one more client defines and undefines ``--events``
numbered domains. Checked: every call's reply is the right one (serial, status, decoded
value); every client receives every DEFINED/UNDEFINED event, in order (the sequence number
is in the domain's name); after the clients close, the daemon's open file descriptors
(``/proc/PID/fd``) come back to where they were and its RSS stays near the first round's.
It stops by itself: a round that does not finish within ``--timeout`` seconds fails.

    virtwire load                      # 500 clients, 3 rounds (the full run)
    virtwire load --clients 100 --rounds 2 --events 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.event_types import DomainEventType
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    MessageStatus,
    MessageType,
    encode_frame,
)
from virtwire.protocol.generated import remote_protocol as rp

RSS_SLACK = 32 << 20  # allowed RSS growth over the first round (allocator caches)
_LIFECYCLE = procedures.resolve("DOMAIN_EVENT_CALLBACK_LIFECYCLE")


class LoadError(AssertionError):
    """A check of the load run failed."""


@dataclass
class RoundResult:
    clients: int
    calls: int = 0
    events: int = 0
    seconds: float = 0.0
    fds_before: int = 0
    fds_peak: int = 0  # with every client connected
    fds_after: int = 0
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0


@dataclass
class _Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    serial: int = 0
    replies: dict[int, asyncio.Future] = field(default_factory=dict)
    events: list[tuple[int, str]] = field(default_factory=list)
    event_seen: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    async def call(self, name: str, args: Any = None) -> Any:
        proc = procedures.resolve(name)
        assert proc is not None, name
        serial = self.serial
        self.serial += 1
        fut = asyncio.get_running_loop().create_future()
        self.replies[serial] = fut
        payload = proc.args.pack(args) if proc.args is not None else b""
        header = Header(REMOTE_PROGRAM, 1, proc.number, MessageType.CALL, serial, MessageStatus.OK)
        self.writer.write(encode_frame(header, payload))
        frame: Frame = await fut
        if frame.header.proc != proc.number:
            raise LoadError(f"{name}: reply of procedure {frame.header.proc}")
        if frame.header.status != MessageStatus.OK:
            err = rp.unpack_remote_error(frame.payload)
            raise LoadError(f"{name} failed: {err.message}")
        return proc.ret.unpack(frame.payload) if proc.ret is not None else None

    async def read_loop(self) -> None:
        while data := await self.reader.read(1 << 16):
            for frame in self.decoder.feed(data):
                h = frame.header
                if h.type == MessageType.REPLY:
                    fut = self.replies.pop(h.serial, None)
                    if fut is None:
                        raise LoadError(f"reply to unknown serial {h.serial}")
                    fut.set_result(frame)
                elif h.type == MessageType.MESSAGE and h.proc == _LIFECYCLE.number:
                    msg = _LIFECYCLE.msg.unpack(frame.payload).msg
                    self.events.append((msg.event, msg.dom.name))
                    self.event_seen.set()
        for fut in self.replies.values():
            fut.set_exception(LoadError("the daemon closed the connection"))

    def close(self) -> None:
        self.writer.close()


async def _connect(path: Path) -> _Client:
    reader, writer = await asyncio.open_unix_connection(str(path))
    client = _Client(reader, writer)
    client.task = asyncio.create_task(client.read_loop())
    await client.call("AUTH_LIST")
    await client.call("CONNECT_OPEN", rp.RemoteConnectOpenArgs(name="test:///default", flags=0))
    return client


async def _mixed_calls(client: _Client, count: int) -> int:
    """``count`` rounds of five different calls, each reply checked; returns the calls made."""
    made = 0
    for _ in range(count):
        got = await client.call("CONNECT_GET_TYPE")
        dom = (
            await client.call("DOMAIN_LOOKUP_BY_NAME", rp.RemoteDomainLookupByNameArgs(name="test"))
        ).dom
        info = await client.call("DOMAIN_GET_INFO", rp.RemoteDomainGetInfoArgs(dom=dom))
        listed = await client.call(
            "CONNECT_LIST_ALL_DOMAINS", rp.RemoteConnectListAllDomainsArgs(need_results=1, flags=0)
        )
        xml = await client.call(
            "DOMAIN_GET_XML_DESC", rp.RemoteDomainGetXmlDescArgs(dom=dom, flags=0)
        )
        if got.type != "TEST" or dom.name != "test" or info.maxMem <= 0:
            raise LoadError(f"wrong answers: {got}, {dom}, {info}")
        if "test" not in [d.name for d in listed.domains] or "<name>test</name>" not in xml.xml:
            raise LoadError("the test domain is missing from a list or its XML")
        made += 5
    return made


def _expected_events(round_no: int, count: int) -> list[tuple[int, str]]:
    names = [f"load{round_no}-{i}" for i in range(count)]
    return [(DomainEventType.DEFINED, n) for n in names] + [
        (DomainEventType.UNDEFINED, n) for n in names
    ]


async def _actor(path: Path, round_no: int, count: int) -> int:
    actor = await _connect(path)
    try:
        handles = []
        for i in range(count):
            xml = (
                f"<domain type='test'><name>load{round_no}-{i}</name><memory>65536</memory>"
                "<os><type>hvm</type></os></domain>"
            )
            handles.append(
                (await actor.call("DOMAIN_DEFINE_XML", rp.RemoteDomainDefineXmlArgs(xml=xml))).dom
            )
        for dom in handles:
            await actor.call("DOMAIN_UNDEFINE", rp.RemoteDomainUndefineArgs(dom=dom))
        return 2 * count
    finally:
        actor.close()
        await asyncio.gather(actor.task, return_exceptions=True)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise LoadError("no VmRSS")


async def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise LoadError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def run_round(
    path: Path, pid: int, round_no: int, clients: int, calls: int, events: int, timeout: float
) -> RoundResult:
    result = RoundResult(clients, fds_before=_fds(pid), rss_before=_rss(pid))
    started = time.monotonic()
    register = rp.RemoteConnectDomainEventCallbackRegisterAnyArgs(
        eventID=_LIFECYCLE_EVENT_ID, dom=None
    )

    async def one() -> _Client:
        client = await _connect(path)
        await client.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", register)
        return client

    async def body() -> None:
        conns = await asyncio.gather(*(one() for _ in range(clients)))
        try:
            expected = _expected_events(round_no, events)
            made = await asyncio.gather(
                _actor(path, round_no, events), *(_mixed_calls(c, calls) for c in conns)
            )
            await _wait(
                lambda: all(len(c.events) >= len(expected) for c in conns),
                timeout,
                "every client's events",
            )
            for c in conns:
                if c.events != expected:
                    raise LoadError(f"events out of order or lost: {c.events[:6]}...")
            result.calls = sum(made[1:]) + clients * 3 + made[0] + 2
            result.events = clients * len(expected)
            result.fds_peak, result.rss_peak = _fds(pid), _rss(pid)
            if result.fds_peak < result.fds_before + clients:
                raise LoadError(f"only {result.fds_peak} daemon fds with {clients} clients")
        finally:
            for c in conns:
                c.close()
            await asyncio.gather(*(c.task for c in conns), return_exceptions=True)

    await asyncio.wait_for(body(), timeout)
    await _wait(lambda: _fds(pid) <= result.fds_before, timeout, "the daemon's fds to close")
    result.fds_after = _fds(pid)
    result.rss_after = _rss(pid)
    result.seconds = round(time.monotonic() - started, 2)
    return result


_LIFECYCLE_EVENT_ID = 0  # VIR_DOMAIN_EVENT_ID_LIFECYCLE


def start_daemon(base: Path) -> tuple[subprocess.Popen, Path]:
    """`virtwire serve` on a private unix socket; returns it once it listens."""
    sock = base / "sock"
    log = base / "serve.log"
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "virtwire.tools.cli", "serve", "--state-dir",
             str(base / "state"), "--unix", str(sock)],
            stdout=subprocess.DEVNULL, stderr=handle,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while "listening on unix" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise LoadError(f"the daemon did not start: {log.read_text()}")
        time.sleep(0.05)
    return proc, sock


def run(
    clients: int = 500, rounds: int = 3, calls: int = 4, events: int = 20, timeout: float = 120
) -> list[RoundResult]:
    """The whole load run against a fresh daemon; raises :class:`LoadError` on a failed check."""
    with tempfile.TemporaryDirectory(prefix="vw-load-") as tmp:
        proc, sock = start_daemon(Path(tmp))
        try:
            results = []
            for round_no in range(rounds):
                results.append(
                    asyncio.run(
                        run_round(sock, proc.pid, round_no, clients, calls, events, timeout)
                    )
                )
                first = results[0]
                last = results[-1]
                if last.fds_after != first.fds_before:
                    raise LoadError(f"fds {first.fds_before} → {last.fds_after}")
                if round_no and last.rss_after > first.rss_after + RSS_SLACK:
                    raise LoadError(f"RSS grew {first.rss_after} → {last.rss_after}")
            return results
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="virtwire load", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=4, help="rounds of 5 calls per client")
    parser.add_argument("--events", type=int, default=20, help="domains defined per round")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per round")
    args = parser.parse_args(argv)
    try:
        results = run(args.clients, args.rounds, args.calls, args.events, args.timeout)
    except LoadError as exc:
        print(f"virtwire load: FAILED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps([r.__dict__ for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
