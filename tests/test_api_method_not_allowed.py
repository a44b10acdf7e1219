"""A 405 names the methods the path does answer (`Allow`, RFC 9110 §15.5.6), for routes of the app's
included routers too: it was empty for every route but the webhooks. A documented path is its own
resource: `/segments/preview` (POST) though `/segments/{segment_id}` (GET) matches it too."""

from __future__ import annotations

import pytest

from tests.api_kit import recording_app


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("DELETE", "/events", "POST"),
        ("POST", "/members/cus_1/ledger", "GET"),
        ("GET", "/webhooks/stripe", "POST"),
        ("DELETE", "/segments/preview", "POST"),
        ("DELETE", "/segments/gold", "GET"),
    ],
)
async def test_a_wrong_method_names_the_methods_the_path_answers(program, tmp_path, method, path, allow):
    async with recording_app(program, tmp_path) as http:
        answer = await http.request(method, path)
        assert answer.status_code == 405 and answer.headers["Allow"] == allow
