"""Third-party clients against `virtwire serve` on qemu:///system: virt-install, Ansible.

virt-install makes its own "default" pool (define, build, start, autostart), allocates the
guest's disk as a volume (a real file under the host's state directory), defines the domain
with an interface on the "default" network and starts it. Ansible's community.libvirt
modules (virt_net, virt_pool, virt) define, start and inspect networks, pools and guests;
where libvirtd's test driver can answer the same question (facts of test:///default's
built-in network and pool), both daemons' answers are compared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_peer

pytestmark = pytest.mark.interop

POOL_PATH = "/var/lib/libvirt/images"


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", HOME=str(tmp_path))
    env.pop("LIBVIRT_DEFAULT_URI", None)
    return env


def test_virt_install_import(virtwire_server, run_virsh, tmp_path):
    need_peer(shutil.which("virt-install") is not None, "virt-install (Debian package virtinst)")
    uri = virtwire_server.unix_uri("qemu", "/system")
    proc = subprocess.run(
        [
            "virt-install",
            "--connect",
            uri,
            "--name",
            "vm1",
            "--memory",
            "512",
            "--disk",
            "size=1",
            "--network",
            "network=default",
            "--import",
            "--osinfo",
            "detect=on,require=off",
            "--noautoconsole",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Domain creation completed." in proc.stdout
    assert " vm1    running" in run_virsh(uri, "list").stdout
    pools = run_virsh(uri, "pool-list", "--all", "--details").stdout
    assert "default   running   yes         yes" in pools
    disk = virtwire_server.state_dir / "qemu-system/root" / POOL_PATH.lstrip("/") / "vm1.qcow2"
    assert disk.is_file()
    info = run_virsh(uri, "vol-info", f"{POOL_PATH}/vm1.qcow2", "--bytes").stdout
    assert "Capacity:       1073741824 bytes" in info
    xml = run_virsh(uri, "dumpxml", "vm1").stdout
    assert f"<source file='{POOL_PATH}/vm1.qcow2'/>" in xml
    assert "<source network='default'" in xml


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: define n2
      community.libvirt.virt_net:
        uri: "{{ uri }}"
        command: define
        name: n2
        xml: "<network><name>n2</name><bridge name='vwbr2'/></network>"
    - name: start n2
      community.libvirt.virt_net: {uri: "{{ uri }}", name: n2, state: active}
    - name: autostart n2
      community.libvirt.virt_net: {uri: "{{ uri }}", name: n2, autostart: true}
    - name: nets
      community.libvirt.virt_net: {uri: "{{ uri }}", command: list_nets}
      register: nets
    - name: net facts
      community.libvirt.virt_net: {uri: "{{ uri }}", command: facts}
      register: net_facts
    - name: define p2
      community.libvirt.virt_pool:
        uri: "{{ uri }}"
        command: define
        name: p2
        xml: "<pool type='dir'><name>p2</name><target><path>/srv/p2</path></target></pool>"
    - name: build p2
      community.libvirt.virt_pool: {uri: "{{ uri }}", name: p2, command: build}
    - name: start p2
      community.libvirt.virt_pool: {uri: "{{ uri }}", name: p2, state: active}
    - name: pool facts
      community.libvirt.virt_pool: {uri: "{{ uri }}", command: facts}
      register: pool_facts
    - name: vms
      community.libvirt.virt: {uri: "{{ uri }}", command: list_vms}
      register: vms
"""

FACTS_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: task0
      community.libvirt.virt_net: {uri: "{{ uri }}", command: facts}
      ignore_errors: true
    - name: task1
      community.libvirt.virt_pool: {uri: "{{ uri }}", command: facts}
"""


def _playbook(tmp_path: Path, text: str, uri: str, name: str) -> dict[str, dict]:
    need_peer(shutil.which("ansible-playbook") is not None, "ansible (Debian package ansible)")
    book = tmp_path / f"{name}.yml"
    book.write_text(text)
    env = _env(tmp_path)
    env.update(ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOCALHOST_WARNING="false")
    env.update(ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", f"uri={uri}", str(book)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    report = json.loads(proc.stdout)
    return {
        task["task"]["name"]: task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]
    }


def test_ansible_networks_pools_vms(virtwire_server, run_virsh, tmp_path):
    uri = virtwire_server.unix_uri("qemu", "/system")
    results = _playbook(tmp_path, PLAYBOOK, uri, "qemu")
    assert sorted(results["nets"]["list_nets"]) == ["default", "n2"]
    n2 = results["net facts"]["ansible_facts"]["ansible_libvirt_networks"]["n2"]
    assert (n2["state"], n2["autostart"], n2["persistent"], n2["bridge"]) == (
        "active",
        "yes",
        "yes",
        "vwbr2",
    )
    p2 = results["pool facts"]["ansible_facts"]["ansible_libvirt_pools"]["p2"]
    assert (p2["state"], p2["type"], p2["path"]) == ("active", "dir", "/srv/p2")
    assert (virtwire_server.state_dir / "qemu-system/root/srv/p2").is_dir()
    assert results["vms"]["list_vms"] == []
    # what Ansible did is what the daemon keeps
    assert "n2        active   yes         yes" in run_virsh(uri, "net-list").stdout


def test_ansible_facts_match_libvirtd(virtwire_server, libvirtd_peer, tmp_path):
    ours = _playbook(tmp_path, FACTS_PLAYBOOK, virtwire_server.unix_uri(), "ours")
    theirs = _playbook(tmp_path, FACTS_PLAYBOOK, libvirtd_peer.unix_uri, "theirs")
    # the test driver has no DHCP leases, which virt_net's facts ask for: the same failure
    assert ours["task0"]["failed"] and theirs["task0"]["failed"]
    assert ours["task0"]["msg"] == theirs["task0"]["msg"]
    ours_pools = ours["task1"]["ansible_facts"]["ansible_libvirt_pools"]
    theirs_pools = theirs["task1"]["ansible_facts"]["ansible_libvirt_pools"]
    assert ours_pools == theirs_pools
