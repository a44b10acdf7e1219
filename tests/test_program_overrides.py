"""How a program file overrides the defaults (tables merge key by key, lists replace whole), and the
pure tools on top: the differences between two programs and the program written back out."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from domain.program import Program, parse_program
from domain.program.diff import differences
from domain.program.render import program_json, program_toml

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = Program(version="v")


def program(body: str) -> Program:
    return parse_program(f'version = "v"\n{body}')


def changed(p: Program) -> list[str]:
    return [str(d) for d in differences(DEFAULTS, p)]


# ---- tables merge key by key -------------------------------------------------------------------


def test_a_partial_playbook_overrides_that_reason_only():
    p = program("[winback.playbooks.too_expensive]\noffer.percent_off = 30\n")
    book = p.winback.playbooks["too_expensive"]
    assert book.offer.percent_off == 30
    default_book = DEFAULTS.winback.playbooks["too_expensive"]
    assert book.offer.model_dump(exclude={"percent_off"}) == default_book.offer.model_dump(exclude={"percent_off"})
    assert (book.strong_offer, book.steps) == (default_book.strong_offer, default_book.steps)
    assert changed(p) == ["winback.playbooks.too_expensive.offer.percent_off: 25 → 30"]


def test_a_nested_table_changes_only_the_keys_it_names():
    p = program(
        "[winback.playbooks.unused.strong_offer]\nbonus_points = 2000\n"
        "[winback.high_value]\nlifetime_spend_minor = 50000\n"
        "[earning]\nmonthly_payment = 150\n"
        "[email.templates]\ndunning = 'd-card-please'\n"
    )
    assert changed(p) == [
        "earning.monthly_payment: 100 → 150",
        'email.templates.dunning: "d-dunning" → "d-card-please"',
        "winback.high_value.lifetime_spend_minor: 100000 → 50000",
        "winback.playbooks.unused.strong_offer.bonus_points: 1000 → 2000",
    ]


def test_a_table_keyed_by_name_merges_by_name():
    """Naming one activity kind keeps the others (before merging, it dropped them); a new kind is added."""
    p = program("[earning.activity]\nlogin = { points = 3 }\nsurvey_answered = { points = 40 }\n")
    assert {kind: rule.points for kind, rule in p.earning.activity.items()} == {
        "login": 3,
        "feature_used": 5,
        "content_shared": 10,
        "profile_completed": 25,
        "survey_answered": 40,
    }


def test_a_strong_offer_can_be_given_to_a_reason_that_has_none():
    p = program("[winback.playbooks.too_complex.strong_offer]\nkind = 'discount'\npercent_off = 20\n")
    strong = p.winback.playbooks["too_complex"].strong_offer
    assert strong is not None and (strong.kind, strong.percent_off, strong.valid_days) == ("discount", 20, 14)


# ---- lists replace the defaults whole ------------------------------------------------------------


def test_a_list_of_tables_replaces_the_default_list():
    p = program('[[badges]]\nid = "reviewer"\ntitle = "3 reviews"\nmilestone = "reviews"\ncount = 3\n')
    assert [(b.id, b.count, b.bonus_points) for b in p.badges] == [("reviewer", 3, 0)]
    assert p.challenges == DEFAULTS.challenges, "other lists keep their defaults"


def test_a_tier_ladder_replaces_the_default_one_and_items_take_their_own_defaults():
    p = program('[[tiers.levels]]\nname = "basic"\nthreshold = 0\n[[tiers.levels]]\nname = "pro"\nthreshold = 800\n')
    assert [(t.name, t.threshold, t.multiplier, t.priority_support) for t in p.tiers.levels] == [
        ("basic", 0, 1.0, False),
        ("pro", 800, 1.0, False),
    ]
    assert p.tiers.basis == "points" and p.tiers.year_days == 365


def test_lists_of_values_and_inline_lists_of_tables_replace_too():
    p = program(
        "[dunning]\nemail_days = [1, 5]\n[onboarding]\nsteps = [{ day = 0, purpose = 'welcome' }]\n"
        "[winback.playbooks.other]\nsteps = [{ after_days = 2, purpose = 'winback_offer' }]\n"
    )
    assert p.dunning.email_days == [1, 5]
    assert [s.purpose for s in p.onboarding.steps] == ["welcome"]
    assert p.onboarding.goals == DEFAULTS.onboarding.goals
    other = p.winback.playbooks["other"]
    assert [(s.after_days, s.purpose) for s in other.steps] == [(2, "winback_offer")]
    assert other.offer == DEFAULTS.winback.playbooks["other"].offer
    assert p.winback.playbooks["unused"].steps == DEFAULTS.winback.playbooks["unused"].steps


def test_an_empty_list_empties_it():
    p = program("challenges = []\n[dunning]\nemail_days = []\n")
    assert p.challenges == [] and p.dunning.email_days == []


def test_a_time_boxed_challenge_keeps_its_dates():
    p = program(
        '[[challenges]]\nid = "december"\ntitle = "Share 5 times in December"\nactivity = "content_shared"\n'
        "count = 5\nstarts_at = 2026-12-01T00:00:00Z\nends_at = 2027-01-01T00:00:00Z\n"
    )
    (challenge,) = p.challenges
    assert challenge.starts_at == datetime(2026, 12, 1, tzinfo=UTC) and challenge.window_days == 7
    assert Program.model_validate_json(p.model_dump_json()) == p


# ---- differences ---------------------------------------------------------------------------------


def test_an_item_that_changed_identity_is_shown_whole_and_extra_items_as_added():
    p = program(
        '[[redemption.catalog]]\nid = "premium-month"\ntitle = "A free month"\npoints = 1200\n'
        '[[redemption.catalog]]\nid = "sticker"\ntitle = "A sticker"\npoints = 100\n'
    )
    lines = changed(p)
    assert lines[:2] == [
        'redemption.catalog.0.title: "A free month of the premium plan" → "A free month"',
        "redemption.catalog.0.points: 1500 → 1200",
    ]
    assert lines[2].startswith('redemption.catalog.1: {"id": "beta-access"') and lines[2].endswith(
        '→ {"id": "sticker", "title": "A sticker", "points": 100, "available": true}'
    )
    assert lines[3].startswith('redemption.catalog.2: {"id": "coaching-session"') and lines[3].endswith("→ (none)")
    assert lines[4].startswith('redemption.catalog.3: {"id": "exclusive-webinar"') and lines[4].endswith("→ (none)")
    assert len(lines) == 5


def test_a_list_of_values_is_one_difference_and_equal_numbers_are_equal():
    p = program("[dunning]\nemail_days = [0, 2, 5]\n[engagement]\nat_risk_after_days = 30.0\n")
    assert changed(p) == ["dunning.email_days: [0.0, 3.0, 7.0] → [0.0, 2.0, 5.0]"]


def test_the_defaults_differ_from_nothing():
    assert differences(DEFAULTS, DEFAULTS) == []
    shipped = parse_program((ROOT / "program.toml").read_text())
    assert differences(DEFAULTS, shipped.model_copy(update={"version": "v"})) == []
    assert [str(d) for d in differences(DEFAULTS, Program(version="w"))] == ['version: "v" → "w"']


# ---- rendering -----------------------------------------------------------------------------------

CUSTOM = """
[earning]
mode = "cashback"
[earning.activity]
login = { points = 1 }
[[tiers.levels]]
name = "basic"
threshold = 0
[[tiers.levels]]
name = "pro"
threshold = 800
multiplier = 2.0
beta_access = true
[winback.playbooks.too_complex.strong_offer]
kind = "discount"
percent_off = 20
[winback.playbooks.too_expensive]
offer.percent_off = 30
[onboarding]
steps = [{ day = 0, purpose = "welcome" }, { day = 2.5, purpose = "onboarding_nudge", only_if_missing = "login" }]
[[challenges]]
id = "december"
title = "Share 5 times in December"
activity = "content_shared"
count = 5
starts_at = 2026-12-01T00:00:00Z
ends_at = 2027-01-01T00:00:00Z
"""


def test_the_toml_written_out_parses_back_to_the_same_program():
    for p in (DEFAULTS, program(CUSTOM), parse_program((ROOT / "program.toml").read_text())):
        text = program_toml(p)
        again = parse_program(text)
        assert again == p and again.model_dump_json() == p.model_dump_json()
        assert "null" not in text and "None" not in text


def test_the_toml_written_out_spells_out_every_rule():
    raw = tomllib.loads(program_toml(program(CUSTOM)))
    assert raw["winback"]["playbooks"]["involuntary"]["offer"]["kind"] == "update_card"
    assert len(raw["email"]["templates"]) == 22 and raw["dunning"]["email_days"] == [0, 3, 7]


def test_the_json_written_out_is_what_journeys_carry():
    p = program(CUSTOM)
    assert Program.model_validate_json(program_json(p)) == p
    assert json.loads(program_json(p)) == json.loads(p.model_dump_json())
