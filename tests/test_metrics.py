"""The program's metrics measured from a ledger written by hand (SQLite and PostgreSQL), the goals'
progress, and the same report from `GET /metrics` and `tenure metrics`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from domain.metrics import goal_progress
from domain.program.goals import Goal
from starter.cli import app as cli_app
from storage.metrics import measure
from storage.schema import customers, ledger_entries

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return NOW - timedelta(days=n)


def member(cid: str, created_days_ago: float, status: str = "active") -> dict:
    at = day(created_days_ago)
    return dict(customer_id=cid, program_version="v1", created_at=at, updated_at=at, status=status, tier="member")


def entry(cid: str, seq: int, kind: str, points: int, at: datetime, balance: int, reason=None, key=None, pending=0):
    return dict(
        customer_id=cid,
        seq=seq,
        key=key or f"{cid}/{seq}/{kind}",
        kind=kind,
        points=points,
        pending_points=pending,
        balance_after=balance,
        pending_after=pending,
        at=at,
        reason=reason,
        program_version="v1",
        recorded_at=at,
    )


def seed(engine) -> None:
    """a: an old member who surveys, redeems and logs in; b: cancelled, came back paying 49.00 and
    referred someone; c: cancelled three days ago; d and e: members without entries."""
    rows = [
        entry("a", 1, "earn", 100, day(340), 100, "monthly payment"),
        entry("a", 2, "earn", 50, day(2), 150, "survey_answered, score 5 of 5"),
        entry("a", 3, "spend", -30, day(1), 120, "reward premium-month"),
        entry("a", 4, "earn", 2, NOW - timedelta(hours=3), 122, "login"),
        entry("b", 1, "earn", 100, day(50), 100, "monthly payment"),
        entry("b", 2, "freeze", 0, day(10), 100, "100 points frozen"),
        entry("b", 3, "restore", 0, day(5), 100, "100 frozen points restored; came back paying 4900 USD"),
        entry("b", 4, "earn", 100, day(5), 200, "monthly payment"),
        entry("b", 5, "pending", 0, day(4), 200, "referral", key="b/pending:referral:cus_x/pending", pending=200),
        entry("c", 1, "earn", 100, day(15), 100, "monthly payment"),
        entry("c", 2, "freeze", 0, day(3), 100, "100 points frozen"),
    ]
    members = [member("a", 400), member("b", 60), member("c", 20, "cancelled"), member("d", 2), member("e", 100)]
    with engine.begin() as conn:
        conn.execute(sa.insert(customers), members)
        conn.execute(sa.insert(ledger_entries), rows)


def test_each_metric_follows_its_definition(engine, program):
    seed(engine)
    report = measure(engine, program, NOW)
    value = {m.id: m.value for m in report.metrics}
    assert value["participation_rate"] == pytest.approx(3 / 5)  # a, b, c earned or spent in 30 days, of 5
    assert value["daily_active"] == 1  # a's login; payments are not activity
    assert value["weekly_active"] == 1  # a's survey and login
    assert value["churn_rate"] == pytest.approx(2 / 3)  # b and c cancelled, of the 3 members 30 days ago
    assert value["retention_rate"] == pytest.approx(1 / 3)
    assert value["reactivation_rate"] == 0.5  # b came back, c did not
    assert value["winback_revenue"] == 4900
    assert value["referrals"] == 1
    assert value["redemption_rate"] == pytest.approx(30 / 352)
    assert value["liability"] == 422  # 122 + 200 + 100 points at 100 points a dollar: 4.22 USD in cents
    assert value["expiring_30_days"] == 70  # a's balance sits in its newest lots: 70 left of the 340-day-old lot
    assert value["satisfaction"] == 5.0
    assert value["campaign_lift"] is None
    assert all(m.definition for m in report.metrics)
    assert len(report.weeks) == 12 and report.weeks[-1].weekly_active == 1
    goals = {g.id: g for g in report.goals}
    assert goals["satisfaction"].status == "met"
    assert goals["referrals"].status == "no_data"  # nothing in the six months before to grow from


def test_an_empty_ledger_measures_nothing_rather_than_zero(engine, program):
    report = measure(engine, program, NOW)
    value = {m.id: m.value for m in report.metrics}
    assert value["participation_rate"] is None and value["churn_rate"] is None and value["satisfaction"] is None
    assert value["liability"] == 0 and value["expiring_30_days"] == 0
    assert {g.status for g in report.goals} == {"no_data"}


def test_goal_progress():
    grow = Goal(id="r", title="Retention +15%", metric="retention_rate", period_days=365, change_percent=15)
    on_the_way = goal_progress(grow, 0.9, 0.8)
    assert on_the_way.status == "on_the_way" and on_the_way.change_percent == pytest.approx(12.5)
    assert on_the_way.progress == pytest.approx(12.5 / 15)
    assert goal_progress(grow, 0.93, 0.8).status == "met"
    assert goal_progress(grow, 0.7, 0.8).status == "behind"
    assert goal_progress(grow, 0.7, None).status == "no_data"
    floor = Goal(id="s", title="Satisfaction", metric="satisfaction", period_days=90, at_least=4.5)
    assert goal_progress(floor, 4.0, None).status == "behind"
    assert goal_progress(floor, 4.6, None).status == "met"
    with pytest.raises(ValueError, match="exactly one"):
        Goal(id="x", title="x", metric="referrals", period_days=1, change_percent=1, at_least=1)


def test_tenure_metrics_prints_the_same_figures(engine, program, db_url, monkeypatch):
    seed(engine)
    monkeypatch.setenv("TENURE_ENVIRONMENT", "development")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["--db", db_url, "metrics", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {m["id"]: m["value"] for m in report["metrics"]}["winback_revenue"] == 4900
    table = runner.invoke(cli_app, ["--db", db_url, "metrics"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "Outstanding points liability" in table.output and "4.22 USD" in table.output
    assert "Satisfaction at least 4.5 of 5" in table.output and "met" in table.output
