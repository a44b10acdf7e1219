"""The base of every program section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are typos: refuse them instead of silently ignoring a rule. Frozen: journeys share one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
