"""A 405 names the methods the path does answer (`Allow`, RFC 9110 §15.5.6), for routes of the app's
included routers too: it was empty for every route but the webhooks."""

from __future__ import annotations

from tests.api_kit import recording_app


async def test_a_wrong_method_names_the_methods_the_path_answers(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        events = await http.delete("/events")
        assert events.status_code == 405 and events.headers["Allow"] == "POST"
        ledger = await http.post("/members/cus_1/ledger")
        assert ledger.status_code == 405 and ledger.headers["Allow"] == "GET"
        stripe = await http.get("/webhooks/stripe")
        assert stripe.status_code == 405 and stripe.headers["Allow"] == "POST"


async def test_a_documented_path_names_its_own_methods_not_a_templates(program, tmp_path):
    """`/segments/preview` is its own resource (POST) though `/segments/{segment_id}` (GET) matches it too."""
    async with recording_app(program, tmp_path) as http:
        preview = await http.delete("/segments/preview")
        assert preview.status_code == 405 and preview.headers["Allow"] == "POST"
        segment = await http.delete("/segments/gold")
        assert segment.status_code == 405 and segment.headers["Allow"] == "GET"
