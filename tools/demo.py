"""`virtwire demo`: libvirt's memory-hotplug event path, live and end to end.

It starts an embedded daemon on a private unix socket, connects the asyncio client, registers
for lifecycle and device events, hot-plugs a 512 MiB DIMM into a running domain and unplugs
it, printing each event MESSAGE frame as it arrives (header, decoded body, bytes) next to
the callback it produced. Everything is real: the same daemon `virtwire serve` runs, the same
client library, the same bytes real libvirt puts on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from virtwire.client import connect
from virtwire.protocol import procedures
from virtwire.protocol.constants import REMOTE_PROGRAM
from virtwire.protocol.events import (
    DeviceAddedEvent,
    DeviceRemovedEvent,
    DomainEvent,
    DomainEventID,
    callback_args,
)
from virtwire.protocol.framing import Frame, MessageStatus, MessageType, encode_frame
from virtwire.protocol.wirelog import hex_words
from virtwire.server.config import ServerConfig
from virtwire.server.daemon import Daemon, ListenSpec
from virtwire.tools.virsh_format import format_event

AFFECT_LIVE = 1
DOMAIN_NAME = "demo-vm"

DOMAIN_XML = f"""<domain type='kvm'>
  <name>{DOMAIN_NAME}</name>
  <maxMemory slots='4' unit='KiB'>8388608</maxMemory>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <cpu><numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/></numa></cpu>
</domain>
"""

DIMM_XML = """<memory model='dimm'>
  <target>
    <size unit='KiB'>524288</size>
    <node>0</node>
  </target>
</memory>
"""


def _show_value(value: Any) -> str:
    if is_dataclass(value):
        inner = ", ".join(f"{f.name}={_show_value(getattr(value, f.name))}" for f in fields(value))
        return "{" + inner + "}"
    if isinstance(value, bytes) and len(value) == 16:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return repr(value)


# the device-event MESSAGEs whose frames the demo prints in full (lifecycle events are shown
# by their callback line only, to keep the output readable)
SHOWN_PROCS = {354, 333, 367}  # DEVICE_ADDED, DEVICE_REMOVED, DEVICE_REMOVAL_FAILED (callback)


class FramePrinter:
    """Prints device-event MESSAGE frames as the client receives them, before dispatch."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def __call__(self, frame: Frame) -> None:
        h = frame.header
        if h.type != MessageType.MESSAGE or h.prog != REMOTE_PROGRAM or h.proc not in SHOWN_PROCS:
            return
        proc = procedures.lookup(h.prog, h.vers, h.proc)
        name = procedures.name_of(h.prog, h.vers, h.proc)
        raw = encode_frame(h, frame.payload)
        body = proc.msg.unpack(frame.payload) if proc is not None and proc.msg else None
        p = self.out
        print(f"   <- MESSAGE frame, {len(raw)} bytes", file=p)
        print(
            f"        header   prog=0x{h.prog:08x} vers={h.vers} proc={h.proc} ({name})"
            f" type={MessageType(h.type).name} serial={h.serial}"
            f" status={MessageStatus(h.status).name}",
            file=p,
        )
        if body is not None:
            print(f"        body     {type(body).__name__}{_show_value(body)}", file=p)
        print("        bytes", file=p)
        print(hex_words(raw, "          "), file=p)
        if body is not None:
            print(
                f"        client   remote_events[{h.proc}] decodes and builds the event, queues it"
                f" on the connection's EventState with remote_id={body.callbackID}; the next"
                " loop turn flushes it to the matching callback:",
                file=p,
            )


async def run_demo(out: Any = sys.stdout, workdir: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="virtwire-demo-") as tmp:
        base = Path(workdir or tmp)
        sock = base / "libvirt-sock"
        daemon = Daemon(ServerConfig(), base / "state", [ListenSpec("unix", path=sock)])
        await daemon.start()
        uri = f"qemu+unix:///session?socket={sock}"
        print("virtwire demo: the memory-hotplug event path, end to end\n", file=out)
        print(f"daemon  {', '.join(daemon.addresses())}  (simulated QEMU host)", file=out)
        try:
            return await _scenario(uri, out)
        finally:
            await daemon.stop()
            print("daemon  stopped", file=out)


async def _scenario(uri: str, out: Any) -> int:
    arrived: asyncio.Queue[DomainEvent] = asyncio.Queue()

    def on_event(event: DomainEvent, callback_id: int) -> None:
        text = format_event(event.event_id, event.dom.name, *callback_args(event))
        print(f"   callback #{callback_id}: {text}", end="", file=out)
        arrived.put_nowait(event)

    async with await connect(uri) as conn:
        conn.add_frame_listener(FramePrinter(out))
        print(f"client  connected to {uri}\n", file=out)

        print(
            "1. register callbacks (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, proc 316)", file=out
        )
        for event_id in (
            DomainEventID.LIFECYCLE,
            DomainEventID.DEVICE_ADDED,
            DomainEventID.DEVICE_REMOVED,
        ):
            local_id = await conn.register_event_raw(event_id, on_event)
            remote_id = conn.event_state.find(local_id).remote_id
            print(
                f"   {event_id.name:<15} local callback #{local_id}, server callbackID {remote_id}",
                file=out,
            )

        print(
            f"\n2. define and start '{DOMAIN_NAME}' (1 GiB, maxMemory slots=4, one NUMA cell)",
            file=out,
        )
        dom = await conn.define_xml(DOMAIN_XML)
        await dom.create()
        await _drain(arrived, 3)  # DEFINED, RESUMED, STARTED
        info = await dom.info()
        print(f"   running, id {dom.id}, memory {info.memory} KiB", file=out)

        print(
            "\n3. hot-plug a 512 MiB DIMM (DOMAIN_ATTACH_DEVICE_FLAGS, proc 160, AFFECT_LIVE)",
            file=out,
        )
        await dom.attach_device(DIMM_XML, AFFECT_LIVE)
        added = await _wait_for(arrived, DeviceAddedEvent)
        info = await dom.info()
        print(
            f"   DIMM in: device alias {added.dev_alias!r}; memory now {info.memory} KiB",
            file=out,
        )

        print("\n4. unplug it (DOMAIN_DETACH_DEVICE_FLAGS, proc 161)", file=out)
        await dom.detach_device(DIMM_XML, AFFECT_LIVE)
        removed = await _wait_for(arrived, DeviceRemovedEvent)
        info = await dom.info()
        print(
            f"   DIMM out: device alias {removed.dev_alias!r}; memory now {info.memory} KiB",
            file=out,
        )

        print(f"\n5. clean up: destroy and undefine '{DOMAIN_NAME}'", file=out)
        await dom.destroy()
        await dom.undefine()
        await _drain(arrived, 2)
    ok = added.dev_alias == "memdimm0" and removed.dev_alias == "dimm0"
    print(
        "\nresult  "
        + (
            "OK: DEVICE_ADDED 'memdimm0' and DEVICE_REMOVED 'dimm0', as QEMU's libvirt sends them"
            if ok
            else "UNEXPECTED aliases"
        ),
        file=out,
    )
    return 0 if ok else 1


async def _wait_for(queue: asyncio.Queue[DomainEvent], kind: type) -> Any:
    while True:
        event = await asyncio.wait_for(queue.get(), timeout=10)
        if isinstance(event, kind):
            return event


async def _drain(queue: asyncio.Queue[DomainEvent], count: int) -> None:
    for _ in range(count):
        await asyncio.wait_for(queue.get(), timeout=10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="virtwire demo", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log the daemon and client")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(name)s: %(message)s",
    )
    return asyncio.run(run_demo())
