"""The customer workflow's start argument: a new journey, or one carried over continue-as-new."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .account import Account
from .effects import Effects
from .program import Program

WORKFLOW_NAME = "CustomerJourney"

# The journey's handlers, by name: the workflow registers them, TenureClient calls them.
EVENT_SIGNAL = "event"
REDEEM_UPDATE = "redeem"
ADJUST_UPDATE = "adjust"
SET_MINIMUM_TIER_UPDATE = "set_minimum_tier"
ADOPT_PROGRAM_UPDATE = "adopt_program"
SUMMARY_QUERY = "summary"
LEDGER_QUERY = "ledger"
TIMELINE_QUERY = "timeline"
RECONCILE_QUERY = "reconcile"
HISTORY_BUDGET = 2000


def workflow_id(customer_id: str) -> str:
    return f"customer-{customer_id}"


class JourneyInput(BaseModel):
    customer_id: str
    program: Program
    account: Account | None = Field(None, description="Set when carried over continue-as-new.")
    outbox: Effects = Field(default_factory=Effects, description="Effects not yet delivered at the hand-over.")
    history_budget: int = Field(
        HISTORY_BUDGET, ge=50, description="Continue-as-new once the history is this long (or the server suggests it)."
    )
    generation: int = Field(0, description="How many times this journey has continued as new.")
