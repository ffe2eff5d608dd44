"""Settings: precedence, checking, and errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_amojo.config import Config, ConfigError, load_config


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
