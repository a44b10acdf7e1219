"""State shared by every journey in a worker process (imported through the sandbox, not into it).

Programs are interned: each journey's start input carries its program (some 6 KB of JSON, about
57 KB once deserialized), and a thousand cached journeys would otherwise hold a thousand equal
copies. A `Program` is frozen, so journeys can share one instance; an interned program is only
ever handed out for an equal one, so behaviour, and so replay, cannot change.
"""

from __future__ import annotations

import threading

from domain.program import Program

MAX_PROGRAMS = 64  # distinct program contents kept (versions in use); past that, no sharing

_programs: dict[str, Program] = {}
_lock = threading.Lock()


def intern_program(program: Program) -> Program:
    if any(program is known for known in _programs.values()):
        return program  # already the shared one (a program validated once is one instance: domain/program)
    key = program.model_dump_json()
    found = _programs.get(key)
    if found is not None:
        return found
    with _lock:
        if len(_programs) < MAX_PROGRAMS:
            return _programs.setdefault(key, program)
    return program
