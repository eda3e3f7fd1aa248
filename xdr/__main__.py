"""``python -m virtwire.xdr FILE.x [--const NAME=VALUE]... [-o OUT.py]``: compile a ``.x`` file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from virtwire.xdr.codegen import generate
from virtwire.xdr.parser import parse_file
from virtwire.xdr.runtime import XdrError


def _constant(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name.strip(), int(value.strip(), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not an integer") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m virtwire.xdr",
        description="Compile an XDR language file (.x) into a Python module of fast codecs.",
    )
    parser.add_argument("source", type=Path, help="the .x file")
    parser.add_argument(
        "--const",
        "-D",
        action="append",
        type=_constant,
        default=[],
        metavar="NAME=VALUE",
        help="value of a constant the file uses but does not define (repeatable)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    try:
        text = generate(parse_file(args.source, dict(args.const)))
    except XdrError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
