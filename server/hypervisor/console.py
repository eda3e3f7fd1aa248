"""Serial consoles of the QEMU hosts (virDomainOpenConsole), as libvirt 9.0's QEMU driver.

``qemuDomainOpenConsole`` takes the flags SAFE and FORCE only, needs a running domain
(``domain is not running``), finds the character device by alias (consoles, then serials,
then parallels) or takes the first console / serial (``cannot find character device
<null>``), requires a ``pty`` source (``character device console0 is not using a PTY``) and
hands the stream to ``virChrdevOpen``: one session per device; a second open is ``Active
console session exists for this domain`` unless FORCE, which aborts the first session (its
client gets the STREAM/ERROR ``stream had I/O failure`` that libvirtd sends when a stream's
fd fails under it) and opens the new one. When the guest stops, its pty closes: the client
reads the end of the stream (an empty STREAM/CONTINUE) and finishes it normally.

Behind the stream is a simulated booted Linux guest on its serial line: it greets with
``\\r\\n<name> login: ``, echoes what is typed (raw terminal input, CR ends a line; not the
password), asks for a password, accepts any, and runs a tiny shell (``hostname``,
``whoami``, ``uname``, ``echo``, ``exit``/``logout``; anything else is ``command not found``).
The test driver has no ``domainOpenConsole``: NO_SUPPORT, as libvirt's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from virtwire.protocol.errors import ErrorCode

VIR_DOMAIN_CONSOLE_FORCE = 1
VIR_DOMAIN_CONSOLE_SAFE = 2
CONSOLE_BUSY = "Active console session exists for this domain"

_BACKSPACES = (b"\x7f", b"\x08")


class GuestTerminal:
    """A booted guest's serial login: bytes typed in → bytes the guest writes back."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.state = "login"
        self.user = ""
        self.line = bytearray()
        self._after_cr = False

    def greeting(self) -> bytes:
        return self._login_prompt()

    def _login_prompt(self) -> bytes:
        return f"\r\n{self.hostname} login: ".encode()

    def _shell_prompt(self) -> bytes:
        mark = "#" if self.user == "root" else "$"
        return f"{self.user}@{self.hostname}:~{mark} ".encode()

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for value in data:
            char = bytes((value,))
            if char == b"\n" and self._after_cr:
                self._after_cr = False
                continue  # CR LF is one end of line
            self._after_cr = char == b"\r"
            if char in (b"\r", b"\n"):
                out += self._enter(self.line.decode("utf-8", "replace"))
                self.line.clear()
            elif char in _BACKSPACES:
                if self.line:
                    self.line.pop()
                    if self.state != "password":
                        out += b"\b \b"
            elif char == b"\x03":  # Ctrl-C
                self.line.clear()
                out += b"^C\r\n" + self._prompt()
            elif char == b"\x04" and not self.line and self.state == "shell":  # Ctrl-D
                out += self._logout()
            elif value >= 0x20 or char == b"\t":
                self.line += char
                if self.state != "password":
                    out += char
        return bytes(out)

    def _prompt(self) -> bytes:
        if self.state == "shell":
            return self._shell_prompt()
        if self.state == "password":
            return b"Password: "
        return f"{self.hostname} login: ".encode()

    def _logout(self) -> bytes:
        self.state, self.user = "login", ""
        return b"logout\r\n" + self._login_prompt()

    def _enter(self, line: str) -> bytes:
        if self.state == "login":
            if not line.strip():
                return self._login_prompt()
            self.user, self.state = line.strip(), "password"
            return b"\r\nPassword: "
        if self.state == "password":
            self.state = "shell"
            return b"\r\n" + self._shell_prompt()
        return b"\r\n" + self._run(line.strip())

    def _run(self, command: str) -> bytes:
        word, _, rest = command.partition(" ")
        if word in ("exit", "logout"):
            return self._logout()
        answers = {
            "": None,
            "hostname": self.hostname,
            "whoami": self.user,
            "uname": "Linux",
            "echo": rest,
        }
        text = answers.get(word, f"-bash: {word}: command not found")
        out = b"" if text is None else text.encode() + b"\r\n"
        return out + self._shell_prompt()


