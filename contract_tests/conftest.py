"""The contract suite's switchboard: targets, rule markers and the parity results.

``--amojo-target=inprocess,served`` (default; env ``MOCK_AMOJO_TARGET``) runs every
contract test once per target; ``live`` points at real amojo. Every test carries
``@pytest.mark.rule("§x.y", evidence="doc|client|assumption")``; ``--parity-out FILE``
writes each test's outcome per target for ``python -m contract_tests.parity``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .manager import Hooked, hooked_channel
from .receiver import Receiver
from .targets import TARGETS, Target, TargetUnavailable, open_target
from .wire import Channel, Wire

HERE = Path(__file__).resolve().parent
EVIDENCE = ("doc", "client", "assumption")
DEFAULT_TARGETS = "inprocess,served"
_TARGETS_KEY = pytest.StashKey[dict[str, Target | TargetUnavailable]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mock-amojo contract suite")
    group.addoption(
        "--amojo-target",
        default=os.environ.get("MOCK_AMOJO_TARGET") or DEFAULT_TARGETS,
        help="comma-separated targets for contract_tests: inprocess, served, live (default: env MOCK_AMOJO_TARGET or inprocess,served)",
    )
    group.addoption(
        "--parity-out", default=None, metavar="FILE", help="write contract test outcomes per target (JSON) for the parity ledger"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(section, evidence): the amojo-api.md rule a contract test checks and its evidence level")
    config.addinivalue_line("markers", "fake_only(reason): needs the fake's control plane; skipped on live amojo")
    config.addinivalue_line(
        "markers", "manager_side: needs a CRM manager's actions (webhooks); skipped live unless AMOJO_RECEIVER_URL is set"
    )
    _results.clear()
    config.stash[_TARGETS_KEY] = {}


def selected_targets(config: pytest.Config) -> list[str]:
    names = [n.strip() for n in str(config.getoption("--amojo-target")).split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown or not names:
        raise pytest.UsageError(f"--amojo-target: unknown target(s) {unknown}; choose from {', '.join(TARGETS)}")
    return names


def _in_suite(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        if not _in_suite(item) or isinstance(item, pytest.DoctestItem):
            continue
        marks = list(item.iter_markers("rule"))
        if len(marks) != 1:
            problems.append(f"{item.nodeid}: needs exactly one @pytest.mark.rule(...) (has {len(marks)})")
            continue
        mark = marks[0]
        section = mark.args[0] if mark.args else ""
        if not str(section).startswith("§") or mark.kwargs.get("evidence") not in EVIDENCE:
            problems.append(f"{item.nodeid}: rule marker must be rule('§x.y', evidence=one of {EVIDENCE})")
    if problems:
        raise pytest.UsageError("contract tests must cite their rule:\n" + "\n".join(problems))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", selected_targets(metafunc.config), indirect=True, scope="session")


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    """The amojo under test; opened once per session and target, closed at the end."""
    name: str = request.param
    opened = request.config.stash[_TARGETS_KEY]
    if name not in opened:
        try:
            opened[name] = open_target(name)
        except TargetUnavailable as err:
            opened[name] = err
    found = opened[name]
    if isinstance(found, TargetUnavailable):
        pytest.skip(f"{name}: {found}")
    return found


@pytest.fixture(autouse=True)
def _target_capabilities(request: pytest.FixtureRequest) -> None:
    """Skip, with the reason, what a target cannot do (live amojo has no control plane)."""
    if "target" not in request.fixturenames:
        return
    target: Target = request.getfixturevalue("target")
    fake_only = request.node.get_closest_marker("fake_only")
    if fake_only is not None and not target.is_fake:
        why = fake_only.args[0] if fake_only.args else "observes state only the fake exposes"
        pytest.skip(f"{target.name}: fake-only rule check ({why})")
    if request.node.get_closest_marker("manager_side") is not None and not target.is_fake and target.receiver_url is None:
        pytest.skip(f"{target.name}: needs a CRM manager's side; set AMOJO_RECEIVER_URL to a receiver registered for the channel")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for found in session.config.stash[_TARGETS_KEY].values():
        if isinstance(found, Target):
            found.close()
    out = session.config.getoption("--parity-out")
    if out:
        payload = {"targets": selected_targets(session.config), "results": _results}
        Path(out).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")


_RANK = {"skipped": 0, "xfailed": 1, "passed": 2, "failed": 3}
#: This session's outcomes: test key -> target -> outcome (module state: reports carry no config).
_results: dict[str, dict[str, str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember each contract test's outcome per target (the parity ledger's input)."""
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        target = _target_of(report.nodeid)
        if target is None:
            return
        key = report.nodeid.split("[", 1)[0].split("contract_tests/", 1)[-1]
        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        slot = _results.setdefault(key, {})
        # A parametrized rule counts as passed on a target only if no case failed there.
        if _RANK[outcome] > _RANK.get(slot.get(target, "skipped"), -1) or target not in slot:
            slot[target] = outcome


def _target_of(nodeid: str) -> str | None:
    if "[" not in nodeid or "contract_tests/" not in nodeid:
        return None
    params = nodeid.rsplit("[", 1)[1].rstrip("]").split("-")
    return next((p for p in params if p in TARGETS), None)


# -- per-test fixtures ----------------------------------------------------------------


@pytest.fixture
def channel(target: Target) -> Channel:
    """A channel (and account) of this test's own on the fake; the configured one on live."""
    return target.new_channel()


@pytest.fixture
def fresh(target: Target, channel: Channel) -> Wire:
    """Signed calls for the channel, not yet connected."""
    return Wire(target.http, channel)


@pytest.fixture
def amojo(fresh: Wire) -> Wire:
    """Signed calls for a channel connected with Webhook v2 (§3.1)."""
    response = fresh.connect(hook_api_version="v2")
    assert response.status_code == 200, f"connect failed: {response.status_code} {response.text}"
    return fresh


@pytest.fixture(scope="session")
def receiver_server(target: Target) -> Iterator[Receiver]:
    """The suite's webhook receiver: a real HTTP server (live: on AMOJO_RECEIVER_LISTEN)."""
    with Receiver(*target.receiver_listen) as server:
        yield server


@pytest.fixture
def hooked(target: Target, receiver_server: Receiver) -> Hooked:
    return hooked_channel(target, receiver_server)
