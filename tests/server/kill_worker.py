"""Client side of the SIGKILL test (test_server_kill.py), run as a subprocess.

``work URI ROUND``: first ``STATE {json}``, the persistent state found (domains: name → has
the attached disk; volumes: name → capacity; snapshots: domain → its snapshot names;
networks: name → its bridge; secrets: usage → value; whether the pool is active), then
``READY``, then in a loop: define, attach, volume create, snapshot create, network define,
secret define + value, and for every other name their deletion in reverse, printing
``TRY op name`` before and ``ACK op name`` after each call (flushed), until the daemon dies. ``check URI``:
only the ``STATE`` line.
"""

from __future__ import annotations

import json
import sys

from virtwire.client import libvirt

POOL = "killpool"
POOL_XML = (
    f"<pool type='dir'><name>{POOL}</name>"
    "<target><path>/var/lib/virtwire-kill</path></target></pool>"
)
CAPACITY = 1 << 20
AFFECT_CONFIG = 2
KINDS = ("domains", "volumes", "snapshots", "networks", "secrets")


def domain_xml(name: str) -> str:
    return (
        f"<domain type='qemu'><name>{name}</name><memory>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )


def disk_xml(name: str) -> str:
    return (
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='/var/lib/virtwire-kill/{name}'/><target dev='vdb' bus='virtio'/></disk>"
    )


def vol_xml(name: str) -> str:
    return (
        f"<volume><name>{name}</name><capacity>{CAPACITY}</capacity>"
        "<target><format type='qcow2'/></target></volume>"
    )


def net_xml(name: str) -> str:
    return f"<network><name>{name}</name><bridge name='vk{name}'/></network>"


def secret_xml(name: str) -> str:
    return (
        "<secret ephemeral='no' private='no'><usage type='volume'>"
        f"<volume>/var/lib/virtwire-kill/{name}</volume></usage></secret>"
    )


def say(*words: str) -> None:
    print(*words, flush=True)


def work(uri: str, round_no: int) -> None:
    conn = libvirt.open(uri)
    if round_no:
        state(conn)
    else:
        pool = conn.storagePoolDefineXML(POOL_XML, 0)
        pool.build(0)
        pool.setAutostart(1)
        pool.create(0)
        say("STATE", json.dumps({**{kind: {} for kind in KINDS}, "active": True}))
    pool = conn.storagePoolLookupByName(POOL)
    say("READY")
    i = 0
    while True:
        name = f"r{round_no}n{i}"
        say("TRY define", name)
        dom = conn.defineXML(domain_xml(name))
        say("ACK define", name)
        say("TRY attach", name)
        dom.attachDeviceFlags(disk_xml(name), AFFECT_CONFIG)
        say("ACK attach", name)
        say("TRY volcreate", name)
        vol = pool.createXML(vol_xml(name), 0)
        say("ACK volcreate", name)
        say("TRY snapcreate", name)
        snap = dom.snapshotCreateXML(f"<domainsnapshot><name>s{name}</name></domainsnapshot>", 0)
        say("ACK snapcreate", name)
        say("TRY netdefine", name)
        net = conn.networkDefineXML(net_xml(name))
        say("ACK netdefine", name)
        say("TRY secdefine", name)
        secret = conn.secretDefineXML(secret_xml(name))
        say("ACK secdefine", name)
        say("TRY secvalue", name)
        secret.setValue(name.encode(), 0)
        say("ACK secvalue", name)
        if i % 2:
            say("TRY secundefine", name)
            secret.undefine()
            say("ACK secundefine", name)
            say("TRY netundefine", name)
            net.undefine()
            say("ACK netundefine", name)
            say("TRY snapdelete", name)
            snap.delete(0)
            say("ACK snapdelete", name)
            say("TRY undefine", name)
            dom.undefine()
            say("ACK undefine", name)
            say("TRY voldelete", name)
            vol.delete(0)
            say("ACK voldelete", name)
        i += 1


def state(conn: libvirt.virConnect) -> None:
    domains = {d.name(): "vdb" in d.XMLDesc(AFFECT_CONFIG) for d in conn.listAllDomains(0)}
    pool = conn.storagePoolLookupByName(POOL)
    volumes = {v.name(): v.info()[1] for v in pool.listAllVolumes(0)}
    snapshots = {
        d.name(): sorted(d.snapshotListNames(0)) for d in conn.listAllDomains(0)
        if d.snapshotNum(0)
    }  # fmt: skip
    networks = {
        n.name(): n.bridgeName() for n in conn.listAllNetworks(0) if n.name() != "default"
    }  # fmt: skip
    secrets = {}
    for secret in conn.listAllSecrets(0):
        try:
            secrets[secret.usageID()] = secret.value(0).decode()
        except libvirt.libvirtError:  # defined, its value not yet set
            secrets[secret.usageID()] = None
    found = {"domains": domains, "volumes": volumes, "snapshots": snapshots,
             "networks": networks, "secrets": secrets}  # fmt: skip
    say("STATE", json.dumps({**found, "active": pool.isActive()}))


if __name__ == "__main__":
    mode, uri = sys.argv[1], sys.argv[2]
    try:
        if mode == "work":
            work(uri, int(sys.argv[3]))
        else:
            state(libvirt.open(uri))
    except libvirt.libvirtError as exc:  # the daemon was killed under us
        say("DEAD", str(exc).replace("\n", " "))
