"""Storage pools and volumes of ``test:///default``, as libvirt 9.0's test driver keeps them.

Pools and volumes are plain Python models; their XML is rendered from the model in the
layout of libvirt's ``virStoragePoolDefFormat`` / ``virStorageVolDefFormat``, and client XML
is parsed with defusedxml following ``virStoragePoolDefParseXML`` /
``virStorageVolDefParseXML`` (same checks, same texts, domain STORAGE).

:class:`StorageMixin` gives a host libvirt's test-driver storage table (``testStorageDriver``):
it has no wipe, resize, upload, download, info-flags, lookup-by-target-path or pool
capabilities, so those answer NO_SUPPORT exactly as libvirtd's test driver does. Every
pool transition queues the event the test driver queues (pool DEFINED / UNDEFINED / STARTED /
STOPPED / CREATED (build) / DELETED, REFRESH) on the host's ``EventState``.
"""

from __future__ import annotations

import copy
import re
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_types import StoragePoolEventLifecycleType as PoolEvent
from virtwire.protocol.generated.remote_protocol import (
    RemoteNonnullStoragePool as PoolHandle,
)
from virtwire.protocol.generated.remote_protocol import (
    RemoteNonnullStorageVol as VolHandle,
)
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.xmllimits import ULLONG_MAX

DEFAULT_POOL_UUID = "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"
DEFAULT_POOL_XML = f"""<pool type='dir'>
  <name>default-pool</name>
  <uuid>{DEFAULT_POOL_UUID}</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>"""
DEFAULT_POOL_CAP = 100 * 1024 * 1024 * 1024  # defaultPoolCap
DEFAULT_POOL_ALLOC = 0

# testConnectFindStoragePoolSources' canned answers
SOURCES_LOGICAL_XML = """<sources>
  <source>
    <device path='/dev/sda20'/>
    <name>testvg1</name>
    <format type='lvm2'/>
  </source>
  <source>
    <device path='/dev/sda21'/>
    <name>testvg2</name>
    <format type='lvm2'/>
  </source>
</sources>
"""
SOURCES_NETFS_XML = """<sources>
  <source>
    <host name='{host}'/>
    <dir path='/testshare'/>
    <format type='nfs'/>
  </source>
</sources>
"""

REMOTE_STORAGE_POOL_LIST_MAX = 16384
REMOTE_STORAGE_VOL_LIST_MAX = 16384

# virStoragePoolType, in enum order (virStoragePoolTypeFromString's index)
POOL_TYPES = (
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "iscsi-direct",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
)
VOL_TYPES = ("file", "block", "dir", "network", "netdir", "ploop")
VOL_FILE, VOL_BLOCK, VOL_NETWORK = 0, 1, 3

# VIR_STORAGE_POOL_SOURCE_* flags
HOST, DEVICE, DIR, ADAPTER, NAME, IQN, NETWORK = (1 << i for i in range(7))

FILE_FORMATS = (
    "none",
    "raw",
    "dir",
    "bochs",
    "cloop",
    "dmg",
    "iso",
    "vpc",
    "vdi",
    "fat",
    "vhd",
    "ploop",
    "cow",
    "qcow",
    "qcow2",
    "qed",
    "vmdk",
)
DISK_VOL_FORMATS = (
    "none",
    "linux",
    "fat16",
    "fat32",
    "linux-swap",
    "linux-lvm",
    "linux-raid",
    "extended",
)
FS_FORMATS = (
    "auto",
    "ext2",
    "ext3",
    "ext4",
    "ufs",
    "iso9660",
    "udf",
    "gfs",
    "gfs2",
    "vfat",
    "hfs+",
    "xfs",
    "ocfs2",
    "vmfs",
)
NETFS_FORMATS = ("auto", "nfs", "glusterfs", "cifs")
DISK_FORMATS = ("unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2")
LOGICAL_FORMATS = ("unknown", "lvm2")


@dataclass(frozen=True)
class PoolOptions:
    """One row of storage_conf.c's poolTypeInfo."""

    flags: int = 0
    formats: tuple[str, ...] | None = None  # pool source formats
    default_format: str | None = None
    vol_formats: tuple[str, ...] | None = None  # None: volumes have no <format>
    vol_default: str | None = None
    vol_none_ok: bool = False  # disk pools accept "none"; file formats refuse it


_FILE_VOLS = {"vol_formats": FILE_FORMATS, "vol_default": "raw"}
POOL_OPTIONS: dict[str, PoolOptions] = {
    "logical": PoolOptions(NAME | DEVICE, LOGICAL_FORMATS, "lvm2"),
    "dir": PoolOptions(**_FILE_VOLS),
    "fs": PoolOptions(DEVICE, FS_FORMATS, "auto", **_FILE_VOLS),
    "netfs": PoolOptions(HOST | DIR, NETFS_FORMATS, "auto", **_FILE_VOLS),
    "iscsi": PoolOptions(HOST | DEVICE | IQN),
    "iscsi-direct": PoolOptions(HOST | DEVICE | NETWORK | IQN),
    "scsi": PoolOptions(ADAPTER),
    "rbd": PoolOptions(HOST | NETWORK | NAME, **_FILE_VOLS),
    "sheepdog": PoolOptions(HOST | NETWORK | NAME),
    "gluster": PoolOptions(HOST | NETWORK | NAME | DIR, **_FILE_VOLS),
    "mpath": PoolOptions(),
    "disk": PoolOptions(
        DEVICE, DISK_FORMATS, "unknown", DISK_VOL_FORMATS, "none", vol_none_ok=True
    ),
    "zfs": PoolOptions(NAME | DEVICE),
    "vstorage": PoolOptions(NAME, **_FILE_VOLS),
}

