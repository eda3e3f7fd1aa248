"""Mediated devices (mdev) of the QEMU hosts: libvirt 9.0's nodedev driver over mdevctl.

libvirt defines, starts, stops and undefines mediated devices by running ``mdevctl`` and
learns the result from udev and from mdevctl's configuration directory; this module is
both halves at once, without the delays:

* ``nodedev-define`` (``mdevctl define``) adds an inactive, persistent device named
  ``mdev_<uuid>_<parent address>``: NODE_DEVICE DEFINED (UPDATE when the device existed);
* ``nodedev-start`` / ``nodedev-create`` (``mdevctl start``) make it appear under its
  parent: CREATED (udev's add of a device without a sysfs path);
* ``nodedev-destroy`` (``mdevctl stop``): DELETED; a defined device stays, inactive;
* ``nodedev-undefine`` (``mdevctl undefine``): UNDEFINED; an active device stays, transient;
* ``nodedev-autostart`` (``mdevctl modify --auto/--manual``): UPDATE when it changed (the
  configuration file changed under libvirt's file monitor).

Definitions are stored as mdevctl stores them: one JSON file per device,
``<state>/mdevctl.d/<parent address>/<uuid>`` (written atomically).  A daemon start is a
host boot: transient devices are gone, defined ones come back inactive, those marked
``auto`` are started (mdevctl's udev rule).  What mdevctl itself prints on failure (libvirt
passes it through after its own prefix) is this module's wording of mdevctl's checks.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullNodeDevice as Dev
from virtwire.server.hypervisor import persistence
from virtwire.server.hypervisor.nodedevs import CAP_FLAGS, parse_device_document

__all__ = ["Mdev", "MdevRequest", "MdevStore", "MdevType", "QemuMdevs", "parse_mdev_request"]

log = logging.getLogger("virtwire.server")

CREATED, DELETED, DEFINED, UNDEFINED = 0, 1, 2, 3  # virNodeDeviceEventLifecycleType
MDEVCTL_DIR = "mdevctl.d"
FIRST_MDEV_IOMMU_GROUP = 32  # after the host's PCI groups (0 .. 0x1f)
CAP_TYPES = frozenset(CAP_FLAGS)  # virNodeDevCapType's strings
_UUID_BYTE = re.compile(r"-*([0-9a-fA-F]{2})")


def nodedev_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.NODEDEV, detail)


def check_nodedev_flags(flags: int, allowed: int, function: str) -> None:
    """virCheckFlags in the nodedev driver (domain NODEDEV)."""
    if flags & ~allowed:
        raise LibvirtError(
            ErrorCode.INVALID_ARG,
            ErrorDomain.NODEDEV,
            f"unsupported flags (0x{flags & ~allowed:x}) in function {function}",
            str1=function,
            str2="flags",
            int1=0,
            int2=0,
        )


def parse_uuid(text: str) -> str | None:
    """virUUIDParse + virUUIDFormat: leading blanks, dashes between bytes, trailing blanks."""
    pos = len(text) - len(text.lstrip())
    out = []
    for _ in range(16):
        match = _UUID_BYTE.match(text, pos)
        if match is None:
            return None
        out.append(match.group(1).lower())
        pos = match.end()
    if text[pos:].strip():
        return None
    hexed = "".join(out)
    return str(uuidlib.UUID(hexed))


@dataclass
class MdevType:
    """One entry of a parent's <capability type='mdev_types'>."""

    id: str
    name: str
    device_api: str
    max_instances: int


