"""The parity ledger: every contract rule, its evidence, and the last target it passed on.

``python -m contract_tests.parity`` runs the contract suite (default targets: inprocess,
served; ``--target live`` with credentials) and rewrites ``contract_tests/PARITY.md`` (with the
fidelity stances: :data:`mock_amojo.wire._stances.RULES`, also written into ``docs/fidelity.md``),
keeping the dates of earlier passes on targets this run did not reach (so a live pass
made once with credentials stays recorded). ``--check`` only verifies that the ledger
lists exactly the rules the suite holds (CI runs it as a test).

Rules are read from the source (each test's ``@rule("§x", evidence=...)`` marker and its
docstring's first line), so the ledger never drifts from the tests.

>>> rules = collect_rules()
>>> all(r.section.startswith("§") and r.evidence in ("doc", "client", "assumption") for r in rules)
True
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_amojo.wire._stances import RULES, markdown_table

__all__ = ["FIDELITY", "LEDGER", "README", "Rule", "collect_rules", "fidelity_doc", "main", "merge", "readme_doc", "render"]

HERE = Path(__file__).resolve().parent
LEDGER = HERE / "PARITY.md"
FIDELITY = HERE.parent / "docs" / "fidelity.md"
README = HERE.parent / "README.md"
_STANCES = re.compile(r"(<!-- stances:begin -->\n)(.*?)\n?(<!-- stances:end -->)", re.S)
_STANCES_SHORT = re.compile(r"(<!-- stances-short:begin -->\n)(.*?)\n?(<!-- stances-short:end -->)", re.S)
TARGET_ORDER = ("live", "served", "inprocess")
_DATA = re.compile(r"<!-- parity-data\n(.*?)\n-->", re.S)
_EVIDENCE_TEXT = {"doc": "documented", "client": "observed in clients", "assumption": "assumed"}


@dataclass(frozen=True, slots=True)
class Rule:
    key: str  # "test_signing.py::test_missing_signature_is_refused_403"
    section: str
    evidence: str
    statement: str
    fake_only: bool
    manager_side: bool


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", section)) or (99,)


def _marker(decorator: ast.expr) -> tuple[str, ast.Call | None]:
    """('rule', call) for ``@rule(...)`` / ``@pytest.mark.rule(...)``; name only for bare marks."""
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name, decorator if isinstance(decorator, ast.Call) else None


def _module_marks(tree: ast.Module) -> dict[str, ast.Call | None]:
    """Markers a module applies to all its tests (``pytestmark = ...``, one mark or a list)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            return dict(_marker(v) for v in values)
    return {}


def collect_rules(folder: Path = HERE) -> list[Rule]:
    """Every ``@rule``-marked test in ``folder/test_*.py``, in reference order."""
    rules = []
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marks = _module_marks(tree)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            marks = {**module_marks, **dict(_marker(d) for d in node.decorator_list)}
            call = marks.get("rule")
            if call is None:
                continue
            section = ast.literal_eval(call.args[0])
            evidence = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "evidence")
            statement = (ast.get_docstring(node) or node.name).strip().splitlines()[0]
            rules.append(Rule(f"{path.name}::{node.name}", section, evidence, statement, "fake_only" in marks, "manager_side" in marks))
    return sorted(rules, key=lambda r: (_section_key(r.section), r.key))


def load_data(text: str) -> dict[str, Any]:
    """The machine-readable part of an existing ledger (empty if none)."""
    found = _DATA.search(text)
    loaded: dict[str, Any] = json.loads(found.group(1)) if found else {}
    return loaded


def merge(previous: dict[str, Any], results: dict[str, dict[str, str]], day: str) -> dict[str, Any]:
    """Per rule and target: this run's outcome, and the date it last passed (kept from earlier runs)."""
    merged: dict[str, Any] = {}
    for key, targets in previous.items():
        merged[key] = {t: dict(v) for t, v in targets.items()}
    for key, outcomes in results.items():
        slot = merged.setdefault(key, {})
        for target, outcome in outcomes.items():
            entry = slot.setdefault(target, {})
            entry["outcome"] = outcome
            if outcome == "passed":
                entry["passed"] = day
    return merged


def _cell(entry: dict[str, str] | None) -> str:
    if not entry:
        return "—"
    outcome, passed = entry.get("outcome", ""), entry.get("passed")
    if outcome == "passed":
        return f"✅ {passed}"
    if outcome == "failed":
        return f"❌ failed (last pass {passed})" if passed else "❌ failed"
    return f"skipped (last pass {passed})" if passed else "skipped"


def _last_passed(entries: dict[str, dict[str, str]]) -> str:
    passes = [(e["passed"], -TARGET_ORDER.index(t), t) for t, e in entries.items() if e.get("passed") and t in TARGET_ORDER]
    if not passes:
        return "never"
    day, _, target = max(passes)
    return f"{target} ({day})"


