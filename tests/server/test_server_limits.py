"""libvirtd's access limits and config keys for TLS/auth/socket ownership."""

from __future__ import annotations

import argparse
import asyncio
import grp
import os
import stat
from pathlib import Path

import pytest
from virtwire.server.config import ConfigError, ServerConfig, parse_config_text
from virtwire.tools.serve import listen_specs
from virtwire.tools.serve import main as serve_main

from tests.server.test_server_session import OPEN, call, make_session


def test_a_reply_counts_until_written(tmp_path):
    """max_client_requests: an unwritten reply still counts; reading stops at the limit."""

    async def main():
        s, t, _ = make_session(tmp_path, max_client_requests=2, max_client_queue=100)
        s.data_received(call(1, 0, OPEN))
        s.pause_writing()  # the client stops reading
        s.data_received(b"".join(call(3, n) for n in range(1, 6)))
        assert s.queued == 2  # two replies wait; the other three calls were not started
        assert not t.reading
        s.resume_writing()  # written: the next calls run, until the limit again
        assert [f.header.serial for f in t.frames()] == [0, 1, 2, 3, 4, 5]
        assert t.reading
        s.connection_lost(None)

    asyncio.run(main())


def test_one_read_of_many_calls_runs_only_up_to_the_limit(tmp_path):
    """Hundreds of pipelined calls arrive in one read and the client reads nothing: the
    batch's corked replies count until written, and once the transport's buffer is full
    (asyncio's pause_writing) the rest wait unread, instead of each producing a reply."""

    async def main():
        s, t, _ = make_session(tmp_path, max_client_requests=2, max_client_queue=1000)
        s.data_received(call(1, 0, OPEN))
        real_write = t.write

        def write_then_full(data: bytes) -> None:
            real_write(data)
            s.pause_writing()  # what asyncio does past its high-water mark

        t.write = write_then_full
        s.data_received(b"".join(call(3, n) for n in range(1, 301)))
        replies = len(t.frames()) - 1 + s.queued
        assert replies == 4  # two corked and written, two waiting: the limit, not 300
        assert not t.reading
        s.connection_lost(None)

    asyncio.run(main())


def test_a_read_of_exactly_the_limit_keeps_reading(tmp_path):
    """A batch that reaches the limit with its last frame: once its replies are written,
    nothing counts any more, and the connection must read on."""

    async def main():
        s, t, _ = make_session(tmp_path, max_client_requests=3, max_client_queue=100)
        s.data_received(call(1, 0, OPEN))
        s.data_received(b"".join(call(3, n) for n in range(1, 4)))
        assert len(t.frames()) == 4 and t.reading
        s.connection_lost(None)

    asyncio.run(main())


def test_a_backlog_runs_in_lots_of_the_limit_one_write_each(tmp_path):
    """64 pipelined calls in one read, limit 5: the first five run corked, the rest wait
    and run five at a time once the previous lot is written, each lot in one write (not a
    write per reply); the replies are complete and in order."""

    async def main():
        s, t, _ = make_session(tmp_path, max_client_requests=5, max_client_queue=100)
        s.data_received(call(1, 0, OPEN))
        writes: list[bytes] = []
        real_write = t.write

        def counted(data: bytes) -> None:
            writes.append(data)
            real_write(data)

        t.write = counted
        s.data_received(b"".join(call(3, n) for n in range(1, 65)))
        assert [f.header.serial for f in t.frames()] == list(range(65))
        assert len(writes) == 13  # ceil(64 / 5)
        assert t.reading
        s.connection_lost(None)

    asyncio.run(main())


def test_events_do_not_count_against_max_client_requests(tmp_path):
    async def main():
        s, t, _ = make_session(tmp_path, max_client_requests=1, max_client_queue=100)
        s.data_received(call(1, 0, OPEN))
        s.pause_writing()
        for _ in range(3):
            s.send_event(b"\x00\x00\x00\x1c" + bytes(24))
        assert t.reading and s.queued == 3
        s.connection_lost(None)

    asyncio.run(main())


