"""The virsh verbs against a fake libvirt-python module: output bytes, calls made, exit codes.

Expected texts are what real virsh 9.0 prints for the same situation (captured against a
private libvirtd); the interop tests compare with virsh itself.
"""

from __future__ import annotations

import io
import threading
import time
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from virtwire.tools import virsh

UUID1 = "6695eb01-f6a4-8304-79aa-97f2502e193f"
UUID2 = "11111111-2222-3333-4444-555555555555"
UUID3 = "aaaaaaaa-2222-3333-4444-555555555555"


class FakeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def get_error_code(self) -> int:
        return self.code

    def get_error_message(self) -> str:
        return self.message


class FakeDomain:
    def __init__(
        self, conn: FakeConn, name: str, uuid: str, dom_id: int, state: int = 1, reason: int = 1
    ):
        self.conn = conn
        self._name, self._uuid, self._id = name, uuid, dom_id
        self._state, self._reason = state, reason
        self.memory = 2097152
        self.persistent = True
        self.label = "libvirt-test"
        self.msgs: list[str] = []
        self.cpu_time = 1_500_000_000

    def _log(self, *call: Any) -> None:
        self.conn.calls.append(call)

    def name(self):
        return self._name

    def ID(self):
        return self._id

    def UUIDString(self):
        return self._uuid

    def OSType(self):
        return "linux"

    def info(self):
        return [self._state, 8388608, self.memory, 2, self.cpu_time if self._id != -1 else 0]

    def state(self, flags=0):
        return [self._state, self._reason]

    def isActive(self):
        return int(self._id != -1)

    def isPersistent(self):
        return int(self.persistent)

    def autostart(self):
        return 0

    def hasManagedSaveImage(self, flags=0):
        return 0

    def securityLabel(self):
        return [self.label if self._id != -1 else "", 1]

    def messages(self, flags=0):
        return list(self.msgs)

    def XMLDesc(self, flags=0):
        self._log("XMLDesc", flags)
        return f"<domain type='test'>\n  <name>{self._name}</name>\n</domain>\n"

    def create(self):
        self._log("create")
        self._id, self._state, self._reason = 7, 1, 1

    def createWithFlags(self, flags):
        self._log("createWithFlags", flags)
        self._id, self._state = 7, 1

    def destroy(self):
        self._log("destroy")
        self._id, self._state, self._reason = -1, 5, 2

    def suspend(self):
        self._log("suspend")
        self._state, self._reason = 3, 1

    def resume(self):
        self._log("resume")
        if self._state != 3:
            raise FakeError(1, f"internal error: domain '{self._name}' not paused")
        self._state, self._reason = 1, 5

    def shutdown(self):
        self._log("shutdown")

    def shutdownFlags(self, flags):
        self._log("shutdownFlags", flags)

    def reboot(self, flags=0):
        self._log("reboot", flags)
        if self._id == -1:
            raise FakeError(55, "Requested operation is not valid: domain is not running")

    def undefineFlags(self, flags=0):
        self._log("undefineFlags", flags)
        del self.conn.domains[self._name]

    def attachDevice(self, xml):
        self._log("attachDevice", xml)

    def attachDeviceFlags(self, xml, flags=0):
        self._log("attachDeviceFlags", xml, flags)
        if "bad" in xml:
            raise FakeError(
                3,
                "this function is not supported by the connection driver: virDomainAttachDeviceFlags",
            )

    def detachDevice(self, xml):
        self._log("detachDevice", xml)

    def detachDeviceFlags(self, xml, flags=0):
        self._log("detachDeviceFlags", xml, flags)

    def detachDeviceAlias(self, alias, flags=0):
        self._log("detachDeviceAlias", alias, flags)

    def setMemory(self, kib):
        self._log("setMemory", kib)
        self.memory = kib

    def setMemoryFlags(self, kib, flags=0):
        self._log("setMemoryFlags", kib, flags)


