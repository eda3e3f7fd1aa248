"""Numbers of libvirt's wire that every layer needs: programs, limits, features.

These are plain module constants (not read from the generated codecs) so that the hot
path and the lowest layers can import them without pulling in any generated module; a
test checks that they agree with ``defs/*.x``.
"""

from __future__ import annotations

from enum import IntEnum

# --- programs (header word 0) and their versions (word 1) ---------------------------------

REMOTE_PROGRAM = 0x20008086
QEMU_PROGRAM = 0x20008087
LXC_PROGRAM = 0x00068000
KEEPALIVE_PROGRAM = 0x6B656570  # ASCII "keep"
ADMIN_PROGRAM = 0x06900690
# Programs that only libvirt's own helper daemons speak; named so a decoder can label them.
LOCK_PROGRAM = 0x0EA7BEEF
LOG_PROGRAM = 0x87539319
LXC_MONITOR_PROGRAM = 0x12341234

PROTOCOL_VERSION = 1
"""Version of every program above; a server matches (prog, vers) exactly."""

KEEPALIVE_PROTOCOL_VERSION = 1
KEEPALIVE_PROC_PING = 1
KEEPALIVE_PROC_PONG = 2

PROGRAM_NAMES: dict[int, str] = {
    REMOTE_PROGRAM: "REMOTE",
    QEMU_PROGRAM: "QEMU",
    LXC_PROGRAM: "LXC",
    KEEPALIVE_PROGRAM: "KEEPALIVE",
    ADMIN_PROGRAM: "ADMIN",
    LOCK_PROGRAM: "LOCK",
    LOG_PROGRAM: "LOG",
    LXC_MONITOR_PROGRAM: "LXC_MONITOR",
}
"""Short program names, as a capture decoder prints them."""

# --- sizes (VIR_NET_MESSAGE_*) ---------------------------------------------------------------

LENGTH_SIZE = 4
"""The length word in front of every message; it counts itself."""
HEADER_SIZE = 24
"""Serialised virNetMessageHeader: six 4-byte words."""
FRAME_MIN = LENGTH_SIZE + HEADER_SIZE
"""Smallest possible message on the wire (28 bytes: a header and no payload)."""
MESSAGE_INITIAL = 65536
MESSAGE_MAX = 33554432
"""Largest header + payload; the largest accepted length word is MESSAGE_MAX + 4."""
PAYLOAD_MAX = MESSAGE_MAX - HEADER_SIZE
LEGACY_PAYLOAD_MAX = 262120
STRING_MAX = 4194304
"""Bound on the strings of an error payload (and REMOTE_STRING_MAX)."""
NUM_FDS_MAX = 32
"""Most file descriptors one *_WITH_FDS message may announce."""
UUID_BUFLEN = 16


class Feature(IntEnum):
    """virDrvFeature: the numbers asked with CONNECT_SUPPORTS_FEATURE."""

    MIGRATION_V1 = 1
    REMOTE = 2
    MIGRATION_V2 = 3
    MIGRATION_P2P = 4
    MIGRATION_DIRECT = 5
    MIGRATION_V3 = 6
    MIGRATE_CHANGE_PROTECTION = 7
    FD_PASSING = 8
    TYPED_PARAM_STRING = 9
    PROGRAM_KEEPALIVE = 10
    XML_MIGRATABLE = 11
    MIGRATION_OFFLINE = 12
    MIGRATION_PARAMS = 13
    REMOTE_EVENT_CALLBACK = 14
    REMOTE_CLOSE_CALLBACK = 15
    NETWORK_UPDATE_HAS_CORRECT_ORDER = 16
