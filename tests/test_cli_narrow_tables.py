"""On an 80-column terminal the CLI's tables keep customer ids and metric names whole (the other
columns wrap), so what a person copies into the next command is the id, not `cus_wa…`."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from domain.segments import SampleMember, SegmentPreview
from starter.cli.campaign import results_table
from starter.cli.render import segment_preview_view, segment_view
from storage.campaign_results import CampaignResults, Comparison, GroupFigures

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
    cell 0 or empty) are left out, and one with something in it comes back."""
    from starter.cli.render import reconcile_view

    healthy = rendered(reconcile_view([_reconciled("cus_PkQwErTyUiOp12", 1_250), _reconciled("cus_demo", 100)]))
    assert "…" not in healthy and max(len(line) for line in healthy.splitlines()) <= 80, healthy
    for header in ("ledger", "expected", "balance", "seq"):
        assert header in healthy, healthy
    assert "unwritten" not in healthy and "problem" not in healthy, healthy

    wrong = rendered(
        reconcile_view([_reconciled("cus_demo", 100, pending=200, problems=("balance 100 but ledger 90",))]), 120
    )
    assert "pending" in wrong and "200" in wrong and "problem" in wrong and "ledger 90" in wrong, wrong