# testStorageVolumeTypeForPool
_VOL_TYPE_FOR_POOL = {
    **dict.fromkeys(("dir", "fs", "netfs", "vstorage"), VOL_FILE),
    **dict.fromkeys(("sheepdog", "iscsi-direct", "gluster", "rbd"), VOL_NETWORK),
    **dict.fromkeys(("logical", "disk", "mpath", "iscsi", "scsi", "zfs"), VOL_BLOCK),
}

# virScaleInteger's suffixes
_SCALE = {"": 1, "b": 1, "byte": 1, "bytes": 1}
for _i, _p in enumerate("kmgtpe", start=1):
    _SCALE[_p] = _SCALE[f"{_p}ib"] = 1024**_i
    _SCALE[f"{_p}b"] = 1000**_i
LLONG_MAX = 2**63 - 1


def _err(code: ErrorCode, detail: str | None = None) -> LibvirtError:
    """An error of libvirt's storage config layer (storage_conf.c, virstorageobj.c)."""
    return LibvirtError.make(code, ErrorDomain.STORAGE, detail)


def _xml_err(detail: str) -> LibvirtError:
    return _err(ErrorCode.XML_ERROR, detail)


# -- models ----------------------------------------------------------------------------


@dataclass
class Perms:
    """virStoragePerms; ``None`` is libvirt's -1 (absent)."""

    mode: int | None = None
    owner: int | None = None
    group: int | None = None
    label: str | None = None

    def present(self) -> bool:
        return any(v is not None for v in (self.mode, self.owner, self.group, self.label))


@dataclass
class PoolSource:
    hosts: list[tuple[str, int]] = field(default_factory=list)
    devices: list[tuple[str, str | None]] = field(default_factory=list)
    dir: str | None = None
    name: str | None = None
    format: str | None = None
    adapter: ET.Element | None = None
    initiator_iqn: str | None = None
    auth: ET.Element | None = None
    protocol_ver: str | None = None
    vendor: str | None = None
    product: str | None = None


@dataclass
class PoolDef:
    type: str
    name: str
    uuid: bytes
    source: PoolSource = field(default_factory=PoolSource)
    target_path: str | None = None
    target_perms: Perms = field(default_factory=Perms)
    cow: str | None = None
    refresh_allocation: str | None = None
    capacity: int = DEFAULT_POOL_CAP
    allocation: int = DEFAULT_POOL_ALLOC
    available: int = DEFAULT_POOL_CAP - DEFAULT_POOL_ALLOC

    @property
    def options(self) -> PoolOptions:
        return POOL_OPTIONS[self.type]


@dataclass
class VolTarget:
    path: str | None = None
    format: str | None = None
    perms: Perms = field(default_factory=Perms)
    encryption: ET.Element | None = None
    compat: str | None = None
    cluster_size: int = 0
    features: list[str] | None = None


@dataclass
class VolDef:
    name: str
    key: str | None = None
    type: str = "file"
    capacity: int = 0
    allocation: int = 0
    target: VolTarget = field(default_factory=VolTarget)
    backing: VolTarget | None = None


@dataclass
class PoolObj:
    """virStoragePoolObj: the definition, its state and its volumes (in creation order)."""

    config: PoolDef
    active: bool = False
    persistent: bool = True  # the test driver's "config file" ("" for persistent pools)
    autostart: bool = False
    volumes: list[VolDef] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def uuid(self) -> bytes:
        return self.config.uuid

    def handle(self) -> PoolHandle:
        return PoolHandle(name=self.name, uuid=self.uuid)

    def ref(self) -> ev.StoragePoolRef:
        return ev.StoragePoolRef(self.name, self.uuid)

    def vol(self, name: str) -> VolDef | None:
        return next((v for v in self.volumes if v.name == name), None)

    def vol_handle(self, vol: VolDef) -> VolHandle:
        return VolHandle(pool=self.name, name=vol.name, key=vol.key or "")


# -- parsing ---------------------------------------------------------------------------


def _parse_root(text: str, root: str, what: str) -> ET.Element:
    try:
        elem = domxml.parse_document(text, what)
    except LibvirtError as exc:
        raise LibvirtError(
            exc.code, ErrorDomain.STORAGE, exc.message, str1=exc.str1, str2=exc.str2
        ) from None
    if elem.tag != root:
        raise _xml_err(f"expecting root element of '{root}', not '{elem.tag}'")
    return elem


def _text(elem: ET.Element, path: str) -> str | None:
    """XPath ``string(path)``: the text of the first match, None when absent."""
    found = elem.find(path)
    if found is None:
        return None
    return "".join(found.itertext())


def parse_uuid(text: str) -> bytes:
    """virUUIDParse: 32 hex digits, dashes anywhere, surrounding blanks allowed."""
    digits = re.sub(r"-", "", text.strip())
    if not re.fullmatch(r"[0-9a-fA-F]{32}", digits):
        raise _xml_err("malformed uuid element")
    return bytes.fromhex(digits)


def sanitize_path(path: str) -> str:
    """virFileSanitizePath: collapse repeated slashes, drop a trailing one."""
    out = re.sub(r"/+", "/", path)
    if len(out) > 1 and out.endswith("/"):
        out = out[:-1]
    return out


def _parse_perms(elem: ET.Element | None) -> Perms:
    perms = Perms()
    if elem is None:
        return perms
    mode = _text(elem, "mode")
    if mode is not None:
        try:
            value = int(mode.strip(), 8)
        except ValueError:
            value = -1
        if value < 0 or value & ~0o777:
            raise _xml_err("malformed octal mode")
        perms.mode = value
    for tag in ("owner", "group"):
        raw = _text(elem, tag)
        if raw is None:
            continue
        try:
            value = int(raw.strip())
        except ValueError:
            raise _xml_err(f"malformed {tag} element") from None
        if not (-1 <= value < 2**32):
            raise _xml_err(f"malformed {tag} element")
        setattr(perms, tag, None if value == -1 else value)
    perms.label = _text(elem, "label")
    return perms


