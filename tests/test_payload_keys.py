"""Payload keys: the format, the one loader, production's refusals, make run's development key."""

from __future__ import annotations

import base64
import stat

import pytest

from settings import Settings
from starter.payload_codec import (
    DEVELOPMENT_KEY_FILE,
    PayloadKeyError,
    ensure_development_key,
    generate_key,
    load_payload_keys,
    parse_payload_keys,
)

SECRET = base64.b64encode(bytes(range(32))).decode()
OTHER = base64.b64encode(bytes(range(32, 64))).decode()


def settings(tmp_path, **values) -> Settings:
    """Settings with no key from the test process's environment, and a data folder of this test's own."""
    return Settings(**({"payload_keys": None, "payload_keys_file": None, "data_dir": tmp_path} | values))


def test_keys_are_listed_newest_first_by_comma_or_line():
    keys = parse_payload_keys(f" k2:{SECRET} ,\n# the old one\nk1:{OTHER}\n", "here")
    assert [k.key_id for k in keys] == ["k2", "k1"]
    assert keys[0].secret == bytes(range(32))
    url_safe = parse_payload_keys("k:" + base64.urlsafe_b64encode(bytes([251] * 32)).decode(), "here")
    assert url_safe[0].secret == bytes([251] * 32), "the URL-safe alphabet is accepted too"


@pytest.mark.parametrize(
    "text, fault",
    [
        ("", "holds no key"),
        (SECRET, "entry 1: expected KEY_ID:BASE64_32_BYTE_KEY"),
        (f"k1:{SECRET},bad id:{SECRET}", "entry 2: the key id must be"),
        ("k1:not base64!", r"entry 1 \(key id 'k1'\): the key is not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "must be 32 random bytes in base64, got 5 bytes"),
        (f"k1:{SECRET},k1:{OTHER}", r"entry 2 \(key id 'k1'\): the key id is listed twice"),
    ],
)
def test_a_wrong_entry_is_named_and_its_key_never_shown(text: str, fault: str):
    with pytest.raises(PayloadKeyError, match=fault) as refused:
        parse_payload_keys(text, "TENURE_PAYLOAD_KEYS")
    assert SECRET not in str(refused.value) and OTHER not in str(refused.value)


def test_keys_never_show_in_a_repr():
    keys = load_payload_keys(Settings(payload_keys=f"k1:{SECRET}", environment="production"))
    assert SECRET not in repr(keys) and repr(bytes(range(32))) not in repr(keys)
    assert keys.describe() == "newest key 'k1' of 1, from TENURE_PAYLOAD_KEYS"


def test_generated_keys_load():
    line = generate_key("2027-01")
    [key] = parse_payload_keys(line, "generated")
    assert key.key_id == "2027-01" and len(key.secret) == 32
    assert generate_key("2027-01") != line


def test_production_refuses_to_start_without_a_key_and_names_the_settings(tmp_path):
    with pytest.raises(PayloadKeyError) as refused:
        load_payload_keys(settings(tmp_path, environment="production"))
    message = str(refused.value)
    assert "TENURE_PAYLOAD_KEYS" in message and "TENURE_PAYLOAD_KEYS_FILE" in message, message
    assert not (tmp_path / DEVELOPMENT_KEY_FILE).exists(), "production never makes a key of its own"


@pytest.mark.parametrize("key_id", ["test-only-1", "local-dev-1a2b3c4d"])
def test_production_refuses_public_and_development_keys(tmp_path, key_id: str):
    with pytest.raises(PayloadKeyError, match=f"'{key_id}'.*cannot protect production data"):
        load_payload_keys(settings(tmp_path, environment="production", payload_keys=f"k1:{SECRET},{key_id}:{OTHER}"))
    assert load_payload_keys(settings(tmp_path, environment="development", payload_keys=f"{key_id}:{OTHER}"))


def test_keys_from_a_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2027-01\nk2:{SECRET}\nk1:{OTHER}\n")
    keys = load_payload_keys(settings(tmp_path, environment="production", payload_keys_file=path))
    assert keys.key_ids == ["k2", "k1"] and keys.source == str(path)
    with pytest.raises(PayloadKeyError, match="not both"):
        load_payload_keys(settings(tmp_path, payload_keys=f"k:{SECRET}", payload_keys_file=path))
    with pytest.raises(PayloadKeyError, match="cannot read the payload key file .*missing"):
        load_payload_keys(settings(tmp_path, payload_keys_file=tmp_path / "missing"))


def test_development_makes_one_private_key_in_the_data_folder(tmp_path):
    first = load_payload_keys(settings(tmp_path, environment="development"))
    path = tmp_path / DEVELOPMENT_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.newest.key_id.startswith("local-dev-") and first.source == str(path)
    again = load_payload_keys(settings(tmp_path, environment="development"))
    assert again.newest == first.newest, "every process in development reads the same key"
    assert ensure_development_key(tmp_path) == (path, False)
    assert [p.name for p in tmp_path.iterdir()] == [DEVELOPMENT_KEY_FILE], "no temporary file left behind"
