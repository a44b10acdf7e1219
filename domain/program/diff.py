"""What differs between two programs, as dotted paths with the old and the new value.

Tables are compared key by key; a list of plain values (`dunning.email_days`) is one value; a
list of tables is compared item by item, by position (the paths are the file's and pydantic's),
and an item whose `id` or `name` changed is shown whole rather than field by field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .checks import join
from .model import Program

ABSENT: Any = object()


@dataclass(frozen=True)
class Difference:
    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {show_value(self.old)} → {show_value(self.new)}"


def differences(old: Program, new: Program) -> list[Difference]:
    """Every value that differs, in the order of the program's sections."""
    return list(_walk("", old.model_dump(mode="json"), new.model_dump(mode="json")))


def show_value(value: Any) -> str:
    if value is ABSENT or value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False)


def _walk(path: str, old: Any, new: Any) -> Iterator[Difference]:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _walk(join(path, key), old.get(key, ABSENT), new.get(key, ABSENT))
    elif _tables(old) and _tables(new):
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else ABSENT
            b = new[i] if i < len(new) else ABSENT
            if a is ABSENT or b is ABSENT or _identity(a) != _identity(b):
                yield Difference(join(path, i), a, b)
            else:
                yield from _walk(join(path, i), a, b)
    else:
        yield Difference(path, old, new)


def _tables(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _identity(item: dict[str, Any]) -> Any:
    return item.get("id", item.get("name"))
