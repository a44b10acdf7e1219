"""The development key: created once in the data folder (mode 0600) when no key is configured.

`make run` creates it before anything starts and every process in development reads the same file,
so the worker, the API and the `tenure` CLI agree. It is a local convenience: its id starts with
`local-dev-`, which production refuses.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path

from .keys import DEVELOPMENT_KEY_PREFIX, KEY_BYTES

DEVELOPMENT_KEY_FILE = "payload-keys"


def development_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / DEVELOPMENT_KEY_FILE


def ensure_development_key(data_dir: Path) -> tuple[Path, bool]:
    """The development key file of `data_dir`, created if absent; (path, whether it was created now).

    Written to a private temporary file and linked into place, so two processes starting together
    never see a half-written key and exactly one of them creates it.
    """
    path = development_key_path(data_dir)
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key_id = f"{DEVELOPMENT_KEY_PREFIX}{secrets.token_hex(4)}"
    secret = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
    text = (
        f"# Tenure's development payload key, created by `make run` on {time.strftime('%Y-%m-%d %H:%M:%S')}.\n"
        "# It encrypts this machine's journeys in the dev server's temporal.db: losing it makes them\n"
        "# unreadable. Never use it in production (production refuses `local-dev-` keys).\n"
        f"{key_id}:{secret}\n"
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
        os.write(descriptor, text.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
        created = True
    except FileExistsError:  # another process created it first: use theirs
        created = False
    finally:
        temporary.unlink()
    return path, created
