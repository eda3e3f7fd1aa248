"""``python -m virtwire.xdr FILE.x [--const NAME=VALUE]... [-o OUT.py | --package DIR]``:
compile a ``.x`` file into one module, or into a package of parts imported on first use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from virtwire.xdr.codegen import generate
from virtwire.xdr.codegen_package import generate_package
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
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    where.add_argument(
        "--package",
        type=Path,
        metavar="DIR",
        help="write a package into DIR (created): __init__.py and parts imported on first use",
    )
    args = parser.parse_args(argv)
    try:
        spec = parse_file(args.source, dict(args.const))
        if args.package is not None:
            files = generate_package(spec)
        else:
            text = generate(spec)
    except XdrError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.package is not None:
        args.package.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (args.package / name).write_text(body, encoding="utf-8")
    elif args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
