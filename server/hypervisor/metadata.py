"""Domain metadata: ``<title>``, ``<description>`` and namespaced ``<metadata>`` elements.

libvirt 9.0's ``virDomainObjSetMetadata`` / ``virDomainObjGetMetadata`` (shared by its
drivers) plus the public API's argument checks (``virDomainSetMetadata``): an element is
stored under ``<metadata>`` with the caller's prefix (``key``) bound to its namespace
(``uri``), replacing any element of that namespace; ``getMetadata`` returns it without
the namespace; an empty title/description removes it.  The QEMU driver queues a
METADATA_CHANGE event after each successful set.

ElementTree forgets namespace prefixes, so each namespaced child of ``<metadata>`` keeps
its prefix and its namespace declarations in private attributes, and is printed the way
libvirt prints it, through libxml2 (libxml_dump.py: double quotes, indentation only
where there is no text). Comments inside metadata are not kept (ElementTree drops them).
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from virtwire.protocol import events as ev
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError
from virtwire.protocol.generated import remote_protocol as rp
from virtwire.server.hypervisor.hostfacts import invalid_arg
from virtwire.server.hypervisor.libxml_dump import dump
from virtwire.server.hypervisor.tuning import AFFECT

if TYPE_CHECKING:
    from virtwire.server.hypervisor.domxml import DomainDef
    from virtwire.server.hypervisor.model import DomainObj

__all__ = [
    "MetadataMixin",
    "dump_metadata_child",
    "format_with_metadata",
    "has_namespaced_metadata",
    "remember_prefixes",
]

Dom = rp.RemoteNonnullDomain

DESCRIPTION, TITLE, ELEMENT = 0, 1, 2  # virDomainMetadataType
PREFIX_ATTR = "{https://virtwire.dev/xmlns/internal}prefix"
NSDEFS_ATTR = "{https://virtwire.dev/xmlns/internal}nsdefs"
INTERNAL_ATTRS = frozenset({PREFIX_ATTR, NSDEFS_ATTR})
_NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_XMLNS = re.compile(r"""xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(?:'([^']*)'|"([^"]*)")""")


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return None, tag


def _declarations(text: str) -> list[tuple[str, str]]:
    """The ``xmlns[:prefix]`` declarations of a document, in text order."""
    out = []
    for m in _XMLNS.finditer(text):
        out.append((m.group(1) or "", m.group(2) if m.group(2) is not None else m.group(3)))
    return out


def _uris_used(elem: ET.Element) -> set[str]:
    used = set()
    for node in elem.iter():
        for name in (node.tag, *node.attrib):
            uri = _split(name)[0] if isinstance(name, str) else None
            if uri is not None:
                used.add(uri)
    return used


def _store(child: ET.Element, decls: list[tuple[str, str]]) -> None:
    """Keep a metadata child's prefix and namespace declarations in private attributes."""
    seen: set[str] = set()
    kept = []
    for prefix, uri in decls:
        if prefix not in seen:
            seen.add(prefix)
            kept.append((prefix, uri))
    uri = _split(child.tag)[0]
    prefix = next((p for p, u in kept if u == uri), None)
    if prefix is None:
        prefix = f"ns{len(kept)}"
        kept.append((prefix, uri or ""))
    child.set(PREFIX_ATTR, prefix)
    child.set(NSDEFS_ATTR, "\n".join(f"{p}={u}" for p, u in kept))


def _stored(child: ET.Element) -> list[tuple[str, str]]:
    raw = child.get(NSDEFS_ATTR)
    if not raw:
        uri = _split(child.tag)[0] or ""
        return [(child.get(PREFIX_ATTR) or "ns0", uri)]
    return [tuple(line.split("=", 1)) for line in raw.split("\n")]  # type: ignore[misc]


def remember_prefixes(root: ET.Element, text: str) -> None:
    """virXMLNodeSanitizeNamespaces on ``<metadata>`` (children without a namespace and
    later ones sharing one are dropped), and each child's prefix and declarations kept."""
    meta = root.find("metadata")
    if meta is None:
        return
    decls = _declarations(text)
    seen: set[str] = set()
    for child in list(meta):
        uri = _split(child.tag)[0]
        if uri is None or uri in seen:
            meta.remove(child)
            continue
        seen.add(uri)
        if NSDEFS_ATTR not in child.attrib:
            used = _uris_used(child)
            _store(child, [(p, u) for p, u in decls if u in used])


