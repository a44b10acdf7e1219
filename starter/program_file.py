"""The one way to read the program file, for the worker, the API, the CLI, `make run` and the bench.

Reading is I/O, so it lives here rather than in domain/program (which only parses text). A file
that is missing or not a valid program raises `ProgramError`, whose message names every fault.
"""

from __future__ import annotations

from pathlib import Path

from domain.program import Program, ProgramError, parse_program


class UnreadableFile(ValueError):
    """A file that is missing, a folder, not readable, or not UTF-8 text; the message says which."""


def text_of(path: Path, what: str, hint: str = "") -> str:
    """The UTF-8 text of `path` (`what` names it in the message: "program file"), or `UnreadableFile`. A
    byte-order mark (Windows editors write one) is dropped: TOML and JSON parsers refuse it."""
    if path.is_dir():
        raise UnreadableFile(f"{what} {path} is a folder: name the file in it{hint}")
    if not path.is_file():
        raise UnreadableFile(f"{what} {path} not found{hint}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(f"{what} {path} is not UTF-8 text: save it as UTF-8 (TOML and JSON are)") from None
    except OSError as e:
        raise UnreadableFile(f"cannot read {what} {path}: {e.strerror or e}") from None


def read_program(path: Path, hint: str = "") -> Program:
    """The validated program of `path`; `hint` is added to the not-found message (e.g. the setting)."""
    try:
        text = text_of(path, "program file", hint)
    except UnreadableFile as e:
        raise ProgramError(str(e)) from None
    return parse_program(text, str(path))
