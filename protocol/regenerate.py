"""Regenerate (or check) the committed codecs in ``protocol/generated/`` from ``protocol/defs/``.

Usage::

    python -m virtwire.protocol.regenerate          # rewrite generated/<stem>.py for every .x
    python -m virtwire.protocol.regenerate --check  # exit 1 and name each stale file

Why committed output: importing the protocol must not need the generator, and a reviewer
sees every wire change as a diff.  Why a check: hand edits or a forgotten regeneration
would silently desynchronise the codecs from their ``.x`` source; the test suite runs
:func:`stale_files` so that cannot land.

libvirt's ``.x`` files use a few symbols that come from its C headers rather than the
file itself; :data:`HEADER_CONSTANTS` supplies them (only the ones a file mentions are
passed, so each file's generated module stays independent of the others).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from virtwire.xdr import codegen
from virtwire.xdr.parser import parse_file
from virtwire.xdr.runtime import XdrError

__all__ = ["HEADER_CONSTANTS", "generate", "main", "stale_files"]

PROTOCOL_DIR = Path(__file__).resolve().parent
DEFS_DIR = PROTOCOL_DIR / "defs"
GENERATED_DIR = PROTOCOL_DIR / "generated"

#: Symbols from libvirt's C headers (libvirt-common.h, libvirt-domain.h, libvirt-host.h).
HEADER_CONSTANTS: dict[str, int] = {
    "VIR_UUID_BUFLEN": 16,
    "VIR_SECURITY_MODEL_BUFLEN": 257,
    "VIR_SECURITY_LABEL_BUFLEN": 4097,
    "VIR_SECURITY_DOI_BUFLEN": 257,
    "VIR_TYPED_PARAM_INT": 1,
    "VIR_TYPED_PARAM_UINT": 2,
    "VIR_TYPED_PARAM_LLONG": 3,
    "VIR_TYPED_PARAM_ULLONG": 4,
    "VIR_TYPED_PARAM_DOUBLE": 5,
    "VIR_TYPED_PARAM_BOOLEAN": 6,
    "VIR_TYPED_PARAM_STRING": 7,
}


class RegenerateError(RuntimeError):
    """The generator failed on a ``.x`` file (its message is included)."""


def sources(defs_dir: Path = DEFS_DIR) -> list[Path]:
    """Every ``.x`` file, in a stable order."""
    return sorted(defs_dir.glob("*.x"))


# what a generated module's header tells its reader to run (`python -m virtwire.xdr X.x`
# alone fails on libvirt's files: their header constants come from C headers)
REGENERATE_COMMAND = "python -m virtwire.protocol.regenerate"


def constants_for(text: str) -> dict[str, int]:
    """The header constants a ``.x`` text actually mentions."""
    return {
        name: value
        for name, value in HEADER_CONSTANTS.items()
        if re.search(rf"\b{re.escape(name)}\b", text)
    }


def generate(source: Path) -> str:
    """Compile ``source`` in memory and return the generated module text.

    The text is what ``python -m virtwire.xdr <defs/X.x> --const ...`` writes, except that
    its header names this module's command (the generator names the source by its file
    name only, so the output does not depend on where the checkout lives).
    """
    try:
        spec = parse_file(source, constants_for(source.read_text(encoding="utf-8")))
        return codegen.generate(spec, regenerate_command=REGENERATE_COMMAND)
    except XdrError as err:
        raise RegenerateError(f"cannot compile {source.name}: {err}") from err


def target_for(source: Path, generated_dir: Path = GENERATED_DIR) -> Path:
    """``defs/<stem>.x`` → ``generated/<stem>.py``."""
    return generated_dir / f"{source.stem}.py"


def stale_files(
    srcs: Iterable[Path] | None = None, generated_dir: Path = GENERATED_DIR
) -> list[Path]:
    """Generated files whose committed text differs from a fresh run (or are missing)."""
    stale: list[Path] = []
    for source in sources() if srcs is None else srcs:
        target = target_for(source, generated_dir)
        fresh = generate(source)
        if not target.exists() or target.read_text(encoding="utf-8") != fresh:
            stale.append(target)
    return stale


def _display(path: Path) -> str:
    try:
        return path.relative_to(PROTOCOL_DIR.parent).as_posix()
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m virtwire.protocol.regenerate",
        description="Regenerate protocol/generated/*.py from protocol/defs/*.x.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 and list the generated files that are stale",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files()
            for path in stale:
                print(f"stale: {_display(path)}", file=sys.stderr)
            if stale:
                print("run: python -m virtwire.protocol.regenerate", file=sys.stderr)
                return 1
            return 0
        for source in sources():
            target = target_for(source)
            text = generate(source)
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
                print(f"wrote {_display(target)}")
    except RegenerateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
