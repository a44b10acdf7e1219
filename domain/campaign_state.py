"""What a journey keeps of the campaigns that reached it; plain data carried through continue-as-new.

Bounded like the journey's other memories: every campaign id applied, for good, as a 12-byte
digest (so a campaign reaches a member once, at any distance); the latest answers in full; the
multiplier windows, offers and challenges only while they can still matter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from .campaign_touch import ChallengeTerms, MultiplierWindow, TouchResult
from .deduplication import KeptKeys

RESULTS_KEPT = 100


class ActiveWindow(BaseModel):
    """A multiplier window this member is in; `cap` is the most extra points it may add (None: no cap)."""

    campaign_id: str
    reason: str
    actor: str
    window: MultiplierWindow
    cap: int | None = None
    extra_granted: int = 0


class CampaignOffer(BaseModel):
    """A campaign's win-back or retention offer, live until `expires_at`."""

    campaign_id: str
    reason: str
    actor: str
    kind: Literal["discount", "bonus_points"]
    expires_at: datetime
    template_id: str | None = None
    percent_off: int | None = None
    code: str | None = Field(None, description="The discount code, once billing created it.")
    bonus_points: int = 0
    redeemed_at: datetime | None = None


class CampaignChallenge(BaseModel):
    """A time-boxed challenge the member joined through a campaign."""

    campaign_id: str
    actor: str
    terms: ChallengeTerms
    starts_at: datetime
    bonus_points: int = 0
    progress: int = 0
    done_at: datetime | None = None


class CampaignMemory(BaseModel):
    applied: KeptKeys = Field(default_factory=KeptKeys, description="Every campaign id applied, as digests.")
    results: dict[str, TouchResult] = Field(default_factory=dict, description=f"The last {RESULTS_KEPT} answers.")
    windows: list[ActiveWindow] = Field(default_factory=list)
    offers: list[CampaignOffer] = Field(default_factory=list)
    challenges: list[CampaignChallenge] = Field(default_factory=list)

    def __bool__(self) -> bool:
        """Whether anything is live that earnings, payments or the clock must consult."""
        return bool(self.windows or self.offers or self.challenges)
