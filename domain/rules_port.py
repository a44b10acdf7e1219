"""What the rule modules see of `AccountRules` (domain/rules.py): its interface, as a Protocol.

The facade imports every rule module (earning, tiers, expiry, the lifecycle journeys…) to
delegate to them; they in turn need the account, the program and a few shared operations.
Typing them against this interface instead of the facade keeps the imports one-way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .account import Account
    from .effects import Effects, EntryKind, LedgerEntry
    from .program import Program


class RulesPort(Protocol):
    a: Account
    p: Program
    lifecycle: bool
    grouped_warnings: bool
    version: int

    def spent(self, key: str) -> bool: ...

    def spend(self, key: str) -> None: ...

    def note(self, now: datetime, kind: str, text: str) -> None: ...

    def entry(
        self,
        fx: Effects,
        now: datetime,
        kind: EntryKind,
        origin: str,
        points: int = 0,
        pending_points: int = 0,
        *,
        lot_id: str | None = None,
        ref: str | None = None,
        reason: str | None = None,
        actor: str | None = None,
    ) -> LedgerEntry: ...

    def email(self, fx: Effects, now: datetime, purpose: str, origin: str, data: dict) -> None: ...

    def earn(
        self,
        fx: Effects,
        now: datetime,
        points: int,
        source: str,
        origin: str,
        ref: str | None = None,
        spend_minor: int = 0,
        qualifies: bool = True,
        actor: str | None = None,
    ) -> str | None: ...

    def check_adopt(self, program: Program) -> None: ...

    def adopt(self, fx: Effects, now: datetime, program: Program) -> None: ...

    def add_pending(
        self, fx: Effects, now: datetime, pending_id: str, points: int, source: str, ref: str | None, hold: timedelta
    ) -> None: ...

    def void_pending(self, fx: Effects, now: datetime, ref: str, why: str) -> int: ...
