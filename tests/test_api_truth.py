"""Answers that tell the truth: a signal that opens no journey, SendGrid's keys while rotating and the
age of its signatures, /healthz's 503 with Retry-After."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from domain.messages import ActivityReported, EmailSuppressed
from starter.client import NoJourney
from tests.api_kit import (
    SENDGRID_PUBLIC_KEY,
    api_settings,
    app_client,
    recording_app,
    sendgrid_headers,
    sendgrid_key_pair,
)
from tests.journey_kit import eventually, running_worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_signal_never_opens_a_journey(dev_env, program, tmp_path):
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, _engine):
        nobody = f"cus_{uuid.uuid4().hex[:10]}"
        with pytest.raises(NoJourney):
            await tenure.signal(nobody, EmailSuppressed(event_id="sg-1", reason="bounce"))
        assert not await tenure.exists(nobody)

        member = f"cus_{uuid.uuid4().hex[:10]}"
        await tenure.send(member, ActivityReported(event_id="a-1", kind="login"))
        await tenure.signal(member, EmailSuppressed(event_id="sg-2", reason="bounce"))
        timeline = await eventually(lambda: tenure.timeline(member), lambda t: any("bounce" in i.text for i in t.items))
        assert timeline.items


def _batch(customer: str) -> bytes:
    return json.dumps([{"event": "bounce", "customer_id": customer, "timestamp": int(time.time())}]).encode()


async def test_sendgrid_verification_keys_rotate(program, tmp_path):
    new_private, new_public = sendgrid_key_pair()
    async with recording_app(
        program, tmp_path, sendgrid_webhook_public_key=f"{new_public}, {SENDGRID_PUBLIC_KEY}"
    ) as app:
        app.rec.journeys.add("cus_R")
        body = _batch("cus_R")
        for headers in (
            sendgrid_headers(body, private_key=new_private),
            sendgrid_headers(body),
        ):  # the new key and the old one
            r = await app.post("/webhooks/sendgrid", content=body, headers=headers)
            assert r.status_code == 200 and r.json()["delivered"] == 1, r.text
        stranger, _ = sendgrid_key_pair()
        r = await app.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body, private_key=stranger))
        assert r.status_code == 401 and "does not match" in r.json()["error"]


@pytest.mark.parametrize(
    "max_age, age, status", [(None, 3 * 86400 - 60, 200), (None, 3 * 86400 + 60, 401), (600, 900, 401)]
)
async def test_sendgrid_deliveries_have_a_maximum_age(program, tmp_path, max_age, age, status):
    extra = {} if max_age is None else {"sendgrid_webhook_max_age": max_age}
    async with recording_app(program, tmp_path, **extra) as app:
        app.rec.journeys.add("cus_A")
        body = _batch("cus_A")
        r = await app.post(
            "/webhooks/sendgrid", content=body, headers=sendgrid_headers(body, str(int(time.time()) - age))
        )
        assert r.status_code == status, r.text
        if status == 401:
            assert "stale timestamp" in r.json()["error"] and app.rec.sent == []
        ahead = sendgrid_headers(body, str(int(time.time()) + 3600))
        assert (await app.post("/webhooks/sendgrid", content=body, headers=ahead)).status_code == 401


async def test_healthz_503_says_when_to_retry(program, tmp_path):
    settings = api_settings(data_dir=tmp_path, temporal_address=f"127.0.0.1:{_free_port()}")
    async with app_client(settings, program=program) as http:
        r = await http.get("/healthz")
        assert r.status_code == 503 and r.json()["status"] == "degraded", r.text
        assert int(r.headers["retry-after"]) > 0