@dataclass
class Mdev:
    """A mediated device: defined (persistent), active, or both."""

    uuid: str
    type_id: str
    parent: str  # the parent's node device name
    parent_addr: str
    attrs: list[tuple[str, str]] = field(default_factory=list)
    persistent: bool = False
    active: bool = False
    autostart: bool = False
    iommu_group: int = 0
    sysfs_parent: str = ""  # the parent's sysfs path (the device's path is under it)

    @property
    def name(self) -> str:
        """mdevGenerateDeviceName: ``mdev_<uuid>_<parent address>``, non-alnum → ``_``."""
        return re.sub(r"[^0-9A-Za-z]", "_", f"mdev_{self.uuid}_{self.parent_addr}")

    @property
    def caps(self) -> list[str]:
        return ["mdev"]

    def has_cap(self, cap: str) -> bool:
        return cap == "mdev"

    def format(self) -> str:
        out = f"<device>\n  <name>{self.name}</name>\n"
        if self.active and self.sysfs_parent:
            out += f"  <path>{self.sysfs_parent}/{self.uuid}</path>\n"
        out += (
            f"  <parent>{self.parent}</parent>\n"
            "  <driver>\n    <name>vfio_mdev</name>\n  </driver>\n"
            "  <capability type='mdev'>\n"
            f"    <type id='{_esc(self.type_id)}'/>\n"
            f"    <uuid>{self.uuid}</uuid>\n"
            f"    <parent_addr>{self.parent_addr}</parent_addr>\n"
            f"    <iommuGroup number='{self.iommu_group if self.active else 0}'/>\n"
        )
        out += "".join(f"    <attr name='{n}' value='{v}'/>\n" for n, v in self.attrs)
        return out + "  </capability>\n</device>\n"

    def handle(self) -> Dev:
        return Dev(self.name)

    def config(self) -> dict[str, Any]:
        """mdevctl's JSON for the device (nodeDeviceDefToMdevctlConfig)."""
        out: dict[str, Any] = {
            "mdev_type": self.type_id,
            "start": "auto" if self.autostart else "manual",
        }
        if self.attrs:
            out["attrs"] = [{n: v} for n, v in self.attrs]
        return out


def _esc(text: str) -> str:
    """virBufferEscapeString for attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("'", "&apos;").replace('"', "&quot;")
    )  # fmt: skip


@dataclass
class MdevRequest:
    """What virNodeDeviceDefParse keeps of a document with a <capability type='mdev'>."""

    caps: list[str]
    parent: str | None
    type_id: str = ""
    uuid: str | None = None
    attrs: list[tuple[str, str]] = field(default_factory=list)


def _xpath_string(elem: ET.Element, path: str) -> str | None:
    found = elem.find(path)
    if found is None:
        return None
    return "".join(found.itertext())


def parse_mdev_request(root: ET.Element) -> MdevRequest:
    """virNodeDeviceDefParseXML (CREATE_DEVICE) for what the mdev calls need: the parent,
    the capability types in order, and the mdev capability (its errors, libvirt's texts)."""
    name = "new device"
    parent = _xpath_string(root, "parent")
    elem = root.find("parent")
    if elem is not None:
        wwnn, wwpn = elem.get("wwnn"), elem.get("wwpn")
        if wwnn is not None and wwpn is None:
            raise nodedev_error(
                ErrorCode.XML_ERROR,
                f"when providing parent wwnn='{wwnn}', the wwpn must also be provided",
            )
        if wwnn is None and wwpn is not None:
            raise nodedev_error(
                ErrorCode.XML_ERROR,
                f"when providing parent wwpn='{wwpn}', the wwnn must also be provided",
            )
    capabilities = root.findall("capability")
    if not capabilities:
        raise nodedev_error(ErrorCode.INTERNAL_ERROR, f"no device capabilities for '{name}'")
    req = MdevRequest(caps=[], parent=parent or None)
    for cap in capabilities:
        kind = cap.get("type")
        if kind is None:
            raise nodedev_error(
                ErrorCode.XML_ERROR, "Missing required attribute 'type' in element 'capability'"
            )
        if kind not in CAP_TYPES:
            raise nodedev_error(
                ErrorCode.XML_ERROR,
                f"Invalid value for attribute 'type' in element 'capability': '{kind}'.",
            )
        req.caps.append(kind)
        if kind == "mdev":
            _parse_mdev_cap(cap, name, req)
    return req


def _parse_mdev_cap(cap: ET.Element, name: str, req: MdevRequest) -> None:
    """virNodeDevCapMdevParseXML."""
    type_elem = cap.find("type")
    type_id = type_elem.get("id") if type_elem is not None else None
    if not type_id:
        raise nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, f"missing type id attribute for '{name}'")
    req.type_id = type_id
    text = _xpath_string(cap, "uuid")
    if text:
        uuid = parse_uuid(text)
        if uuid is None:
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR, f"Invalid uuid '{text}' for new mdev device"
            )
        req.uuid = uuid
    group = cap.find("iommuGroup")
    number = group.get("number") if group is not None else None
    if number is not None and not re.fullmatch(r"\s*\+?\d+\s*", number):
        raise nodedev_error(
            ErrorCode.INTERNAL_ERROR, f"invalid iommuGroup number attribute for '{name}'"
        )
    for attr in cap.findall("attr"):
        attr_name, value = attr.get("name"), attr.get("value")
        if attr_name and value is not None:  # a bad <attr/> is reported but not fatal
            req.attrs.append((attr_name, value))


