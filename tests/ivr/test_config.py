"""Settings that would make the service unsafe stop it at start-up with a clear message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr import create_app
from ivr.cli import main
from ivr.config import ConfigError


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A fresh instance folder and SQLite database for the app the CLI creates."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path / "instance"


@pytest.mark.parametrize("blank", [" ", "\t\n", "   "])
def test_blank_auth_token_stops_start_up(instance, monkeypatch, blank):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", blank)
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN is blank"):
        create_app()
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "TWILIO_AUTH_TOKEN is blank" in result.output


def test_auth_token_is_used_without_surrounding_whitespace(instance, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", " 0123456789abcdef\n")
    assert create_app().config["TWILIO_AUTH_TOKEN"] == "0123456789abcdef"


def test_unset_auth_token_falls_back_to_the_instance_token(instance, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    token = create_app().config["TWILIO_AUTH_TOKEN"]
    assert token == (instance / "twilio_auth_token").read_text().strip() and len(token) == 32


@pytest.mark.parametrize(
    ("value", "problem"), [("1MB", "must be a whole number"), ("0", "must be above zero")]
)
def test_a_bad_body_limit_stops_start_up(instance, monkeypatch, value, problem):
    monkeypatch.setenv("IVR_MAX_BODY_BYTES", value)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert f"IVR_MAX_BODY_BYTES {problem}" in result.output


def test_the_body_limit_is_configurable(instance, monkeypatch):
    monkeypatch.setenv("IVR_MAX_BODY_BYTES", "2048")
    assert create_app().config["MAX_CONTENT_LENGTH"] == 2048


def test_a_command_before_the_first_migration_says_what_to_do(instance):
    result = CliRunner().invoke(main, ["users", "list"])
    assert result.exit_code == 1
    assert "run `ivr db upgrade` first" in result.output
    assert "Traceback" not in result.output
