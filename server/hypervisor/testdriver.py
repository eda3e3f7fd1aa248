"""``test:///default``: libvirt's built-in test driver, in memory.

Starts from libvirt's default configuration (one running domain ``test``, id 1), reports
driver errors in domain TEST with the texts libvirt 9.0 uses, and hot-plugs disks and
interfaces live with an immediate DEVICE_ADDED as the newer test driver does; memory
devices are refused.
"""

from __future__ import annotations

from collections.abc import Callable

from virtwire.protocol import events as ev
from virtwire.protocol.constants import Feature
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain as Dom
from virtwire.protocol.records import NodeInfo
from virtwire.server.hypervisor import devices, domxml
from virtwire.server.hypervisor.driver import (
    RESUMED,
    RESUMED_UNPAUSED,
    STARTED,
    STARTED_BOOTED,
    STOPPED,
    STOPPED_SHUTDOWN,
    SUSPENDED,
    SUSPENDED_PAUSED,
    UNDEFINED,
    UNDEFINED_REMOVED,
    Driver,
)
from virtwire.server.hypervisor.guestinfo import TestGuestInfo
from virtwire.server.hypervisor.hostfacts import TestHostFacts
from virtwire.server.hypervisor.interfaces import TestInterfaces
from virtwire.server.hypervisor.model import (
    DomainObj,
    DomainState,
    ModificationImpact,
    PausedReason,
    RunningReason,
    ShutoffReason,
)
from virtwire.server.hypervisor.networks import TestNetworks
from virtwire.server.hypervisor.nodedevs import TestNodeDevices
from virtwire.server.hypervisor.screen import TestScreenshot
from virtwire.server.hypervisor.snapshots import TestSnapshots
from virtwire.server.hypervisor.stats import TestStats
from virtwire.server.hypervisor.storage import StorageMixin
from virtwire.server.hypervisor.tuning import TestTuning
from virtwire.server.hypervisor.vhba import TestVhbaPools

TEST_DEFAULT_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"

# libvirt's defaultConnXML domain, as its own dumpxml prints it.
DEFAULT_DOMAIN_XML = f"""<domain type='test'>
  <name>test</name>
  <uuid>{TEST_DEFAULT_UUID}</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""

# testConnectGetSysinfo's text, byte for byte
SYSINFO_XML = """<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
"""

CAPABILITIES_XML = """<capabilities>

  <host>
    <cpu>
      <arch>i686</arch>
      <features>
        <pae/>
        <nonpae/>
      </features>
      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='8'/>
      <pages unit='KiB' size='2048'/>
      <pages unit='KiB' size='1048576'/>
    </cpu>
    <power_management/>
    <iommu support='no'/>
    <topology>
      <cells num='2'>
        <cell id='0'>
          <memory unit='KiB'>6291456</memory>
          <cpus num='8'/>
        </cell>
        <cell id='1'>
          <memory unit='KiB'>6291456</memory>
          <cpus num='8'/>
        </cell>
      </cells>
    </topology>
    <secmodel>
      <model>testSecurity</model>
      <doi></doi>
    </secmodel>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

  <guest>
    <os_type>xen</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

