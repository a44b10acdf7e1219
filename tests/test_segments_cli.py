"""`tenure segment create|list|show|preview`, from a file or from options; a wrong file names the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from domain.segments import Segment, SegmentProjection
from settings import Settings
from storage.engine import create_engine_for
from storage.migrate import db_upgrade
from storage.segments import save_segment
from tests.test_cli import invoke, out
from tests.test_segments import insert_members


def settings_with_members(tmp_path) -> Settings:
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    engine = create_engine_for(settings.db_url())
    insert_members(
        engine,
        {
            "cus_a": SegmentProjection(tier="gold", balance=600, timezone="America/New_York"),
            "cus_b": SegmentProjection(tier="gold", balance=50, at_risk=True),
            "cus_c": SegmentProjection(tier="silver", balance=900, engagement_level="loyal"),
        },
    )
    engine.dispose()
    return settings


def test_create_from_toml_list_show_preview(tmp_path):
    s = settings_with_members(tmp_path)
    file = tmp_path / "gold.toml"
    file.write_text(
        'name = "Gold with points"\n'
        "[filter]\n"
        "all = [\n"
        '  { field = "tier", op = "eq", value = "gold" },\n'
        '  { field = "balance", op = "ge", value = 100 },\n'
        "]\n"
    )
    r = invoke(s, "segment", "create", str(file), "--actor", "marketer:ann")
    assert r.exit_code == 0, out(r)
    assert "gold-with-points" in r.stdout

    r = invoke(s, "segment", "list", "--json")
    assert r.exit_code == 0, out(r)
    (listed,) = json.loads(r.stdout)
    assert listed["segment_id"] == "gold-with-points" and listed["created_by"] == "marketer:ann"

    r = invoke(s, "segment", "show", "gold-with-points", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["count"] == 1

    r = invoke(s, "segment", "preview", "gold-with-points", "--json")
    p = json.loads(r.stdout)
    assert p["count"] == 1 and [m["customer_id"] for m in p["sample"]] == ["cus_a"]
    r = invoke(s, "segment", "preview", "gold-with-points")
    assert r.exit_code == 0 and "1 member(s) in the segment" in r.stdout and "cus_a" in r.stdout

    r = invoke(s, "segment", "create", str(file))
    assert r.exit_code == 1 and "exists already" in out(r)


def test_create_from_options_and_preview_a_filter(tmp_path):
    s = settings_with_members(tmp_path)
    r = invoke(s, "segment", "create", "--name", "At risk or loyal", "--any", "-w", "at_risk is_true", "-w",
               "engagement_level eq loyal")  # fmt: skip
    assert r.exit_code == 0, out(r)
    r = invoke(s, "segment", "preview", "at-risk-or-loyal", "--json")
    assert [m["customer_id"] for m in json.loads(r.stdout)["sample"]] == ["cus_b", "cus_c"]
    r = invoke(s, "segment", "preview", "-w", "balance between 100,1000", "--json")
    assert json.loads(r.stdout)["count"] == 2
    r = invoke(s, "segment", "preview", "--filter", '{"field": "tier", "op": "in", "value": ["silver"]}', "--json")
    assert json.loads(r.stdout)["count"] == 1


def test_a_wrong_definition_names_the_field(tmp_path):
    s = settings_with_members(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "filter": {"any": [{"field": "tier", "op": "gt", "value": "gold"}]}}))
    r = invoke(s, "segment", "create", str(bad))
    assert r.exit_code == 2 and "filter.any.0: " in out(r) and "tier takes the operators" in out(r)
    r = invoke(s, "segment", "preview", "-w", "balance ge lots")
    assert r.exit_code == 2 and "balance: 'lots' is not a whole number" in out(r)
    r = invoke(s, "segment", "preview", "-w", "colour eq red")
    assert r.exit_code == 2 and "filter.all.0.field: Input should be 'tier'" in out(r)
    r = invoke(s, "segment", "show", "nope")
    assert r.exit_code == 1 and "no segment 'nope'" in out(r)
    extra = tmp_path / "extra.toml"
    extra.write_text('name = "x"\nfitler = {}\n')
    r = invoke(s, "segment", "create", str(extra))
    assert r.exit_code == 2 and "fitler" in out(r)


def test_the_quick_listing_still_works(tmp_path):
    s = settings_with_members(tmp_path)
    r = invoke(s, "segment", "--tier", "gold")
    assert r.exit_code == 0, out(r)
    assert "cus_a" in r.stdout and "cus_c" not in r.stdout


def test_a_tier_the_program_lacks_is_refused_from_options_json_and_a_file(tmp_path):
    """The program's tiers are member, silver, gold, platinum: `bronze` (or `Gold`) would match nobody."""
    s = settings_with_members(tmp_path)
    tiers = "use one of member, silver, gold, platinum"
    r = invoke(s, "segment", "create", "--name", "typo", "--where", "tier eq bronze")
    assert r.exit_code == 2 and f"filter.all.0.value: tier has no value 'bronze': {tiers}" in out(r), out(r)
    r = invoke(
        s, "segment", "create", "--name", "typo", "--filter", '{"field": "tier", "op": "in", "value": ["gold", "Gold"]}'
    )
    assert r.exit_code == 2 and f"filter.value.1: tier has no value 'Gold': {tiers}" in out(r), out(r)
    file = tmp_path / "typo.toml"
    file.write_text(
        'name = "typo"\n[filter]\n'
        'any = [{ field = "at_risk", op = "is_true" }, { field = "tier", op = "ne", value = "bronze" }]\n'
    )
    r = invoke(s, "segment", "create", str(file))
    assert r.exit_code == 2 and f"filter.any.1.value: tier has no value 'bronze': {tiers}" in out(r), out(r)
    r = invoke(s, "segment", "list", "--json")
    assert json.loads(r.stdout) == []  # nothing saved
    r = invoke(s, "segment", "create", "--name", "Silver or platinum", "--where", "tier in silver,platinum")
    assert r.exit_code == 0, out(r)


