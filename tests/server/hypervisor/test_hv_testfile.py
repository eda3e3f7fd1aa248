"""test:///PATH.xml: the loader's rules that need no peer (server/hypervisor/testfile.py)."""

from __future__ import annotations

import os

import pytest
from virtwire.protocol.errors import LibvirtError

NODE = (
    "<node><domain file='dom.xml'/><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores>"
    "<threads>1</threads></cpu><memory>2048</memory></node>"
)
DOM = "<domain type='test'><name>d1</name><memory>1024</memory><os><type>hvm</type></os></domain>"


@pytest.fixture
def node(tmp_path):
    (tmp_path / "dom.xml").write_text(DOM)
    path = tmp_path / "node.xml"
    path.write_text(NODE)
    return path


def test_a_file_host_is_private_to_its_connection(registry, node):
    a = registry.open(f"test://{node}")
    b = registry.open(f"test://{node}")
    assert a is not b
    assert [d.name for d in a.connect_list_all_domains(1)] == ["d1"]
    assert a.node_get_info()[2:4] == (2, 1400) and a.node_get_info()[1] == 2048
    a.domain_destroy(a.domain_lookup_by_name("d1"))
    assert b.domain_is_active(b.domain_lookup_by_name("d1"))
    registry.close(a)
    registry.close(b)


def _open_error(registry, uri: str) -> str:
    with pytest.raises(LibvirtError) as exc:
        registry.open(uri)
    return exc.value.message.removeprefix("XML error: ")


def test_files_of_another_user_are_not_read(registry, node, monkeypatch):
    """A document, or a file it references, that the daemon's user does not own reads as
    missing, whatever its permissions."""
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    assert _open_error(registry, f"test://{node}") == f"failed to parse xml document '{node}'"
    monkeypatch.setattr(os, "geteuid", lambda: real)
    registry.close(registry.open(f"test://{node}"))


def test_symlinks_and_special_files_are_not_read(registry, node, tmp_path):
    link = tmp_path / "link.xml"
    link.symlink_to(node)
    assert _open_error(registry, f"test://{link}") == f"failed to parse xml document '{link}'"
    assert _open_error(registry, "test:///dev/zero") == "failed to parse xml document '/dev/zero'"
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<node>\xff</node>")
    assert _open_error(registry, f"test://{bad}") == f"failed to parse xml document '{bad}'"
