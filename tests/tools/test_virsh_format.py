"""virsh's layouts and vocabulary, checked against bytes captured from real virsh 9.0."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from virtwire.tools import virsh_format as fmt

# --- the list table (tools/vsh-table.c) ------------------------------------------------------


def test_table_one_running_domain_matches_virsh():
    # `virsh list` against a fresh test:///default
    out = fmt.format_table(["Id", "Name", "State"], [["1", "test", "running"]])
    assert out == " Id   Name   State\n----------------------\n 1    test   running\n"


def test_table_header_only_matches_virsh():
    # `virsh list --inactive` with no inactive domain: 20 dashes (5 + 7 + 8)
    out = fmt.format_table(["Id", "Name", "State"], [])
    assert out == " Id   Name   State\n--------------------\n"


def test_table_shut_off_widens_last_column():
    out = fmt.format_table(["Id", "Name", "State"], [["-", "test", "shut off"]])
    assert out == " Id   Name   State\n-----------------------\n -    test   shut off\n"


def test_table_empty_last_cell_keeps_padding_of_previous_columns():
    # `virsh list --title` with an untitled domain ends the row with "running   " + " "
    out = fmt.format_table(["Id", "Name", "State", "Title"], [["3", "test", "running", ""]])
    assert out.splitlines()[2] == " 3    test   running   "
    assert out.splitlines()[1] == "-" * 30


def test_table_escapes_control_characters_and_counts_their_width():
    text, width = fmt.table_safe_encode("a\tb")
    assert (text, width) == ("a\\x09b", 6)
    text, width = fmt.table_safe_encode("x\\xy")
    assert text == "x\\x5cxy"


def test_table_wide_characters_take_two_columns():
    assert fmt.table_safe_encode("日本")[1] == 4
    out = fmt.format_table(["Name"], [["日本"], ["ab"]])
    assert out.splitlines()[1] == "-" * 7


def test_table_without_header():
    out = fmt.format_table(["Id", "Name"], [["1", "a"]], show_header=False)
    assert out == " 1   a\n"


@settings(max_examples=60)
@given(
    st.lists(
        st.lists(st.text(alphabet="abcXYZ-_ 0123", max_size=8), min_size=3, max_size=3), max_size=6
    )
)
def test_table_rows_align(rows):
    """Every column starts at the same offset in every line (printable ASCII cells)."""
    out = fmt.format_table(["Id", "Name", "State"], rows)
    lines = out.splitlines()
    widths = [max(len(r[j]) for r in [["Id", "Name", "State"], *rows]) for j in range(3)]
    assert len(lines[1]) == sum(w + 3 for w in widths)
    starts = [1, 1 + widths[0] + 3, 1 + widths[0] + 3 + widths[1] + 3]
    for line, row in zip([lines[0], *lines[2:]], [["Id", "Name", "State"], *rows]):
        for start, cell in zip(starts, row):
            assert line[start : start + len(cell)] == cell


# --- states and reasons ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (0, "no state"),
        (1, "running"),
        (3, "paused"),
        (5, "shut off"),
        (7, "pmsuspended"),
        (42, "no state"),
    ],
)
def test_state_names(state, text):
    assert fmt.state_to_string(state) == text


@pytest.mark.parametrize(
    ("state", "reason", "text"),
    [
        (1, 0, "unknown"),
        (1, 1, "booted"),
        (3, 1, "user"),
        (5, 2, "destroyed"),
        (5, 1, "shutdown"),
        (6, 1, "panicked"),
        (1, 99, "unknown"),
        (9, 0, "unknown"),
    ],
)
def test_state_reasons(state, reason, text):
    assert fmt.state_reason_to_string(state, reason) == text


def test_versions():
    assert fmt.version_triplet(9000000) == "9.0.0"
    assert fmt.version_triplet(2) == "0.0.2"
    assert fmt.version_triplet(10002003) == "10.2.3"


# --- scaled sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", 100 * 1024),
        ("1b", 1),
        ("1B", 1),
        ("1k", 1024),
        ("1KiB", 1024),
        ("1kb", 1000),
        ("1M", 1024**2),
        ("100M", 100 * 1024**2),
        ("1G", 1024**3),
        ("1gib", 1024**3),
        ("2GB", 2 * 1000**3),
        ("1T", 1024**4),
        ("1E", 1024**6),
        ("0", 0),
        (" 5", 5 * 1024),
        ("+5", 5 * 1024),
    ],
)
def test_scaled_sizes(text, expected):
    assert fmt.parse_scaled_int(text, 1024) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("-5", None),
        ("", None),
        ("G", None),
        ("1x", "invalid argument: unknown suffix 'x'"),
        ("1.5G", "invalid argument: unknown suffix '.5G'"),
        ("1Gi", "invalid argument: unknown suffix 'Gi'"),
        ("1000000000000000000E", "numerical overflow: value too large: 1000000000000000000E"),
        ("20000000000000000000", None),
    ],
)
def test_scaled_size_errors_word_like_libvirt(text, detail):
    with pytest.raises(fmt.ScaleError) as info:
        fmt.parse_scaled_int(text, 1024)
    assert info.value.detail == detail


@settings(max_examples=100)
@given(st.integers(0, 2**40), st.sampled_from(["", "b", "k", "KiB", "M", "MiB", "G", "kB", "MB"]))
def test_scaled_sizes_multiply(value, suffix):
    scale = {"": 1024, "b": 1, "k": 1024, "KiB": 1024, "M": 1024**2, "MiB": 1024**2}
    scale |= {"G": 1024**3, "kB": 1000, "MB": 1000**2}
    expected = value * scale[suffix]
    if expected > fmt.ULLONG_MAX:
        with pytest.raises(fmt.ScaleError):
            fmt.parse_scaled_int(f"{value}{suffix}", 1024)
    else:
        assert fmt.parse_scaled_int(f"{value}{suffix}", 1024) == expected


# --- event lines (tools/virsh-domain-event.c) -----------------------------------------------


def test_virsh_9_knows_27_event_names():
    assert len(fmt.EVENT_NAMES) == 27
    assert fmt.EVENT_NAMES[0] == "lifecycle"
    assert fmt.EVENT_NAMES[19] == "device-added"
    assert fmt.EVENT_NAMES[26] == "memory-device-size-change"


@pytest.mark.parametrize(
    ("event", "detail", "text"),
    [
        (5, 1, "Stopped Destroyed"),
        (2, 0, "Started Booted"),
        (3, 0, "Suspended Paused"),
        (4, 0, "Resumed Unpaused"),
        (0, 0, "Defined Added"),
        (1, 0, "Undefined Removed"),
        (5, 0, "Stopped Shutdown"),
        (6, 1, "Shutdown Finished after guest request"),
        (5, 42, "Stopped unknown"),
        (42, 0, "unknown unknown"),
    ],
)
def test_lifecycle_lines(event, detail, text):
    line = fmt.format_event(0, "test", event, detail)
    assert line == f"event 'lifecycle' for domain 'test': {text}\n"


def test_device_lines():
    assert (
        fmt.format_event(19, "hp1", "memdimm0")
        == "event 'device-added' for domain 'hp1': memdimm0\n"
    )
    assert (
        fmt.format_event(15, "hp1", "dimm0") == "event 'device-removed' for domain 'hp1': dimm0\n"
    )
    assert (
        fmt.format_event(22, "hp1", "dimm0")
        == "event 'device-removal-failed' for domain 'hp1': dimm0\n"
    )


def test_other_event_lines():
    assert fmt.format_event(1, "d") == "event 'reboot' for domain 'd'\n"
    assert fmt.format_event(2, "d", -3600) == "event 'rtc-change' for domain 'd': -3600\n"
    assert fmt.format_event(3, "d", 6) == "event 'watchdog' for domain 'd': inject-nmi\n"
    assert (
        fmt.format_event(4, "d", "/p", "vda", 1)
        == "event 'io-error' for domain 'd': /p (vda) pause\n"
    )
    assert (
        fmt.format_event(6, "d", "/p", "vda", 2, "enospc")
        == "event 'io-error-reason' for domain 'd': /p (vda) report due to enospc\n"
    )
    assert (
        fmt.format_event(8, "d", "vda", 2, 3)
        == "event 'block-job' for domain 'd': Block Copy for vda ready\n"
    )
    assert (
        fmt.format_event(9, "d", None, "/new", "ide0-0-0", 1)
        == "event 'disk-change' for domain 'd' disk ide0-0-0: <null> -> /new: dropped\n"
    )
    assert (
        fmt.format_event(10, "d", "ide0", 0)
        == "event 'tray-change' for domain 'd' disk ide0: opened\n"
    )
    assert fmt.format_event(11, "d", 0) == "event 'pm-wakeup' for domain 'd'\n"
    assert fmt.format_event(13, "d", 524288) == "event 'balloon-change' for domain 'd': 524288KiB\n"
    assert (
        fmt.format_event(17, "d", {"cputune.vcpu0": "0-1", "x": 1.5, "b": True})
        == "event 'tunable' for domain 'd':\n\tcputune.vcpu0: 0-1\n\tx: 1.5\n\tb: 1\n"
    )
    assert (
        fmt.format_event(18, "d", 1, 2)
        == "event 'agent-lifecycle' for domain 'd': state: 'connected' reason: 'channel event'\n"
    )
    assert (
        fmt.format_event(20, "d", 3)
        == "event 'migration-iteration' for domain 'd': iteration: '3'\n"
    )
    assert (
        fmt.format_event(23, "d", 2, "http://x")
        == "event 'metadata-change' for domain 'd': type element, uri http://x\n"
    )
    assert (
        fmt.format_event(24, "d", "vda", None, 10, 2)
        == "event 'block-threshold' for domain 'd': dev: vda(<null>) 10 2\n"
    )
    assert fmt.format_event(25, "d", 1, 2, 3) == (
        "event 'memory-failure' for domain 'd':\nrecipient: guest\naction: fatal\n"
        "flags:\n\taction required: 1\n\trecursive: 1\n"
    )
    assert fmt.format_event(26, "d", "dimm0", 1024) == (
        "event 'memory-device-size-change' for domain 'd':\nalias: dimm0\nsize: 1024\n"
    )


def test_graphics_line():
    local = {"family": 0, "node": "127.0.0.1", "service": "5900"}
    remote = {"family": 1, "node": "::1", "service": "4000"}
    line = fmt.format_event(5, "d", 0, local, remote, "vnc", [("x509dname", "CN=a")])
    assert line == (
        "event 'graphics' for domain 'd': connect local[IPv4 127.0.0.1 5900] "
        "remote[IPv6 ::1 4000] vnc\n\tx509dname=CN=a\n"
    )


def test_timestamp_like_virTimeStringNowRaw():
    assert fmt.timestamp_now(0.5) == "1970-01-01 00:00:00.500+0000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000", fmt.timestamp_now())
