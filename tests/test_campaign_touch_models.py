"""The campaign touch contract (domain/campaign_touch.py): what a touch must hold for its kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from domain.campaign_touch import CampaignTouch, MultiplierWindow, OfferTerms, TouchResult

START = datetime(2026, 12, 12, 5, tzinfo=UTC)
END = datetime(2026, 12, 14, 5, tzinfo=UTC)


def touch(**fields) -> CampaignTouch:
    return CampaignTouch.model_validate(
        {"campaign_id": "c-1", "reason": "thank you", "actor": "marketer:ann", **fields}
    )


def test_each_kind_needs_its_terms() -> None:
    assert touch(kind="bonus", bonus_points=100).bonus_points == 100
    assert touch(kind="announcement", template_id="d-news").template_id == "d-news"
    for kind, needed in [
        ("bonus", "bonus_points"),
        ("multiplier", "multiplier"),
        ("announcement", "template_id"),
        ("offer", "offer"),
        ("challenge", "challenge"),
        ("publish_program", "program"),
    ]:
        with pytest.raises(ValidationError, match=f"{needed} is required for a {kind} campaign"):
            touch(kind=kind)


def test_terms_of_another_kind_are_refused() -> None:
    with pytest.raises(ValidationError, match="bonus_points belongs to a bonus campaign"):
        touch(kind="announcement", template_id="d-news", bonus_points=5)


def test_a_template_may_come_with_any_kind() -> None:
    assert touch(kind="bonus", bonus_points=5, template_id="d-bonus").template_id == "d-bonus"


def test_bounds() -> None:
    with pytest.raises(ValidationError):
        touch(kind="bonus", bonus_points=0)
    with pytest.raises(ValidationError):
        touch(kind="bonus", bonus_points="100")
    with pytest.raises(ValidationError):
        touch(kind="bonus", bonus_points=5, max_points=-1)
    with pytest.raises(ValidationError):
        touch(kind="bonus", bonus_points=5, campaign_id="")
    with pytest.raises(ValidationError, match="exactly one of"):
        OfferTerms(percent_off=20, bonus_points=100)
    with pytest.raises(ValidationError, match="exactly one of"):
        OfferTerms()


def test_multiplier_window() -> None:
    with pytest.raises(ValidationError, match="ends_at must be after"):
        MultiplierWindow(factor=2, starts_at=END, ends_at=START, applies_to={"payments"})
    with pytest.raises(ValidationError):
        MultiplierWindow(factor=1, starts_at=START, ends_at=END, applies_to={"payments"})
    with pytest.raises(ValidationError):
        MultiplierWindow(factor=2, starts_at=START, ends_at=END, applies_to=set())
    naive = MultiplierWindow(factor=2, starts_at=datetime(2026, 12, 12), ends_at=END, applies_to={"payments"})
    assert naive.starts_at.tzinfo is not None, "a time without a zone is an instant in UTC"
    window = MultiplierWindow(factor=2, starts_at=START, ends_at=END, applies_to={"payments", "activity"})
    assert window.model_dump(mode="json")["applies_to"] == ["activity", "payments"]
    again = touch(kind="multiplier", multiplier=window.model_dump(mode="json"))
    assert again.multiplier == window


def test_result_round_trips() -> None:
    result = TouchResult(campaign_id="c-1", outcome="skipped", reason="capped", email="suppressed")
    assert TouchResult.model_validate_json(result.model_dump_json()) == result