def parse_pool_source(elem: ET.Element, pool_type: str) -> PoolSource:
    """virStoragePoolDefParseSource."""
    options = POOL_OPTIONS[pool_type]
    src = PoolSource()
    src.name = _text(elem, "name")
    if pool_type == "rbd" and src.name is None:
        raise _xml_err("element 'name' is mandatory for RBD pool")
    if options.formats is not None:
        fmt = elem.find("format")
        value = fmt.get("type") if fmt is not None else None
        if value is None:
            src.format = options.default_format
        elif value in options.formats:
            src.format = value
        else:
            raise _err(ErrorCode.CONFIG_UNSUPPORTED, f"unknown pool format type {value}")
    for host in elem.findall("host"):
        name = host.get("name")
        if name is None:
            raise _xml_err("missing storage pool host name")
        port = host.get("port")
        src.hosts.append((name, int(port) if port and port.strip().lstrip("-").isdigit() else 0))
    initiator = elem.find("initiator/iqn")
    if initiator is not None:
        src.initiator_iqn = initiator.get("name")
    for dev in elem.findall("device"):
        path = dev.get("path")
        if path is None:
            raise _xml_err("missing storage pool source device path")
        src.devices.append((path, dev.get("part_separator")))
    sourcedir = elem.find("dir")
    if sourcedir is not None and sourcedir.get("path") is not None:
        src.dir = sanitize_path(sourcedir.get("path") or "")
    if src.dir is None and pool_type == "gluster":
        src.dir = "/"
    src.adapter = elem.find("adapter")
    src.auth = elem.find("auth")
    proto = elem.find("protocol")
    if proto is not None and proto.get("ver") is not None:
        src.protocol_ver = proto.get("ver")
    for attr in ("vendor", "product"):
        node = elem.find(attr)
        if node is not None:
            setattr(src, attr, node.get("name"))
    return src


def parse_pool(text: str) -> PoolDef:
    """virStoragePoolDefParseXML (errors in domain STORAGE, libvirt's texts)."""
    root = _parse_root(text, "pool", "storage_pool_definition")
    pool_type = root.get("type")
    if pool_type is None:
        raise _xml_err("Missing required attribute 'type' in element 'pool'")
    if pool_type not in POOL_OPTIONS:
        raise _xml_err(f"Invalid value for attribute 'type' in element 'pool': '{pool_type}'.")
    options = POOL_OPTIONS[pool_type]
    source_elem = root.find("source")
    if source_elem is not None:
        source = parse_pool_source(source_elem, pool_type)
    else:
        source = PoolSource(format=options.default_format)
    name = _text(root, "name")
    if name is None and options.flags & NAME:
        name = source.name
    if name is None:
        raise _xml_err("missing pool source name element")
    if "/" in name:
        raise _xml_err(f"name {name} cannot contain '/'")
    raw_uuid = _text(root, "uuid")
    uuid = uuidlib.uuid4().bytes if raw_uuid is None else parse_uuid(raw_uuid)
    pool = PoolDef(type=pool_type, name=name, uuid=uuid, source=source)
    cow = root.find("features/cow")
    if cow is not None and cow.get("state") is not None:
        state = cow.get("state")
        if state not in ("yes", "no"):
            raise _xml_err(f"Invalid value for attribute 'state' in element 'cow': '{state}'.")
        if pool_type not in ("fs", "dir"):
            raise _err(
                ErrorCode.NO_SUPPORT, "cow feature may only be used for 'fs' and 'dir' pools"
            )
        pool.cow = state
    if options.flags & HOST and not source.hosts:
        raise _xml_err("missing storage pool source host name")
    if options.flags & DIR and not source.dir:
        raise _xml_err("missing storage pool source path")
    if options.flags & NAME and source.name is None:
        source.name = name
    if options.flags == DEVICE and not source.devices:
        raise _xml_err("missing storage pool source device name")
    if not options.flags & NETWORK:
        if pool_type == "logical":
            target = f"/dev/{source.name}"
        elif pool_type == "zfs":
            target = f"/dev/zvol/{source.name}"
        else:
            target = _text(root, "target/path")
            if target is None:
                raise _xml_err("missing storage pool target path")
        pool.target_path = sanitize_path(target)
        pool.target_perms = _parse_perms(root.find("target/permissions"))
    if pool_type == "iscsi-direct" and not source.initiator_iqn:
        raise _err(ErrorCode.CONFIG_UNSUPPORTED, "missing initiator IQN")
    refresh = root.find("refresh/volume")
    if refresh is not None and refresh.get("allocation") is not None:
        value = refresh.get("allocation")
        if value not in ("default", "capacity"):
            raise _err(
                ErrorCode.CONFIG_UNSUPPORTED,
                f"unknown storage pool volume refresh allocation type {value}",
            )
        pool.refresh_allocation = value
    return pool


def parse_size(value: str, unit: str | None) -> int:
    """virStorageSize: a decimal count scaled by ``unit`` (virScaleInteger)."""
    if not re.fullmatch(r"\s*\+?\d+", value) or int(value) > ULLONG_MAX:
        raise _xml_err("malformed capacity element")  # virStrToLong_ullp failed
    number = int(value)
    scale = _SCALE.get((unit or "").lower())
    # virScaleInteger's errors are reported from util/ (domain NONE), as libvirtd sends them
    if scale is None:
        raise LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.NONE, f"unknown suffix '{unit}'")
    if number > LLONG_MAX // scale:
        raise LibvirtError.make(
            ErrorCode.OVERFLOW, ErrorDomain.NONE, f"value too large: {number}{unit or ''}"
        )
    return number * scale