class FakeConn:
    def __init__(self, uri: str | None):
        self.uri = uri
        self.calls: list[tuple] = []
        self.domains: dict[str, FakeDomain] = {}
        self.callbacks: dict[int, tuple] = {}
        self.fail_event_ids: set[int] = set()
        self.closed = False
        self.add(FakeDomain(self, "test", UUID1, 1))

    def add(self, dom: FakeDomain) -> FakeDomain:
        self.domains[dom.name()] = dom
        return dom

    def listAllDomains(self, flags=0):
        self.calls.append(("listAllDomains", flags))
        out = []
        for d in self.domains.values():
            active = d.ID() != -1
            if (active and flags & 1) or (not active and flags & 2):
                out.append(d)
        return out

    def lookupByName(self, name):
        self.calls.append(("lookupByName", name))
        if name in self.domains:
            return self.domains[name]
        raise FakeError(42, f"Domain not found: no domain with matching name '{name}'")

    def lookupByID(self, dom_id):
        self.calls.append(("lookupByID", dom_id))
        for d in self.domains.values():
            if d.ID() == dom_id:
                return d
        raise FakeError(42, "Domain not found")

    def lookupByUUIDString(self, uuid):
        self.calls.append(("lookupByUUIDString", uuid))
        for d in self.domains.values():
            if d.UUIDString() == uuid:
                return d
        raise FakeError(42, "Domain not found")

    def defineXML(self, xml):
        self.calls.append(("defineXML", xml))
        if "<domain" not in xml:
            raise FakeError(27, "XML error: expecting root element of 'domain'")
        return self.add(FakeDomain(self, "new", UUID3, -1, 5, 0))

    def getType(self):
        return "TEST"

    def getVersion(self):
        return 2

    def getLibVersion(self):
        return 9000000

    def getHostname(self):
        return "vm"

    def getURI(self):
        return self.uri

    def getInfo(self):
        return ["i686", 3072, 16, 1400, 2, 2, 2, 2]

    def getSecurityModel(self):
        return ["testSecurity", ""]

    def domainEventRegisterAny(self, dom, event_id, cb, opaque):
        self.calls.append(("register", None if dom is None else dom.name(), event_id))
        if event_id in self.fail_event_ids:
            raise FakeError(3, "unsupported event")
        callback_id = len(self.callbacks)
        self.callbacks[callback_id] = (event_id, cb, opaque)
        return callback_id

    def domainEventDeregisterAny(self, callback_id):
        self.calls.append(("deregister", callback_id))
        del self.callbacks[callback_id]

    def close(self):
        self.closed = True


def make_module(conn_factory=FakeConn) -> types.SimpleNamespace:
    mod = types.SimpleNamespace(libvirtError=FakeError, conns=[], handler=None)

    def open_(uri=None):
        if uri and "refused" in uri:
            raise FakeError(38, "unable to connect to server at '127.0.0.1:1': Connection refused")
        conn = conn_factory(uri)
        mod.conns.append(conn)
        if getattr(mod, "setup", None):
            mod.setup(conn)
        return conn

    def register_error_handler(fn, ctx):
        mod.handler = fn

    def run_default_impl():
        time.sleep(0.01)

    mod.open = open_
    mod.registerErrorHandler = register_error_handler
    mod.virEventRegisterDefaultImpl = lambda: 0
    mod.virEventRunDefaultImpl = run_default_impl
    mod.getVersion = lambda: 9000000
    return mod


def run(*argv: str, module=None, uri: str | None = "test:///fake") -> tuple[int, str, str, Any]:
    module = module or make_module()
    out, err = io.StringIO(), io.StringIO()
    rc = virsh.run(uri, argv[0], list(argv[1:]), libvirt=module, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue(), module


# --- list ------------------------------------------------------------------------------------


def test_list_default_matches_virsh():
    rc, out, err, _ = run("list")
    assert (rc, err) == (0, "")
    assert out == " Id   Name   State\n----------------------\n 1    test   running\n\n"


def with_extra_domains(conn: FakeConn) -> None:
    conn.add(FakeDomain(conn, "beta", UUID2, -1, 5, 2))
    conn.add(FakeDomain(conn, "Alpha", UUID3, -1, 5, 0))
    conn.add(FakeDomain(conn, "paused1", "bbbbbbbb-2222-3333-4444-555555555555", 12, 3, 1))


def test_list_all_sorts_active_by_id_then_inactive_by_name_ignoring_case():
    mod = make_module()
    mod.setup = with_extra_domains
    rc, out, err, mod = run("list", "--all", module=mod)
    assert rc == 0
    assert out == (
        " Id   Name      State\n"
        "--------------------------\n"
        " 1    test      running\n"
        " 12   paused1   paused\n"
        " -    Alpha     shut off\n"
        " -    beta      shut off\n"
        "\n"
    )
    assert ("listAllDomains", 3) in mod.conns[0].calls


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        ((), 1),
        (("--inactive",), 2),
        (("--all",), 3),
        (("--state-shutoff",), 2 | 64),
        (("--all", "--persistent", "--autostart"), 3 | 4 | 1024),
        (("--transient", "--with-snapshot"), 1 | 8 | 4096),
    ],
)
def test_list_filter_flags(args, flags):
    rc, _, _, mod = run("list", *args)
    assert rc == 0
    assert mod.conns[0].calls[0] == ("listAllDomains", flags)


