"""`virtwire fuzz`: the long fuzz run over the frame decoder, the codecs, domain XML and a
live daemon session (targets and oracles: :mod:`virtwire.tools.fuzz_targets`).

A seeded mutation loop: each target starts from valid inputs (every codec's shortest zero
encoding, valid domain documents, a virsh-like call sequence), mutates them (bit flips,
interesting words, inserted/deleted/duplicated spans, splices) and keeps the accepted mutants
as further seeds. It stops by itself after ``--minutes`` (split evenly over the targets) and
prints one JSON summary: inputs tried, accepted, crashes. Every crash is written to
``--crash-dir`` in the format ``tests/fuzz/test_fuzz_regressions.py`` replays from
``tests/data/fuzz/``.

    virtwire fuzz --minutes 10
    virtwire fuzz --minutes 1 --target codecs --seed 7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from virtwire.tools import fuzz_targets as ft

TARGETS = ("frames", "codecs", "domxml", "session")
_CORPUS_MAX = 2000
_INTERESTING = (0, 1, 3, 4, 27, 28, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                0xFFFFFFFF, 0x400000, 0x400004)  # fmt: skip


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One to four random edits of ``data`` (``others`` feed splices)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(buf)
        if op == 0 and n:
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[rng.randrange(n)] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2 and n >= 4:
            at = rng.randrange(0, n - 3) & ~3 if rng.random() < 0.8 else rng.randrange(n - 3)
            buf[at : at + 4] = rng.choice(_INTERESTING).to_bytes(4, "big")
        elif op == 3:
            at = rng.randrange(n + 1)
            buf[at:at] = rng.randbytes(rng.choice((1, 4, 8, rng.randrange(64))))
        elif op == 4 and n:
            at = rng.randrange(n)
            del buf[at : at + rng.randint(1, 16)]
        elif op == 5 and n:
            at = rng.randrange(n)
            span = buf[at : at + rng.randint(1, 64)]
            buf[at:at] = span * rng.randint(1, 8)
        elif op == 6 and others:
            other = rng.choice(others)
            cut = rng.randrange(len(other) + 1)
            buf = buf[: rng.randrange(n + 1)] + bytearray(other[cut:])
        elif op == 7 and n:
            del buf[rng.randrange(n) :]
    return bytes(buf)


def _xml_mutate(rng: random.Random, text: str, others: list[bytes]) -> str:
    """Text-level edits that keep XML-ish structure more often than byte edits do."""
    choice = rng.randrange(6)
    if choice == 0:  # numbers → huge, negative or empty
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if digits:
            at = rng.choice(digits)
            repl = rng.choice(("0", "-1", "18446744073709551616", "1e30", "", "0x10", "٣"))
            return text[:at] + repl + text[at + 1 :]
    if choice == 1:  # duplicate an element
        starts = [i for i, c in enumerate(text) if c == "<" and text[i + 1 : i + 2] != "/"]
        if starts:
            at = rng.choice(starts)
            end = text.find(">", at)
            return text[:at] + text[at : end + 1] + text[at:]
    if choice == 2:  # insert an attribute or an odd character
        at = rng.randrange(len(text) + 1)
        junk = rng.choice(
            (" unit='EiB'", " type='x'", "&amp;", "&#0;", "\udcff", "]]>", "<!--", "<x>", "\x00")
        )
        return text[:at] + junk + text[at:]
    if choice == 3:  # drop a span
        at = rng.randrange(len(text) + 1)
        return text[:at] + text[at + rng.randint(1, 40) :]
    raw = mutate(rng, text.encode(), others)
    return raw.decode("utf-8", "surrogateescape")


class Campaign:
    """Mutation loops per target, counting inputs and collecting crashes."""

    def __init__(self, seed: int, crash_dir: Path, session_dir: Path | None = None) -> None:
        self.rng = random.Random(seed)
        self.crash_dir = crash_dir
        self.session_dir = session_dir
        self.results: dict[str, dict[str, int]] = {}
        self.crashes: list[dict[str, str]] = []
        self._kinds: set[tuple[str, str]] = set()

    def _record(self, crash: ft.FuzzCrash) -> None:
        """Keep the first input of each kind of crash (its text without numbers)."""
        kind = (crash.target, re.sub(r"\d+|'[^']*'", "", crash.detail)[:80])
        if kind in self._kinds:
            return
        self._kinds.add(kind)
        name, blob = _crash_file(crash)
        self.crash_dir.mkdir(parents=True, exist_ok=True)
        path = self.crash_dir / name
        if not path.exists():
            path.write_bytes(blob)
            self.crashes.append({"target": crash.target, "detail": crash.detail, "file": str(path)})

    def _loop(self, target: str, seconds: float, step: Callable[[], bool]) -> None:
        stats = {"inputs": 0, "accepted": 0, "crashes": 0}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for _ in range(50):
                stats["inputs"] += 1
                try:
                    stats["accepted"] += bool(step())
                except ft.FuzzCrash as crash:
                    stats["crashes"] += 1
                    self._record(crash)
        self.results[target] = stats

    def frames(self, seconds: float) -> None:
        rng = self.rng
        corpus = [b"".join(ft.seed_frames()), *ft.seed_frames()]

        def step() -> bool:
            data = mutate(rng, rng.choice(corpus), corpus)
            cuts = [rng.randrange(len(data) + 1) for _ in range(rng.randrange(4))]
            got = ft.check_frames(data, cuts) > 0
            if got and len(corpus) < _CORPUS_MAX:
                corpus.append(data)
            return got

        self._loop("frames", seconds, step)

    def codecs(self, seconds: float) -> None:
        rng = self.rng
        names = list(ft.CODECS)
        corpus = {name: [ft.zero_encoding(name) or b""] for name in names}

        def step() -> bool:
            name = rng.choice(names)
            pool = corpus[name]
            data = mutate(rng, rng.choice(pool), pool)
            got = ft.check_codec(name, data)
            if got and len(pool) < 64:
                pool.append(data)
            return got

        self._loop("codecs", seconds, step)

    def domxml(self, seconds: float) -> None:
        rng = self.rng
        corpus = list(ft.DOMAIN_SEEDS)
        raw = [s.encode() for s in corpus]

        def step() -> bool:
            text = _xml_mutate(rng, rng.choice(corpus), raw)
            got = ft.check_domxml(text)
            if got and len(corpus) < _CORPUS_MAX:
                corpus.append(text)
            return got

        self._loop("domxml", seconds, step)

    def session(self, seconds: float) -> None:
        rng = self.rng
        seeds = ft.seed_frames()
        with ft.SessionTarget(self.session_dir) as target:

            def step() -> bool:
                frames = [rng.choice(seeds) for _ in range(rng.randint(1, 8))]
                if rng.random() < 0.5:
                    frames = seeds[:3] + frames  # past CONNECT_OPEN, where most code is
                frames = list(ft.numbered(frames))
                for _ in range(rng.randint(1, 3)):
                    at = rng.randrange(len(frames))
                    frames[at] = mutate(rng, frames[at], seeds)
                target.check(frames)
                return True

            self._loop("session", seconds, step)
            self.results["session"].update(
                replies=target.stats.replies, closed_by_server=target.stats.closed_by_server
            )


def _crash_file(crash: ft.FuzzCrash) -> tuple[str, bytes]:
    """The file name and content tests/fuzz replays (``<target>-<sha1>.<ext>``)."""
    data = crash.data
    if crash.target == "codecs":
        name, raw = data  # type: ignore[misc]
        blob = json.dumps({"codec": name, "hex": raw.hex()}).encode()
        ext = "json"
    elif crash.target == "session":
        blob = json.dumps({"frames": [f.hex() for f in data]}).encode()  # type: ignore[union-attr]
        ext = "json"
    elif crash.target == "domxml":
        blob = str(data).encode("utf-8", "surrogateescape")
        ext = "xml"
    else:
        blob = bytes(data)  # type: ignore[arg-type]
        ext = "bin"
    return f"{crash.target}-{hashlib.sha1(blob).hexdigest()[:12]}.{ext}", blob


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="virtwire fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="total budget (default 10)")
    parser.add_argument("--target", action="append", choices=TARGETS, help="repeatable")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--crash-dir", type=Path, default=Path("fuzz-crashes"))
    args = parser.parse_args(argv)
    targets = args.target or list(TARGETS)
    seed = args.seed if args.seed is not None else int(time.time())
    share = args.minutes * 60 / len(targets)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vw-fuzz-") as tmp:
        campaign = Campaign(seed, args.crash_dir, Path(tmp) / "state")
        for target in targets:
            getattr(campaign, target)(share)
    summary = {
        "seed": seed,
        "seconds": round(time.monotonic() - started, 1),
        "targets": campaign.results,
        "inputs": sum(r["inputs"] for r in campaign.results.values()),
        "crashes": campaign.crashes,
    }
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 1 if campaign.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
