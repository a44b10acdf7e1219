"""A program file's values over the defaults: tables merge key by key, everything else replaces.

A table (`[earning]`, `[winback.playbooks.too_expensive]`, `offer.percent_off = 30`) changes only
the keys it names, at any depth, including the tables keyed by name (`earning.activity`,
`winback.playbooks`): the other keys keep their default. A value that is not a table — a number,
a string, and every array, arrays of tables included (`[[tiers.levels]]`, `[[badges]]`,
`onboarding.steps`, `dunning.email_days`) — replaces the default whole: a list a file writes is
the list, so an item is removed by leaving it out and the order is the file's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def overlay(default: Any, value: Any, *, complete: bool = False) -> Any:
    """`value` (what a file says) over `default` (a model, a dict, or a plain value).

    Unless `complete`, of a model's keys the file leaves alone only those the default model was
    given explicitly are passed on, as the very objects they are; pydantic takes its own defaults
    for the rest, so a file that restates nothing parses to exactly the defaults (not re-validated:
    an int default of a float field stays the int it is today).
    With `complete`, every default key is kept (for reading the merged values as plain data).
    """
    if not isinstance(value, Mapping):
        return value
    if isinstance(default, BaseModel):
        fields = dict(default)
        base = {k: v for k, v in fields.items() if complete or k in default.model_fields_set}
    elif isinstance(default, Mapping):
        fields = base = dict(default)
    else:
        return dict(value)
    return base | {key: overlay(fields.get(key), item, complete=complete) for key, item in value.items()}


def plain(value: Any) -> Any:
    """Models, dicts and lists as plain data (what a TOML or JSON file would hold)."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
