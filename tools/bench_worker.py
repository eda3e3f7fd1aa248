"""The client side of `virtwire bench`: one measuring process per client kind.

Self-contained on purpose (standard library plus the client under test), because the
python3-libvirt worker runs under Debian's ``/usr/bin/python3``, where virtwire is not
installed. Run as::

    PYTHON bench_worker.py libvirt                   # python3-libvirt (C library)
    PYTHON bench_worker.py virtwire.client.libvirt   # virtwire's drop-in
    PYTHON bench_worker.py async                     # virtwire's asyncio client
    PYTHON bench_worker.py floor                     # the floor's client (no library)
    PYTHON bench_worker.py echo-server [PORT]        # the floor: prints its port, echoes

A client worker prints ``ready``, then reads one JSON request per line on stdin and answers
one JSON line each, until stdin closes. Requests: ``rpc`` (call, threads or inflight,
duration), ``connect`` (iters), ``events`` (duration), ``flood`` (control, count: the
daemon's bench-only generator pushes DEVICE_ADDED events ``bench-0``.. to one listener,
checked in sequence), ``fanout`` (clients, trigger ``hotplug`` or ``suspend``: that many
connections registered, the time until one event reached them all) and ``floor`` (host,
port, inflight, duration: 28-byte frames over a blocking socket against the echo server).
With ``server_pid``, ``rpc`` and ``floor`` also answer the CPU time per call of this
process and of that server, over the measured window (``client_cpu_us``, ``server_cpu_us``).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import resource
import socket
import statistics
import struct
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virtwire.protocol.receive_buffer import ReceiveBuffer

# one keepalive-sized frame: length 28 + a 24-byte header (prog 'keep', PING)
FLOOR_FRAME = struct.pack(">IIIIiIi", 28, 0x6B656570, 1, 1, 2, 0, 0)
FRAME_LEN = len(FLOOR_FRAME)


# the device a fanout hot-plugs (virtwire's test driver; libvirtd's has no hot-plug)
HOTPLUG_XML = "<interface type='network'><source network='default'/></interface>"
# the QEMU host's guest the fanout hot-plugs into (libvirt 9.0's test driver has no hot-plug)
HOTPLUG_DOMAIN = "bench-hotplug"
HOTPLUG_DOMAIN_XML = (
    f"<domain type='kvm'><name>{HOTPLUG_DOMAIN}</name><memory unit='MiB'>128</memory>"
    "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
)
ALIAS_PREFIX = "bench-"  # the daemon's generator names its devices bench-0, bench-1, ...
DEVICE_ADDED = 19  # VIR_DOMAIN_EVENT_ID_DEVICE_ADDED
LIFECYCLE = 0  # VIR_DOMAIN_EVENT_ID_LIFECYCLE
AFFECT_LIVE = 1  # VIR_DOMAIN_AFFECT_LIVE
EVENT_TIMEOUT = 60.0
_CPUCLOCK_SCHED = 2  # linux/posix-timers.h: a process's CPU-time clock, all its threads


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, every thread) of process ``pid``: its CPU-time clock, as
    clock_getcpuclockid(3) gives it (ns resolution); None when it cannot be read."""
    try:
        return time.clock_gettime((~pid << 3) | _CPUCLOCK_SCHED)
    except OSError:  # gone, or not Linux
        return None


class CpuWindow:
    """This process's and a server's CPU time over a measured window, per call."""

    def __init__(self, server_pid: int | str | None) -> None:
        self.server_pid = int(server_pid) if server_pid else None
        self.client0 = time.process_time()
        self.server0 = None if self.server_pid is None else process_cpu(self.server_pid)

    def per_call(self, calls: int) -> dict:
        """``client_cpu_us`` and, when the server's clock was readable, ``server_cpu_us``."""
        if not calls:
            return {}
        out = {"client_cpu_us": (time.process_time() - self.client0) / calls * 1e6}
        if self.server_pid is not None and self.server0 is not None:
            now = process_cpu(self.server_pid)
            if now is not None:
                out["server_cpu_us"] = (now - self.server0) / calls * 1e6
        return out


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (a fanout opens a socket per client)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        return want
    return soft


