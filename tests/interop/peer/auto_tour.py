import inspect
import sys

import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
c = libvirt.open(sys.argv[1])
SKIP = {
    "destroy",
    "destroyFlags",
    "undefine",
    "undefineFlags",
    "shutdown",
    "shutdownFlags",
    "reboot",
    "reset",
    "suspend",
    "resume",
    "managedSave",
    "close",
    "delete",
    "create",
    "createWithFlags",
    "wipe",
    "detachFlags",
    "dettach",
    "reAttach",
    "abortJob",
    "abortJobFlags",
    "pMSuspendForDuration",
    "pMWakeup",
    "setAutostart",
    "free",
    "revertToSnapshot",
    "blockJobAbort",
    "coreDump",
    "save",
    "saveFlags",
    "resetAutostart",
    "registerCloseCallback",
    "unregisterCloseCallback",
    "setKeepAlive",
    "restore",
    "restoreFlags",
    "suspendForDuration",
    "listAllDomains",
    "newStream",
    "injectNMI",
    "domainEventRegister",
    "domainEventDeregister",
    "virConnGetLastError",
    "virConnResetLastError",
    "isAlive",
    "c_pointer",
    "connect",
    "abort",
    "finish",
    "updateDeviceFlags",
    "fsThaw",
    "fsFreeze",
    "managedSaveRemove",
    "changeBegin",
    "changeCommit",
    "changeRollback",
    "domainListGetStats",
    "getAllDomainStats",
    "migrate",
    "listAllVolumes",
    "listAllSnapshots",
}
objs = {"conn": c}
objs["dom"] = c.lookupByName("test")
objs["net"] = c.networkLookupByName("default")
objs["pool"] = c.storagePoolLookupByName("default-pool")
vols = objs["pool"].listAllVolumes()
if vols:
    objs["vol"] = vols[0]
objs["iface"] = c.interfaceLookupByName("eth1")
objs["dev"] = c.nodeDeviceLookupByName("computer")
snap = objs["dom"].snapshotCreateXML("<domainsnapshot><name>tour1</name></domainsnapshot>", 0)
objs["snap"] = snap


def show(v):
    if isinstance(v, (list, tuple)):
        return type(v).__name__ + "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {show(x)}" for k, x in sorted(v.items())) + "}"
    if hasattr(v, "name") and type(v).__name__.startswith("vir"):
        try:
            return f"<{type(v).__name__} {v.name()}>"
        except Exception:
            return f"<{type(v).__name__}>"
    if type(v).__name__.startswith("vir"):
        return f"<{type(v).__name__}>"
    if isinstance(v, str) and len(v) > 120:
        return repr(v[:60]) + f"...({len(v)})"
    return repr(v)


for label, obj in objs.items():
    for name in sorted(dir(type(obj))):
        if name.startswith("_") or name in SKIP:
            continue
        fn = getattr(obj, name)
        if not callable(fn):
            continue
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            continue
        params = list(sig.parameters.values())
        if any(p.default is inspect.Parameter.empty and p.name != "flags" for p in params):
            continue
        kwargs = {p.name: 0 for p in params if p.default is inspect.Parameter.empty}
        try:
            r = fn(**kwargs)
            print(label, name, "OK", show(r), flush=True)
        except libvirt.libvirtError as e:
            print(label, name, "ERR", e.get_error_code(), e.get_error_domain(), str(e), flush=True)
        except Exception as e:
            print(label, name, "EXC", type(e).__name__, str(e)[:100], flush=True)
snap.delete(0)
