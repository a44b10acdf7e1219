"""What can go wrong when a journey is asked something: the only errors `TenureClient` raises.

Each caller maps them to its own answer — the HTTP API to statuses (`starter/api/errors.py`), the
CLI to its messages and exit statuses (`starter/cli/context.py`) — so nobody outside the client
looks at Temporal's exceptions.
"""

from __future__ import annotations

from typing import Literal

from domain.refusals import is_invalid

UnavailableKind = Literal["unreachable", "no_worker", "timed_out", "stuck"]


class JourneyError(Exception):
    """Base of every error `TenureClient` raises."""


class NoJourney(JourneyError):
    """The customer has no journey. Updates and queries never open one; only events do."""

    def __init__(self, customer_id: str):
        super().__init__(f"no journey for customer {customer_id}")
        self.customer_id = customer_id


class JourneyRefused(JourneyError):
    """The journey refused an update: `code` (domain/refusals.py) says why, `message` in words.

    `invalid` is True when the request can never succeed as given, False when the member's state
    stands in the way; it follows from the code (`invalid=` is only for refusals without one).
    """

    def __init__(self, code: str | None, message: str, *, invalid: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.invalid = is_invalid(code) if code is not None else invalid


class JourneyUnavailable(JourneyError):
    """No answer: Temporal is unreachable (`unreachable`), no worker took the query (`no_worker`), or the
    call outlived its deadline (`timed_out`). Retrying later is safe.

    `reason` is what Temporal (or the network) said, `status` the gRPC status name when there is one,
    `timeout` the seconds waited when a deadline of the client ran out.
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: UnavailableKind = "unreachable",
        customer_id: str | None = None,
        status: str | None = None,
        timeout: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.kind: UnavailableKind = kind
        self.customer_id = customer_id
        self.status = status
        self.timeout = timeout


class TemporalRejected(JourneyError):
    """Temporal answered but refused the call itself (an invalid argument, a permission, a limit)."""

    def __init__(self, status: str, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class JourneyFailed(JourneyError):
    """The journey raised while answering a query: a fault in the journey, not in the request."""

    def __init__(self, customer_id: str | None, message: str):
        super().__init__(message)
        self.customer_id = customer_id
        self.message = message
