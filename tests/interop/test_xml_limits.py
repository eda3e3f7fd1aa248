"""Issue 14 #3 side by side: what libvirtd 9.0 refuses at the door, virtwire refuses with the
same code, domain and text (python3-libvirt and virsh against both daemons, test:///default).

Cases: sizes past virParseScaledValue's bounds, vCPU counts past an unsigned int (and one past
an unsigned short, accepted by both: info keeps the low 16 bits), nesting past libxml2's 256
in every XML API that libvirtd's test driver parses, bytes that are not UTF-8 (virsh sends
them from a file), and a reply over REMOTE_STRING_MAX.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.interop

SCRIPT = r"""
import json, sys, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
conn = libvirt.open(sys.argv[1])
out = {}

def run(label, fn):
    try:
        value = fn()
        out[label] = ["ok", value if isinstance(value, (int, str, list)) else None]
    except libvirt.libvirtError as e:
        out[label] = ["error", e.get_error_code(), e.get_error_domain(), e.get_error_message()]

def dom(name, body):
    return ("<domain type='test'><name>%s</name>%s<os><type>hvm</type></os></domain>"
            % (name, body))

def deep(n):
    return "<a>" * n + "</a>" * n

sizes = {
    "mem1e30": "<memory>1" + "0" * 30 + "</memory>",
    "mem2^64": "<memory>18446744073709551616</memory>",
    "mem2^64-1": "<memory>18446744073709551615</memory>",
    "mem2^53": "<memory>9007199254740992</memory>",
    "memGiB": "<memory unit='GiB'>99999999999999</memory>",
    "memneg": "<memory>-5</memory>",
    "memabc": "<memory>abc</memory>",
    "memunit": "<memory unit='zz'>5</memory>",
    "curmem": "<memory>1024</memory><currentMemory>" + "9" * 30 + "</currentMemory>",
    "maxmem": "<memory>1024</memory><maxMemory slots='4'>" + "9" * 30 + "</maxMemory>",
    "vcpu1e12": "<memory>1024</memory><vcpu>1000000000000</vcpu>",
    "vcpu2^32": "<memory>1024</memory><vcpu>4294967296</vcpu>",
}
for label, body in sizes.items():
    run("define " + label, lambda: conn.defineXML(dom("x", body)).name())
    run("create " + label, lambda: conn.createXML(dom("x", body), 0).name())

run("max memory", lambda: conn.defineXML(dom("mok", "<memory>9007199254740991</memory>")).info()[1:3])
run("65537 vcpus", lambda: conn.defineXML(dom("v", "<memory>1024</memory><vcpu>65537</vcpu>")).info()[3])
run("65537 vcpusFlags", lambda: conn.lookupByName("v").vcpusFlags(0))

for total in (257, 258):
    body = "<memory>1024</memory><description>" + deep(total - 2) + "</description>"
    run("depth %d" % total, lambda: conn.defineXML(dom("d%d" % total, body)).name())
run("depth multiline", lambda: conn.defineXML(
    "<domain type='test'>\n<name>dm</name>\n<description>\n" + "<a>\n" * 300 + "</a>\n" * 300
    + "</description><os><type>hvm</type></os></domain>").name())
run("long line mismatch", lambda: conn.defineXML(
    "<domain type='test'><name>" + "x" * 100 + "</name><memory>1024</memory>"
    "<os><type>hvm</type></os></domainz>").name())
d256 = deep(256)
run("net define", lambda: conn.networkDefineXML(
    "<network><name>n1</name><description>%s</description></network>" % d256).name())
run("net create", lambda: conn.networkCreateXML(
    "<network><name>n1</name><description>%s</description></network>" % d256).name())
pool = "<pool type='dir'><name>p1</name><target><path>/x</path></target><source>%s</source></pool>"
run("pool define", lambda: conn.storagePoolDefineXML(pool % d256).name())
run("pool create", lambda: conn.storagePoolCreateXML(pool % d256).name())
p = conn.storagePoolLookupByName("default-pool")
run("vol deep", lambda: p.createXML(
    "<volume><name>v1</name><capacity>1</capacity><x>%s</x></volume>" % d256, 0).name())
