"""LEGACY — delete this module once the workflow raises every refusal with a code.

Until the journey hands on a refusal code (`ApplicationError(message, code, type="Refused")`, see
domain/refusals.py), it raises `ApplicationError(message, type="Refused")` without details, and
`type="CreditRefused"` when billing refused a redemption's credit. This is the one place that
reads that older shape: a credit refusal becomes the code `credit_refused`; any other refusal gets
no code (none is guessed from its words) and keeps the answer it always had, 422 for the messages
below (the request can never succeed), 409 for the rest.
"""

from __future__ import annotations

from .errors import JourneyRefused

CREDIT_REFUSED_TYPE = "CreditRefused"
INVALID_PREFIXES = ("unknown reward", "reward_id is required", "points must", "at least ")


def legacy_refusal(error_type: str | None, message: str) -> JourneyRefused:
    if error_type == CREDIT_REFUSED_TYPE:
        return JourneyRefused("credit_refused", message)
    return JourneyRefused(None, message, invalid=message.startswith(INVALID_PREFIXES))
