"""What a translation yields: an event for one customer's journey, or the reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.messages import CustomerEvent


@dataclass(frozen=True)
class Delivery:
    """One domain event for one customer's journey (signal-with-start)."""

    customer_id: str
    event: CustomerEvent
    source: str = ""


@dataclass(frozen=True)
class Ignored:
    """A well-formed, authentic payload that asks nothing of any journey (answered 2xx)."""

    reason: str
    ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
