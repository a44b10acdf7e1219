"""How a journey's refusal reaches its caller: an `ApplicationError` of type `Refused` whose first
detail is the refusal code (domain/refusals.py) and whose message is the rule's own words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from domain.refusals import REFUSED_ERROR_TYPE, Refused


def refusal_error(refused: Refused, non_retryable: bool = False) -> ApplicationError:
    return ApplicationError(refused.message, refused.code, type=REFUSED_ERROR_TYPE, non_retryable=non_retryable)


@contextmanager
def refusals_as_errors(non_retryable: bool = False) -> Iterator[None]:
    """Raise a domain `Refused` from the block as the ApplicationError a validator or update answers."""
    try:
        yield
    except Refused as e:
        raise refusal_error(e, non_retryable) from None
