"""Jinja filters: dates, points and money the same way on every page. Times are UTC and say so
(support compares them with what a customer saw in their own zone); days are UTC days."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment

from domain.segment_words import in_words


def when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def points(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def number(value: int | None) -> str:
    """A count (members, entries), grouped in thousands as points are."""
    return "" if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    return "" if value is None else f"{value:+,}"


def money(value_minor: float | None, currency: str = "") -> str:
    return "" if value_minor is None else f"{value_minor / 100:,.2f} {currency}".strip()


def signed_money(value_minor: float | None, currency: str = "") -> str:
    """A difference of amounts: +1,234.50 USD, -0.75 USD."""
    return "" if value_minor is None else f"{value_minor / 100:+,.2f} {currency}".strip()


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def install_filters(env: Environment) -> None:
    env.filters.update(
        when=when,
        day=day,
        points=points,
        number=number,
        signed=signed,
        money=money,
        signed_money=signed_money,
        percent=percent,
        in_words=in_words,
    )
