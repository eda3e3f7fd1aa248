"""Tokeniser for the XDR language (RFC 4506 + RFC 5531) and libvirt's rpcgen dialect.

The lexer is deliberately small: it knows identifiers, numbers, punctuation and comments.
Dialect quirks handled here (rather than in the parser) because they are lexical:

* ``%`` lines are C pass-through text for rpcgen; a Python codec has no use for them, so they
  are dropped whole.  ``#`` lines (cpp line markers, ``#include``) are dropped as well.
* ``/** ... */`` doc comments are kept and attached to the *next* token, because libvirt puts
  ``@key: value`` annotations for each procedure in the comment before its enum value.
* numbers may be decimal, hex (``0x20008086``) or octal (``031``); the sign is a separate token
  so that ``-1`` and ``- 1`` both work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from virtwire.xdr.runtime import XdrParseError

KEYWORDS = frozenset(
    {
        "bool",
        "case",
        "char",
        "const",
        "default",
        "double",
        "enum",
        "float",
        "hyper",
        "int",
        "long",
        "opaque",
        "program",
        "quadruple",
        "short",
        "string",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "version",
        "void",
    }
)

PUNCTUATION = frozenset("{}()[]<>;,=:*-")


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token; ``doc`` is the ``/** */`` comment text right before it, if any."""

    kind: str  # "ident", "keyword", "number", "punct", "eof"
    text: str
    line: int
    col: int
    doc: str | None = None

    def describe(self) -> str:
        """How the token reads in an error message."""
        if self.kind == "eof":
            return "end of file"
        return repr(self.text)


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<doc>/\*\*(?!/)(?:.|\n)*?\*/)
  | (?P<comment>/\*(?:.|\n)*?\*/)
  | (?P<linecomment>//[^\n]*)
  | (?P<number>0[xX][0-9a-fA-F]+|[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}()\[\]<>;,=:*\-])
    """,
    re.VERBOSE,
)

_LINE_SKIP_RE = re.compile(r"[ \t]*[%#][^\n]*")


def tokenize(text: str, filename: str = "<string>") -> list[Token]:
    """Split ``text`` into tokens, ending with one ``eof`` token.

    Raises :class:`XdrParseError` (with file, line and column) on a character that cannot
    start a token or an unterminated comment.
    """
    tokens: list[Token] = []
    pos = 0
    line = 1
    line_start = 0
    pending_doc: str | None = None
    length = len(text)
    while pos < length:
        if pos == line_start:
            skip = _LINE_SKIP_RE.match(text, pos)
            if skip:
                pos = skip.end()
                continue
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            col = pos - line_start + 1
            if text.startswith("/*", pos):
                raise XdrParseError("unterminated comment", filename, line, col)
            raise XdrParseError(
                f"unexpected character {text[pos]!r}", filename, line, col, "a token"
            )
        kind = m.lastgroup
        value = m.group()
        col = pos - line_start + 1
        if kind == "nl":
            line += 1
            line_start = m.end()
        elif kind in ("doc", "comment"):
            if kind == "doc":
                pending_doc = value
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = pos + value.rindex("\n") + 1
        elif kind in ("ws", "linecomment"):
            pass
        else:
            if kind == "ident" and value in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, value, line, col, pending_doc))
            pending_doc = None
        pos = m.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1, pending_doc))
    return tokens


_ANNOTATION_RE = re.compile(r"^\s*\*?\s*@([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")


def doc_annotations(doc: str | None) -> tuple[tuple[str, str], ...]:
    """Extract ``@key: value`` lines from a ``/** ... */`` comment, in file order.

    Keys may repeat (libvirt writes several ``@acl:`` lines), so the result is a tuple of
    pairs rather than a dict.
    """
    if not doc:
        return ()
    body = doc[3:-2]
    pairs = []
    for raw in body.splitlines():
        m = _ANNOTATION_RE.match(raw)
        if m:
            pairs.append((m.group(1), m.group(2)))
    return tuple(pairs)
