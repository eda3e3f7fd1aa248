"""libvirt-dbus against virtwire: a private D-Bus session bus, the real `libvirt-dbus
--session` (its qemu:///session connection reaches virtwire through the session socket
path `$XDG_RUNTIME_DIR/libvirt/libvirt-sock`), and `gdbus` calls of the org.libvirt API.

libvirt-dbus picks its URIs itself (qemu:///session, and test:///default in process), and
root's qemu:///session means libvirtd's system socket, so as root the bus, libvirt-dbus
and gdbus run as `nobody` (setpriv).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import need_peer

pytestmark = pytest.mark.interop

NOBODY = 65534
GUEST_XML = (
    "<domain type='qemu'><name>dbus1</name><memory unit='KiB'>1048576</memory>"
    "<vcpu>1</vcpu><os><type>hvm</type></os><devices>"
    "<disk type='file' device='disk'><source file='/a.img'/>"
    "<target dev='vda' bus='virtio'/></disk></devices></domain>\n"
)

SCRIPT = """
libvirt-dbus --session &
pid=$!
gdbus wait --session --timeout 20 org.libvirt || echo "org.libvirt never appeared"
call() { gdbus call --session --dest org.libvirt --object-path "$1" --method "$2" $3; }
call /org/libvirt/QEMU org.libvirt.Connect.ListSecrets 0
call /org/libvirt/QEMU org.libvirt.Connect.ListDomains 0
call /org/libvirt/QEMU org.libvirt.Connect.ListNetworks 0
call /org/libvirt/QEMU org.libvirt.Connect.ListStoragePools 0
dom=$(call /org/libvirt/QEMU org.libvirt.Connect.DomainLookupByName dbus1 | sed "s/.*'\\(.*\\)'.*/\\1/")
echo "domain $dom"
call "$dom" org.libvirt.Domain.GetStats "0 0"
call "$dom" org.libvirt.Domain.GetVcpuPinInfo 0
call /org/libvirt/QEMU org.libvirt.Connect.NodeGetCPUStats "-- -1 0"
call /org/libvirt/QEMU org.libvirt.Connect.NodeGetFreeMemory
kill $pid
wait $pid
echo "libvirt-dbus exit $?"
"""


def _have_tools() -> bool:
    tools = ["libvirt-dbus", "dbus-run-session", "gdbus"]
    if os.geteuid() == 0:
        tools.append("setpriv")
    return all(shutil.which(t) or os.path.exists(f"/usr/sbin/{t}") for t in tools)


def test_libvirt_dbus_session_reaches_virtwire(tmp_path, virtwire_server, run_virsh):
    need_peer(_have_tools(), "libvirt-dbus, dbus (dbus-run-session) and gdbus")
    qemu = virtwire_server.unix_uri("qemu", "/session")
    xml = tmp_path / "dbus1.xml"
    xml.write_text(GUEST_XML)
    done = run_virsh(
        qemu,
        f"define {xml}; start dbus1; pool-define-as dbuspool dir --target /dbuspool; "
        "pool-build dbuspool; pool-start dbuspool",
    )
    assert done.returncode == 0, done.stderr
    runtime = tmp_path / "run"
    (runtime / "libvirt").mkdir(parents=True)
    (runtime / "libvirt" / "libvirt-sock").symlink_to(virtwire_server.unix_path)
    (tmp_path / "script.sh").write_text(SCRIPT)
    env = dict(
        os.environ,
        XDG_RUNTIME_DIR=str(runtime),
        HOME=str(runtime),
        LIBVIRT_AUTOSTART="0",
        PATH=os.environ.get("PATH", "") + ":/usr/sbin",
    )
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    cmd = ["dbus-run-session", "--", "sh", str(tmp_path / "script.sh")]
    if os.geteuid() == 0:
        # nobody must reach the runtime dir, the script and virtwire's socket
        # (pytest's own temporary directories above tmp_path too: traversal only)
        dirs = [tmp_path, *tmp_path.parents, virtwire_server.base, virtwire_server.unix_path.parent]
        for path in dirs:
            if path.stat().st_uid == 0 and str(path) not in ("/", "/tmp"):
                path.chmod(path.stat().st_mode & 0o7777 | 0o011)
        virtwire_server.unix_path.chmod(0o777)
        (tmp_path / "script.sh").chmod(0o644)
        for path in (runtime, runtime / "libvirt"):
            os.chown(path, NOBODY, NOBODY)
            path.chmod(0o700)
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env)
    out = res.stdout
    assert "(@ao [],)" in out, (out, res.stderr)  # ListSecrets: none yet
    assert "/org/libvirt/QEMU/domain/_" in out, (out, res.stderr)
    # ListNetworks: the QEMU host's default network; ListStoragePools: the pool made above
    assert "objectpath '/org/libvirt/QEMU/network/_" in out, out
    assert "objectpath '/org/libvirt/QEMU/storagepool/_" in out, out
    # Domain.GetStats: virtwire's QEMU domstats groups, as libvirt-dbus relays them
    assert "'state.state': <<1>>" in out and "'block.0.name': <<'vda'>>" in out, out
    assert "'cpu.time': <<uint64" in out and "'net.count': <<uint32 0>>" in out, out
    assert "([[true, true, true, true, true, true, true, true]],)" in out, out  # pins
    assert "'kernel': uint64" in out and "(uint64 15032385536,)" in out, (
        out
    )  # 16 - 1 (host) - 1 (guest) GiB
    assert "libvirt-dbus exit 0" in out, (out, res.stderr)
    assert "GDBus.Error" not in out + res.stderr, (out, res.stderr)
