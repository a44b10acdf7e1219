"""A program written out in full, as TOML (a program file that parses back to it) or as JSON."""

from __future__ import annotations

from typing import Any

import tomli_w

from .model import Program


def program_toml(program: Program) -> str:
    """Every rule spelled out. TOML has no null, so an unset optional value is left out: a program
    read from a file reads back the same, as a file cannot unset what the defaults set either."""
    return tomli_w.dumps(_without_none(program.model_dump()))


def program_json(program: Program) -> str:
    return program.model_dump_json(indent=2) + "\n"


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
