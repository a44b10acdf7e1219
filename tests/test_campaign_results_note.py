"""A campaign's results say why there is nothing to compare with, and never tell a marketer who asked
for a holdout to "set holdout_percent": a small segment can leave a hashed holdout empty."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import campaigns as records
from storage.campaign_results import campaign_results, no_holdout_note

AT = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_the_note_names_the_reason() -> None:
    assert no_holdout_note(0, 10) == "no member reached yet: results come once members have been reached"
    assert "set holdout_percent" in no_holdout_note(8, 0)
    asked = no_holdout_note(8, 10)
    assert "set holdout_percent" not in asked
    assert "10 %" in asked and "none of the 8 reached" in asked


def test_results_of_a_run_whose_holdout_came_to_nobody(engine) -> None:
    rows = [
        records.MemberRow(campaign_id="gold-weekend", customer_id=f"cus_{i}", group="treated", outcome="applied", at=AT)
        for i in range(8)
    ]
    records.record_members(engine, rows)
    results = campaign_results(engine, "gold-weekend", "gold-weekend", AT, AT, 30, AT, holdout_percent=10)
    assert (results.treated, results.holdout) == (8, 0)
    assert results.note == no_holdout_note(8, 10)
    without = campaign_results(engine, "gold-weekend", "gold-weekend", AT, AT, 30, AT, holdout_percent=0)
    assert without.note == "no holdout: nothing to compare with (set holdout_percent)"
