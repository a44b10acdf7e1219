"""Setting a journey's search attributes (domain/journey_attributes.py) from the workflow: typed keys,
and only the values that changed since the last upsert (each upsert is an event in the history)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.journey_attributes import SEARCH_ATTRIBUTES

# the typed keys, made once (immutable; making one per upsert showed in the worker's profile)
BOOL_KEYS = {name: SearchAttributeKey.for_bool(name) for name, kind in SEARCH_ATTRIBUTES.items() if kind == "Bool"}
KEYWORD_KEYS = {
    name: SearchAttributeKey.for_keyword(name) for name, kind in SEARCH_ATTRIBUTES.items() if kind == "Keyword"
}


def upsert_changes(seen: dict[str, str | bool], wanted: dict[str, str | bool]) -> dict[str, str | bool]:
    """Upsert what differs from `seen`; returns what is set now."""
    updates: list[SearchAttributeUpdate] = []
    for name, value in wanted.items():
        if seen.get(name) == value:
            continue
        if SEARCH_ATTRIBUTES[name] == "Bool":
            updates.append(BOOL_KEYS[name].value_set(bool(value)))
        else:
            updates.append(KEYWORD_KEYS[name].value_set(str(value)))
    if updates:
        workflow.upsert_search_attributes(updates)
    return {**seen, **wanted}
