"""Settings: precedence, checking, and errors a person can act on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mock_amojo.config import Config, ConfigError, check_number, load_config
from mock_amojo.testing._sandbox import SandboxSettings


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "pyproject.toml"
    file.write_text('[tool.mock-amojo]\nport = 9001\nmax-age = 60\nhook_api_version = "v2"\n')
    config = load_config(file=file, env={"MOCK_AMOJO_PORT": "9002", "OTHER": "x"}, overrides={"port": "9003", "host": None})
    assert config.port == 9003
    assert config.max_age == 60
    assert config.hook_api_version == "v2"
    assert config.host == "127.0.0.1"


def test_booleans_and_empty_optional_values() -> None:
    config = load_config(env={"MOCK_AMOJO_STRICT_ACCOUNTS": "yes", "MOCK_AMOJO_WEBHOOK_URL": ""})
    assert config.strict_accounts is True
    assert config.webhook_url is None
    with pytest.raises(ConfigError, match="expected true or false"):
        load_config(env={"MOCK_AMOJO_DEMO": "maybe"})


def test_unknown_env_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'MOCK_AMOJO_WEBHOOK_URL'"):
        load_config(env={"MOCK_AMOJO_WEBHOOK_URI": "http://127.0.0.1/x"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port": -1}, "port"),
        ({"channel_id": "has_underscore"}, "channel_id"),
        ({"account_id": "a/b"}, "account_id"),
        ({"body_limit": 10}, "body_limit"),
        ({"max_age": -5.0}, "max_age"),
        ({"log_level": "loud"}, "log_level"),
    ],
)
def test_invalid_values_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config().replace(**changes)


def test_wrong_type_in_toml(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('port = "x"\n')
    with pytest.raises(ConfigError, match=r"c\.toml: port: expected an integer"):
        load_config(file=file)


def test_harness_variables_are_not_settings() -> None:
    env = {"MOCK_AMOJO_TARGET": "served", "MOCK_AMOJO_REQUIRE_BROWSER": "1", "MOCK_AMOJO_TEST_ANYTHING": "x"}
    assert load_config(env=env) == Config()


NON_FINITE = [math.nan, math.inf, -math.inf, float("1e400")]
SECONDS = ["max_age", "max_future_skew", "webhook_timeout"]


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_seconds_are_refused_in_python(name: str, value: float) -> None:
    # Issue #14 item 8: max_age=nan accepted any Date (every comparison with NaN is false).
    with pytest.raises(ConfigError, match=f"{name}: must be a finite number"):
        Config().replace(**{name: value})


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e400", "Infinity"])
def test_non_finite_seconds_are_refused_from_the_environment(name: str, raw: str) -> None:
    variable = f"MOCK_AMOJO_{name.upper()}"
    with pytest.raises(ConfigError, match=f"{variable}: must be a finite number, got '{raw}'"):
        load_config(env={variable: raw})


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", "+inf", "1e400"])
def test_non_finite_seconds_are_refused_from_toml(tmp_path: Path, name: str, literal: str) -> None:
    file = tmp_path / "c.toml"
    file.write_text(f"[mock-amojo]\n{name} = {literal}\n")
    with pytest.raises(ConfigError, match=rf"c\.toml: {name}: must be a finite number"):
        load_config(file=file)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"webhook_timeout": 1e300}, "webhook_timeout: must be a finite number, 0..3600"),
        ({"journal_size": 10**30}, "journal_size: must be a whole number, 1..10000000"),
        ({"port": 8080.0}, "port: must be a whole number"),
        ({"port": True}, "port: must be a whole number"),
        ({"max_age": "60"}, "max_age: must be a finite number"),
        ({"host": " "}, "host: empty"),
        ({"channel_name": "bad \udcff"}, "channel_name: not valid UTF-8"),
    ],
)
def test_values_the_fake_cannot_run_with_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 0.5, 60, 3600])
def test_check_number_passes_what_is_in_range(value: float) -> None:
    assert check_number("x", value, minimum=0, maximum=3600) == value


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999/hooks", "Port out of range"),
        ("http://[::1/hooks", "not a URL a client can send to"),
        ("http:///hooks", "has no host"),
        ("ftp://example.test/hooks", "must start with http"),
    ],
)
def test_a_webhook_url_no_client_could_send_to_is_refused_up_front(url: str, message: str) -> None:
    # Accepted before, then every manager reply's hook failed (or, in async mode, stayed pending forever).
    with pytest.raises(ConfigError, match=message):
        Config(webhook_url=url)
    with pytest.raises(ValueError, match=message):
        SandboxSettings(webhook_url=url)


def test_a_webhook_url_with_a_scope_id_placeholder_is_fine() -> None:
    assert Config(webhook_url="http://127.0.0.1:8000/hooks/:scope_id").webhook_url == "http://127.0.0.1:8000/hooks/:scope_id"


def test_stances_from_file_env_and_flags(tmp_path: Path) -> None:
    """``--stance RULE=STANCE`` (repeatable), ``MOCK_AMOJO_STANCES`` (comma-separated) and a TOML table, merged like any setting."""
    path = tmp_path / "mock-amojo.toml"
    path.write_text('strict = true\nerror-bodies = "bare"\n[stances]\nempty_text = "off"\n')
    assert load_config(file=path).stances == {"empty_text": "off"}
    config = load_config(file=path, env={"MOCK_AMOJO_STANCES": "media_absent=strict, reply_to_flat=off"})
    assert (config.strict, config.error_bodies, dict(config.stances)) == (True, "bare", {"media_absent": "strict", "reply_to_flat": "off"})
    flags = load_config(overrides={"stances": ["empty_text=warn", "media_absent=off"]})
    assert flags.stances == {"empty_text": "warn", "media_absent": "off"}
    assert Config(stances={"empty_text": "strict"}).stances == {"empty_text": "strict"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            {"env": {"MOCK_AMOJO_STANCES": "msec_timestamp=strict"}},
            "MOCK_AMOJO_STANCES: unknown rule 'msec_timestamp' (did you mean 'msec_timestamp_absent'?)",
        ),
        ({"env": {"MOCK_AMOJO_STRICT": "maybe"}}, "MOCK_AMOJO_STRICT: expected true or false, got 'maybe'"),
        ({"overrides": {"stances": ["media_absent=sometimes"]}}, "--stance: media_absent: strict, warn or off, got 'sometimes'"),
    ],
)
def test_bad_stances_are_named_with_their_source(source: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(**source)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_config_stances_reach_the_app() -> None:
    from mock_amojo import create_app

    app = create_app(Config(strict=True, stances={"empty_text": "off"}, error_bodies="bare"))
    stances = app.state.backend.stances
    assert (stances.stance("empty_text"), stances.stance("media_absent"), stances.error_bodies) == ("off", "strict", "bare")


def test_every_setting_has_one_line_of_help_and_no_help_is_left_over() -> None:
    from dataclasses import fields

    from mock_amojo._config_help import HELP

    names = {f.name for f in fields(Config)}
    assert set(HELP) == names
    assert all(text and "\n" not in text for text in HELP.values())
