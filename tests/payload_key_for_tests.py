"""THE TEST-ONLY PAYLOAD KEY: public (it is in the repository), for tests and recorded histories only.

Every test process runs with `TENURE_PAYLOAD_KEYS` set to it (tests/conftest.py), the Temporal
fixtures and the replayer use `data_converter_for_tests()`, and `tests/record_histories.py` records
new histories under it, so `tests/test_replay.py` can read them. Its id starts with `test-only-`,
which production refuses: it can never protect real data.
"""

from __future__ import annotations

from temporalio.converter import DataConverter

from starter.payload_codec import PayloadKeys, parse_payload_keys, payload_data_converter

TEST_ONLY_KEY_ID = "test-only-1"
TEST_ONLY_PAYLOAD_KEYS = f"{TEST_ONLY_KEY_ID}:Xepl4Sj8aTBtYHiK5+YW/NpluEo+tuVRWWXJdSSaP4A="


def keys_for_tests() -> PayloadKeys:
    return PayloadKeys(parse_payload_keys(TEST_ONLY_PAYLOAD_KEYS, "the test-only key"), "the test-only key")


def data_converter_for_tests() -> DataConverter:
    return payload_data_converter(keys_for_tests())
