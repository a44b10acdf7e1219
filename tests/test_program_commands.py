"""`tenure program check | show | diff`, run as a user would (CliRunner on the whole CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.program import Program, parse_program
from settings import Settings
from starter import cli

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "program.toml"
CUSTOM = """version = "2026-12"
[earning]
monthly_payment = 150
[winback.playbooks.too_expensive]
offer.percent_off = 30
[dunning]
email_days = [0, 2]
"""


def tenure(*args: str, settings: Settings | None = None):
    runner = CliRunner()
    return runner.invoke(cli.app, list(args), obj=settings, env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture
def custom(tmp_path: Path) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(CUSTOM)
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(
        SHIPPED.read_text()
        .replace("monthly_payment = 100", 'monthly_payment = "lots"')
        .replace("threshold = 2500", "threshold = 900")
        .replace('"at_risk_nudge",', '"at_risk_nudges",')
    )
    return path


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---- check ---------------------------------------------------------------------------------------


def test_check_of_the_shipped_file_finds_every_rule_at_its_default():
    r = tenure("program", "check", str(SHIPPED))
    assert r.exit_code == 0, r.stderr
    assert "program 2026-11-default is valid" in r.stdout and "Every rule is the default." in r.stdout
    assert r.stderr == ""


def test_check_lists_what_differs_from_the_defaults(custom):
    r = tenure("program", "check", str(custom))
    assert r.exit_code == 0, r.stderr
    assert lines(r.stdout)[1:] == [
        "3 rules differ from the defaults:",
        "earning.monthly_payment: 100 → 150",
        "winback.playbooks.too_expensive.offer.percent_off: 25 → 30",
        "dunning.email_days: [0.0, 3.0, 7.0] → [0.0, 2.0]",
    ]


def test_check_reads_the_configured_file_by_default(custom, tmp_path):
    r = tenure("program", "check", settings=Settings(data_dir=tmp_path, program_path=custom))
    assert r.exit_code == 0 and str(custom) in r.stdout and "3 rules differ" in r.stdout


def test_check_names_every_fault_of_an_invalid_file_on_stderr(broken):
    r = tenure("program", "check", str(broken))
    assert r.exit_code == 2 and r.stdout == ""
    assert lines(r.stderr) == [
        f"error: {broken} is not a valid program:",
        "earning.monthly_payment: Input should be a valid integer, unable to parse string as an integer",
        "tiers.levels.2.threshold: threshold of 'gold' (900) must be above 'silver' (1000)",
        "comms.marketing.3: no email template for purpose 'at_risk_nudges'",
    ]


def test_check_of_a_missing_file_or_not_toml_exits_2(tmp_path):
    r = tenure("program", "check", str(tmp_path / "missing.toml"))
    assert r.exit_code == 2 and "program file" in r.stderr and "not found" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("version = \n")
    r = tenure("program", "check", str(bad))
    assert r.exit_code == 2 and "not valid TOML" in r.stderr


# ---- show ----------------------------------------------------------------------------------------


def test_show_prints_the_effective_program_as_toml_that_parses_back(custom):
    r = tenure("program", "show", str(custom))
    assert r.exit_code == 0, r.stderr
    assert parse_program(r.stdout) == parse_program(CUSTOM)
    assert "[winback.playbooks.involuntary.offer]" in r.stdout, "every rule spelled out, the defaults too"


def test_show_json_is_the_program_journeys_carry(custom):
    r = tenure("program", "show", "--json", str(custom))
    assert r.exit_code == 0, r.stderr
    p = Program.model_validate_json(r.stdout)
    assert p == parse_program(CUSTOM) and json.loads(r.stdout)["earning"]["monthly_payment"] == 150


def test_show_reads_the_configured_file_and_refuses_an_invalid_one(broken, tmp_path):
    r = tenure("program", "show", settings=Settings(data_dir=tmp_path, program_path=SHIPPED))
    assert r.exit_code == 0 and parse_program(r.stdout) == parse_program(SHIPPED.read_text())
    r = tenure("program", "show", str(broken))
    assert r.exit_code == 2 and r.stdout == "" and "tiers.levels.2.threshold" in r.stderr


# ---- diff ----------------------------------------------------------------------------------------


def test_diff_of_two_files_lists_each_change_and_exits_1(custom):
    r = tenure("program", "diff", str(SHIPPED), str(custom))
    assert r.exit_code == 1, r.stderr
    assert lines(r.stdout) == [
        f"4 rules differ from {SHIPPED} to {custom}:",
        'version: "2026-11-default" → "2026-12"',
        "earning.monthly_payment: 100 → 150",
        "winback.playbooks.too_expensive.offer.percent_off: 25 → 30",
        "dunning.email_days: [0.0, 3.0, 7.0] → [0.0, 2.0]",
    ]


def test_diff_of_the_same_program_written_two_ways_exits_0(tmp_path):
    """The shipped file spells out every rule; a file with only the version is the same program."""
    short = tmp_path / "short.toml"
    short.write_text('version = "2026-11-default"\n')
    r = tenure("program", "diff", str(SHIPPED), str(short))
    assert r.exit_code == 0 and "are the same program" in r.stdout


def test_diff_with_an_invalid_or_missing_file_exits_2_naming_the_faults_of_both(broken, tmp_path):
    missing = tmp_path / "missing.toml"
    r = tenure("program", "diff", str(broken), str(missing))
    assert r.exit_code == 2 and r.stdout == ""
    assert "earning.monthly_payment" in r.stderr and f"program file {missing} not found" in r.stderr
