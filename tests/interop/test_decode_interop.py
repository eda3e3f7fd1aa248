"""`virtwire decode` against libvirt's Wireshark dissector on live captures of real peers.

Real virsh and python3-libvirt talk to a real private libvirtd on loopback while dumpcap
captures the port (as ``../shared/peer/capture.sh`` does); our decoder and
``tshark -d tcp.port==PORT,libvirt`` must agree frame for frame on program, procedure, type,
serial and status. Where the dissector is known to be wrong, a test shows both outputs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from virtwire.protocol import procedures
from virtwire.protocol.framing import encode_frame
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.tools import decode

from tests.conftest import need_peer
from tests.interop.live_capture import capturing

pytestmark = pytest.mark.interop


def have_tshark() -> bool:
    if not (shutil.which("tshark") and shutil.which("dumpcap")):
        return False
    out = subprocess.run(["tshark", "-G", "protocols"], capture_output=True, text=True, timeout=60)
    return "\tlibvirt\t" in out.stdout


@pytest.fixture(scope="module")
def tshark_ok() -> None:
    need_peer(have_tshark(), "tshark + dumpcap + libvirt-wireshark dissector")


def tshark_headers(path: Path, port: int) -> list[tuple[int, int, int, int, int, int]]:
    """(frame, program, procedure, type, serial, status) of every PDU the dissector sees."""
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(path),
            "-d",
            f"tcp.port=={port},libvirt",
            "-Y",
            "libvirt",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "libvirt.program",
            "-e",
            "libvirt.procedure",
            "-e",
            "libvirt.type",
            "-e",
            "libvirt.serial",
            "-e",
            "libvirt.status",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = []
    for line in out.splitlines():
        frame, *cols = line.split("\t")
        split = [c.split(",") for c in cols]
        for prog, proc, mtype, serial, status in zip(*split):
            rows.append((int(frame), int(prog, 0), int(proc), int(mtype), int(serial), int(status)))
    return rows


def tshark_verbose(path: Path, port: int) -> str:
    return subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(path),
            "-d",
            f"tcp.port=={port},libvirt",
            "-Y",
            "libvirt",
            "-O",
            "libvirt",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


_TYPES = {
    "CALL": 0,
    "REPLY": 1,
    "MESSAGE": 2,
    "STREAM": 3,
    "CALL_WITH_FDS": 4,
    "REPLY_WITH_FDS": 5,
    "STREAM_HOLE": 6,
}
_STATUS = {"OK": 0, "ERROR": 1, "CONTINUE": 2}


def our_headers(path: Path, port: int) -> tuple[list[tuple], list[dict], dict]:
    records, summary = decode.decode_file(path, decode.DecodeOptions(ports=(port,)))
    from virtwire.protocol.constants import PROGRAM_NAMES

    numbers = {name: number for number, name in PROGRAM_NAMES.items()}
    rows = [
        (
            r["frame"],
            numbers[r["program"]],
            r["procedure"],
            _TYPES[r["type"]],
            r["serial"],
            _STATUS[r["status"]],
        )
        for r in records
    ]
    return rows, records, summary


def _assert_agree(path: Path, port: int) -> tuple[list[dict], dict]:
    ours, records, summary = our_headers(path, port)
    theirs = tshark_headers(path, port)
    assert theirs, "the dissector saw no libvirt PDU"
    assert ours == theirs
    assert not summary["malformed"] and not summary["resyncs"] and not summary["gaps"]
    assert all("body_error" not in r for r in records), [r for r in records if "body_error" in r]
    return records, summary


def test_virsh_session_agrees_with_the_dissector(tshark_ok, libvirtd_peer, run_virsh, tmp_path):
    uri = libvirtd_peer.tcp_uri
    pcap = tmp_path / "virsh.pcap"
    with capturing(pcap, libvirtd_peer.port):
        for args in (
            ("list", "--all"),
            ("dominfo", "test"),
            ("version", "--daemon"),
            ("dumpxml", "test"),
            ("find-storage-pool-sources", "logical"),
            ("pool-list", "--all"),
            ("net-list", "--all"),
        ):
            assert run_virsh(uri, *args).returncode == 0, args
        assert run_virsh(uri, "dominfo", "no-such-domain").returncode != 0
    records, summary = _assert_agree(pcap, libvirtd_peer.port)
    assert summary["connections"] == 8 and summary["unanswered_calls"] == []
    err = next(r for r in records if r["status"] == "ERROR")
    assert err["error"]["code_name"] == "NO_DOMAIN"
    assert err["body"]["message"].startswith("Domain not found")


PY_SCRIPT = """
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
conn = libvirt.open(sys.argv[1])
seen = []
cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                 lambda c, d, e, det, o: seen.append(e), None)
dom = conn.lookupByName("test")
dom.info(); conn.getType(); conn.listAllDomains(); conn.getLibVersion()
dom.suspend(); dom.resume()
try:
    conn.lookupByName("nope")