def has_namespaced_metadata(root: ET.Element) -> bool:
    """Whether ``root`` has ``<metadata>`` children to print the way libxml2 does."""
    meta = root.find("metadata")
    return meta is not None and any(_split(child.tag)[0] is not None for child in meta)


def dump_metadata_child(child: ET.Element, level: int, strip_uri: str | None = None) -> str:
    """A ``<metadata>`` child as libvirt prints it (virXMLFormatMetadata's libxml2 dump);
    with ``strip_uri``, as virXMLExtractNamespaceXML returns it: that namespace removed."""
    decls = _stored(child)
    if strip_uri is not None:
        child = _strip_namespace(child, strip_uri)
        decls = [(p, u) for p, u in decls if u != strip_uri]
    prefixes: dict[str, str] = {}
    for prefix, uri in decls:
        prefixes.setdefault(uri, prefix)
    return dump(child, level, prefixes, decls, skip_attrs=INTERNAL_ATTRS)


METADATA_SLOT = "vw-metadata-slot"


def format_with_metadata(root: ET.Element, format_rest: Callable[[ET.Element], str]) -> str:
    """``format_rest`` of ``root`` with its ``<metadata>`` children printed by libxml2's rules."""
    meta = root.find("metadata")
    assert meta is not None
    clone = copy.copy(root)
    slot = ET.Element("metadata")
    ET.SubElement(slot, METADATA_SLOT)
    clone[list(root).index(meta)] = slot
    text = format_rest(clone)
    rendered = "".join(
        f"    {dump_metadata_child(child, 2)}\n" for child in meta if _split(child.tag)[0]
    )
    return text.replace(f"    <{METADATA_SLOT}/>\n", rendered, 1)


def _strip_namespace(elem: ET.Element, uri: str) -> ET.Element:
    clone = copy.deepcopy(elem)
    clone.tail = None
    for node in clone.iter():
        node_uri, local = _split(node.tag)
        if node_uri == uri:
            node.tag = local
    return clone


def _anchor(root: ET.Element, before: tuple[str, ...]) -> int:
    """The index after the last child named in ``before``."""
    at = 0
    for i, child in enumerate(root):
        if child.tag in before:
            at = i + 1
    return at


def _find_by_ns(meta: ET.Element | None, uri: str) -> ET.Element | None:
    if meta is None:
        return None
    for child in meta:
        if _split(child.tag)[0] == uri:
            return child
    return None


