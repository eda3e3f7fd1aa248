"""Generate the libvirt-python surface table and the constants from libvirt's API XML.

``python -m virtwire.client.apigen [--api-dir DIR] [--check]`` reads
``libvirt-api.xml``, ``libvirt-qemu-api.xml`` and ``libvirt-lxc-api.xml`` (default
``/usr/share/libvirt/api``) and writes two committed modules:

- :mod:`virtwire.client.api_table` — one :class:`Api` row per C function: the libvirt-python
  class it lands on (or ``None`` for a module function), its Python name, parameters and
  defaults, return shape, the remote procedure serving it (``Procedure.api``) and how the
  procedure's args struct is filled from the Python arguments;
- :mod:`virtwire.client.constants` — every ``VIR_*`` enum value and typed-parameter name
  libvirt-python exposes at module level.

The rules are libvirt-python's (its ``generator.py``): which functions it skips, which ones
have hand-written C stubs (their Python arguments then come from its
``libvirt-override-api.xml``, whose facts are transcribed in :data:`OVERRIDE_API` below),
how a function is attached to a class (the type of its first, else second argument), how
names are fixed up (``virDomainGetXMLDesc`` → ``XMLDesc``), and that ``flags`` and
``optional`` arguments default to 0 (integers) or None.  The XML is read here only: at run
time nothing of libvirt needs to be installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

DEFAULT_API_DIR = Path("/usr/share/libvirt/api")
HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------
# libvirt-python's rules (facts from its generator.py)
# --------------------------------------------------------------------------------------

LIBVIRT_HEADERS = (
    "libvirt", "libvirt-common", "libvirt-domain", "libvirt-domain-checkpoint",
    "libvirt-domain-snapshot", "libvirt-event", "libvirt-host", "libvirt-interface",
    "libvirt-network", "libvirt-nodedev", "libvirt-nwfilter", "libvirt-secret",
    "libvirt-storage", "libvirt-stream",
)  # fmt: skip
FUNCTION_MODULES = (*LIBVIRT_HEADERS, "event", "virevent", "virerror", "virterror")
ENUM_FILES = (*LIBVIRT_HEADERS, "virerror", "virterror")

#: functions whose C stub is hand-written (the Python wrapper is still generated, with the
#: arguments of the override XML)
_SKIP_IMPL_WORDS = """
virConnectGetVersion virConnectGetLibVersion virConnectListDomainsID
virConnectListDefinedDomains virConnectListNetworks virConnectListDefinedNetworks
virConnectListSecrets virConnectListInterfaces virConnectListStoragePools
virConnectListDefinedStoragePools virConnectListStorageVols virConnectListDefinedStorageVols
virConnectListDefinedInterfaces virConnectListNWFilters virDomainSnapshotListNames
virDomainSnapshotListChildrenNames virConnGetLastError virGetLastError virDomainGetInfo
virDomainGetState virDomainGetControlInfo virDomainGetBlockInfo virDomainGetJobInfo
virDomainGetJobStats virNodeGetInfo virNodeGetSecurityModel virDomainGetSecurityLabel
virDomainGetSecurityLabelList virDomainGetUUID virDomainGetUUIDString virDomainLookupByUUID
virNetworkGetUUID virNetworkGetUUIDString virNetworkLookupByUUID virNetworkPortGetUUID
virNetworkPortGetUUIDString virNetworkPortLookupByUUID virDomainGetAutostart
virNetworkGetAutostart virDomainBlockStats virDomainInterfaceStats virDomainMemoryStats
virNodeGetCellsFreeMemory virDomainGetSchedulerType virDomainGetSchedulerParameters
virDomainGetSchedulerParametersFlags virDomainSetSchedulerParameters
virDomainSetSchedulerParametersFlags virDomainSetBlkioParameters virDomainGetBlkioParameters
virDomainSetMemoryParameters virDomainGetMemoryParameters virDomainSetNumaParameters
virDomainGetNumaParameters virDomainGetVcpus virDomainPinVcpu virDomainPinVcpuFlags
virDomainGetVcpuPinInfo virDomainGetEmulatorPinInfo virDomainPinEmulator
virDomainGetIOThreadInfo virDomainPinIOThread virDomainSetIOThreadParams virSecretGetValue
virSecretSetValue virSecretGetUUID virSecretGetUUIDString virSecretLookupByUUID
virNWFilterGetUUID virNWFilterGetUUIDString virNWFilterLookupByUUID virStoragePoolGetUUID
virStoragePoolGetUUIDString virStoragePoolLookupByUUID virStoragePoolGetInfo
virStorageVolGetInfo virStorageVolGetInfoFlags virStoragePoolGetAutostart
virStoragePoolListVolumes virDomainBlockPeek virDomainMemoryPeek virEventRegisterImpl
virNodeListDevices virNodeDeviceListCaps virConnectBaselineCPU virDomainRevertToSnapshot
virDomainSendKey virNodeGetCPUStats virNodeGetMemoryStats virDomainGetBlockJobInfo
virDomainMigrateGetCompressionCache virDomainMigrateGetMaxSpeed virDomainMigrateGetMaxDowntime
virDomainBlockStatsFlags virDomainSetBlockIoTune virDomainGetBlockIoTune
virDomainSetInterfaceParameters virDomainGetInterfaceParameters virDomainGetCPUStats
virDomainGetDiskErrors virNodeGetMemoryParameters virNodeSetMemoryParameters
virConnectSetIdentity virNodeGetCPUMap virDomainMigrate3 virDomainMigrateToURI3
virConnectGetCPUModelNames virNodeGetFreePages virNetworkGetDHCPLeases virDomainBlockCopy
virNodeAllocPages virDomainGetFSInfo virDomainInterfaceAddresses virDomainGetPerfEvents
virDomainSetPerfEvents virDomainGetGuestVcpus virConnectBaselineHypervisorCPU
virDomainGetLaunchSecurityInfo virNodeGetSEVInfo virNetworkPortGetParameters
virNetworkPortSetParameters virDomainGetGuestInfo virDomainSetLaunchSecurityState
virDomainAuthorizedSSHKeysGet virDomainAuthorizedSSHKeysSet virDomainGetMessages
virNodeDeviceGetAutostart virDomainSaveParams virDomainRestoreParams
"""
SKIP_IMPL = frozenset(_SKIP_IMPL_WORDS.split())
QEMU_SKIP_IMPL = frozenset({"virDomainQemuMonitorCommand", "virDomainQemuAgentCommand"})
LXC_SKIP_IMPL = frozenset({"virDomainLxcOpenNamespace"})

#: functions libvirt-python does not generate at all (the ones it hand-writes in
#: libvirt-override-*.py are in PY_OVERRIDES below with their reason)
SKIP_FUNCTION: dict[str, str] = {
    "virConnectListDomains": "exposed as listDomainsID (virConnectListDomainsID)",
    "virConnSetErrorFunc": "not used in Python",
    "virResetError": "not used in Python",
    "virGetVersion": "hand-written module function getVersion",
    "virSetErrorFunc": "exposed as registerErrorHandler",
    "virConnCopyLastError": "exposed as virConnGetLastError",
    "virCopyLastError": "exposed as virGetLastError",
    "virConnectOpenAuth": "hand-written module function openAuth",
    "virDefaultErrorFunc": "called from the error handler glue",
    "virSaveLastError": "Python has its own error wrapper",
    "virFreeError": "only needed with virSaveLastError",
    "virDomainGetConnect": "pure Python connect()",
    "virInterfaceGetConnect": "pure Python connect()",
    "virNetworkGetConnect": "pure Python connect()",
    "virNetworkPortGetNetwork": "pure Python network()",
    "virSecretGetConnect": "pure Python connect()",
    "virNWFilterGetConnect": "pure Python connect()",
    "virStoragePoolGetConnect": "pure Python connect()",
    "virStorageVolGetConnect": "pure Python connect()",
    "virNetworkDHCPLeaseFree": "C only: Python uses lists",
    "virDomainStatsRecordListFree": "C only: Python uses dicts",
    "virDomainFSInfoFree": "C only: Python uses lists",
    "virDomainIOThreadInfoFree": "C only: Python uses lists",
    "virDomainInterfaceFree": "C only: Python uses lists",
    "virStreamFree": "the stream's __del__ frees it",
    "virDomainLxcEnterNamespace": "not wrapped by libvirt-python",
    "virDomainLxcEnterSecurityLabel": "not wrapped by libvirt-python",
}
for _kind in ("Connect", "Domain", "Interface", "Network", "NetworkPort", "NodeDevice",
              "Secret", "NWFilter", "NWFilterBinding", "StoragePool", "StorageVol", "Stream",
              "DomainCheckpoint", "DomainSnapshot"):  # fmt: skip
    SKIP_FUNCTION[f"vir{_kind}Ref"] = "reference counting has no use in Python"
for _t in ("Boolean", "Double", "FromString", "Int", "LLong", "String", "UInt", "ULLong"):
    SKIP_FUNCTION[f"virTypedParamsAdd{_t}"] = "C only: Python uses dicts for typed parameters"
for _t in ("", "Boolean", "Double", "Int", "LLong", "String", "UInt", "ULLong"):
    SKIP_FUNCTION[f"virTypedParamsGet{_t}"] = "C only: Python uses dicts for typed parameters"
SKIP_FUNCTION["virTypedParamsClear"] = "C only: Python uses dicts for typed parameters"
SKIP_FUNCTION["virTypedParamsFree"] = "C only: Python uses dicts for typed parameters"

#: C functions libvirt-python does not generate but hand-writes in libvirt-override-*.py:
#: (class, Python name, Python parameters after self)
PY_OVERRIDES: dict[str, tuple[str | None, str, tuple[str, ...]]] = {
    "virConnectDomainEventRegister": ("virConnect", "domainEventRegister", ("cb", "opaque")),
    "virConnectDomainEventDeregister": ("virConnect", "domainEventDeregister", ("cb",)),
    "virConnectDomainEventRegisterAny": (
        "virConnect",
        "domainEventRegisterAny",
        ("dom", "eventID", "cb", "opaque"),
    ),
    "virConnectDomainEventDeregisterAny": (
        "virConnect",
        "domainEventDeregisterAny",
        ("callbackID",),
    ),
    "virConnectNetworkEventRegisterAny": (
        "virConnect",
        "networkEventRegisterAny",
        ("net", "eventID", "cb", "opaque"),
    ),
    "virConnectNetworkEventDeregisterAny": (
        "virConnect",
        "networkEventDeregisterAny",
        ("callbackID",),
    ),
    "virConnectStoragePoolEventRegisterAny": (
        "virConnect",
        "storagePoolEventRegisterAny",
        ("pool", "eventID", "cb", "opaque"),
    ),
    "virConnectStoragePoolEventDeregisterAny": (
        "virConnect",
        "storagePoolEventDeregisterAny",
        ("callbackID",),
    ),
    "virConnectNodeDeviceEventRegisterAny": (
        "virConnect",
        "nodeDeviceEventRegisterAny",
        ("dev", "eventID", "cb", "opaque"),
    ),
    "virConnectNodeDeviceEventDeregisterAny": (
        "virConnect",
        "nodeDeviceEventDeregisterAny",
        ("callbackID",),
    ),
    "virConnectSecretEventRegisterAny": (
        "virConnect",
        "secretEventRegisterAny",
        ("secret", "eventID", "cb", "opaque"),
    ),
    "virConnectSecretEventDeregisterAny": (
        "virConnect",
        "secretEventDeregisterAny",
        ("callbackID",),
    ),
    "virConnectListAllDomains": ("virConnect", "listAllDomains", ("flags=0",)),
    "virDomainListAllCheckpoints": ("virDomain", "listAllCheckpoints", ("flags=0",)),
    "virDomainCheckpointListAllChildren": ("virDomainCheckpoint", "listAllChildren", ("flags=0",)),
    "virDomainListAllSnapshots": ("virDomain", "listAllSnapshots", ("flags=0",)),
    "virDomainSnapshotListAllChildren": ("virDomainSnapshot", "listAllChildren", ("flags=0",)),
    "virConnectListAllStoragePools": ("virConnect", "listAllStoragePools", ("flags=0",)),
    "virStoragePoolListAllVolumes": ("virStoragePool", "listAllVolumes", ("flags=0",)),
    "virConnectListAllNetworks": ("virConnect", "listAllNetworks", ("flags=0",)),
    "virNetworkListAllPorts": ("virNetwork", "listAllPorts", ("flags=0",)),
    "virConnectListAllInterfaces": ("virConnect", "listAllInterfaces", ("flags=0",)),
    "virConnectListAllNodeDevices": ("virConnect", "listAllDevices", ("flags=0",)),
    "virConnectListAllNWFilters": ("virConnect", "listAllNWFilters", ("flags=0",)),
    "virConnectListAllNWFilterBindings": ("virConnect", "listAllNWFilterBindings", ("flags=0",)),
    "virConnectListAllSecrets": ("virConnect", "listAllSecrets", ("flags=0",)),
    "virConnectGetAllDomainStats": ("virConnect", "getAllDomainStats", ("stats=0", "flags=0")),
    "virDomainListGetStats": ("virConnect", "domainListGetStats", ("doms", "stats=0", "flags=0")),
    "virStreamRecvAll": ("virStream", "recvAll", ("handler", "opaque")),
    "virStreamSendAll": ("virStream", "sendAll", ("handler", "opaque")),
    "virStreamRecv": ("virStream", "recv", ("nbytes",)),
    "virStreamSend": ("virStream", "send", ("data",)),
    "virStreamRecvHole": ("virStream", "recvHole", ("flags=0",)),
    "virStreamSendHole": ("virStream", "sendHole", ("length", "flags=0")),
    "virStreamRecvFlags": ("virStream", "recvFlags", ("nbytes", "flags=0")),
    "virStreamSparseRecvAll": ("virStream", "sparseRecvAll", ("handler", "holeHandler", "opaque")),
    "virStreamSparseSendAll": (
        "virStream",
        "sparseSendAll",
        ("handler", "holeHandler", "skipHandler", "opaque"),
    ),
    "virConnectUnregisterCloseCallback": ("virConnect", "unregisterCloseCallback", ()),
    "virConnectRegisterCloseCallback": ("virConnect", "registerCloseCallback", ("cb", "opaque")),
    "virDomainCreateXMLWithFiles": (
        "virConnect",
        "createXMLWithFiles",
        ("xmlDesc", "files", "flags=0"),
    ),
    "virDomainCreateWithFiles": ("virDomain", "createWithFiles", ("files", "flags=0")),
    "virDomainFSFreeze": ("virDomain", "fsFreeze", ("mountpoints=None", "flags=0")),
    "virDomainFSThaw": ("virDomain", "fsThaw", ("mountpoints=None", "flags=0")),
    "virDomainGetTime": ("virDomain", "getTime", ("flags=0",)),
    "virDomainSetTime": ("virDomain", "setTime", ("time=None", "flags=0")),
    "virConnectDomainQemuMonitorEventRegister": (
        None,
        "qemuMonitorEventRegister",
        ("conn", "dom", "event", "cb", "opaque", "flags=0"),
    ),
    "virConnectDomainQemuMonitorEventDeregister": (
        None,
        "qemuMonitorEventDeregister",
        ("conn", "callbackID"),
    ),
    "virDomainFDAssociate": ("virDomain", "FDAssociate", ("name", "files", "flags=0")),
    "virGetVersion": (None, "getVersion", ("name=None",)),
    "virConnectOpenAuth": (None, "openAuth", ("uri", "auth", "flags=0")),
    "virSetErrorFunc": (None, "registerErrorHandler", ("f", "ctx")),
    "virEventAddHandle": (None, "virEventAddHandle", ("fd", "events", "cb", "opaque")),
    "virEventAddTimeout": (None, "virEventAddTimeout", ("timeout", "cb", "opaque")),
    "virStreamEventAddCallback": ("virStream", "eventAddCallback", ("events", "cb", "opaque")),
    "virDomainQemuMonitorCommandWithFiles": (
        None,
        "qemuMonitorCommandWithFiles",
        ("domain", "cmd", "files=[]", "flags=0"),
    ),
}
QEMU_PY_OVERRIDES = frozenset({
    "virConnectDomainQemuMonitorEventRegister", "virConnectDomainQemuMonitorEventDeregister",
    "virDomainQemuMonitorCommandWithFiles",
})  # fmt: skip

#: libvirt-python's libvirt-override-api.xml, transcribed: function -> (C return type,
#: arguments "name:type", a trailing "?" marking an argument documented as optional)
OVERRIDE_API: dict[str, tuple[str, str]] = {
    "virConnectGetVersion": ("int", "conn:virConnectPtr"),
    "virConnectGetLibVersion": ("int", "conn:virConnectPtr"),
    "virConnectListDomainsID": ("char *", "conn:virConnectPtr"),
    "virConnectListDefinedDomains": ("char *", "conn:virConnectPtr"),
    "virConnectListNetworks": ("char *", "conn:virConnectPtr"),
    "virConnectListDefinedNetworks": ("char *", "conn:virConnectPtr"),
    "virDomainLookupByUUID": ("virDomainPtr", "conn:virConnectPtr, uuid:const unsigned char *"),
    "virNetworkLookupByUUID": ("virNetworkPtr", "conn:virConnectPtr, uuid:const unsigned char *"),
    "virDomainGetInfo": ("char *", "domain:virDomainPtr"),
    "virDomainGetState": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virDomainGetControlInfo": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virDomainGetBlockInfo": (
        "char *",
        "domain:virDomainPtr, path:const char *, flags:unsigned int",
    ),
    "virDomainGetJobInfo": ("char *", "domain:virDomainPtr"),
    "virDomainGetJobStats": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virNodeGetInfo": ("char *", "conn:virConnectPtr"),
    "virNodeGetSecurityModel": ("char *", "conn:virConnectPtr"),
    "virDomainGetSecurityLabel": ("char *", "domain:virDomainPtr"),
    "virDomainGetSecurityLabelList": ("char *", "domain:virDomainPtr"),
    "virNodeGetCPUStats": ("char *", "conn:virConnectPtr, cpuNum:int, flags:unsigned int"),
    "virNodeGetMemoryStats": ("char *", "conn:virConnectPtr, cellNum:int, flags:unsigned int"),
    "virDomainGetUUID": ("char *", "domain:virDomainPtr"),
    "virDomainGetUUIDString": ("char *", "pool:virDomainPtr"),
    "virNetworkGetUUID": ("char *", "domain:virNetworkPtr"),
    "virNetworkGetUUIDString": ("char *", "net:virNetworkPtr"),
    "virStoragePoolGetUUID": ("char *", "pool:virStoragePoolPtr"),
    "virStoragePoolGetUUIDString": ("char *", "pool:virStoragePoolPtr"),
    "virNetworkGetAutostart": ("int", "domain:virNetworkPtr"),
    "virDomainGetAutostart": ("int", "domain:virDomainPtr"),
    "virStoragePoolGetAutostart": ("int", "pool:virStoragePoolPtr"),
    "virDomainBlockStats": ("char *", "domain:virDomainPtr, path:char *"),
    "virDomainBlockStatsFlags": ("char *", "domain:virDomainPtr, path:char *, flags:int"),
    "virDomainGetCPUStats": ("char *", "domain:virDomainPtr, total:bool, flags:int"),
    "virDomainInterfaceStats": ("char *", "domain:virDomainPtr, path:char *"),
    "virDomainMemoryStats": ("char *", "domain:virDomainPtr"),
    "virNodeGetCellsFreeMemory": ("char *", "conn:virConnectPtr, startCell:int, maxCells:int"),
    "virDomainGetSchedulerParameters": ("char *", "domain:virDomainPtr"),
    "virDomainGetSchedulerParametersFlags": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainGetSchedulerType": ("char *", "domain:virDomainPtr"),
    "virDomainGetVcpus": ("char *", "domain:virDomainPtr"),
    "virDomainPinVcpu": ("int", "domain:virDomainPtr, vcpu:unsigned int, cpumap:unsigned char *"),
    "virDomainPinVcpuFlags": (
        "int",
        "domain:virDomainPtr, vcpu:unsigned int, cpumap:unsigned char *, flags:int",
    ),
    "virDomainGetVcpuPinInfo": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainGetEmulatorPinInfo": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainPinEmulator": ("int", "domain:virDomainPtr, cpumap:unsigned char *, flags:int"),
    "virDomainGetIOThreadInfo": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainPinIOThread": (
        "int",
        "domain:virDomainPtr, iothread_val:unsigned int, cpumap:unsigned char *, flags:int",
    ),
    "virDomainSetIOThreadParams": (
        "int",
        "domain:virDomainPtr, iothread_val:unsigned int, params:virTypedParameterPtr, "
        "flags:unsigned int",
    ),
    "virDomainSetSchedulerParameters": ("int", "domain:virDomainPtr, params:virSchedParameterPtr"),
    "virDomainSetSchedulerParametersFlags": (
        "int",
        "domain:virDomainPtr, params:virSchedParameterPtr, flags:int",
    ),
    "virDomainSetBlkioParameters": (
        "int",
        "domain:virDomainPtr, params:virBlkioParameterPtr, flags:int",
    ),
    "virDomainGetBlkioParameters": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainSetMemoryParameters": (
        "int",
        "domain:virDomainPtr, params:virMemoryParameterPtr, flags:int",
    ),
    "virDomainGetMemoryParameters": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainSetNumaParameters": (
        "int",
        "domain:virDomainPtr, params:virTypedParameterPtr, flags:int",
    ),
    "virDomainGetNumaParameters": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainGetPerfEvents": ("char *", "domain:virDomainPtr, flags:int"),
    "virDomainSetPerfEvents": (
        "int",
        "domain:virDomainPtr, params:virTypedParameterPtr, flags:int",
    ),
    "virDomainSetInterfaceParameters": (
        "int",
        "dom:virDomainPtr, device:const char *, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virDomainGetInterfaceParameters": (
        "char *",
        "dom:virDomainPtr, device:const char *, flags:unsigned int",
    ),
    "virConnectListStoragePools": ("char *", "conn:virConnectPtr"),
    "virConnectListDefinedStoragePools": ("char *", "conn:virConnectPtr"),
    "virStoragePoolListVolumes": ("char *", "pool:virStoragePoolPtr"),
    "virStoragePoolGetInfo": ("char *", "pool:virStoragePoolPtr"),
    "virStorageVolGetInfo": ("char *", "vol:virStorageVolPtr"),
    "virStorageVolGetInfoFlags": ("char *", "vol:virStorageVolPtr, flags:unsigned int"),
    "virNodeListDevices": (
        "char *",
        "conn:virConnectPtr, cap:const unsigned char *, flags:unsigned int",
    ),
    "virNodeDeviceListCaps": ("char *", "dev:virNodeDevicePtr"),
    "virSecretGetValue": ("char *", "secret:virSecretPtr, flags:unsigned int"),
    "virConnectListSecrets": ("char *", "conn:virConnectPtr"),
    "virSecretSetValue": ("int", "secret:virSecretPtr, value:const char *, flags:unsigned int"),
    "virSecretLookupByUUID": ("virSecretPtr", "conn:virConnectPtr, uuid:const unsigned char *"),
    "virSecretGetUUID": ("char *", "secret:virSecretPtr"),
    "virSecretGetUUIDString": ("char *", "secret:virSecretPtr"),
    "virConnectListNWFilters": ("char *", "conn:virConnectPtr"),
    "virNWFilterLookupByUUID": ("virNWFilterPtr", "conn:virConnectPtr, uuid:const unsigned char *"),
    "virNWFilterGetUUID": ("char *", "nwfilter:virNWFilterPtr"),
    "virNWFilterGetUUIDString": ("char *", "nwfilter:virNWFilterPtr"),
    "virConnectListInterfaces": ("char *", "conn:virConnectPtr"),
    "virConnectListDefinedInterfaces": ("char *", "conn:virConnectPtr"),
    "virConnectBaselineCPU": (
        "char *",
        "conn:virConnectPtr, xmlCPUs:const char **, flags:unsigned int",
    ),
    "virConnectGetCPUModelNames": (
        "char *",
        "conn:virConnectPtr, arch:const char *, flags:unsigned int",
    ),
    "virDomainSnapshotListNames": ("char *", "dom:virDomainPtr, flags:unsigned int"),
    "virDomainSnapshotListChildrenNames": (
        "char *",
        "snapshot:virDomainSnapshotPtr, flags:unsigned int",
    ),
    "virDomainRevertToSnapshot": (
        "int",
        "dom:virDomainPtr, snap:virDomainSnapshotPtr, flags:unsigned int",
    ),
    "virDomainGetBlockJobInfo": (
        "char *",
        "dom:virDomainPtr, path:const char *, flags:unsigned int",
    ),
    "virDomainMigrateGetCompressionCache": (
        "unsigned long long",
        "domain:virDomainPtr, flags:unsigned int",
    ),
    "virDomainMigrateGetMaxSpeed": ("unsigned long", "domain:virDomainPtr, flags:unsigned int"),
    "virDomainMigrate3": (
        "virDomainPtr",
        "domain:virDomainPtr, dconn:virConnectPtr, params:char *, flags:unsigned int",
    ),
    "virDomainMigrateToURI3": (
        "int",
        "domain:virDomainPtr, dconnuri:char *, params:char *, flags:unsigned int",
    ),
    "virDomainSetBlockIoTune": (
        "int",
        "dom:virDomainPtr, disk:const char *, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virDomainGetBlockIoTune": (
        "char *",
        "dom:virDomainPtr, disk:const char *, flags:unsigned int",
    ),
    "virDomainBlockPeek": (
        "char *",
        "dom:virDomainPtr, disk:const char *, offset:unsigned long long, size:size_t, "
        "flags:unsigned int",
    ),
    "virDomainMemoryPeek": (
        "char *",
        "dom:virDomainPtr, start:unsigned long long, size:size_t, flags:unsigned int",
    ),
    "virDomainGetDiskErrors": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virNodeSetMemoryParameters": (
        "int",
        "conn:virConnectPtr, params:virTypedParameterPtr, flags:int",
    ),
    "virNodeGetMemoryParameters": ("char *", "conn:virConnectPtr, flags:int"),
    "virNodeGetCPUMap": ("char *", "conn:virConnectPtr, flags:int"),
    "virNodeGetFreePages": (
        "char *",
        "conn:virConnectPtr, pages:char *, startCell:int, maxCells:int, flags:int",
    ),
    "virNetworkGetDHCPLeases": (
        "char *",
        "network:virNetworkPtr, mac:const char *?, flags:unsigned int",
    ),
    "virDomainBlockCopy": (
        "int",
        "dom:virDomainPtr, disk:const char *, destxml:const char *, "
        "params:virTypedParameterPtr?, flags:unsigned int",
    ),
    "virNodeAllocPages": (
        "int",
        "conn:virConnectPtr, pages:char *, startCell:int?, cellCount:int?, flags:unsigned int",
    ),
    "virDomainGetFSInfo": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virDomainInterfaceAddresses": (
        "char *",
        "dom:virDomainPtr, source:unsigned int, flags:unsigned int",
    ),
    "virDomainGetGuestVcpus": ("int", "dom:virDomainPtr, flags:unsigned int"),
    # later additions of the same file (libvirt-python 4.x .. 9.0)
    "virDomainMigrateGetMaxDowntime": (
        "unsigned long long",
        "domain:virDomainPtr, flags:unsigned int",
    ),
    "virDomainSendKey": (
        "int",
        "domain:virDomainPtr, codeset:unsigned int, holdtime:unsigned int, "
        "keycodes:unsigned int *, nkeycodes:unsigned int, flags:unsigned int",
    ),
    "virConnectListStorageVols": ("char *", "conn:virConnectPtr"),
    "virConnectListDefinedStorageVols": ("char *", "conn:virConnectPtr"),
    "virNetworkPortLookupByUUID": (
        "virNetworkPortPtr",
        "net:virNetworkPtr, uuid:const unsigned char *",
    ),
    "virNetworkPortGetUUID": ("char *", "port:virNetworkPortPtr"),
    "virNetworkPortGetUUIDString": ("char *", "port:virNetworkPortPtr"),
    "virStoragePoolLookupByUUID": (
        "virStoragePoolPtr",
        "conn:virConnectPtr, uuid:const unsigned char *",
    ),
    "virEventRegisterImpl": (
        "int",
        "addHandle:pythonObject, updateHandle:pythonObject, removeHandle:pythonObject, "
        "addTimeout:pythonObject, updateTimeout:pythonObject, removeTimeout:pythonObject",
    ),
    "virConnectSetIdentity": (
        "int",
        "conn:virConnectPtr, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virConnectBaselineHypervisorCPU": (
        "char *",
        "conn:virConnectPtr, emulator:const char *, arch:const char *, "
        "machine:const char *, virttype:const char *, xmlCPUs:const char **, "
        "flags:unsigned int",
    ),
    "virDomainGetLaunchSecurityInfo": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virDomainSetLaunchSecurityState": (
        "int",
        "domain:virDomainPtr, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virNodeGetSEVInfo": ("char *", "conn:virConnectPtr, flags:unsigned int"),
    "virNetworkPortGetParameters": ("char *", "port:virNetworkPortPtr, flags:unsigned int"),
    "virNetworkPortSetParameters": (
        "int",
        "port:virNetworkPortPtr, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virDomainGetGuestInfo": (
        "char *",
        "domain:virDomainPtr, types:unsigned int?, flags:unsigned int",
    ),
    "virDomainAuthorizedSSHKeysGet": (
        "char *",
        "domain:virDomainPtr, user:const char *, flags:unsigned int",
    ),
    "virDomainAuthorizedSSHKeysSet": (
        "int",
        "domain:virDomainPtr, user:const char *, keys:const char **?, flags:unsigned int",
    ),
    "virNodeDeviceGetAutostart": ("int", "dev:virNodeDevicePtr"),
    "virDomainSaveParams": (
        "int",
        "domain:virDomainPtr, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virDomainRestoreParams": (
        "int",
        "conn:virConnectPtr, params:virTypedParameterPtr, flags:unsigned int",
    ),
    "virDomainGetMessages": ("char *", "domain:virDomainPtr, flags:unsigned int"),
    "virGetLastError": ("char *", ""),
    "virConnGetLastError": ("char *", "conn:virConnectPtr"),
    "virDomainQemuMonitorCommand": (
        "char *",
        "domain:virDomainPtr, cmd:const char *, flags:unsigned int",
    ),
    "virDomainQemuAgentCommand": (
        "char *",
        "domain:virDomainPtr, cmd:const char *, timeout:int, flags:unsigned int",
    ),
    "virDomainLxcOpenNamespace": ("char *", "domain:virDomainPtr, flags:unsigned int"),
}

# Argument and return types libvirt-python converts (its py_types); anything else makes a
# generated function "failed" (not wrapped) unless its stub is hand-written.
_SCALARS = ("void", "int", "long", "double", "unsigned int", "unsigned long", "long long",
            "unsigned long long", "unsigned char *", "char *", "const char *", "size_t",
            "pythonObject")  # fmt: skip
CLASSES = (
    "virDomain", "virNetwork", "virNetworkPort", "virInterface", "virStoragePool",
    "virStorageVol", "virConnect", "virNodeDevice", "virSecret", "virNWFilter",
    "virNWFilterBinding", "virStream", "virDomainCheckpoint", "virDomainSnapshot",
)  # fmt: skip
CLASS_OF_TYPE: dict[str, str] = {}
for _c in CLASSES:
    for _t in (f"{_c}Ptr", f"{_c} *", f"const {_c} *"):
        CLASS_OF_TYPE[_t] = _c
PY_TYPES = frozenset(_SCALARS) | frozenset(CLASS_OF_TYPE)
SKIPPED_TYPES = frozenset({
    "virConnectDomainEventCallback", "virConnectDomainEventGenericCallback",
    "virConnectDomainEventRTCChangeCallback", "virConnectDomainEventWatchdogCallback",
    "virConnectDomainEventIOErrorCallback", "virConnectDomainEventGraphicsCallback",
    "virConnectDomainQemuMonitorEventCallback", "virStreamEventCallback",
    "virEventHandleCallback", "virEventTimeoutCallback", "virDomainBlockJobInfoPtr",
})  # fmt: skip
FUNCTION_SKIP_INDEX_ONE = frozenset({"virDomainRevertToSnapshot"})
DESTRUCTORS = frozenset(f"{c}Free" for c in CLASSES if c not in ("virConnect", "virStream"))
NOEXCEPT = frozenset({
    "virDomainGetID", "virDomainGetName", "virNetworkGetName", "virInterfaceGetName",
    "virStoragePoolGetName", "virStorageVolGetName", "virStorageVolGetkey",
    "virNodeDeviceGetName", "virNodeDeviceGetParent", "virSecretGetUsageType",
    "virSecretGetUsageID", "virNWFilterGetName", "virNWFilterBindingGetFilterName",
    "virNWFilterBindingGetPortDev",
})  # fmt: skip
INT_ERROR_TEST = {"virDomainGetMaxMemory": "== 0"}

_PREFIX_RULES: tuple[tuple[str, int, int], ...] = (
    # (prefix, characters dropped, characters lower-cased) in libvirt-python's order
    ("virNetworkDefine", 3, 1), ("virNetworkCreateXML", 3, 1), ("virNetworkLookup", 3, 1),
    ("virNetworkPortCreateXML", 10, 1), ("virNetworkPortLookup", 10, 1),
    ("virInterfaceDefine", 3, 1), ("virInterfaceCreateXML", 3, 1),
    ("virInterfaceLookup", 3, 1), ("virSecretDefine", 3, 1), ("virSecretLookup", 3, 1),
    ("virNWFilterBindingCreateXML", 3, 3), ("virNWFilterBindingLookup", 3, 3),
    ("virNWFilterBindingDefine", 3, 3), ("virNWFilterDefine", 3, 3),
    ("virNWFilterLookup", 3, 3), ("virStoragePoolDefine", 3, 1),
    ("virStoragePoolCreateXML", 3, 1), ("virStoragePoolLookup", 3, 1),
    ("virStorageVolDefine", 3, 1), ("virStorageVolLookup", 3, 1),
    ("virDomainGetCPUStats", 9, 1), ("virDomainGetIOThreadInfo", 12, 2),
    ("virDomainGetFSInfo", 12, 2), ("virDomainGet", 12, 1),
    ("virDomainCheckpointLookupByName", 9, 1), ("virDomainCheckpointCreateXML", 9, 1),
    ("virDomainCheckpoint", 19, 1), ("virDomainSnapshotLookupByName", 9, 1),
    ("virDomainSnapshotListNames", 9, 1), ("virDomainSnapshotNumChildren", 17, 1),
    ("virDomainSnapshotNum", 9, 1), ("virDomainSnapshotCreateXML", 9, 1),
    ("virDomainSnapshotCurrent", 9, 1), ("virDomainSnapshot", 17, 1), ("virDomain", 9, 1),
    ("virNetworkPortGet", 17, 1), ("virNetworkGet", 13, 1), ("virNetworkPort", 14, 1),
    ("virNetwork", 10, 1), ("virInterfaceGet", 15, 1), ("virInterface", 12, 1),
    ("virSecretGet", 12, 1), ("virSecret", 9, 1), ("virNWFilterBindingGet", 21, 1),
    ("virNWFilterBinding", 18, 1), ("virNWFilterGet", 14, 1), ("virNWFilter", 11, 1),
)  # fmt: skip
_PREFIX_RULES_2: tuple[tuple[str, int, int], ...] = (
    ("virStoragePoolGet", 17, 1), ("virStoragePool", 14, 1), ("virStorageVolGet", 16, 1),
    ("virStorageVol", 13, 1),
)  # fmt: skip
_FIXED = {"iD": "ID", "uUID": "UUID", "uUIDString": "UUIDString", "oSType": "OSType",
          "xMLDesc": "XMLDesc", "mACString": "MACString"}  # fmt: skip


def _lower(text: str, n: int) -> str:
    return text[:n].lower() + text[n:]


def name_fixup(name: str, classe: str) -> str:
    """libvirt-python's Python name for C function ``name`` on class ``classe``."""
    listname = classe + "List"
    if name.startswith(listname):
        func = _lower(name[len(classe) :], 1)
    else:
        func = None
        for prefix, drop, low in _PREFIX_RULES:
            if name.startswith(prefix):
                func = _lower(name[drop:], low)
                if prefix == "virNetworkGet":
                    func = func.replace("dHCP", "DHCP")
                break
        if func is None:
            if name.startswith("virStreamNew"):
                func = "newStream"
            elif name.startswith("virStream"):
                func = _lower(name[9:], 1)
            else:
                for prefix, drop, low in _PREFIX_RULES_2:
                    if name.startswith(prefix):
                        func = _lower(name[drop:], low)
                        break
        if func is None:
            if name.startswith("virNodeDevice"):
                if name[13:16] == "Get":
                    func = name[16].lower() + name[17:]
                elif name[13:19] == "Lookup" or name[13:22] in ("CreateXML", "DefineXML"):
                    func = name[3].lower() + name[4:]
                else:
                    func = name[13].lower() + name[14:]
            elif name.startswith("virNode"):
                func = _lower(name[7:], 1)
            elif name.startswith("virConnect"):
                func = _lower(name[10:], 1)
            elif name.startswith("xml"):
                func = _lower(name[3:], 1)
            else:
                func = name
    return _FIXED.get(func, func)


