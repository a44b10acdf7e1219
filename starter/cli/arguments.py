"""Arguments several commands take, checked as the API checks them: a customer id that no journey can have
(`customer-{id}` is its workflow id) is a usage error that says what an id looks like, not "no journey"."""

from __future__ import annotations

from typing import Annotated

import typer

from starter.ingress.customer_ids import CUSTOMER_ID_RE

ID_RULE = "1-200 of A-Z a-z 0-9 _ . : @ + -, starting with a letter or digit"


def customer_id(value: str | None) -> str | None:
    if value is not None and not CUSTOMER_ID_RE.match(value):
        shown = value if len(value) <= 60 else value[:60] + "…"
        raise typer.BadParameter(f"{shown!r} is not a customer id: the billing system's id, e.g. cus_123 ({ID_RULE})")
    return value


CustomerArg = Annotated[
    str,
    typer.Argument(help="The billing system's customer id, e.g. cus_123.", show_default=False, callback=customer_id),
]
