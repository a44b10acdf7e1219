"""What a journey remembers so that every fact, payment, refund and request counts once, at any distance.

Two memories, both compact, since they travel through every continue-as-new and so into history:

- Business keys, for good: an invoice paid, a refund, a SendGrid event, a referral event, a
  redemption or adjustment request id. A handful a month per member, never forgotten.
- Event ids, for `DEDUPLICATION_HORIZON_DAYS` (domain/journey.py): every other fact's id, in day
  buckets by arrival, dropped once the day is past the horizon. A fact that says it is older than
  the horizon (`occurred_at`) is refused at the door and by the journey, since its id may be
  forgotten; a fact without `occurred_at` repeated past the horizon is not recognised.

Each key or id is kept as a 9-byte BLAKE2b digest (72 bits: for a member with 100,000 ids the
chance that a new id matches an old digest is below 10^-16), written as 12 base64 characters;
9 bytes are a whole number of base64 quanta, so a memory grows by appending text. The digests
are looked up in a set built on first use, not stored.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from .compact import Compact

DIGEST_BYTES = 9
DIGEST_CHARS = DIGEST_BYTES * 4 // 3  # 12


def digest(text: str) -> str:
    """The 12-character base64 digest of a key or an event id."""
    return base64.b64encode(hashlib.blake2b(text.encode(), digest_size=DIGEST_BYTES).digest()).decode()


def _private(model: BaseModel) -> dict[str, Any]:
    """A model's private attributes: a plain dict, read per event faster than through the attribute."""
    private = model.__pydantic_private__
    assert private is not None, "the model declares a private attribute"
    return private


def _split(chunks: str) -> list[str]:
    return [chunks[i : i + DIGEST_CHARS] for i in range(0, len(chunks), DIGEST_CHARS)]


class KeptKeys(Compact):
    """Business keys remembered for good: their digests, end to end."""

    digests: str = ""
    _index: set[str] | None = PrivateAttr(None)

    def _keys(self) -> set[str]:
        private = _private(self)
        if private["_index"] is None:
            private["_index"] = set(_split(self.digests))
        return private["_index"]

    def has(self, key: str) -> bool:
        return digest(key) in self._keys()

    def add(self, key: str) -> None:
        d = digest(key)
        if d not in self._keys():
            self.digests += d
            self._keys().add(d)

    def __len__(self) -> int:
        return len(self.digests) // DIGEST_CHARS


class RecentIds(Compact):
    """Event ids seen within the horizon: digests end to end, in one bucket per day of arrival."""

    days: dict[str, str] = Field(default_factory=dict, description="YYYY-MM-DD -> digests of that day's ids.")
    _index: set[str] | None = PrivateAttr(None)

    def _ids(self) -> set[str]:
        private = _private(self)
        if private["_index"] is None:
            private["_index"] = {d for chunks in self.days.values() for d in _split(chunks)}
        return private["_index"]

    def seen(self, event_id: str) -> bool:
        return digest(event_id) in self._ids()

    def remember(self, event_id: str, now: datetime, horizon_days: int) -> None:
        day = now.date().isoformat()
        if day not in self.days:
            self.prune(now, horizon_days)
        d = digest(event_id)
        self.days[day] = self.days.get(day, "") + d
        self._ids().add(d)

    def prune(self, now: datetime, horizon_days: int) -> None:
        """Forget the days past the horizon, keeping one day more: a day's bucket is kept whole."""
        oldest = (now - timedelta(days=horizon_days + 1)).date().isoformat()
        old = [day for day in self.days if day < oldest]
        for day in old:
            del self.days[day]
        if old:
            _private(self)["_index"] = None

    def __len__(self) -> int:
        return sum(len(chunks) for chunks in self.days.values()) // DIGEST_CHARS


class Deduplication(Compact):
    """A journey's memory of what it applied (rules version 2 on; older runs keep `seen_events`)."""

    keys: KeptKeys = Field(default_factory=KeptKeys)
    recent: RecentIds = Field(default_factory=RecentIds)
