"""A program's content address: the sha256 of its canonical JSON.

A journey started from a content hash runs under exactly the program whose canonical JSON has that
hash (workflows/shared.py checks the digest of what the store hands back), so the hash is as good
as the program itself in the journey's history, and some 6.5 KB smaller.
"""

from __future__ import annotations

import hashlib
import json

from .model import Program

HASH_PREFIX = "sha256:"


def canonical_json(program: Program) -> str:
    """The program's JSON with sorted keys and no spaces: one text per content."""
    return json.dumps(program.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_of_json(text: str) -> str:
    return HASH_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def content_hash(program: Program) -> str:
    """`sha256:<64 hex digits>` of the canonical JSON."""
    return hash_of_json(canonical_json(program))


def program_of_json(text: str) -> Program:
    return Program.model_validate_json(text)
