"""What libvirt refuses at the door of every XML API: bad UTF-8, deep nesting, huge sizes.

libvirtd 9.0 parses client XML with libxml2 (no ``XML_PARSE_HUGE``) and reads sizes with
``virParseScaledValue``/``virScaleInteger``; these are the same checks with the same codes
and texts (compared side by side with libvirtd in ``tests/interop/test_xml_limits.py``):

- a byte that is not UTF-8 is XML_DETAIL ``Input is not proper UTF-8, indicate encoding !``
  with libxml2's ``Bytes: 0x.. 0x.. 0x.. 0x..`` line;
- an element opened while 257 are already open is XML_DETAIL ``Excessive depth in
  document: 256 use XML_PARSE_HUGE option``;
- a size that is not an unsigned 64-bit decimal is XML_ERROR (domain XML) ``Invalid value
  'V' for element or attribute 'XPATH'``, one above 2^63-1 bytes after scaling is OVERFLOW
  ``value too large: VUNIT`` (domain NONE), an unknown unit INVALID_ARG ``unknown suffix``.

So nothing a client stores can later fail to format or to fit its XDR field.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

if TYPE_CHECKING:  # imported by the first parse, not by the daemon's start
    import xml.etree.ElementTree as ET

# libxml2's xmlParserMaxDepth: an element may start while at most this many are open
LIBXML_MAX_DEPTH = 256
# a stored domain: an attached device (its own limit) sits two levels down, in <devices>
STORED_MAX_DEPTH = LIBXML_MAX_DEPTH + 2
# virMemoryMaxValue() on a 64-bit host: sizes are bounded by off_t
MEMORY_MAX_BYTES = (1 << 63) - 1
# virDomainParseMemory refuses a KiB value at or above this
MEMORY_MAX_KIB = -(-MEMORY_MAX_BYTES // 1024)
UINT_MAX = (1 << 32) - 1
ULLONG_MAX = (1 << 64) - 1
INT_MAX = (1 << 31) - 1


class TooDeep(Exception):
    """Raised from the parser's start handler: the byte offset of the refused element."""

    def __init__(self, byte_index: int) -> None:
        super().__init__(byte_index)
        self.byte_index = byte_index


def _parser_class() -> type:
    """The counting parser's class, made on first use: defusedxml's ElementTree imports a
    second, pure-Python copy of ``xml.etree.ElementTree`` (~10-30 ms), needed only by the
    first document with a ``<!`` or nested too deep, never before the first call."""
    global _PARSER_CLASS
    if _PARSER_CLASS is not None:
        return _PARSER_CLASS
    import xml.etree.ElementTree as ET

    import defusedxml.ElementTree as DET

    class _DepthLimitedParser(DET.DefusedXMLParser):
        """defusedxml's parser counting open elements, as libxml2 does without XML_PARSE_HUGE."""

        def __init__(self, max_depth: int) -> None:
            super().__init__(
                target=ET.TreeBuilder(),
                forbid_dtd=False,
                forbid_entities=True,
                forbid_external=True,
            )
            expat = self.parser
            start, end = expat.StartElementHandler, expat.EndElementHandler
            depth = 0

            def on_start(*args: object) -> object:
                nonlocal depth
                if depth > max_depth:
                    raise TooDeep(expat.CurrentByteIndex)
                depth += 1
                return start(*args)

            def on_end(*args: object) -> object:
                nonlocal depth
                depth -= 1
                return end(*args)

            expat.StartElementHandler = on_start
            expat.EndElementHandler = on_end

    _PARSER_CLASS = _DepthLimitedParser
    return _PARSER_CLASS


_PARSER_CLASS: type | None = None


# a document this large is parsed in a worker thread before the driver call that reads it
# (the handler's preparse): about 40 ms of the loop's time per MiB otherwise
PREPARSE_MIN_CHARS = 256 * 1024

# (text, max_depth, root or the exception its parse raised), consumed by parse_limited
_preparsed: ContextVar[list[tuple[str, int, ET.Element | Exception]] | None] = ContextVar(
    "virtwire_preparsed", default=None
)


def preparse(texts: list[str], max_depth: int = LIBXML_MAX_DEPTH) -> list:
    """Parse ``texts`` as parse_limited would (for a worker thread): what :func:`using`
    hands to the driver call."""
    done: list[tuple[str, int, ET.Element | Exception]] = []
    for text in texts:
        try:
            done.append((text, max_depth, _parse_limited(text, max_depth)))
        except Exception as exc:  # noqa: BLE001 - raised again where the driver parses
            done.append((text, max_depth, exc))
    return done


def using(done: list) -> object:
    """Make the pre-parsed documents visible to parse_limited in this context (a token)."""
    return _preparsed.set(list(done))


def forget(token: object) -> None:
    _preparsed.reset(token)  # type: ignore[arg-type]


def parse_limited(text: str, max_depth: int = LIBXML_MAX_DEPTH) -> ET.Element:
    """:func:`_parse_limited`, or its result from the handler's worker thread when the
    same text (the very object) was pre-parsed with the same limit."""
    done = _preparsed.get()
    if done:
        for i, (seen, depth, outcome) in enumerate(done):
            if seen is text and depth == max_depth:
                del done[i]  # a tree is handed out once: the driver may change it
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
    return _parse_limited(text, max_depth)