def _qemu_lxc_name(name: str) -> str:
    # libvirt_qemu / libvirt_lxc: nameFixup(name, 'None') -> virDomainQemuX -> qemuX
    return name_fixup(name, "None")


def is_integral(ctype: str) -> bool:
    return re.search(r"^(unsigned)? ?(int|long)$", ctype) is not None


#: arguments libvirt's 9.0 API documentation marks "optional" (the comment text that
#: libvirt-python 9.0 was generated from) but the XML installed here describes without it
OPTIONAL_ARGS = frozenset({
    ("virConnectGetDomainCapabilities", "emulatorbin"),
    ("virConnectGetDomainCapabilities", "arch"),
    ("virConnectGetDomainCapabilities", "machine"),
    ("virConnectGetDomainCapabilities", "virttype"),
})  # fmt: skip


def is_optional(info: str | None) -> bool:
    return info is not None and re.search(r"^\(?optional\)?", info) is not None


# --------------------------------------------------------------------------------------
# reading the XML
# --------------------------------------------------------------------------------------


class CFunc(NamedTuple):
    name: str
    module: str  # "libvirt" | "libvirt_qemu" | "libvirt_lxc"
    ret: str
    args: tuple[tuple[str, str, str], ...]  # (name, type, info)
    file: str


def _read_functions(path: Path, module: str) -> dict[str, CFunc]:
    out: dict[str, CFunc] = {}
    for el in ET.parse(path).getroot().iter("function"):
        mod = el.get("module")
        if module == "libvirt" and mod not in FUNCTION_MODULES:
            continue
        args = []
        for arg in el.findall("arg"):
            name = arg.get("name", "")
            if name == "from":
                name = "frm"
            args.append((name, arg.get("type", ""), arg.get("info", "")))
        ret = el.find("return")
        name = el.get("name", "")
        if name == "virConnectListDomains":  # libvirt-python's rename
            name = "virConnectListDomainsID"
        out[name] = CFunc(
            name,
            module,
            "" if ret is None else ret.get("type", ""),
            tuple(args),
            el.get("file", ""),
        )
    return out


