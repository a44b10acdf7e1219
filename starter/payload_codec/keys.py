"""Payload keys: `KEY_ID:BASE64_32_BYTE_KEY`, comma-separated (or one a line in a file), newest first.

The newest key encrypts; every listed key decrypts, so a key rotates in three steps: add the new key
second everywhere (every process can read it), then put it first (new data is written under it), and
drop the old one only when no history under it is kept anywhere. Key material never appears in a
message, a repr or a log line: errors name the entry and its key id only.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field

KEY_BYTES = 32  # AES-256
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FORMAT = "KEY_ID:BASE64_32_BYTE_KEY"

# Ids of keys that are public or local by construction; production refuses them.
DEVELOPMENT_KEY_PREFIX = "local-dev-"
TEST_ONLY_KEY_PREFIX = "test-only-"


class PayloadKeyError(ValueError):
    """The payload keys are missing or cannot be read; the message names the setting to fix."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class PayloadKeys:
    """The configured keys, newest first, and where they came from (for start-up messages)."""

    keys: tuple[PayloadKey, ...]
    source: str

    @property
    def newest(self) -> PayloadKey:
        return self.keys[0]

    @property
    def key_ids(self) -> list[str]:
        return [k.key_id for k in self.keys]

    def describe(self) -> str:
        """'newest key 'k2' of 2, from TENURE_PAYLOAD_KEYS': never the key itself."""
        return f"newest key {self.newest.key_id!r} of {len(self.keys)}, from {self.source}"


def parse_payload_keys(text: str, source: str) -> tuple[PayloadKey, ...]:
    """The keys of `text` (entries separated by commas or lines; `#` starts a comment line)."""
    entries = [
        entry.strip()
        for line in text.splitlines()
        if not line.strip().startswith("#")
        for entry in line.split(",")
        if entry.strip()
    ]
    if not entries:
        raise PayloadKeyError(f"{source} holds no key: expected {FORMAT}, newest first")
    keys: list[PayloadKey] = []
    for number, entry in enumerate(entries, start=1):
        key_id, sep, encoded = (part.strip() for part in entry.partition(":"))
        where = f"{source} entry {number}"
        if not sep or not encoded:
            raise PayloadKeyError(f"{where}: expected {FORMAT}")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise PayloadKeyError(f"{where}: the key id must be 1-64 letters, digits, '.', '_' or '-'")
        where = f"{where} (key id {key_id!r})"
        secret = _decode(encoded, where)
        if any(k.key_id == key_id for k in keys):
            raise PayloadKeyError(f"{where}: the key id is listed twice")
        keys.append(PayloadKey(key_id, secret))
    return tuple(keys)


def _decode(encoded: str, where: str) -> bytes:
    try:
        standard = encoded.replace("-", "+").replace("_", "/")  # the URL-safe alphabet is welcome too
        secret = base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadKeyError(f"{where}: the key is not valid base64") from None
    if len(secret) != KEY_BYTES:
        raise PayloadKeyError(f"{where}: the key must be {KEY_BYTES} random bytes in base64, got {len(secret)} bytes")
    return secret


def generate_key(key_id: str) -> str:
    """A new entry `KEY_ID:BASE64` with 32 random bytes (`python -m starter.payload_codec KEY_ID`)."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise PayloadKeyError("the key id must be 1-64 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"
