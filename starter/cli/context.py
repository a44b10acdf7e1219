"""What every command stands on: the settings, the program file, the ledger database, a `TenureClient`,
and how failures become one line on stderr and an exit status.

Exit status: 0 done, 1 refused or not found (or a reconcile mismatch), 2 a bad program file or a
usage error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import typer
from rich.markup import escape

from domain.program import Program, ProgramError
from settings import Settings, settings_from_environment
from starter import program_file
from starter.client import (
    JourneyError,
    JourneyFailed,
    JourneyRefused,
    JourneyUnavailable,
    NoJourney,
    TemporalRejected,
    TenureClient,
)
from starter.connect import connect, network_words
from starter.payload_codec import PayloadKeyError
from storage.engine import create_engine_for

from . import failures
from .render import say

T = TypeVar("T")

QUERY_TIMEOUT = timedelta(seconds=10)  # without a worker, Temporal would hold a query much longer


class CliError(Exception):
    """A failure the user can fix; the message says how. `code` is the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def read_program(path: Path, hint: str = "") -> Program:
    """The validated program file; exit 2 naming every wrong field."""
    try:
        return program_file.read_program(path, hint)
    except ProgramError as e:
        raise CliError(str(e), code=2) from None


@dataclass
class Env:
    settings: Settings

    def program(self) -> Program:
        return read_program(self.settings.program_path, " (set TENURE_PROGRAM_PATH)")

    def engine(self) -> sa.Engine:
        engine = create_engine_for(self.settings.db_url())
        if engine.dialect.name == "sqlite":
            db = engine.url.database or ""
            if db not in ("", ":memory:") and not Path(db).exists():
                raise CliError(f"no ledger database at {db}: is `make run` up, or is TENURE_DATABASE_URL set?")
        return engine

    @asynccontextmanager
    async def tenure(self) -> AsyncIterator[TenureClient]:
        """A client that reads and updates journeys (it never opens one: it has no program); its typed
        errors become the CLI's messages."""
        s = self.settings
        try:
            client = await connect(s)
        except PayloadKeyError as e:
            raise CliError(str(e)) from None
        except Exception as e:  # RuntimeError from the bridge: refused, DNS, TLS
            raise CliError(
                f"cannot reach Temporal at {s.temporal_address}: is `make run` up? ({network_words(e)})"
            ) from None
        try:
            yield TenureClient(client, task_queue=s.task_queue, query_timeout=QUERY_TIMEOUT)
        except JourneyError as e:
            raise CliError(journey_message(e, s.temporal_address)) from None

    async def call(self, fn: Callable[[TenureClient], Awaitable[T]]) -> T:
        """Connect, and run one piece of work against the journeys."""
        async with self.tenure() as tenure:
            return await fn(tenure)


def journey_message(e: JourneyError, address: str) -> str:
    """The CLI's words for each typed error of the client."""
    if isinstance(e, NoJourney):
        return f"no journey for customer {e.customer_id}"
    if isinstance(e, JourneyRefused):
        return f"refused: {e.message}"
    if isinstance(e, JourneyUnavailable):
        if e.kind == "no_worker":
            within = f" within {e.timeout:g} s" if e.timeout is not None else ""
            return f"no worker answered for customer {e.customer_id}{within}: is the worker (`make run`) up?"
        if e.kind == "stuck":
            return (
                f"the journey of customer {e.customer_id} cannot answer: its workflow task keeps failing "
                f"(`tenure doctor {e.customer_id}` says why)"
            )
        if e.kind == "timed_out":
            return f"the journey of customer {e.customer_id} did not answer in time: is the worker (`make run`) up?"
        return f"cannot reach Temporal at {address}: is `make run` up? ({e.reason})"
    if isinstance(e, TemporalRejected):
        return f"Temporal refused: {e.message}"
    if isinstance(e, JourneyFailed):
        return f"the journey of customer {e.customer_id} could not answer: {e.message}"
    return str(e)


def env_of(ctx: typer.Context) -> Env:
    obj = ctx.obj
    if isinstance(obj, Env):
        return obj
    return Env(obj if isinstance(obj, Settings) else settings_from_environment(Settings))


def run(work: Coroutine[Any, Any, T] | Callable[[], T]) -> T:
    """Run the work; a CliError becomes its message on stderr and its exit status."""
    try:
        if callable(work):
            return work()
        return asyncio.run(work)
    except CliError as e:
        say(f"[bold red]error:[/] {escape(str(e))}", stderr=True)
        raise typer.Exit(e.code) from None
    except (Exception, KeyboardInterrupt) as e:  # the database, the payload keys, Ctrl-C: in words (failures.py)
        known = failures.in_words(e)
        if known is None:
            raise
        say(f"[bold red]error:[/] {escape(known[0])}", stderr=True)
        raise typer.Exit(known[1]) from None
