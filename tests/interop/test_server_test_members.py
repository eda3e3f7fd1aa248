"""test:///default members libvirt 9.0's test driver has and the wire-diff walk found
missing (getMaxVcpus, isUpdated, createWithFiles, createXMLWithFiles, and the daemon's own
answer for securityLabelList, which no driver here has): python3-libvirt
prints the same against libvirtd and `virtwire serve`."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.interop

SCRIPT = r"""import sys
import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])

def show(label, fn):
    try:
        result = fn()
    except libvirt.libvirtError as e:
        print(label, "ERR", e.get_error_code(), e.get_error_domain(), repr(str(e)))
    else:
        print(label, "OK", repr(result))

def xml(name):
    return (f"<domain type='test'><name>{name}</name><memory>65536</memory><vcpu>3</vcpu>"
            "<os><type>hvm</type></os></domain>")

test = conn.lookupByName("test")
show("max-vcpus", test.maxVcpus)
show("is-updated", test.isUpdated)
show("security-label-list", test.securityLabelList)  # libvirtd's dispatcher drops the error
dom = conn.defineXML(xml("members-a"))
try:
    show("max-vcpus-inactive", dom.maxVcpus)
    show("is-updated-inactive", dom.isUpdated)
    show("create-with-files-flags", lambda: dom.createWithFiles([], 1))
    show("create-with-files", lambda: dom.createWithFiles([], 0))
    show("active", dom.isActive)
    show("max-vcpus-running", dom.maxVcpus)
    show("create-with-files-again", lambda: dom.createWithFiles([], 0))
    show("destroy", dom.destroy)
finally:
    dom.undefine()
show("create-xml-with-files", lambda: conn.createXMLWithFiles(xml("members-b"), [], 0).name())
show("transient-active", lambda: conn.lookupByName("members-b").isActive())
show("destroy-b", lambda: conn.lookupByName("members-b").destroy())
show("create-xml-with-files-bad", lambda: conn.createXMLWithFiles(xml("members-d")[:-9], [], 0))
show("create-xml-with-files-flags", lambda: conn.createXMLWithFiles(xml("members-c"), [], 1))
"""


def test_same_answers_as_libvirtd(libvirtd_peer, virtwire_server, run_pylibvirt):
    theirs = run_pylibvirt(SCRIPT, libvirtd_peer.tcp_uri)
    ours = run_pylibvirt(SCRIPT, virtwire_server.tcp_uri())
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert "max-vcpus OK 2" in theirs.stdout and "create-with-files OK" in theirs.stdout
    assert ours.stdout == theirs.stdout