class MetadataMixin:
    """``setMetadata`` / ``getMetadata`` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Driver and tuning.py

        def error(self, code: ErrorCode, detail: str | None = None) -> LibvirtError: ...
        def check_flags(self, flags: int, allowed: int, function: str) -> None: ...
        def find(self, dom: Dom) -> DomainObj: ...
        def impact(self, obj: DomainObj, flags: int) -> tuple[bool, bool]: ...
        def one_def(self, obj: DomainObj, flags: int) -> DomainDef: ...
        def save(self, obj: DomainObj, config: DomainDef | None = None) -> None: ...
        def emit(self, event: object) -> None: ...

        fn_prefix: str

    # -- the public API's checks (libvirt-domain.c) ----------------------------------------------

    @staticmethod
    def _meta_api_checks(
        fn: str, kind: int, metadata: str | None, key: str | None, uri: str | None, *, setting: bool
    ) -> None:
        def null_arg(name: str, must_be_null: bool) -> LibvirtError:
            what = "must be NULL" if must_be_null else "must not be NULL"
            return invalid_arg(ErrorDomain.DOMAIN, fn, name, f"{name} in {fn} {what}")

        if kind in (TITLE, DESCRIPTION):
            if setting and kind == TITLE and metadata and "\n" in metadata:
                raise invalid_arg(
                    ErrorDomain.DOMAIN, fn, "metadata", "metadata title can't contain newlines"
                )
            if uri is not None:
                raise null_arg("uri", True)
            if setting and key is not None:
                raise null_arg("key", True)
        elif kind == ELEMENT:
            if uri is None:
                raise null_arg("uri", False)
            if setting and metadata is not None and key is None:
                raise null_arg("key", False)

    def _meta_type_check(self, kind: int) -> None:
        if kind > ELEMENT or kind < 0:
            raise self.conf_meta_error(ErrorCode.INVALID_ARG, f"unknown metadata type '{kind}'")

    @staticmethod
    def conf_meta_error(code: ErrorCode, detail: str) -> LibvirtError:
        return LibvirtError.make(code, ErrorDomain.DOMAIN, detail)

    # -- set ---------------------------------------------------------------------------------------

    def domain_set_metadata(
        self,
        dom: Dom,
        type: int,  # noqa: A002 - libvirt's name
        metadata: str | None,
        key: str | None,
        uri: str | None,
        flags: int = 0,
    ) -> None:
        self._meta_api_checks("virDomainSetMetadata", type, metadata, key, uri, setting=True)
        self.check_flags(flags, AFFECT, f"{self.fn_prefix}DomainSetMetadata")
        obj = self.find(dom)
        live, config = self.impact(obj, flags)
        new_config = obj.config.copy() if config else None
        if live:
            assert obj.live is not None
            self._meta_apply(obj.live, type, metadata, key, uri)
        if new_config is not None:
            self._meta_apply(new_config, type, metadata, key, uri)
            self.save(obj, new_config)
            obj.config = new_config
        self.emit(ev.MetadataChangeEvent(obj.ref(), type, uri))

    def _meta_apply(
        self, ddef: DomainDef, kind: int, metadata: str | None, key: str | None, uri: str | None
    ) -> None:
        """virDomainDefSetMetadata on the definition's tree."""
        self._meta_type_check(kind)
        root = ddef.tree
        if kind in (TITLE, DESCRIPTION):
            tag = "title" if kind == TITLE else "description"
            old = root.find(tag)
            if not metadata:
                if old is not None:
                    root.remove(old)
                return
            if old is None:
                old = ET.Element(tag)
                # virDomainDefFormat: name, uuid, genid, title, description, metadata
                before = ("name", "uuid", "genid") + (("title",) if tag == "description" else ())
                root.insert(_anchor(root, before), old)
            old.text = metadata
            return
        assert uri is not None
        new = None
        if metadata is not None:
            from virtwire.server.hypervisor.domxml import parse_document

            doc = parse_document(metadata, "metadata_xml")
            assert key is not None
            if not _NCNAME.match(key):
                raise self.error(
                    ErrorCode.INTERNAL_ERROR, "failed to validate prefix for a new XML namespace"
                )
            decls = _declarations(metadata)
            if any(prefix == key for prefix, _uri in decls):  # xmlNewNs: already declared
                raise self.error(ErrorCode.INTERNAL_ERROR, "failed to create a new XML namespace")
            # virXMLInjectNamespace: every element without a namespace gets the new one
            for node in doc.iter():
                if _split(node.tag)[0] is None:
                    node.tag = f"{{{uri}}}{node.tag}"
            doc.tail = None
            _store(doc, [*decls, (key, uri)])
            new = doc
        meta = root.find("metadata")
        while (old := _find_by_ns(meta, uri)) is not None:
            assert meta is not None
            meta.remove(old)
        if new is not None:
            if meta is None:
                meta = ET.Element("metadata")
                root.insert(_anchor(root, ("name", "uuid", "genid", "title", "description")), meta)
            meta.append(new)

    # -- get ---------------------------------------------------------------------------------------

    def domain_get_metadata(
        self,
        dom: Dom,
        type: int,  # noqa: A002 - libvirt's name
        uri: str | None,
        flags: int = 0,
    ) -> str:
        if flags & AFFECT == AFFECT:
            raise invalid_arg(
                ErrorDomain.DOMAIN,
                "virDomainGetMetadata",
                "flags",
                "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually "
                "exclusive",
            )
        self._meta_api_checks("virDomainGetMetadata", type, None, None, uri, setting=False)
        obj = self.find(dom)
        # virDomainObjGetMetadata: its flag check is in domain DOMAIN
        if flags & ~AFFECT:
            raise LibvirtError(
                ErrorCode.INVALID_ARG,
                ErrorDomain.DOMAIN,
                f"unsupported flags (0x{flags & ~AFFECT:x}) in function virDomainObjGetMetadata",
                str1="virDomainObjGetMetadata",
                str2="flags",
                int1=0,
                int2=0,
            )
        self._meta_type_check(type)
        ddef = self.one_def(obj, flags)
        found: str | None = None
        if type in (TITLE, DESCRIPTION):
            elem = ddef.tree.find("title" if type == TITLE else "description")
            found = elem.text if elem is not None else None
        elif uri is not None:
            child = _find_by_ns(ddef.tree.find("metadata"), uri)
            if child is not None:
                found = dump_metadata_child(child, 0, strip_uri=uri)
        if found is None:
            raise self.conf_meta_error(
                ErrorCode.NO_DOMAIN_METADATA, "Requested metadata element is not present"
            )
        return found
