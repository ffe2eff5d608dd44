"""The package's public names, and what loading it costs a pytest run that never uses the fake."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys

import pytest

import mock_amojo


@pytest.mark.parametrize("name", [n for n in mock_amojo.__all__ if n != "__version__"])
def test_every_public_name_is_its_modules_object(name: str) -> None:
    value = getattr(mock_amojo, name)
    assert value is getattr(importlib.import_module(f"mock_amojo.{mock_amojo._LAZY[name]}"), name)
    assert name in dir(mock_amojo)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mock_amojo.nope


def test_loading_the_pytest_plugin_does_not_load_the_fake() -> None:
    code = (
        "import sys, mock_amojo.pytest_plugin; print(sorted(m for m in ('starlette', 'mock_amojo.http._app', 'respx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_fake_starting_loads_only_what_its_start_needs() -> None:
    """`mock-amojo serve` without --db, --tls or a config file: no SQLite, TOML parser, schema compiler, OpenAPI builder,
    certificate maker, `channel` command, console pages (nor their templates) or amoCRM's REST side until used."""
    deferred = (
        "sqlite3",
        "tomllib",
        "jsonschema_rs",
        "mock_amojo.http._openapi",
        "difflib",
        "mock_amojo.serve._tls",
        "mock_amojo._channel_command",
        "mock_amojo.http._console",
        "mock_amojo.http._console_views",
        "mock_amojo.http._console_stream",
        "mock_amojo.wire._oauth_requests",
        "jinja2",
        "mock_amojo.http._rest",
        "mock_amojo.http._rest_routes",
        "mock_amojo.http._rest_crm",
        "mock_amojo.http._rest_inbox",
        "mock_amojo.http._rest_oauth",
        "mock_amojo.wire._rest_views",
    )
    code = (
        "import sys, mock_amojo.cli, mock_amojo.serve._server; from mock_amojo import Config, create_app; "
        "mock_amojo.cli.command_parser(['serve', '--port', '0']).parse_args(['serve', '--port', '0']); "
        "mock_amojo.serve._server.uvicorn_config(create_app(Config()), http='inline', host='127.0.0.1', port=0); "
        f"print(sorted(m for m in {deferred!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_amojo_test_that_never_calls_amocrm_loads_none_of_its_rest_handlers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import sys

def test_chat(amojo):
    amojo.connect()
    assert amojo.client.create_chat("chat-1", {"id": "user-1", "name": "Ann"}).status_code == 200
    loaded = [m for m in sys.modules if m.startswith(("mock_amojo.http._rest", "mock_amojo.wire._rest_views"))]
    assert loaded == ["mock_amojo.http._rest_side"]
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("mock_amojo.client", "mock_amojo.testing._client"),
        ("mock_amojo.sandbox", "mock_amojo.testing._sandbox"),
        ("mock_amojo.conformance", "mock_amojo.testing._conformance"),
        ("mock_amojo.strategies", "mock_amojo.testing.strategies"),
    ],
)
def test_the_import_paths_0_1_0_documented_still_work(old: str, new: str) -> None:
    kept, home = importlib.import_module(old), importlib.import_module(new)
    assert kept.__all__ == home.__all__
    assert all(getattr(kept, name) is getattr(home, name) for name in home.__all__)


@pytest.mark.parametrize(("group", "name"), [("console_scripts", "mock-amojo"), ("pytest11", "mock_amojo")])
def test_the_installed_entry_points_load(group: str, name: str) -> None:
    (point,) = importlib.metadata.entry_points(group=group, name=name)
    assert point.load()
