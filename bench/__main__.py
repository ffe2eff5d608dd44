"""``python -m bench`` — every benchmark in one run, as ratios, printed and written to bench/results.md.

    python -m bench                      # everything (≈ 10 minutes, including the 2-minute soak)
    python -m bench --quick              # short runs, for a smoke check (≈ 1.5 minutes)
    python -m bench --only served,growth # some sections
    python -m bench --update-docs        # also replace the table in docs/benchmarks.md

Extra sections: any module ``bench/extra_*.py`` with ``TITLE`` and ``run(quick: bool) -> list[dict]``
is run too (the pytest-plugin fixture overhead lives there).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from . import coldstart, growth, inprocess, served, webhook_load
from .common import BENCH_DIR, ROOT, machine

TABLE_START = "<!-- bench:start -->"
TABLE_END = "<!-- bench:end -->"
SECTIONS = ("served", "coldstart", "inprocess", "growth", "webhooks", "webhook_load", "soak", "extra")


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_(no rows)_\n"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return str(value)


def _extras(quick: bool) -> list[tuple[str, list[dict[str, Any]]]]:
    found = []
    for info in pkgutil.iter_modules([str(BENCH_DIR)]):
        if info.name.startswith("extra_"):
            module = importlib.import_module(f"bench.{info.name}")
            found.append((str(module.TITLE), module.run(quick)))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (smoke check; numbers are rougher)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--generator", choices=["wrk", "python"], help="load generator (default: wrk if available)")
    parser.add_argument("--seconds", type=float, help="seconds per served-mode run (default 3, quick 1)")
    parser.add_argument("--soak-seconds", type=float, help="soak duration (default 120, quick 15)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md")
    # --update-readme: its name while the table lived in the README.
    parser.add_argument("--update-docs", "--update-readme", action="store_true", help="replace the table in docs/benchmarks.md")
    args = parser.parse_args(argv)
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    sections: list[tuple[str, list[dict[str, Any]]]] = []

    def section(name: str, title: str, job: Callable[[], list[dict[str, Any]]]) -> None:
        if name not in wanted:
            return
        print(f"… {title}", file=sys.stderr, flush=True)
        try:
            rows = job()
        except Exception as exc:  # one broken section must not hide the others' numbers
            rows = [{"error": f"{type(exc).__name__}: {exc}"}]
        sections.append((title, rows))
        print(f"\n### {title}\n\n{table(rows)}", flush=True)

    seconds = args.seconds or (1.0 if args.quick else 3.0)
    generator_used: dict[str, str] = {}

    def served_job() -> list[dict[str, Any]]:
        generator, rows = served.run(seconds, args.generator, rounds=2 if args.quick else 5)
        generator_used["served"] = generator
        return rows

    section("served", "Served mode (req/s, ratio to the bare Starlette echo app at the same connections)", served_job)
    section("coldstart", "Cold start", lambda: coldstart.run(3 if args.quick else 7))
    section("inprocess", "In-process round trip (CPU ms per request)", lambda: inprocess.run(args.quick))
    section("growth", "Growth (in-process pipeline, µs per request)", lambda: growth.run((1_000, 100_000) if args.quick else growth.SIZES))
    if "webhooks" in wanted:
        webhooks_bench = _optional("bench.webhooks")
        if webhooks_bench is not None:
            section("webhooks", "Webhooks (manager reply → receiver)", lambda: webhooks_bench.run(args.quick))
    section("webhook_load", "Sustained webhooks/s (served, receiver in its own process)", lambda: webhook_load.run(args.quick))
    if "soak" in wanted:
        soak_bench = _optional("bench.soak")
        if soak_bench is not None:
            soak_seconds = args.soak_seconds or (15.0 if args.quick else 120.0)
            section("soak", f"Soak ({soak_seconds:.0f} s mixed load, samples of the server process)", lambda: soak_bench.run(soak_seconds))
    if "extra" in wanted:
        for title, rows in _extras(args.quick):
            sections.append((title, rows))
            print(f"\n### {title}\n\n{table(rows)}", flush=True)

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_after = os.getloadavg()[0]
    header = (
        f"Measured {when} on {machine()}; load average {load_before:.1f} at start, {load_after:.1f} at end "
        f"(other work on the machine slows every row; ratios within one row are what to read); "
        f"load generator: {generator_used.get('served', 'n/a')}; "
        f"{'quick run' if args.quick else 'full run'}, {time.perf_counter() - started:.0f} s.\n"
    )
    body = header + "".join(f"\n#### {title}\n\n{table(rows)}" for title, rows in sections)
    args.output.write_text(body, encoding="utf-8")
    args.output.with_suffix(".json").write_bytes(
        orjson.dumps({"measured": when, "machine": machine(), "sections": dict(sections)}, option=orjson.OPT_INDENT_2)
    )
    print(f"\nwritten to {args.output}", file=sys.stderr)
    if args.update_docs:
        _update_table(ROOT / "docs" / "benchmarks.md", body)
    return 0


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        print(f"(skipping {module}: {err})", file=sys.stderr)
        return None


def _update_table(page: Path, body: str) -> None:
    text = page.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        print(f"{page.name} has no {TABLE_START} … {TABLE_END} block; not updated", file=sys.stderr)
        return
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    page.write_text(f"{head}{TABLE_START}\n{body}{TABLE_END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
