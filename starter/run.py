"""Moved to `starter.supervisor` (`make run` runs `python -m starter.supervisor`).

Kept only for bench/, which still imports these two from here: delete this module once bench/
imports them from `starter.supervisor.temporal`.
"""

from starter.supervisor.temporal import find_binary, wait_for_temporal

__all__ = ["find_binary", "wait_for_temporal"]
