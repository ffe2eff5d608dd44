"""The pytest plugin: ``amojo`` (a clean fake amojo per test) and ``amojo_server`` (served mode).

Installed with mock-amojo and loaded through the ``pytest11`` entry point — no conftest needed::

    def test_bridge_forwards_messages(amojo):
        amojo.connect()
        my_bridge.forward(...)          # calls https://amojo.amocrm.com via httpx: served in process
        assert amojo.messages[0]["message"]["text"] == "hi"

Per-test settings go in ``@pytest.mark.amojo(...)`` (keywords of
:class:`~mock_amojo.SandboxSettings`). A test fails with the fake's explanation of
every refused request in its report, and fails outright when the fake itself broke.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .serve._server import ServerThread
    from .testing._sandbox import Sandbox, SandboxHost, SandboxSettings

# The fake (Starlette, schemas, …) is imported by the first test that asks for it: every pytest
# run in an environment with mock-amojo installed loads this module, most never use it.

__all__ = ["amojo", "amojo_host", "amojo_server", "amojo_webhook_app", "amojo_webhook_target", "amojo_webhook_url"]

_SANDBOX = pytest.StashKey["Sandbox"]()
_MARKER_HELP = (
    "amojo(**settings): per-test settings of the amojo fixture — hook_api_version, strict_accounts, allowed_accounts, "
    "webhook_url, clock, channel_id, channel_secret, channel_name, account_id, write_first, hosts, inprocess, served, tls, "
    "assert_all_accepted, sequential_ids, webhook_mode, faults, outages, strict, stances, error_bodies "
    "(see mock_amojo.SandboxSettings)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("mock-amojo").addoption(
        "--amojo-strict",
        action="store_true",
        default=False,
        help="every fidelity stance strict: the amojo fixture refuses what it would accept with a warning (docs/fidelity.md)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)


@pytest.fixture(scope="session")
def amojo_host() -> Iterator[SandboxHost]:
    """The session's fake: one app and backend that every ``amojo`` sandbox resets and reuses."""
    from .testing._sandbox import SandboxHost

    host = SandboxHost()
    yield host
    host.close()


@pytest.fixture(scope="session")
def amojo_server(amojo_host: SandboxHost) -> ServerThread:
    """A real uvicorn server on 127.0.0.1 (a free port; one per xdist worker) serving the session's fake.

    For code the in-process routing cannot reach (subprocesses, other languages; requests and aiohttp
    without mock-amojo[requests] / [aiohttp]): point it at ``amojo_server.url``, or mark the test
    ``@pytest.mark.amojo(served=True)`` (``tls=True``: HTTPS) and use ``amojo.base_url``. The ``amojo`` fixture still gives each test its clean state.
    """
    return amojo_host.serve()


def _settings(request: pytest.FixtureRequest) -> SandboxSettings:
    from .testing._sandbox import SandboxSettings

    options: dict[str, object] = {"strict": True} if request.config.getoption("amojo_strict", False) else {}
    # Closest marker wins per keyword: a class or module mark sets defaults a test can override.
    for marker in reversed(list(request.node.iter_markers("amojo"))):
        if marker.args:
            pytest.fail(f"@pytest.mark.amojo takes keywords only, got {marker.args!r}", pytrace=False)
        options.update(marker.kwargs)
    try:
        return SandboxSettings.from_options(options)
    except (TypeError, ValueError) as err:
        pytest.fail(f"@pytest.mark.amojo: {err}", pytrace=False)


@pytest.fixture
def amojo(request: pytest.FixtureRequest, amojo_host: SandboxHost) -> Iterator[Sandbox]:
    """A clean fake amojo for this test (:class:`~mock_amojo.Sandbox`).

    Its own channel (``channel_id``, ``channel_secret``), account (``account_id``), virtual
    ``clock`` and state; httpx, requests and aiohttp calls to amojo's hosts are served in process.
    """
    settings = _settings(request)
    sandbox = amojo_host.open(settings)
    request.node.stash[_SANDBOX] = sandbox
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def amojo_webhook_app() -> Any:
    """Your ASGI or WSGI app that receives amojo's webhooks: override this fixture to use ``amojo_webhook_target``."""
    pytest.fail(
        "amojo_webhook_target needs your app: define a fixture named amojo_webhook_app returning your ASGI or WSGI app "
        "(and amojo_webhook_url if its webhook route is not /amojo/:scope_id).",
        pytrace=False,
    )


@pytest.fixture
def amojo_webhook_url() -> str:
    """Where your app takes webhooks; ``:scope_id`` is replaced by the scope id, as amojo does. Override to change."""
    return "http://integration.test/amojo/:scope_id"


@pytest.fixture
def amojo_webhook_target(amojo: Sandbox, amojo_webhook_app: Any, amojo_webhook_url: str) -> str:
    """Point this test's channel webhooks at ``amojo_webhook_app``, served in process; returns the webhook URL.

    Manager actions (``amojo.reply``, ``initiate``, ``typing``, ``react``) then reach your app
    as signed POSTs, exactly as amojo sends them.
    """
    return amojo.serve_webhooks(amojo_webhook_app, amojo_webhook_url)


def _server_error_text(sandbox: Sandbox) -> str:
    errors = sandbox.take_new_server_errors()
    if not errors:
        return ""
    parts = [f"mock-amojo failed while serving this test ({len(errors)} unexpected server error(s)); this is a mock-amojo bug:"]
    for error in errors:
        parts.append(f"  {error.description}")
        trace = error.detail.get("traceback")
        if trace:
            parts.extend(f"    {line}" for line in str(trace).rstrip().splitlines())
    return "\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    sandbox = item.stash.get(_SANDBOX, None)
    if sandbox is None or call.when == "setup":
        return report
    broken = _server_error_text(sandbox)
    if broken:
        # The fake broke on this test's request: fail the test that caused it, not a later one.
        if report.passed:
            report.outcome = "failed"
            report.longrepr = broken
        else:
            report.sections.append(("mock-amojo server errors", broken))
    if call.when != "call":
        return report
    warned = sandbox.explain_warnings()
    if warned:
        # Accepted, but amoCRM's documents disagree on it: say so on every outcome (pytest -rA shows passing tests' sections).
        report.sections.append(("mock-amojo fidelity warnings", warned))
    refused = sandbox.refused
    if refused and sandbox.settings.assert_all_accepted and report.passed:
        report.outcome = "failed"
        report.longrepr = f"mock-amojo refused {len(refused)} request(s) (assert_all_accepted=True):\n\n{sandbox.explain_refusals()}"
    elif report.failed:
        failed = sandbox.refused + sandbox.outages_hit
        if failed:
            title = f"mock-amojo refused {len(refused)} request(s)" + (
                f", failed {len(failed) - len(refused)} on purpose" if len(failed) > len(refused) else ""
            )
            report.sections.append((title, sandbox.explain_refusals(include_injected=True)))
    return report
