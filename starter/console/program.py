"""The program: the effective program as tables, the versions members run under, and the difference
between any two of the programs the console knows.

Known programs: the one in force (TENURE_PROGRAM_PATH), the built-in defaults, and every valid
`*.toml` in a `programs/` folder next to the program file (keep past versions there to compare
them). Which versions members run under comes from the customers table.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from domain.program import Program, ProgramError, default_program
from domain.program.diff import differences, show_value
from starter.api.dependencies import ServicesDep
from starter.api.services import Services
from starter.program_file import read_program
from storage.schema import customers

from .session import Staff
from .web import allowed, render

router = APIRouter(prefix="/console/program", include_in_schema=False)
Reader = Annotated[Staff, allowed("program")]
CURRENT = "current"
DEFAULTS = "defaults"


def known_programs(svc: Services) -> dict[str, tuple[str, Program]]:
    """Name -> (where it comes from, program)."""
    found: dict[str, tuple[str, Program]] = {
        CURRENT: (f"{svc.settings.program_path} (in force)", svc.program),
        DEFAULTS: ("the built-in defaults", default_program(svc.program.version)),
    }
    archive = Path(svc.settings.program_path).parent / "programs"
    if archive.is_dir():
        for path in sorted(archive.glob("*.toml")):
            try:
                found[path.stem] = (str(path), read_program(path))
            except (ProgramError, OSError):
                continue
    return found


def versions_in_use(engine: sa.Engine) -> list[tuple[str, int]]:
    c = customers
    stmt = sa.select(c.c.program_version, sa.func.count()).group_by(c.c.program_version).order_by(c.c.program_version)
    with engine.connect() as conn:
        return [(str(v), int(n)) for v, n in conn.execute(stmt)]


@router.get("", response_class=HTMLResponse)
async def page(request: Request, svc: ServicesDep, staff: Reader) -> Response:
    programs = await asyncio.to_thread(known_programs, svc)
    in_use = await asyncio.to_thread(versions_in_use, svc.engine)
    return render(request, "program.html", staff, p=svc.program, programs=programs, in_use=in_use)


@router.get("/diff", response_class=HTMLResponse)
async def diff(
    request: Request,
    svc: ServicesDep,
    staff: Reader,
    old: Annotated[str, Query(max_length=200)] = DEFAULTS,
    new: Annotated[str, Query(max_length=200)] = CURRENT,
) -> Response:
    programs = await asyncio.to_thread(known_programs, svc)
    missing = [n for n in (old, new) if n not in programs]
    if missing:
        return render(request, "refused.html", staff, 404, why=f"No program named {', '.join(missing)}.")
    changes = [(d.path, show_value(d.old), show_value(d.new)) for d in differences(programs[old][1], programs[new][1])]
    template = "program_diff.html" if request.headers.get("HX-Request") else "program_diff_page.html"
    return render(request, template, staff, programs=programs, old=old, new=new, changes=changes)
