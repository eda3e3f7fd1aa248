"""libvirt's error model: codes, domains, levels and the 11-field ``LibvirtError``.

A daemon that wants clients to see exactly what libvirt would show must fill every field
the way libvirt's error helper does: ``message`` is the code's template with the detail
substituted, ``str1`` the template itself, ``str2`` the detail, ``str3`` absent,
``int1 = int2 = -1`` and level ERROR. The templates are libvirt 9.0's (``"%s"`` style; 11.x
sends ``"%1$s"``). :meth:`LibvirtError.make` does that; the named constructors cover the
cases the daemon and client raise most.

Framing violations are not ``LibvirtError`` s: see :class:`virtwire.protocol.framing.ProtocolError`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = ["ErrorCode", "ErrorDomain", "ErrorLevel", "LibvirtError", "message_templates"]


class ErrorLevel(IntEnum):
    """virErrorLevel."""

    NONE = 0
    WARNING = 1
    ERROR = 2


class ErrorDomain(IntEnum):
    """virErrorDomain: which part of libvirt raised the error (``VIR_FROM_`` dropped)."""

    NONE = 0
    XEN = 1
    XEND = 2
    XENSTORE = 3
    SEXPR = 4
    XML = 5
    DOM = 6
    RPC = 7
    PROXY = 8
    CONF = 9
    QEMU = 10
    NET = 11
    TEST = 12
    REMOTE = 13
    OPENVZ = 14
    XENXM = 15
    STATS_LINUX = 16
    LXC = 17
    STORAGE = 18
    NETWORK = 19
    DOMAIN = 20
    UML = 21
    NODEDEV = 22
    XEN_INOTIFY = 23
    SECURITY = 24
    VBOX = 25
    INTERFACE = 26
    ONE = 27
    ESX = 28
    PHYP = 29
    SECRET = 30
    CPU = 31
    XENAPI = 32
    NWFILTER = 33
    HOOK = 34
    DOMAIN_SNAPSHOT = 35
    AUDIT = 36
    SYSINFO = 37
    STREAMS = 38
    VMWARE = 39
    EVENT = 40
    LIBXL = 41
    LOCKING = 42
    HYPERV = 43
    CAPABILITIES = 44
    URI = 45
    AUTH = 46
    DBUS = 47
    PARALLELS = 48
    DEVICE = 49
    SSH = 50
    LOCKSPACE = 51
    INITCTL = 52
    IDENTITY = 53
    CGROUP = 54
    ACCESS = 55
    SYSTEMD = 56
    BHYVE = 57
    CRYPTO = 58
    FIREWALL = 59
    POLKIT = 60
    THREAD = 61
    ADMIN = 62
    LOGGING = 63
    XENXL = 64
    PERF = 65
    LIBSSH = 66
    RESCTRL = 67
    FIREWALLD = 68
    DOMAIN_CHECKPOINT = 69
    TPM = 70
    BPF = 71
    CH = 72


class ErrorCode(IntEnum):
    """virErrorNumber (``VIR_ERR_`` dropped; the six ``VIR_WAR_`` codes keep ``WAR_``)."""

    OK = 0
    INTERNAL_ERROR = 1
    NO_MEMORY = 2
    NO_SUPPORT = 3
    UNKNOWN_HOST = 4
    NO_CONNECT = 5
    INVALID_CONN = 6
    INVALID_DOMAIN = 7
    INVALID_ARG = 8
    OPERATION_FAILED = 9
    GET_FAILED = 10
    POST_FAILED = 11
    HTTP_ERROR = 12
    SEXPR_SERIAL = 13
    NO_XEN = 14
    XEN_CALL = 15
    OS_TYPE = 16
    NO_KERNEL = 17
    NO_ROOT = 18
    NO_SOURCE = 19
    NO_TARGET = 20
    NO_NAME = 21
    NO_OS = 22
    NO_DEVICE = 23
    NO_XENSTORE = 24
    DRIVER_FULL = 25
    CALL_FAILED = 26
    XML_ERROR = 27
    DOM_EXIST = 28
    OPERATION_DENIED = 29
    OPEN_FAILED = 30
    READ_FAILED = 31
    PARSE_FAILED = 32
    CONF_SYNTAX = 33
    WRITE_FAILED = 34
    XML_DETAIL = 35
    INVALID_NETWORK = 36
    NETWORK_EXIST = 37
    SYSTEM_ERROR = 38
    RPC = 39
    GNUTLS_ERROR = 40
    WAR_NO_NETWORK = 41
    NO_DOMAIN = 42
    NO_NETWORK = 43
    INVALID_MAC = 44
    AUTH_FAILED = 45
    INVALID_STORAGE_POOL = 46
    INVALID_STORAGE_VOL = 47
    WAR_NO_STORAGE = 48
    NO_STORAGE_POOL = 49
    NO_STORAGE_VOL = 50
    WAR_NO_NODE = 51
    INVALID_NODE_DEVICE = 52
    NO_NODE_DEVICE = 53
    NO_SECURITY_MODEL = 54
    OPERATION_INVALID = 55
    WAR_NO_INTERFACE = 56
    NO_INTERFACE = 57
    INVALID_INTERFACE = 58
    MULTIPLE_INTERFACES = 59
    WAR_NO_NWFILTER = 60
    INVALID_NWFILTER = 61
    NO_NWFILTER = 62
    BUILD_FIREWALL = 63
    WAR_NO_SECRET = 64
    INVALID_SECRET = 65
    NO_SECRET = 66
    CONFIG_UNSUPPORTED = 67
    OPERATION_TIMEOUT = 68
    MIGRATE_PERSIST_FAILED = 69
    HOOK_SCRIPT_FAILED = 70
    INVALID_DOMAIN_SNAPSHOT = 71
    NO_DOMAIN_SNAPSHOT = 72
    INVALID_STREAM = 73
    ARGUMENT_UNSUPPORTED = 74
    STORAGE_PROBE_FAILED = 75
    STORAGE_POOL_BUILT = 76
    SNAPSHOT_REVERT_RISKY = 77
    OPERATION_ABORTED = 78
    AUTH_CANCELLED = 79
    NO_DOMAIN_METADATA = 80
    MIGRATE_UNSAFE = 81
    OVERFLOW = 82
    BLOCK_COPY_ACTIVE = 83
    OPERATION_UNSUPPORTED = 84
    SSH = 85
    AGENT_UNRESPONSIVE = 86
    RESOURCE_BUSY = 87
    ACCESS_DENIED = 88
    DBUS_SERVICE = 89
    STORAGE_VOL_EXIST = 90
    CPU_INCOMPATIBLE = 91
    XML_INVALID_SCHEMA = 92
    MIGRATE_FINISH_OK = 93
    AUTH_UNAVAILABLE = 94
    NO_SERVER = 95
    NO_CLIENT = 96
    AGENT_UNSYNCED = 97
    LIBSSH = 98
    DEVICE_MISSING = 99
    INVALID_NWFILTER_BINDING = 100
    NO_NWFILTER_BINDING = 101
    INVALID_DOMAIN_CHECKPOINT = 102
    NO_DOMAIN_CHECKPOINT = 103
    NO_DOMAIN_BACKUP = 104
    INVALID_NETWORK_PORT = 105
    NETWORK_PORT_EXIST = 106
    NO_NETWORK_PORT = 107
    NO_HOSTNAME = 108
    CHECKPOINT_INCONSISTENT = 109
    MULTIPLE_DOMAINS = 110
    NO_NETWORK_METADATA = 111  # 9.7.0
    AGENT_COMMAND_TIMEOUT = 112  # 11.x
    AGENT_COMMAND_FAILED = 113  # 11.x
    # 114 (new in 12.x) is not named here: its name could not be confirmed from a source.


# (text without detail, text with detail) per code, as libvirt 9.0 words them; 111 is the
# 9.7 text. Codes without an entry have no template (libvirt then reports
# "No error message provided").
_TEMPLATES: dict[int, tuple[str, str]] = {
    1: ("internal error", "internal error: %s"),
    2: ("out of memory", "out of memory: %s"),
    3: (
        "this function is not supported by the connection driver",
        "this function is not supported by the connection driver: %s",
    ),
    4: ("unknown host", "unknown host %s"),
    5: ("no connection driver available", "no connection driver available for %s"),
    6: ("invalid connection pointer in", "invalid connection pointer in %s"),
    7: ("invalid domain pointer in", "invalid domain pointer in %s"),
    8: ("invalid argument", "invalid argument: %s"),
    9: ("operation failed", "operation failed: %s"),
    10: ("GET operation failed", "GET operation failed: %s"),
    11: ("POST operation failed", "POST operation failed: %s"),
    12: ("got unknown HTTP error code", "got unknown HTTP error code %s"),
    13: ("failed to serialize S-Expr", "failed to serialize S-Expr: %s"),
    14: ("could not use Xen hypervisor entry", "could not use Xen hypervisor entry %s"),
    15: ("failed Xen syscall", "failed Xen syscall %s"),
    16: ("unknown OS type", "unknown OS type %s"),
    17: ("missing kernel information", "missing kernel information: %s"),
    18: ("missing root device information", "missing root device information in %s"),
    19: ("missing source information for device", "missing source information for device %s"),
    20: ("missing target information for device", "missing target information for device %s"),
    21: ("missing name information", "missing name information in %s"),
    22: ("missing operating system information", "missing operating system information for %s"),
    23: ("missing devices information", "missing devices information for %s"),
    24: ("could not connect to Xen Store", "could not connect to Xen Store %s"),
    25: ("too many drivers registered", "too many drivers registered in %s"),
    26: ("library call failed", "library call failed: %s"),
    27: ("XML description is invalid or not well formed", "XML error: %s"),
    28: ("this domain exists already", "domain %s exists already"),
    29: ("operation forbidden for read only access", "operation forbidden: %s"),
    30: ("failed to open configuration file", "failed to open configuration file %s"),
    31: ("failed to read configuration file", "failed to read configuration file %s"),
    32: ("failed to parse configuration file", "failed to parse configuration file %s"),
    33: ("configuration file syntax error", "configuration file syntax error: %s"),
    34: ("failed to write configuration file", "failed to write configuration file: %s"),
    35: ("parser error", "%s"),
    36: ("invalid network pointer in", "invalid network pointer in %s"),
    37: ("this network exists already", "network %s exists already"),
    38: ("system call error", "%s"),
    39: ("RPC error", "%s"),
    40: ("GNUTLS call error", "%s"),
    41: ("Failed to find the network", "Failed to find the network: %s"),
    42: ("Domain not found", "Domain not found: %s"),
    43: ("Network not found", "Network not found: %s"),
    44: ("invalid MAC address", "invalid MAC address: %s"),
    45: ("authentication failed", "authentication failed: %s"),
    46: ("invalid storage pool pointer in", "invalid storage pool pointer in %s"),
    47: ("invalid storage volume pointer in", "invalid storage volume pointer in %s"),
    48: ("Failed to find a storage driver", "Failed to find a storage driver: %s"),
    49: ("Storage pool not found", "Storage pool not found: %s"),
    50: ("Storage volume not found", "Storage volume not found: %s"),
    51: ("Failed to find a node driver", "Failed to find a node driver: %s"),
    52: ("invalid node device pointer", "invalid node device pointer in %s"),
    53: ("Node device not found", "Node device not found: %s"),
    54: ("Security model not found", "Security model not found: %s"),
    55: ("Requested operation is not valid", "Requested operation is not valid: %s"),
    56: ("Failed to find the interface", "Failed to find the interface: %s"),
    57: ("Interface not found", "Interface not found: %s"),
    58: ("invalid interface pointer in", "invalid interface pointer in %s"),
    59: ("multiple matching interfaces found", "multiple matching interfaces found: %s"),
    60: ("Failed to start the nwfilter driver", "Failed to start the nwfilter driver: %s"),
    61: ("Invalid network filter", "Invalid network filter: %s"),
    62: ("Network filter not found", "Network filter not found: %s"),
    63: ("Error while building firewall", "Error while building firewall: %s"),
    64: ("Failed to find a secret storage driver", "Failed to find a secret storage driver: %s"),
    65: ("Invalid secret", "Invalid secret: %s"),
    66: ("Secret not found", "Secret not found: %s"),
    67: ("unsupported configuration", "unsupported configuration: %s"),
    68: ("Timed out during operation", "Timed out during operation: %s"),
    69: (
        "Failed to make domain persistent after migration",
        "Failed to make domain persistent after migration: %s",
    ),
    70: ("Hook script execution failed", "Hook script execution failed: %s"),
    71: ("Invalid domain snapshot", "Invalid domain snapshot: %s"),
    72: ("Domain snapshot not found", "Domain snapshot not found: %s"),
    73: ("invalid stream pointer", "invalid stream pointer in %s"),
    74: ("argument unsupported", "argument unsupported: %s"),
    75: ("Storage pool probe failed", "Storage pool probe failed: %s"),
    76: ("Storage pool already built", "Storage pool already built: %s"),
    77: ("revert requires force", "revert requires force: %s"),
    78: ("operation aborted", "operation aborted: %s"),
    79: ("authentication cancelled", "authentication cancelled: %s"),
    80: ("metadata not found", "metadata not found: %s"),
    81: ("Unsafe migration", "Unsafe migration: %s"),
    82: ("numerical overflow", "numerical overflow: %s"),
    83: ("block copy still active", "block copy still active: %s"),
    84: ("Operation not supported", "Operation not supported: %s"),
    85: ("SSH transport error", "SSH transport error: %s"),
    86: ("Guest agent is not responding", "Guest agent is not responding: %s"),
    87: ("resource busy", "resource busy: %s"),
    88: ("access denied", "access denied: %s"),
    89: ("error from service", "error from service: %s"),
    90: ("this storage volume exists already", "storage volume %s exists already"),
    91: ("the CPU is incompatible with host CPU", "the CPU is incompatible with host CPU: %s"),
    92: (
        "XML document failed to validate against schema",
        "XML document failed to validate against schema: %s",
    ),
    93: ("migration successfully aborted", "migration successfully aborted: %s"),
    94: ("authentication unavailable", "authentication unavailable: %s"),
    95: ("Server not found", "Server not found: %s"),
    96: ("Client not found", "Client not found: %s"),
    97: (
        "guest agent replied with wrong id to guest-sync command",
        "guest agent replied with wrong id to guest-sync command: %s",
    ),
    98: ("libssh transport error", "libssh transport error: %s"),
    99: ("device not found", "device not found: %s"),
    100: ("Invalid network filter binding", "Invalid network filter binding: %s"),
    101: ("Network filter binding not found", "Network filter binding not found: %s"),
    102: ("Invalid domain checkpoint", "Invalid domain checkpoint: %s"),
    103: ("Domain checkpoint not found", "Domain checkpoint not found: %s"),
    104: ("Domain backup job id not found", "Domain backup job id not found: %s"),
    105: ("Invalid network port pointer", "Invalid network port pointer: %s"),
    106: ("this network port exists already", "network port %s exists already"),
    107: ("network port not found", "network port not found: %s"),
    108: ("no hostname found", "no hostname found: %s"),
    109: ("checkpoint inconsistent", "checkpoint inconsistent: %s"),
    110: ("multiple matching domains found", "multiple matching domains found: %s"),
    111: ("metadata not found", "metadata not found: %s"),
}

_NO_TEMPLATE_MESSAGE = "No error message provided"
_UNKNOWN_ERROR_MESSAGE = "Unknown error"


def message_templates(code: int) -> tuple[str, str] | None:
    """The (without detail, with detail) templates of ``code``, or None if it has none."""
    return _TEMPLATES.get(int(code))


def _as_enum(enum_cls: type[IntEnum], value: int) -> Any:
    """An enum member when libvirt defines the value, else the int itself (never an error:
    a newer peer may send codes this table does not know)."""
    try:
        return enum_cls(value)
    except ValueError:
        return value


class LibvirtError(Exception):
    """An error as libvirt carries it: the 11 fields of ``remote_error``.

    ``str(err)`` is the message, and libvirt-python's accessors are provided so code written
    against ``libvirt.libvirtError`` keeps working. ``code``/``domain``/``level`` are enum
    members when known, plain ints otherwise.
    """

    def __init__(
        self,
        code: int,
        domain: int,
        message: str | None,
        level: int = ErrorLevel.ERROR,
        dom: Any = None,
        str1: str | None = None,
        str2: str | None = None,
        str3: str | None = None,
        int1: int = -1,
        int2: int = -1,
        net: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = _as_enum(ErrorCode, code)
        self.domain = _as_enum(ErrorDomain, domain)
        self.message = message
        self.level = _as_enum(ErrorLevel, level)
        self.dom = dom
        self.str1 = str1
        self.str2 = str2
        self.str3 = str3
        self.int1 = int1
        self.int2 = int2
        self.net = net

    # --- construction as libvirt's error helper does it ------------------------------------

    @classmethod
    def make(cls, code: int, domain: int, detail: str | None = None) -> LibvirtError:
        """Fill every field the way libvirt's ``virReportError(code, fmt, ...)`` does.

        With a (non-empty) ``detail`` the "with detail" template is used; without one, the
        bare text and ``str2`` stays absent (as captured from the 9.0 test driver's
        "Domain not found"). A code with no template gets libvirt's fallback message.
        """
        if not detail:
            detail = None
        templates = _TEMPLATES.get(int(code))
        if templates is None:
            if int(code) == ErrorCode.OK:
                raise ValueError("ErrorCode.OK is not an error")
            return cls(code, domain, _NO_TEMPLATE_MESSAGE, str1=None, str2=detail)
        template = templates[0] if detail is None else templates[1]
        message = template if detail is None else template % detail
        return cls(code, domain, message, str1=template, str2=detail)

    @classmethod
    def no_support(cls, api: str, domain: int = ErrorDomain.DOMAIN) -> LibvirtError:
        """NO_SUPPORT for the C API ``api`` (e.g. "virDomainAttachDeviceFlags")."""
        return cls.make(ErrorCode.NO_SUPPORT, domain, api)

    @classmethod
    def operation_denied_readonly(cls, api: str, domain: int = ErrorDomain.DOMAIN) -> LibvirtError:
        """OPERATION_DENIED for a state-changing API on a read-only connection."""
        return cls.make(ErrorCode.OPERATION_DENIED, domain, f"read only access prevents {api}")

    @classmethod
    def rpc(cls, message: str, domain: int = ErrorDomain.RPC) -> LibvirtError:
        """An RPC-layer error ("unknown procedure: 9999", "Cannot find program ...")."""
        return cls.make(ErrorCode.RPC, domain, message)

    @classmethod
    def internal_error(cls, detail: str | None, domain: int = ErrorDomain.RPC) -> LibvirtError:
        """INTERNAL_ERROR ("internal error: hypervisor connection not open")."""
        return cls.make(ErrorCode.INTERNAL_ERROR, domain, detail)

    @classmethod
    def invalid_arg(cls, detail: str | None, domain: int = ErrorDomain.NONE) -> LibvirtError:
        """INVALID_ARG ("invalid argument: event callback already tracked")."""
        return cls.make(ErrorCode.INVALID_ARG, domain, detail)

    @classmethod
    def api_invalid_arg(
        cls, function: str, argname: str, message: str, domain: int
    ) -> LibvirtError:
        """virReportInvalidArg and the virCheck*Arg macros: the message as written (no
        template), str1 the C function, str2 the argument's name, ints 0."""
        return cls(ErrorCode.INVALID_ARG, domain, message, str1=function, str2=argname,
                   int1=0, int2=0)  # fmt: skip

    @classmethod
    def no_domain(cls, domain: int, detail: str | None = None) -> LibvirtError:
        """NO_DOMAIN; ``domain`` is the raising driver (TEST 12, QEMU 10, ...)."""
        return cls.make(ErrorCode.NO_DOMAIN, domain, detail)

    @classmethod
    def operation_invalid(cls, detail: str | None, domain: int) -> LibvirtError:
        """OPERATION_INVALID ("Requested operation is not valid: domain is not running")."""
        return cls.make(ErrorCode.OPERATION_INVALID, domain, detail)

    @classmethod
    def operation_failed(cls, detail: str | None, domain: int) -> LibvirtError:
        """OPERATION_FAILED ("operation failed: ...")."""
        return cls.make(ErrorCode.OPERATION_FAILED, domain, detail)

    @classmethod
    def operation_unsupported(cls, detail: str | None, domain: int) -> LibvirtError:
        """OPERATION_UNSUPPORTED ("Operation not supported: ...")."""
        return cls.make(ErrorCode.OPERATION_UNSUPPORTED, domain, detail)

    @classmethod
    def config_unsupported(cls, detail: str | None, domain: int) -> LibvirtError:
        """CONFIG_UNSUPPORTED ("unsupported configuration: ...")."""
        return cls.make(ErrorCode.CONFIG_UNSUPPORTED, domain, detail)

    @classmethod
    def xml_error(cls, detail: str | None, domain: int = ErrorDomain.DOMAIN) -> LibvirtError:
        """XML_ERROR, for a well-formed document that is not a valid definition."""
        return cls.make(ErrorCode.XML_ERROR, domain, detail)

    @classmethod
    def device_missing(cls, detail: str | None, domain: int) -> LibvirtError:
        """DEVICE_MISSING ("device not found: ...")."""
        return cls.make(ErrorCode.DEVICE_MISSING, domain, detail)

    # --- wire conversion -------------------------------------------------------------------

    def to_remote_error(self) -> Any:
        """This error as the generated ``VirNetMessageError`` struct, ready to pack."""
        from virtwire.protocol.generated import virnetprotocol as vnp

        dom = self.dom
        if dom is not None and not isinstance(dom, vnp.VirNetMessageNonnullDomain):
            dom = vnp.VirNetMessageNonnullDomain(dom.name, dom.uuid, dom.id)
        net = self.net
        if net is not None and not isinstance(net, vnp.VirNetMessageNonnullNetwork):
            net = vnp.VirNetMessageNonnullNetwork(net.name, net.uuid)
        return vnp.VirNetMessageError(
            code=int(self.code),
            domain=int(self.domain),
            message=self.message,
            level=int(self.level),
            dom=dom,
            str1=self.str1,
            str2=self.str2,
            str3=self.str3,
            int1=self.int1,
            int2=self.int2,
            net=net,
        )

    def pack(self) -> bytes:
        """The XDR payload of a REPLY with status ERROR."""
        from virtwire.protocol.generated import virnetprotocol as vnp

        return vnp.pack_virNetMessageError(self.to_remote_error())

    @classmethod
    def from_remote_error(cls, err: Any, rewrite_unknown_procedure: bool = True) -> LibvirtError:
        """Build from a received ``remote_error`` (any object with its 11 fields).

        As libvirt's client does: an absent message becomes "Unknown error", and an
        "unknown procedure" RPC error from the RPC/REMOTE domain becomes NO_SUPPORT, so a
        caller sees "not supported" when the server is older than the API.
        """
        code = err.code
        message = err.message
        if (
            rewrite_unknown_procedure
            and err.domain in (ErrorDomain.REMOTE, ErrorDomain.RPC)
            and code == ErrorCode.RPC
            and err.level == ErrorLevel.ERROR
            and message is not None
            and message.startswith("unknown procedure")
        ):
            code = ErrorCode.NO_SUPPORT
        if message is None:
            message = _UNKNOWN_ERROR_MESSAGE
        return cls(
            code,
            err.domain,
            message,
            err.level,
            err.dom,
            err.str1,
            err.str2,
            err.str3,
            err.int1,
            err.int2,
            err.net,
        )

    @classmethod
    def unpack(cls, payload: bytes, rewrite_unknown_procedure: bool = True) -> LibvirtError:
        """Decode an error payload (raises ``XdrError`` on bad bytes)."""
        from virtwire.protocol.generated import virnetprotocol as vnp

        return cls.from_remote_error(
            vnp.unpack_virNetMessageError(payload), rewrite_unknown_procedure
        )

    # --- libvirt-python compatibility ------------------------------------------------------

    def get_error_code(self) -> int:
        return self.code

    def get_error_domain(self) -> int:
        return self.domain

    def get_error_message(self) -> str | None:
        return self.message

    def get_error_level(self) -> int:
        return self.level

    def get_str1(self) -> str | None:
        return self.str1

    def get_str2(self) -> str | None:
        return self.str2

    def get_str3(self) -> str | None:
        return self.str3

    def get_int1(self) -> int:
        return self.int1

    def get_int2(self) -> int:
        return self.int2

    @property
    def err(self) -> tuple[Any, ...]:
        """libvirt-python's ``err`` tuple: (code, domain, message, level, str1, str2, str3,
        int1, int2)."""
        return (
            self.code,
            self.domain,
            self.message,
            self.level,
            self.str1,
            self.str2,
            self.str3,
            self.int1,
            self.int2,
        )

    def fields(self) -> tuple[Any, ...]:
        """All 11 ``remote_error`` fields in wire order (handy for comparisons)."""
        return (
            self.code,
            self.domain,
            self.message,
            self.level,
            self.dom,
            self.str1,
            self.str2,
            self.str3,
            self.int1,
            self.int2,
            self.net,
        )

    def __str__(self) -> str:
        return self.message if self.message is not None else _UNKNOWN_ERROR_MESSAGE

    def __repr__(self) -> str:
        code = getattr(self.code, "name", self.code)
        domain = getattr(self.domain, "name", self.domain)
        return f"LibvirtError(code={code}, domain={domain}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through args; ours has 11 positional fields instead.
        return (type(self), self.fields())
