"""contract_tests/PARITY.md is generated from the suite; it must list exactly the suite's rules."""

from __future__ import annotations

from pathlib import Path

from contract_tests import parity


def test_ledger_lists_exactly_the_rules_of_the_suite() -> None:
    problems = parity.check()
    assert not problems, "regenerate with `python -m contract_tests.parity`:\n" + "\n".join(problems)


def test_every_rule_cites_a_section_and_an_evidence_level() -> None:
    rules = parity.collect_rules()
    assert len(rules) >= 80
    assert {r.evidence for r in rules} == {"doc", "client", "assumption"}
    assert all(r.section.startswith("§") and r.statement for r in rules)
    # Webhook rules are marked module-wide (pytestmark): the ledger must still see them.
    assert {r.key for r in rules if r.manager_side} >= {"test_webhooks.py::test_typing_hook_shape"}
    assert "test_history.py::test_history_shows_only_chats_of_this_integration" in {r.key for r in rules if r.fake_only}


def test_merge_keeps_earlier_live_pass_and_records_new_outcomes() -> None:
    previous = {"t.py::test_a": {"live": {"outcome": "passed", "passed": "2026-01-01"}}}
    merged = parity.merge(previous, {"t.py::test_a": {"served": "passed", "live": "skipped"}}, "2026-02-02")
    assert merged["t.py::test_a"]["live"] == {"outcome": "skipped", "passed": "2026-01-01"}
    assert merged["t.py::test_a"]["served"] == {"outcome": "passed", "passed": "2026-02-02"}


def test_render_embeds_data_that_load_reads_back(tmp_path: Path) -> None:
    rules = parity.collect_rules()[:2]
    data = {rules[0].key: {"served": {"outcome": "passed", "passed": "2026-02-02"}}}
    text = parity.render(rules, data)
    assert parity.load_data(text) == data
    assert "served (2026-02-02)" in text
    assert "never" in text
