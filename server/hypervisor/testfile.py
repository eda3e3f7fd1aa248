"""``test:///ABSOLUTE/PATH.xml``: a test-driver host defined by a ``<node>`` document.

As libvirt 9.0's ``testOpenFromFile`` (src/test/test_driver.c): the document's root is
``<node>``; its ``<domain>``, ``<network>``, ``<interface>``, ``<pool>`` (with inline
``<volume>`` children) and ``<device>`` elements are loaded in that order, each either
inline or as ``file='NAME'`` (a path relative to the document's directory, or absolute);
``<cpu>`` (``nodes``, ``sockets``, ``cores``, ``threads``, ``active``, ``mhz``, ``model``)
and ``<memory>`` (KiB) change the node info, whose defaults are the test driver's. Every
domain starts running (ids from 1), every network, interface and pool is active, pools get
the test driver's 100 GiB capacity. Nothing is shared: each connection opens the file
afresh and gets its own host. libvirt facts kept: a pool given as ``file=`` loses its inline
volumes (the node is replaced by the file's before they are read); there are no NUMA cells
(``capabilities`` shows ``<cells num='0'>``, ``freecell`` 0).

Security: the path is on the daemon's host and is read with the daemon's rights, so a file
(the document or one it references) is read only when it is a regular file owned by the
daemon's own user (or by root when the daemon runs as root); any other file gives the same
error as a missing one, ``failed to parse xml document 'PATH'``, so a client learns nothing
about files it could not have written itself.
"""

from __future__ import annotations

import os
import stat
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import Callable

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.records import NodeInfo
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.hostfacts import HostTopology
from virtwire.server.hypervisor.interfaces import InterfaceObj, parse_interface
from virtwire.server.hypervisor.model import DomainObj, DomainState, RunningReason
from virtwire.server.hypervisor.networks import NetworkObj, parse_network
from virtwire.server.hypervisor.nodedevs import NodeDevice, ScsiHost
from virtwire.server.hypervisor.registry import TEST_FILE_PREFIX, is_test_file_uri
from virtwire.server.hypervisor.storage import (
    DEFAULT_POOL_ALLOC,
    DEFAULT_POOL_CAP,
    PoolObj,
    parse_pool,
    parse_volume,
)
from virtwire.server.hypervisor.testdriver import TestDriver

__all__ = ["TestFileDriver", "is_test_file_uri", "TEST_FILE_PREFIX"]

MAX_FILE_BYTES = 16 * 1024 * 1024  # a fixture larger than this is refused like a bad one


def _xml_error(detail: str) -> LibvirtError:
    return LibvirtError.make(ErrorCode.XML_ERROR, ErrorDomain.XML, detail)


def _unreadable(path: str) -> LibvirtError:
    return _xml_error(f"failed to parse xml document '{path}'")


def read_own_file(path: str) -> str:
    """The text of ``path`` if the daemon's user owns it (see the module's Security note)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise _unreadable(path) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
            # libxml2 reads a directory as an empty document
            raise LibvirtError.make(
                ErrorCode.XML_DETAIL, ErrorDomain.XML, f"{path}:1: Document is empty\n(null)\n^"
            )
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > MAX_FILE_BYTES:
            raise _unreadable(path)
        data = os.read(fd, MAX_FILE_BYTES + 1)
    except OSError:
        raise _unreadable(path) from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _unreadable(path) from None


def parse_file(path: str, root_name: str) -> ET.Element:
    """virXMLParse(file, root_name): libxml2's texts prefixed with the file name."""
    text = read_own_file(path)
    try:
        root = domxml.parse_document(text, path)
    except LibvirtError as exc:
        # libxml2 has no context line to show for a file: "(null)" and a bare caret
        first = exc.message.split("\n", 1)[0]
        prefix = f"({path}):"
        if first.startswith(prefix):
            first = f"{path}:" + first[len(prefix) :]
        message = f"{first}\n(null)\n^"
        raise LibvirtError.make(ErrorCode.XML_DETAIL, ErrorDomain.XML, message) from None
    if root.tag != root_name:
        raise _xml_error(f"expecting root element of '{root_name}', not '{root.tag}'")
    return root


