"""A process-wide counter the raw benchmark's workflows bump (passed through the sandbox)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_n = 0


def bump() -> None:
    global _n
    with _lock:
        _n += 1


def value() -> int:
    return _n
