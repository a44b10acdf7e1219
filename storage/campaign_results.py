"""What a campaign did: treated vs holdout, over the campaign window and a follow-up period.

Per member, from the ledger and the customers projection: active (activity that earned points),
paid (a payment), redeemed, revenue since reached (lifetime spend now minus when reached), retained
(active when reached and now) or reactivated (not active when reached, active now). For each, the
two groups' absolute counts and rates, the difference and its 95 % confidence interval, computed
by statsmodels (Newcombe's interval for a difference of proportions, Welch's for a difference of
means), never by hand.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from .schema import campaign_members, customers, ledger_entries, utcnow

Period = Literal["campaign", "follow_up", "since_reached"]
CONFIDENCE = 0.95


class GroupFigures(BaseModel):
    members: int
    count: int | None = Field(None, description="Members with the outcome (rates), or None for an amount.")
    rate: float | None = None
    total: float | None = Field(None, description="Sum over the group (amounts, e.g. revenue in minor units).")
    mean: float | None = None


class Comparison(BaseModel):
    """One metric over one period: treated vs holdout, the difference (treated − holdout) and its interval."""

    metric: str
    period: Period
    treated: GroupFigures
    holdout: GroupFigures
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None


class CampaignResults(BaseModel):
    campaign_id: str
    run_id: str
    window_start: datetime | None
    window_end: datetime | None
    follow_up_end: datetime | None
    follow_up_days: int
    treated: int
    holdout: int
    applied: int
    points_granted: int
    confidence: float = CONFIDENCE
    comparisons: list[Comparison]
    note: str | None = None


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def compare_rates(metric: str, period: Period, t_count: int, t_n: int, h_count: int, h_n: int) -> Comparison:
    """Two proportions: the difference and Newcombe's interval (statsmodels)."""
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    treated = GroupFigures(members=t_n, count=t_count, rate=t_count / t_n if t_n else None)
    holdout = GroupFigures(members=h_n, count=h_count, rate=h_count / h_n if h_n else None)
    out = Comparison(metric=metric, period=period, treated=treated, holdout=holdout)
    if not t_n or not h_n:
        return out
    out.difference = t_count / t_n - h_count / h_n
    low, high = confint_proportions_2indep(
        t_count, t_n, h_count, h_n, method="newcomb", compare="diff", alpha=1 - CONFIDENCE
    )
    out.ci_low, out.ci_high = _finite(low), _finite(high)
    if t_n > 1 and h_n > 1 and (t_count + h_count) not in (0, t_n + h_n):
        out.p_value = _finite(test_proportions_2indep(t_count, t_n, h_count, h_n, method="score").pvalue)
    else:
        out.p_value = 1.0 if t_count / t_n == h_count / h_n else None
    return out


def compare_means(metric: str, period: Period, treated_values: list[float], holdout_values: list[float]) -> Comparison:
    """Two means (amounts per member): the difference and Welch's interval (statsmodels)."""
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    t_n, h_n = len(treated_values), len(holdout_values)
    treated = GroupFigures(members=t_n, total=sum(treated_values), mean=sum(treated_values) / t_n if t_n else None)
    holdout = GroupFigures(members=h_n, total=sum(holdout_values), mean=sum(holdout_values) / h_n if h_n else None)
    out = Comparison(metric=metric, period=period, treated=treated, holdout=holdout)
    if t_n < 2 or h_n < 2:
        return out
    assert treated.mean is not None and holdout.mean is not None
    out.difference = treated.mean - holdout.mean
    compare = CompareMeans(DescrStatsW(treated_values), DescrStatsW(holdout_values))
    if len(set(treated_values)) > 1 or len(set(holdout_values)) > 1:
        low, high = compare.tconfint_diff(alpha=1 - CONFIDENCE, usevar="unequal")
        out.ci_low, out.ci_high = _finite(low), _finite(high)
        out.p_value = _finite(compare.ttest_ind(usevar="unequal")[1])
    else:  # no variance at all: the difference is exact
        out.ci_low = out.ci_high = out.difference
    return out


