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


# ---- the shipped file is the defaults --------------------------------------------------------------

PROGRAMS = ROOT / "tests" / "programs"


def leaves(value, path=""):
    """Every dotted path to a plain value (tables and lists of tables walked into)."""
    if isinstance(value, dict):
        return {p for key, item in value.items() for p in leaves(item, f"{path}.{key}" if path else key)}
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return {p for i, item in enumerate(value) for p in leaves(item, f"{path}.{i}")}
    return {path}


def test_the_shipped_file_is_exactly_the_defaults():
    shipped = parse_program(TEXT, "program.toml")
    defaults = Program(version=shipped.version)
    assert shipped == defaults
    assert shipped.model_dump_json() == defaults.model_dump_json()


def test_the_shipped_file_spells_out_every_rule():
    """Every value of the defaults is written in program.toml (and nothing else is), so a company reads them all."""
    import tomllib

    written = leaves(tomllib.loads(TEXT))
    defaults = leaves(Program(version="v").model_dump(exclude_none=True))
    assert written == defaults, f"missing: {sorted(defaults - written)}; extra: {sorted(written - defaults)}"
    assert len(tomllib.loads(TEXT)["email"]["templates"]) == 22


def test_a_file_naming_only_its_version_is_the_defaults_as_before():
    p = parse_program('version = "v1"')
    assert p == Program(version="v1")
    assert p.model_dump_json() + "\n" == (PROGRAMS / "version_only.json").read_text()


def test_the_file_shipped_before_parses_to_the_same_program_as_before():
    """Only some sections written (every activity kind, seven templates): the same JSON as the parser before merging."""
    p = parse_program((PROGRAMS / "sections_only.toml").read_text())
    assert p.model_dump_json() + "\n" == (PROGRAMS / "sections_only.json").read_text()
    assert p == Program(version=p.version)


def test_an_empty_file_is_refused_only_for_its_missing_version():
    msg = refused("")
    assert msg.splitlines()[1:] == ["  version: Field required"]


# ---- every fault at once ---------------------------------------------------------------------------


def test_a_wrong_type_a_broken_tier_ladder_and_an_unknown_purpose_are_all_reported_in_one_run():
    text = edit("monthly_payment = 100", 'monthly_payment = "lots"')
    text = edit("activity_daily_cap = 20", "activity_daily_cap = 100", text)  # a rule in the same broken section
    text = edit("threshold = 2500", "threshold = 900", text)
    text = edit('name = "platinum"', 'name = "silver"', text)
    text = edit('{ day = 1, purpose = "onboarding_tips" }', '{ day = 1, purpose = "onboarding_trips" }', text)
    text = edit('"at_risk_nudge",', '"at_risk_nudges",', text)
    text = edit('offer = { kind = "coaching"', 'offer = { kind = "discount"', text)
    text = edit('id = "onboarded"', 'id = "loyal-year"', text)
    lines = [line.strip() for line in refused(text).splitlines()[1:]]
    assert lines == [
        "earning.monthly_payment: Input should be a valid integer, unable to parse string as an integer",
        "earning.activity_daily_cap: activity_daily_cap must not exceed activity_weekly_cap (100 > 60)",
        "tiers.levels.2.threshold: threshold of 'gold' (900) must be above 'silver' (1000)",
        "tiers.levels: tier names must be unique: 'silver' is used more than once",
        "comms.marketing.3: no email template for purpose 'at_risk_nudges'",
        "onboarding.steps.1.purpose: no email template for purpose 'onboarding_trips'",
        "badges: ids must be unique: 'loyal-year' is used more than once",
        "winback.playbooks.too_complex.offer.percent_off: a discount offer needs percent_off",
    ]


def test_rules_are_still_checked_next_to_a_section_that_is_not_a_table():
    msg = refused('version = "v"\nearning = 5\n[points]\nexpiry_warning_days = [400]\n')
    lines = [line.strip() for line in msg.splitlines()[1:]]
    assert lines == [
        "earning: Input should be a valid dictionary or instance of EarningRules",
        "points.expiry_warning_days: 400 must be between 1 and lot_validity_days - 1 (364)",
    ]


def test_an_unknown_playbook_reason_and_an_unordered_onboarding_are_named():
    text = 'version = "v"\n[winback.playbooks.too_pricey]\noffer.kind = "coaching"\n'
    text += '[onboarding]\nsteps = [{ day = 3, purpose = "welcome" }, { day = 1, purpose = "onboarding_tips" }]\n'
    lines = [line.strip() for line in refused(text).splitlines()[1:]]
    assert lines == [
        "onboarding.steps.1.day: steps must be in order of day: day 1 comes after day 3",
        "winback.playbooks.too_pricey: unknown reason; the reasons are too_expensive, missing_features, "
        "switched_service, unused, customer_service, too_complex, low_quality, other, involuntary",
    ]


def test_the_problems_travel_with_the_error():
    with pytest.raises(ProgramError) as err:
        parse_program(edit("threshold = 2500", "threshold = 900"))
    assert [(p.path, p.message) for p in err.value.problems] == [
        ("tiers.levels.2.threshold", "threshold of 'gold' (900) must be above 'silver' (1000)")
    ]


def test_a_program_arriving_as_json_is_held_to_the_same_rules():
    """adopt_program and journey inputs validate JSON, not a file: the models keep every rule."""
    raw = Program(version="v").model_dump()
    raw["tiers"]["levels"][2]["threshold"] = 900
    raw["comms"]["marketing"].append("nope")
    with pytest.raises(ValueError) as err:
        Program.model_validate(raw)
    text = str(err.value)
    assert "levels.2.threshold: threshold of 'gold' (900) must be above 'silver' (1000)" in text
    raw["tiers"]["levels"][2]["threshold"] = 2500
    with pytest.raises(ValueError, match="comms.marketing.8: no email template for purpose 'nope'"):
        Program.model_validate(raw)