def _parse_limited(text: str, max_depth: int = LIBXML_MAX_DEPTH) -> ET.Element:
    """defusedxml's ``fromstring`` with libxml2's depth limit (raises :class:`TooDeep`).

    A document without ``<!`` has no DOCTYPE, hence no entity can be declared in it:
    ElementTree's C parser is safe there and about 3 times faster than defusedxml's
    pure-Python one (a 4 MB domain: 0.7 s instead of 2.1 s of event-loop time); its tree's
    depth is then checked by a walk, and a document too deep is parsed again by the
    counting parser, which knows where libxml2 would have stopped.
    """
    if "<!" not in text:
        from xml.etree.ElementTree import fromstring

        root = fromstring(text)
        if not _deeper_than(root, max_depth + 1):
            return root
    parser = _parser_class()(max_depth)
    parser.feed(text)
    return parser.close()


def _deeper_than(root: ET.Element, levels: int) -> bool:
    """Whether an element of ``root``'s tree lies more than ``levels`` levels down."""
    stack = [(root, 1)]
    while stack:
        elem, depth = stack.pop()
        if len(elem):
            if depth >= levels:
                return True
            stack.extend((child, depth + 1) for child in elem)
    return False


def _line_at(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(line number, the line's bytes, column in bytes) of ``offset``, as catchXMLError."""
    start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    ends = [i for i in (data.find(b"\n", offset), data.find(b"\r", offset)) if i >= 0]
    end = min(ends) if ends else len(data)
    return data.count(b"\n", 0, offset) + 1, data[start:end], offset - start


def detail_error(what: str, domain: int, data: bytes, offset: int, reason: str) -> LibvirtError:
    """libvirt's catchXMLError text: "(what):LINE: reason", the whole line, a caret."""
    line, context, column = _line_at(data, offset)
    caret = "".join("\t" if b == 9 else "-" for b in context[:column]) + "^"
    shown = context.decode("utf-8", "surrogateescape")
    return LibvirtError.make(
        ErrorCode.XML_DETAIL, domain, f"({what}):{line}: {reason}{shown}\n{caret}"
    )


def first_bad_byte(text: str) -> tuple[bytes, int] | None:
    """The client's bytes and the offset of the first one that is not UTF-8, if any.

    Strings from the wire are decoded with ``surrogateescape``: a byte that was not UTF-8
    is a lone surrogate here.
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")  # in C: stops at the first lone surrogate
    except UnicodeEncodeError as bad:
        data = text.encode("utf-8", "surrogateescape")
        return data, len(text[: bad.start].encode("utf-8", "surrogateescape"))
    return None


def not_utf8_reason(data: bytes, offset: int) -> str:
    """libxml2's xmlCurrentChar encoding error (four bytes shown when four remain)."""
    text = "Input is not proper UTF-8, indicate encoding !\n"
    if len(data) - offset < 4:
        return text
    shown = " ".join(f"0x{b:02X}" for b in data[offset : offset + 4])
    return f"{text}Bytes: {shown}\n"


DEPTH_REASON = f"Excessive depth in document: {LIBXML_MAX_DEPTH} use XML_PARSE_HUGE option\n"


# -- scaled integers (virScaleInteger) ---------------------------------------------------------


def strtoull(text: str) -> int | None:
    """virStrToLong_ullp: leading blanks and '+' allowed, nothing after, no sign '-'."""
    body = text.lstrip(" \t\n\v\f\r")
    digits = body[1:] if body.startswith("+") else body
    if not digits.isascii() or not digits.isdigit():
        return None
    value = int(digits)
    return value if value <= ULLONG_MAX else None


def strtoui(text: str) -> int | None:
    """virStrToLong_ui: an unsigned int; "-N" wraps (libvirt keeps "-1" as UINT_MAX)."""
    body = text.lstrip(" \t\n\v\f\r")
    negative = body.startswith("-")
    digits = body[1:] if body[:1] in ("+", "-") else body
    if not digits.isascii() or not digits.isdigit():
        return None
    value = int(digits)
    if value > UINT_MAX:
        return None
    return (-value) & UINT_MAX if negative else value


def unit_scale(unit: str | None, default: int) -> int:
    """virScaleInteger's suffixes; an unknown one is INVALID_ARG ``unknown suffix``."""
    if not unit:
        return default
    if unit in ("b", "byte", "bytes"):
        return 1
    if len(unit) == 1 or unit[1:].lower() == "ib":
        base = 1024
    elif unit[1].lower() == "b" and len(unit) == 2:
        base = 1000
    else:
        raise LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.NONE, f"unknown suffix '{unit}'")
    power = "kmgtpe".find(unit[0].lower()) + 1
    if power == 0:
        raise LibvirtError.make(ErrorCode.INVALID_ARG, ErrorDomain.NONE, f"unknown suffix '{unit}'")
    return base**power


def scaled_value(
    text: str, unit: str | None, xpath: str, scale: int, limit: int, domain: int = ErrorDomain.XML
) -> int:
    """virParseScaledValue: the value in bytes, with libvirt's errors."""
    value = strtoull(text)
    if value is None:
        raise LibvirtError.make(
            ErrorCode.XML_ERROR,
            domain,
            f"Invalid value '{text}' for element or attribute '{xpath}'",
        )
    factor = unit_scale(unit, scale)
    if value and value > limit // factor:
        raise LibvirtError.make(
            ErrorCode.OVERFLOW, ErrorDomain.NONE, f"value too large: {value}{unit or ''}"
        )
    return value * factor


def memory_kib(text: str, unit: str | None, xpath: str) -> int:
    """virDomainParseMemory: KiB, rounded up, below 2^53."""
    kib = -(-scaled_value(text, unit, xpath, 1024, MEMORY_MAX_BYTES) // 1024)
    if kib >= MEMORY_MAX_KIB:
        raise LibvirtError.make(ErrorCode.OVERFLOW, ErrorDomain.DOMAIN, "size value too large")
    return kib