def _resolve(elem: ET.Element, doc_path: str) -> ET.Element:
    """testParseXMLDocFromFile: an element with ``file=`` is replaced by that file's root."""
    rel = elem.get("file")
    if rel is None:
        return elem
    path = rel if os.path.isabs(rel) else os.path.join(os.path.dirname(doc_path), rel)
    return parse_file(path, elem.tag)


def _text(elem: ET.Element) -> str:
    return ET.tostring(elem, encoding="unicode")


def _uint(root: ET.Element, xpath: str, what: str) -> int | None:
    """virXPathUInt: absent is None, not an unsigned integer is "invalid node ... value"."""
    found = root.find(xpath)
    if found is None:
        return None
    text = (found.text or "").strip()
    if not text.isdigit() or int(text) > 0xFFFFFFFF:
        raise _xml_error(f"invalid node {what} value")
    return int(text)


def parse_node_info(root: ET.Element, base: NodeInfo) -> NodeInfo:
    """testParseNodeInfo over the test driver's defaults."""
    fields = {}
    for tag in ("nodes", "sockets", "cores", "threads"):
        value = _uint(root, f"cpu/{tag}", f"cpu {tag}")
        fields[tag] = getattr(base, tag) if value is None else value
    cpus = fields["cores"] * fields["threads"] * fields["sockets"] * fields["nodes"]
    active = _uint(root, "cpu/active", "cpu active")
    if active is not None and active < cpus:
        cpus = active
    mhz = _uint(root, "cpu/mhz", "cpu mhz")
    model = root.findtext("cpu/model")
    memory = root.find("memory")
    mem_kib = base.memory
    if memory is not None:
        text = (memory.text or "").strip()
        if not text.isdigit():
            raise _xml_error("invalid node memory value")
        mem_kib = int(text)
    if model is not None and len(model) >= 32:
        raise LibvirtError.make(
            ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST, f"Model {model} too big for destination"
        )
    return base._replace(
        model=base.model if model is None else model,
        memory=mem_kib,
        cpus=cpus,
        mhz=base.mhz if mhz is None else mhz,
        **fields,
    )


def _indented(elem: ET.Element) -> str:
    """One ``<capability>`` as a child of ``<device>`` (libvirt's indentation and quotes)."""
    return "".join(f"  {line}\n" for line in domxml.format_xml(elem).splitlines())


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _format_system(cap: ET.Element, name: str) -> str:
    """virNodeDeviceCapSystemDefFormat (the parser needs the hardware UUID)."""
    raw = (cap.findtext("hardware/uuid") or "").strip()
    if not raw:
        raise LibvirtError.make(
            ErrorCode.INTERNAL_ERROR, ErrorDomain.NODEDEV, f"no system UUID supplied for '{name}'"
        )
    try:
        uuid = str(uuidlib.UUID(raw))
    except ValueError:
        raise LibvirtError.make(
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.NODEDEV,
            f"malformed uuid element for '{name}'",
        ) from None
    out = ["  <capability type='system'>\n"]
    product = cap.findtext("product")
    if product is not None:
        out.append(f"    <product>{_esc(product)}</product>\n")
    out.append("    <hardware>\n")
    for key in ("vendor", "version", "serial"):
        value = cap.findtext(f"hardware/{key}")
        if value is not None:
            out.append(f"      <{key}>{_esc(value)}</{key}>\n")
    out += [f"      <uuid>{uuid}</uuid>\n", "    </hardware>\n", "    <firmware>\n"]
    for key in ("vendor", "version", "release_date"):
        value = cap.findtext(f"firmware/{key}")
        if value is not None:
            out.append(f"      <{key}>{_esc(value)}</{key}>\n")
    out += ["    </firmware>\n", "  </capability>\n"]
    return "".join(out)


