"""Regenerate (or check) the committed codecs in ``protocol/generated/`` from ``protocol/defs/``.

Usage::

    python -m virtwire.protocol.regenerate          # rewrite generated/<stem>.py for every .x
    python -m virtwire.protocol.regenerate --check  # exit 1 and name each stale file

A ``.x`` file with more than :data:`PACKAGE_ABOVE` types becomes a package,
``generated/<stem>/`` (see :mod:`virtwire.xdr.codegen_package`: importing it builds nothing,
each part is imported on first use); the others stay one module each.

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
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from virtwire.xdr import ast, codegen, codegen_package
from virtwire.xdr.parser import parse_file
from virtwire.xdr.runtime import XdrError

__all__ = ["HEADER_CONSTANTS", "PACKAGE_ABOVE", "generate", "main", "stale_files"]

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


#: a ``.x`` file with more types than one part holds is generated as a package of lazily
#: imported parts (as one module, libvirt's ~700 remote types took ~100 ms to import, the 34
#: admin types ~3 ms: both before the daemon's first answer, which needs none of them)
PACKAGE_ABOVE = codegen_package.PART_SIZE


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


def generate(source: Path) -> dict[str, str]:
    """Compile ``source`` in memory: generated file (relative to ``generated/``) -> text.

    One module ``<stem>.py``, or a package ``<stem>/__init__.py``, ``<stem>/_part.py``...
    for files with more than :data:`PACKAGE_ABOVE` types.  The text is what ``python -m
    virtwire.xdr <defs/X.x> --const ... [--package DIR]`` writes, except that its header
    names this module's command (the generator names the source by its file name only,
    so the output does not depend on where the checkout lives).
    """
    try:
        spec = parse_file(source, constants_for(source.read_text(encoding="utf-8")))
        types = [d for d in spec.definitions if isinstance(d, ast.TypeDefinition)]
        if len(types) > PACKAGE_ABOVE:
            files = codegen_package.generate_package(spec, regenerate_command=REGENERATE_COMMAND)
            return {f"{source.stem}/{name}": text for name, text in files.items()}
        return {f"{source.stem}.py": codegen.generate(spec, regenerate_command=REGENERATE_COMMAND)}
    except XdrError as err:
        raise RegenerateError(f"cannot compile {source.name}: {err}") from err


def leftovers(
    source: Path, files: Iterable[str], generated_dir: Path = GENERATED_DIR
) -> list[Path]:
    """Generated files of ``source`` that a fresh run would not write (to be deleted): the
    module when it is now a package, the package's files when it is a module again, parts
    that no longer exist."""
    wanted = {generated_dir / name for name in files}
    found = [generated_dir / f"{source.stem}.py"]
    package = generated_dir / source.stem
    if package.is_dir():
        found += sorted(package.glob("*.py"))
    return [path for path in found if path.exists() and path not in wanted]


def stale_files(
    srcs: Iterable[Path] | None = None, generated_dir: Path = GENERATED_DIR
) -> list[Path]:
    """Generated files whose committed text differs from a fresh run, are missing, or are
    left over from an earlier layout."""
    stale: list[Path] = []
    for source in sources() if srcs is None else srcs:
        fresh = generate(source)
        for name, text in fresh.items():
            target = generated_dir / name
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target)
        stale += leftovers(source, fresh, generated_dir)
    return stale


def write(source: Path, generated_dir: Path = GENERATED_DIR) -> list[str]:
    """Bring ``source``'s generated files up to date; what was done, one line per file."""
    done: list[str] = []
    fresh = generate(source)
    for name, text in fresh.items():
        target = generated_dir / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            done.append(f"wrote {_display(target)}")
    for path in leftovers(source, fresh, generated_dir):
        path.unlink()
        done.append(f"removed {_display(path)}")
    package = generated_dir / source.stem
    if package.is_dir() and not any(package.glob("*.py")):  # no longer a package
        shutil.rmtree(package)
    return done


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
            for line in write(source):
                print(line)
    except RegenerateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
