"""A wrong setting stops every process with a message naming the variable and what it must be
(settings.py `SettingsError`), never a pydantic traceback naming its fields; a ledger URL that cannot
work is refused by name, without quoting its password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from settings import Settings, SettingsError, database_url_fault, settings_from_environment
from starter.api.settings import api_settings

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = "Tenure's settings are wrong"


def _only(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """The environment's TENURE_ settings replaced by `values`."""
    for name in list(os.environ):
        if name.startswith("TENURE_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_every_wrong_variable_is_named_with_its_value_and_what_it_must_be(monkeypatch):
    _only(monkeypatch, TENURE_ENVIRONMENT="prod", TENURE_DB_POOL_SIZE="abc", TENURE_TEMPORAL_TLS="maybe")
    with pytest.raises(SettingsError) as stopped:
        settings_from_environment(Settings)
    message = str(stopped.value)
    assert message.startswith(HEADLINE), message
    assert "  - TENURE_ENVIRONMENT='prod': Input should be 'development' or 'production'" in message
    assert "  - TENURE_DB_POOL_SIZE='abc': Input should be a valid integer" in message
    assert "  - TENURE_TEMPORAL_TLS='maybe': Input should be a valid boolean" in message
    assert "environment\n" not in message and "pydantic" not in message


def test_a_settings_error_stops_the_process_with_its_message():
    assert issubclass(SettingsError, SystemExit), "whichever process reads the settings exits with the message"


def test_the_apis_own_settings_are_named_too(monkeypatch):
    _only(monkeypatch, TENURE_API_MAX_BODY_BYTES="-1", TENURE_API_UPDATE_TIMEOUT="soon")
    with pytest.raises(SettingsError) as stopped:
        api_settings(None)
    message = str(stopped.value)
    assert "TENURE_API_MAX_BODY_BYTES='-1': Input should be greater than 0" in message, message
    assert "TENURE_API_UPDATE_TIMEOUT='soon'" in message, message
    with pytest.raises(SettingsError):
        api_settings(Settings(environment="development"))


def test_a_wrong_database_url_is_named_without_its_password(monkeypatch):
    _only(monkeypatch, TENURE_DATABASE_URL="mysql://tenure:hunter2@db:3306/tenure")
    with pytest.raises(SettingsError) as stopped:
        settings_from_environment(Settings)
    message = str(stopped.value)
    assert "TENURE_DATABASE_URL: mysql is not a ledger database Tenure runs on" in message, message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    "url, fault",
    [
        ("", None),
        ("sqlite:////var/lib/tenure/tenure.db", None),
        ("postgresql+psycopg://tenure:pw@db:5432/tenure", None),
        ("postgresql://tenure:pw@db/tenure", None),
        ("postgres://tenure:pw@db/tenure", None),
        ("db.internal:5432/tenure", "not a database URL"),
        ("postgresql://u:pw@h:abc/db", "not a database URL"),
        ("mysql://u:pw@h/db", "mysql is not a ledger database"),
        (
            "postgresql+psycopg2://u:pw@h/db",
            "postgresql+psycopg2:// is not a driver Tenure has; write postgresql+psycopg://",
        ),
        ("postgres+psycopg://u:pw@h/db", "write postgresql+psycopg://"),
        ("sqlite+aiosqlite:///x.db", "write sqlite:///"),
    ],
)
def test_ledger_urls(url, fault):
    found = database_url_fault(url)
    if fault is None:
        assert found is None, found
    else:
        assert found is not None and fault in found, found
        assert "pw" not in found


# --- the processes ----------------------------------------------------------------------------------

PROCESSES = {
    "worker": [sys.executable, "worker.py"],
    "api": [sys.executable, "-m", "uvicorn", "starter.api:app", "--host", "127.0.0.1", "--port", "1"],
    "make run": [sys.executable, "-m", "starter.supervisor"],
    "cli": [sys.executable, "-m", "starter.cli", "doctor"],
    "health probe": [sys.executable, "-m", "starter.healthcheck", "worker"],
}


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_refuses_a_wrong_setting_with_the_message(process: str, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
    env.update(TENURE_ENVIRONMENT="prod", TENURE_DATA_DIR=str(tmp_path), TENURE_TEMPORAL_ADDRESS="127.0.0.1:1")
    proc = subprocess.run(PROCESSES[process], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert HEADLINE in out and "TENURE_ENVIRONMENT='prod'" in out, out
    assert "Traceback" not in out and "ValidationError" not in out, out
    assert not any(tmp_path.iterdir()), "refused before it made anything"


def test_the_cli_refuses_a_wrong_db_option(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
    env.update(TENURE_ENVIRONMENT="development", TENURE_DATA_DIR=str(tmp_path))
    argv = [sys.executable, "-m", "starter.cli", "--db", "postgresql+psycopg2://u:hunter2@h/db", "db", "current"]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "error: --db: postgresql+psycopg2:// is not a driver Tenure has" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "hunter2" not in proc.stderr


def test_mtls_files_must_exist_and_come_in_pairs(monkeypatch, tmp_path: Path):
    _only(monkeypatch, TENURE_TEMPORAL_TLS_CERT=str(tmp_path / "client.pem"), TENURE_TEMPORAL_TLS_KEY="/nope.key")
    with pytest.raises(SettingsError) as stopped:
        settings_from_environment(Settings)
    message = str(stopped.value)
    assert f"TENURE_TEMPORAL_TLS_CERT='{tmp_path / 'client.pem'}': Path does not point to a file" in message, message
    assert "TENURE_TEMPORAL_TLS_KEY: Path does not point to a file" in message, message

    (tmp_path / "client.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    _only(monkeypatch, TENURE_TEMPORAL_TLS_CERT=str(tmp_path / "client.pem"))
    with pytest.raises(SettingsError, match="TENURE_TEMPORAL_TLS_CERT and TENURE_TEMPORAL_TLS_KEY go together"):
        settings_from_environment(Settings)


def test_a_misspelt_billing_mode_is_named(monkeypatch):
    _only(monkeypatch, TENURE_BILLING="strpe")
    with pytest.raises(SettingsError, match=r"TENURE_BILLING='strpe': Input should be 'local' or 'stripe'"):
        settings_from_environment(Settings)
