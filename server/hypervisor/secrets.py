"""Secrets of the simulated QEMU host, as libvirt 9.0's secret driver keeps them.

libvirt's *test* driver has no secret driver at all (``secretDriver = NULL``), so
``test:///default`` answers NO_SUPPORT for every secret API; the QEMU hosts compose
:class:`SecretMixin`. A secret is a plain model (:class:`SecretDef` plus its value) whose
XML is rendered as ``virSecretDefFormat`` does. Persistent secrets are stored under the
host's state directory in ``secrets/`` as libvirt does (``<uuid>.xml`` and, once set,
``<uuid>.base64``), written atomically; ephemeral secrets live in memory only.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.event_types import SecretEventLifecycleType as SecretEvent
from virtwire.protocol.generated.remote_protocol import RemoteNonnullSecret as SecretHandle
from virtwire.server.hypervisor import domxml
from virtwire.server.hypervisor.persistence import atomic_write, remove

log = logging.getLogger("virtwire.server")

# VIR_SECRET_USAGE_TYPE_*: name, element holding the usage ID, libvirt's "X usage" word
USAGE_TYPES = {
    0: ("none", None, None),
    1: ("volume", "volume", "volume"),
    2: ("ceph", "name", "Ceph"),
    3: ("iscsi", "target", "iSCSI"),
    4: ("tls", "name", "TLS"),
    5: ("vtpm", "name", "vTPM"),
}
USAGE_BY_NAME = {name: num for num, (name, _, _) in USAGE_TYPES.items()}
_USAGE_MISSING = {1: "volume path", 2: "name", 3: "target", 4: "name", 5: "name"}

REMOTE_SECRET_LIST_MAX = 16384
REMOTE_SECRET_VALUE_MAX = 65536

# VIR_CONNECT_LIST_SECRETS_*
LIST_EPHEMERAL, LIST_NO_EPHEMERAL, LIST_PRIVATE, LIST_NO_PRIVATE = 1, 2, 4, 8


def _err(code: ErrorCode, detail: str | None = None) -> LibvirtError:
    return LibvirtError.make(code, ErrorDomain.SECRET, detail)


@dataclass
class SecretDef:
    uuid: bytes
    ephemeral: bool = False
    private: bool = False
    description: str | None = None
    usage_type: int = 0
    usage_id: str | None = None

    @property
    def uuid_str(self) -> str:
        return domxml.uuid_str(self.uuid)


@dataclass
class SecretObj:
    config: SecretDef
    value: bytes | None = None

    def handle(self) -> SecretHandle:
        cfg = self.config
        return SecretHandle(uuid=cfg.uuid, usageType=cfg.usage_type, usageID=cfg.usage_id or "")

    def ref(self) -> ev.SecretRef:
        cfg = self.config
        return ev.SecretRef(cfg.uuid, cfg.usage_type, cfg.usage_id or "")


def _yes_no(value: str | None, what: str) -> bool:
    if value is None:
        return False
    if value in ("yes", "no"):
        return value == "yes"
    raise _err(ErrorCode.XML_ERROR, f"invalid value of '{what}'")


def parse_secret(text: str) -> SecretDef:
    """virSecretDefParse (errors in domain SECRET)."""
    try:
        root = domxml.parse_document(text, "definition_of_secret")
    except LibvirtError as exc:
        raise LibvirtError(exc.code, ErrorDomain.SECRET, exc.message, str1=exc.str1) from None
    if root.tag != "secret":
        raise _err(ErrorCode.XML_ERROR, f"expecting root element of 'secret', not '{root.tag}'")
    sdef = SecretDef(uuid=b"")
    sdef.ephemeral = _yes_no(root.get("ephemeral"), "ephemeral")
    sdef.private = _yes_no(root.get("private"), "private")
    uuid_el = root.find("uuid")
    if uuid_el is None or not (uuid_el.text or "").strip():
        sdef.uuid = uuidlib.uuid4().bytes
    else:
        digits = (uuid_el.text or "").strip().replace("-", "")
        try:
            if len(digits) != 32:
                raise ValueError
            sdef.uuid = bytes.fromhex(digits)
        except ValueError:
            raise _err(ErrorCode.INTERNAL_ERROR, "malformed uuid element") from None
    desc = root.find("description")
    if desc is not None:
        sdef.description = "".join(desc.itertext())
    usage = root.find("usage")
    if usage is not None:
        kind = usage.get("type")
        if kind is None:
            raise _err(ErrorCode.XML_ERROR, "unknown secret usage type")
        if kind not in USAGE_BY_NAME:
            raise _err(ErrorCode.INTERNAL_ERROR, f"unknown secret usage type {kind}")
        sdef.usage_type = USAGE_BY_NAME[kind]
        _, tag, word = USAGE_TYPES[sdef.usage_type]
        if tag is not None:
            node = usage.find(tag)
            value = "".join(node.itertext()) if node is not None else ""
            if not value:
                raise _err(
                    ErrorCode.INTERNAL_ERROR,
                    f"{word} usage specified, but {_USAGE_MISSING[sdef.usage_type]} is missing",
                )
            sdef.usage_id = value
    return sdef


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&apos;")
        .replace('"', "&quot;")
    )


def format_secret(sdef: SecretDef) -> str:
    """virSecretDefFormat."""
    out = [
        f"<secret ephemeral='{'yes' if sdef.ephemeral else 'no'}' "
        f"private='{'yes' if sdef.private else 'no'}'>",
        f"  <uuid>{sdef.uuid_str}</uuid>",
    ]
    if sdef.description is not None:
        out.append(f"  <description>{_esc(sdef.description)}</description>")
    if sdef.usage_type:
        name, tag, _ = USAGE_TYPES[sdef.usage_type]
        out.append(f"  <usage type='{name}'>")
        out.append(f"    <{tag}>{_esc(sdef.usage_id or '')}</{tag}>")
        out.append("  </usage>")
    out.append("</secret>")
    return "\n".join(out) + "\n"


class SecretStore:
    """``<state>/secrets/``: ``<uuid>.xml`` per persistent secret, ``<uuid>.base64`` its value."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, uuid: str, suffix: str) -> Path:
        return self.directory / f"{uuid}{suffix}"

    def save_config(self, sdef: SecretDef) -> None:
        atomic_write(self._path(sdef.uuid_str, ".xml"), format_secret(sdef))

    def save_value(self, sdef: SecretDef, value: bytes) -> None:
        atomic_write(self._path(sdef.uuid_str, ".base64"), base64.b64encode(value).decode())

    def delete(self, sdef: SecretDef) -> None:
        remove(self._path(sdef.uuid_str, ".xml"))
        remove(self._path(sdef.uuid_str, ".base64"))

    def load_all(self) -> list[SecretObj]:
        out: list[SecretObj] = []
        if not self.directory.is_dir():
            return out
        for entry in sorted(self.directory.glob("*.xml")):
            try:
                sdef = parse_secret(entry.read_text(encoding="utf-8"))
            except (LibvirtError, OSError) as exc:
                log.error("ignoring unreadable secret file %s: %s", entry, exc)
                continue
            obj = SecretObj(config=sdef)
            value_path = entry.with_suffix(".base64")
            if value_path.exists():
                try:
                    obj.value = base64.b64decode(value_path.read_text(), validate=True)
                except (binascii.Error, ValueError, OSError) as exc:
                    log.error("ignoring unreadable secret value %s: %s", value_path, exc)
            out.append(obj)
        for entry in self.directory.glob(".*.tmp"):
            entry.unlink(missing_ok=True)
        return out