def _parse_vol_format(options: PoolOptions, value: str | None) -> str | None:
    if options.vol_formats is None:
        return None
    if value is None:
        return options.vol_default
    if value in options.vol_formats and (value != "none" or options.vol_none_ok):
        return value
    raise _err(ErrorCode.CONFIG_UNSUPPORTED, f"unknown volume format type {value}")


def parse_volume(pool: PoolDef, text: str) -> VolDef:
    """virStorageVolDefParseXML with flags 0 (what the test driver passes)."""
    root = _parse_root(text, "volume", "storage_volume_definition")
    options = pool.options
    name = _text(root, "name")
    if name is None:
        raise _xml_err("missing volume name element")
    vol = VolDef(name=name, key=_text(root, "key"))
    vol_type = root.get("type")
    if vol_type is not None:
        if vol_type not in VOL_TYPES:
            raise _err(ErrorCode.CONFIG_UNSUPPORTED, f"unknown volume type '{vol_type}'")
        vol.type = vol_type
    backing_path = _text(root, "backingStore/path")
    if backing_path:
        fmt = root.find("backingStore/format")
        vol.backing = VolTarget(
            path=backing_path,
            format=_parse_vol_format(options, fmt.get("type") if fmt is not None else None),
            perms=_parse_perms(root.find("backingStore/permissions")),
        )
    capacity = _text(root, "capacity")
    cap_elem = root.find("capacity")
    if capacity is None:
        raise _xml_err("missing capacity element")
    vol.capacity = parse_size(capacity, cap_elem.get("unit") if cap_elem is not None else None)
    allocation = _text(root, "allocation")
    if allocation is not None:
        alloc_elem = root.find("allocation")
        vol.allocation = parse_size(
            allocation, alloc_elem.get("unit") if alloc_elem is not None else None
        )
    else:
        vol.allocation = vol.capacity
    target = vol.target
    target.path = _text(root, "target/path")
    fmt = root.find("target/format")
    target.format = _parse_vol_format(options, fmt.get("type") if fmt is not None else None)
    target.perms = _parse_perms(root.find("target/permissions"))
    target.encryption = root.find("target/encryption")
    target.compat = _text(root, "target/compat")
    if target.compat is not None and not re.fullmatch(r"\d+\.\d+.*", target.compat):
        raise _xml_err("forbidden characters in 'compat' attribute")
    cluster = root.find("target/clusterSize")
    if cluster is not None:
        target.cluster_size = parse_size("".join(cluster.itertext()), cluster.get("unit"))
    features = root.find("target/features")
    if features is not None:
        if target.compat is None:
            target.compat = "1.1"
        target.features = []
        for feat in features:
            if feat.tag != "lazy_refcounts":
                raise _err(ErrorCode.CONFIG_UNSUPPORTED, f"unsupported feature {feat.tag}")
            if feat.tag not in target.features:
                target.features.append(feat.tag)
    return vol


# -- formatting ----------------------------------------------------------------------------


