"""What a customer id may look like: it becomes a workflow id (`customer-{id}`), so it is checked at the door."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from starter.api.errors import ApiError

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,199}$"
CUSTOMER_ID_RE = re.compile(CUSTOMER_ID_PATTERN)
CustomerId = Annotated[
    str,
    Field(
        pattern=CUSTOMER_ID_PATTERN,
        description="The billing system's customer id (Stripe: `cus_...`); 1-200 of A-Z a-z 0-9 _ . : @ + -.",
        examples=["cus_NffrFeUfNV2Hib"],
    ),
]


def check_customer_id(customer_id: str, where: str = "customer_id") -> str:
    """The id as given, or a 422 that names the field it came from."""
    if not isinstance(customer_id, str) or not CUSTOMER_ID_RE.match(customer_id):
        raise ApiError(
            422,
            f"invalid {where}: {customer_id!r}",
            [{"field": where, "message": f"must match {CUSTOMER_ID_PATTERN}", "type": "string_pattern_mismatch"}],
        )
    return customer_id