def test_list_name_uuid_id_forms():
    mod = make_module()
    mod.setup = with_extra_domains
    rc, out, _, _ = run("list", "--all", "--name", module=mod)
    assert out == "test\npaused1\nAlpha\nbeta\n\n"
    mod = make_module()
    mod.setup = with_extra_domains
    rc, out, _, _ = run("list", "--all", "--id", module=mod)
    assert out == "1\n12\n\n"  # inactive domains have no ID to print
    rc, out, _, _ = run("list", "--uuid", "--name", "--id")
    assert out == f"{UUID1} 1 test\n\n"
    rc, out, _, _ = run("list", "--uuid", "--title")
    assert out == f"{UUID1}\n\n"


def test_list_table_with_uuid_column():
    rc, out, _, _ = run("list", "--table", "--uuid")
    assert out.splitlines()[0] == " Id   Name   State     UUID"
    assert out.splitlines()[2] == f" 1    test   running   {UUID1}"


def test_list_title_from_xml_when_metadata_api_missing():
    rc, out, _, _ = run("list", "--title")
    assert out.splitlines()[2] == " 1    test   running   "


def test_list_table_and_name_are_exclusive():
    rc, out, err, _ = run("list", "--table", "--name")
    assert (rc, out, err) == (1, "\n", "error: Options --table and --name are mutually exclusive\n")


def test_list_failure_reports_both_lines():
    class Broken(FakeConn):
        def listAllDomains(self, flags=0):
            raise FakeError(1, "internal error: boom")

    rc, out, err, _ = run("list", module=make_module(Broken))
    assert rc == 1
    assert err == "error: Failed to list domains\nerror: internal error: boom\n"


# --- dominfo / domstate ----------------------------------------------------------------------

DOMINFO_RUNNING = (
    "Id:             1\n"
    "Name:           test\n"
    f"UUID:           {UUID1}\n"
    "OS Type:        linux\n"
    "State:          running\n"
    "CPU(s):         2\n"
    "CPU time:       1.5s\n"
    "Max memory:     8388608 KiB\n"
    "Used memory:    2097152 KiB\n"
    "Persistent:     yes\n"
    "Autostart:      disable\n"
    "Managed save:   no\n"
    "Security model: testSecurity\n"
    "Security DOI:   \n"
    "Security label: libvirt-test (enforcing)\n"
    "\n"
)


def test_dominfo_running_matches_virsh_layout():
    rc, out, err, _ = run("dominfo", "test")
    assert (rc, err) == (0, "")
    assert out == DOMINFO_RUNNING


def test_dominfo_by_id_and_uuid():
    assert run("dominfo", "1")[1] == DOMINFO_RUNNING
    assert run("dominfo", UUID1)[1] == DOMINFO_RUNNING
    assert run("dominfo", "--domain=test")[1] == DOMINFO_RUNNING


def test_dominfo_inactive_domain():
    mod = make_module()
    mod.setup = with_extra_domains
    rc, out, _, _ = run("dominfo", "beta", module=mod)
    lines = out.splitlines()
    assert lines[0] == "Id:             -"
    assert "State:          shut off" in lines
    assert not any(line.startswith("CPU time:") for line in lines)  # cpuTime 0 is not shown
    assert not any(line.startswith("Security label:") for line in lines)


def test_dominfo_messages_and_no_limit():
    def setup(conn):
        dom = conn.domains["test"]
        dom.msgs = ["tainted: custom-monitor", "deprecated: x"]
        dom.info = lambda: [1, virsh.UINT_MAX, 1024, 1, 0]

    mod = make_module()
    mod.setup = setup
    out = run("dominfo", "test", module=mod)[1]
    assert "Max memory:     no limit\n" in out
    assert out.endswith(
        "Messages:       tainted: custom-monitor\n                deprecated: x\n\n"
    )


