"""Every object event kind, in order, as python3-libvirt receives them.

Usage: object_events.py URI test|qemu POOLDIR

Registers for each network, storage-pool, node-device and secret event ID (a refused
registration is printed), runs a fixed series of operations and prints each operation's
label followed by the events it caused, in arrival order. A barrier after each operation
(a refresh of the pool "mark", whose REFRESH event is not printed) makes sure every event
of the operation has arrived before the next one starts: a driver's events are delivered
in order on one connection.
"""

import sys
import threading
import time

import libvirt

URI, MODE, POOLDIR = sys.argv[1], sys.argv[2], sys.argv[3]
libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(URI)
seen = []
cond = threading.Condition()


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()


def record(*item):
    with cond:
        seen.append(item)
        cond.notify_all()


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    with cond:
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                print("TIMEOUT waiting for", what, flush=True)
                return False
            cond.wait(left)
    return True


def register(label, fn):
    try:
        fn()
        print("register", label, "ok")
    except libvirt.libvirtError as e:
        print("register", label, "ERR", e.get_error_code(), e.get_error_domain(), str(e))


E = libvirt
register(
    "net-lifecycle",
    lambda: conn.networkEventRegisterAny(
        None,
        E.VIR_NETWORK_EVENT_ID_LIFECYCLE,
        lambda c, n, ev, det, o: record("net", n.name(), ev, det),
        None,
    ),
)
register(
    "pool-lifecycle",
    lambda: conn.storagePoolEventRegisterAny(
        None,
        E.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
        lambda c, p, ev, det, o: record("pool", p.name(), ev, det),
        None,
    ),
)
register(
    "pool-refresh",
    lambda: conn.storagePoolEventRegisterAny(
        None, E.VIR_STORAGE_POOL_EVENT_ID_REFRESH, lambda c, p, o: record("refresh", p.name()), None
    ),
)
register(
    "nodedev-lifecycle",
    lambda: conn.nodeDeviceEventRegisterAny(
        None,
        E.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE,
        lambda c, d, ev, det, o: record("nodedev", d.name(), ev, det),
        None,
    ),
)
register(
    "nodedev-update",
    lambda: conn.nodeDeviceEventRegisterAny(
        None,
        E.VIR_NODE_DEVICE_EVENT_ID_UPDATE,
        lambda c, d, o: record("nodedev-update", d.name()),
        None,
    ),
)
register(
    "secret-lifecycle",
    lambda: conn.secretEventRegisterAny(
        None,
        E.VIR_SECRET_EVENT_ID_LIFECYCLE,
        lambda c, s, ev, det, o: record("secret", s.usageID(), ev, det),
        None,
    ),
)
register(
    "secret-value",
    lambda: conn.secretEventRegisterAny(
        None,
        E.VIR_SECRET_EVENT_ID_VALUE_CHANGED,
        lambda c, s, o: record("secret-value", s.usageID()),
        None,
    ),
)

mark = conn.storagePoolCreateXML(
    f"<pool type='dir'><name>mark</name><target><path>{POOLDIR}/mark</path></target></pool>",
    libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD if MODE == "qemu" else 0,
)
wait_for(lambda: any(e[:2] == ("pool", "mark") for e in seen), "mark started")
marks = 0


def barrier():
    global marks
    marks += 1
    mark.refresh(0)
    return wait_for(lambda: sum(e == ("refresh", "mark") for e in seen) >= marks, "the barrier")


def op(label, fn, expect=None):
    start = len(seen)
    try:
        fn()
        result = "ok"
    except libvirt.libvirtError as e:
        result = f"ERR {e.get_error_code()} {e.get_error_domain()} {e}"
    if expect is not None:  # an event a worker thread sends later (upload's refresh)
        wait_for(lambda: expect in seen[start:], expect)
    barrier()
    print(label, result)
    for item in seen[start:]:
        if item not in (("refresh", "mark"),):
            print("   ", item)


def upload(vol, data):
    st = conn.newStream(0)
    vol.upload(st, 0, len(data), 0)
    st.send(data)
    st.finish()


pool_xml = (
    f"<pool type='dir'><name>evpool</name><target><path>{POOLDIR}/evpool</path></target></pool>"
)
vol_xml = "<volume><name>ev.img</name><capacity>1048576</capacity></volume>"
state = {}

if MODE == "test":
    net_xml = "<network><name>evnet</name><bridge name='evbr0'/></network>"
    op("net-define", lambda: state.update(net=conn.networkDefineXML(net_xml)))
    op("net-create", lambda: state["net"].create())
    op("net-destroy", lambda: state["net"].destroy())
    op("net-undefine", lambda: state["net"].undefine())
    dp = conn.storagePoolLookupByName("default-pool")
    op("pool-refresh", lambda: dp.refresh(0))
    op("vol-create", lambda: state.update(vol=dp.createXML(vol_xml, 0)))
    op("vol-delete", lambda: state["vol"].delete(0))
    vhba = (
        "<device><parent>scsi_host1</parent><capability type='scsi_host'>"
        "<capability type='fc_host'><wwnn>2000000012341234</wwnn>"
        "<wwpn>1000000012341234</wwpn></capability></capability></device>"
    )
    op("nodedev-create", lambda: state.update(dev=conn.nodeDeviceCreateXML(vhba, 0)))
    op("nodedev-destroy", lambda: state["dev"].destroy())
    fc_pool = (
        "<pool type='scsi'><name>vhba</name><source><adapter type='fc_host' "
        "parent='scsi_host1' wwnn='2000000012341234' wwpn='1000000012341234'/>"
        "</source><target><path>/dev/disk/by-path</path></target></pool>"
    )
    op("vhba-pool-create", lambda: state.update(fc=conn.storagePoolCreateXML(fc_pool, 0)))
    op("vhba-pool-destroy", lambda: state["fc"].destroy())
else:
    sec_xml = (
        "<secret ephemeral='no' private='no'><usage type='volume'>"
        "<volume>/var/lib/libvirt/images/ev.img</volume></usage></secret>"
    )
    op("secret-define", lambda: state.update(sec=conn.secretDefineXML(sec_xml, 0)))
    op("secret-set-value", lambda: state["sec"].setValue(b"s3cret", 0))
    op("secret-set-value-again", lambda: state["sec"].setValue(b"other", 0))
    op(
        "secret-redefine",
        lambda: conn.secretDefineXML(
            sec_xml.replace("<usage", f"<uuid>{state['sec'].UUIDString()}</uuid><usage"), 0
        ),
    )
    op("secret-undefine", lambda: state["sec"].undefine())
    op("pool-define", lambda: state.update(pool=conn.storagePoolDefineXML(pool_xml, 0)))
    op("pool-build", lambda: state["pool"].build(0))
    op("pool-create", lambda: state["pool"].create(0))
    op("vol-create", lambda: state.update(vol=state["pool"].createXML(vol_xml, 0)))
    op("pool-refresh", lambda: state["pool"].refresh(0))
    op("vol-upload", lambda: upload(state["vol"], b"virtwire" * 512), expect=("refresh", "evpool"))
    op("vol-download", lambda: state["vol"].download(conn.newStream(0), 0, 0, 0))
    op("vol-delete", lambda: state["vol"].delete(0))
    op("pool-destroy", lambda: state["pool"].destroy())
    op("pool-delete", lambda: state["pool"].delete(0))
    op("pool-undefine", lambda: state["pool"].undefine())

mark.destroy()
conn.close()
