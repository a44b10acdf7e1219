"""A pydantic model that keeps one "fields set" per class instead of one per instance.

pydantic gives every model instance its own set of the fields that were set explicitly
(`model_fields_set`), read only by `exclude_unset` dumps, which nothing in a journey's state
makes (domain/checkpoint.py says the same). A set of five or more names takes 728 bytes, more than
the instance's field dict: for a journey's account (lots, payments, ledger entries, timeline)
these sets were a fifth of what a cached journey holds in the worker (bench/RESULTS.md). A
`Compact` model's instances all share one set of every field name: assigning a field adds a name
already there, so the shared set never changes. Equality, serialization and validation do not
read it, so behaviour, and replay, are unchanged.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel

_EVERY_FIELD: dict[type, set[str]] = {}


def _every_field(cls: type[BaseModel]) -> set[str]:
    found = _EVERY_FIELD.get(cls)
    if found is None:
        found = _EVERY_FIELD.setdefault(cls, set(cls.model_fields))
    return found


class Compact(BaseModel):
    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        object.__setattr__(self, "__pydantic_fields_set__", _every_field(type(self)))

    def model_copy(self, *, update: Any = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)  # its own copy of the set: shared again
        object.__setattr__(copied, "__pydantic_fields_set__", _every_field(type(copied)))
        return copied