def control_request(path: str, message: dict, timeout: float = EVENT_TIMEOUT) -> dict:
    """One JSON request on the daemon's control socket (server/control.py)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    if not answer.get("ok"):
        raise RuntimeError(f"control {message.get('op')}: {answer.get('error', 'no answer')}")
    return answer


class SeqCheck:
    """The generator's events as they arrive: count, order, time of the last one."""

    def __init__(self, count: int, on_done: object = None) -> None:
        self.count = count
        self.next = 0
        self.got = 0
        self.out_of_order = 0
        self.t_last = 0.0
        self.done = threading.Event()
        self.on_done = on_done

    def see(self, alias: str) -> None:
        t = time.perf_counter()
        if not alias.startswith(ALIAS_PREFIX):
            return
        n = int(alias[len(ALIAS_PREFIX) :])
        if n != self.next:
            self.out_of_order += 1
        self.next = n + 1
        self.got += 1
        self.t_last = t
        if self.got >= self.count:
            self.done.set()
            if callable(self.on_done):
                self.on_done()

    def result(self, t0: float, answer: dict) -> dict:
        elapsed = (self.t_last - t0) if self.got else 0.0
        return {
            "value": self.got / elapsed if elapsed > 0 else 0.0,
            "received": self.got,
            "lost": self.count - self.got,
            "out_of_order": self.out_of_order,
            "daemon_seconds": answer.get("seconds"),
        }


class FanoutCount:
    """Callbacks of N clients for one event: the time the last one ran."""

    def __init__(self, n: int, on_done: object = None) -> None:
        self.n = n
        self.armed = False
        self.got = 0
        self.t_last = 0.0
        self.alias: str | None = None
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.on_done = on_done

    def see(self, alias: str | None = None) -> None:
        t = time.perf_counter()
        with self.lock:
            if not self.armed:
                return
            self.got += 1
            self.t_last = t
            if alias is not None:
                self.alias = alias
            last = self.got == self.n
        if last:
            self.done.set()
            if callable(self.on_done):
                self.on_done()

    def result(self, t0: float, setup_s: float) -> dict:
        return {
            "value": (self.t_last - t0) * 1e3 if self.got else None,
            "clients": self.n,
            "received": self.got,
            "lost": self.n - self.got,
            "setup_s": setup_s,
        }


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))]


def event_summary(starts: list[float], received: list[float], elapsed: float) -> dict:
    """Rate, losses and latency (from each causing call's start) of one events run."""
    n = min(len(received), len(starts))
    lat = [(received[k] - starts[k]) * 1e6 for k in range(n)]
    return {
        "value": len(received) / elapsed,
        "calls": len(starts),
        "received": len(received),
        "lost": len(starts) - len(received),
        "latency_median_us": statistics.median(lat) if lat else None,
        "latency_p99_us": pct(lat, 99),
    }


# ------------------------------------------------------------------------------------------
# sync clients: python3-libvirt and the drop-in share this code (same API)
# ------------------------------------------------------------------------------------------


