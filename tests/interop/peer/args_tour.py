import re
import sys

import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
c = libvirt.open(sys.argv[1])
# a transient domain of our own (the test driver's state outlives a connection for a moment)
XML = c.lookupByName("test").XMLDesc(0).replace("<name>test</name>", "<name>tour2</name>")
XML = re.sub("<uuid>.*</uuid>", "<uuid>6695eb01-f6a4-8304-79aa-97f2502e1940</uuid>", XML)
XML = (
    XML.replace("id='1'", "")
    .replace("tournet0", "tournet0")
    .replace("aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:01")
)
dom = c.createXML(XML, 0)
net = c.networkLookupByName("default")
pool = c.storagePoolLookupByName("default-pool")


def show(v):
    if isinstance(v, (list, tuple)):
        return type(v).__name__ + "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {show(x)}" for k, x in sorted(v.items())) + "}"
    if type(v).__name__.startswith("vir"):
        try:
            return f"<{type(v).__name__} {v.name()}>"
        except Exception:
            return f"<{type(v).__name__}>"
    if isinstance(v, str) and len(v) > 120:
        return repr(v[:60]) + f"...({len(v)})"
    if isinstance(v, bytes):
        return f"bytes({len(v)})"
    return repr(v)


CALLS = [
    ("conn getCellsFreeMemory", lambda: c.getCellsFreeMemory(0, 2)),
    ("conn getCPUStats", lambda: c.getCPUStats(-1, 0)),
    ("conn getCPUStats0", lambda: c.getCPUStats(0, 0)),
    ("conn getMemoryStats", lambda: c.getMemoryStats(-1, 0)),
    ("conn getMemoryStats0", lambda: c.getMemoryStats(0, 0)),
    ("conn getCPUModelNames", lambda: c.getCPUModelNames("x86_64", 0)[:3]),
    ("conn getMaxVcpus", lambda: c.getMaxVcpus("test")),
    ("conn getMaxVcpusNone", lambda: c.getMaxVcpus(None)),
    ("conn listDevices", lambda: c.listDevices(None, 0)[:4]),
    ("conn numOfDevices", lambda: c.numOfDevices(None, 0)),
    ("conn numOfDevicesPci", lambda: c.numOfDevices("pci", 0)),
    ("conn findStoragePoolSources", lambda: c.findStoragePoolSources("logical", None, 0)),
    ("conn storageVolLookupByPath", lambda: c.storageVolLookupByPath("/nosuch")),
    (
        "conn storagePoolLookupByTargetPath",
        lambda: c.storagePoolLookupByTargetPath("/default-pool"),
    ),
    ("conn lookupByID", lambda: c.lookupByID(dom.ID())),
    ("conn lookupByID99", lambda: c.lookupByID(99)),
    (
        "conn lookupByUUIDString",
        lambda: c.lookupByUUIDString("6695eb01-f6a4-8304-79aa-97f2502e1940"),
    ),
    ("conn lookupByUUIDStringBad", lambda: c.lookupByUUIDString("nope")),
    ("conn interfaceLookupByMACString", lambda: c.interfaceLookupByMACString("aa:bb:cc:dd:ee:ff")),
    (
        "conn secretLookupByUsage",
        lambda: c.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, "x"),
    ),
    ("conn nwfilterLookupByName", lambda: c.nwfilterLookupByName("x")),
    ("conn compareCPU", lambda: c.compareCPU("<cpu><arch>x86_64</arch></cpu>", 0)),
    ("conn domainXMLToNative", lambda: c.domainXMLToNative("qemu-argv", dom.XMLDesc(0), 0)),
    ("conn getDomainCapabilities", lambda: c.getDomainCapabilities()[:40]),
    ("dom blockInfo", lambda: dom.blockInfo("vda", 0)),
    ("dom blockStats", lambda: dom.blockStats("vda")),
    ("dom blockStatsFlags", lambda: dom.blockStatsFlags("vda", 0)),
    ("dom blockStatsBad", lambda: dom.blockStats("sdz")),
    ("dom blockIoTune", lambda: dom.blockIoTune("vda", 0)),
    ("dom blockJobInfo", lambda: dom.blockJobInfo("vda", 0)),
    ("dom blockPeek", lambda: dom.blockPeek("vda", 0, 512, 0)),
    ("dom memoryPeek", lambda: dom.memoryPeek(0, 64, libvirt.VIR_MEMORY_VIRTUAL)),
    ("dom interfaceStats", lambda: dom.interfaceStats("tournet0")),
    ("dom interfaceStatsBad", lambda: dom.interfaceStats("nosuch0")),
    ("dom interfaceParameters", lambda: dom.interfaceParameters("tournet0", 0)),
    ("dom interfaceAddresses", lambda: dom.interfaceAddresses(0, 0)),
    ("dom interfaceAddressesAgent", lambda: dom.interfaceAddresses(1, 0)),
    ("dom getCPUStatsTotal", lambda: dom.getCPUStats(True, 0)),
    ("dom getCPUStats", lambda: dom.getCPUStats(False, 0)),
    ("dom metadataDesc", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0)),
    ("dom metadataElem", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://x/", 0)),
    (
        "dom setMetadata",
        lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "t1", None, None, 0),
    ),
    ("dom metadataTitle", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0)),
    ("dom authorizedSSHKeysGet", lambda: dom.authorizedSSHKeysGet("root", 0)),
    ("dom memoryStats", dom.memoryStats),
    ("dom jobInfo", dom.jobInfo),
    ("dom jobStats", lambda: dom.jobStats(0)),
    ("dom vcpuPinInfo", lambda: dom.vcpuPinInfo(0)),
    ("dom pinVcpu", lambda: dom.pinVcpu(0, (True, False, True))),
    ("dom vcpuPinInfoAfter", lambda: dom.vcpuPinInfo(0)),
    ("dom pinEmulator", lambda: dom.pinEmulator((True, True), 0)),
    ("dom ioThreadInfo", lambda: dom.ioThreadInfo(0)),
    ("dom addIOThread", lambda: dom.addIOThread(3, 0)),
    ("dom ioThreadInfoAfter", lambda: dom.ioThreadInfo(0)),
    ("dom delIOThread", lambda: dom.delIOThread(3, 0)),
    ("dom setMemory", lambda: dom.setMemory(2097152)),
    ("dom setMemoryStatsPeriod", lambda: dom.setMemoryStatsPeriod(2, 0)),
    ("dom setVcpusFlags", lambda: dom.setVcpusFlags(2, 0)),
    ("dom setSchedulerParameters", lambda: dom.setSchedulerParameters({"weight": 60})),
    ("dom schedulerParameters", dom.schedulerParameters),
    ("dom setMemoryParameters", lambda: dom.setMemoryParameters({"hard_limit": 4096}, 0)),
    ("dom memoryParameters", lambda: dom.memoryParameters(0)),
    ("dom setBlkioParameters", lambda: dom.setBlkioParameters({"weight": 400}, 0)),
    ("dom blkioParameters", lambda: dom.blkioParameters(0)),
    ("dom setNumaParameters", lambda: dom.setNumaParameters({"numa_nodeset": "0"}, 0)),
    ("dom numaParameters", lambda: dom.numaParameters(0)),
    (
        "dom setInterfaceParameters",
        lambda: dom.setInterfaceParameters("tournet0", {"inbound.average": 100}, 0),
    ),
    ("dom interfaceParametersAfter", lambda: dom.interfaceParameters("tournet0", 0)),
    ("dom setBlockIoTune", lambda: dom.setBlockIoTune("vda", {"total_bytes_sec": 1000}, 0)),
    ("dom blockIoTuneAfter", lambda: dom.blockIoTune("vda", 0)),
    ("dom perfEvents", lambda: dom.perfEvents(0)),
    ("dom setPerfEvents", lambda: dom.setPerfEvents({"cmt": True}, 0)),
    ("dom guestInfo", lambda: dom.guestInfo(0, 0)),
    ("dom sendKey", lambda: dom.sendKey(0, 0, [1, 2], 2, 0)),
    ("dom sendProcessSignal", lambda: dom.sendProcessSignal(1, 1, 0)),
    ("dom screenshotBad", lambda: dom.screenshot(c.newStream(0), 99, 0)),
    ("dom setLifecycleAction", lambda: dom.setLifecycleAction(0, 1, 0)),
    ("dom snapshotLookupByName", lambda: dom.snapshotLookupByName("nosuch", 0)),
    ("dom checkpointLookupByName", lambda: dom.checkpointLookupByName("nosuch", 0)),
    ("dom hasCurrentSnapshot", lambda: dom.hasCurrentSnapshot(0)),
    ("dom setUserPassword", lambda: dom.setUserPassword("root", "pw", 0)),
    ("dom fSTrim", lambda: dom.fSTrim(None, 0, 0)),
    ("dom getTime", lambda: dom.getTime(0)),
    ("dom setTimeSync", lambda: dom.setTime(None, libvirt.VIR_DOMAIN_TIME_SYNC)),
    ("dom migrateSetMaxSpeed", lambda: dom.migrateSetMaxSpeed(100, 0)),
    ("dom migrateGetMaxSpeed", lambda: dom.migrateGetMaxSpeed(0)),
    ("net DHCPLeases", lambda: net.DHCPLeases(None, 0)),
    ("net listAllPorts", lambda: net.listAllPorts(0)),
    (
        "net update",
        lambda: net.update(
            libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
            libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
            -1,
            "<host mac='00:16:3e:77:e2:ed' name='foo' ip='192.168.122.10'/>",
            0,
        ),
    ),
    ("net xmlAfterUpdate", lambda: "foo" in net.XMLDesc(0)),
    (
        "net updateDelete",
        lambda: net.update(
            libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
            libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
            -1,
            "<host mac='00:16:3e:77:e2:ed' name='foo' ip='192.168.122.10'/>",
            0,
        ),
    ),
    ("pool storageVolLookupByName", lambda: pool.storageVolLookupByName("nosuch")),
    ("pool listVolumes", pool.listVolumes),
    ("pool refresh", lambda: pool.refresh(0)),
    (
        "pool createXML",
        lambda: pool.createXML(
            "<volume><name>tv.img</name><capacity unit='M'>1</capacity></volume>", 0
        ),
    ),
    ("pool volInfo", lambda: pool.storageVolLookupByName("tv.img").info()),
    ("pool volResize", lambda: pool.storageVolLookupByName("tv.img").resize(2 << 20, 0)),
    ("pool volInfoAfter", lambda: pool.storageVolLookupByName("tv.img").info()),
    ("pool volPath", lambda: pool.storageVolLookupByName("tv.img").path()),
    ("pool volDelete", lambda: pool.storageVolLookupByName("tv.img").delete(0)),
]
MORE = [
    (
        "conn getAllDomainStats",
        lambda: [(d.name(), sorted(s)[:6]) for d, s in c.getAllDomainStats(0, 0)],
    ),
    (
        "conn getAllDomainStatsState",
        lambda: [(d.name(), s) for d, s in c.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)],
    ),
    (
        "conn domainListGetStats",
        lambda: [
            (d.name(), s)
            for d, s in c.domainListGetStats(
                [c.lookupByName("test")], libvirt.VIR_DOMAIN_STATS_STATE, 0
            )
        ],
    ),
    ("conn allocPages", lambda: c.allocPages({4: 1}, 0, 1, 0)),
    ("conn createLinux", lambda: c.createLinux("<domain/>", 0)),
    ("dom fsFreeze", lambda: c.lookupByName("test").fsFreeze(None, 0)),
    ("dom fsThaw", lambda: c.lookupByName("test").fsThaw(["/"], 0)),
]
CALLS += MORE
CALLS.append(("dom destroy", dom.destroy))
for label, fn in CALLS:
    try:
        print(label, "OK", show(fn()), flush=True)
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), str(e), flush=True)
    except Exception as e:
        print(label, "EXC", type(e).__name__, str(e)[:120], flush=True)