def test_dominfo_without_security_model_support():
    class NoSec(FakeConn):
        def getSecurityModel(self):
            raise FakeError(3, "this function is not supported by the connection driver")

    rc, out, err, _ = run("dominfo", "test", module=make_module(NoSec))
    assert (rc, err) == (0, "")
    assert "Security" not in out


def test_unknown_domain_is_one_error_line_and_exit_1():
    for verb in ("dominfo", "domstate", "dumpxml", "suspend", "resume", "destroy", "undefine"):
        rc, out, err, _ = run(verb, "nope")
        assert (rc, out, err) == (1, "\n", "error: failed to get domain 'nope'\n"), verb


def test_lookup_tries_id_then_uuid_then_name():
    _, _, _, mod = run("dominfo", "nope")
    assert mod.conns[0].calls == [("lookupByName", "nope")]
    _, _, _, mod = run("dominfo", "5")
    assert mod.conns[0].calls[:2] == [("lookupByID", 5), ("lookupByName", "5")]
    _, _, _, mod = run("dominfo", UUID2)
    assert mod.conns[0].calls[:2] == [("lookupByUUIDString", UUID2), ("lookupByName", UUID2)]


def test_start_does_not_look_up_by_id():
    rc, out, err, mod = run("start", "1")
    assert (rc, err) == (1, "error: failed to get domain '1'\n")
    assert ("lookupByID", 1) not in mod.conns[0].calls


@pytest.mark.parametrize(
    ("state", "reason", "plain", "with_reason"),
    [
        (1, 1, "running", "running (booted)"),
        (3, 1, "paused", "paused (user)"),
        (5, 2, "shut off", "shut off (destroyed)"),
    ],
)
def test_domstate(state, reason, plain, with_reason):
    def setup(conn):
        conn.domains["test"]._state, conn.domains["test"]._reason = state, reason

    mod = make_module()
    mod.setup = setup
    assert run("domstate", "test", module=mod)[1] == plain + "\n\n"
    mod = make_module()
    mod.setup = setup
    assert run("domstate", "test", "--reason", module=mod)[1] == with_reason + "\n\n"


# --- lifecycle verbs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "message", "call"),
    [
        ("suspend", "Domain 'test' suspended", ("suspend",)),
        ("destroy", "Domain 'test' destroyed", ("destroy",)),
        ("shutdown", "Domain 'test' is being shutdown", ("shutdown",)),
        ("reboot", "Domain 'test' is being rebooted", ("reboot", 0)),
        ("undefine", "Domain 'test' has been undefined", ("undefineFlags", 0)),
    ],
)
def test_simple_verbs(verb, message, call):
    rc, out, err, mod = run(verb, "test")
    assert (rc, out, err) == (0, message + "\n\n", "")
    assert call in mod.conns[0].calls


def test_messages_name_the_domain_as_typed():
    assert run("suspend", "1")[1] == "Domain '1' suspended\n\n"
    assert run("destroy", UUID1)[1] == f"Domain '{UUID1}' destroyed\n\n"


def test_failed_action_prints_virsh_line_then_libvirt_error():
    rc, out, err, _ = run("resume", "test")
    assert (rc, out) == (1, "\n")
    assert (
        err
        == "error: Failed to resume domain 'test'\nerror: internal error: domain 'test' not paused\n"
    )


def test_start_inactive_and_already_active():
    mod = make_module()
    mod.setup = with_extra_domains
    rc, out, err, mod = run("start", "beta", module=mod)
    assert (rc, out, err) == (0, "Domain 'beta' started\n\n", "")
    rc, out, err, _ = run("start", "test")
    assert (rc, out, err) == (1, "\n", "error: Domain is already active\n")
    mod = make_module()
    mod.setup = with_extra_domains
    _, _, _, mod = run("start", "beta", "--paused", "--force-boot", module=mod)
    assert ("createWithFlags", 9) in mod.conns[0].calls


