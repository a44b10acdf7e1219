"""Point lots: every accrual is a lot with its own expiry; spending takes the oldest first.

Pure functions over a list of lots, so the arithmetic can be checked by properties:
the balance is the sum of live lots, and nothing is taken from a newer lot while an
older one still has points.

A lot is frozen: a change replaces it in its list (`replace`). An account holds hundreds of
lots, and a journey checkpoints its account before each event (domain/checkpoint.py): lots that
never change in place are shared by the checkpoint instead of copied.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from .compact import Compact


class Lot(Compact):
    model_config = ConfigDict(frozen=True)

    lot_id: str
    source: str
    ref: str | None = None
    earned_at: datetime
    expires_at: datetime
    points: int = Field(ge=0)
    remaining: int = Field(ge=0)
    warned: list[int] = Field(default_factory=list, description="Warning days already announced.")


def order_key(lot: Lot) -> tuple[datetime, str]:
    return (lot.earned_at, lot.lot_id)


def balance(lots: list[Lot]) -> int:
    return sum(lot.remaining for lot in lots)


def consume(lots: list[Lot], points: int, prefer: str | None = None) -> list[tuple[str, int]]:
    """Take `points` from the lots, oldest first (after the lot with id `prefer`, if given).

    Returns what was taken from which lot; takes less than asked only when the lots run dry.
    The lots taken from are replaced in `lots` by their new state.
    """
    if points < 0:
        raise ValueError("cannot consume a negative amount")
    ordered = sorted((lot for lot in lots if lot.remaining > 0), key=order_key)
    if prefer is not None:
        ordered.sort(key=lambda lot: lot.lot_id != prefer)  # stable: the rest stay oldest-first
    taken: list[tuple[str, int]] = []
    changed: dict[int, Lot] = {}
    left = points
    for lot in ordered:
        if left == 0:
            break
        take = min(lot.remaining, left)
        changed[id(lot)] = lot.model_copy(update={"remaining": lot.remaining - take})
        left -= take
        taken.append((lot.lot_id, take))
    replace(lots, changed)
    return taken


def expire_due(lots: list[Lot], now: datetime) -> list[tuple[str, int]]:
    """Expire every lot whose expiry has come; returns (lot_id, points lost) for lots that had points."""
    lost: list[tuple[str, int]] = []
    changed: dict[int, Lot] = {}
    for lot in sorted(lots, key=order_key):
        if lot.expires_at <= now and lot.remaining > 0:
            lost.append((lot.lot_id, lot.remaining))
            changed[id(lot)] = lot.model_copy(update={"remaining": 0})
    replace(lots, changed)
    return lost


def replace(lots: list[Lot], changed: dict[int, Lot]) -> None:
    """Put the new state of some lots in their place: `changed` maps id(old lot) to its new state."""
    if changed:
        lots[:] = [changed.get(id(lot), lot) for lot in lots]


def prune(lots: list[Lot]) -> list[Lot]:
    """Drop spent lots: state stays small over years of accruals."""
    return [lot for lot in lots if lot.remaining > 0]
