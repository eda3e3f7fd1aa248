"""``qemu:///system`` and ``qemu:///session``: a simulated QEMU host.

Domains persist as one XML file each under the host's directory (written atomically), so
a restart or a crash of the daemon loses nothing defined.  Lifecycle events come in QEMU's
order (a start resumes the paused CPUs first: RESUMED then STARTED) and devices hot-plug
with QEMU's aliases.  Memory devices follow libvirt's QEMU rules (spec §10); unplugs are
acknowledged, refused or ignored by a simulated guest according to the domain's
``<vw:guest unplug='…'/>`` metadata, without ever sleeping.
"""

from __future__ import annotations

import copy
import logging
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from virtwire.protocol import events as ev
from virtwire.protocol.constants import Feature
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain as Dom
from virtwire.protocol.records import NodeInfo
from virtwire.server.faults import FaultTable
from virtwire.server.hypervisor import devices, domxml, memory, offload
from virtwire.server.hypervisor.console import QemuConsoles
from virtwire.server.hypervisor.cpu_baseline import QemuCpuBaseline, host_cpu_capabilities
from virtwire.server.hypervisor.domxml import DomainDef
from virtwire.server.hypervisor.driver import (
    DEFINED,
    DEFINED_UPDATED,
    RESUMED,
    RESUMED_UNPAUSED,
    SHUTDOWN,
    SHUTDOWN_GUEST,
    STARTED,
    STARTED_BOOTED,
    STOPPED,
    STOPPED_SHUTDOWN,
    SUSPENDED,
    SUSPENDED_PAUSED,
    Driver,
)
from virtwire.server.hypervisor.hostfacts import QemuHostFacts
from virtwire.server.hypervisor.migration import MigrationMixin
from virtwire.server.hypervisor.model import (
    START_PAUSED,
    DomainObj,
    DomainState,
    ModificationImpact,
    PausedReason,
    RunningReason,
    ShutoffReason,
)
from virtwire.server.hypervisor.nwfilters import QemuNWFilters
from virtwire.server.hypervisor.persistence import DomainStore
from virtwire.server.hypervisor.qemu_checkpoints import QemuCheckpoints
from virtwire.server.hypervisor.qemu_domain_extras import QemuDomainExtras
from virtwire.server.hypervisor.qemu_networks import QemuNetworks
from virtwire.server.hypervisor.qemu_nodedevs import QemuNodeDevices
from virtwire.server.hypervisor.qemu_numatune import QemuNumatune
from virtwire.server.hypervisor.qemu_save import QemuSave
from virtwire.server.hypervisor.qemu_snapshots import QemuSnapshots
from virtwire.server.hypervisor.qemu_storage import QemuStorage
from virtwire.server.hypervisor.screen import QemuScreenshot
from virtwire.server.hypervisor.secrets import SecretMixin
from virtwire.server.hypervisor.stats import QemuStats
from virtwire.server.hypervisor.tuning import QemuTuning
from virtwire.server.hypervisor.xmllimits import STORED_MAX_DEPTH

log = logging.getLogger("virtwire.server")

QEMU_VERSION = 7002000  # QEMU 7.2.0, as Debian bookworm ships

# the machine types' maxCpus in CAPABILITIES_XML (pc = pc-i440fx-7.2, q35 = pc-q35-7.2)
PC_MAX_VCPUS = 255
Q35_MAX_VCPUS = 288
# the host CPU: QEMU 7.2's KVM host-model CPU of libvirt's test data (cpu_baseline.py)
_CPU_MODEL, _CPU_FEATURES = host_cpu_capabilities()
CAPABILITIES_XML = f"""<capabilities>

  <host>
    <cpu>
      <arch>x86_64</arch>
{_CPU_MODEL}      <topology sockets='1' dies='1' cores='8' threads='1'/>
{_CPU_FEATURES}      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='2048'/>
      <pages unit='KiB' size='1048576'/>
    </cpu>
    <power_management/>
    <iommu support='no'/>
    <migration_features>
      <live/>
    </migration_features>
    <topology>
      <cells num='1'>
        <cell id='0'>
          <memory unit='KiB'>16777216</memory>
          <cpus num='8'/>
        </cell>
      </cells>
    </topology>
    <secmodel>
      <model>none</model>
      <doi>0</doi>
    </secmodel>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <machine maxCpus='255'>pc</machine>
      <machine maxCpus='288'>q35</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
    <features>
      <acpi default='on' toggle='yes'/>
      <apic default='on' toggle='no'/>
      <cpuselection/>
      <deviceboot/>
      <disksnapshot default='on' toggle='no'/>
    </features>
  </guest>

</capabilities>
"""

