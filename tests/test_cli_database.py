"""`tenure db current|upgrade` on a real SQLite file: behind, upgraded, current."""

from __future__ import annotations

from pathlib import Path

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
