"""Block I/O and memory tuning of the QEMU hosts: ``blkiotune`` and ``memtune``.

As libvirt 9.0's ``qemuDomain{Set,Get}{Blkio,Memory}Parameters`` on a cgroup v2 host:
the values live in the definition's ``<blkiotune>`` (``<weight>``, one ``<device>`` per
path with ``weight``/``read_iops_sec``/``write_iops_sec``/``read_bytes_sec``/
``write_bytes_sec``) and ``<memtune>`` (``hard_limit``, ``soft_limit``,
``swap_hard_limit`` in KiB), so ``--config`` changes persist with the domain.  A running
domain without a setting answers the cgroup's defaults (I/O weight 100, memory limits
unlimited).  ``qemu:///session`` is unprivileged, so both are refused there with libvirt's
texts (``Block I/O tuning is not available in session mode``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.domxml import parse_size_kib
from virtwire.server.hypervisor.tuning import _TYPE_NAMES, AFFECT

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuCgroupTuning", "check_typed_params"]

Dom = rp.RemoteNonnullDomain

VIR_TYPED_PARAM_STRING_OKAY = 4
MEMORY_PARAM_UNLIMITED = 9007199254740991  # VIR_DOMAIN_MEMORY_PARAM_UNLIMITED
CGROUP_IO_WEIGHT_DEFAULT = 100
# (parameter, <device> child) in virDomainGetBlkioParametersAssignFromDef's order
BLKIO_DEVICE_PARAMS = (
    ("device_weight", "weight"),
    ("device_read_iops_sec", "read_iops_sec"),
    ("device_write_iops_sec", "write_iops_sec"),
    ("device_read_bytes_sec", "read_bytes_sec"),
    ("device_write_bytes_sec", "write_bytes_sec"),
)
BLKIO_TYPES = {"weight": tp.UINT} | {name: tp.STRING for name, _c in BLKIO_DEVICE_PARAMS}
MEMORY_PARAMS = ("hard_limit", "soft_limit", "swap_hard_limit")
MEMORY_TYPES = dict.fromkeys(MEMORY_PARAMS, tp.ULLONG)


def check_typed_params(params: list[rp.RemoteTypedParam], allowed: dict[str, int]) -> None:
    """virTypedParamsValidate (its errors are in domain NONE)."""
    for param in params:
        kind = allowed.get(param.field)
        if kind is None:
            raise LibvirtError.make(
                ErrorCode.INVALID_ARG, ErrorDomain.NONE, f"parameter '{param.field}' not supported"
            )
        if param.value.type != kind:
            raise LibvirtError.make(
                ErrorCode.INVALID_ARG,
                ErrorDomain.NONE,
                f"invalid type '{_TYPE_NAMES.get(param.value.type, '?')}' for parameter "
                f"'{param.field}', expected '{_TYPE_NAMES[kind]}'",
            )


def _domain_error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.DOMAIN, detail)


def _child(parent: ET.Element, tag: str, before: tuple[str, ...] = ()) -> ET.Element:
    elem = parent.find(tag)
    if elem is None:
        elem = ET.Element(tag)
        at = len(parent)
        for i, child in enumerate(parent):
            if child.tag in before:
                at = i
                break
        parent.insert(at, elem)
    return elem


def _tune_elem(ddef: DomainDef, tag: str) -> ET.Element:
    """``<blkiotune>``/``<memtune>`` where virDomainDefFormat puts them (after memory)."""
    root = ddef.tree
    elem = root.find(tag)
    if elem is None:
        elem = ET.Element(tag)
        order = ("name", "uuid", "genid", "title", "description", "metadata", "maxMemory",
                 "memory", "currentMemory", "blkiotune")  # fmt: skip
        keep = order if tag == "memtune" else order[:-1]
        at = 0
        for i, child in enumerate(root):
            if child.tag in keep:
                at = i + 1
        root.insert(at, elem)
    return elem


def _drop_if_empty(ddef: DomainDef, tag: str) -> None:
    elem = ddef.tree.find(tag)
    if elem is not None and len(elem) == 0:
        ddef.tree.remove(elem)


def _parse_device_str(name: str, text: str) -> list[tuple[str, int]]:
    """virDomainDriverParseBlkioDeviceStr: ``path,value[,path,value…]``."""
    if not text:
        return []
    parts = text.split(",")
    if len(parts) % 2:
        raise _domain_error(
            ErrorCode.INVALID_ARG, f"unable to parse blkio device '{name}' '{text}'"
        )
    out = []
    for path, raw in zip(parts[::2], parts[1::2], strict=True):
        try:
            value = int(raw)
            if value < 0:
                raise ValueError(raw)
        except ValueError:
            raise _domain_error(
                ErrorCode.INVALID_ARG,
                f"invalid value '{raw}' for parameter '{name}' of device '{path}'",
            ) from None
        out.append((path, value))
    return out


class QemuCgroupTuning:
    """The blkio and memory parameter members (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver and tuning.py

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...

        uri: str

    @property
    def cgroup_privileged(self) -> bool:
        return not self.uri.endswith("/session")

    def _defs(self, obj: DomainObj, flags: int) -> tuple[DomainDef | None, DomainDef | None]:
        """virDomainObjGetDefs: (live, a copy of the persistent definition to change)."""
        live, config = self.impact(obj, flags & AFFECT)
        return (obj.live if live else None), (obj.config.copy() if config else None)

    # -- blkio ---------------------------------------------------------------------------------

    def _blkio_session_check(self) -> None:
        if not self.cgroup_privileged:
            raise self.error(
                ErrorCode.CONFIG_UNSUPPORTED, "Block I/O tuning is not available in session mode"
            )

    def domain_set_blkio_parameters(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "qemuDomainSetBlkioParameters")
        check_typed_params(params, BLKIO_TYPES)
        obj = self.find(dom)
        self._blkio_session_check()
        live, config = self._defs(obj, flags)
        changes = []
        for param in params:
            if param.field == "weight":
                changes.append(("weight", None, int(param.value.value)))
            else:
                child = dict(BLKIO_DEVICE_PARAMS)[param.field]
                for path, value in _parse_device_str(param.field, str(param.value.value)):
                    changes.append((child, path, value))
        for ddef in (d for d in (live, config) if d is not None):
            self._blkio_apply(ddef, changes)
        if config is not None:
            self.save(obj, config)
            obj.config = config

    @staticmethod
    def _blkio_apply(ddef: DomainDef, changes: list[tuple[str, str | None, int]]) -> None:
        tune = _tune_elem(ddef, "blkiotune")
        for tag, path, value in changes:
            if path is None:
                _child(tune, "weight", ("device",)).text = str(value)
                continue
            device = None
            for dev in tune.findall("device"):
                if dev.findtext("path") == path:
                    device = dev
            if device is None:
                if not value:
                    continue
                device = ET.SubElement(tune, "device")
                ET.SubElement(device, "path").text = path
            elem = device.find(tag)
            if value:
                if elem is None:
                    # virBlkioDeviceDef format order: path, weight, read/write iops/bytes
                    rank = [c for _p, c in BLKIO_DEVICE_PARAMS]
                    elem = ET.Element(tag)
                    at = 1 + sum(1 for c in device if c.tag in rank[: rank.index(tag)])
                    device.insert(at, elem)
                elem.text = str(value)
            elif elem is not None:
                device.remove(elem)
            if len(device) == 1:  # only <path> left
                tune.remove(device)
        _drop_if_empty(ddef, "blkiotune")

    def domain_get_blkio_parameters(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(
            flags, AFFECT | VIR_TYPED_PARAM_STRING_OKAY, "qemuDomainGetBlkioParameters"
        )
        obj = self.find(dom)
        self._blkio_session_check()
        if nparams == 0:
            return [], len(BLKIO_TYPES)
        live, config = self.impact(obj, flags & AFFECT)
        ddef = obj.live if live and obj.live is not None else obj.config
        tune = ddef.tree.find("blkiotune")
        weight_text = tune.findtext("weight") if tune is not None else None
        weight = int(weight_text) if weight_text else (CGROUP_IO_WEIGHT_DEFAULT if live else 0)
        values: dict[str, object] = {"weight": weight}
        for name, child in BLKIO_DEVICE_PARAMS:
            entries = []
            for dev in tune.findall("device") if tune is not None else []:
                text = dev.findtext(child)
                if text and int(text):
                    entries.append(f"{dev.findtext('path')},{text}")
            values[name] = ",".join(entries)
        chosen = dict(list(values.items())[: min(nparams, len(values))])
        wire = tp.to_wire(chosen, BLKIO_TYPES)
        return wire, len(wire)

    # -- memory --------------------------------------------------------------------------------

    def _memtune_session_check(self) -> None:
        if not self.cgroup_privileged:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED, "Memory tuning is not available in session mode"
            )

    @staticmethod
    def _memtune_value(ddef: DomainDef, name: str) -> int:
        tune = ddef.tree.find("memtune")
        elem = tune.find(name) if tune is not None else None
        kib = parse_size_kib(elem) if elem is not None else None
        return MEMORY_PARAM_UNLIMITED if kib is None else kib

    def domain_set_memory_parameters(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "qemuDomainSetMemoryParameters")
        check_typed_params(params, MEMORY_TYPES)
        obj = self.find(dom)
        self._memtune_session_check()
        live, config = self._defs(obj, flags)
        wanted = {p.field: min(int(p.value.value), MEMORY_PARAM_UNLIMITED) for p in params}
        for ddef in (d for d in (live, config) if d is not None):
            # virDomainCgroupSetMemoryLimitParameters: hard limit <= swap hard limit
            if "hard_limit" in wanted or "swap_hard_limit" in wanted:
                hard = wanted.get("hard_limit", self._memtune_value(ddef, "hard_limit"))
                swap = wanted.get("swap_hard_limit", self._memtune_value(ddef, "swap_hard_limit"))
                if hard > swap:
                    raise _domain_error(
                        ErrorCode.INVALID_ARG,
                        "memory hard_limit tunable value must be lower than or equal to "
                        "swap_hard_limit",
                    )
        for ddef in (d for d in (live, config) if d is not None):
            tune = _tune_elem(ddef, "memtune")
            for name in MEMORY_PARAMS:
                if name not in wanted:
                    continue
                value = wanted[name]
                elem = tune.find(name)
                if value >= MEMORY_PARAM_UNLIMITED:
                    if elem is not None:
                        tune.remove(elem)
                    continue
                if elem is None:
                    rank = MEMORY_PARAMS.index(name)
                    elem = ET.Element(name, {"unit": "KiB"})
                    tune.insert(sum(1 for c in tune if c.tag in MEMORY_PARAMS[:rank]), elem)
                elem.text = str(value)
            _drop_if_empty(ddef, "memtune")
        if config is not None:
            self.save(obj, config)
            obj.config = config

    def domain_get_memory_parameters(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(
            flags, AFFECT | VIR_TYPED_PARAM_STRING_OKAY, "qemuDomainGetMemoryParameters"
        )
        obj = self.find(dom)
        self._memtune_session_check()
        live, _config = self.impact(obj, flags & AFFECT)
        if nparams == 0:
            return [], len(MEMORY_PARAMS)
        ddef = obj.live if live and obj.live is not None else obj.config
        values = {name: self._memtune_value(ddef, name) for name in MEMORY_PARAMS[:nparams]}
        wire = tp.to_wire(values, MEMORY_TYPES)
        return wire, len(wire)