def test_shutdown_and_reboot_modes():
    _, _, _, mod = run("shutdown", "test", "--mode", "acpi,agent")
    assert ("shutdownFlags", 3) in mod.conns[0].calls
    _, _, _, mod = run("reboot", "test", "--mode=signal")
    assert ("reboot", 8) in mod.conns[0].calls
    rc, _, err, _ = run("shutdown", "test", "--mode", "bogus")
    assert rc == 1
    assert err.startswith("error: Unknown mode bogus value, expecting 'acpi'")


def test_destroy_graceful():
    class Graceful(FakeConn):
        def __init__(self, uri):
            super().__init__(uri)
            dom = self.domains["test"]
            dom.destroyFlags = lambda flags: self.calls.append(("destroyFlags", flags))

    rc, out, _, mod = run("destroy", "test", "--graceful", module=make_module(Graceful))
    assert (rc, out) == (0, "Domain 'test' destroyed\n\n")
    assert mod.conns[0].calls[-1] == ("destroyFlags", 1)


def test_module_without_an_api_gives_an_error_not_a_traceback():
    # FakeDomain has no destroyFlags
    rc, out, err, _ = run("destroy", "test", "--graceful")
    assert (rc, out) == (1, "\n")
    assert err == "error: this function is not supported by the libvirt module: destroyFlags\n"


# --- define, dumpxml, devices, setmem --------------------------------------------------------


def test_define_and_errors(tmp_path):
    good = tmp_path / "d.xml"
    good.write_text("<domain type='test'><name>new</name></domain>")
    rc, out, err, mod = run("define", str(good))
    assert (rc, out, err) == (0, f"Domain 'new' defined from {good}\n\n", "")
    rc, out, err, _ = run("define", str(tmp_path / "missing.xml"))
    assert (rc, out) == (1, "\n")
    assert (
        err
        == f"error: Failed to open file '{tmp_path / 'missing.xml'}': No such file or directory\n"
    )
    bad = tmp_path / "dev.xml"
    bad.write_text("<memory/>")
    rc, out, err, _ = run("define", str(bad))
    assert err == (
        f"error: Failed to define domain from {bad}\n"
        "error: XML error: expecting root element of 'domain'\n"
    )


def test_dumpxml_flags_and_output():
    rc, out, err, mod = run("dumpxml", "test", "--inactive", "--security-info")
    assert out == "<domain type='test'>\n  <name>test</name>\n</domain>\n\n"
    assert ("XMLDesc", 3) in mod.conns[0].calls


@pytest.mark.parametrize(
    ("args", "call"),
    [
        ((), ("attachDevice",)),
        (("--live",), ("attachDeviceFlags", 1)),
        (("--config",), ("attachDeviceFlags", 2)),
        (("--current",), ("attachDeviceFlags", 0)),
        (("--persistent",), ("attachDeviceFlags", 3)),  # active domain: config + live
        (("--live", "--config"), ("attachDeviceFlags", 3)),
    ],
)
def test_attach_device_flags(tmp_path, args, call):
    dev = tmp_path / "mem.xml"
    dev.write_text("<memory model='dimm'/>")
    rc, out, err, mod = run("attach-device", "test", str(dev), *args)
    assert (rc, out, err) == (0, "Device attached successfully\n\n", "")
    made = mod.conns[0].calls[-1]
    assert (made[0], *made[2:]) == call


def test_attach_device_failure_and_exclusive_options(tmp_path):
    dev = tmp_path / "bad.xml"
    dev.write_text("<bad/>")
    rc, out, err, _ = run("attach-device", "test", str(dev), "--live")
    assert rc == 1
    assert err == (
        f"error: Failed to attach device from {dev}\n"
        "error: this function is not supported by the connection driver: virDomainAttachDeviceFlags\n"
    )
    rc, out, err, _ = run("attach-device", "test", str(dev), "--persistent", "--current")
    assert err == "error: Options --persistent and --current are mutually exclusive\n"


def test_detach_device_and_alias(tmp_path):
    dev = tmp_path / "mem.xml"
    dev.write_text("<memory model='dimm'/>")
    rc, out, _, mod = run("detach-device", "test", str(dev), "--live")
    assert out == "Device detached successfully\n\n"
    assert mod.conns[0].calls[-1][0] == "detachDeviceFlags"
    rc, out, _, mod = run("detach-device-alias", "test", "dimm0", "--live")
    assert out == "Device detach request sent successfully\n\n"
    assert mod.conns[0].calls[-1] == ("detachDeviceAlias", "dimm0", 1)