def _esc(text: str) -> str:
    """virBufferEscapeString's escaping."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&apos;")
        .replace('"', "&quot;")
    )


def _raw(elem: ET.Element, indent: int) -> list[str]:
    """A client element we keep verbatim (adapter, auth, encryption), re-indented."""
    clone = copy.deepcopy(elem)
    clone.tail = None
    ET.indent(clone, "  ")
    return [" " * indent + line for line in ET.tostring(clone, encoding="unicode").splitlines()]


def _perms_lines(perms: Perms, indent: int) -> list[str]:
    if not perms.present():
        return []
    pad = " " * indent
    out = [f"{pad}<permissions>"]
    if perms.mode is not None:
        out.append(f"{pad}  <mode>0{perms.mode:o}</mode>")
    if perms.owner is not None:
        out.append(f"{pad}  <owner>{perms.owner}</owner>")
    if perms.group is not None:
        out.append(f"{pad}  <group>{perms.group}</group>")
    if perms.label is not None:
        out.append(f"{pad}  <label>{_esc(perms.label)}</label>")
    out.append(f"{pad}</permissions>")
    return out


def format_pool(pool: PoolDef) -> str:
    """virStoragePoolDefFormat."""
    options = pool.options
    src = pool.source
    out = [
        f"<pool type='{pool.type}'>",
        f"  <name>{_esc(pool.name)}</name>",
        f"  <uuid>{domxml.uuid_str(pool.uuid)}</uuid>",
        f"  <capacity unit='bytes'>{pool.capacity}</capacity>",
        f"  <allocation unit='bytes'>{pool.allocation}</allocation>",
        f"  <available unit='bytes'>{pool.available}</available>",
    ]
    if pool.cow is not None:
        out += ["  <features>", f"    <cow state='{pool.cow}'/>", "  </features>"]
    out.append("  <source>")
    if options.flags & HOST:
        for name, port in src.hosts:
            port_attr = f" port='{port}'" if port else ""
            out.append(f"    <host name='{_esc(name)}'{port_attr}/>")
    if options.flags & DEVICE:
        for path, part_sep in src.devices:
            sep = f" part_separator='{part_sep}'" if part_sep else ""
            out.append(f"    <device path='{_esc(path)}'{sep}/>")
    if options.flags & DIR and src.dir is not None:
        out.append(f"    <dir path='{_esc(src.dir)}'/>")
    if options.flags & ADAPTER and src.adapter is not None:
        out += _raw(src.adapter, 4)
    if options.flags & NAME and src.name is not None:
        out.append(f"    <name>{_esc(src.name)}</name>")
    if options.flags & IQN and src.initiator_iqn is not None:
        out += [
            "    <initiator>",
            f"      <iqn name='{_esc(src.initiator_iqn)}'/>",
            "    </initiator>",
        ]
    if options.formats is not None and src.format is not None:
        out.append(f"    <format type='{src.format}'/>")
    if src.auth is not None:
        out += _raw(src.auth, 4)
    for tag, attr, value in (
        ("protocol", "ver", src.protocol_ver),
        ("vendor", "name", src.vendor),
        ("product", "name", src.product),
    ):
        if value is not None:
            out.append(f"    <{tag} {attr}='{_esc(value)}'/>")
    out.append("  </source>")
    if pool.type not in ("rbd", "sheepdog", "gluster", "iscsi-direct"):
        out.append("  <target>")
        if pool.target_path is not None:
            out.append(f"    <path>{_esc(pool.target_path)}</path>")
        out += _perms_lines(pool.target_perms, 4)
        out.append("  </target>")
    if pool.refresh_allocation is not None:
        out += [
            "  <refresh>",
            f"    <volume allocation='{pool.refresh_allocation}'/>",
            "  </refresh>",
        ]
    out.append("</pool>")
    return "\n".join(out) + "\n"


def _target_lines(options: PoolOptions, target: VolTarget, tag: str) -> list[str]:
    out = [f"  <{tag}>"]
    if target.path is not None:
        out.append(f"    <path>{_esc(target.path)}</path>")
    if options.vol_formats is not None and target.format is not None:
        out.append(f"    <format type='{target.format}'/>")
    out += _perms_lines(target.perms, 4)
    if target.encryption is not None:
        out += _raw(target.encryption, 4)
    if target.compat is not None:
        out.append(f"    <compat>{_esc(target.compat)}</compat>")
    if target.cluster_size:
        out.append(f"    <clusterSize unit='B'>{target.cluster_size}</clusterSize>")
    if target.features is not None:
        if not target.features:
            out.append("    <features/>")
        else:
            out += [
                "    <features>",
                *(f"      <{f}/>" for f in target.features),
                "    </features>",
            ]
    out.append(f"  </{tag}>")
    return out


def format_volume(pool: PoolDef, vol: VolDef) -> str:
    """virStorageVolDefFormat (no <source>: the test driver's volumes have no extents)."""
    out = [f"<volume type='{vol.type}'>", f"  <name>{_esc(vol.name)}</name>"]
    if vol.key is not None:
        out.append(f"  <key>{_esc(vol.key)}</key>")
    out += [
        f"  <capacity unit='bytes'>{vol.capacity}</capacity>",
        f"  <allocation unit='bytes'>{vol.allocation}</allocation>",
    ]
    out += _target_lines(pool.options, vol.target, "target")
    if vol.backing is not None:
        out += _target_lines(pool.options, vol.backing, "backingStore")
    out.append("</volume>")
    return "\n".join(out) + "\n"


# -- the test driver's storage table ------------------------------------------------------


class StorageMixin:
    """``testStorageDriver`` for a host that composes it (``TestDriver``).

    Needs ``self.events`` (the host's EventState), ``self.storage_error(code, detail)`` (errors in
    the host's domain, TEST) and ``self.check_flags(flags, allowed, function)``.
    """

    pools: list[PoolObj]

    def storage_error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError:
        """An error of the storage driver; the test driver reports in its own domain."""
        return self.error(code, detail)  # type: ignore[attr-defined]

    def storage_function(self, member: str) -> str:
        """libvirt's C function for a member (``PoolBuild`` -> ``testStoragePoolBuild``)."""
        return f"testStorage{member}"

    def init_storage(self) -> None:
        """testOpenDefault: ``default-pool``, running, persistent, no volumes."""
        self.pools = []
        obj = PoolObj(config=parse_pool(DEFAULT_POOL_XML), active=True)
        self.pools.append(obj)

    def _pool_event(self, obj: PoolObj, event: int) -> None:
        self.events.queue(ev.StoragePoolLifecycleEvent(obj.ref(), int(event), 0))  # type: ignore[attr-defined]

    # lookups (testStoragePoolObjFind*)
    def _pool_by_name(self, name: str) -> PoolObj:
        for obj in self.pools:
            if obj.name == name:
                return obj
        raise self.storage_error(  # type: ignore[attr-defined]
            ErrorCode.NO_STORAGE_POOL, f"no storage pool with matching name '{name}'"
        )

    def _pool_by_uuid(self, uuid: bytes) -> PoolObj:
        for obj in self.pools:
            if obj.uuid == bytes(uuid):
                return obj
        raise self.storage_error(  # type: ignore[attr-defined]
            ErrorCode.NO_STORAGE_POOL,
            f"no storage pool with matching uuid '{domxml.uuid_str(bytes(uuid))}'",
        )

    def _active_pool(self, name: str) -> PoolObj:
        obj = self._pool_by_name(name)
        if not obj.active:
            raise self.storage_error(  # type: ignore[attr-defined]
                ErrorCode.OPERATION_INVALID, f"storage pool '{name}' is not active"
            )
        return obj

    def _inactive_pool(self, name: str) -> PoolObj:
        obj = self._pool_by_name(name)
        if obj.active:
            raise self.storage_error(  # type: ignore[attr-defined]
                ErrorCode.OPERATION_INVALID, f"storage pool '{name}' is active"
            )
        return obj

    def _vol(self, obj: PoolObj, name: str) -> VolDef:
        vol = obj.vol(name)
        if vol is None:
            raise self.storage_error(  # type: ignore[attr-defined]
                ErrorCode.NO_STORAGE_VOL, f"no storage vol with matching name '{name}'"
            )
        return vol

    # -- listing ----------------------------------------------------------------------------

    def connect_num_of_storage_pools(self) -> int:
        return sum(1 for o in self.pools if o.active)

    def connect_list_storage_pools(self, maxnames: int) -> list[str]:
        if maxnames > REMOTE_STORAGE_POOL_LIST_MAX:
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, "maxnames > REMOTE_STORAGE_POOL_LIST_MAX"
            )
        return [o.name for o in self.pools if o.active][: max(maxnames, 0)]

    def connect_num_of_defined_storage_pools(self) -> int:
        return sum(1 for o in self.pools if not o.active)

    def connect_list_defined_storage_pools(self, maxnames: int) -> list[str]:
        if maxnames > REMOTE_STORAGE_POOL_LIST_MAX:
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, "maxnames > REMOTE_STORAGE_POOL_LIST_MAX"
            )
        return [o.name for o in self.pools if not o.active][: max(maxnames, 0)]

    def connect_list_all_storage_pools(
        self, need_results: int, flags: int
    ) -> tuple[list[PoolHandle], int]:
        self.check_flags(flags, 0xFFFFF, "testConnectListAllStoragePools")  # type: ignore[attr-defined]
        found = [o.handle() for o in self.pools if _pool_matches(o, flags)]
        if len(found) > REMOTE_STORAGE_POOL_LIST_MAX:
            raise LibvirtError.make(
                ErrorCode.RPC,
                ErrorDomain.RPC,
                f"Too many storage pools '{len(found)}' for limit '{REMOTE_STORAGE_POOL_LIST_MAX}'",
            )
        return (found if need_results else []), len(found)

    def connect_find_storage_pool_sources(
        self,
        type: str,
        src_spec: str | None,
        flags: int,  # noqa: A002 - libvirt's name
    ) -> str:
        self.check_flags(flags, 0, "testConnectFindStoragePoolSources")  # type: ignore[attr-defined]
        # virStoragePoolTypeFromString: "dir" is 0, which the test driver takes for "unknown"
        index = POOL_TYPES.index(type) if type in POOL_TYPES else -1
        if index == 0:
            raise self.storage_error(ErrorCode.INTERNAL_ERROR, f"unknown storage pool type {type}")  # type: ignore[attr-defined]
        source = None
        if src_spec and index > 0:
            source = parse_pool_source(
                _parse_root(src_spec, "source", "storage_source_specification"), type
            )
        if type == "logical":
            return SOURCES_LOGICAL_XML
        if type == "netfs":
            if source is None or not source.hosts:
                raise self.storage_error(  # type: ignore[attr-defined]
                    ErrorCode.INVALID_ARG, "hostname must be specified for netfs sources"
                )
            return SOURCES_NETFS_XML.format(host=source.hosts[0][0])
        raise self.storage_error(  # type: ignore[attr-defined]
            ErrorCode.NO_SUPPORT, f"pool type '{type}' does not support source discovery"
        )

    # -- lookups --------------------------------------------------------------------------------

    def storage_pool_lookup_by_name(self, name: str) -> PoolHandle:
        return self._pool_by_name(name).handle()

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> PoolHandle:
        return self._pool_by_uuid(uuid).handle()

    def storage_pool_lookup_by_volume(self, vol: VolHandle) -> PoolHandle:
        return self._pool_by_name(vol.pool).handle()

    # -- define / create / lifecycle ----------------------------------------------------------

    def _add_pool(self, pool: PoolDef, *, check_live: bool) -> PoolObj:
        """virStoragePoolObjListAdd's duplicate checks, then add or replace."""
        for other in self.pools:
            if other.uuid == pool.uuid:
                if other.name != pool.name:
                    raise _err(
                        ErrorCode.OPERATION_FAILED,
                        f"pool '{other.name}' is already defined with uuid {domxml.uuid_str(other.uuid)}",
                    )
                if check_live and other.active:
                    raise _err(
                        ErrorCode.OPERATION_INVALID, f"pool '{other.name}' is already active"
                    )
                break
            if other.name == pool.name:
                raise _err(
                    ErrorCode.OPERATION_FAILED,
                    f"pool '{other.name}' already exists with uuid {domxml.uuid_str(other.uuid)}",
                )
        for other in self.pools:
            if other.uuid != pool.uuid and _source_conflict(other.config, pool):
                raise _err(
                    ErrorCode.OPERATION_FAILED, f"Storage source conflict with pool: '{other.name}'"
                )
        existing = next((o for o in self.pools if o.uuid == pool.uuid), None)
        if existing is None:
            existing = PoolObj(config=pool)
            self.pools.append(existing)
        elif not existing.active:
            existing.config = pool
        # an active pool keeps its running definition (the test driver never applies
        # the pending one)
        return existing

    def storage_pool_create_xml(self, xml: str, flags: int) -> PoolHandle:
        self.check_flags(flags, 0, self.storage_function("PoolCreateXML"))  # type: ignore[attr-defined]
        pool = parse_pool(xml)
        obj = self._add_pool(pool, check_live=True)
        obj.config.capacity, obj.config.allocation = DEFAULT_POOL_CAP, DEFAULT_POOL_ALLOC
        obj.config.available = DEFAULT_POOL_CAP - DEFAULT_POOL_ALLOC
        obj.persistent = False  # testStoragePoolCreateXML drops the config file
        obj.active = True
        self._pool_event(obj, PoolEvent.STARTED)
        return obj.handle()

    def storage_pool_define_xml(self, xml: str, flags: int) -> PoolHandle:
        self.check_flags(flags, 1, self.storage_function("PoolDefineXML"))  # type: ignore[attr-defined]  # VALIDATE
        pool = parse_pool(xml)
        obj = self._add_pool(pool, check_live=False)
        self._pool_event(obj, PoolEvent.DEFINED)
        obj.config.capacity, obj.config.allocation = DEFAULT_POOL_CAP, DEFAULT_POOL_ALLOC
        obj.config.available = DEFAULT_POOL_CAP - DEFAULT_POOL_ALLOC
        obj.persistent = True
        return obj.handle()

    def storage_pool_undefine(self, pool: PoolHandle) -> None:
        obj = self._inactive_pool(pool.name)
        self._pool_event(obj, PoolEvent.UNDEFINED)
        self.pools.remove(obj)

    def storage_pool_build(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(flags, 0, self.storage_function("PoolBuild"))  # type: ignore[attr-defined]
        obj = self._inactive_pool(pool.name)
        self._pool_event(obj, PoolEvent.CREATED)

    def storage_pool_create(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(flags, 0, self.storage_function("PoolCreate"))  # type: ignore[attr-defined]
        obj = self._inactive_pool(pool.name)
        obj.active = True
        self._pool_event(obj, PoolEvent.STARTED)

    def storage_pool_destroy(self, pool: PoolHandle) -> None:
        obj = self._active_pool(pool.name)
        obj.active = False
        self._pool_event(obj, PoolEvent.STOPPED)
        if not obj.persistent:
            self.pools.remove(obj)

    def storage_pool_delete(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(flags, 0, self.storage_function("PoolDelete"))  # type: ignore[attr-defined]
        obj = self._inactive_pool(pool.name)
        self._pool_event(obj, PoolEvent.DELETED)

    def storage_pool_refresh(self, pool: PoolHandle, flags: int) -> None:
        self.check_flags(flags, 0, self.storage_function("PoolRefresh"))  # type: ignore[attr-defined]
        obj = self._active_pool(pool.name)
        self.events.queue(ev.StoragePoolRefreshEvent(obj.ref()))  # type: ignore[attr-defined]

    # -- queries --------------------------------------------------------------------------------

    def storage_pool_get_info(self, pool: PoolHandle) -> tuple[int, int, int, int]:
        obj = self._pool_by_name(pool.name)
        cfg = obj.config
        state = 2 if obj.active else 0  # VIR_STORAGE_POOL_RUNNING / _INACTIVE
        return state, cfg.capacity, cfg.allocation, cfg.available

    def storage_pool_get_xml_desc(self, pool: PoolHandle, flags: int) -> str:
        self.check_flags(flags, 0, self.storage_function("PoolGetXMLDesc"))  # type: ignore[attr-defined]
        return format_pool(self._pool_by_name(pool.name).config)

    def storage_pool_get_autostart(self, pool: PoolHandle) -> int:
        obj = self._pool_by_name(pool.name)
        return int(obj.persistent and obj.autostart)

    def storage_pool_set_autostart(self, pool: PoolHandle, autostart: int) -> None:
        obj = self._pool_by_name(pool.name)
        if not obj.persistent:
            raise self.storage_error(ErrorCode.INVALID_ARG, "pool has no config file")  # type: ignore[attr-defined]
        obj.autostart = autostart != 0

    def storage_pool_is_active(self, pool: PoolHandle) -> int:
        return int(self._pool_by_uuid(pool.uuid).active)

    def storage_pool_is_persistent(self, pool: PoolHandle) -> int:
        return int(self._pool_by_uuid(pool.uuid).persistent)

    def storage_pool_num_of_volumes(self, pool: PoolHandle) -> int:
        return len(self._active_pool(pool.name).volumes)

    def storage_pool_list_volumes(self, pool: PoolHandle, maxnames: int) -> list[str]:
        if maxnames > REMOTE_STORAGE_VOL_LIST_MAX:
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, "maxnames > REMOTE_STORAGE_VOL_LIST_MAX"
            )
        obj = self._active_pool(pool.name)
        return [v.name for v in obj.volumes][: max(maxnames, 0)]

    def storage_pool_list_all_volumes(
        self, pool: PoolHandle, need_results: int, flags: int
    ) -> tuple[list[VolHandle], int]:
        self.check_flags(flags, 0, self.storage_function("PoolListAllVolumes"))  # type: ignore[attr-defined]
        obj = self._pool_by_uuid(pool.uuid)
        if not obj.active:
            raise self.storage_error(ErrorCode.OPERATION_INVALID, "storage pool is not active")  # type: ignore[attr-defined]
        vols = [obj.vol_handle(v) for v in obj.volumes]
        if len(vols) > REMOTE_STORAGE_VOL_LIST_MAX:
            raise LibvirtError.make(
                ErrorCode.RPC,
                ErrorDomain.RPC,
                f"Too many storage volumes '{len(vols)}' for limit '{REMOTE_STORAGE_VOL_LIST_MAX}'",
            )
        return (vols if need_results else []), len(vols)

    # -- volumes --------------------------------------------------------------------------------

    def storage_vol_lookup_by_name(self, pool: PoolHandle, name: str) -> VolHandle:
        obj = self._active_pool(pool.name)
        return obj.vol_handle(self._vol(obj, name))

    def _vol_search(self, attr: str, value: str) -> VolHandle:
        for obj in self.pools:
            if not obj.active:
                continue
            for vol in obj.volumes:
                if (vol.key if attr == "key" else vol.target.path) == value:
                    return obj.vol_handle(vol)
        raise self.storage_error(  # type: ignore[attr-defined]
            ErrorCode.NO_STORAGE_VOL, f"no storage vol with matching {attr} '{value}'"
        )

    def storage_vol_lookup_by_key(self, key: str) -> VolHandle:
        return self._vol_search("key", key)

    def storage_vol_lookup_by_path(self, path: str) -> VolHandle:
        return self._vol_search("path", path)

    def _add_volume(self, obj: PoolObj, vol: VolDef) -> VolHandle:
        cfg = obj.config
        if cfg.allocation + vol.allocation > cfg.capacity:
            raise self.storage_error(  # type: ignore[attr-defined]
                ErrorCode.INTERNAL_ERROR, f"Not enough free space in pool for volume '{vol.name}'"
            )
        vol.target.path = f"{cfg.target_path}/{vol.name}"
        vol.key = vol.target.path
        obj.volumes.append(vol)
        cfg.allocation += vol.allocation
        cfg.available = cfg.capacity - cfg.allocation
        return obj.vol_handle(vol)

    def storage_vol_create_xml(self, pool: PoolHandle, xml: str, flags: int) -> VolHandle:
        self.check_flags(flags, 0, self.storage_function("VolCreateXML"))  # type: ignore[attr-defined]
        obj = self._active_pool(pool.name)
        vol = parse_volume(obj.config, xml)
        if obj.vol(vol.name) is not None:
            raise self.storage_error(ErrorCode.OPERATION_FAILED, "storage vol already exists")  # type: ignore[attr-defined]
        return self._add_volume(obj, vol)

    def storage_vol_create_xml_from(
        self, pool: PoolHandle, xml: str, clonevol: VolHandle, flags: int
    ) -> VolHandle:
        self.check_flags(flags, 0, self.storage_function("VolCreateXMLFrom"))  # type: ignore[attr-defined]
        obj = self._active_pool(pool.name)
        vol = parse_volume(obj.config, xml)
        if obj.vol(vol.name) is not None:
            raise self.storage_error(ErrorCode.OPERATION_FAILED, "storage vol already exists")  # type: ignore[attr-defined]
        # the test driver looks the original up in the *target* pool, by name
        if obj.vol(clonevol.name) is None:
            raise self.storage_error(  # type: ignore[attr-defined]
                ErrorCode.NO_STORAGE_VOL, f"no storage vol with matching name '{clonevol.name}'"
            )
        return self._add_volume(obj, vol)

    def storage_vol_delete(self, vol: VolHandle, flags: int) -> None:
        self.check_flags(flags, 0, self.storage_function("VolDelete"))  # type: ignore[attr-defined]
        obj = self._active_pool(vol.pool)
        found = self._vol(obj, vol.name)
        obj.config.allocation -= found.allocation
        obj.config.available = obj.config.capacity - obj.config.allocation
        obj.volumes.remove(found)

    def storage_vol_get_info(self, vol: VolHandle) -> tuple[int, int, int]:
        obj = self._active_pool(vol.pool)
        found = self._vol(obj, vol.name)
        return _VOL_TYPE_FOR_POOL[obj.config.type], found.capacity, found.allocation

    def storage_vol_get_xml_desc(self, vol: VolHandle, flags: int) -> str:
        self.check_flags(flags, 0, self.storage_function("VolGetXMLDesc"))  # type: ignore[attr-defined]
        obj = self._active_pool(vol.pool)
        return format_volume(obj.config, self._vol(obj, vol.name))

    def storage_vol_get_path(self, vol: VolHandle) -> str:
        obj = self._active_pool(vol.pool)
        return self._vol(obj, vol.name).target.path or ""

    # Not in testStorageDriver (NO_SUPPORT, as libvirtd's test driver answers):
    # storage_vol_wipe, storage_vol_wipe_pattern, storage_vol_resize,
    # storage_vol_get_info_flags, storage_vol_upload, storage_vol_download,
    # storage_pool_lookup_by_target_path, connect_get_storage_pool_capabilities.


def _source_conflict(existing: PoolDef, new: PoolDef) -> bool:
    """virStoragePoolObjSourceFindDuplicate, for the pool kinds a simulation meets."""
    if existing.type != new.type:
        return False
    a, b = existing.source, new.source
    same_host = bool(a.hosts and b.hosts and a.hosts[0][0] == b.hosts[0][0])
    same_device = bool({p for p, _ in a.devices} & {p for p, _ in b.devices})
    if new.type == "netfs" and same_host and a.dir == b.dir:
        return True
    if new.type in ("fs", "disk") and same_device:
        return True
    if new.type in ("dir", "fs", "netfs", "mpath", "disk"):
        return existing.target_path is not None and existing.target_path == new.target_path
    if new.type in ("logical", "zfs", "rbd", "sheepdog", "gluster", "vstorage"):
        return a.name is not None and a.name == b.name
    if new.type in ("iscsi", "iscsi-direct"):
        return same_host and same_device
    return False


# VIR_CONNECT_LIST_STORAGE_POOLS_*: (flag, flag) groups, then the pool type bits
_POOL_GROUPS = ((2, 1, "active"), (4, 8, "persistent"), (16, 32, "autostart"))
_POOL_TYPE_FLAGS = {
    "dir": 1 << 6,
    "fs": 1 << 7,
    "netfs": 1 << 8,
    "logical": 1 << 9,
    "disk": 1 << 10,
    "iscsi": 1 << 11,
    "scsi": 1 << 12,
    "mpath": 1 << 13,
    "rbd": 1 << 14,
    "sheepdog": 1 << 15,
    "gluster": 1 << 16,
    "zfs": 1 << 17,
    "vstorage": 1 << 18,
    "iscsi-direct": 1 << 19,
}


def _pool_matches(obj: PoolObj, flags: int) -> bool:
    values = {"active": obj.active, "persistent": obj.persistent, "autostart": obj.autostart}
    for yes, no, what in _POOL_GROUPS:
        if flags & yes and flags & no:
            continue
        if flags & yes and not values[what]:
            return False
        if flags & no and values[what]:
            return False
    type_bits = flags & ~0x3F
    return not type_bits or bool(type_bits & _POOL_TYPE_FLAGS.get(obj.config.type, 0))


__all__ = [
    "DEFAULT_POOL_UUID",
    "PoolDef",
    "PoolObj",
    "StorageMixin",
    "VolDef",
    "format_pool",
    "format_volume",
    "parse_pool",
    "parse_volume",
]