class ConsoleSession:
    """The daemon's end of one open console stream (a ``Sink`` for server/streams.py)."""

    def __init__(self, terminal: GuestTerminal, release: Callable[[ConsoleSession], None]):
        self.terminal = terminal
        self._release = release
        self._send: Callable[[bytes], None] | None = None
        self._fail: Callable[[str], None] | None = None
        self.closed = False
        self.ended = False  # the guest's end of the line is gone

    def attach(self, send: Callable[[bytes], None], fail: Callable[[str], None]) -> None:
        """server/streams.py: where the guest's output goes, how the stream is failed."""
        self._send, self._fail = send, fail

    def start(self) -> None:
        """After the opening call's REPLY: the guest's prompt."""
        self._output(self.terminal.greeting())

    def _output(self, data: bytes) -> None:
        if data and self._send is not None and not self.closed and not self.ended:
            self._send(data)

    # -- Sink ------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self._output(self.terminal.feed(data))

    def hole(self, length: int) -> None:
        raise ValueError("Unexpected stream hole")

    def finish(self) -> None:
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if not self.ended:
                self._release(self)

    def hangup(self) -> None:
        """The guest stopped and its pty closed: the client reads the end of the stream
        (an empty STREAM/CONTINUE) and the device is free again; the stream stays open
        until the client finishes it."""
        if not self.closed and not self.ended:
            self.ended = True
            self._release(self)
            if self._send is not None:
                self._send(b"")

    def abort(self, reason: str) -> None:
        """The device was taken over (FORCE): the stream fails under its client."""
        fail, self._fail = self._fail, None
        self.close()
        if fail is not None:
            fail(reason)


def character_devices(devices: ET.Element) -> list[tuple[str, str, str, ET.Element]]:
    """(kind, alias, pty, element) of every console, serial and parallel, in lookup order.

    Aliases are libvirt's QEMU ones (``console0``, ``serial0``, ``parallel0``); ``pty`` names
    the device behind it: the first console of a guest with a serial line is that serial
    (libvirt prints its XML with ``serial0``'s alias, yet looks it up as ``console0``), and
    a guest with only ``<console>`` gets it as ``serial0`` too, one with only ``<serial>``
    gets ``console0`` (libvirt adds them)."""
    found: list[tuple[str, str, str, ET.Element]] = []
    consoles, serials = devices.findall("console"), devices.findall("serial")
    for index, elem in enumerate(consoles):
        target = elem.find("target")
        ttype = target.get("type") if target is not None else None
        pty = "serial0" if index == 0 and ttype in (None, "serial") else f"console{index}"
        found.append(("console", f"console{index}", pty, elem))
    if not serials and found and found[0][2] == "serial0":
        found.append(("serial", "serial0", "serial0", found[0][3]))
    if serials and not consoles:  # virDomainDefAddConsoleCompat: console0 = serial0
        found.append(("console", "console0", "serial0", serials[0]))
    for index, elem in enumerate(serials):
        found.append(("serial", f"serial{index}", f"serial{index}", elem))
    for index, elem in enumerate(devices.findall("parallel")):
        alias = f"parallel{index}"
        found.append(("parallel", alias, alias, elem))
    return found


class QemuConsoles:
    """``qemuDomainOpenConsole`` for the QEMU hosts."""

    check_flags: Any
    find: Any
    error: Any
    not_running: Any

    def _console_table(self) -> dict[tuple[bytes, str], ConsoleSession]:
        table = self.__dict__.get("_console_sessions")
        if table is None:
            table = self.__dict__["_console_sessions"] = {}
        return table

    def domain_open_console(self, dom: Any, dev_name: str | None, flags: int) -> ConsoleSession:
        self.check_flags(
            flags, VIR_DOMAIN_CONSOLE_SAFE | VIR_DOMAIN_CONSOLE_FORCE, "qemuDomainOpenConsole"
        )
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        chrdevs = character_devices(obj.current.devices)
        if dev_name is not None:
            chosen = next((c for c in chrdevs if c[1] == dev_name), None)
        else:
            chosen = next((c for c in chrdevs if c[0] in ("console", "serial")), None)
        if chosen is None:
            shown = "<null>" if dev_name is None else dev_name
            raise self.error(ErrorCode.INTERNAL_ERROR, f"cannot find character device {shown}")
        _, alias, pty, elem = chosen
        if elem.get("type", "pty") != "pty":
            raise self.error(
                ErrorCode.INTERNAL_ERROR,
                f"character device {dev_name or alias} is not using a PTY",
            )
        key = (obj.uuid, pty)  # virChrdevOpen: one session per pty
        table = self._console_table()
        current = table.get(key)
        if current is not None:
            if not flags & VIR_DOMAIN_CONSOLE_FORCE:
                raise self.error(ErrorCode.OPERATION_FAILED, CONSOLE_BUSY)
            current.abort("stream had I/O failure")

        def release(session: ConsoleSession) -> None:
            if table.get(key) is session:
                del table[key]

        session = ConsoleSession(GuestTerminal(obj.name), release)
        table[key] = session
        return session

    def stop(self, obj: Any, reason: int) -> None:
        """The guest stopped: its ptys close under any open console (end of stream)."""
        table = self._console_table()
        for key in [k for k in table if k[0] == obj.uuid]:
            table[key].hangup()
        super().stop(obj, reason)  # type: ignore[misc]


__all__ = ["CONSOLE_BUSY", "ConsoleSession", "GuestTerminal", "QemuConsoles", "character_devices"]
