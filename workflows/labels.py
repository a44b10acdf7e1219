"""Labels for the Temporal UI (command summaries), not built nor encrypted while replaying.

A summary is user metadata on a command: the server keeps the one sent when the command was first
made, and a replay's commands are matched to the history without it (tests/test_replay.py replays
recorded histories, summaries and all). Replaying a journey the worker no longer holds — every
member of a campaign sweeping more members than the sticky cache — built, serialized and encrypted
each past command's summary again for nothing (bench/RESULTS.md, the campaign fan-out).
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow


def label(text: str | Callable[[], str]) -> str | None:
    """`text` (made by calling it, when a callable) for a new command; None while replaying."""
    if workflow.unsafe.is_replaying():
        return None
    return text() if callable(text) else text
