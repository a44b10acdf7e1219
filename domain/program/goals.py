"""The program's goals: what the business wants the program to achieve, measured by the metrics
(domain/metrics.py) and shown with their progress in the console and `tenure metrics`.

A goal either asks a metric to grow by `change_percent` over `period_days` (the last period against
the one before it: "retention +15% in a year"), or to stay `at_least` a value over the last
`period_days` ("satisfaction at least 4.5 of 5").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .strict import Strict

GoalMetric = Literal["retention_rate", "referrals", "satisfaction", "participation_rate", "reactivation_rate"]


class Goal(Strict):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    metric: GoalMetric
    period_days: int = Field(ge=1, le=3650)
    change_percent: float | None = Field(None, description="Grow by this much against the period before.")
    at_least: float | None = Field(None, description="Stay at or above this value over the period.")

    @model_validator(mode="after")
    def _one_target(self) -> Goal:
        if (self.change_percent is None) == (self.at_least is None):
            raise ValueError("a goal has exactly one of change_percent or at_least")
        return self


def default_goals() -> list[Goal]:
    """The examples of the loyalty-program literature the brief names."""
    return [
        Goal(
            id="retention",
            title="Retention +15% in a year",
            metric="retention_rate",
            period_days=365,
            change_percent=15,
        ),
        Goal(
            id="referrals", title="Referrals +25% in six months", metric="referrals", period_days=182, change_percent=25
        ),
        Goal(
            id="satisfaction",
            title="Satisfaction at least 4.5 of 5",
            metric="satisfaction",
            period_days=90,
            at_least=4.5,
        ),
    ]
