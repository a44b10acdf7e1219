"""The one way to read the program file, for the worker, the API, the CLI, `make run` and the bench.

Reading is I/O, so it lives here rather than in domain/program (which only parses text). A file
that is missing or not a valid program raises `ProgramError`, whose message names every fault.
"""

from __future__ import annotations

from pathlib import Path

from domain.program import Program, ProgramError, parse_program


def read_program(path: Path, hint: str = "") -> Program:
    """The validated program of `path`; `hint` is added to the not-found message (e.g. the setting)."""
    if not path.is_file():
        raise ProgramError(f"program file {path} not found{hint}")
    return parse_program(path.read_text(), str(path))