except libvirt.libvirtError:
    pass
for _ in range(100):
    if len(seen) >= 2:
        break
    time.sleep(0.02)
conn.domainEventDeregisterAny(cb)
conn.close()
print(len(seen))
"""


def test_python_libvirt_session_agrees_with_the_dissector(
    tshark_ok, libvirtd_peer, run_pylibvirt, tmp_path
):
    pcap = tmp_path / "py.pcap"
    with capturing(pcap, libvirtd_peer.port):
        done = run_pylibvirt(PY_SCRIPT, libvirtd_peer.tcp_uri)
    assert done.returncode == 0, done.stderr
    records, summary = _assert_agree(pcap, libvirtd_peer.port)
    assert summary["events"] >= 2 and summary["errors"] == 1
    events = [r for r in records if r.get("event")]
    assert [e["body"]["msg"]["event"] for e in events[:2]] == [3, 4]  # SUSPENDED, RESUMED


def test_dissector_shows_strings_as_their_length(tshark_ok, libvirtd_peer, run_virsh, tmp_path):
    """remote_connect_find_storage_pool_sources_args.type and CONNECT_GET_TYPE's ret: the
    dissector prints the XDR length word (7, 4) and leaves the text "unknown"."""
    pcap = tmp_path / "strings.pcap"
    with capturing(pcap, libvirtd_peer.port):
        assert (
            run_virsh(libvirtd_peer.tcp_uri, "find-storage-pool-sources", "logical").returncode == 0
        )
        assert run_virsh(libvirtd_peer.tcp_uri, "version").returncode == 0
    text = tshark_verbose(pcap, libvirtd_peer.port)
    block = text.split("remote_connect_find_storage_pool_sources_args", 1)[1][:200]
    assert "type: 7" in block and "logical" not in block
    ret_block = text.split("remote_connect_get_type_ret", 1)[1][:100]
    assert "type: 4" in ret_block and "TEST" not in ret_block

    _, records, _ = our_headers(pcap, libvirtd_peer.port)
    find = next(r for r in records if r["short_name"] == "CONNECT_FIND_STORAGE_POOL_SOURCES")
    assert find["body"] == {"type": "logical", "srcSpec": None, "flags": 0}
    get_type = next(
        r for r in records if r["short_name"] == "CONNECT_GET_TYPE" and r["type"] == "REPLY"
    )
    assert get_type["body"] == {"type": "TEST"}


def test_dissector_misdecodes_with_fds(tshark_ok, tmp_path):
    """The dissector compares the header's *status* with the WITH_FDS *type* values, so it
    never skips the fd-count word: the count becomes the domain name's length and every
    later field shifts. We skip the word, report the count, and decode the args."""
    from tests.tools.test_decode import _conversation, _hdr, _write

    gfx = procedures.resolve("DOMAIN_OPEN_GRAPHICS_FD").number
    dom = rp.RemoteNonnullDomain("vm1", bytes(range(16)), 3)
    args = rp.pack_remote_domain_open_graphics_fd_args(rp.RemoteDomainOpenGraphicsFdArgs(dom, 2, 0))
    msgs = [
        (True, encode_frame(_hdr(gfx, 4, 1), args, nfds=1)),
        (False, encode_frame(_hdr(gfx, 5, 1), b"", nfds=1)),
    ]
    pcap = _write(tmp_path / "fds.pcap", _conversation(msgs, port=16509))
    text = tshark_verbose(pcap, 16509)
    assert "type: CALL_WITH_FDS (4)" in text
    assert "name: vm1" not in text and "idx: 2" not in text  # shifted by the fd-count word
    assert "unknown: 00000001" in text  # the reply's fd count, shown as unknown bytes

    records, summary = decode.decode_file(pcap, decode.DecodeOptions(ports=(16509,)))
    assert records[0]["nfds"] == 1 and records[1]["nfds"] == 1
    assert records[0]["body"] == {
        "dom": {"name": "vm1", "uuid": "00010203-0405-0607-0809-0a0b0c0d0e0f", "id": 3},
        "idx": 2,
        "flags": 0,
    }
    assert records[1]["body"] is None and "body_error" not in records[1]
    # the header fields still agree
    assert our_headers(pcap, 16509)[0] == tshark_headers(pcap, 16509)
    assert not summary["malformed"]
