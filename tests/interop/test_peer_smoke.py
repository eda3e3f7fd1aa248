def test_peer(libvirtd_peer, run_virsh, run_pylibvirt):
    r = run_virsh(libvirtd_peer.tcp_uri, "list", "--all")
    print(r.stdout)
    assert "test" in r.stdout
    r = run_virsh(libvirtd_peer.unix_uri, "domstate", "test")
    assert r.stdout.strip() == "running"
    r = run_pylibvirt("import libvirt,sys; c=libvirt.open(sys.argv[1]); print(c.getType())", libvirtd_peer.tcp_uri)
    assert r.stdout.strip() == "TEST", r.stderr
