"""Lay out a ``.x`` text in one canonical style: the XDR language's formatter.

What it keeps: every token (so the described wire format is unchanged, constant names and
all) and, of the comments, only the ``@key: value`` annotations of ``/** */`` doc comments,
which carry facts (libvirt's gendispatch annotations on procedures).  What it drops: every
other comment, ``%`` pass-through and ``#`` lines, and the input's own layout.  The output
is laid out one declaration per line, four spaces per level, a blank line between top-level
definitions, so two descriptions of the same protocol diff cleanly whatever their origin.

``python -m virtwire.xdr.printer IN.x [OUT.x]`` writes the formatted text.
"""

from __future__ import annotations

import sys
from pathlib import Path

from virtwire.xdr.lexer import Token, doc_annotations, tokenize

__all__ = ["format_text"]

_NO_SPACE_BEFORE = frozenset({";", ",", "]", ">", ")", ":", "[", "<"})
_NO_SPACE_AFTER = frozenset({"[", "<", "(", "*", "-"})
_INDENT = "    "


def _doc_block(doc: str | None, indent: str) -> list[str]:
    notes = doc_annotations(doc)
    if not notes:
        return []
    return [f"{indent}/**"] + [f"{indent} * @{k}: {v}" for k, v in notes] + [f"{indent} */"]


def format_text(text: str, filename: str = "<string>", header: str | None = None) -> str:
    """The canonical layout of ``text`` (optionally preceded by a ``header`` comment)."""
    tokens = [t for t in tokenize(text, filename) if t.kind != "eof"]
    lines: list[str] = []
    if header:
        lines += [header.rstrip("\n"), ""]
    current: list[str] = []
    depth = 0
    in_enum: list[bool] = []  # per brace level: is it an enum body?
    prev: Token | None = None
    top_started = False
    paren = 0
    arm = False  # the declaration after a union's case label gets one more level
    last_kind = ""  # keyword of the previous top-level definition

    def flush() -> None:
        nonlocal current, arm
        if current:
            label = current[0] in ("case", "default")
            extra = 1 if arm and not label else 0
            lines.append(_INDENT * (depth + extra) + "".join(current).rstrip())
            current = []
            arm = False

    for i, tok in enumerate(tokens):
        text_ = tok.text
        if not current:
            if depth == 0 and not top_started:
                # one-line definitions of one kind stay together; anything else stands apart
                grouped = text_ == last_kind and text_ in ("const", "typedef")
                if lines and lines[-1] != "" and not grouped:
                    lines.append("")
                last_kind = text_
                top_started = True
            block = _doc_block(tok.doc, _INDENT * depth)
            if block and lines and lines[-1] != "" and not lines[-1].endswith("{") and depth > 0:
                lines.append("")
            lines.extend(block)
        if text_ == "}":
            flush()
            depth -= 1
            in_enum.pop()
            current.append("}")
            prev = tok
            continue
        if current and prev is not None:
            glue = text_ in _NO_SPACE_BEFORE or prev.text in _NO_SPACE_AFTER
            if prev.text == "-" and not (i >= 2 and tokens[i - 2].kind in ("number", "ident")):
                glue = True
            elif prev.text == "-":
                glue = False
            if text_ == "(" and prev.text == "switch":
                glue = False
            if text_ == "*":
                glue = False
            if not glue:
                current.append(" ")
        current.append(text_)
        if text_ == "(":
            paren += 1
        elif text_ == ")":
            paren -= 1
        if text_ == "{":
            is_enum = any(t.text == "enum" for t in tokens[max(0, i - 2) : i])
            flush()
            depth += 1
            in_enum.append(is_enum)
        elif text_ == ";":
            if paren == 0:
                flush()
                if depth == 0:
                    top_started = False
        elif text_ == "," and in_enum and in_enum[-1]:
            flush()
        elif text_ == ":" and prev is not None and paren == 0:
            # a union arm's label: "case X:" / "default:" on a line of its own
            flush()
            arm = True
        prev = tok
    flush()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m virtwire.xdr.printer IN.x [OUT.x]", file=sys.stderr)
        return 2
    source = Path(args[0])
    out = format_text(source.read_text(encoding="utf-8"), source.name)
    if len(args) == 2:
        Path(args[1]).write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