@pytest.mark.parametrize(
    ("args", "call"),
    [
        (("1G",), ("setMemory", 1048576)),
        (("100",), ("setMemory", 100)),
        (("1b",), ("setMemory", 1)),  # rounded up to whole KiB
        (("1500",), ("setMemory", 1500)),
        (("512M", "--config"), ("setMemoryFlags", 524288, 2)),
        (("--size", "2G", "--live"), ("setMemoryFlags", 2097152, 1)),
        (("1G", "--current"), ("setMemory", 1048576)),
    ],
)
def test_setmem(args, call):
    rc, out, err, mod = run("setmem", "test", *args)
    assert (rc, out, err) == (0, "\n", "")
    assert mod.conns[0].calls[-1] == call


@pytest.mark.parametrize(
    ("size", "err"),
    [
        (
            "1x",
            "error: Scaled numeric value '1x' for <size> option is malformed or out of range\n"
            "error: invalid argument: unknown suffix 'x'\n",
        ),
        ("-5", "error: Scaled numeric value '-5' for <size> option is malformed or out of range\n"),
    ],
)
def test_setmem_bad_sizes(size, err):
    rc, out, got, _ = run("setmem", "test", size)
    assert (rc, out, got) == (1, "\n", err)


# --- host verbs ------------------------------------------------------------------------------


def test_version():
    rc, out, _, _ = run("version", "--daemon")
    assert out == (
        "Compiled against library: libvirt 9.0.0\n"
        "Using library: libvirt 9.0.0\n"
        "Using API: TEST 9.0.0\n"
        "Running hypervisor: TEST 0.0.2\n"
        "Running against daemon: 9.0.0\n"
        "\n"
    )
    assert "daemon" not in run("version")[1]


def test_nodeinfo_uri_hostname():
    assert run("nodeinfo")[1] == (
        "CPU model:           i686\n"
        "CPU(s):              16\n"
        "CPU frequency:       1400 MHz\n"
        "CPU socket(s):       2\n"
        "Core(s) per socket:  2\n"
        "Thread(s) per core:  2\n"
        "NUMA cell(s):        2\n"
        "Memory size:         3145728 KiB\n"
        "\n"
    )
    assert run("uri", uri="test:///x")[1] == "test:///x\n\n"
    assert run("hostname")[1] == "vm\n\n"


def test_uri_from_environment(monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///from-env")
    assert run("uri", uri=None)[1] == "test:///from-env\n\n"


# --- command line and connection errors ------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (("bogusverb",), "error: unknown command: 'bogusverb'\n"),
        (("list", "--bogus"), "error: command 'list' doesn't support option --bogus\n"),
        (("dominfo",), "error: command 'dominfo' requires <domain> option\n"),
        (("dominfo", "test", "extra"), "error: unexpected data 'extra'\n"),
        (("dominfo", "--domain"), "error: expected syntax: --domain <string>\n"),
        (("setmem", "test", "--size"), "error: expected syntax: --size <number>\n"),
        (("setmem", "test"), "error: command 'setmem' requires --size option\n"),
        (("list", "--all=1"), "error: invalid '=' after option --all\n"),
        (("list", "--name", "--name"), "error: option --name already seen\n"),
        (("dominfo", "test", "--domain", "test"), "error: option --domain already seen\n"),
        (
            ("attach-device",),
            "error: command 'attach-device' requires <domain> option\n"
            "error: command 'attach-device' requires <file> option\n",
        ),
    ],
)
def test_usage_errors_happen_before_connecting(argv, err):
    rc, out, got, mod = run(*argv)
    assert (rc, out, got) == (1, "", err)
    assert mod.conns == []


def test_double_dash_makes_the_rest_data():
    rc, out, err, mod = run("dominfo", "--", "--all")
    assert err == "error: failed to get domain '--all'\n"


def test_connection_failure():
    rc, out, err, _ = run("list", uri="test+tcp://refused/default")
    assert (rc, out) == (1, "")
    assert err == (
        "error: failed to connect to the hypervisor\n"
        "error: unable to connect to server at '127.0.0.1:1': Connection refused\n"
    )


def test_error_handler_silenced_and_connection_closed():
    _, _, _, mod = run("list")
    assert mod.handler is not None
    assert mod.conns[0].closed


