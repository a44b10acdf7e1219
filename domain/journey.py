"""The customer workflow's start argument: a new journey, or one carried over continue-as-new."""

from __future__ import annotations

from typing import Any

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
CAMPAIGN_UPDATE = "apply_campaign"  # a campaign reaches one member: CampaignTouch -> TouchResult
SUMMARY_QUERY = "summary"
LEDGER_QUERY = "ledger"
TIMELINE_QUERY = "timeline"
RECONCILE_QUERY = "reconcile"
UPCOMING_QUERY = "upcoming"  # what happens next and when (domain/upcoming.py)
ERASE_UPDATE = "erase_personal_data"  # new handler (domain/erasure.py): every rules version has it
ACCOUNT_QUERY = "account"  # the whole account, for `tenure member export`
HISTORY_BUDGET = 2000

# How far back a journey can tell a repeated event from a new one: facts older than this are
# refused at the door (and by the journey) rather than risk applying one twice.
DEDUPLICATION_HORIZON_DAYS = 400

# The generation of rules and orchestration a run follows. Journeys live for years, so a change
# that alters what a running journey does (its commands, or its rules) is made for the next
# version only: the code branches on the run's version, which is in the run's input and so in
# its history. New journeys start at RULES_VERSION; a run keeps its version until it continues
# as new, when it moves to the newest (a new run has no history to replay). Version 0 is every
# run started before versions existed: it still asks `workflow.patched` for the four changes
# made since the first release. Version 1 has them all, without patch markers. Version 2: nothing
# wedges a journey and nothing counts twice (README "Versioning" lists what differs): events are
# taken in by domain/intake.py (a compact memory instead of `seen_events`, business keys kept for
# good, facts past the deduplication horizon and events that fail rejected and recorded), ledger
# entries the ledger can never take are set aside, a redemption's retry waits for its credit.
# Version 3 (README "Versioning"): campaigns, billing periods, erasure.
# Version 4 (README "Segments"): the segment projection and its wake-ups, the reward-reachable email,
# the lifetime-spend badge. It follows 3 because journeys were recorded at 3 (tests/histories)
# before the projection existed, and they must replay as recorded.
# Also at 4 (the console): the journey sets its search attributes (an upsert is a command), a survey's
# score and the payment that brought a member back reach the ledger.
#
# New event types and new update handlers are the exception: no recorded history can hold one,
# so a run of any version handles them (a campaign reaches every member, whatever run they are on).
RULES_VERSION = 4


def workflow_id(customer_id: str) -> str:
    return f"customer-{customer_id}"


def customer_of(journey_id: str) -> str:
    """The customer id of a journey's workflow id (the inverse of `workflow_id`)."""
    return journey_id.removeprefix("customer-")


class JourneyInput(BaseModel):
    customer_id: str
    program: Program
    account: Account | None = Field(None, description="Set when carried over continue-as-new.")
    outbox: Effects = Field(default_factory=Effects, description="Effects not yet delivered at the hand-over.")
    history_budget: int = Field(
        HISTORY_BUDGET, ge=50, description="Continue-as-new once the history is this long (or the server suggests it)."
    )
    generation: int = Field(0, description="How many times this journey has continued as new.")
    rules_version: int = Field(
        0, ge=0, description="The rules generation of this run (0: runs started before versions existed)."
    )

    @classmethod
    def new(cls, customer_id: str, program: Program, **extra: Any) -> JourneyInput:
        """The input of a journey that starts now: the newest rules."""
        return cls(customer_id=customer_id, program=program, rules_version=RULES_VERSION, **extra)