def _override(name: str, module: str) -> CFunc:
    ret, args = OVERRIDE_API[name]
    parsed = []
    for part in filter(None, (a.strip() for a in args.split(","))):
        aname, atype = part.split(":", 1)
        info = "optional" if atype.endswith("?") else ""
        parsed.append((aname, atype.rstrip("?"), info))
    return CFunc(name, module, ret, tuple(parsed), "python")


def read_api(api_dir: Path) -> tuple[dict[str, CFunc], dict[str, CFunc]]:
    """(every C function of the XML, the functions libvirt-python wraps after its rules)."""
    raw: dict[str, CFunc] = {}
    raw.update(_read_functions(api_dir / "libvirt-api.xml", "libvirt"))
    raw.update(_read_functions(api_dir / "libvirt-qemu-api.xml", "libvirt_qemu"))
    raw.update(_read_functions(api_dir / "libvirt-lxc-api.xml", "libvirt_lxc"))
    funcs = dict(raw)
    for name in OVERRIDE_API:
        module = raw[name].module if name in raw else "libvirt"
        if name in raw or name in ("virConnectListDomainsID",):
            funcs[name] = _override(name, module)
    return raw, funcs


# --------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------


class Row(NamedTuple):
    c_name: str
    module: str
    cls: str | None
    name: str
    params: tuple[str, ...]
    ret: str
    shape: str
    proc: str | None
    wire: tuple[tuple[str, str], ...]
    impl: str