run("vol capacity huge", lambda: p.createXML(
    "<volume><name>v2</name><capacity>%s</capacity></volume>" % ("9" * 30), 0).name())
run("vol capacity 2^64-1", lambda: p.createXML(
    "<volume><name>v2</name><capacity>18446744073709551615</capacity></volume>", 0).name())
test = conn.lookupByName("test")
run("snapshot deep", lambda: test.snapshotCreateXML(
    "<domainsnapshot><name>s1</name><description>%s</description></domainsnapshot>" % d256,
    0).getName())
run("interface deep", lambda: conn.interfaceDefineXML(
    "<interface type='ethernet' name='e9'><x>%s</x></interface>" % d256).name())

big = dom("big", "<memory>1024</memory><description>" + ">" * 1100000 + "</description>")
run("big define", lambda: conn.defineXML(big).name())
run("big dumpxml", lambda: len(conn.lookupByName("big").XMLDesc(0)))
run("after big", lambda: conn.lookupByName("big").info()[1])
print(json.dumps(out))
"""

NOT_UTF8 = {
    "name": b"<domain type='test'><name>bad\xff\xfename</name><memory>1024</memory>"
    b"<os><type>hvm</type></os></domain>",
    "multiline": b"<domain type='test'>\n<name>u</name>\n<description>ok \xc3\x28 x</description>"
    b"<memory>1024</memory><os><type>hvm</type></os></domain>",
}


def _answers(run_pylibvirt, uri: str) -> dict:
    done = run_pylibvirt(SCRIPT, uri, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_refusals_match_libvirtd(
    virtwire_server, libvirtd_peer, run_pylibvirt, run_virsh, tmp_path
):
    real = _answers(run_pylibvirt, libvirtd_peer.unix_uri)
    mine = _answers(run_pylibvirt, virtwire_server.unix_uri())
    assert real.keys() == mine.keys()
    differ = {k: (mine[k], real[k]) for k in real if mine[k] != real[k]}
    assert not differ, "\n".join(
        f"{k}:\n  virtwire {m}\n  libvirtd {r}" for k, (m, r) in differ.items()
    )
    # what the comparison is about (libvirtd's answers, so a change on either side shows)
    assert real["define mem1e30"][1:3] == [27, 5]
    assert real["define mem2^64-1"][1:3] == [82, 0]
    assert real["65537 vcpus"] == ["ok", 1]
    assert real["depth 257"][0] == "ok" and real["depth 258"][1:3] == [35, 20]
    assert real["big define"] == ["ok", "big"]
    assert real["big dumpxml"][1:] == [39, 7, "Unable to encode message payload"]
    assert len(real["long line mismatch"][3].split("\n")[1]) > 80  # the whole line is shown
    _not_utf8_matches(virtwire_server, libvirtd_peer, tmp_path)


def _virsh_bytes(uri: str, *args: str) -> subprocess.CompletedProcess:
    """virsh's output as bytes: libvirt echoes the offending line, bad bytes included."""
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    env.pop("LIBVIRT_DEFAULT_URI", None)
    return subprocess.run(["virsh", "-c", uri, *args], capture_output=True, timeout=30, env=env)


def _not_utf8_matches(virtwire_server, libvirtd_peer, tmp_path) -> None:
    """virsh define of files holding bytes that are not UTF-8: the same stderr, byte for byte."""
    for name, data in NOT_UTF8.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(data)
        real = _virsh_bytes(libvirtd_peer.unix_uri, "define", str(path))
        mine = _virsh_bytes(virtwire_server.unix_uri(), "define", str(path))
        assert real.returncode == mine.returncode == 1
        assert b"Input is not proper UTF-8, indicate encoding !" in real.stderr
        assert mine.stderr == real.stderr, name
