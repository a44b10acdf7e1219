"""A rejection: something a journey set aside, kept in the account for support (the `summary` query).

How things get set aside is domain/quarantine.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .effects import LedgerEntry


class Rejection(BaseModel):
    """One thing set aside: an event not applied, or a ledger entry not written."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    what: Literal["event", "ledger_entry"]
    ref: str | None = Field(None, description="The event id (None when the payload had none), or the entry's key.")
    type: str | None = Field(None, description="The event type, or the entry kind.")
    reason: str
    entry: LedgerEntry | None = Field(None, description="The entry that could not be written.")
