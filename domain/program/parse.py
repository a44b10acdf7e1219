"""Reading a program file: its values over the defaults, validated, every fault named at once.

Parsing is pure: the caller reads the file and hands over its text.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .checks import Problem, RuleProblems, join, program_problems
from .model import EMAIL_PURPOSES, Program
from .overlay import overlay, plain

# The default of every section (not of the version: a program must name its own).
_SECTIONS = {
    name: f.get_default(call_default_factory=True) for name, f in Program.model_fields.items() if not f.is_required()
}


class ProgramError(ValueError):
    """A program file that cannot be used; the message names each wrong field (also in `problems`)."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


def default_program(version: str) -> Program:
    """The program a file that only names its version stands for."""
    return Program(version=version)


def parse_program(text: str, source: str = "program file") -> Program:
    """Validate a TOML program over the defaults; refuse it with every wrong field and broken rule named."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProgramError(f"{source}: not valid TOML: {e}") from None
    return program_from_data(raw, source)


def program_from_data(raw: Mapping[str, Any], source: str = "program") -> Program:
    """A program from a file's plain data (its tables over the defaults, see `overlay`)."""
    try:
        return Program.model_validate(merged(raw))
    except ValidationError as e:
        problems = _problems(e, raw)
    lines = "\n".join(f"  {p}" for p in problems)
    raise ProgramError(f"{source} is not a valid program:\n{lines}", problems)


def merged(raw: Mapping[str, Any], *, complete: bool = False) -> dict[str, Any]:
    """A file's data over the default sections (see `overlay`); `complete` adds the sections it leaves out."""
    given = {key: overlay(_SECTIONS.get(key), value, complete=complete) for key, value in raw.items()}
    return _SECTIONS | given if complete else given


def _problems(error: ValidationError, raw: Mapping[str, Any]) -> list[Problem]:
    """pydantic's field errors, then every broken rule, each once, in the order of the program's sections.

    The rules are read from the merged plain data rather than only taken from pydantic, which
    skips the validator of any model with a faulty field and reports the rules of the others.
    """
    found: dict[Problem, None] = {}
    from_validators: list[Problem] = []
    for err in error.errors():
        where = join(*err["loc"])
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, RuleProblems):
            from_validators += [p.under(where) for p in cause.problems]
        else:
            found[Problem(where, err["msg"].removeprefix("Value error, "))] = None
    for problem in program_problems(plain(merged(raw, complete=True)), EMAIL_PURPOSES):
        found[problem] = None
    for problem in from_validators:  # the same rules, found again: kept once
        found[problem] = None
    sections = list(Program.model_fields)
    return sorted(found, key=lambda p: _index(sections, p.path.split(".")[0]))


def _index(sections: list[str], section: str) -> int:
    return sections.index(section) if section in sections else len(sections)
