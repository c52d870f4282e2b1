"""Settings: defaults as One API's, bad values named with their expected form."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oneapi.config import ConfigError, Settings


def test_defaults_follow_one_api() -> None:
    s = Settings.from_env({})
    assert s.port == 3000
    assert s.sqlite_path == "./data/one-api.db"
    assert s.sync_frequency == 120
    assert s.enforce_include_usage is True
    assert s.token_key_prefix == "sk-"
    assert s.max_items_per_page == 100
    assert s.channel_suspend_seconds_for_429 == 60
    assert s.batch_update_interval == 5
    assert s.global_api_rate_limit == 480


def test_values_are_parsed_to_their_types() -> None:
    s = Settings.from_env(
        {
            "PORT": "8080",
            "BATCH_UPDATE_ENABLED": "true",
            "NODE_TYPE": "slave",
            "METRIC_SUCCESS_RATE_THRESHOLD": "0.5",
            "SQL_DSN": " postgres://x/y ",
        }
    )
    assert (s.port, s.batch_update_enabled, s.is_slave) == (8080, True, True)
    assert s.metric_success_rate_threshold == 0.5
    assert s.sql_dsn == "postgres://x/y"


def test_empty_value_means_default() -> None:
    assert Settings.from_env({"PORT": "  "}).port == 3000


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "abc"}, "PORT='abc': expected an integer"),
        ({"PORT": "70000"}, "PORT='70000': expected a TCP port"),
        ({"BATCH_UPDATE_ENABLED": "maybe"}, "BATCH_UPDATE_ENABLED='maybe': expected a boolean"),
        ({"SYNC_FREQUENCY": "-5"}, "SYNC_FREQUENCY='-5': expected an integer >= 0"),
        ({"AUTO_DETECT_API_FORMAT_ACTION": "bounce"}, "expected one of: transparent, redirect"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert expected in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"PORT": "x", "DEBUG": "maybe"})
    assert "PORT=" in str(info.value) and "DEBUG=" in str(info.value)


def test_cli_refuses_to_start_with_a_bad_value() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oneapi", "serve"],
        env={"PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "PORT='eighty': expected an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oneapi", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("serve", "migrate", "env", "version"):
        assert command in result.stdout
