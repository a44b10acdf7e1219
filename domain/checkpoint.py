"""A checkpoint of a pydantic model tree, to put it back exactly as it was when a change fails halfway.

A journey applies each event in place, through rules that change the account step by step; an
event that raises must leave no trace (domain/intake.py). A deep copy of the account per event
would cost tens of milliseconds (hundreds of lots, the timeline, the program). A checkpoint
copies only what can change in place, as shallow copies of containers: every mutable model's
field dict, every list and dict. Frozen models (lots, qualifying contributions, timeline items,
ledger entries, answers, the program) and scalars are shared, since nothing changes them in place.
(A model's set of explicitly set fields is not put back: only `exclude_unset` dumps read it, and
nothing dumps an account so.)

What to copy is planned once per model class from its field annotations. A field whose type the
plan cannot classify (a bare `dict`, `Any`, a set…) raises TypeError when the class is first
planned, so a new field forces a decision rather than escaping the checkpoint silently.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

Saved = list[tuple[Any, Any]]
Saver = Callable[[Any, Saved], None]

IMMUTABLE: tuple[type, ...] = (str, int, float, bool, bytes, datetime, date, timedelta, type(None))


class Checkpoint:
    """The state of a model tree at one moment; `restore` puts every container back as it was."""

    def __init__(self, root: BaseModel) -> None:
        self._saved: Saved = []
        _save_model(root, self._saved)

    def restore(self) -> None:
        for container, copy in self._saved:
            if isinstance(container, list):
                container[:] = copy
            else:
                container.clear()
                container.update(copy)


def _save_model(model: BaseModel, saved: Saved) -> None:
    fields = model.__dict__
    saved.append((fields, fields.copy()))
    for name, save in _plan(type(model)):
        value = fields[name]
        if value is not None:
            save(value, saved)


def _save_model_only(value: Any, saved: Saved) -> None:
    if isinstance(value, BaseModel):
        _save_model(value, saved)


def _save_list(item: Saver | None) -> Saver:
    def save(value: list, saved: Saved) -> None:
        saved.append((value, value.copy()))
        if item is not None:
            for element in value:
                if element is not None:
                    item(element, saved)

    return save


def _save_dict(item: Saver | None) -> Saver:
    def save(value: dict, saved: Saved) -> None:
        saved.append((value, value.copy()))
        if item is not None:
            for element in value.values():
                if element is not None:
                    item(element, saved)

    return save


_plans: dict[type, list[tuple[str, Saver]]] = {}


def _plan(cls: type[BaseModel]) -> list[tuple[str, Saver]]:
    """(field, saver) for each field of `cls` that can change in place."""
    plan = _plans.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = []
        for name in cls.model_fields:
            save = _saver(hints[name], f"{cls.__name__}.{name}")
            if save is not None:
                plan.append((name, save))
        _plans[cls] = plan
    return plan


def _saver(annotation: Any, where: str) -> Saver | None:
    """How to save a value of this type; None when it cannot change in place."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _saver(args[0], where)
    if origin is typing.Literal:
        return None
    if origin in (typing.Union, types.UnionType):
        arms = [(arm, _saver(arm, where)) for arm in args]
        mutable = [(arm, save) for arm, save in arms if save is not None]
        if not mutable:
            return None
        if len(mutable) == 1 and isinstance(mutable[0][0], type) and issubclass(mutable[0][0], BaseModel):
            if all(arm is type(None) for arm, save in arms if save is None):
                return _save_model  # Model | None
            return _save_model_only  # Model | str…: the other arms are never saved
        raise TypeError(f"cannot checkpoint {where}: a union of several mutable types ({annotation})")
    if origin is list:
        return _save_list(_saver(args[0], where))
    if origin is dict:
        return _save_dict(_saver(args[1], where))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return None if annotation.model_config.get("frozen") else _save_model
        if issubclass(annotation, IMMUTABLE):
            return None
    raise TypeError(f"cannot checkpoint {where}: unplanned type {annotation!r}")
