"""libxml2's ``xmlNodeDump(buf, doc, node, level, format=1)`` for an ElementTree subtree.

libvirt prints custom ``<metadata>`` elements (``dumpxml``, ``metadata URI``) through
libxml2 rather than its own formatter, so they look different from the rest of a domain:
attributes in double quotes, non-ASCII in attribute values as ``&#xHEX;`` (text stays
UTF-8), ``\\r`` in text as ``&#13;``, and indentation only inside elements whose
children are all elements: one text child (whitespace counts) and everything below is
printed exactly as it was parsed. Namespace declarations come first on the element that
declares them, then its attributes.

Tags and attribute names are ElementTree's ``{uri}local``; ``prefixes`` maps a URI to the
prefix it is printed with ("" for a default namespace), ``declare`` lists the
``(prefix, uri)`` declarations printed on the top element, in order.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

__all__ = ["dump"]

_ATTR_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "\n": "&#10;",
                 "\r": "&#13;", "\t": "&#9;"}  # fmt: skip
_TEXT_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "\r": "&#13;"}


def _attr(value: str) -> str:
    out = []
    for ch in value:
        esc = _ATTR_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) >= 0x80:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def _text(value: str) -> str:
    if not any(ch in value for ch in _TEXT_ESCAPES):
        return value
    return "".join(_TEXT_ESCAPES.get(ch, ch) for ch in value)


def _name(name: str, prefixes: Mapping[str, str]) -> str:
    if name[:1] != "{":
        return name
    uri, local = name[1:].split("}", 1)
    prefix = prefixes.get(uri, "")
    return f"{prefix}:{local}" if prefix else local


INDENT_NR = 30  # libxml2's indentation stops growing after 30 levels (60 spaces)


def dump(
    elem: ET.Element,
    level: int,
    prefixes: Mapping[str, str],
    declare: Iterable[tuple[str, str]] = (),
    skip_attrs: frozenset[str] = frozenset(),
) -> str:
    """``elem`` as libxml2 dumps it at ``level`` (no indentation before the element itself).

    An explicit walk: nesting as deep as the parser allows cannot exhaust the stack."""
    out: list[str] = []
    # work items: ("open", element, level, format) or ("close", name, level, format) or
    # ("raw", text)
    work: list[tuple] = [("open", elem, level, True)]
    first = True
    while work:
        item = work.pop()
        if item[0] == "raw":
            out.append(item[1])
            continue
        if item[0] == "close":
            _kind, name, lvl, fmt = item
            if fmt:
                out.append("  " * min(lvl, INDENT_NR))
            out.append(f"</{name}>")
            continue
        _kind, node, lvl, fmt = item
        name = _name(node.tag, prefixes)
        out.append("<" + name)
        if first:
            for prefix, uri in declare:
                attr = f"xmlns:{prefix}" if prefix else "xmlns"
                out.append(f' {attr}="{_attr(uri)}"')
            first = False
        for key, value in node.items():
            if key not in skip_attrs:
                out.append(f' {_name(key, prefixes)}="{_attr(value)}"')
        children = list(node)
        if not children and not node.text:
            out.append("/>")
            continue
        out.append(">")
        child_fmt = fmt and not node.text and not any(c.tail for c in children)
        todo: list[tuple] = []
        if child_fmt:
            todo.append(("raw", "\n"))
        if node.text:
            todo.append(("raw", _text(node.text)))
        for child in children:
            if child_fmt:
                todo.append(("raw", "  " * min(lvl + 1, INDENT_NR)))
            todo.append(("open", child, lvl + 1, child_fmt))
            if child.tail:
                todo.append(("raw", _text(child.tail)))
            if child_fmt:
                todo.append(("raw", "\n"))
        todo.append(("close", name, lvl, child_fmt))
        work.extend(reversed(todo))
    return "".join(out)
