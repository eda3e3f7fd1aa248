"""``numatune`` on the QEMU hosts: libvirt 9.0's ``qemuDomain{Set,Get}NumaParameters``.

The values live in the definition's ``<numatune><memory mode=… nodeset=…/>`` (written by
the same virDomainNumatuneSet rules as the test driver's setter). A running domain is
changed through the cpuset cgroup, so libvirt refuses it on ``qemu:///session`` ("NUMA
tuning is not available in session mode"), never changes its mode, keeps a strict
nodeset, and moves memory only in restrictive mode and to nodes the host has. The config
change is saved like every definition; no event is raised (qemu emits none here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.qemu_cgroups import check_typed_params
from virtwire.server.hypervisor.test_domain_extras import NUMA_PARAM_TYPES, numatune_values
from virtwire.server.hypervisor.test_tuning_setters import (
    NUMATUNE_MODES,
    _numatune_set,
    _parse_bitmap,
    placement_static,
)
from virtwire.server.hypervisor.tuning import AFFECT

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = ["QemuNumatune"]

Dom = rp.RemoteNonnullDomain
STRING_OKAY = 1 << 2  # VIR_TYPED_PARAM_STRING_OKAY


def _error(code: ErrorCode, detail: str) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.QEMU, detail)


def _memory(ddef: DomainDef) -> tuple[str | None, set[int] | None]:
    """The mode (None: no <numatune><memory>) and the static nodeset of a definition."""
    memory = ddef.tree.find("numatune/memory")
    if memory is None:
        return None, None
    nodeset = memory.get("nodeset")
    return memory.get("mode", "strict"), (_parse_bitmap(nodeset) if nodeset else None)


class QemuNumatune:
    """The two NUMA tuning members of the QEMU hosts."""

    if TYPE_CHECKING:  # provided by Driver, QemuCgroupTuning and QemuHostFacts
        cgroup_privileged: bool
        host_topology: object

        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...

    def domain_set_numa_parameters(
        self, dom: Dom, params: list[rp.RemoteTypedParam], flags: int = 0
    ) -> None:
        self.check_flags(flags, AFFECT, "qemuDomainSetNumaParameters")
        check_typed_params(params, NUMA_PARAM_TYPES)
        obj = self.find(dom)
        mode, nodeset, text = -1, None, ""
        for param in params:
            if param.field == "numa_mode":
                mode = int(param.value.value)
                if not 0 <= mode < len(NUMATUNE_MODES):
                    raise _error(ErrorCode.INVALID_ARG, f"unsupported numatune mode: '{mode}'")
            else:
                text = str(param.value.value)
                nodeset = _parse_bitmap(text)
                if not nodeset:
                    raise _error(
                        ErrorCode.OPERATION_INVALID, f"Invalid nodeset of 'numatune': {text}"
                    )
        live, config = self.impact(obj, flags & AFFECT)
        if live and obj.live is not None:
            self._numatune_live(obj.live, mode, nodeset)
        if config:
            new = obj.config.copy()
            _numatune_set(new, placement_static(new), mode, nodeset)
            self.save(obj, new)
            obj.config = new

    def _numatune_live(self, ddef: DomainDef, mode: int, nodeset: set[int] | None) -> None:
        if not self.cgroup_privileged:
            raise _error(
                ErrorCode.OPERATION_UNSUPPORTED, "NUMA tuning is not available in session mode"
            )
        current_mode, current_nodeset = _memory(ddef)
        if mode != -1 and current_mode is not None and current_mode != NUMATUNE_MODES[mode]:
            raise _error(
                ErrorCode.OPERATION_INVALID, "can't change numatune mode for running domain"
            )
        if mode == NUMATUNE_MODES.index("strict"):
            if nodeset != current_nodeset:
                raise _error(
                    ErrorCode.OPERATION_INVALID,
                    "can't change nodeset for strict mode for running domain",
                )
            return
        if nodeset is not None:  # qemuDomainSetNumaParamsLive
            if current_mode is not None and current_mode != "restrictive":
                raise _error(
                    ErrorCode.OPERATION_INVALID,
                    "change of nodeset for running domain requires restrictive numa mode",
                )
            cells = len(getattr(self.host_topology, "cells", ()))
            for node in sorted(nodeset):
                if node >= cells:  # virNumaNodesetIsAvailable
                    raise LibvirtError.make(
                        ErrorCode.CONFIG_UNSUPPORTED,
                        ErrorDomain.NONE,
                        f"NUMA node {node} is unavailable",
                    )
        _numatune_set(ddef, placement_static(ddef), mode, nodeset)

    def domain_get_numa_parameters(
        self, dom: Dom, nparams: int, flags: int = 0
    ) -> tuple[list[rp.RemoteTypedParam], int]:
        self.check_flags(flags, AFFECT | STRING_OKAY, "qemuDomainGetNumaParameters")
        ddef = self.one_def(self.find(dom), flags & AFFECT)
        if nparams == 0:
            return [], len(NUMA_PARAM_TYPES)
        params = tp.to_wire(numatune_values(ddef), NUMA_PARAM_TYPES)[:nparams]
        return params, len(params)
