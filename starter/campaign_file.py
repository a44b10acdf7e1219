"""The one way to read a campaign definition file (TOML or JSON), for the CLI and tools.

A file that is not a valid campaign raises `CampaignFileError`, whose message names every wrong
field by its dotted path (`budget.total_points: Input should be greater than 0`). A
`publish_program` campaign names its program with `program_file` (a path, relative to the campaign
file) or gives a `[program]` table; either is read over the defaults, as a program file is.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.campaigns import CampaignDefinition
from domain.program import ProgramError, program_from_data

from .program_file import UnreadableFile, read_program, text_of


class CampaignFileError(ValueError):
    """The file cannot be read or is not a valid campaign; the message names every wrong field, and
    `faults` holds each as (dotted path, message) for the API's `detail` ("" when no field is to blame)."""

    def __init__(self, message: str, faults: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.faults = faults if faults is not None else [("", message)]


def faults_of(error: ValidationError) -> list[tuple[str, str]]:
    """pydantic's errors as (dotted path, message), the path of the field as the file spells it."""
    out = []
    for problem in error.errors():
        path = ".".join(str(p) for p in problem["loc"] if not str(p).startswith("function-"))
        out.append((path, problem["msg"].removeprefix("Value error, ")))
    return out


def problems_of(error: ValidationError) -> list[str]:
    """pydantic's errors as `dotted.path: message` lines."""
    return [f"{path}: {message}" if path else message for path, message in faults_of(error)]


def definition_from_data(raw: dict[str, Any], source: str = "campaign", base: Path | None = None) -> CampaignDefinition:
    """A definition from plain data (a parsed file or an API body); `CampaignFileError` naming each fault."""
    data = dict(raw)
    try:
        if "program_file" in data:
            path = Path(str(data.pop("program_file")))
            data["program"] = read_program(path if path.is_absolute() or base is None else base / path)
        elif isinstance(data.get("program"), dict):
            data["program"] = program_from_data(data["program"], f"{source}: program")
    except ProgramError as e:
        raise CampaignFileError(str(e), [("program", str(e))]) from None
    try:
        return CampaignDefinition.model_validate(data)
    except ValidationError as e:
        lines = "\n".join(f"  {p}" for p in problems_of(e))
        raise CampaignFileError(f"{source} is not a valid campaign:\n{lines}", faults_of(e)) from None


def read_campaign(path: Path) -> CampaignDefinition:
    """The validated campaign of a `.toml` or `.json` file."""
    try:
        text = text_of(path, "campaign file")
    except UnreadableFile as e:
        raise CampaignFileError(str(e)) from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise CampaignFileError(f"{path}: not valid {kind}: {e}") from None
    if not isinstance(raw, dict):
        raise CampaignFileError(f"{path}: a campaign is an object (a table), not {type(raw).__name__}")
    return definition_from_data(raw, str(path), path.parent)