def _wrap_status(func: CFunc) -> str:
    """'skip' | 'failed' | 'c-override' | 'generated' (libvirt-python's print_function_wrapper)."""
    name = func.name
    if name in SKIP_FUNCTION:
        return "skip"
    if name in SKIP_IMPL or name in QEMU_SKIP_IMPL or name in LXC_SKIP_IMPL:
        return "c-override"
    for _aname, atype, _info in func.args:
        atype = atype.removeprefix("const ")
        if atype not in PY_TYPES and f"const {atype}" not in PY_TYPES:
            return "skip" if atype in SKIPPED_TYPES else "failed"
    if func.ret != "void" and func.ret not in PY_TYPES:
        return "skip" if func.ret in SKIPPED_TYPES else "failed"
    return "generated"


def _shape(func: CFunc) -> str:
    ret = func.ret
    if ret == "void":
        return "none"
    if ret in CLASS_OF_TYPE:
        return "obj:" + CLASS_OF_TYPE[ret]
    if is_integral(ret):
        return "int" + ("0" if INT_ERROR_TEST.get(func.name) else "")
    if ret.endswith("*"):
        return "str"
    return "value"


def _params(func: CFunc, index: int | None) -> tuple[str, ...]:
    out: list[str] = []
    for n, (aname, atype, info) in enumerate(func.args):
        default = None
        if aname == "flags" or is_optional(info) or (func.name, aname) in OPTIONAL_ARGS:
            default = "0" if is_integral(atype.removeprefix("const ")) else "None"
        if n == index:
            if default is not None and out:  # libvirt-python appends it to what came before
                out[-1] = out[-1].split("=")[0] + "=" + default
            continue
        out.append(aname if default is None else f"{aname}={default}")
    return tuple(out)