def _ledger_counts(conn: sa.Connection, run_id: str, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Per member of the run: activity earnings, payments and redemptions between start and end."""
    le, cm = ledger_entries, campaign_members
    in_period = sa.and_(le.c.at >= start, le.c.at < end)

    def count(condition: Any) -> Any:
        return sa.func.sum(sa.case((sa.and_(in_period, condition), 1), else_=0))

    q = (
        sa.select(
            le.c.customer_id,
            count(sa.and_(le.c.kind == "earn", le.c.lot_id.like("act:%"))).label("active"),
            count(sa.and_(le.c.kind == "earn", le.c.lot_id.like("pay:%"))).label("paid"),
            count(le.c.kind == "spend").label("redeemed"),
        )
        .select_from(le.join(cm, sa.and_(cm.c.customer_id == le.c.customer_id, cm.c.campaign_id == run_id)))
        .where(in_period)
        .group_by(le.c.customer_id)
    )
    return {
        r.customer_id: {"active": r.active or 0, "paid": r.paid or 0, "redeemed": r.redeemed or 0}
        for r in conn.execute(q)
    }


def no_holdout_note(treated: int, holdout_percent: float | None) -> str:
    """Why there is nothing to compare with: nobody reached yet, no holdout asked for, or a holdout
    asked for that chance left empty (each member is held out by hash, so a small segment may hold none)."""
    if treated == 0:
        return "no member reached yet: results come once members have been reached"
    if holdout_percent == 0:
        return "no holdout: nothing to compare with (set holdout_percent)"
    if holdout_percent is None:
        return "nobody was held out: nothing to compare with"
    return (
        f"nobody was held out: each member is held out by chance ({holdout_percent:g} %, by hash), and none of "
        f"the {treated} reached was; nothing to compare with (a larger segment evens it out)"
    )


def campaign_results(
    engine: Engine,
    campaign_id: str,
    run_id: str,
    window_start: datetime | None,
    window_end: datetime | None,
    follow_up_days: int = 30,
    now: datetime | None = None,
    holdout_percent: float | None = None,
) -> CampaignResults:
    """Treated vs holdout for one run (see the module docstring); `now` bounds periods still under way;
    `holdout_percent`, the definition's, says why nobody may have been held out."""
    now = now or utcnow()
    cm = campaign_members
    spend_column = customers.c.get("lifetime_spend_minor")
    columns: list[Any] = [
        cm.c.customer_id,
        cm.c.group,
        cm.c.outcome,
        cm.c.points_granted,
        cm.c.status_at_start,
        cm.c.spend_at_start_minor,
        cm.c.at,
        customers.c.status.label("status_now"),
    ]
    if spend_column is not None:
        columns.append(spend_column.label("spend_now"))
    with engine.connect() as conn:
        members = conn.execute(
            sa.select(*columns)
            .select_from(cm.outerjoin(customers, customers.c.customer_id == cm.c.customer_id))
            .where(cm.c.campaign_id == run_id)
        ).all()
        if window_start is None and members:
            window_start = min(m.at for m in members)
        end = min(window_end or now, now)
        follow_up_end = end + timedelta(days=follow_up_days)
        campaign_period = _ledger_counts(conn, run_id, window_start, end) if window_start is not None else {}
        follow_up_period = _ledger_counts(conn, run_id, end, min(follow_up_end, now)) if end < now else {}
    groups: dict[str, list[Any]] = {"treated": [], "holdout": []}
    for m in members:
        groups.setdefault(m.group, []).append(m)
    treated, holdout = groups["treated"], groups["holdout"]
    comparisons: list[Comparison] = []
    periods: tuple[tuple[Period, dict[str, dict[str, int]]], ...] = (
        ("campaign", campaign_period),
        ("follow_up", follow_up_period),
    )
    for period, figures in periods:
        for metric in ("active", "paid", "redeemed"):
            t = sum(1 for m in treated if figures.get(m.customer_id, {}).get(metric, 0) > 0)
            h = sum(1 for m in holdout if figures.get(m.customer_id, {}).get(metric, 0) > 0)
            comparisons.append(compare_rates(metric, period, t, len(treated), h, len(holdout)))

    def was_active(m: Any) -> bool:
        return m.status_at_start == "active"

    def is_active(m: Any) -> bool:
        return m.status_now == "active"

    t_kept = [m for m in treated if was_active(m)]
    h_kept = [m for m in holdout if was_active(m)]
    comparisons.append(
        compare_rates(
            "retained",
            "since_reached",
            sum(map(is_active, t_kept)),
            len(t_kept),
            sum(map(is_active, h_kept)),
            len(h_kept),
        )
    )
    t_gone = [m for m in treated if not was_active(m)]
    h_gone = [m for m in holdout if not was_active(m)]
    comparisons.append(
        compare_rates(
            "reactivated",
            "since_reached",
            sum(map(is_active, t_gone)),
            len(t_gone),
            sum(map(is_active, h_gone)),
            len(h_gone),
        )
    )
    note = None
    if spend_column is not None:

        def revenue(m: Any) -> float:
            return float(max(0, (m.spend_now or 0) - (m.spend_at_start_minor or 0)))

        comparisons.append(
            compare_means(
                "revenue_minor", "since_reached", [revenue(m) for m in treated], [revenue(m) for m in holdout]
            )
        )
    else:
        note = "revenue needs the lifetime spend of the customers projection, which this database lacks"
    if not holdout:
        note = no_holdout_note(len(treated), holdout_percent)
    return CampaignResults(
        campaign_id=campaign_id,
        run_id=run_id,
        window_start=window_start,
        window_end=end if window_start is not None else None,
        follow_up_end=follow_up_end if window_start is not None else None,
        follow_up_days=follow_up_days,
        treated=len(treated),
        holdout=len(holdout),
        applied=sum(1 for m in treated if m.outcome == "applied"),
        points_granted=sum(m.points_granted or 0 for m in treated),
        comparisons=comparisons,
        note=note,
    )
