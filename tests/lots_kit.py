"""An account holding lots described in a line each, for the property tests of lot deadlines and moments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain import lots as L
from domain.account import Account
from domain.program import parse_program
from domain.rules import AccountRules

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = parse_program((ROOT / "program.toml").read_text())
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rules_with_lots(specs: Iterable[tuple[float, int, set[int]]], lifecycle: bool) -> AccountRules:
    """Lots of 3 points each, from (days after T0 earned, points remaining, warnings already sent)."""
    a = Account.open("cus_1", PROGRAM, T0)
    a.lots = [
        L.Lot(
            lot_id=f"lot{i:03d}",
            source="test",
            earned_at=T0 + timedelta(days=day),
            expires_at=T0 + timedelta(days=day + 365),
            points=3,
            remaining=remaining,
            warned=sorted(warned),
        )
        for i, (day, remaining, warned) in enumerate(specs)
    ]
    return AccountRules(a, lifecycle=lifecycle)