def _classify(func: CFunc) -> tuple[str | None, int | None]:
    """libvirt-python's class for a function (first, else second argument's type)."""
    for classe in CLASSES:
        for type_ in (f"{classe}Ptr", f"{classe} *"):
            args = func.args
            if len(args) >= 1 and args[0][1].removeprefix("const ") == type_:
                return classe, 0
            if (
                len(args) >= 2
                and args[1][1].removeprefix("const ") == type_
                and func.file != "python_accessor"
                and func.name not in FUNCTION_SKIP_INDEX_ONE
            ):
                return classe, 1
    return None, None


# wire field -> C argument names it is known under (when the names differ)
_FIELD_ALIASES = {
    "xml": ("xmlDesc", "xmlconfig", "xmldesc", "desc", "xmlDesc", "xml"),
    "name": ("name",),
    "dom": ("domain", "dom"),
    "net": ("network", "net"),
    "dev": ("dev",),
    "uuid": ("uuid", "uuidstr"),
    "vol": ("vol",),
    "pool": ("pool",),
    "snap": ("snapshot", "snap"),
    "checkpoint": ("checkpoint",),
    "port": ("port",),
    "iface": ("iface",),
    "nwfilter": ("nwfilter",),
    "secret": ("secret",),
    "type": ("type",),
    "flags": ("flags",),
    "dname": ("dname",),
    "uri": ("uri", "duri"),
    "path": ("path", "disk"),
    "device": ("device", "path"),
    "from": ("frm",),
    "mac": ("mac", "macstr"),
    "offset": ("offset", "start"),
    "iothread_id": ("iothread_val",),
    "iothreads_id": ("iothread_val",),
    "cpumap": ("cpumap", "vcpumap"),
}
# wire handle struct -> the libvirt-python class that wraps it (one table, the drop-in's)
from virtwire.client.objects import HANDLE_CLASS as _HANDLE_CLASS  # noqa: E402


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _wire(func: CFunc, cls: str | None, index: int | None, proc) -> tuple[tuple[str, str], ...]:
    """How each field of the procedure's args struct is filled.

    ``@`` the object the method is called on, ``*name`` the handle of object parameter
    ``name``, ``name`` a Python parameter, ``?`` not derivable from the C arguments (the
    method needs a hand-written implementation).
    """
    from virtwire.protocol.procedures import PROGRAMS

    if proc is None or proc.args is None:
        return ()
    module = next(m for m, prog, *_ in PROGRAMS if prog == proc.program)
    stem = next(s for m, prog, _p, s in PROGRAMS if prog == proc.program)
    cname = _camel(stem + proc.short_name.lower() + "_args")
    struct = getattr(module, cname, None)
    if struct is None:
        return (("?", cname),)
    c_args = {a[0]: a for a in func.args}
    ret_stem = stem + proc.short_name.lower() + "_ret"
    out = []
    for field, annot in struct.__annotations__.items():
        annot = str(annot)
        lowered_args = {k.lower() for k in c_args}
        if field.startswith("max") and field.lower() not in lowered_args and annot == "int":
            bound = _list_bound(module, proc.program, ret_stem)
            if bound is not None:  # libvirt-python asks for as many as the protocol allows
                out.append((field, f"={bound}"))
                continue
        if field == "nparams" and field not in c_args:
            out.append((field, "#"))  # typed parameters: ask the count first
            continue
        if annot == "list[RemoteTypedParam]" and "params" in c_args:
            out.append((field, "%params"))
            continue
        handle = _HANDLE_CLASS.get(annot.split(" ")[0])
        source = "?"
        if cls == "virNodeDevice" and field == "name" and index is not None:
            out.append((field, "@"))  # node devices travel as their name
            continue
        if proc.short_name.startswith("NWFILTER_BINDING_LOOKUP") and field == "name":
            out.append((field, func.args[1][0]))
            continue
        if handle is not None:
            for n, (aname, atype, _info) in enumerate(func.args):
                if CLASS_OF_TYPE.get(atype.removeprefix("const ")) == handle:
                    source = "@" if n == index else "*" + aname
                    break
        else:
            names = (field, *_FIELD_ALIASES.get(field.rstrip("_"), ()))
            found = next((n for n in names if n in c_args), None)
            if found is None:
                lowered = {k.lower().replace("_", ""): k for k in c_args}
                found = lowered.get(field.rstrip("_").lower().replace("_", ""))
            if found is not None:
                atype = c_args[found][1]
                if atype.removeprefix("const ") in CLASS_OF_TYPE:
                    found = None
            if found is not None:
                source = found
        out.append((field, source))
    return tuple(out)


