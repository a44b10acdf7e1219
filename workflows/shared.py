"""State shared by every journey in a worker process (imported through the sandbox, not into it).

Programs resolved by content hash (`programs`, the registry): journeys started since the program
store name their program by the hash of its canonical JSON instead of carrying it. (Journeys that
carry the whole program share one instance per content too: domain/program/model.py.)
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from domain.program import Program
from domain.program.content import hash_of_json, program_of_json

log = logging.getLogger("tenure.programs")

# reads a program store: (its owner, e.g. an engine; the hashes already known) -> hash -> canonical JSON
Loader = Callable[[Any, Iterable[str]], dict[str, str]]


class ProgramUnknown(RuntimeError):
    """A journey names a program hash this worker cannot resolve (yet).

    Raised inside the workflow task, it FAILS THE TASK (it is not a Temporal failure type), which the
    server retries; the registry meanwhile reads the store again. The journey never runs under another
    program: it waits, failing its tasks, until the one it names is stored.
    """


class ProgramRegistry:
    """Programs by content hash, in memory, shared by every journey of the worker process.

    Filled from the content-addressed store (storage/programs.py) of each worker's database (a
    process may run several workers, e.g. tests; a store whose owner is gone is forgotten): at
    start-up, and again in a thread of its own whenever a journey names a hash not yet here. Every
    content is checked against its hash before it is kept, so a hash always resolves to the program
    the journey recorded, or not at all.
    """

    def __init__(self) -> None:
        self._programs: dict[str, Program] = {}
        self._stores: weakref.WeakKeyDictionary[Any, Loader] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._refreshing = False

    def add_store(self, owner: Any, loader: Loader) -> None:
        """`loader(owner, known)`: hash -> canonical JSON of the programs not in `known`; read once now."""
        with self._lock:
            self._stores[owner] = loader
        self._read(owner, loader)

    def add(self, content_hash: str, text: str) -> Program:
        """Keep `text` under `content_hash`; ValueError if the text is not that hash's content."""
        if hash_of_json(text) != content_hash:
            raise ValueError(f"the stored program under {content_hash} has another content: not used")
        program = program_of_json(text)
        self._programs.setdefault(content_hash, program)
        return self._programs[content_hash]

    def resolve(self, content_hash: str) -> Program:
        """The program with this content hash; ProgramUnknown (and a refresh begins) if it is not here."""
        found = self._programs.get(content_hash)
        if found is not None:
            return found
        self.refresh_soon()
        raise ProgramUnknown(
            f"program {content_hash} is not in this worker's program store (yet): the task fails and is retried"
        )

    def refresh(self) -> None:
        """Read every loader for programs not known yet (blocking: start-up, or the refresh thread)."""
        with self._lock:
            stores = list(self._stores.items())
        for owner, loader in stores:
            self._read(owner, loader)

    def _read(self, owner: Any, loader: Loader) -> None:
        try:
            found = loader(owner, list(self._programs))
        except Exception as e:  # a store down: the next miss asks again
            log.warning("could not read the program store: %s", e)
            return
        for content_hash, text in found.items():
            try:
                self.add(content_hash, text)
            except Exception as e:  # a row that is not its hash's content is never used
                log.error("program %s refused: %s", content_hash, e)

    def refresh_soon(self) -> None:
        """Refresh in a thread of its own (called from a workflow task, which must not wait on I/O)."""
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def run() -> None:
            try:
                self.refresh()
            finally:
                with self._lock:
                    self._refreshing = False

        threading.Thread(target=run, name="program-store-refresh", daemon=True).start()


programs = ProgramRegistry()
