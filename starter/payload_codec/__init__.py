"""Payload protection: everything Tenure hands Temporal is encrypted before it leaves the process.

Temporal stores every signal, activity input, result and failure in its database and shows them in
its UI; a journey carries the member's email and name. With the codec below, the server only ever
holds AES-256-GCM ciphertext, and the key id travels in each payload's metadata so keys can rotate.

Modules:
- `keys`: the key format (`KEY_ID:BASE64_32_BYTE_KEY`, newest first), parsing, `generate_key`.
- `loader`: `load_payload_keys(settings)`, the one loader every process uses (`TENURE_PAYLOAD_KEYS` or
  `TENURE_PAYLOAD_KEYS_FILE`); production refuses to start without a key of its own.
- `development_key`: the key `make run` creates in its data folder when none is configured.
- `codec`: `EncryptionCodec`, the AES-GCM `PayloadCodec` (unencrypted payloads decode as they are,
  so histories recorded before it still replay).
- `converter`: `payload_data_converter(keys)`, pydantic JSON + the codec + encoded failure attributes:
  the only data converter Tenure connects with (worker, API, CLI, bench, tests, replayer).

`python -m starter.payload_codec KEY_ID` prints a new key entry.
"""

from .codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, PayloadDecryptionError
from .converter import payload_data_converter
from .development_key import DEVELOPMENT_KEY_FILE, ensure_development_key
from .keys import PayloadKey, PayloadKeyError, PayloadKeys, generate_key, parse_payload_keys
from .loader import load_payload_keys

__all__ = [
    "DEVELOPMENT_KEY_FILE",
    "ENCODING",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "PayloadDecryptionError",
    "PayloadKey",
    "PayloadKeyError",
    "PayloadKeys",
    "ensure_development_key",
    "generate_key",
    "load_payload_keys",
    "parse_payload_keys",
    "payload_data_converter",
]