_X_TEXT: dict[int, str] = {}


def _list_bound(module, program: int, ret_stem: str) -> int | None:
    """The ``<BOUND>`` of the list in a ret struct (from the .x), as a number."""
    if program not in _X_TEXT:
        # virtwire.protocol.generated.<stem> (a module or a package) <- protocol/defs/<stem>.x
        import virtwire.protocol

        defs = Path(virtwire.protocol.__file__).resolve().parent / "defs"
        name = module.__name__.rsplit(".", 1)[-1] + ".x"
        _X_TEXT[program] = (defs / name).read_text()
    match = re.search(r"struct\s+" + ret_stem + r"\s*\{(.*?)\};", _X_TEXT[program], re.S)
    if match is None:
        return None
    bound = re.search(r"<\s*(\w+)\s*>", match.group(1))
    if bound is None:
        return None
    value = getattr(module, bound.group(1), None)
    return value if isinstance(value, int) else None


def build_rows(api_dir: Path) -> tuple[list[Row], dict[str, CFunc]]:
    from virtwire.protocol.procedures import all_procedures

    by_api: dict[str, object] = {}
    for proc in all_procedures():
        if proc.api and not proc.is_event and proc.api not in by_api:
            by_api[proc.api] = proc
    by_api.setdefault("virConnectListDomainsID", by_api.get("virConnectListDomains"))
    raw, funcs = read_api(api_dir)
    rows: list[Row] = []
    for name in sorted(funcs):
        func = funcs[name]
        proc = by_api.get("virConnectListDomains" if name == "virConnectListDomainsID" else name)
        proc_name = getattr(proc, "name", None)
        if name in PY_OVERRIDES:
            cls, pyname, params = PY_OVERRIDES[name]
            module = "libvirt_qemu" if name in QEMU_PY_OVERRIDES else func.module
            rows.append(Row(name, module, cls, pyname, params, func.ret, "custom", proc_name,
                            (), "py-override"))  # fmt: skip
            continue
        status = _wrap_status(func)
        if status in ("skip", "failed"):
            rows.append(Row(name, func.module, None, "", (), func.ret, status, proc_name, (),
                            status))  # fmt: skip
            continue
        if name in DESTRUCTORS:
            rows.append(Row(name, func.module, None, "", (), func.ret, "skip", proc_name, (),
                            "skip"))  # fmt: skip
            continue
        if func.module != "libvirt":
            params = tuple(a[0] for a in func.args)  # no defaults in the qemu/lxc modules
            shape = "custom:" + _shape(func) if status == "c-override" else _shape(func)
            rows.append(Row(name, func.module, None, _qemu_lxc_name(name), params, func.ret,
                            shape, proc_name, _wire(func, None, None, proc), status))  # fmt: skip
            continue
        cls, index = _classify(func)
        pyname = name_fixup(name, cls or "None")
        params = _params(func, index)
        shape = "custom:" + _shape(func) if status == "c-override" else _shape(func)
        rows.append(Row(name, func.module, cls, pyname, params, func.ret, shape, proc_name,
                        _wire(func, cls, index, proc), status))  # fmt: skip
    return rows, raw


