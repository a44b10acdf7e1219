"""`load_payload_keys(settings)`: the one place a process gets its payload keys.

Configured keys come from `TENURE_PAYLOAD_KEYS` or the file named by `TENURE_PAYLOAD_KEYS_FILE`
(never both). Without either, development uses (and creates) the data folder's development key;
production refuses, naming the settings, and also refuses the public test key and development keys.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings

from .development_key import development_key_path, ensure_development_key
from .keys import (
    DEVELOPMENT_KEY_PREFIX,
    FORMAT,
    TEST_ONLY_KEY_PREFIX,
    PayloadKeyError,
    PayloadKeys,
    parse_payload_keys,
)

MISSING = (
    "no payload encryption key: set TENURE_PAYLOAD_KEYS ({format}, newest first; "
    "make one with `python -m starter.payload_codec KEY_ID`) or TENURE_PAYLOAD_KEYS_FILE (a file holding them). "
    "Next to `make run`, TENURE_ENVIRONMENT=development uses its development key ({dev_file})"
)


def load_payload_keys(settings: Settings) -> PayloadKeys:
    """The keys this process encrypts and decrypts with; `PayloadKeyError` says what to set."""
    inline = (settings.payload_keys or "").strip()
    path = settings.payload_keys_file
    if inline and path:
        raise PayloadKeyError("set TENURE_PAYLOAD_KEYS or TENURE_PAYLOAD_KEYS_FILE, not both")
    if inline:
        keys = PayloadKeys(parse_payload_keys(inline, "TENURE_PAYLOAD_KEYS"), "TENURE_PAYLOAD_KEYS")
    elif path:
        keys = PayloadKeys(parse_payload_keys(_read(path), f"TENURE_PAYLOAD_KEYS_FILE {path}"), str(path))
    elif settings.environment == "development":
        path, _ = ensure_development_key(settings.data_dir)
        keys = PayloadKeys(parse_payload_keys(_read(path), f"the development key file {path}"), str(path))
    else:
        raise PayloadKeyError(MISSING.format(format=FORMAT, dev_file=development_key_path(settings.data_dir)))
    if settings.environment == "production":
        public = [k for k in keys.key_ids if k.startswith((DEVELOPMENT_KEY_PREFIX, TEST_ONLY_KEY_PREFIX))]
        if public:
            raise PayloadKeyError(
                f"{keys.source} lists {', '.join(map(repr, public))}: development and test-only keys "
                "cannot protect production data; set TENURE_PAYLOAD_KEYS to keys of your own"
            )
    return keys


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise PayloadKeyError(f"cannot read the payload key file {path}: {e.strerror}") from None
