"""`EncryptionCodec`: AES-256-GCM over each whole payload, the key id in the payload's metadata.

In the manner of temporalio/samples-python `encryption`: the serialized payload (its metadata and
data) is encrypted with a fresh 96-bit random nonce, and the result is a payload with encoding
`binary/encrypted` and `encryption-key-id` naming the key. The newest key encrypts; any configured
key decrypts. A payload without that encoding is not ours (recorded before the codec, or never
encrypted) and decodes as it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from .keys import PayloadKeys

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16  # AES-GCM's authentication tag, after the ciphertext


class PayloadDecryptionError(ValueError):
    """An encrypted payload this process cannot read: its key is not configured, or it was altered."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: PayloadKeys) -> None:
        super().__init__()
        self.keys = keys
        self._newest_id = keys.newest.key_id.encode()
        self._newest = AESGCM(keys.newest.secret)
        self._ciphers = {k.key_id: AESGCM(k.secret) for k in keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self._newest_id},
            data=nonce + self._newest.encrypt(nonce, payload.SerializeToString(), None),
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"a payload is encrypted under key id {key_id!r}, which is not configured "
                f"(configured: {', '.join(self.keys.key_ids)}): add that key to TENURE_PAYLOAD_KEYS, after the newest"
            )
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:  # AES-GCM would raise a bare ValueError on a short nonce
            raise PayloadDecryptionError(
                f"a payload under key id {key_id!r} is {len(payload.data)} bytes, shorter than any this codec "
                f"writes ({NONCE_BYTES + TAG_BYTES} at least): it was cut short or altered"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"a payload under key id {key_id!r} does not decrypt: the key with that id is a different key, "
                "or the payload was altered"
            ) from None
        return Payload.FromString(plain)
