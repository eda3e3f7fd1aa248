"""Real virsh against `virtwire serve` on qemu:///system: iothreadset (polling live only,
thread pools in the XML) and the values back in `domstats --iothread`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

GUEST = """<domain type='kvm'>
  <name>io1</name>
  <memory unit='KiB'>524288</memory>
  <vcpu>2</vcpu>
  <iothreads>2</iothreads>
  <os><type>hvm</type></os>
</domain>
"""


def test_virsh_iothreadset(virtwire_server, run_virsh, tmp_path: Path):
    uri = virtwire_server.unix_uri("qemu", "/system")
    (tmp_path / "io1.xml").write_text(GUEST)

    def ok(*args: str) -> str:
        proc = run_virsh(uri, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    ok("define", str(tmp_path / "io1.xml"))
    bad = run_virsh(uri, "iothreadset", "io1", "1", "--poll-max-ns", "100")
    assert bad.returncode == 1
    assert "configuring persistent polling values is not supported" in bad.stderr
    ok("iothreadset", "io1", "2", "--thread-pool-min", "1", "--thread-pool-max", "4", "--config")
    assert "<iothread id='2' thread_pool_min='1' thread_pool_max='4'/>" in ok(
        "dumpxml", "io1", "--inactive"
    )
    ok("start", "io1")
    ok("iothreadset", "io1", "2", "--poll-max-ns", "4096", "--poll-grow", "2", "--live")
    stats = ok("domstats", "io1", "--iothread").split()
    for line in ("iothread.count=2", "iothread.1.poll-max-ns=32768", "iothread.2.poll-max-ns=4096",
                 "iothread.2.poll-grow=2", "iothread.2.poll-shrink=0"):  # fmt: skip
        assert line in stats
    bad = run_virsh(uri, "iothreadset", "io1", "3", "--poll-grow", "1")
    assert "invalid argument: cannot find IOThread '3' in iothreadids" in bad.stderr
    bad = run_virsh(uri, "iothreadset", "io1", "1", "--poll-max-ns", "2147483648")
    assert "poll-max-ns (2147483648) must be less than or equal to 2147483647" in bad.stderr
    bad = run_virsh(uri, "iothreadset", "io1", "1", "--thread-pool-min", "2")
    assert "thread_pool_min (2) can't be greater than thread_pool_max (-1)" in bad.stderr
    ok("iothreadset", "io1", "2", "--thread-pool-max", "8")
    assert "<iothread id='2' thread_pool_min='1' thread_pool_max='8'/>" in ok("dumpxml", "io1")
    assert "thread_pool_max='4'" in ok("dumpxml", "io1", "--inactive")