</capabilities>
"""


class TestDriver(
    TestHostFacts,
    TestTuning,
    TestStats,
    TestGuestInfo,
    TestSnapshots,
    TestNetworks,
    TestInterfaces,
    TestNodeDevices,
    TestVhbaPools,
    StorageMixin,
    TestScreenshot,
    Driver,
):
    """The shared in-memory state behind every ``test:///default`` connection.

    Networks, interfaces, node devices and storage come from the mixins in ``networks.py``,
    ``interfaces.py``, ``nodedevs.py`` and ``storage.py``.
    """

    __test__ = False  # not a pytest test class
    kinds = Driver.kinds | {"network", "interface", "nodedev", "storage"}

    fn_prefix = "test"
    type_name = "TEST"
    # libvirt's test driver serves storage too (server/hypervisor/storage.py); it has no
    # secret driver, so every secret API answers NO_SUPPORT
    # testConnectSupportsFeature
    features = frozenset({Feature.TYPED_PARAM_STRING, Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER})
    error_domain = ErrorDomain.TEST
    virt_types = domxml.VIRT_TYPES
    default_arch = "i686"
    capabilities_base = CAPABILITIES_XML  # its <topology> comes from hostfacts.py

    def __init__(self, uri: str, schedule: Callable[[Callable[[], None]], object]) -> None:
        super().__init__(uri, schedule)
        default = self.parse(DEFAULT_DOMAIN_XML)
        obj = DomainObj(config=default, persistent=True)
        self.domains[default.uuid] = obj
        self.make_live(obj)
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.UNKNOWN
        self._mac_counter = 0
        self.init_networks()
        self.init_interfaces()
        self.init_nodedevs()
        self.init_storage()

    # -- connection ----------------------------------------------------------------------

    def connect_get_version(self) -> int:
        return 2

    def node_get_info(self) -> NodeInfo:
        return NodeInfo("i686", 3 * 1024 * 1024, 16, 1400, 2, 2, 2, 2)

    def node_get_security_model(self) -> tuple[str, str]:
        return "testSecurity", ""

    def connect_get_sysinfo(self, flags: int) -> str:
        """testConnectGetSysinfo: a fixed SMBIOS description."""
        self.check_flags(flags, 0, "testConnectGetSysinfo")
        return SYSINFO_XML

    # -- domains ------------------------------------------------------------------------

    def connect_get_max_vcpus(self, virt_type: str | None) -> int:
        return 32  # testConnectGetMaxVcpus

    def domain_get_os_type(self, dom: Dom) -> str:
        self.find(dom)
        return "linux"  # testDomainGetOSType's fixed answer

    def domain_get_security_label(self, dom: Dom) -> tuple[str, int]:
        self.find(dom)
        return "libvirt-test", 1

    def domain_undefine_flags(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0x7F, "testDomainUndefineFlags")
        obj = self.find(dom)
        # The test driver lets a transient domain be "undefined" too.
        self.lifecycle(obj, UNDEFINED, UNDEFINED_REMOVED)
        if obj.active:
            obj.persistent = False
        else:
            del self.domains[obj.uuid]

    def _start(self, obj: DomainObj, ddef: domxml.DomainDef | None = None) -> None:
        self.make_live(obj, ddef)
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.BOOTED
        self.lifecycle(obj, STARTED, STARTED_BOOTED)

    def domain_create_with_flags(self, dom: Dom, flags: int = 0) -> Dom:
        obj = self.find(dom)
        self.check_flags(flags, 0, "testDomainCreateWithFlags")
        if obj.active:
            raise self.error(ErrorCode.INTERNAL_ERROR, f"Domain '{obj.name}' is already running")
        self._start(obj)
        return obj.handle()

    def domain_create_xml(self, xml: str, flags: int = 0) -> Dom:
        self.check_flags(flags, 16, "testDomainCreateXML")  # only VIR_DOMAIN_START_VALIDATE
        ddef = self.parse(xml)
        existing = self._check_clash(ddef, live=True)
        obj = existing or DomainObj(config=ddef, persistent=False)
        self.domains[ddef.uuid] = obj
        self._start(obj, ddef)
        return obj.handle()

    def domain_suspend(self, dom: Dom) -> None:
        obj = self.find(dom)
        if obj.state in (DomainState.SHUTOFF, DomainState.PAUSED):
            raise self.error(ErrorCode.INTERNAL_ERROR, f"domain '{obj.name}' not running")
        obj.state, obj.reason = DomainState.PAUSED, PausedReason.USER
        self.lifecycle(obj, SUSPENDED, SUSPENDED_PAUSED)

    def domain_resume(self, dom: Dom) -> None:
        obj = self.find(dom)
        if obj.state != DomainState.PAUSED:
            raise self.error(ErrorCode.INTERNAL_ERROR, f"domain '{obj.name}' not paused")
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.UNPAUSED
        self.lifecycle(obj, RESUMED, RESUMED_UNPAUSED)

    def domain_shutdown_flags(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0, "testDomainShutdownFlags")
        obj = self.find(dom)
        if obj.state != DomainState.RUNNING:
            raise self.error(ErrorCode.INTERNAL_ERROR, f"domain '{obj.name}' not running")
        self.stop(obj, ShutoffReason.SHUTDOWN)
        self.lifecycle(obj, STOPPED, STOPPED_SHUTDOWN)
        self.forget_if_transient(obj)

    def domain_reboot(self, dom: Dom, flags: int = 0) -> None:
        self.check_flags(flags, 0x1F, "testDomainReboot")
        obj = self.find(dom)
        if not obj.active:
            raise self.not_running()
        # The test driver "reboots" instantly and, unlike QEMU, raises no event.
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.BOOTED

    set_memory_function = "testDomainSetMemoryFlags"

    # -- devices ---------------------------------------------------------------------------

    def _live_only(self, obj: DomainObj, flags: int, function: str) -> None:
        self.check_flags(flags, int(ModificationImpact.LIVE | ModificationImpact.CONFIG), function)
        if not flags & (ModificationImpact.LIVE | ModificationImpact.CONFIG):
            flags = ModificationImpact.LIVE if obj.active else ModificationImpact.CONFIG
        if flags & ModificationImpact.CONFIG:
            self.check_flags(int(ModificationImpact.CONFIG), 0, function)
        if not obj.active:
            raise self.not_running()

    def domain_attach_device(self, dom: Dom, xml: str) -> None:
        # virDomainAttachDevice is AttachDeviceFlags(AFFECT_LIVE) in every driver
        self.domain_attach_device_flags(dom, xml, ModificationImpact.LIVE)

    def domain_attach_device_flags(self, dom: Dom, xml: str, flags: int = 0) -> None:
        obj = self.find(dom)
        elem = domxml.parse_device(xml)
        self._live_only(obj, flags, "testDomainAttachDeviceFlags")
        live = obj.live
        assert live is not None
        if elem.tag == "interface":
            devices.ensure_mac(elem, self._next_mac())
            alias = devices.next_net_alias(live)
        elif elem.tag == "disk":
            target = devices.disk_target(elem)
            if not target:
                raise self.conf_error(ErrorCode.XML_ERROR, "missing disk target")
            if devices.find_disk(live, target) is not None:
                raise self.error(ErrorCode.OPERATION_FAILED, f"target {target} already exists")
            alias = devices.disk_alias(elem)
        else:
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                f"live attach of device '{elem.tag}' is not supported",
            )
        devices.set_alias(elem, alias)
        live.devices.append(elem)
        self.emit(ev.DeviceAddedEvent(obj.ref(), alias))

    def _next_mac(self) -> int:
        self._mac_counter += 1
        return self._mac_counter

    # No domain_detach_device(_flags): libvirt's test driver lacks them (NO_SUPPORT).

    def domain_detach_device_alias(self, dom: Dom, alias: str, flags: int = 0) -> None:
        obj = self.find(dom)
        self._live_only(obj, flags, "testDomainDetachDeviceAlias")
        live = obj.live
        assert live is not None
        elem = devices.find_by_alias(live, alias)
        if elem is None:
            raise devices.alias_missing(alias)
        if elem.tag not in ("disk", "interface"):
            raise self.error(
                ErrorCode.OPERATION_UNSUPPORTED,
                f"live detach of device '{elem.tag}' is not supported",
            )
        live.devices.remove(elem)
        self.emit(ev.DeviceRemovedEvent(obj.ref(), alias))
