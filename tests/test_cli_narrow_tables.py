"""On an 80-column terminal the CLI's tables keep customer ids and metric names whole (the other
columns wrap), so what a person copies into the next command is the id, not `cus_wa…`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from rich.console import Console

from domain.campaigns import Preview
from domain.effects import LedgerEntry
from domain.metrics import MetricsReport, Week
from domain.segments import SampleMember, SegmentPreview
from starter.cli.campaign import preview_table, results_table
from starter.cli.metrics import trend_view
from starter.cli.render import (
    doctor_view,
    ledger_view,
    quarantine_view,
    reconcile_view,
    segment_preview_view,
    segment_view,
)
from starter.doctor import Diagnosis
from starter.reconcile import compare
from storage.campaign_results import CampaignResults, Comparison, GroupFigures
from tests.test_cli import totals, view

AT = datetime(2026, 12, 7, 14, 42, tzinfo=UTC)


def rendered(renderable: object, width: int = 80) -> str:
    out = Console(width=width, record=True, color_system=None)
    out.print(renderable)
    return out.export_text()


def test_a_segment_preview_keeps_each_customer_id_whole_at_80_columns() -> None:
    ids = [f"cus_walkthrough_{i:03d}" for i in range(3)]
    sample = [
        SampleMember(
            customer_id=c, tier="gold", status="active", at_risk=True, timezone="America/New_York",
            balance=12_345, last_activity_at=AT, email_reachable=True,
        )
        for c in ids
    ]  # fmt: skip
    text = rendered(segment_preview_view(SegmentPreview(count=3, sample=sample)))
    for c in ids:
        assert c in text


def test_a_member_listing_keeps_each_customer_id_whole_at_80_columns() -> None:
    rows = [
        {
            "customer_id": f"cus_a_rather_long_identifier_{i}",
            "email": f"someone.with.a.long.address{i}@example.com",
            "status": "active",
            "tier": "platinum",
            "at_risk": True,
            "updated_at": AT,
        }
        for i in range(2)
    ]
    text = rendered(segment_view(rows))
    for r in rows:
        assert r["customer_id"] in text


def test_campaign_results_keep_metric_and_period_names_whole_at_80_columns() -> None:
    group = GroupFigures(members=8, count=8, rate=1.0)
    money = GroupFigures(members=8, total=0.0, mean=0.0)
    results = CampaignResults(
        campaign_id="gold-double-weekend", run_id="gold-double-weekend", window_start=AT, window_end=AT,
        follow_up_end=AT, follow_up_days=30, treated=8, holdout=1, applied=8, points_granted=0,
        comparisons=[
            Comparison(metric="retained", period="since_reached", treated=group, holdout=group,
                       difference=0.0, ci_low=-0.1, ci_high=0.1, p_value=1.0),
            Comparison(metric="revenue_minor", period="since_reached", treated=money, holdout=money,
                       difference=0.0, ci_low=-1.0, ci_high=1.0, p_value=1.0),
        ],
    )  # fmt: skip
    text = rendered(results_table(results))
    assert "since_reached" in text
    assert "revenue_minor" in text


def test_doctor_keeps_what_to_mend_whole_at_80_columns() -> None:
    """Why a journey is stuck names what to mend (the key id to add, the setting): at 80 columns the
    counts wrap their headers and the reason gets the room; an ellipsis cut the key id in half."""
    from starter.cli.render import doctor_view
    from starter.doctor import Diagnosis

    why = (
        "workflow task failing (9 attempts): PayloadDecryptionError: a payload is encrypted under key id "
        "'local-dev-3d6186f3', which is not configured (configured: local-dev-c62e327c): add that key to "
        "TENURE_PAYLOAD_KEYS, after the newest"
    )
    text = rendered(doctor_view([Diagnosis("cus_PkQwErTyUiOp12", stuck=[why])]))  # a Stripe id's length
    assert "…" not in text, text
    for word in ("'local-dev-3d6186f3',", "TENURE_PAYLOAD_KEYS,", "PayloadDecryptionError", "cus_PkQwErTyUiOp12"):
        assert any(word in line for line in text.splitlines()), (word, text)
    assert max(len(line) for line in text.splitlines()) <= 80
    # beside a journey with something set aside, nothing is cut either (a long word folds)
    aside = Diagnosis("cus_walkthrough_002", rejected_events=1, latest_reason="amount_minor: too large", latest_at=AT)
    text = rendered(doctor_view([Diagnosis("cus_PkQwErTyUiOp12", stuck=[why]), aside]))
    assert "…" not in text and "latest" in text, text


def _reconciled(customer_id: str, points: int, pending: int = 0, problems: tuple[str, ...] = ()):
    from domain.summary import ReconcileView
    from starter.reconcile import ReconcileRow
    from storage.ledger_reads import Totals

    totals = Totals(points_sum=points, pending_sum=pending, max_seq=3, count=3, last_balance_after=points,
                    last_pending_after=pending)  # fmt: skip
    view = ReconcileView(customer_id=customer_id, balance=points, pending=pending, seq=3, unwritten=[])
    return ReconcileRow(customer_id, totals, view, expected_points=points, problems=list(problems))


def test_reconcile_fits_80_columns_without_cutting_a_header() -> None:
    """Eleven columns cut every header to `led…` at 80 columns; the columns with nothing in them (every
    cell 0 or empty) are left out, one with something in it comes back, and a member's problems are named
    under the table."""
    from starter.cli.render import reconcile_view

    healthy = rendered(reconcile_view([_reconciled("cus_PkQwErTyUiOp12", 1_250), _reconciled("cus_demo", 100)]))
    assert "…" not in healthy and max(len(line) for line in healthy.splitlines()) <= 80, healthy
    for header in ("ledger", "expected", "balance", "seq"):
        assert header in healthy, healthy
    assert "written" not in healthy and "pending" not in healthy, healthy

    wrong = rendered(
        reconcile_view([_reconciled("cus_demo", 100, pending=200, problems=("balance 100 but ledger 90",))]), 120
    )
    assert "pending" in wrong and "200" in wrong and "✘ cus_demo: balance 100 but ledger 90" in wrong, wrong


# ---- figures and dates are never cut at 80 columns (a walk-through found `2026-1…` and `5,5…`) ---------


def ledger_entry(seq: int, points: int, balance: int, ref: str) -> LedgerEntry:
    return LedgerEntry(
        customer_id="cus_dmitri", seq=seq, key=f"cus_dmitri/{seq}", kind="earn", points=points, pending_points=0,
        balance_after=balance, pending_after=0, at=AT, program_version="v", reason="campaign welcome-bonus: Welcome",
        ref=ref, actor="cli:maria",
    )  # fmt: skip


def test_a_ledger_keeps_its_dates_and_figures_whole_at_80_columns() -> None:
    entries = [ledger_entry(1, 1200, 1200, "in_1NZqK4LkdIwHu7ixXYZ"), ledger_entry(2, 1_500_000, 1_501_200, "gold")]
    text = rendered(ledger_view("cus_dmitri", entries, 2))
    assert "…" not in text, text
    for whole in ("2026-12-07", "+1200", "+1500000", "1,501,200", "1,200"):
        assert whole in text, f"{whole} cut in:\n{text}"
    assert "pending" not in text, "no entry has pending points: no column for them"
    ref_cells = [line.split("│")[7].strip() for line in text.splitlines() if line.startswith("│")]
    assert "in_1NZqK4LkdIwHu7ixXYZ" in "".join(ref_cells), "the ref folds, every character kept"
    assert max(len(line) for line in text.splitlines()) <= 80


def reconcile_rows() -> list:
    healthy = compare("cus_dmitri", totals(5_590_000, 9), view(5_590_000, 9))
    tampered = compare("cus_walkthrough_0001", totals(301, 3), view(300, 3))
    return [healthy, tampered]


def test_reconcile_keeps_figures_whole_and_names_each_problem_at_80_columns() -> None:
    text = rendered(reconcile_view(reconcile_rows(), 80))
    assert "…" not in text, text
    assert text.count("5,590,000") == 3 and "cus_walkthrough_0001" in text, text
    assert "✘ cus_walkthrough_0001: ledger points sum 301 ≠ 300 expected" in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, "a table too wide is cropped: not here"


def test_reconcile_too_wide_for_the_terminal_says_each_member_on_a_line() -> None:
    pending = compare("cus_walkthrough_0002", totals(450, 5, pending=200), view(450, 5, pending=200))
    text = rendered(reconcile_view([*reconcile_rows(), pending], 80))
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text and "┃" not in text, "one line a member, not a cropped table"
    flat = " ".join(text.split())
    assert "✔ cus_walkthrough_0002 ledger points 450 · expected 450" in flat and "ledger pending 200" in flat, text
    wide = rendered(reconcile_view([*reconcile_rows(), pending], 200), width=200)
    assert "┃" in wide and "ledger pending" in wide, "a wide terminal keeps the table"


def test_the_weekly_trend_keeps_each_week_whole_at_80_columns() -> None:
    weeks = [
        Week(starts=date(2026, 11, 23) + timedelta(days=7 * i), members=12_345, participation_rate=0.5,
             weekly_active=1_234, churn_rate=0.012, referrals=12, redemption_rate=0.25, satisfaction=4.52)
        for i in range(8)
    ]  # fmt: skip
    report = MetricsReport(as_of=AT, currency="USD", metrics=[], weeks=weeks, goals=[])
    text = rendered(trend_view(report))
    assert "…" not in text, text
    assert "2026-11-23" in text and "2027-01-11" in text and "12,345" in text and "4.52" in text, text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_doctor_and_what_a_journey_set_aside_fold_long_words_instead_of_cutting_them() -> None:
    found = [
        Diagnosis("cus_walkthrough_0001", ["workflow task failed 5 times in a row: ValueError: bad input"], 2, 1,
                  "payment_succeeded: amount_minor must be ≥ 0", AT),
        Diagnosis("cus_b", [], 12_345, 0, "unknown event type", AT),
    ]  # fmt: skip
    text = rendered(doctor_view(found))
    assert "…" not in text and "12345" in text and "cus_walkthrough_0001" in text, text
    rows = [{"at": AT, "what": "event", "ref": "evt_1NZqK4LkdIwHu7ixXYZ", "type": "payment_succeeded", "reason": "x"}]
    text = rendered(quarantine_view("cus_b", rows))
    assert "…" not in text, text
    refs = [line.split("│")[3].strip() for line in text.splitlines() if line.startswith("│")]
    assert "".join(refs) == "evt_1NZqK4LkdIwHu7ixXYZ", "the event id folds, every character kept"


def test_a_campaign_preview_keeps_its_title_on_one_line() -> None:
    preview = Preview(campaign_id="welcome-bonus", segment_size=3, reached=3, held_out=0, skipped={}, max_points=150)
    text = rendered(preview_table(preview))
    assert "Campaign welcome-bonus: dry run (nothing sent)" in text, text