def test_verbs_cover_the_brief():
    assert {
        "list",
        "dominfo",
        "domstate",
        "dumpxml",
        "define",
        "undefine",
        "start",
        "destroy",
        "suspend",
        "resume",
        "shutdown",
        "reboot",
        "attach-device",
        "detach-device",
        "detach-device-alias",
        "setmem",
        "event",
        "version",
        "uri",
        "hostname",
        "nodeinfo",
    } == set(virsh.VERBS)


@settings(max_examples=50)
@given(st.permutations(["--live", "--config", "--size=1G", "--domain=test"]))
def test_option_order_does_not_matter(order):
    opts = virsh.parse_options(virsh.COMMANDS["setmem"], list(order))
    assert opts == {"live": True, "config": True, "size": "1G", "domain": "test"}


# --- event -----------------------------------------------------------------------------------


def fire_later(mod, *events, delay=0.05):
    """From another thread, call the registered callbacks like the library would."""

    def go():
        deadline = time.monotonic() + 5
        while not mod.conns or not mod.conns[0].callbacks:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(delay)
        conn = mod.conns[0]
        for event_id, args in events:
            for eid, cb, opaque in list(conn.callbacks.values()):
                if eid == event_id:
                    cb(conn, conn.domains["test"], *args, opaque)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def test_event_all_registers_27_ids_and_times_out_with_exit_1():
    rc, out, err, mod = run("event", "--all", "--timeout", "1")
    assert (rc, out, err) == (1, "event loop timed out\nevents received: 0\n\n", "")
    calls = mod.conns[0].calls
    assert [c[2] for c in calls if c[0] == "register"] == list(range(27))
    assert [c[1] for c in calls if c[0] == "deregister"] == list(range(27))


def test_event_one_shot_prints_first_event_only():
    mod = make_module()
    fire_later(mod, (0, (5, 1)), (0, (2, 0)))
    rc, out, err, _ = run("event", "--event", "lifecycle", "--timeout", "5", module=mod)
    assert (rc, err) == (0, "")
    assert out == "event 'lifecycle' for domain 'test': Stopped Destroyed\nevents received: 1\n\n"


def test_event_loop_prints_all_until_timeout():
    mod = make_module()
    fire_later(mod, (0, (3, 0)), (19, ("memdimm0",)), (0, (4, 0)))
    rc, out, err, _ = run("event", "--all", "--loop", "--timeout", "1", module=mod)
    assert rc == 0
    assert out == (
        "event 'lifecycle' for domain 'test': Suspended Paused\n"
        "event 'device-added' for domain 'test': memdimm0\n"
        "event 'lifecycle' for domain 'test': Resumed Unpaused\n"
        "event loop timed out\n"
        "events received: 3\n"
        "\n"
    )


def test_event_timestamp_prefix():
    mod = make_module()
    fire_later(mod, (0, (5, 1)))
    rc, out, _, _ = run(
        "event", "--event", "lifecycle", "--timestamp", "--timeout", "5", module=mod
    )
    first = out.splitlines()[0]
    assert first.endswith("+0000: event 'lifecycle' for domain 'test': Stopped Destroyed")


def test_event_domain_filter_is_passed():
    rc, out, err, mod = run(
        "event", "--domain", "test", "--event", "device-added", "--timeout", "1"
    )
    assert ("register", "test", 19) in mod.conns[0].calls


def test_event_later_registration_failures_are_ignored():
    def setup(conn):
        conn.fail_event_ids = {25, 26}

    mod = make_module()
    mod.setup = setup
    rc, out, err, mod = run("event", "--all", "--timeout", "1", module=mod)
    assert (rc, err) == (1, "")
    assert len([c for c in mod.conns[0].calls if c[0] == "deregister"]) == 25


def test_event_first_registration_failure_is_an_error():
    def setup(conn):
        conn.fail_event_ids = {0}

    mod = make_module()
    mod.setup = setup
    rc, out, err, _ = run("event", "--all", "--timeout", "1", module=mod)
    assert (rc, out, err) == (1, "\n", "error: unsupported event\n")


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (("--timeout", "1"), "error: one of --list, --all, or --event <type> is required\n"),
        (("--event", "bogus"), "error: unknown event type bogus\n"),
        (
            ("--all", "--event", "lifecycle"),
            "error: Options --all and --event are mutually exclusive\n",
        ),
        (
            ("--all", "--timeout", "0"),
            "error: Numeric value '0' for <timeout> option is malformed or out of range\n",
        ),
        (
            ("--all", "--timeout", "abc"),
            "error: Numeric value 'abc' for <timeout> option is malformed or out of range\n",
        ),
        (("--domain", "nope", "--all"), "error: failed to get domain 'nope'\n"),
    ],
)
def test_event_errors(args, err):
    rc, out, got, _ = run("event", *args)
    assert (rc, out, got) == (1, "\n", err)