UNPLUG_REJECTED = "unplug of device was rejected by the guest"


class QemuDriver(
    MigrationMixin,
    QemuHostFacts,
    QemuDomainExtras,
    QemuTuning,
    QemuStats,
    QemuNetworks,
    QemuStorage,
    SecretMixin,
    QemuSnapshots,
    QemuCheckpoints,
    QemuSave,
    QemuNodeDevices,
    QemuNWFilters,
    QemuScreenshot,
    QemuConsoles,
    QemuCpuBaseline,
    QemuNumatune,
    Driver,
):
    """One simulated QEMU host (system or session), persistent under ``state_dir``."""

    fn_prefix = "qemu"
    type_name = "QEMU"
    faults: FaultTable | None = None  # injected guest refusals (server/faults.py)
    # libvirtd's secret, network, storage, nodedev and nwfilter drivers serve QEMU connections
    # (secrets.py, qemu_networks.py, qemu_storage.py, qemu_nodedevs.py, nwfilters.py)
    kinds = frozenset({"hypervisor", "secret", "network", "storage", "nodedev", "nwfilter"})
    other_event_kinds = frozenset({"network", "storage", "nodedev", "secret"})
    # qemuConnectSupportsFeature
    features = frozenset(
        {
            Feature.MIGRATION_V2,
            Feature.MIGRATION_V3,
            Feature.MIGRATION_P2P,
            Feature.MIGRATE_CHANGE_PROTECTION,
            Feature.TYPED_PARAM_STRING,
            Feature.XML_MIGRATABLE,
            Feature.MIGRATION_OFFLINE,
            Feature.MIGRATION_PARAMS,
            Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER,
        }
    )
    error_domain = ErrorDomain.QEMU
    virt_types = ("qemu", "kvm")
    default_arch = "x86_64"
    capabilities_base = CAPABILITIES_XML  # its <topology> comes from hostfacts.py
    set_memory_function = "qemuDomainSetMemoryFlags"

    def __init__(
        self, uri: str, schedule: Callable[[Callable[[], None]], object], state_dir: Path
    ) -> None:
        super().__init__(uri, schedule)
        self.store = DomainStore(state_dir)
        self.init_secrets(state_dir)
        self.init_qemu_networks(state_dir)
        self.init_qemu_storage(state_dir)
        self.init_qemu_snapshots(state_dir)
        self.init_qemu_checkpoints(state_dir)
        self.init_qemu_nodedevs(str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, uri)), state_dir)
        self.init_qemu_nwfilters(state_dir)
        self._mac_counter = 0
        self._load()

    def _load(self) -> None:
        """Read every stored definition; all start shut off (transient ones are gone)."""
        for path, text in self.store.load_all():
            try:
                # a stored domain may hold an attached device as deep as libxml2 allows
                ddef = self.parse(text, max_depth=STORED_MAX_DEPTH)
            except LibvirtError as exc:
                log.error("ignoring unreadable domain file %s: %s", path, exc)
                continue
            if ddef.uuid in self.domains:
                log.error("ignoring %s: duplicate uuid %s", path, domxml.uuid_str(ddef.uuid))
                continue
            obj = DomainObj(config=ddef, persistent=True)
            obj.autostart = self.store.is_autostart(ddef.name)
            self.domains[ddef.uuid] = obj
        for obj in list(self.domains.values()):
            # as libvirtd does at daemon start (a managed save image is restored); no
            # client can be listening yet
            if obj.autostart and not self.managed_save_autostart(obj):
                self._start(obj, 0)

    # -- connection -----------------------------------------------------------------------

    def connect_get_version(self) -> int:
        return QEMU_VERSION

    def node_get_info(self) -> NodeInfo:
        return NodeInfo("x86_64", 16 * 1024 * 1024, 8, 2400, 1, 1, 8, 1)

    def node_get_security_model(self) -> tuple[str, str]:
        return "none", "0"

    def lookup_error(self, kind: str, key: object) -> LibvirtError:
        if kind == "name":
            detail = f"no domain with matching name '{key}'"
        elif kind == "uuid":
            assert isinstance(key, bytes)
            detail = f"no domain with matching uuid '{domxml.uuid_str(key)}'"
        else:
            detail = f"no domain with matching id {key}"
        return self.error(ErrorCode.NO_DOMAIN, detail)

    # -- persistence ------------------------------------------------------------------------

    def save(self, obj: DomainObj, config: DomainDef | None = None) -> None:
        if config is None:
            if not obj.persistent:
                return
            config = obj.config
        config.sync_tree()
        name, tree = config.name, config.tree
        if offload.is_large(tree) and self.store.writable():
            job = self.store.save_job(name, lambda: domxml.format_xml(tree))
            if offload.defer(lambda: self._write_or_fail(name, job), self._undo_save(obj)):
                return  # formatted and written in the handler's worker thread
        self._write_or_fail(name, lambda: self.store.save(name, domxml.format_xml(tree)))

    def _undo_save(self, obj: DomainObj) -> Callable[[], None]:
        """Put ``obj`` back as it is now (before the call adopts the definition being
        saved) if the deferred write fails: a new definition vanishes, a changed one
        keeps its old config, as when libvirt's save fails before it commits."""
        config, persistent, known = obj.config, obj.persistent, obj.uuid in self.domains

        def undo() -> None:
            if known:
                obj.config, obj.persistent = config, persistent
            elif self.domains.get(obj.uuid) is obj and not obj.active:
                del self.domains[obj.uuid]

        return undo

    def _write_or_fail(self, name: str, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            path = self.store.path_for(name)
            # libvirtd 9.0's virFileRewrite (it writes PATH.new, then renames)
            raise LibvirtError.make(
                ErrorCode.SYSTEM_ERROR,
                ErrorDomain.NONE,
                f"Failed to create file '{path}.new': {exc.strerror or exc}",
            ) from None

    def _commit_config(self, obj: DomainObj, new_config: DomainDef, live: bool) -> None:
        """Persist a changed definition, then adopt it; config-only changes are DEFINED."""
        self.save(obj, new_config)
        obj.config = new_config
        if not live:
            self.lifecycle(obj, DEFINED, DEFINED_UPDATED)

    def unsave(self, obj: DomainObj) -> None:
        path = self.store.path_for(obj.name)
        try:
            self.store.delete(obj.name)
        except OSError as exc:  # virDomainDeleteConfig's text
            raise self._config_error(
                f"cannot remove config {path}", exc, ErrorDomain.DOMAIN
            ) from None
        self.save_autostart(obj, False)
        obj.autostart = False

    def save_autostart(self, obj: DomainObj, enabled: bool) -> None:
        path = self.store.autostart_path(obj.name)
        try:
            self.store.set_autostart(obj.name, enabled)
        except OSError as exc:  # qemuDomainSetAutostart's texts
            what = (
                f"Failed to create symlink '{path}'"
                if enabled
                else (f"Failed to delete symlink '{path}'")
            )
            raise self._config_error(what, exc, ErrorDomain.QEMU) from None

    @staticmethod
    def _config_error(what: str, exc: OSError, domain: ErrorDomain) -> LibvirtError:
        """virReportSystemError: SYSTEM_ERROR (38) with the errno's text appended."""
        return LibvirtError.make(ErrorCode.SYSTEM_ERROR, domain, f"{what}: {exc.strerror or exc}")

    def check_vcpu_limit(self, ddef: DomainDef) -> None:
        """qemuValidateDomainVCpuTopology: at most the machine type's maxCpus (capabilities)."""
        type_el = ddef.tree.find("os/type")
        machine = (type_el.get("machine") if type_el is not None else None) or "pc"
        limit = Q35_MAX_VCPUS if "q35" in machine else PC_MAX_VCPUS
        if ddef.vcpus > limit:
            raise LibvirtError.make(
                ErrorCode.CONFIG_UNSUPPORTED,
                ErrorDomain.QEMU,
                f"Maximum CPUs greater than specified machine type limit {limit}",
            )

    # -- lifecycle ---------------------------------------------------------------------------

    def decorate_live(self, live: DomainDef) -> None:
        """Aliases and addresses QEMU's driver assigns at start."""
        for dev in list(live.devices):
            if dev.tag == "memory":
                memory.align_size(dev)
                memory.assign_slot_and_alias(live, dev)
                memory.assign_base(live, dev)
            elif dev.tag == "disk":
                devices.set_alias(dev, devices.disk_alias(dev))
            elif dev.tag == "interface":
                devices.ensure_mac(dev, self._next_mac())
                devices.set_alias(dev, devices.next_net_alias(live))
            elif dev.tag == "memballoon" and dev.get("model") != "none":
                devices.set_alias(dev, "balloon0")

    def _next_mac(self) -> int:
        self._mac_counter += 1
        return self._mac_counter

    def _start(self, obj: DomainObj, flags: int, ddef: DomainDef | None = None) -> None:
        self.make_live(obj, ddef)
        if flags & START_PAUSED:
            obj.state, obj.reason = DomainState.PAUSED, PausedReason.USER
            self.lifecycle(obj, STARTED, STARTED_BOOTED)
            self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED)
            return
        # QEMU is started with its CPUs paused and then continued (spec §10.6).
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.BOOTED
        self.lifecycle(obj, RESUMED, RESUMED_UNPAUSED)
        self.lifecycle(obj, STARTED, STARTED_BOOTED)

    def domain_create_with_flags(self, dom: Dom, flags: int = 0) -> Dom:
        self.check_flags(flags, 0x3F, "qemuDomainCreateWithFlags")
        obj = self.find(dom)
        if obj.active:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is already running")
        if not self.managed_save_start(obj, flags):  # qemuDomainObjStart
            self._start(obj, flags)
        return obj.handle()

    def domain_create_xml(self, xml: str, flags: int = 0) -> Dom:
        self.check_flags(flags, 0x17, "qemuDomainCreateXML")
        ddef = self.parse(xml)
        existing = self._check_clash(ddef, live=True)
        obj = existing or DomainObj(config=ddef, persistent=False)
        self.domains[ddef.uuid] = obj
        self._start(obj, flags, ddef)
        return obj.handle()

    def domain_suspend(self, dom: Dom) -> None:
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        if obj.state == DomainState.PAUSED:
            return
        obj.state, obj.reason = DomainState.PAUSED, PausedReason.USER
        self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED)

    def domain_resume(self, dom: Dom) -> None:
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        if obj.state != DomainState.PAUSED:
            return
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.UNPAUSED
        self.lifecycle(obj, RESUMED, RESUMED_UNPAUSED)

    def domain_shutdown_flags(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0x1F, "qemuDomainShutdownFlags")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        if obj.state != DomainState.RUNNING:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is not running")
        if self.faults is not None and self.faults.guest_refuses("shutdown", f"domain {obj.name}"):
            return  # the guest ignores the ACPI power button: the request succeeds, nothing happens
        # The simulated guest powers off at once: QEMU's SHUTDOWN (guest-initiated,
        # since the guest OS acts on the ACPI request) and then the process exit.
        self.lifecycle(obj, SHUTDOWN, SHUTDOWN_GUEST)
        self.stop(obj, ShutoffReason.SHUTDOWN)
        self.lifecycle(obj, STOPPED, STOPPED_SHUTDOWN)
        self.forget_if_transient(obj)

    def domain_reboot(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0x1F, "qemuDomainReboot")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        if obj.state != DomainState.RUNNING:
            raise self.error(ErrorCode.OPERATION_INVALID, "domain is not running")
        self.emit(ev.RebootEvent(obj.ref()))

    def on_balloon(self, obj: DomainObj, kib: int) -> None:
        self.emit(ev.BalloonChangeEvent(obj.ref(), kib))

    # -- device hotplug ------------------------------------------------------------------------

    def _device_flags(self, obj: DomainObj, flags: int, function: str) -> tuple[bool, bool]:
        self.check_flags(flags, int(ModificationImpact.LIVE | ModificationImpact.CONFIG), function)
        return self.impact(obj, flags)

    def domain_attach_device(self, dom: Dom, xml: str) -> None:
        # virDomainAttachDevice is AttachDeviceFlags(AFFECT_LIVE) in every driver
        self.domain_attach_device_flags(dom, xml, ModificationImpact.LIVE)

    def domain_attach_device_flags(self, dom: Dom, xml: str, flags: int = 0) -> None:
        obj = self.find(dom)
        elem = domxml.parse_device(xml)
        live, config = self._device_flags(obj, flags, "qemuDomainAttachDeviceFlags")
        if elem.tag not in devices.HOTPLUG_TAGS:
            what = "live" if live else "persistent"
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                f"{what} attach of device '{elem.tag}' is not supported",
            )
        new_config = None
        if config:
            new_config = obj.config.copy()
            self._attach_config(new_config, _clone(elem))
        if live:
            assert obj.live is not None
            self._attach_live(obj, _clone(elem))
        if new_config is not None:
            self._commit_config(obj, new_config, live)

    def _attach_config(self, ddef: DomainDef, elem: ET.Element) -> None:
        devices.strip_live(elem)
        unballooned = ddef.current_memory == ddef.total_memory()
        if elem.tag == "memory":
            memory.align_size(elem)
            memory.validate_hotplug(ddef, elem)
        elif elem.tag == "disk":
            target = self._disk_target(elem)
            if devices.find_disk(ddef, target) is not None:
                raise self.error(ErrorCode.OPERATION_INVALID, f"target {target} already exists")
        elif elem.tag == "interface":
            devices.ensure_mac(elem, self._next_mac())
        ddef.devices.append(elem)
        if elem.tag == "memory" and unballooned:
            # a guest that was not ballooned down gets the new memory too
            ddef.current_memory = ddef.total_memory()

    def _disk_target(self, elem: ET.Element) -> str:
        target = devices.disk_target(elem)
        if not target:
            raise LibvirtError.make(
                ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "missing disk target information"
            )
        return target

    def _attach_live(self, obj: DomainObj, elem: ET.Element) -> None:
        live = obj.live
        assert live is not None
        devices.strip_live(elem)
        if elem.tag == "memory":
            # qemuDomainAttachMemory: align, validate, slot, alias, insert, then the
            # event names the backend object ("mem" + alias).
            memory.align_size(elem)
            memory.validate_hotplug(live, elem)
            alias = memory.assign_slot_and_alias(live, elem)
            live.devices.append(elem)
            memory.assign_base(live, elem)
            live.current_memory += memory.plugged_size_kib(elem)
            self.emit(ev.DeviceAddedEvent(obj.ref(), f"mem{alias}"))
            return
        if elem.tag == "disk":
            target = self._disk_target(elem)
            if devices.find_disk(live, target) is not None:
                raise self.error(ErrorCode.OPERATION_FAILED, f"target {target} already exists")
            alias = devices.disk_alias(elem)
        else:
            devices.ensure_mac(elem, self._next_mac())
            alias = devices.next_net_alias(live)
        devices.set_alias(elem, alias)
        live.devices.append(elem)
        self.emit(ev.DeviceAddedEvent(obj.ref(), alias))

    def _find_device(self, ddef: DomainDef, wanted: ET.Element) -> ET.Element:
        """The device of ``ddef`` that a detach request's XML designates."""
        if wanted.tag == "memory":
            probe = _clone(wanted)
            memory.align_size(probe)
            for dev in ddef.memory_devices():
                if memory.matches(dev, probe):
                    return dev
            model = wanted.get("model", "")
            raise self.error(
                ErrorCode.DEVICE_MISSING,
                f"model '{model}' memory device not present in the domain configuration",
            )
        if wanted.tag == "disk":
            target = self._disk_target(wanted)
            found = devices.find_disk(ddef, target)
            if found is None:
                raise self.error(ErrorCode.DEVICE_MISSING, f"disk {target} not found")
            return found
        if wanted.tag == "interface":
            return devices.find_interface(ddef, wanted)
        raise self.error(
            ErrorCode.OPERATION_UNSUPPORTED,
            f"live detach of device '{wanted.tag}' is not supported",
        )

    def domain_detach_device(self, dom: Dom, xml: str) -> None:
        self.domain_detach_device_flags(dom, xml, ModificationImpact.LIVE)

    def domain_detach_device_flags(self, dom: Dom, xml: str, flags: int = 0) -> None:
        obj = self.find(dom)
        wanted = domxml.parse_device(xml)
        live, config = self._device_flags(obj, flags, "qemuDomainDetachDeviceFlags")
        new_config = None
        if config:
            new_config = obj.config.copy()
            new_config.devices.remove(self._find_device(new_config, wanted))
        if live:
            assert obj.live is not None
            self._unplug(obj, self._find_device(obj.live, wanted), wait=True)
        if new_config is not None:
            self._commit_config(obj, new_config, live)

    def domain_detach_device_alias(self, dom: Dom, alias: str, flags: int = 0) -> None:
        obj = self.find(dom)
        live, config = self._device_flags(obj, flags, "qemuDomainDetachDeviceAlias")
        new_config = None
        if config:
            new_config = obj.config.copy()
            target = devices.find_by_alias(new_config, alias)
            if target is None:
                raise devices.alias_missing(alias)
            new_config.devices.remove(target)
        if live:
            assert obj.live is not None
            elem = devices.find_by_alias(obj.live, alias)
            if elem is None:
                raise devices.alias_missing(alias)
            self._unplug(obj, elem, wait=False)
        if new_config is not None:
            self._commit_config(obj, new_config, live)

    def _unplug(self, obj: DomainObj, elem: ET.Element, *, wait: bool) -> None:
        """device_del and the simulated guest's answer.

        ack: DEVICE_DELETED arrives within libvirt's wait, the device goes and
        DEVICE_REMOVED is queued before the call returns.  refuse: DEVICE_REMOVAL_FAILED;
        a waiting (sync) detach fails with libvirt's error, the async one returns.
        ignore: the wait times out (not simulated in real time); success, no event.
        """
        live = obj.live
        assert live is not None
        alias = devices.get_alias(elem) or ""
        if elem.tag not in devices.HOTPLUG_TAGS:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                f"live detach of device '{elem.tag}' is not supported",
            )
        behaviour = live.unplug
        if self.faults is not None and self.faults.guest_refuses("unplug", f"device {alias}"):
            behaviour = "refuse"
        if behaviour == "ignore":
            return
        if behaviour == "refuse":
            self.emit(ev.DeviceRemovalFailedEvent(obj.ref(), alias))
            if wait:
                raise self.error(ErrorCode.OPERATION_FAILED, UNPLUG_REJECTED)
            return
        live.devices.remove(elem)
        if elem.tag == "memory":
            live.current_memory = max(live.current_memory - memory.plugged_size_kib(elem), 0)
        self.emit(ev.DeviceRemovedEvent(obj.ref(), alias))


def _clone(elem: ET.Element) -> ET.Element:
    return copy.deepcopy(elem)
