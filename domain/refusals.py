"""Why a journey refuses a request, as codes every layer can act on without parsing English.

The journey raises `Refused(code, message)`; the workflow hands the code on in its
`ApplicationError` (type `Refused`, first detail the code); the client turns it into a typed
error, and the API and the CLI map the code's kind to their answers (422 / 409, an exit status).
"""

from __future__ import annotations

from typing import Literal, get_args

RefusalCode = Literal[
    # the request can never succeed as given (HTTP 422)
    "reward_required",
    "unknown_reward",
    "points_not_positive",
    "below_minimum",
    "not_whole_cents",
    "zero_adjustment",
    "unknown_tier",
    "until_not_future",
    "program_lacks_tier",
    "same_program",
    "answer_expired",
    "malformed_touch",
    # the member's state stands in the way (HTTP 409)
    "member_inactive",
    "insufficient_points",
    "reward_unavailable",
    "balance_too_low",
    "credit_refused",
]

REFUSAL_CODES: tuple[str, ...] = get_args(RefusalCode)

# Refusals a client cannot overcome by waiting: the request itself is wrong.
INVALID: frozenset[str] = frozenset(
    {
        "reward_required",
        "unknown_reward",
        "points_not_positive",
        "below_minimum",
        "not_whole_cents",
        "zero_adjustment",
        "unknown_tier",
        "until_not_future",
        "program_lacks_tier",
        "same_program",
        "malformed_touch",  # a campaign touch without the terms its kind needs
        "answer_expired",  # the request id was used long ago: the request cannot run again, nor be answered
    }
)

# ApplicationError.type of a refusal raised by a workflow update or its validator.
REFUSED_ERROR_TYPE = "Refused"


class Refused(ValueError):
    """A request the account cannot honour: `code` says why for machines, the message for people."""

    def __init__(self, code: RefusalCode, message: str):
        super().__init__(message)
        self.code: RefusalCode = code
        self.message = message


def is_invalid(code: str) -> bool:
    """True when the request can never succeed as given (rather than conflicting with the state)."""
    return code in INVALID
