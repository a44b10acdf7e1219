"""The codec: AES-GCM under the newest key, any configured key decrypts, plain payloads pass through,
failures are encoded too."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from domain.messages import SignedUp
from starter.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeys,
    generate_key,
    parse_payload_keys,
    payload_data_converter,
)

EMAIL, NAME = "ada.lovelace@example.com", "Ada Lovelace"
OLD, NEW = generate_key("2026-01"), generate_key("2027-01")


def keys(*lines: str) -> PayloadKeys:
    return PayloadKeys(parse_payload_keys(",".join(lines), "test"), "test")


def signed_up() -> SignedUp:
    return SignedUp(event_id="su", email=EMAIL, name=NAME)


async def test_a_payload_is_encrypted_under_the_newest_key_and_decrypts_to_itself():
    converter = payload_data_converter(keys(NEW, OLD))
    [encrypted] = await converter.encode([signed_up()])
    assert encrypted.metadata["encoding"] == ENCODING
    assert encrypted.metadata[KEY_ID_METADATA] == b"2027-01"
    assert EMAIL.encode() not in encrypted.SerializeToString() and NAME.encode() not in encrypted.SerializeToString()
    assert await converter.decode([encrypted], [SignedUp]) == [signed_up()]
    [again] = await converter.encode([signed_up()])
    assert again.data != encrypted.data, "a fresh nonce for every payload"


async def test_rotation_old_data_stays_readable_new_data_uses_the_new_key():
    [old] = await payload_data_converter(keys(OLD)).encode([signed_up()])
    rotated = payload_data_converter(keys(NEW, OLD))
    assert await rotated.decode([old], [SignedUp]) == [signed_up()]
    [new] = await rotated.encode([signed_up()])
    assert new.metadata[KEY_ID_METADATA] == b"2027-01"
    with pytest.raises(PayloadDecryptionError, match="key id '2026-01', which is not configured"):
        await payload_data_converter(keys(NEW)).decode([old], [SignedUp])


async def test_a_payload_from_before_the_codec_decodes_as_it_is():
    [plain] = await pydantic_data_converter.encode([signed_up()])
    codec = EncryptionCodec(keys(NEW))
    assert await codec.decode([plain]) == [plain]
    assert await payload_data_converter(keys(NEW)).decode([plain], [SignedUp]) == [signed_up()]


async def test_an_altered_payload_or_a_different_key_under_the_same_id_is_refused():
    codec = EncryptionCodec(keys(NEW))
    [encrypted] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    altered = Payload()
    altered.CopyFrom(encrypted)
    altered.data = encrypted.data[:-1] + bytes([encrypted.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
        await codec.decode([altered])
    impostor = EncryptionCodec(keys(generate_key("2027-01")))
    with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
        await impostor.decode([encrypted])


async def test_failure_messages_travel_encrypted():
    converter = payload_data_converter(keys(NEW))
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no such member {EMAIL}", type="Refused"), failure)
    assert failure.message == "Encoded failure"
    assert EMAIL.encode() not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and decoded.message == f"no such member {EMAIL}"