# --------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------

_SPECIAL_VALUES = {
    "VIR_TYPED_PARAM_INT": 1, "VIR_TYPED_PARAM_UINT": 2, "VIR_TYPED_PARAM_LLONG": 3,
    "VIR_TYPED_PARAM_ULLONG": 4, "VIR_TYPED_PARAM_DOUBLE": 5, "VIR_TYPED_PARAM_BOOLEAN": 6,
    "VIR_DOMAIN_AFFECT_CURRENT": 0, "VIR_DOMAIN_AFFECT_LIVE": 1, "VIR_DOMAIN_AFFECT_CONFIG": 2,
    "VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_BLOCK": -2,
    "VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_DEFAULT": -1,
    "VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_NOWAIT": 0,
}  # fmt: skip


def read_constants(api_dir: Path) -> tuple[list[tuple[str, list[tuple[str, object]]]], list]:
    """libvirt-python's module constants: enums by type (sorted by value, the enum's
    trailing ``*_LAST`` dropped) and the typed-parameter name macros (strings)."""
    enums: dict[str, dict[str, str]] = {}
    params: list[tuple[str, str]] = []
    for el in ET.parse(api_dir / "libvirt-api.xml").getroot().iter():
        if el.tag == "enum" and el.get("file") in ENUM_FILES:
            enums.setdefault(el.get("type", ""), {})[el.get("name", "")] = el.get("value", "")
        elif el.tag == "macro" and el.get("string") is not None:
            params.append((el.get("name", ""), el.get("string", "")))
    flat: dict[str, str] = {}
    for enum in enums.values():
        flat.update(enum)
    out = []
    for type_ in sorted(enums):
        items: list[tuple[str, object]] = []
        for name, value in enums[type_].items():
            if value in _SPECIAL_VALUES:
                resolved: object = _SPECIAL_VALUES[value]
            else:
                try:
                    resolved = int(value, 0)
                except ValueError:
                    ref = flat.get(value, value)
                    resolved = _SPECIAL_VALUES.get(ref)
                    if resolved is None:
                        resolved = int(ref, 0)
            items.append((name, resolved))
        items.sort(key=lambda kv: (kv[1], kv[0]))
        if items and items[-1][0].endswith("_LAST"):
            items.pop()
        out.append((type_, items))
    return out, params