class MdevStore:
    """mdevctl's configuration directory: ``<parent address>/<uuid>`` JSON per definition."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, mdev: Mdev) -> Path:
        return self.directory / mdev.parent_addr / mdev.uuid

    def save(self, mdev: Mdev) -> None:
        persistence.atomic_write(self.path_for(mdev), json.dumps(mdev.config(), indent=2) + "\n")

    def delete(self, mdev: Mdev) -> None:
        persistence.remove(self.path_for(mdev))

    def load_all(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(parent address, uuid, config) of every readable definition."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        if not self.directory.is_dir():
            return out
        for parent_dir in sorted(self.directory.iterdir()):
            if parent_dir.is_symlink() or not parent_dir.is_dir():
                continue
            for entry in sorted(parent_dir.iterdir()):
                if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    entry.unlink(missing_ok=True)  # a write cut short by a crash
                    continue
                uuid = parse_uuid(entry.name)
                if uuid is None or entry.is_symlink() or not entry.is_file():
                    log.warning("skipping %s: not an mdev definition", entry)
                    continue
                try:
                    config = json.loads(entry.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    log.warning("skipping %s: %s", entry, exc)
                    continue
                if not isinstance(config, dict) or not isinstance(config.get("mdev_type"), str):
                    log.warning("skipping %s: no mdev_type", entry)
                    continue
                out.append((parent_dir.name, uuid, config))
        return out


def _config_attrs(config: dict[str, Any]) -> list[tuple[str, str]]:
    attrs = config.get("attrs")
    out: list[tuple[str, str]] = []
    if isinstance(attrs, list):
        for attr in attrs:
            if isinstance(attr, dict) and len(attr) == 1:
                ((key, value),) = attr.items()
                out.append((str(key), str(value)))
    return out


class QemuMdevs:
    """The mdev half of the QEMU hosts' node device driver (composed into QemuNodeDevices).

    ``self.devices`` holds the host's udev devices and the mediated devices together; a
    parent is a host device with ``mdev_types`` (``qemu_nodedevs.MdevParent``).
    """

    devices: dict[str, Any]
    domains: dict[bytes, Any]
    emit: Any
    mdev_store: MdevStore

    # -- start-up --------------------------------------------------------------------------

    def init_qemu_mdevs(self, state_dir: Path) -> None:
        self.mdev_store = MdevStore(state_dir / MDEVCTL_DIR)
        for addr, uuid, config in self.mdev_store.load_all():
            parent = self._device_at(addr)
            mdev = Mdev(
                uuid=uuid,
                type_id=config["mdev_type"],
                parent=parent.name if parent is not None else "computer",
                parent_addr=addr,
                attrs=_config_attrs(config),
                persistent=True,
                autostart=config.get("start") == "auto",
                sysfs_parent=getattr(parent, "path", ""),
            )
            if mdev.name in self.devices:
                continue
            self.devices[mdev.name] = mdev
            if mdev.autostart and self._mdevctl_start_error(mdev) is None:
                self._activate(mdev)  # mdevctl's udev rule, at boot: no client listens yet

    def _device_at(self, addr: str) -> Any:
        """matchDeviceAddress: the device whose address (PCI, …) is ``addr``."""
        for dev in self.devices.values():
            if getattr(dev, "address", None) == addr:
                return dev
        return None

    # -- helpers ---------------------------------------------------------------------------

    def _mdevs(self) -> list[Mdev]:
        return [d for d in self.devices.values() if isinstance(d, Mdev)]

    def _mdev_by_uuid(self, uuid: str) -> Mdev | None:
        for mdev in self._mdevs():
            if mdev.uuid == uuid:
                return mdev
        return None

    def _nodedev_event(self, name: str, event: int) -> None:
        self.emit(ev.NodeDeviceLifecycleEvent(ev.NodeDeviceRef(name), event, 0))

    def _nodedev_update(self, name: str) -> None:
        self.emit(ev.NodeDeviceUpdateEvent(ev.NodeDeviceRef(name)))

    def resolve_mdev_parent(self, req: MdevRequest) -> tuple[Any, str]:
        """nodeDeviceDefPostParse + nodeDeviceDefValidateMdev: the parent and its address."""
        if not req.parent:
            raise nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, "missing parent device")
        parent = self.devices.get(req.parent)
        if parent is None:
            raise nodedev_error(
                ErrorCode.CONFIG_UNSUPPORTED, f"invalid parent device '{req.parent}'"
            )
        addr = getattr(parent, "address", None)
        if not addr:
            raise nodedev_error(
                ErrorCode.PARSE_FAILED,
                f"Unable to find address for parent device '{req.parent}'",
            )
        return parent, addr

    def _mdevctl_start_error(self, mdev: Mdev) -> str | None:
        """What ``mdevctl start`` refuses: an unknown parent, type or no instance left."""
        if any(m.active and m.uuid == mdev.uuid for m in self._mdevs()):
            return f"Device {mdev.uuid} already exists"
        parent = self._device_at(mdev.parent_addr)
        types = getattr(parent, "mdev_types", None)
        if not types:
            return f"Parent {mdev.parent_addr} is not currently registered for mdev support"
        mtype = next((t for t in types if t.id == mdev.type_id), None)
        if mtype is None:
            return f"Parent {mdev.parent_addr} does not support mdev type {mdev.type_id}"
        if self.available_instances(mdev.parent_addr, mtype) <= 0:
            return f"No available instances of {mdev.type_id} on {mdev.parent_addr}"
        return None

    def available_instances(self, addr: str, mtype: MdevType) -> int:
        used = sum(
            1 for m in self._mdevs() if m.active and m.parent_addr == addr and m.type_id == mtype.id
        )
        return mtype.max_instances - used

    def _activate(self, mdev: Mdev) -> None:
        taken = {m.iommu_group for m in self._mdevs() if m.active}
        group = FIRST_MDEV_IOMMU_GROUP
        while group in taken:
            group += 1
        mdev.iommu_group = group
        mdev.active = True

    def _in_use(self, mdev: Mdev) -> bool:
        """Whether a running domain holds the device (its vfio group cannot be opened)."""
        for obj in self.domains.values():
            if obj.live is None:
                continue
            tree = obj.live.tree
            for hostdev in tree.iter("hostdev"):
                if hostdev.get("type") != "mdev":
                    continue
                addr = hostdev.find("source/address")
                if addr is not None and parse_uuid(addr.get("uuid") or "") == mdev.uuid:
                    return True
        return False

    # -- the calls -------------------------------------------------------------------------

    def mdev_create_xml(self, req: MdevRequest) -> Dev:
        """nodeDeviceCreateXMLMdev: ``mdevctl start`` of a transient device, then udev's add."""
        parent, addr = self.resolve_mdev_parent(req)
        mdev = Mdev(
            uuid=req.uuid or str(uuidlib.uuid4()),
            type_id=req.type_id,
            parent=parent.name,
            parent_addr=addr,
            attrs=list(req.attrs),
            sysfs_parent=getattr(parent, "path", ""),
        )
        refusal = self._mdevctl_start_error(mdev)
        if refusal is not None:
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR, f"Unable to start mediated device: {refusal}"
            )
        existing = self.devices.get(mdev.name)
        if isinstance(existing, Mdev):  # a defined device started with a new configuration
            existing.type_id, existing.attrs = mdev.type_id, mdev.attrs
            mdev = existing
        self._activate(mdev)
        self.devices[mdev.name] = mdev
        self._nodedev_event(mdev.name, CREATED)
        return mdev.handle()

    def node_device_define_xml(self, xml_desc: str, flags: int) -> Dev:
        """nodeDeviceDefineXML: ``mdevctl define``, then the provisional device (DEFINED)."""
        check_nodedev_flags(flags, 1, "nodeDeviceDefineXML")  # ..._DEFINE_XML_VALIDATE
        req = parse_mdev_request(parse_device_document(xml_desc))
        if "mdev" not in req.caps:
            raise nodedev_error(ErrorCode.CONFIG_UNSUPPORTED, "Unsupported device type")
        parent, addr = self.resolve_mdev_parent(req)  # the parser's validation
        uuid = req.uuid or str(uuidlib.uuid4())
        existing = self._mdev_by_uuid(uuid)
        if existing is not None and existing.persistent:
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR,
                "Unable to define mediated device: "
                f"Device {uuid} on {existing.parent_addr} already defined",
            )
        mdev = Mdev(
            uuid=uuid,
            type_id=req.type_id,
            parent=parent.name,
            parent_addr=addr,
            attrs=list(req.attrs),
            persistent=True,
            sysfs_parent=getattr(parent, "path", ""),
        )
        self._mdevctl_write(mdev, "Unable to define mediated device")
        active = self.devices.get(mdev.name)
        if isinstance(active, Mdev):  # the running transient device becomes persistent
            active.type_id, active.attrs, active.persistent = mdev.type_id, mdev.attrs, True
            active.autostart = False
            mdev = active
        self.devices[mdev.name] = mdev
        self._nodedev_event(mdev.name, DEFINED)
        return mdev.handle()

    def mdev_undefine(self, mdev: Mdev) -> None:
        """``mdevctl undefine``; the file monitor's update marks it UNDEFINED."""
        try:
            self.mdev_store.delete(mdev)
        except OSError as exc:
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR,
                f"Unable to undefine mediated device: {exc.strerror or exc}",
            ) from None
        mdev.persistent = mdev.autostart = False
        if not mdev.active:
            del self.devices[mdev.name]
        self._nodedev_event(mdev.name, UNDEFINED)

    def mdev_start(self, mdev: Mdev) -> None:
        """nodeDeviceCreate: ``mdevctl start --uuid``, then udev's add (CREATED)."""
        refusal = self._mdevctl_start_error(mdev)
        if refusal is not None:
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR, f"Unable to create mediated device: {refusal}"
            )
        self._activate(mdev)
        self._nodedev_event(mdev.name, CREATED)

    def mdev_destroy(self, mdev: Mdev) -> None:
        """nodeDeviceDestroy of an mdev: ``mdevctl stop``, then udev's remove (DELETED)."""
        if not mdev.active:
            raise nodedev_error(ErrorCode.OPERATION_INVALID, f"Device '{mdev.name}' is not active")
        if self._in_use(mdev):
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR, f"Unable to destroy '{mdev.name}': device in use"
            )
        mdev.active = False
        if not mdev.persistent:
            del self.devices[mdev.name]
        self._nodedev_event(mdev.name, DELETED)

    def mdev_set_autostart(self, mdev: Mdev, autostart: bool) -> None:
        """``mdevctl modify --auto|--manual``: the changed file is an UPDATE."""
        if not mdev.persistent:
            raise nodedev_error(
                ErrorCode.OPERATION_INVALID, "cannot set autostart for transient device"
            )
        if autostart == mdev.autostart:
            return
        changed = dataclasses.replace(mdev, autostart=autostart)
        self._mdevctl_write(changed, f"Unable to set autostart on '{mdev.name}'")
        mdev.autostart = autostart
        self._nodedev_update(mdev.name)

    def _mdevctl_write(self, mdev: Mdev, what: str) -> None:
        """mdevctl's write of the definition; a failure is libvirt's error with its text."""
        try:
            self.mdev_store.save(mdev)
        except OSError as exc:
            raise nodedev_error(
                ErrorCode.INTERNAL_ERROR, f"{what}: {exc.strerror or exc}"
            ) from None
