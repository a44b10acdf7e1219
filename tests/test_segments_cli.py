"""`tenure segment create|list|show|preview`, from a file or from options; a wrong file names the field."""

from __future__ import annotations

import json

from domain.segments import SegmentProjection
from settings import Settings
from storage.engine import create_engine_for
from storage.migrate import db_upgrade
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
