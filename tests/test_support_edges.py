"""What support staff see at the edges of the CLI and the console, without a server: nothing to report,
a value they typed that Tenure cannot take, and where the codec's sign-in sends them next."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from settings import Settings
from starter import cli
from starter.cli import doctor as doctor_module
from starter.cli import reconcile as reconcile_module
from starter.cli.context import Env
from starter.doctor import Diagnosis

# ---- the CLI: nothing to report is one line, not an empty table -------------------------------------


class _Engine:
    def dispose(self) -> None:
        pass


@dataclass
class OfflineEnv(Env):
    """The CLI's environment with neither Temporal nor a database: the commands' work is patched."""

    def engine(self) -> Any:
        return _Engine()

    @asynccontextmanager
    async def tenure(self):  # type: ignore[override]
        yield object()


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args), obj=OfflineEnv(Settings()), env={"COLUMNS": "120", "NO_COLOR": "1"})


def answers(value: Any):
    async def fake(*_: Any, **__: Any) -> Any:
        return value

    return fake


def test_doctor_prints_only_its_verdict_when_no_journey_needs_support(monkeypatch):
    monkeypatch.setattr(doctor_module, "quarantined", lambda *_: [])
    monkeypatch.setattr(doctor_module, "diagnose", answers([]))
    r = invoke("doctor")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "✔ no journey is stuck or has set anything aside", r.stdout

    monkeypatch.setattr(doctor_module, "diagnose", answers([Diagnosis("cus_fine")]))
    r = invoke("doctor", "cus_fine")
    assert r.exit_code == 0 and r.stdout.strip() == "✔ no journey is stuck or has set anything aside", r.stdout

    sick = Diagnosis("cus_sick", stuck=["activity billing retrying (3 attempts): 503"])
    monkeypatch.setattr(doctor_module, "diagnose", answers([Diagnosis("cus_fine"), sick]))
    r = invoke("doctor")
    assert r.exit_code == 1
    assert "journeys that need support" in r.stdout and "cus_sick" in r.stdout
    assert "cus_fine" not in r.stdout, "a journey that needs nothing is not listed under 'need support'"


def test_reconcile_with_nothing_in_the_ledger_says_so_without_an_empty_table(monkeypatch):
    monkeypatch.setattr(reconcile_module, "reconcile", answers([]))
    r = invoke("reconcile")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "✔ nothing to reconcile: the ledger has no entries yet", r.stdout