def test_a_tier_only_another_program_has_is_refused_by_the_program_in_force(tmp_path):
    program = tmp_path / "program.toml"
    program.write_text(
        'version = "bronze-1"\n'
        '[[tiers.levels]]\nname = "bronze"\nthreshold = 0\n'
        '[[tiers.levels]]\nname = "gold"\nthreshold = 1000\n'
    )
    s = settings_with_members(tmp_path).model_copy(update={"program_path": program})
    r = invoke(s, "segment", "create", "--name", "Bronze", "--where", "tier eq bronze")
    assert r.exit_code == 0, out(r)
    r = invoke(s, "segment", "create", "--name", "Platinum", "--where", "tier eq platinum")
    assert r.exit_code == 2 and "tier has no value 'platinum': use one of bronze, gold" in out(r), out(r)


def test_a_segment_saved_before_the_check_still_lists_shows_and_previews(tmp_path):
    s = settings_with_members(tmp_path)
    engine = create_engine_for(s.db_url())
    filter = {"field": "tier", "op": "eq", "value": "bronze"}
    made = datetime(2026, 1, 1, tzinfo=UTC)
    save_segment(engine, Segment(segment_id="bronze", name="Bronze", filter=filter, created_at=made, created_by="x"))
    engine.dispose()
    r = invoke(s, "segment", "list", "--json")
    assert r.exit_code == 0 and [x["segment_id"] for x in json.loads(r.stdout)] == ["bronze"], out(r)
    r = invoke(s, "segment", "show", "bronze", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["count"] == 0, out(r)
    r = invoke(s, "segment", "preview", "bronze", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["count"] == 0, out(r)


def test_a_preview_refuses_what_create_refuses_and_the_quick_listing_a_tier_the_program_lacks(tmp_path):
    """`preview --where/--filter` and `segment --tier` answered 0 members for `bronze`, `Europe/Pariss`,
    `XX`: they exit 2 with create's message now."""
    s = settings_with_members(tmp_path)
    tiers = "use one of member, silver, gold, platinum"
    zone = "timezone has no value 'Europe/Pariss': an IANA time zone such as Europe/Paris"
    for args, says in [
        (["-w", "tier eq bronze"], f"filter.all.0.value: tier has no value 'bronze': {tiers}"),
        (["-w", "at_risk is_true", "-w", "timezone eq Europe/Pariss"], f"filter.all.1.value: {zone}"),
        (
            ["--filter", '{"field": "country", "op": "in", "value": ["US", "usa"]}'],
            "filter.value.1: country has no value 'usa': an ISO 3166 two-letter code such as US",
        ),
        (
            ["-w", "country eq fr"],
            "filter.all.0.value: country has no value 'fr': an ISO 3166 two-letter code such as FR",
        ),
    ]:
        r = invoke(s, "segment", "preview", *args)
        assert r.exit_code == 2 and f"not a valid segment filter:\n  {says}" in out(r), out(r)
        r = invoke(s, "segment", "create", "--name", "typo", *args)
        assert r.exit_code == 2 and f"not a valid segment filter:\n  {says}" in out(r), out(r)
    r = invoke(s, "segment", "create", "--name", "Zoned", "-w", "timezone eq Europe/Pariss", "-w", "country eq XX")
    assert r.exit_code == 2 and "filter.all.0.value: timezone" in out(r) and "filter.all.1.value: country" in out(r)
    r = invoke(s, "segment", "--tier", "bronze")
    assert r.exit_code == 2 and f"--tier: tier has no value 'bronze': {tiers}" in out(r), out(r)
    r = invoke(s, "segment", "--tier", "Gold")
    assert r.exit_code == 2 and "tier has no value 'Gold'" in out(r), out(r)
    r = invoke(
        s, "segment", "preview", "-w", "timezone in America/New_York,Etc/GMT+5", "-w", "country eq null", "--json"
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["count"] == 1, out(r)
    r = invoke(s, "segment", "list", "--json")
    assert json.loads(r.stdout) == []


def test_a_segment_saved_with_a_zone_or_a_country_that_is_none_shows_and_previews_as_saved(tmp_path):
    s = settings_with_members(tmp_path)
    engine = create_engine_for(s.db_url())
    filter = {
        "any": [
            {"field": "timezone", "op": "eq", "value": "America/New_Yrok"},
            {"field": "country", "op": "in", "value": ["XX", "usa"]},
            {"field": "tier", "op": "eq", "value": "silver"},
        ]
    }
    made = datetime(2026, 1, 1, tzinfo=UTC)
    save_segment(engine, Segment(segment_id="typos", name="Typos", filter=filter, created_at=made, created_by="x"))
    engine.dispose()
    r = invoke(s, "segment", "show", "typos", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["count"] == 1, out(r)
    r = invoke(s, "segment", "show", "typos")
    assert r.exit_code == 0 and "America/New_Yrok" in r.stdout, out(r)
    r = invoke(s, "segment", "preview", "typos", "--json")
    assert r.exit_code == 0 and [m["customer_id"] for m in json.loads(r.stdout)["sample"]] == ["cus_c"], out(r)
    r = invoke(s, "segment", "preview", "nope")
    assert r.exit_code == 1 and "no segment 'nope'" in out(r)