def render(rules: Sequence[Rule], data: dict[str, Any]) -> str:
    """The ledger as Markdown, with its data embedded for the next run."""
    keys = {r.key for r in rules}
    data = {k: v for k, v in data.items() if k in keys}
    counts = {e: sum(1 for r in rules if r.evidence == e) for e in _EVIDENCE_TEXT}
    lines = [
        "# Parity ledger — the fake against amojo's contract",
        "",
        "Generated by `python -m contract_tests.parity` (do not edit by hand). One row per rule of",
        "`amojo-api.md`, each checked by one black-box test in `contract_tests/`. Evidence: **doc** =",
        "documented by amoCRM, **client** = observed in real clients, **assumption** = our design choice.",
        "Columns per target give this ledger's last outcome and the date the rule last passed there;",
        "live passes are recorded only by a run with real channel credentials (see docs/contract-suite.md).",
        "",
        f"{len(rules)} rules: {counts['doc']} documented, {counts['client']} observed in clients, {counts['assumption']} assumed.",
        "",
        "| § | Rule | Evidence | Test | inprocess | served | live | Last passed on |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule in rules:
        entries: dict[str, dict[str, str]] = data.get(rule.key, {})
        notes = [n for n, flag in (("fake-only", rule.fake_only), ("manager side", rule.manager_side)) if flag]
        statement = rule.statement.replace("|", "\\|") + (f" *({', '.join(notes)})*" if notes else "")
        lines.append(
            f"| {rule.section} | {statement} | {rule.evidence} | `{rule.key}` | "
            f"{_cell(entries.get('inprocess'))} | {_cell(entries.get('served'))} | {_cell(entries.get('live'))} | {_last_passed(entries)} |"
        )
    lines += [
        "",
        "## Fidelity stances: where amoCRM's documents disagree",
        "",
        f"{len(RULES)} rules where the RU reference, Kommo's OpenAPI, the seed guide and published clients disagree or are",
        "silent. The fake takes the stance in *Default* (`strict` refuses, `warn` accepts and says so, `off` accepts);",
        "`--strict`, `--stance RULE=…` and `pytest --amojo-strict` change it. Tests: `tests/test_stances.py`; docs/fidelity.md.",
        "",
        "<!-- stances:begin -->",
        markdown_table(),
        "<!-- stances:end -->",
    ]
    lines += ["", "<!-- parity-data", json.dumps(data, indent=None, sort_keys=True, ensure_ascii=False), "-->", ""]
    return "\n".join(lines)


def fidelity_doc(text: str) -> str:
    """``docs/fidelity.md``'s text with its stance table rendered from the registry."""
    return _STANCES.sub(lambda m: m.group(1) + markdown_table() + "\n" + m.group(3), text)


def readme_doc(text: str) -> str:
    """The README's text with its short stance table rendered from the registry."""
    return _STANCES_SHORT.sub(lambda m: m.group(1) + markdown_table(short=True) + "\n" + m.group(3), text)


def check(ledger: Path = LEDGER) -> list[str]:
    """Rules missing from the ledger or listed there but gone from the suite."""
    text = ledger.read_text(encoding="utf-8") if ledger.exists() else ""
    listed = set(re.findall(r"\| `([^`]+::[^`]+)` \|", text))
    present = {r.key for r in collect_rules()}
    problems = [f"not in ledger: {k}" for k in sorted(present - listed)] + [f"no longer a rule: {k}" for k in sorted(listed - present)]
    for where, shown in ((ledger.name, text), (FIDELITY.name, FIDELITY.read_text(encoding="utf-8") if FIDELITY.exists() else "")):
        found = _STANCES.search(shown)
        if found is None or found.group(2) != markdown_table():
            problems.append(f"{where}: the fidelity stance table differs from mock_amojo.wire._stances.RULES")
    found = _STANCES_SHORT.search(README.read_text(encoding="utf-8") if README.exists() else "")
    if found is None or found.group(2) != markdown_table(short=True):
        problems.append(f"{README.name}: the short stance table differs from mock_amojo.wire._stances.RULES")
    return problems


def run_suite(targets: str, extra: Sequence[str]) -> dict[str, dict[str, str]]:
    """Run the contract suite on ``targets`` and return each rule's outcome per target."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(HERE),
            f"--amojo-target={targets}",
            f"--parity-out={out}",
            "-q",
            "-p",
            "no:cacheprovider",
            *extra,
        ]
        subprocess.run(command, cwd=HERE.parent, env=dict(os.environ), check=False)  # noqa: S603  # our own test run
        if not out.exists():
            raise SystemExit("the contract suite did not produce results (see pytest's output above)")
        results: dict[str, dict[str, str]] = json.loads(out.read_text(encoding="utf-8"))["results"]
        return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contract_tests.parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="inprocess,served", help="targets to run (inprocess,served,live)")
    parser.add_argument("--results", metavar="FILE", help="use a --parity-out file from an earlier pytest run instead of running")
    parser.add_argument("--check", action="store_true", help="only check that the ledger lists exactly the suite's rules")
    parser.add_argument("--ledger", default=str(LEDGER), help="ledger file to write (default: contract_tests/PARITY.md)")
    parser.add_argument("--render", action="store_true", help="only rewrite the ledger and docs/fidelity.md from what they hold (no run)")
    args, extra = parser.parse_known_args(argv)
    ledger = Path(args.ledger)
    if args.check:
        problems = check(ledger)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    if FIDELITY.exists():
        FIDELITY.write_text(fidelity_doc(FIDELITY.read_text(encoding="utf-8")), encoding="utf-8")
    if README.exists():
        README.write_text(readme_doc(README.read_text(encoding="utf-8")), encoding="utf-8")
    if args.render:
        ledger.write_text(render(collect_rules(), load_data(ledger.read_text(encoding="utf-8"))), encoding="utf-8")
        return 0
    results = json.loads(Path(args.results).read_text(encoding="utf-8"))["results"] if args.results else run_suite(args.target, extra)
    previous = load_data(ledger.read_text(encoding="utf-8")) if ledger.exists() else {}
    day = dt.datetime.now(dt.UTC).date().isoformat()
    rules = collect_rules()
    ledger.write_text(render(rules, merge(previous, results, day)), encoding="utf-8")
    failed = sorted(k for k, outcomes in results.items() if "failed" in outcomes.values())
    print(f"{ledger}: {len(rules)} rules; {len(failed)} failing" + "".join(f"\n  failed: {k}" for k in failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
