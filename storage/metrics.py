"""The program's metrics, measured from the ledger and the customers projection (read-only).

Each figure follows its definition in domain/metrics.py. Every query is bounded by a time range on
the ledger's `at` (and the customer index), so the page costs a few dozen small queries; the
points-expiring estimate reads the lots of the last validity period of active members. Plain
blocking functions: call them through `asyncio.to_thread`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.churn import RETURNED_PAYING
from domain.earning import SURVEY_SCORED
from domain.messages import ActivityKind
from domain.metrics import GoalProgress, MetricsReport, Week, goal_progress, metric
from domain.program import Program
from domain.program.goals import Goal

from .schema import customers, ledger_entries

L = ledger_entries
C = customers
WEEKS = 12
ACTIVITY_SOURCES = [k for k in get_args(ActivityKind)]
_SCORE = re.compile(re.escape(SURVEY_SCORED) + r"(\d)")
_PAID = re.compile(re.escape(RETURNED_PAYING) + r"(\d+) ([A-Z]{3})")
DAY = timedelta(days=1)


def measure(engine: Engine, program: Program, now: datetime | None = None, weeks: int = WEEKS) -> MetricsReport:
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        m = _Measures(conn, program)
        month = now - 30 * DAY
        year = now - 365 * DAY
        reactivated, cancelled = m.reactivation(year, now)
        revenue = m.winback_revenue(year, now)
        liability_points = m.liability_points()
        lift, lift_note = _campaign_lift(engine, now)
        figures = [
            metric("participation_rate", m.participation(month, now)),
            metric("daily_active", m.active(now - DAY, now)),
            metric("weekly_active", m.active(now - 7 * DAY, now)),
            metric("churn_rate", m.churn_rate(month, now)),
            metric("retention_rate", m.retention_rate(month, now)),
            metric(
                "reactivation_rate",
                reactivated / cancelled if cancelled else None,
                f"{reactivated} of {cancelled} came back",
            ),
            metric("winback_revenue", revenue, None),
            metric("referrals", m.referrals(month, now)),
            metric("redemption_rate", m.redemption_rate(now - 90 * DAY, now)),
            metric(
                "liability",
                liability_points * 100 / program.redemption.points_per_currency_unit,
                f"{liability_points:,} points",
            ),
            metric("expiring_30_days", m.expiring(now, now + 30 * DAY)),
            metric("satisfaction", m.satisfaction(now - 90 * DAY, now)),
            metric("campaign_lift", lift, lift_note),
        ]
        start = _monday(now) - (weeks - 1) * 7 * DAY
        trend = [m.week(start + i * 7 * DAY) for i in range(weeks)]
        goals = [m.goal(g, now) for g in program.goals]
    return MetricsReport(as_of=now, currency=program.currency, metrics=figures, weeks=trend, goals=goals)


def _campaign_lift(engine: Engine, now: datetime) -> tuple[float | None, str]:
    """The latest finished campaign's lift: its treated members' activity rate during the campaign minus
    its holdout's (storage/campaign_results.py), with the interval around it."""
    from .campaign_results import campaign_results
    from .campaigns import list_campaigns

    done = [c for c in list_campaigns(engine) if c.state == "completed" and c.progress is not None]
    if not done:
        return None, "no campaign has finished yet"
    latest = max(done, key=lambda c: c.finished_at or c.updated_at)
    p = latest.progress
    assert p is not None
    results = campaign_results(engine, latest.campaign_id, p.run_id, p.started_at, p.finished_at, 30, now)
    active = next((c for c in results.comparisons if c.metric == "active" and c.period == "campaign"), None)
    if active is None or active.difference is None:
        return None, f"{latest.name}: no holdout to compare with"
    interval = (
        f", 95% interval {active.ci_low * 100:+.1f} to {active.ci_high * 100:+.1f} points"
        if active.ci_low is not None and active.ci_high is not None
        else ""
    )
    return active.difference, f"{latest.name}: active during the campaign, treated against holdout{interval}"


