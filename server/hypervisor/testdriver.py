"""``test:///default``: libvirt's built-in test driver, in memory.

Starts from libvirt's default configuration (one running domain ``test``, id 1), reports
driver errors in domain TEST with the texts libvirt 9.0 uses. Like libvirt 9.0's test
driver it has no device hot-plug (attach/detach are NO_SUPPORT).
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable

from virtwire.protocol.constants import Feature
from virtwire.protocol.errors import ErrorCode, ErrorDomain
from virtwire.protocol.generated.remote_protocol import RemoteNonnullDomain as Dom
from virtwire.protocol.records import NodeInfo
from virtwire.server.hypervisor import devices, domxml
from virtwire.server.hypervisor.cpu_baseline import TestCpuBaseline
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
from virtwire.server.hypervisor.metadata import MetadataMixin
from virtwire.server.hypervisor.model import (
    DomainObj,
    DomainState,
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
from virtwire.server.hypervisor.test_checkpoints import TestCheckpoints
from virtwire.server.hypervisor.test_domain_extras import TestDomainExtras
from virtwire.server.hypervisor.test_save import TestSave
from virtwire.server.hypervisor.test_tuning_setters import TestTuningSetters
from virtwire.server.hypervisor.tuning import TestTuning
from virtwire.server.hypervisor.vcpus import VCPU_LIVE, VCPU_MAXIMUM
from virtwire.server.hypervisor.vhba import TestVhbaPools

# virDomainNetDefParseXML drops these names from an inactive definition (libvirt made them)
GENERATED_IFNAMES = ("vnet", "macvtap", "macvlan")
MAX_TEST_IFNAMES = 1024  # testDomainGenerateIfname's maxif

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
    TestTuningSetters,
    MetadataMixin,
    TestSave,
    TestDomainExtras,
    TestHostFacts,
    TestTuning,
    TestStats,
    TestGuestInfo,
    TestCheckpoints,
    TestSnapshots,
    TestNetworks,
    TestInterfaces,
    TestNodeDevices,
    TestVhbaPools,
    StorageMixin,
    TestScreenshot,
    TestCpuBaseline,
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
        self.generate_iothread_polls(obj)
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

    def parse(self, xml: str) -> domxml.DomainDef:
        """virDomainDefParse (inactive) + testDomainGenerateIfnames: interfaces without a MAC
        get a random 52:54:00 one, generated tap names (vnet*, macvtap*, macvlan*) are
        dropped, and every interface without a name is called testnetN (the first N free)."""
        ddef = super().parse(xml)
        nets = ddef.devices.findall("interface")
        for net in nets:
            devices.ensure_mac(net, secrets.randbits(24))
            target = net.find("target")
            if target is not None and (target.get("dev") or "").startswith(GENERATED_IFNAMES):
                del target.attrib["dev"]
                if not target.attrib and not len(target):
                    net.remove(target)
        taken = {t.get("dev") for t in (n.find("target") for n in nets) if t is not None}
        free = (f"testnet{i}" for i in range(MAX_TEST_IFNAMES) if f"testnet{i}" not in taken)
        for net in nets:
            target = net.find("target")
            if target is not None and target.get("dev"):
                continue
            name = next(free, None)
            if name is None:  # testDomainGenerateIfname
                raise self.error(
                    ErrorCode.INTERNAL_ERROR, f"Exceeded max iface limit {MAX_TEST_IFNAMES}"
                )
            if target is None:
                target = ET.Element("target")
                children = list(net)
                after = [i for i, c in enumerate(children) if c.tag in ("mac", "source")]
                net.insert(after[-1] + 1 if after else 0, target)
            target.set("dev", name)
        return ddef

    def connect_get_max_vcpus(self, virt_type: str | None) -> int:
        return 32  # testConnectGetMaxVcpus

    def domain_get_os_type(self, dom: Dom) -> str:
        self.find(dom)
        return "linux"  # testDomainGetOSType's fixed answer

    def domain_get_security_label(self, dom: Dom) -> tuple[str, int]:
        # testDomainGetSecurityLabel: only a running domain has a label
        if not self.find(dom).active:
            return "", 0
        return "libvirt-test", 1

    def domain_undefine_flags(self, dom: Dom, flags: int = 0) -> None:
        # VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        self.check_flags(flags, 0x3, "testDomainUndefineFlags")
        obj = self.find(dom)
        if obj.uuid in self.managed_saves() and not flags & 0x1:
            raise self.error(
                ErrorCode.OPERATION_INVALID,
                "Refusing to undefine while domain managed save image exists",
            )
        nsnapshots = len(self.snaps_of(obj).items)
        if not obj.active and nsnapshots and not flags & 0x2:
            raise self.error(
                ErrorCode.OPERATION_INVALID,
                f"cannot delete inactive domain with {nsnapshots} snapshots",
            )
        self.managed_saves().discard(obj.uuid)
        # The test driver lets a transient domain be "undefined" too.
        self.lifecycle(obj, UNDEFINED, UNDEFINED_REMOVED)
        if obj.active:
            obj.persistent = False
        else:
            del self.domains[obj.uuid]

    def _start(self, obj: DomainObj, ddef: domxml.DomainDef | None = None) -> None:
        self.managed_saves().discard(obj.uuid)  # testDomainStartState
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

    def domain_create_with_files(self, dom: Dom, flags: int = 0) -> Dom:
        return self.domain_create_with_flags(dom, flags)  # testDomainCreateWithFiles

    def domain_create_xml_with_files(self, xml: str, flags: int = 0) -> Dom:
        return self.domain_create_xml(xml, flags)  # testDomainCreateXMLWithFiles

    def domain_get_max_vcpus(self, dom: Dom) -> int:
        return self.domain_get_vcpus_flags(dom, VCPU_LIVE | VCPU_MAXIMUM)  # testDomainGetMaxVcpus

    def domain_is_updated(self, dom: Dom) -> int:
        return 0  # testDomainIsUpdated answers 0 without looking the domain up

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

    # No domain_attach_device(_flags), domain_detach_device(_flags) or
    # domain_detach_device_alias: libvirt 9.0's test driver has none of them, so virsh's
    # attach-device, attach-disk, attach-interface and their detach commands are NO_SUPPORT.