def test_tls_keys_parse_with_libvirts_names_and_defaults():
    cfg = parse_config_text(
        'listen_tls = 1\ntls_port = "16515"\nauth_tls = "none"\n'
        'key_file = "/k.pem"\ncert_file = "/c.pem"\nca_file = "/ca.pem"\ncrl_file = "/crl.pem"\n'
        "tls_no_verify_certificate = 0\n"
        'tls_allowed_dn_list = ["C=GB,O=Acme,CN=*",\n  "O=virtwire,*"]\n'
        'unix_sock_group = "libvirt"\n',
        "t.conf",
    )
    assert cfg.listen_tls == 1 and cfg.tls_port == "16515"
    assert (cfg.key_file, cfg.cert_file, cfg.ca_file, cfg.crl_file) == (
        "/k.pem", "/c.pem", "/ca.pem", "/crl.pem")  # fmt: skip
    assert cfg.tls_allowed_dn_list == ("C=GB,O=Acme,CN=*", "O=virtwire,*")
    assert cfg.unix_sock_group == "libvirt" and not cfg.warnings
    d = ServerConfig()
    assert (d.listen_tls, d.tls_port, d.auth_tls, d.tls_allowed_dn_list) == (
        0,
        "16514",
        "none",
        None,
    )
    assert (d.unix_sock_rw_perms, d.unix_sock_ro_perms) == ("0700", "0777")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('auth_tls = "sasl"', "auth_tls = 'sasl' is not supported by virtwire yet"),
        ('auth_unix_rw = "polkit"', "auth_unix_rw = 'polkit' is not supported"),
        ('auth_tls = "kerberos"', "is not an authentication scheme"),
        ('tls_allowed_dn_list = "CN=*"', "tls_allowed_dn_list must be a list of quoted strings"),
        ("tls_allowed_dn_list = [1]", "tls_allowed_dn_list must be a list of quoted strings"),
        ("listen_tls = 2", "listen_tls must be 0 or 1"),
        ('tls_port = "x"', "tls_port must be a port number"),
    ],
)
def test_bad_tls_and_auth_values_stop_the_daemon(text, needle):
    with pytest.raises(ConfigError) as exc:
        parse_config_text(text, "t.conf")
    assert needle in str(exc.value)


def test_serve_reports_an_unsupported_auth_scheme_in_one_line(tmp_path, capsys):
    conf = tmp_path / "c.conf"
    conf.write_text('auth_tls = "sasl"\n')
    assert serve_main(["--state-dir", str(tmp_path), "--config", str(conf)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("virtwire serve: error: ")
    assert "auth_tls = 'sasl'" in err[0]


def test_listen_tls_opens_the_tls_port():
    args = argparse.Namespace(unix=None, unix_ro=None, tcp=None, tls=None)
    cfg = ServerConfig(listen_tls=1, tls_port="16599", listen_addr="127.0.0.1")
    specs = listen_specs(args, cfg, Path("/tmp/x"))
    assert [(s.kind, s.host, s.port) for s in specs][-1] == ("tls", "127.0.0.1", 16599)
    args.tls = "[::1]:0"
    assert [(s.kind, s.host) for s in listen_specs(args, cfg, Path("/tmp/x"))] == [("tls", "::1")]


def test_pki_dir_without_tls_listener_is_an_error(tmp_path, capsys):
    rc = serve_main(["--state-dir", str(tmp_path), "--unix", str(tmp_path / "s"),
                     "--pki-dir", str(tmp_path)])  # fmt: skip
    assert rc == 1 and "--pki-dir needs a TLS listener" in capsys.readouterr().err


def test_socket_modes_and_group(make_daemon):
    group = grp.getgrgid(os.getgid()).gr_name
    d = make_daemon(unix_sock_group=group)
    rw, ro = os.stat(d.unix_path), os.stat(d.ro_path)
    assert stat.S_IMODE(rw.st_mode) == 0o700 and stat.S_IMODE(ro.st_mode) == 0o777
    assert rw.st_gid == ro.st_gid == os.getgid()


def test_unknown_socket_group_is_a_start_error(make_daemon):
    from virtwire.server.daemon import DaemonError

    with pytest.raises(DaemonError, match="unix_sock_group: no group named 'no-such-group-x'"):
        make_daemon(unix_sock_group="no-such-group-x")


def test_queued_bytes_over_the_bound_disconnects(tmp_path, caplog):
    """issue 14 #1: the outgoing queue is bounded in bytes, not only in messages."""

    async def main():
        s, t, closed = make_session(tmp_path, max_client_queue=1000, max_client_queue_bytes=4096)
        s.data_received(call(1, 0, OPEN))
        s.pause_writing()  # the client stops reading
        event = b"\x00\x00\x04\x00" + bytes(1020)  # 1 KiB per message
        for _ in range(4):
            s.send_event(event)
        assert not t.aborted and s.queued == 4  # exactly at the bound: kept
        s.send_event(event)
        assert t.aborted
        s.connection_lost(None)
        assert closed == [s]

    with caplog.at_level("WARNING", logger="virtwire.server"):
        asyncio.run(main())
    assert "5 messages (5120 bytes) waiting to be written" in caplog.text
    assert "max_client_queue_bytes=4096" in caplog.text


def test_queued_bytes_come_back_down_when_written(tmp_path):
    async def main():
        s, t, _ = make_session(tmp_path, max_client_queue=1000, max_client_queue_bytes=4096)
        s.data_received(call(1, 0, OPEN))
        event = b"\x00\x00\x04\x00" + bytes(1020)
        for _ in range(10):  # 10 KiB in all, never more than 3 KiB waiting
            s.pause_writing()
            for _ in range(3):
                s.send_event(event)
            s.resume_writing()
        assert not t.aborted and s.queued == 0
        s.connection_lost(None)

    asyncio.run(main())


def test_max_client_queue_bytes_is_a_config_key():
    assert parse_config_text("max_client_queue_bytes = 1048576").max_client_queue_bytes == 1 << 20
    with pytest.raises(ConfigError, match="max_client_queue_bytes must be at least 1"):
        parse_config_text("max_client_queue_bytes = 0")