def test_event_list():
    rc, out, _, _ = run("event", "--list")
    assert out.splitlines()[:2] == ["lifecycle", "reboot"]
    assert len(out.splitlines()) == 28  # 27 names and the closing empty line


def test_disconnect_during_event_wait_ends_it_like_virsh():
    class Dying(FakeConn):
        close_cb = None

        def registerCloseCallback(self, cb, opaque):
            self.close_cb = (cb, opaque)

        def unregisterCloseCallback(self):
            self.calls.append(("unregisterCloseCallback",))

        def domainEventDeregisterAny(self, callback_id):
            raise FakeError(1, "internal error: client socket is closed")

    mod = make_module(Dying)

    def kill_later():
        deadline = time.monotonic() + 5
        while not (mod.conns and mod.conns[0].callbacks) and time.monotonic() < deadline:
            time.sleep(0.01)
        cb, opaque = mod.conns[0].close_cb
        cb(mod.conns[0], 0, opaque)  # VIR_CONNECT_CLOSE_REASON_ERROR

    threading.Thread(target=kill_later, daemon=True).start()
    started = time.monotonic()
    rc, out, err, mod = run(
        "event", "--all", "--loop", "--timeout", "20", module=mod, uri="test:///x"
    )
    assert time.monotonic() - started < 10
    assert (rc, out) == (1, "events received: 0\n\n")
    assert err == (
        "error: Disconnected from test:///x due to I/O error\n"
        "error: internal error: client socket is closed\n"
    )
    assert ("unregisterCloseCallback",) not in mod.conns[0].calls


def test_close_callback_registered_and_removed_on_normal_exit():
    class Watching(FakeConn):
        def registerCloseCallback(self, cb, opaque):
            self.calls.append(("registerCloseCallback",))

        def unregisterCloseCallback(self):
            self.calls.append(("unregisterCloseCallback",))

    _, _, _, mod = run("list", module=make_module(Watching))
    calls = mod.conns[0].calls
    assert calls[0] == ("registerCloseCallback",)
    assert calls[-1] == ("unregisterCloseCallback",)


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (("dominfo", ""), "error: Failed to get option 'domain': Option argument is empty\n"),
        (("define", ""), "error: Failed to get option 'file': Option argument is empty\n"),
        (
            ("detach-device-alias", "test", ""),
            "error: Failed to get option 'alias': Option argument is empty\n",
        ),
        (
            ("shutdown", "test", "--mode="),
            "error: Failed to get option 'mode': Option argument is empty\n",
        ),
        (
            ("event", "--event", ""),
            "error: Failed to get option 'event': Option argument is empty\n",
        ),
        (("attach-device", "nope", ""), "error: failed to get domain 'nope'\n"),  # domain first
    ],
)
def test_empty_string_options_are_refused_after_connecting(argv, err):
    rc, out, got, mod = run(*argv)
    assert (rc, out, got) == (1, "\n", err)


class ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_stdout_ends_quietly():
    mod = make_module()
    err = io.StringIO()
    rc = virsh.run("test:///x", "list", ["--all"], libvirt=mod, stdout=ClosedPipe(), stderr=err)
    assert (rc, err.getvalue()) == (1, "")
    assert mod.conns[0].closed


def test_closed_stdout_ends_an_event_loop():
    mod = make_module()
    fire_later(mod, (0, (5, 1)))
    started = time.monotonic()
    rc = virsh.run(
        "test:///x",
        "event",
        ["--all", "--loop", "--timeout", "20"],
        libvirt=mod,
        stdout=ClosedPipe(),
        stderr=io.StringIO(),
    )
    assert rc == 1
    assert time.monotonic() - started < 10
    assert len([c for c in mod.conns[0].calls if c[0] == "deregister"]) == 27
