"""The lifecycle sections of the program live in `domain.program.lifecycle`; re-exported for their importers."""

from .program.lifecycle import (
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

__all__ = [
    "Badge",
    "Challenge",
    "CommsRules",
    "DunningRules",
    "EngagementRules",
    "HighValue",
    "Milestone",
    "Offer",
    "OfferKind",
    "OnboardingRules",
    "OnboardingStep",
    "Playbook",
    "PlaybookStep",
    "WinbackRules",
]