def parse_node_device(elem: ET.Element) -> NodeDevice:
    """A ``<device>``: FC SCSI hosts are modelled; other capabilities are kept as written."""
    name = (elem.findtext("name") or "").strip()
    if not name:
        raise LibvirtError.make(ErrorCode.NO_NAME, ErrorDomain.NODEDEV, "name")
    parent = elem.findtext("parent")
    caps = elem.findall("capability")
    if not caps:
        raise LibvirtError.make(
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.NODEDEV,
            f"no device capabilities for '{name}'",
        )
    first = caps[0]
    fc = first.find("capability[@type='fc_host']")
    if first.get("type") == "scsi_host" and fc is not None and len(caps) == 1:
        host = ScsiHost(
            int(first.findtext("host") or 0),
            int(first.findtext("unique_id") or -1),
            fc.findtext("wwnn") or "",
            fc.findtext("wwpn") or "",
            fc.findtext("fabric_wwn") or "",
            first.find("capability[@type='vport_ops']") is not None,
        )
        return NodeDevice(name, parent or "computer", host)
    # a system capability is printed as libvirt formats it, the others as written
    body = "".join(
        _format_system(c, name) if c.get("type") == "system" else _indented(c) for c in caps
    )
    return NodeDevice(
        name,
        parent or ("computer" if first.get("type") != "system" else None),
        raw_caps=tuple(c.get("type") or "" for c in caps),
        raw_body=body,
    )


class TestFileDriver(TestDriver):
    """One connection's private test host, loaded from a ``<node>`` document."""

    __test__ = False

    def __init__(self, uri: str, schedule: Callable[[Callable[[], None]], object]) -> None:
        super().__init__(uri, schedule)
        path = uri[len(TEST_FILE_PREFIX) - 1 :]
        if path in ("", "/"):
            raise LibvirtError.make(
                ErrorCode.INVALID_ARG,
                ErrorDomain.TEST,
                "testOpen: supply a path or use test:///default",
            )
        self.host_topology = HostTopology(cells=())  # testOpenFromFile: numCells = 0
        self.domains.clear()
        self.next_id = 1
        self.networks = {}
        self.interfaces = {}
        self.devices = {}
        self.pools = []
        root = parse_file(path, "node")
        self._node_info = parse_node_info(root, super().node_get_info())
        self._load_domains(root, path)
        self._load_networks(root, path)
        self._load_interfaces(root, path)
        self._load_pools(root, path)
        self._load_devices(root, path)

    def node_get_info(self) -> NodeInfo:
        return self._node_info

    # -- testOpenParse, in its order ---------------------------------------------------------

    def _load_domains(self, root: ET.Element, path: str) -> None:
        for node in root.findall("domain"):
            ddef = self.parse(_text(_resolve(node, path)))
            self._check_clash(ddef, live=False)
            obj = DomainObj(config=ddef, persistent=True)
            self.domains[ddef.uuid] = obj
            self.make_live(obj)
            obj.state, obj.reason = DomainState.RUNNING, RunningReason.BOOTED
            self.generate_iothread_polls(obj)  # type: ignore[attr-defined]

    def _load_networks(self, root: ET.Element, path: str) -> None:
        for node in root.findall("network"):
            ndef = parse_network(_text(_resolve(node, path)))
            self.networks[ndef.uuid] = NetworkObj(ndef, active=True)

    def _load_interfaces(self, root: ET.Element, path: str) -> None:
        for node in root.findall("interface"):
            idef = parse_interface(_text(_resolve(node, path)))
            self.interfaces[idef.name] = InterfaceObj(idef, active=True)

    def _load_pools(self, root: ET.Element, path: str) -> None:
        for node in root.findall("pool"):
            node = _resolve(node, path)
            obj = PoolObj(config=parse_pool(_text(node)), active=True)
            cfg = obj.config
            cfg.capacity, cfg.allocation = DEFAULT_POOL_CAP, DEFAULT_POOL_ALLOC
            cfg.available = DEFAULT_POOL_CAP - DEFAULT_POOL_ALLOC
            self.pools.append(obj)
            for vnode in node.findall("volume"):
                vol = parse_volume(cfg, _text(_resolve(vnode, path)))
                if not vol.target.path:
                    vol.target.path = f"{cfg.target_path}/{vol.name}"
                if not vol.key:
                    vol.key = vol.target.path
                obj.volumes.append(vol)
                cfg.allocation += vol.allocation
                cfg.available = cfg.capacity - cfg.allocation

    def _load_devices(self, root: ET.Element, path: str) -> None:
        for node in root.findall("device"):
            dev = parse_node_device(_resolve(node, path))
            self.devices[dev.name] = dev