def _monday(t: datetime) -> datetime:
    d = t.astimezone(UTC).date()
    return datetime.combine(d - timedelta(days=d.weekday()), datetime.min.time(), tzinfo=UTC)


class _Measures:
    def __init__(self, conn: Connection, program: Program):
        self.conn = conn
        self.program = program

    def _scalar(self, stmt: sa.Select) -> int:
        return int(self.conn.execute(stmt).scalar_one() or 0)

    def members_at(self, t: datetime) -> int:
        return self._scalar(sa.select(sa.func.count()).select_from(C).where(C.c.created_at <= t))

    def _distinct(self, t0: datetime, t1: datetime, *where: sa.ColumnElement[bool]) -> int:
        stmt = sa.select(sa.func.count(sa.distinct(L.c.customer_id))).where(L.c.at >= t0, L.c.at < t1, *where)
        return self._scalar(stmt)

    def participation(self, t0: datetime, t1: datetime) -> float | None:
        members = self.members_at(t1)
        return self._distinct(t0, t1, L.c.kind.in_(("earn", "spend"))) / members if members else None

    def active(self, t0: datetime, t1: datetime) -> int:
        own = sa.or_(L.c.reason.in_(ACTIVITY_SOURCES), L.c.reason.like(SURVEY_SCORED + "%"))
        return self._distinct(t0, t1, L.c.kind == "earn", own)

    def churned(self, t0: datetime, t1: datetime) -> int:
        return self._distinct(t0, t1, L.c.kind == "freeze")

    def churn_rate(self, t0: datetime, t1: datetime) -> float | None:
        members = self.members_at(t0)
        return self.churned(t0, t1) / members if members else None

    def retention_rate(self, t0: datetime, t1: datetime) -> float | None:
        churn = self.churn_rate(t0, t1)
        return None if churn is None else max(0.0, 1 - churn)

    def referrals(self, t0: datetime, t1: datetime) -> int:
        stmt = sa.select(sa.func.count()).where(
            L.c.at >= t0, L.c.at < t1, L.c.kind == "pending", L.c.key.like("%/pending:referral:%")
        )
        return self._scalar(stmt)

    def redemption_rate(self, t0: datetime, t1: datetime) -> float | None:
        spent = self._scalar(
            sa.select(sa.func.coalesce(sa.func.sum(-L.c.points), 0)).where(
                L.c.at >= t0, L.c.at < t1, L.c.kind == "spend"
            )
        )
        earned = self._scalar(
            sa.select(sa.func.coalesce(sa.func.sum(L.c.points), 0)).where(L.c.at >= t0, L.c.at < t1, L.c.kind == "earn")
        )
        return spent / earned if earned else None

    def satisfaction(self, t0: datetime, t1: datetime) -> float | None:
        rows = self.conn.execute(
            sa.select(L.c.reason).where(
                L.c.at >= t0, L.c.at < t1, L.c.kind == "earn", L.c.reason.like(SURVEY_SCORED + "%")
            )
        )
        scores = [int(m.group(1)) for (reason,) in rows if (m := _SCORE.match(reason or ""))]
        return sum(scores) / len(scores) if scores else None

    def reactivation(self, t0: datetime, t1: datetime) -> tuple[int, int]:
        """(members who came back, members who cancelled) for cancellations in [t0, t1)."""
        freezes = self.conn.execute(
            sa.select(L.c.customer_id, sa.func.min(L.c.at))
            .where(L.c.at >= t0, L.c.at < t1, L.c.kind == "freeze")
            .group_by(L.c.customer_id)
        ).all()
        if not freezes:
            return 0, 0
        first = {cid: at for cid, at in freezes}
        came_back = sa.or_(L.c.kind == "restore", sa.and_(L.c.kind == "earn", L.c.reason.like("%payment")))
        later = self.conn.execute(
            sa.select(L.c.customer_id, sa.func.max(L.c.at))
            .where(L.c.customer_id.in_(list(first)), came_back, L.c.at >= t0)
            .group_by(L.c.customer_id)
        ).all()
        back = sum(1 for cid, at in later if at > first[cid])
        return back, len(first)

    def winback_revenue(self, t0: datetime, t1: datetime) -> float:
        """Minor units of the program's currency."""
        rows = self.conn.execute(
            sa.select(L.c.reason).where(
                L.c.at >= t0, L.c.at < t1, L.c.kind == "restore", L.c.reason.like("%" + RETURNED_PAYING + "%")
            )
        )
        total = 0
        for (reason,) in rows:
            found = _PAID.search(reason or "")
            if found and found.group(2) == self.program.currency:
                total += int(found.group(1))
        return float(total)

    def _balances(self) -> dict[str, int]:
        """Each active (not cancelled) member's balance: the balance after their latest entry."""
        latest = sa.select(L.c.customer_id, sa.func.max(L.c.seq).label("seq")).group_by(L.c.customer_id).subquery()
        stmt = (
            sa.select(L.c.customer_id, L.c.balance_after)
            .join(latest, sa.and_(L.c.customer_id == latest.c.customer_id, L.c.seq == latest.c.seq))
            .outerjoin(C, C.c.customer_id == L.c.customer_id)
            .where(sa.or_(C.c.status.is_(None), C.c.status != "cancelled"))
        )
        return {cid: int(b) for cid, b in self.conn.execute(stmt)}

    def liability_points(self) -> int:
        latest = sa.select(L.c.customer_id, sa.func.max(L.c.seq).label("seq")).group_by(L.c.customer_id).subquery()
        stmt = sa.select(sa.func.coalesce(sa.func.sum(L.c.balance_after), 0)).join(
            latest, sa.and_(L.c.customer_id == latest.c.customer_id, L.c.seq == latest.c.seq)
        )
        return self._scalar(stmt)

    def expiring(self, t0: datetime, t1: datetime) -> int:
        validity = timedelta(days=self.program.points.lot_validity_days)
        balances = {cid: b for cid, b in self._balances().items() if b > 0}
        if not balances:
            return 0
        lots: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
        rows = self.conn.execute(
            sa.select(L.c.customer_id, L.c.at, L.c.points)
            .where(L.c.kind == "earn", L.c.at >= t0 - validity, L.c.points > 0)
            .order_by(L.c.customer_id, L.c.at.desc(), L.c.seq.desc())
        )
        for cid, at, points in rows:
            if cid in balances:
                lots[cid].append((at, int(points)))
        total = 0
        for cid, newest_first in lots.items():
            left = balances[cid]
            for at, points in newest_first:
                if left <= 0:
                    break
                take = min(points, left)
                left -= take
                if t0 <= at + validity < t1:
                    total += take
        return total

    def week(self, start: datetime) -> Week:
        end = start + 7 * DAY
        return Week(
            starts=start.date(),
            members=self.members_at(end),
            participation_rate=self.participation(start, end),
            weekly_active=self.active(start, end),
            churn_rate=self.churn_rate(start, end),
            referrals=self.referrals(start, end),
            redemption_rate=self.redemption_rate(start, end),
            satisfaction=self.satisfaction(start, end),
        )

    def _over(self, metric_id: str, t0: datetime, t1: datetime) -> float | None:
        if metric_id == "retention_rate":
            return self.retention_rate(t0, t1)
        if metric_id == "referrals":
            return float(self.referrals(t0, t1))
        if metric_id == "satisfaction":
            return self.satisfaction(t0, t1)
        if metric_id == "participation_rate":
            return self.participation(t0, t1)
        back, cancelled = self.reactivation(t0, t1)
        return back / cancelled if cancelled else None

    def goal(self, goal: Goal, now: datetime) -> GoalProgress:
        period = timedelta(days=goal.period_days)
        current = self._over(goal.metric, now - period, now)
        baseline = self._over(goal.metric, now - 2 * period, now - period) if goal.change_percent is not None else None
        return goal_progress(goal, current, baseline)
