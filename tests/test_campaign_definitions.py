"""Campaign definitions, files and results statistics: pure code, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from domain.campaigns import BUDGET_SPENT, CampaignDefinition, due_at, max_points_for, touch_for
from domain.holdout import in_holdout
from settings import Settings
from starter import cli
from starter.campaign_file import CampaignFileError, read_campaign
from storage.campaign_results import compare_means, compare_rates

GOOD = """
id = "win-back-20"
name = "A 20 % discount to members at risk, valid 14 days"
kind = "offer"
template_id = "d-winback"
holdout_percent = 10
[filter]
all = [{ field = "at_risk", op = "is_true" }]
[offer]
percent_off = 20
valid_days = 14
"""


def write(tmp_path, text: str, name: str = "c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_toml_or_json_file_is_a_definition(tmp_path):
    d = read_campaign(write(tmp_path, GOOD))
    assert d.kind == "offer" and d.offer is not None and d.offer.percent_off == 20
    same = read_campaign(write(tmp_path, json.dumps(d.model_dump(mode="json", exclude_none=True)), "c.json"))
    assert same == d


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("holdout_percent = 10", "holdout_percent = 80", "holdout_percent"),
        ("[offer]", "[budget]\ntotal_points = -1\n[offer]", "budget.total_points"),
        ("holdout_percent = 10", 'rate = "fast"', "rate"),
        ("holdout_percent = 10", 'colour = "red"', "colour"),
        ("holdout_percent = 10", 'segment = "gold"', "exactly one of segment"),
        ("percent_off = 20", "percent_off = 200", "offer.percent_off"),
    ],
)
def test_a_wrong_file_names_the_field(tmp_path, old, new, named):
    text = GOOD.replace(old, new)
    with pytest.raises(CampaignFileError) as e:
        read_campaign(write(tmp_path, text))
    assert named in str(e.value)


def test_the_terms_of_another_kind_are_refused(tmp_path):
    with pytest.raises(CampaignFileError, match="bonus_points"):
        read_campaign(write(tmp_path, GOOD.replace('kind = "offer"', 'kind = "bonus"')))


def test_the_cli_refuses_a_wrong_file_with_exit_2(tmp_path):
    path = write(tmp_path, GOOD.replace("holdout_percent = 10", "holdout_percent = 99"))
    result = CliRunner().invoke(cli.app, ["campaign", "create", str(path)], obj=Settings(data_dir=tmp_path))
    assert result.exit_code == 2 and "holdout_percent" in result.output


def test_local_start_and_caps():
    d = CampaignDefinition.model_validate(
        {
            "id": "x",
            "name": "x",
            "kind": "bonus",
            "bonus_points": 100,
            "filter": {"all": []},
            "start": {"at": "2026-12-11T09:00:00", "local_time": True},
            "budget": {"total_points": 1000, "per_member_points": 60},
        }
    )
    assert due_at(d, "Asia/Tokyo") == datetime(2026, 12, 11, 0, 0, tzinfo=UTC)
    assert due_at(d, "America/New_York") == datetime(2026, 12, 11, 14, 0, tzinfo=UTC)
    assert due_at(d, "Not/AZone") == datetime(2026, 12, 11, 9, 0, tzinfo=UTC)  # unknown zones read as UTC
    assert max_points_for(d, 1000) == 60 and max_points_for(d, 25) == 25 and max_points_for(d, 0) == 0
    assert touch_for(d, "x", "UTC", 25).max_points == 25
    assert BUDGET_SPENT == "budget_spent"


def test_holdout_is_about_the_percentage_and_stable():
    ids = [f"c{i}" for i in range(20_000)]
    held = [c for c in ids if in_holdout("camp", c, 10)]
    assert 1800 < len(held) < 2200
    assert held == [c for c in ids if in_holdout("camp", c, 10)]
    assert not any(in_holdout("camp", c, 0) for c in ids[:100]) and all(in_holdout("camp", c, 100) for c in ids[:100])
    assert set(held) <= {c for c in ids if in_holdout("camp", c, 20)}, "a larger holdout contains the smaller"


def test_results_use_the_library_intervals():
    equal = compare_rates("active", "campaign", 50, 100, 50, 100)
    assert equal.difference == 0 and equal.ci_low < 0 < equal.ci_high
    lift = compare_rates("active", "campaign", 600, 1000, 500, 1000)
    assert lift.difference == pytest.approx(0.1) and 0.05 < lift.ci_low < 0.1 < lift.ci_high < 0.15
    assert lift.p_value is not None and lift.p_value < 0.001
    none_held = compare_rates("paid", "campaign", 5, 10, 0, 0)
    assert none_held.difference is None and none_held.treated.rate == 0.5
    means = compare_means("revenue_minor", "since_reached", [100.0, 200.0, 300.0], [100.0, 100.0, 100.0])
    assert means.difference == pytest.approx(100.0) and means.ci_low < 100 < means.ci_high