class SecretMixin:
    """libvirt's secret driver (``secretDriver``) for a host that composes it.

    Needs ``self.events``; call :meth:`init_secrets` with the host's state directory.
    """

    secrets: dict[bytes, SecretObj]
    secret_store: SecretStore

    def init_secrets(self, state_dir: Path) -> None:
        self.secret_store = SecretStore(state_dir / "secrets")
        self.secrets = {}
        for obj in self.secret_store.load_all():
            self.secrets[obj.config.uuid] = obj

    def _secret(self, uuid: bytes) -> SecretObj:
        obj = self.secrets.get(bytes(uuid))
        if obj is None:
            raise _err(
                ErrorCode.NO_SECRET,
                f"no secret with matching uuid '{domxml.uuid_str(bytes(uuid))}'",
            )
        return obj

    def _sorted_secrets(self) -> list[SecretObj]:
        return sorted(self.secrets.values(), key=lambda o: o.config.uuid_str)

    def _secret_event(self, obj: SecretObj, event: int) -> None:
        self.events.queue(ev.SecretLifecycleEvent(obj.ref(), int(event), 0))  # type: ignore[attr-defined]

    # -- listing and lookup ---------------------------------------------------------------

    def connect_num_of_secrets(self) -> int:
        return len(self.secrets)

    def connect_list_secrets(self, maxuuids: int) -> list[str]:
        if maxuuids > REMOTE_SECRET_LIST_MAX:
            raise LibvirtError.make(
                ErrorCode.RPC, ErrorDomain.RPC, "maxuuids > REMOTE_SECRET_LIST_MAX"
            )
        return [o.config.uuid_str for o in self._sorted_secrets()][: max(maxuuids, 0)]

    def connect_list_all_secrets(
        self, need_results: int, flags: int
    ) -> tuple[list[SecretHandle], int]:
        self.check_flags(flags, 0xF, "secretConnectListAllSecrets")  # type: ignore[attr-defined]
        found = []
        for obj in self._sorted_secrets():
            cfg = obj.config
            if not _group(flags, LIST_EPHEMERAL, LIST_NO_EPHEMERAL, cfg.ephemeral):
                continue
            if not _group(flags, LIST_PRIVATE, LIST_NO_PRIVATE, cfg.private):
                continue
            found.append(obj.handle())
        return (found if need_results else []), len(found)

    def secret_lookup_by_uuid(self, uuid: bytes) -> SecretHandle:
        return self._secret(uuid).handle()

    def secret_lookup_by_usage(self, usage_type: int, usage_id: str) -> SecretHandle:
        for obj in self._sorted_secrets():
            if obj.config.usage_type == usage_type and obj.config.usage_id == usage_id:
                return obj.handle()
        raise _err(ErrorCode.NO_SECRET, f"no secret with matching usage '{usage_id}'")

    # -- define / undefine ----------------------------------------------------------------

    def secret_define_xml(self, xml: str, flags: int) -> SecretHandle:
        self.check_flags(flags, 0, "secretDefineXML")  # type: ignore[attr-defined]
        sdef = parse_secret(xml)
        backup = self.secrets.get(sdef.uuid)
        # virSecretObjListAdd's checks
        if backup is not None:
            old = backup.config
            if old.usage_type != sdef.usage_type or old.usage_id != sdef.usage_id:
                raise _err(
                    ErrorCode.INTERNAL_ERROR,
                    f"a secret with UUID {old.uuid_str} is already defined for use with "
                    f"{old.usage_id or ''}",
                )
            if old.private and not sdef.private:
                raise _err(
                    ErrorCode.INVALID_SECRET, "cannot change private flag on existing secret"
                )
        elif sdef.usage_type:
            for other in self.secrets.values():
                cfg = other.config
                if cfg.usage_type == sdef.usage_type and cfg.usage_id == sdef.usage_id:
                    raise _err(
                        ErrorCode.INTERNAL_ERROR,
                        f"a secret with UUID {cfg.uuid_str} already defined for use with "
                        f"{sdef.usage_id}",
                    )
        obj = backup or SecretObj(config=sdef)
        try:
            if not sdef.ephemeral:
                if backup is not None and backup.config.ephemeral and obj.value is not None:
                    self.secret_store.save_value(sdef, obj.value)
                self.secret_store.save_config(sdef)
            elif backup is not None and not backup.config.ephemeral:
                self.secret_store.delete(sdef)
        except OSError as exc:
            raise _err(
                ErrorCode.SYSTEM_ERROR,
                f"cannot write secret '{sdef.uuid_str}': {exc.strerror or exc}",
            ) from None
        obj.config = sdef
        self.secrets[sdef.uuid] = obj
        self._secret_event(obj, SecretEvent.DEFINED)
        return obj.handle()

    def secret_undefine(self, secret: SecretHandle) -> None:
        obj = self._secret(secret.uuid)
        self.secret_store.delete(obj.config)
        self._secret_event(obj, SecretEvent.UNDEFINED)
        del self.secrets[obj.config.uuid]

    # -- XML and value --------------------------------------------------------------------

    def secret_get_xml_desc(self, secret: SecretHandle, flags: int) -> str:
        self.check_flags(flags, 0, "secretGetXMLDesc")  # type: ignore[attr-defined]
        return format_secret(self._secret(secret.uuid).config)

    def secret_set_value(self, secret: SecretHandle, value: bytes, flags: int) -> None:
        self.check_flags(flags, 0, "secretSetValue")  # type: ignore[attr-defined]
        obj = self._secret(secret.uuid)
        value = bytes(value)
        if not obj.config.ephemeral:
            self.secret_store.save_value(obj.config, value)
        obj.value = value
        self.events.queue(ev.SecretValueChangedEvent(obj.ref()))  # type: ignore[attr-defined]

    def secret_get_value(self, secret: SecretHandle, flags: int) -> bytes:
        self.check_flags(flags, 0, "secretGetValue")  # type: ignore[attr-defined]
        obj = self._secret(secret.uuid)
        if obj.config.private:
            raise _err(ErrorCode.INVALID_SECRET, "secret is private")
        if obj.value is None:
            raise _err(ErrorCode.NO_SECRET, f"secret '{obj.config.uuid_str}' does not have a value")
        return obj.value


def _group(flags: int, yes: int, no: int, value: bool) -> bool:
    if flags & yes and flags & no:
        return True
    if flags & yes:
        return value
    if flags & no:
        return not value
    return True


__all__ = ["SecretDef", "SecretMixin", "SecretObj", "SecretStore", "format_secret", "parse_secret"]
