"""Temporal's exceptions -> the client's typed errors (starter/client/errors.py), in one place."""

from __future__ import annotations

from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.refusals import REFUSAL_CODES, REFUSED_ERROR_TYPE

from .errors import JourneyError, JourneyFailed, JourneyRefused, JourneyUnavailable, NoJourney, TemporalRejected

UNREACHABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
# What the SDK's transport says when the HTTP/2 connection to the server broke mid-call (status
# CANCELLED): the server was reached, then lost; nothing about the call itself was refused.
DROPPED_CONNECTION_WORDS = ("h2 protocol error", "connection reset", "broken pipe", "connection closed")


def connection_dropped(e: RPCError) -> bool:
    """Whether `e` is the connection to Temporal breaking under a call (not Temporal refusing it):
    the call may or may not have arrived, and trying again is safe (every write has its key)."""
    lowered = e.message.lower()
    return e.status == RPCStatusCode.CANCELLED and any(words in lowered for words in DROPPED_CONNECTION_WORDS)


def journey_error(
    e: BaseException,
    customer_id: str | None,
    *,
    must_exist: bool = True,
    deadline: float | None = None,
    query_timeout: float | None = None,
) -> JourneyError | None:
    """The typed error for `e`, raised while asking `customer_id`'s journey something (None: Temporal
    itself); None when `e` is not Temporal's (a bug: let it through).

    `must_exist`: NOT_FOUND means the customer has no journey (False for signal-with-start, where it
    can only mean a missing namespace). `deadline`: the seconds the whole call was allowed;
    `query_timeout`: the seconds Temporal could look for a worker to answer.
    """
    if isinstance(e, TimeoutError) and deadline is not None:  # the client's own deadline ran out
        return JourneyUnavailable(
            f"no answer within {deadline:g} s", kind="timed_out", customer_id=customer_id, timeout=deadline
        )
    if isinstance(e, RPCError):
        return _rpc_error(e, customer_id, must_exist, query_timeout)
    if isinstance(e, WorkflowUpdateFailedError):
        return _refusal(e)
    if isinstance(e, WorkflowUpdateRPCTimeoutOrCancelledError):
        return JourneyUnavailable(str(e), kind="timed_out", customer_id=customer_id)
    if isinstance(e, WorkflowQueryFailedError):
        return JourneyFailed(customer_id, str(e))
    if isinstance(e, OSError):  # ConnectionError and the network's own timeouts included
        return JourneyUnavailable(str(e), customer_id=customer_id)
    return None


def _rpc_error(e: RPCError, customer_id: str | None, must_exist: bool, query_timeout: float | None) -> JourneyError:
    status, message = e.status, e.message
    name = status.name if status else "error"
    lowered = message.lower()
    # "Namespace nope is not found.": the settings name a namespace that is none, not a missing journey
    namespace_missing = lowered.startswith("namespace ") and "not found" in lowered
    if status == RPCStatusCode.NOT_FOUND and must_exist and customer_id is not None and not namespace_missing:
        return NoJourney(customer_id)
    # Temporal's words are the only sign that no worker took a query: a deadline that ran out
    # waiting for one, or a task queue nobody polls.
    deadline_passed = status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED) and (
        "timeout" in lowered or "timed out" in lowered
    )
    if deadline_passed or (status == RPCStatusCode.FAILED_PRECONDITION and "poller" in lowered):
        return JourneyUnavailable(
            message, kind="no_worker", customer_id=customer_id, status=name, timeout=query_timeout
        )
    if status == RPCStatusCode.FAILED_PRECONDITION and "workflow task in failed state" in lowered:
        # the journey's workflow task fails on every attempt (a payload under a key the worker lacks, a bug):
        # it answers nothing until that is mended; `tenure doctor` says why
        return JourneyUnavailable(message, kind="stuck", customer_id=customer_id, status=name)
    if status in UNREACHABLE or connection_dropped(e):
        return JourneyUnavailable(message, customer_id=customer_id, status=name)
    return TemporalRejected(name, message)


def _refusal(e: WorkflowUpdateFailedError) -> JourneyRefused:
    """The journey's refusal (its validator or the update): the code is the first detail."""
    cause: BaseException | None = e.cause
    while cause is not None and not isinstance(cause, ApplicationError) and cause.__cause__ is not None:
        cause = cause.__cause__
    if not isinstance(cause, ApplicationError):
        return JourneyRefused(None, str(cause or e))
    message = cause.message or str(cause)
    code = cause.details[0] if cause.details else None
    if cause.type == REFUSED_ERROR_TYPE and isinstance(code, str) and code in REFUSAL_CODES:
        return JourneyRefused(code, message)
    return JourneyRefused(None, message)  # not a refusal of the rules (e.g. a failed update): a conflict
