"""The event registry (domain/event_handlers.py) covers exactly the `CustomerEvent` union."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from domain.account import Account
from domain.effects import Effects
from domain.event_handlers import CONTACT_EVENTS, HANDLERS, apply_event
from domain.messages import CustomerEvent, PlanChanged
from domain.program import parse_program
from domain.rules import AccountRules

PROGRAM = parse_program((Path(__file__).resolve().parent.parent / "program.toml").read_text())
EVENT_TYPES = {model.model_fields["type"].default for model in get_args(get_args(CustomerEvent)[0])}


def test_every_event_type_has_a_handler_and_nothing_else_does():
    assert {"payment_succeeded", "activity", "referral_refunded"} <= EVENT_TYPES, "the union is read"
    assert set(HANDLERS) == EVENT_TYPES, "a handler per event type, and none for a type the signal cannot carry"
    assert CONTACT_EVENTS <= EVENT_TYPES


def test_an_event_is_applied_by_its_handler():
    now = datetime(2026, 3, 2, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_1", PROGRAM, now))
    apply_event(rules, Effects(), now, PlanChanged(event_id="e1", plan="pro", cadence="annual"))
    assert rules.a.timeline[-1].text == "plan changed to pro (annual)"