def read_module_constants(path: Path) -> list[tuple[str, int]]:
    """The libvirt_qemu / libvirt_lxc modules' enums (sorted by value, no _LAST rule)."""
    items = []
    for el in ET.parse(path).getroot().iter("enum"):
        value = el.get("value", "")
        resolved = _SPECIAL_VALUES.get(value)
        items.append((el.get("name", ""), int(value, 0) if resolved is None else resolved))
    return sorted(items, key=lambda kv: (kv[1], kv[0]))


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

TABLE_HEADER = '''"""libvirt-python's whole API surface, one row per C function (generated; do not edit).

Made by ``python -m virtwire.client.apigen`` from libvirt 9.0's libvirt-api.xml,
libvirt-qemu-api.xml and libvirt-lxc-api.xml and libvirt-python's rules.  Columns:

- ``c_name``: the C function; ``module``: ``libvirt``, ``libvirt_qemu`` or ``libvirt_lxc``;
- ``cls``: the libvirt-python class it is a method of (None: a module function);
  ``name``: its Python name ("" when libvirt-python does not expose it);
- ``params``: Python parameters after ``self``, ``"flags=0"`` style;
- ``ret``: the C return type; ``shape``: what Python gets back: ``none``, ``int`` (-1 is an
  error), ``int0`` (0 is an error), ``str``, ``value``, ``obj:<class>``, ``custom``
  (hand-written in libvirt-python), or why it is not exposed (``skip``, ``failed``);
- ``proc``: the remote procedure that serves it (None: answered locally or not remotable);
- ``wire``: how each field of the procedure's args struct is filled: ``@`` the object the
  method is called on, ``*p`` the handle of object parameter ``p``, ``p`` parameter ``p``,
  ``?`` not derivable from the C arguments;
- ``impl``: ``generated`` (libvirt-python generates it), ``c-override`` (its C stub is
  hand-written: Python shape differs from C), ``py-override`` (hand-written in Python),
  ``skip`` / ``failed`` (not exposed).
"""

from __future__ import annotations

from typing import NamedTuple


class Api(NamedTuple):
    c_name: str
    module: str
    cls: str | None
    name: str
    params: tuple[str, ...]
    ret: str
    shape: str
    proc: str | None
    wire: tuple[tuple[str, str], ...]
    impl: str


# fmt: off
API: tuple[Api, ...] = (
'''

CONST_HEADER = '''"""libvirt's public constants as libvirt-python exposes them (generated; do not edit).

Made by ``python -m virtwire.client.apigen`` from libvirt 9.0's libvirt-api.xml with
libvirt-python's rules: every enum of the public headers and virterror.h (by enum type,
sorted by value, the enum's trailing ``*_LAST`` dropped) and the typed-parameter name macros.
``QEMU_CONSTANTS`` / ``LXC_CONSTANTS`` are the libvirt_qemu / libvirt_lxc modules' own.
"""

# fmt: off
'''


def render_table(rows: list[Row]) -> str:
    lines = [TABLE_HEADER]
    for r in rows:
        lines.append(f"    Api{tuple(r)!r},\n")
    lines.append(")\n# fmt: on\n")
    return "".join(lines)


def _later_event_ids(known: set[str]) -> list[tuple[str, int]]:
    try:
        from virtwire.protocol.events import DomainEventID
    except ImportError:  # pragma: no cover
        return []
    return [(f"VIR_DOMAIN_EVENT_ID_{e.name}", int(e)) for e in DomainEventID
            if f"VIR_DOMAIN_EVENT_ID_{e.name}" not in known]  # fmt: skip


def render_constants(api_dir: Path) -> str:
    enums, params = read_constants(api_dir)
    out = [CONST_HEADER]
    for type_, items in enums:
        out.append(f"\n# {type_}\n")
        for name, value in items:
            out.append(f"{name} = {value!r}\n")
    known = {name for _t, items in enums for name, _v in items}
    later = _later_event_ids(known)
    if later:
        out.append(
            "\n# domain event IDs newer than libvirt 9.0 that virtwire.protocol.events knows\n"
        )
        for name, value in later:
            out.append(f"{name} = {value!r}\n")
    out.append("\n# typed parameter names\n")
    for name, value in params:
        out.append(f"{name} = {value!r}\n")
    for label, fname in (("QEMU_CONSTANTS", "libvirt-qemu-api.xml"),
                         ("LXC_CONSTANTS", "libvirt-lxc-api.xml")):  # fmt: skip
        items = read_module_constants(api_dir / fname)
        out.append(f"\n{label}: dict[str, int] = {{\n")
        for name, value in items:
            out.append(f"    {name!r}: {value!r},\n")
        out.append("}\n")
    out.append("# fmt: on\n")
    return "".join(out)


def generate(api_dir: Path = DEFAULT_API_DIR) -> dict[Path, str]:
    rows, _raw = build_rows(api_dir)
    return {
        HERE / "api_table.py": render_table(rows),
        HERE / "constants.py": render_constants(api_dir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virtwire.client.apigen")
    parser.add_argument("--api-dir", type=Path, default=DEFAULT_API_DIR)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    opts = parser.parse_args(argv)
    stale = []
    for path, text in generate(opts.api_dir).items():
        if opts.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    for path in stale:
        print(f"out of date: {path}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
