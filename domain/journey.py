"""The customer workflow's start argument: a new journey, or one carried over continue-as-new."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
    model_validator,
)

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
    """A run's start input. Its program comes one of two ways:

    - `program`, the whole program (every input written before the program store, and tools that
      have no store): replayed and continued as ever;
    - `program_hash`, the sha256 of the program's canonical JSON (domain/program/content.py), which
      the worker resolves from the content-addressed store; some 6.5 KB less in every start, and in
      what the worker keeps of every cached run. With the hash, a carried-over `account` travels
      without its program (the hash names it) and `carried_account` gives it back.
    """

    customer_id: str
    program: Program | None = Field(None, description="The whole program (inputs without `program_hash`).")
    program_hash: str | None = Field(
        None, pattern=r"^sha256:[0-9a-f]{64}$", description="The program by content hash (domain/program/content.py)."
    )
    account: Account | None = Field(None, description="Set when carried over continue-as-new.")
    outbox: Effects = Field(default_factory=Effects, description="Effects not yet delivered at the hand-over.")
    history_budget: int = Field(
        HISTORY_BUDGET, ge=50, description="Continue-as-new once the history is this long (or the server suggests it)."
    )
    generation: int = Field(0, description="How many times this journey has continued as new.")
    rules_version: int = Field(
        0, ge=0, description="The rules generation of this run (0: runs started before versions existed)."
    )
    # the carried-over account's fields, without its program, until `carried_account` is given it
    _account_fields: dict[str, Any] | None = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _program_one_way(
        cls, data: Any, handler: ModelWrapValidatorHandler[JourneyInput], info: ValidationInfo
    ) -> JourneyInput:
        fields = None
        if isinstance(data, dict) and isinstance(data.get("account"), dict) and "program" not in data["account"]:
            if data.get("program_hash") is None:
                raise ValueError("account: a carried-over account without its program needs program_hash")
            data = dict(data)
            fields = data.pop("account")
        made: JourneyInput = handler(data)
        if (made.program is None) == (made.program_hash is None):
            raise ValueError("exactly one of program and program_hash must be given")
        if fields is not None:
            made._account_fields = fields
        return made

    @model_serializer(mode="wrap")
    def _without_repeats(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.program_hash is None:
            data.pop("program_hash", None)  # an input with the whole program, as it always was
            return data
        data.pop("program", None)
        if isinstance(data.get("account"), dict):
            data["account"].pop("program", None)  # the hash names it
        return data

    def carried_account(self, program: Program) -> Account | None:
        """The carried-over account under `program` (the one `program_hash` names), if any."""
        if self.account is not None:
            return self.account
        fields, self._account_fields = self._account_fields, None  # the account holds them from now on
        if fields is None:
            return None
        return Account.model_validate({**fields, "program": program})

    @classmethod
    def new(cls, customer_id: str, program: Program | None = None, **extra: Any) -> JourneyInput:
        """The input of a journey that starts now: the newest rules (give `program` or `program_hash=`)."""
        return cls(customer_id=customer_id, program=program, rules_version=RULES_VERSION, **extra)
