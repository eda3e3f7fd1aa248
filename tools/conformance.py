"""``virtwire conformance``: check any server that speaks libvirt's protocol.

Usage::

    virtwire conformance URI [--format text|json|junit] [--only PATTERN]... [--list]
                             [--output FILE] [--timeout S] [--keepalive-budget S] [-v]

Runs the named checks of :mod:`virtwire.tools.conformance_checks` against the daemon that
URI names (tcp and unix transports: ``test+tcp://127.0.0.1:16509/default``,
``qemu+unix:///session?socket=PATH``), each with raw sockets so that malformed frames can be
sent. Every check reports pass, fail or skip with its evidence: the frames sent and received,
decoded. Exit status 0 when no check failed, 1 otherwise (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from typing import TextIO

from virtwire.protocol.errors import LibvirtError
from virtwire.tools.conformance_checks import Context, Result, run_checks, select_checks

__all__ = ["build_parser", "main", "render_json", "render_junit", "render_text"]

STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtwire conformance",
        description="Check a libvirt-protocol server (libvirtd, virtwire serve, ...) against "
        "libvirt's wire behaviour: framing, header validation, serials, errors, connection "
        "setup, keepalive, events, read-only access, domain lifecycle, memory hot-plug.",
    )
    parser.add_argument("uri", nargs="?", help="connection URI (tcp or unix transport)")
    parser.add_argument("--format", choices=("text", "json", "junit"), default="text")
    parser.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="run only checks whose name matches this glob (repeatable), e.g. 'framing.*'",
    )
    parser.add_argument("--list", action="store_true", help="list the check names and exit")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds to wait for a reply (5)"
    )
    parser.add_argument(
        "--keepalive-budget",
        type=float,
        default=40.0,
        metavar="S",
        help="seconds the keepalive checks may wait for PINGs and the disconnect (40; "
        "libvirtd's defaults need about 30); it runs alongside the other checks",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="text format: evidence of every check"
    )
    return parser


def summary(results: list[Result]) -> dict[str, int]:
    counts = {"total": len(results), "passed": 0, "failed": 0, "skipped": 0}
    for r in results:
        counts[{"pass": "passed", "fail": "failed", "skip": "skipped"}[r.status]] += 1
    return counts


def render_text(uri: str, results: list[Result], verbose: bool = False) -> str:
    width = max((len(r.name) for r in results), default=0)
    lines = [f"{STATUS_WORD[r.status]}  {r.name:<{width}}  {r.message}" for r in results]
    s = summary(results)
    lines.append(
        f"{s['total']} checks against {uri}: {s['passed']} passed, {s['failed']} failed, "
        f"{s['skipped']} skipped"
    )
    for r in results:
        if r.status == "fail" or verbose:
            lines.append("")
            lines.append(f"--- {STATUS_WORD[r.status]} {r.name}: {r.title}")
            lines.append(f"    {r.doc}")
            lines.extend("    " + line for line in r.evidence.lines())
    return "\n".join(lines) + "\n"


def result_dict(r: Result) -> dict:
    return {
        "name": r.name,
        "title": r.title,
        "status": r.status,
        "message": r.message,
        "description": r.doc,
        "duration": round(r.duration, 4),
        "evidence": r.evidence.items,
    }


def render_json(uri: str, results: list[Result]) -> str:
    doc = {
        "uri": uri,
        "checks": [result_dict(r) for r in results],
        "summary": summary(results),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_junit(uri: str, results: list[Result]) -> str:
    s = summary(results)
    suite = ET.Element(
        "testsuite",
        name="virtwire-conformance",
        tests=str(s["total"]),
        failures=str(s["failed"]),
        errors="0",
        skipped=str(s["skipped"]),
        time=f"{sum(r.duration for r in results):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="uri", value=uri)
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="conformance." + r.name.split(".", 1)[0],
            name=r.name,
            time=f"{r.duration:.3f}",
        )
        evidence = "\n".join([r.doc, *r.evidence.lines()])
        if r.status == "fail":
            ET.SubElement(
                case, "failure", message=r.message, type="ConformanceFailure"
            ).text = evidence
        elif r.status == "skip":
            ET.SubElement(case, "skipped", message=r.message)
            ET.SubElement(case, "system-out").text = evidence
        else:
            ET.SubElement(case, "system-out").text = f"{r.message}\n{evidence}"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, "unicode") + "\n"


def render(fmt: str, uri: str, results: list[Result], verbose: bool = False) -> str:
    if fmt == "json":
        return render_json(uri, results)
    if fmt == "junit":
        return render_junit(uri, results)
    return render_text(uri, results, verbose)


def run(
    uri: str,
    only: list[str] | None = None,
    *,
    timeout: float = 5.0,
    keepalive_budget: float = 40.0,
) -> list[Result]:
    """Run the (selected) suite against ``uri``; the library entry point."""
    ctx = Context(uri, timeout=timeout, keepalive_budget=keepalive_budget)
    return run_checks(ctx, select_checks(only))


def _write(text: str, output: str | None, out: TextIO) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        out.write(text)


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    checks = select_checks(args.only)
    if args.list:
        for chk in checks:
            print(f"{chk.name:<40} {chk.title}")
        return 0
    if not args.uri:
        parser.error("a URI is required (or --list)")
    if not checks:
        parser.error(f"no check matches {args.only}")
    try:
        ctx = Context(args.uri, timeout=args.timeout, keepalive_budget=args.keepalive_budget)
    except LibvirtError as exc:
        print(f"virtwire conformance: error: {exc}", file=sys.stderr)
        return 2
    transport = ctx.uri.effective_transport
    if transport not in ("tcp", "unix"):
        print(
            f"virtwire conformance: error: transport '{transport}' is not supported "
            "(the suite needs a raw tcp or unix socket)",
            file=sys.stderr,
        )
        return 2
    results = run_checks(ctx, checks)
    _write(render(args.format, args.uri, results, args.verbose), args.output, sys.stdout)
    if args.output:
        s = summary(results)
        print(
            f"{s['total']} checks: {s['passed']} passed, {s['failed']} failed, "
            f"{s['skipped']} skipped; report in {args.output}",
            file=sys.stderr,
        )
    return 1 if any(r.status == "fail" for r in results) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
