"""The program file (domain/program.py): the repo's file parses; a wrong file names every wrong field."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.program import Program, ProgramError, parse_program

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "program.toml").read_text()


def refused(text: str) -> str:
    with pytest.raises(ProgramError) as err:
        parse_program(text, "program.toml")
    return str(err.value)


def edit(old: str, new: str, text: str = TEXT) -> str:
    assert old in text, f"program.toml no longer contains {old!r}: update this test"
    return text.replace(old, new, 1)


def test_the_repo_program_parses():
    p = parse_program(TEXT, "program.toml")
    assert p.version and p.currency == "USD"
    assert p.tiers.names() == ["member", "silver", "gold", "platinum"]
    assert [t.threshold for t in p.tiers.levels] == [0, 1000, 2500, 5000]
    assert (p.earning.monthly_payment, p.earning.annual_payment, p.earning.referral) == (100, 1200, 200)
    assert p.points.lot_validity_days == 365 and sorted(p.points.expiry_warning_days) == [7, 30]
    assert p.redemption.points_per_currency_unit == 100
    assert {r.id for r in p.redemption.catalog} >= {
        "premium-month",
        "beta-access",
        "coaching-session",
        "exclusive-webinar",
    }


def test_the_program_survives_the_json_round_trip_a_workflow_input_makes():
    p = parse_program(TEXT)
    assert Program.model_validate_json(p.model_dump_json()) == p


def test_an_empty_file_needs_only_a_version():
    assert "version: Field required" in refused("")
    p = parse_program('version = "v1"')
    assert p.earning.monthly_payment == 100 and p.tiers.levels[0].threshold == 0


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("monthly_payment = 100", "monthly_payment = -100", ["earning.monthly_payment", "greater than or equal to 0"]),
        ("monthly_payment = 100", "monthly_paymnt = 100", ["earning.monthly_paymnt", "Extra inputs are not permitted"]),
        ("year_days = 365", 'year_days = "a year"', ["tiers.year_days", "valid integer"]),
        ("threshold = 2500", "threshold = 900", ["tiers", "levels", "'gold' (900) must be above 'silver' (1000)"]),
        ("multiplier = 1.5", "multiplier = 0.5", ["tiers.levels.3.multiplier", "greater than or equal to 1"]),
        (
            "expiry_warning_days = [30, 7]",
            "expiry_warning_days = [30, 400]",
            ["points", "expiry_warning_days: 400 must be between 1 and lot_validity_days - 1"],
        ),
        (
            "activity_daily_cap = 20",
            "activity_daily_cap = 200",
            ["earning", "activity_daily_cap must not exceed activity_weekly_cap"],
        ),
        ('id = "beta-access"', 'id = "premium-month"', ["redemption", "catalog: reward ids must be unique"]),
        ('version = "', 'versio = "', ["version: Field required", "versio: Extra inputs are not permitted"]),
        ('currency = "USD"', 'currency = "DOLLARS"', ["currency", "at most 3 characters"]),
        ('mode = "table"', 'mode = "tables"', ["earning.mode", "'table' or 'cashback'"]),
        (
            "lot_validity_days = 365",
            "lot_validity_days = 0",
            ["points.lot_validity_days", "greater than or equal to 1"],
        ),
        ("points = 1500", "points = 0", ["redemption.catalog.0.points", "greater than 0"]),
        ('basis = "points"', 'basis = "visits"', ["tiers.basis", "'points' or 'spend'"]),
        (
            "points_per_currency_unit = 100",
            "points_per_currency_unit = 0",
            ["redemption.points_per_currency_unit", "greater than 0"],
        ),
        ('points_earned = "d-points-earned"', "points_earned = 42", ["email.templates.points_earned", "valid string"]),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_a_wrong_field_is_named_with_what_is_wrong(old, new, expected):
    msg = refused(edit(old, new))
    assert msg.startswith("program.toml is not a valid program:")
    for part in expected:
        assert part in msg, f"{part!r} not in:\n{msg}"


def test_the_first_tier_must_start_at_zero_and_names_be_unique():
    msg = refused(edit('name = "member"\nthreshold = 0', 'name = "member"\nthreshold = 10'))
    assert "tiers" in msg and "the first tier must have threshold 0" in msg
    msg = refused(edit('name = "gold"', 'name = "silver"'))
    assert "tier names must be unique" in msg


def test_every_wrong_field_is_listed_not_only_the_first():
    text = edit("monthly_payment = 100", "monthly_payment = -1")
    text = edit("points = 1500", "points = 0", text)
    text = edit("year_days = 365", "year_days = 0", text)
    msg = refused(text)
    lines = [line.strip() for line in msg.splitlines()[1:]]
    assert len(lines) == 3, msg
    assert any(line.startswith("earning.monthly_payment:") for line in lines)
    assert any(line.startswith("redemption.catalog.0.points:") for line in lines)
    assert any(line.startswith("tiers.year_days:") for line in lines)


def test_not_toml_at_all_names_the_line():
    msg = refused(edit("[points]", "[points"))
    assert msg.startswith("program.toml: not valid TOML:") and "line" in msg


def test_an_unknown_activity_kind_is_refused():
    msg = refused(edit("login = { points = 2 }", "logn = { points = 2 }"))
    assert "earning.activity" in msg and "logn" in msg
