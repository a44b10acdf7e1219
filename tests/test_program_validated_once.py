"""A program's content is validated once per process (domain/program/model.py): the same content
gives the same frozen instance, any other content its own, and a wrong one is refused every time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from domain.journey import JourneyInput
from domain.program import Program, parse_program

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = parse_program((ROOT / "program.toml").read_text(), "program.toml")


def test_the_same_content_decodes_to_the_same_program():
    inputs = TypeAdapter(JourneyInput)
    first = inputs.validate_json(JourneyInput(customer_id="a", program=PROGRAM).model_dump_json())
    second = inputs.validate_json(JourneyInput(customer_id="b", program=PROGRAM).model_dump_json())
    assert first.program is second.program
    assert first.program == PROGRAM
    reordered = json.dumps(dict(reversed(list(json.loads(PROGRAM.model_dump_json()).items()))))
    assert Program.model_validate_json(reordered) is first.program, "the same content in another key order"


def test_other_content_is_another_program():
    data = json.loads(PROGRAM.model_dump_json())
    other_text = json.dumps({**data, "version": data["version"] + "-other"})
    other = Program.model_validate_json(other_text)
    same = Program.model_validate_json(json.dumps(data))
    assert other is not same
    assert other.version == PROGRAM.version + "-other" and same.version == PROGRAM.version
    assert Program.model_validate_json(other_text) is other


def test_a_wrong_program_is_refused_every_time():
    data = json.loads(PROGRAM.model_dump_json())
    data["tiers"]["levels"][1]["threshold"] = data["tiers"]["levels"][2]["threshold"] + 1  # out of order
    for _ in range(2):
        with pytest.raises(ValidationError):
            Program.model_validate_json(json.dumps(data))


def test_python_input_is_validated_as_usual():
    data = json.loads(PROGRAM.model_dump_json())
    first = Program.model_validate(data)
    assert first == PROGRAM and Program.model_validate(data) is not first
    assert Program(version="v1") == Program(version="v1")  # __init__ validates into its own instance


def test_a_program_instance_is_taken_as_it_is(monkeypatch: pytest.MonkeyPatch):
    """A `Program` handed to a model (an account opened under it) is not validated again: pydantic ran
    the cross-section rules of the frozen instance once more for every journey opened or replayed."""
    from datetime import UTC, datetime

    import domain.program.model as model
    from domain.account import Account

    walked: list[int] = []
    checks = model.cross_section_problems
    monkeypatch.setattr(model, "cross_section_problems", lambda *args: walked.append(1) or checks(*args))
    account = Account.open("c1", PROGRAM, datetime(2026, 1, 1, tzinfo=UTC))
    assert account.program is PROGRAM
    assert Program.model_validate(PROGRAM) is PROGRAM
    assert walked == []
    Program.model_validate(json.loads(PROGRAM.model_dump_json()))  # a dict is validated, rules and all
    assert walked == [1]
