"""Failures that are no fault of the command's own, in words: a ledger database that does not answer or
has no Tenure tables, payloads under a key this shell lacks, Ctrl-C. `run` (context.py) turns each
into one line on stderr and an exit status instead of a Python traceback. A database URL that is none
never gets this far: the settings refuse it (settings.database_url_fault, for --db in app.py too)."""

from __future__ import annotations

import sqlalchemy as sa

from starter.payload_codec import PayloadDecryptionError

INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C (128 + SIGINT)

KEYS_HINT = (
    " — run `tenure` with the keys `make run` uses: from its directory (its data/payload-keys), "
    "or with the same TENURE_DATA_DIR or TENURE_PAYLOAD_KEYS_FILE"
)


UNDEFINED_TABLE, UNDEFINED_COLUMN = "42P01", "42703"  # PostgreSQL's SQLSTATEs


def behind(e: sa.exc.DBAPIError) -> bool:
    """The database answers, but lacks the tables or columns this Tenure reads: never migrated, or behind."""
    if getattr(e.orig, "sqlstate", None) in (UNDEFINED_TABLE, UNDEFINED_COLUMN):
        return True
    return str(e.orig).startswith(("no such table", "no such column"))  # SQLite's words


def first_line(e: sa.exc.DBAPIError) -> str:
    """The driver's message, without SQLAlchemy's SQL and link."""
    orig = e.orig if e.orig is not None else e
    return (str(orig).strip().splitlines() or ["no answer"])[0]


def cause_of(e: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`e`, or the exception of type `kind` it was raised from (the SDK wraps a codec's failures)."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def in_words(e: BaseException) -> tuple[str, int] | None:
    """The message and exit status for a failure the user can act on; None for a bug (let it show)."""
    if isinstance(e, KeyboardInterrupt):
        return "interrupted (Ctrl-C)", INTERRUPTED
    if isinstance(e, (sa.exc.OperationalError, sa.exc.ProgrammingError)) and behind(e):
        return (
            f"the ledger database has no Tenure tables, or an older schema ({first_line(e)}): "
            "`tenure db upgrade` brings it to this Tenure's (`tenure db current` says where it stands)"
        ), 1
    if isinstance(e, sa.exc.OperationalError):  # refused, unknown host, wrong password: the driver says which
        return (
            f"cannot open the ledger database: {first_line(e)} — is it up, and is TENURE_DATABASE_URL (or --db) right?"
        ), 1
    decryption = cause_of(e, PayloadDecryptionError)
    if decryption is not None:
        return f"{decryption}{KEYS_HINT}", 1
    return None