class SyncClient:
    def __init__(self, module: str) -> None:
        self.lv = importlib.import_module(module)
        self.lv.registerErrorHandler(lambda ctx, err: None, None)
        self._loop_started = False

    def rpc(self, req: dict) -> dict:
        lv = self.lv
        conn = lv.open(req["uri"])
        try:
            call = req["call"]
            if call == "getLibVersion":
                fn = conn.getLibVersion
            elif call == "lookupByName":

                def fn() -> object:
                    return conn.lookupByName("test")

            else:
                raise ValueError(f"unknown call {call}")
            for _ in range(30):
                fn()
            nthreads = int(req.get("threads", 1))
            counts = [0] * nthreads
            stop = threading.Event()
            barrier = threading.Barrier(nthreads + 1)

            def worker(i: int) -> None:
                barrier.wait()
                n = 0
                while not stop.is_set():
                    fn()
                    n += 1
                counts[i] = n

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
            for t in threads:
                t.start()
            barrier.wait()
            cpu = CpuWindow(req.get("server_pid"))
            t0 = time.perf_counter()
            time.sleep(float(req["duration"]))
            stop.set()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            total = sum(counts)
            return {"calls": total, "seconds": elapsed, "value": total / elapsed} | cpu.per_call(
                total
            )
        finally:
            conn.close()

    def connect(self, req: dict) -> dict:
        lv = self.lv
        uri = req["uri"]
        keeper = lv.open(uri)  # keeps the shared test:///default state alive
        try:
            for _ in range(3):
                lv.open(uri).close()
            times = []
            for _ in range(int(req["iters"])):
                t0 = time.perf_counter()
                lv.open(uri).close()
                times.append((time.perf_counter() - t0) * 1e3)
        finally:
            keeper.close()
        return {"value": statistics.median(times), "p99": pct(times, 99), "n": len(times)}

    def _ensure_loop(self) -> None:
        if self._loop_started:
            return
        lv = self.lv
        lv.virEventRegisterDefaultImpl()

        def loop() -> None:
            while True:
                lv.virEventRunDefaultImpl()

        threading.Thread(target=loop, name="bench-event-loop", daemon=True).start()
        self._loop_started = True

    def events(self, req: dict) -> dict:
        """Suspend/resume 'test' in a loop; a second connection receives LIFECYCLE events."""
        lv = self.lv
        self._ensure_loop()
        uri = req["uri"]
        listener = lv.open(uri)
        got: list[float] = []
        lock = threading.Lock()
        done = threading.Event()
        expected = [None]

        def cb(conn, dom, event, detail, opaque):  # noqa: ANN001
            t = time.perf_counter()
            with lock:
                got.append(t)
                if expected[0] is not None and len(got) >= expected[0]:
                    done.set()

        cbid = listener.domainEventRegisterAny(None, lv.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
        gen = lv.open(uri)
        try:
            dom = gen.lookupByName("test")
            if dom.info()[0] == lv.VIR_DOMAIN_PAUSED:
                dom.resume()
            settle = time.monotonic() + 0.05
            while time.monotonic() < settle:  # late events of the resume above
                time.sleep(0.01)
            with lock:
                got.clear()
            starts: list[float] = []
            t_end = time.perf_counter() + float(req["duration"])
            t0 = time.perf_counter()
            i = 0
            while i % 2 or time.perf_counter() < t_end:
                s = time.perf_counter()
                if i % 2 == 0:
                    dom.suspend()
                else:
                    dom.resume()
                starts.append(s)
                i += 1
            gen_elapsed = time.perf_counter() - t0
            with lock:
                expected[0] = len(starts)
                if len(got) >= len(starts):
                    done.set()
            done.wait(timeout=10)
            with lock:
                received = list(got)
        finally:
            try:
                listener.domainEventDeregisterAny(cbid)
            except lv.libvirtError:
                pass
            gen.close()
            listener.close()
        return event_summary(starts, received, gen_elapsed)

    def flood(self, req: dict) -> dict:
        """One listener; the daemon's generator pushes ``count`` DEVICE_ADDED events."""
        lv = self.lv
        self._ensure_loop()
        count = int(req["count"])
        seq = SeqCheck(count)
        conn = lv.open(req["uri"])
        try:

            def cb(_conn, _dom, alias, _opaque):  # noqa: ANN001
                seq.see(alias)

            cbid = conn.domainEventRegisterAny(None, DEVICE_ADDED, cb, None)
            try:
                t0 = time.perf_counter()
                answer = control_request(
                    req["control"], {"op": "bench-device-added", "count": count, "domain": "test"}
                )
                seq.done.wait(EVENT_TIMEOUT)
            finally:
                conn.domainEventDeregisterAny(cbid)
        finally:
            conn.close()
        return seq.result(t0, answer)

    def fanout(self, req: dict) -> dict:
        """``clients`` connections registered for one event; one hot-plug (or suspend)."""
        lv = self.lv
        self._ensure_loop()
        n = int(req["clients"])
        hotplug = req["trigger"] == "hotplug"
        uri = req["uri"]
        counter = FanoutCount(n)
        if hotplug:

            def cb(_conn, _dom, alias, _opaque):  # noqa: ANN001
                counter.see(alias)

        else:

            def cb(_conn, _dom, _event, _detail, _opaque):  # noqa: ANN001
                counter.see()

        gen = lv.open(uri)
        if hotplug:
            try:
                dom = gen.lookupByName(HOTPLUG_DOMAIN)
            except lv.libvirtError:
                dom = gen.defineXML(HOTPLUG_DOMAIN_XML)
            if not dom.isActive():
                dom.create()
        else:
            dom = gen.lookupByName("test")
        if dom.info()[0] == lv.VIR_DOMAIN_PAUSED:
            dom.resume()
        conns: list[tuple[object, int | None]] = []
        try:
            t_setup = time.perf_counter()
            for _ in range(n):
                c = lv.open(uri)
                conns.append((c, None))
                event = DEVICE_ADDED if hotplug else LIFECYCLE
                conns[-1] = (c, c.domainEventRegisterAny(None, event, cb, None))
            setup_s = time.perf_counter() - t_setup
            with counter.lock:
                counter.armed = True
            t0 = time.perf_counter()
            if hotplug:
                dom.attachDeviceFlags(HOTPLUG_XML, AFFECT_LIVE)
            else:
                dom.suspend()
            counter.done.wait(EVENT_TIMEOUT)
        finally:
            for c, cbid in conns:
                # a registered callback holds a reference on its connection: without the
                # deregistration, close() leaves it open (libvirtd reaches max_clients)
                try:
                    if cbid is not None:
                        c.domainEventDeregisterAny(cbid)
                    c.close()
                except lv.libvirtError:
                    pass
            try:
                if hotplug and counter.alias:
                    dom.detachDeviceAlias(counter.alias, AFFECT_LIVE)
                elif not hotplug and dom.info()[0] == lv.VIR_DOMAIN_PAUSED:
                    dom.resume()
            finally:
                gen.close()
        return counter.result(t0, setup_s)


# ------------------------------------------------------------------------------------------
# the asyncio client
# ------------------------------------------------------------------------------------------


class AsyncClient:
    def __init__(self) -> None:
        self.client = importlib.import_module("virtwire.client")
        self.errors = importlib.import_module("virtwire.protocol.errors")
        self.loop = asyncio.new_event_loop()

    def rpc(self, req: dict) -> dict:
        return self.loop.run_until_complete(self._rpc(req))

    async def _rpc(self, req: dict) -> dict:
        conn = await self.client.connect(req["uri"])
        try:
            call = req["call"]
            if call == "getLibVersion":
                fn = conn.get_lib_version
            else:

                def fn():  # noqa: ANN202
                    return conn.lookup_by_name("test")

            for _ in range(30):
                await fn()
            inflight = int(req.get("inflight", 1))
            stop = False
            counts = [0] * inflight

            async def worker(i: int) -> None:
                n = 0
                while not stop:
                    await fn()
                    n += 1
                counts[i] = n

            tasks = [asyncio.ensure_future(worker(i)) for i in range(inflight)]
            cpu = CpuWindow(req.get("server_pid"))
            t0 = time.perf_counter()
            await asyncio.sleep(float(req["duration"]))
            stop = True
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - t0
            total = sum(counts)
            return {"calls": total, "seconds": elapsed, "value": total / elapsed} | cpu.per_call(
                total
            )
        finally:
            await conn.close()

    def connect(self, req: dict) -> dict:
        return self.loop.run_until_complete(self._connect(req))

    async def _connect(self, req: dict) -> dict:
        uri = req["uri"]
        keeper = await self.client.connect(uri)
        times = []
        try:
            for _ in range(int(req["iters"])):
                t0 = time.perf_counter()
                await (await self.client.connect(uri)).close()
                times.append((time.perf_counter() - t0) * 1e3)
        finally:
            await keeper.close()
        return {"value": statistics.median(times), "p99": pct(times, 99), "n": len(times)}

    def events(self, req: dict) -> dict:
        return self.loop.run_until_complete(self._events(req))

    async def _events(self, req: dict) -> dict:
        """Suspend/resume 'test' in a loop; a second connection receives LIFECYCLE events."""
        uri = req["uri"]
        listener = await self.client.connect(uri)
        gen = await self.client.connect(uri)
        got: list[float] = []
        expected = [None]
        done = asyncio.Event()

        def cb(_event: object) -> None:
            got.append(time.perf_counter())
            if expected[0] is not None and len(got) >= expected[0]:
                done.set()

        cbid = await listener.register_event(LIFECYCLE, cb)
        try:
            dom = await gen.lookup_by_name("test")
            if (await dom.info()).state == 3:  # VIR_DOMAIN_PAUSED
                await dom.resume()
            await asyncio.sleep(0.05)  # late events of the resume above
            got.clear()
            starts: list[float] = []
            t_end = time.perf_counter() + float(req["duration"])
            t0 = time.perf_counter()
            i = 0
            while i % 2 or time.perf_counter() < t_end:
                s = time.perf_counter()
                await (dom.suspend() if i % 2 == 0 else dom.resume())
                starts.append(s)
                i += 1
            gen_elapsed = time.perf_counter() - t0
            expected[0] = len(starts)
            if len(got) >= len(starts):
                done.set()
            try:
                await asyncio.wait_for(done.wait(), 10)
            except TimeoutError:
                pass
            received = list(got)
        finally:
            await listener.deregister_event(cbid)
            await gen.close()
            await listener.close()
        return event_summary(starts, received, gen_elapsed)

    def flood(self, req: dict) -> dict:
        return self.loop.run_until_complete(self._flood(req))

    async def _flood(self, req: dict) -> dict:
        count = int(req["count"])
        finished = self.loop.create_future()
        seq = SeqCheck(count, lambda: finished.done() or finished.set_result(None))
        conn = await self.client.connect(req["uri"])
        try:
            cbid = await conn.register_event(DEVICE_ADDED, lambda e: seq.see(e.dev_alias))
            try:
                t0 = time.perf_counter()
                answer = await self._control(
                    req["control"], {"op": "bench-device-added", "count": count, "domain": "test"}
                )
                await asyncio.wait_for(asyncio.shield(finished), EVENT_TIMEOUT)
            except TimeoutError:
                pass
            finally:
                await conn.deregister_event(cbid)
        finally:
            await conn.close()
        return seq.result(t0, answer)

    @staticmethod
    async def _control(path: str, message: dict) -> dict:
        reader, writer = await asyncio.open_unix_connection(path)
        try:
            writer.write(json.dumps(message).encode() + b"\n")
            line = await asyncio.wait_for(reader.readline(), EVENT_TIMEOUT)
        finally:
            writer.close()
        answer = json.loads(line or b"{}")
        if not answer.get("ok"):
            raise RuntimeError(f"control {message.get('op')}: {answer.get('error', 'no answer')}")
        return answer

    def fanout(self, req: dict) -> dict:
        return self.loop.run_until_complete(self._fanout(req))

    async def _fanout(self, req: dict) -> dict:
        n = int(req["clients"])
        hotplug = req["trigger"] == "hotplug"
        uri = req["uri"]
        finished = self.loop.create_future()
        counter = FanoutCount(n, lambda: finished.done() or finished.set_result(None))
        gate = asyncio.Semaphore(64)  # not more connects at once than a listen backlog takes

        def cb(event: object) -> None:
            counter.see(getattr(event, "dev_alias", None))

        async def one() -> object:
            async with gate:
                conn = await self.client.connect(uri)
                try:
                    await conn.register_event(DEVICE_ADDED if hotplug else LIFECYCLE, cb)
                except BaseException:
                    await conn.close()
                    raise
                return conn

        gen = await self.client.connect(uri)
        conns: list = []
        try:
            if hotplug:
                try:
                    dom = await gen.lookup_by_name(HOTPLUG_DOMAIN)
                except self.errors.LibvirtError:
                    dom = await gen.define_xml(HOTPLUG_DOMAIN_XML)
                if not await dom.is_active():
                    await dom.create()
            else:
                dom = await gen.lookup_by_name("test")
            if (await dom.info()).state == 3:  # VIR_DOMAIN_PAUSED
                await dom.resume()
            t_setup = time.perf_counter()
            made = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
            conns = [c for c in made if not isinstance(c, BaseException)]
            errors = [c for c in made if isinstance(c, BaseException)]
            if errors:
                raise errors[0]
            setup_s = time.perf_counter() - t_setup
            counter.armed = True
            t0 = time.perf_counter()
            if hotplug:
                await dom.attach_device(HOTPLUG_XML, AFFECT_LIVE)
            else:
                await dom.suspend()
            try:
                await asyncio.wait_for(asyncio.shield(finished), EVENT_TIMEOUT)
            except TimeoutError:
                pass
        finally:
            await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
            try:
                if hotplug and counter.alias:
                    await dom.detach_device_alias(counter.alias, AFFECT_LIVE)
                elif not hotplug and (await dom.info()).state == 3:
                    await dom.resume()
            finally:
                await gen.close()
        return counter.result(t0, setup_s)


# ------------------------------------------------------------------------------------------
# the floor: 28-byte frames echoed over the same transport
# ------------------------------------------------------------------------------------------


def floor(req: dict) -> dict:
    inflight = int(req.get("inflight", 1))
    sock = socket.create_connection((req["host"], int(req["port"])))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        duration = float(req["duration"])
        done = 0
        buffered = 0
        cpu = CpuWindow(req.get("server_pid"))
        sock.sendall(FLOOR_FRAME * inflight)
        t_end = time.perf_counter() + duration
        t0 = time.perf_counter()
        sending = True
        outstanding = inflight
        while outstanding:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("echo server closed")
            buffered += len(data)
            frames, buffered = divmod(buffered, FRAME_LEN)
            done += frames
            outstanding -= frames
            if sending and time.perf_counter() >= t_end:
                sending = False
            if sending and frames:
                sock.sendall(FLOOR_FRAME * frames)
                outstanding += frames
        elapsed = time.perf_counter() - t0
        return {"calls": done, "seconds": elapsed, "value": done / elapsed} | cpu.per_call(done)
    finally:
        sock.close()


class _Echo(asyncio.BufferedProtocol):
    """Receives into the thread's buffer as the daemon does (no 256 KiB bytes object per
    read: virtwire.protocol.receive_buffer)."""

    def __init__(self, buffer: ReceiveBuffer) -> None:
        self.view = buffer.view

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        buf = self.buf + self.view[:nbytes].tobytes()
        whole = len(buf) - len(buf) % FRAME_LEN
        if whole:
            self.transport.write(buf[:whole])  # type: ignore[attr-defined]
        self.buf = buf[whole:]


def echo_server(port: int = 0) -> None:
    # the daemon's loop (adaptive busy polling, as `virtwire serve` runs by default): the
    # floor is what Python can do at best over this transport (and, started on a given
    # port, the floor of a Python daemon's start: interpreter, asyncio, one listener)
    from virtwire.protocol.receive_buffer import RECEIVE
    from virtwire.server.busypoll import new_event_loop

    loop = new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: _Echo(RECEIVE), "127.0.0.1", port))
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    # runs until stdin closes (the bench's way of stopping it, besides SIGTERM)
    reader_done = loop.run_in_executor(None, sys.stdin.read)
    loop.run_until_complete(reader_done)
    server.close()


def main() -> int:
    kind = sys.argv[1]
    raise_fd_limit()
    if kind == "echo-server":
        echo_server(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
        return 0
    client: object = None
    if kind == "async":
        client = AsyncClient()
    elif kind != "floor":
        client = SyncClient(kind)
    print("ready", flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = req["op"]
            result = floor(req) if op == "floor" else getattr(client, op)(req)
        except Exception as exc:  # report, keep serving
            result = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
