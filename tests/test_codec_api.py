"""The codec server of the API (`/codec/encode`, `/codec/decode`): staff keys only, the Temporal
codec-server protocol, CORS for the Temporal UI, and the UI's sign-in cookie."""

from __future__ import annotations

import logging

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.messages import SignedUp
from starter.payload_codec import KEY_ID_METADATA, generate_key
from tests.api_kit import api_settings, app_client
from tests.payload_key_for_tests import TEST_ONLY_KEY_ID, TEST_ONLY_PAYLOAD_KEYS, data_converter_for_tests

KEYS = "k-sup:support:maria,k-adm:admin,k-app:app,k-view:viewer"
UI = "http://127.0.0.1:8233"
EMAIL, NAME = "ada@example.com", "Ada Lovelace"


def body(payloads) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def parsed(response) -> list:
    return list(json_format.ParseDict(response.json(), Payloads()).payloads)


async def encrypted_signup() -> list:
    return await data_converter_for_tests().encode([SignedUp(event_id="su", email=EMAIL, name=NAME)])


@pytest.fixture
def settings(tmp_path):
    return api_settings(data_dir=tmp_path, api_keys=KEYS)


async def test_staff_decode_what_temporal_holds_others_are_refused(settings, program, caplog):
    encrypted = await encrypted_signup()
    async with app_client(settings, client=object(), program=program) as http:
        for key in ("k-sup", "k-adm"):
            with caplog.at_level(logging.INFO, logger="tenure.api.codec"):
                ok = await http.post("/codec/decode", json=body(encrypted), headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200, ok.text
            [decoded] = await pydantic_data_converter.decode(parsed(ok), [SignedUp])
            assert (decoded.email, decoded.name) == (EMAIL, NAME)
        assert "decoded 1 payloads for api:maria (namespace default)" in caplog.text and EMAIL not in caplog.text

        missing = await http.post("/codec/decode", json=body(encrypted))
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
        wrong = await http.post("/codec/decode", json=body(encrypted), headers={"X-Api-Key": "nope"})
        assert wrong.status_code == 401
        for key in ("k-app", "k-view"):
            refused = await http.post("/codec/decode", json=body(encrypted), headers={"X-Api-Key": key})
            assert refused.status_code == 403, refused.text
            assert refused.json()["detail"]["allowed"] == ["admin", "support"]
            assert EMAIL not in refused.text
        encode = await http.post("/codec/encode", json=body(encrypted), headers={"X-Api-Key": "k-app"})
        assert encode.status_code == 403


async def test_encode_writes_under_the_newest_key_and_plain_payloads_decode_as_they_are(settings, program):
    plain = await pydantic_data_converter.encode([SignedUp(event_id="su", email=EMAIL, name=NAME)])
    staff = {"X-Api-Key": "k-sup", "X-Namespace": "default"}
    async with app_client(settings, client=object(), program=program) as http:
        encoded = await http.post("/codec/encode", json=body(plain), headers=staff)
        assert encoded.status_code == 200, encoded.text
        [encrypted] = parsed(encoded)
        assert encrypted.metadata[KEY_ID_METADATA] == TEST_ONLY_KEY_ID.encode() and EMAIL not in encoded.text
        assert await data_converter_for_tests().decode([encrypted], [SignedUp]) == [
            SignedUp(event_id="su", email=EMAIL, name=NAME)
        ]
        passed = await http.post("/codec/decode", json=body(plain), headers=staff)
        assert parsed(passed) == plain, "a payload recorded before the codec comes back as it is"


async def test_after_rotation_the_codec_reads_old_and_new_keys(tmp_path, program):
    new = generate_key("2027-01")
    s = api_settings(data_dir=tmp_path, api_keys=KEYS, payload_keys=f"{new},{TEST_ONLY_PAYLOAD_KEYS}")
    old_payload = await encrypted_signup()
    async with app_client(s, client=object(), program=program) as http:
        encoded = await http.post("/codec/encode", json=body(old_payload), headers={"X-Api-Key": "k-sup"})
        [under_new] = parsed(encoded)
        assert under_new.metadata[KEY_ID_METADATA] == b"2027-01"
        both = await http.post("/codec/decode", json=body([old_payload[0], under_new]), headers={"X-Api-Key": "k-sup"})
        assert both.status_code == 200 and len(parsed(both)) == 2
        [first, second] = parsed(both)
        assert second == old_payload[0] and first.metadata["encoding"] == b"json/plain"

    s = api_settings(data_dir=tmp_path, api_keys=KEYS, payload_keys=new)
    async with app_client(s, client=object(), program=program, migrate=False) as http:
        lost = await http.post("/codec/decode", json=body(old_payload), headers={"X-Api-Key": "k-sup"})
        assert lost.status_code == 422 and f"key id '{TEST_ONLY_KEY_ID}', which is not configured" in lost.text


async def test_bad_requests(settings, program):
    staff = {"X-Api-Key": "k-sup"}
    async with app_client(settings, client=object(), program=program) as http:
        other = await http.post("/codec/decode", json={"payloads": []}, headers={**staff, "X-Namespace": "billing"})
        assert other.status_code == 400 and "serves namespace 'default'" in other.json()["error"]
        for garbled in (b"not json", b'{"payloads": "x"}', b'{"payloads": [{"metadata": 3}]}'):
            answer = await http.post("/codec/decode", content=garbled, headers=staff)
            assert answer.status_code == 400 and answer.json()["error"] == "malformed payloads", garbled
        empty = await http.post("/codec/decode", json={"payloads": []}, headers=staff)
        assert empty.status_code == 200 and empty.json() == {}
        # cut short (shorter than its nonce and tag) under a key this server holds: refused, not a 500
        [whole] = await encrypted_signup()
        for cut in (3, 12, 27):
            truncated = Payload(metadata=dict(whole.metadata), data=whole.data[:cut])
            answer = await http.post("/codec/decode", json=body([truncated]), headers=staff)
            assert answer.status_code == 422, (cut, answer.text)
            assert f"a payload under key id '{TEST_ONLY_KEY_ID}' is {cut} bytes" in answer.json()["detail"], answer.text


async def test_the_temporal_ui_may_call_from_its_origin_with_credentials(settings, program):
    async with app_client(settings, client=object(), program=program) as http:
        preflight = await http.options(
            "/codec/decode",
            headers={
                "Origin": UI,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == UI
        assert preflight.headers["access-control-allow-credentials"] == "true"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "x-namespace"} <= set(allowed.replace(" ", "").split(","))

        answer = await http.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI, "X-Api-Key": "k-sup"})
        assert answer.headers["access-control-allow-origin"] == UI
        refused = await http.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == UI, (
            "the UI sees the status, not a CORS failure"
        )

        evil = await http.options(
            "/codec/decode", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}
        )
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
        members = await http.options("/members/cus_1", headers={"Origin": UI, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in members.headers, "only /codec is open to the UI"


async def test_signing_in_keeps_the_key_in_a_cookie_only_codec_requests_from_the_ui_use(settings, program):
    encrypted = await encrypted_signup()
    async with app_client(settings, client=object(), program=program) as http:
        page = await http.get("/codec/login")
        assert page.status_code == 200 and "support" in page.text
        refused = await http.post("/codec/login", headers={"X-Api-Key": "k-app"})
        assert refused.status_code == 403 and "set-cookie" not in refused.headers

        signed_in = await http.post("/codec/login", headers={"X-Api-Key": "k-sup"})
        assert signed_in.status_code == 200 and "api:maria" in signed_in.text
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith("tenure_codec_key=k-sup;") and "HttpOnly" in cookie and "Path=/codec" in cookie
        assert "SameSite=strict" in cookie and "Secure" not in cookie, cookie

        jar = {"Cookie": "tenure_codec_key=k-sup"}
        from_ui = await http.post("/codec/decode", json=body(encrypted), headers={**jar, "Origin": UI})
        assert from_ui.status_code == 200 and EMAIL in str(await pydantic_data_converter.decode(parsed(from_ui)))
        from_elsewhere = await http.post(
            "/codec/decode", json=body(encrypted), headers={**jar, "Origin": "http://127.0.0.1:9999"}
        )
        assert from_elsewhere.status_code == 401, "the cookie only counts from the UI's origins"
        app_cookie = await http.post(
            "/codec/decode", json=body(encrypted), headers={"Cookie": "tenure_codec_key=k-app", "Origin": UI}
        )
        assert app_cookie.status_code == 403
        members = await http.get("/members/cus_1", headers=jar)
        assert members.status_code == 401, "the cookie opens nothing but /codec"

        out = await http.post("/codec/logout")
        assert 'tenure_codec_key=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
