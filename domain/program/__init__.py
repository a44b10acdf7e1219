"""The loyalty program: its model (`model`, `lifecycle`), its rules (`checks`), reading a file over
the defaults (`overlay`, `parse`), comparing two programs (`diff`) and writing one out (`render`).

The names the rest of Tenure imports from `domain.program` are re-exported here; `diff` and
`render` are imported from their modules by the tools that need them.
"""

from .lifecycle import (
    Badge,
    Challenge,
    CommsRules,
    DunningRules,
    EngagementRules,
    HighValue,
    Milestone,
    Offer,
    OfferKind,
    OnboardingRules,
    OnboardingStep,
    Playbook,
    PlaybookStep,
    WinbackRules,
)
from .model import (
    EMAIL_PURPOSES,
    ActivityRule,
    Cadence,
    EarningRules,
    EmailRules,
    EmailTemplates,
    PointsRules,
    Program,
    RedemptionRules,
    Reward,
    Tier,
    TierName,
    TierRules,
)
from .parse import ProgramError, default_program, parse_program, program_from_data

__all__ = [
    "EMAIL_PURPOSES",
    "ActivityRule",
    "Badge",
    "Cadence",
    "Challenge",
    "CommsRules",
    "DunningRules",
    "EarningRules",
    "EmailRules",
    "EmailTemplates",
    "EngagementRules",
    "HighValue",
    "Milestone",
    "Offer",
    "OfferKind",
    "OnboardingRules",
    "OnboardingStep",
    "Playbook",
    "PlaybookStep",
    "PointsRules",
    "Program",
    "ProgramError",
    "RedemptionRules",
    "Reward",
    "Tier",
    "TierName",
    "TierRules",
    "WinbackRules",
    "default_program",
    "parse_program",
    "program_from_data",
]
