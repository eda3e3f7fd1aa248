"""The interop harness itself: the private libvirtd answers real virsh and python3-libvirt on
both of its transports, so a failure elsewhere in tests/interop is not the harness's."""

import pytest

pytestmark = pytest.mark.interop


def test_private_libvirtd_serves_virsh_and_python_libvirt(libvirtd_peer, run_virsh, run_pylibvirt):
    listing = run_virsh(libvirtd_peer.tcp_uri, "list", "--all")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[2].split() == ["1", "test", "running"]
    state = run_virsh(libvirtd_peer.unix_uri, "domstate", "test")
    assert state.stdout.strip() == "running"
    script = "import libvirt, sys; c = libvirt.open(sys.argv[1]); print(c.getType())"
    typed = run_pylibvirt(script, libvirtd_peer.tcp_uri)
    assert typed.stdout.strip() == "TEST", typed.stderr
