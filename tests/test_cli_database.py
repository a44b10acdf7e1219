"""`tenure db current|upgrade` on a real SQLite file: behind, upgraded, current."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starter.cli import app
from storage.migrate import head_revision


def test_db_current_then_upgrade(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    runner = CliRunner()
    behind = runner.invoke(app, ["--db", url, "db", "current"])
    assert behind.exit_code == 1, behind.output
    assert "(none)" in behind.output and "tenure db upgrade" in behind.output

    upgraded = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded (empty) → {head_revision()}" in upgraded.output

    again = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert again.exit_code == 0 and f"already at revision {head_revision()}" in again.output

    current = runner.invoke(app, ["--db", url, "db", "current"])
    assert current.exit_code == 0 and "current" in current.output


def _ahead(path: Path) -> str:
    """A ledger a newer Tenure upgraded: at a revision this one has no script for."""
    import sqlite3

    url = f"sqlite:///{path}"
    assert CliRunner().invoke(app, ["--db", url, "db", "upgrade"]).exit_code == 0
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffff00000000'")
    return url


def test_a_database_from_a_newer_tenure_is_named_so_not_behind(tmp_path: Path):
    url = _ahead(tmp_path / "ledger.db")
    runner = CliRunner()
    current = runner.invoke(app, ["--db", url, "db", "current"])
    assert current.exit_code == 1, current.output
    assert "from a newer Tenure: run that one" in current.output and "behind" not in current.output

    upgrade = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert upgrade.exit_code == 1 and not isinstance(upgrade.exception, Exception), upgrade.exception
    assert "error: the ledger database" in upgrade.output, upgrade.output
    assert "which this Tenure does not know" in upgrade.output and "run the newer Tenure" in upgrade.output


def test_make_run_names_an_embedded_database_from_a_newer_tenure(tmp_path: Path):
    from settings import Settings
    from starter.supervisor.supervise import upgrade_local_database

    _ahead(tmp_path / "tenure.db")
    fault = upgrade_local_database(Settings(data_dir=tmp_path, database_url=""))
    assert fault is not None and "which this Tenure does not know" in fault, fault
    assert "run the newer Tenure that upgraded it" in fault
    fault = upgrade_local_database(
        Settings(data_dir=tmp_path / "x", database_url=f"sqlite:///{tmp_path / 'tenure.db'}")
    )
    assert fault is not None and "run the newer Tenure" in fault and "run `tenure db upgrade`" not in fault, fault


def test_make_run_names_an_unreachable_ledger_without_its_password():
    from settings import Settings
    from starter.supervisor.supervise import upgrade_local_database

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    fault = upgrade_local_database(Settings(database_url=f"postgresql+psycopg://tenure:sekrit@127.0.0.1:{closed}/t"))
    assert fault is not None, "nothing listens there"
    assert fault.startswith(f"cannot open the ledger database postgresql+psycopg://tenure:***@127.0.0.1:{closed}/t: ")
    assert "sekrit" not in fault, fault


@pytest.mark.parametrize(
    "command", [["member", "ledger", "cus_1"], ["segment", "list"], ["campaign", "list"], ["metrics"]]
)
def test_an_unreachable_ledger_is_one_line_from_every_command(command: list[str]):
    """PostgreSQL down or the password wrong: `error:` and what the driver said, never a traceback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = CliRunner().invoke(app, ["--db", f"postgresql+psycopg://tenure:x@127.0.0.1:{closed}/tenure", *command])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception), result.exception
    assert "error: cannot open the ledger database: connection failed" in result.output


def test_checking_the_revision_logs_nothing_but_an_upgrade_says_what_ran(tmp_path: Path, caplog):
    """The worker and the API check the revision at every start: Alembic's set-up lines ("Context impl
    SQLiteImpl.", "Will assume non-transactional DDL.") read as if a migration ran. An upgrade still logs
    its steps."""
    import logging

    from storage.engine import create_engine_for
    from storage.migrate import require_current, upgrade

    engine = create_engine_for(f"sqlite:///{tmp_path / 'ledger.db'}")
    with caplog.at_level(logging.INFO, logger="alembic"):
        upgrade(engine)
        ran = [r.getMessage() for r in caplog.records]
        caplog.clear()
        require_current(engine)
        checked = [r.getMessage() for r in caplog.records]
    engine.dispose()
    assert any(line.startswith("Running upgrade") for line in ran), ran
    assert not any("Context impl" in line or "Will assume" in line for line in ran + checked), ran + checked
    assert checked == [], checked
