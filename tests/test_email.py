"""The email activity with the real `sendgrid` client against a local SendGrid stand-in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.error import URLError

import pytest
import sqlalchemy as sa
from fake_sendgrid import FakeSendGrid, Reply
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email import SENDGRID_RETRYABLE, EmailActivities
from domain.effects import EmailIntent
from storage.schema import emails

KEY = "SG.test-key"


@pytest.fixture
def sendgrid():
    with FakeSendGrid(api_key=KEY) as fake:
        yield fake


def make_acts(engine, sendgrid, api_key=KEY) -> EmailActivities:
    return EmailActivities(engine, api_key, sendgrid.url, from_email="loyalty@example.com", from_name="Tenure Rewards")


def intent(uid: str, n: int = 1, **kw) -> EmailIntent:
    fields = dict(
        customer_id=f"c-{uid}",
        key=f"c-{uid}:email:{n}",
        purpose="points_earned",
        template_id="d-points-earned",
        category="transactional",
        to_email="ada@example.com",
        to_name="Ada",
        data={"points": 100, "balance": 1250, "lots": [{"expires": "2027-01-15"}]},
        at=datetime(2026, 1, 15, tzinfo=UTC),
    )
    return EmailIntent(**(fields | kw))


def row(engine, key: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(emails).where(emails.c.key == key)).one_or_none()


async def send(acts: EmailActivities, i: EmailIntent):
    return await ActivityEnvironment().run(acts.send_email, i)


async def test_202_sends_the_dynamic_template(engine, sendgrid, uid):
    i = intent(uid)
    out = await send(make_acts(engine, sendgrid), i)
    assert (out.key, out.status) == (i.key, "sent")
    assert out.detail and out.detail.startswith("x-message-id=")

    [req] = sendgrid.requests
    assert req.path == "/v3/mail/send"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    body = req.body
    assert body["template_id"] == "d-points-earned"
    assert body["from"] == {"email": "loyalty@example.com", "name": "Tenure Rewards"}
    [p] = body["personalizations"]
    assert p["to"] == [{"email": "ada@example.com", "name": "Ada"}]
    assert p["dynamic_template_data"] == i.data
    assert body["custom_args"] == {"tenure_key": i.key, "customer_id": i.customer_id}
    assert set(body["categories"]) == {"transactional", "points_earned"}

    r = row(engine, i.key)
    assert (r.status, r.to_email, r.template_id, r.customer_id) == (
        "sent",
        "ada@example.com",
        "d-points-earned",
        i.customer_id,
    )
    assert r.payload == body


async def test_same_key_twice_sends_once(engine, sendgrid, uid):
    acts = make_acts(engine, sendgrid)
    assert (await send(acts, intent(uid))).status == "sent"
    again = await send(acts, intent(uid))
    assert (again.status, again.detail) == ("duplicate", "already sent")
    assert len(sendgrid.requests) == 1
    assert (await send(acts, intent(uid, 2))).status == "sent"
    assert len(sendgrid.requests) == 2


async def test_400_is_recorded_rejected_and_not_raised(engine, sendgrid, uid):
    acts = make_acts(engine, sendgrid)
    sendgrid.script(400)
    out = await send(acts, intent(uid))
    assert out.status == "rejected"
    assert "400" in out.detail and "template_id must be a valid GUID" in out.detail
    r = row(engine, intent(uid).key)
    assert r.status == "rejected" and r.detail == out.detail
    # Rejected is final: a retry of the workflow step does not try again.
    assert (await send(acts, intent(uid))).status == "duplicate"
    assert len(sendgrid.requests) == 1


async def test_invalid_request_is_rejected_by_the_fake_as_by_sendgrid(engine, sendgrid, uid):
    """No stub script: the fake's own validation answers 400 (empty template id)."""
    out = await send(make_acts(engine, sendgrid), intent(uid, template_id=""))
    assert out.status == "rejected" and "content parameter is required" in out.detail


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_429_and_5xx_raise_for_retry_then_send(engine, sendgrid, uid, status):
    acts = make_acts(engine, sendgrid)
    sendgrid.script(status, status)
    for _ in range(2):
        with pytest.raises(ApplicationError) as err:
            await send(acts, intent(uid))
        assert err.value.type == SENDGRID_RETRYABLE and not err.value.non_retryable
        assert str(status) in str(err.value)
        assert row(engine, intent(uid).key) is None
    if status == 429:  # SendGrid says when the limit resets: retry then, not sooner.
        assert timedelta(seconds=1) < err.value.next_retry_delay <= timedelta(seconds=6)
    else:
        assert err.value.next_retry_delay is None

    out = await send(acts, intent(uid))  # Temporal's next attempt
    assert out.status == "sent"
    assert [r.status for r in sendgrid.requests] == [status, status, 202]
    assert row(engine, intent(uid).key).status == "sent"


async def test_wrong_api_key_is_retried_not_dropped(engine, sendgrid, uid):
    acts = make_acts(engine, sendgrid, api_key="SG.wrong")
    with pytest.raises(ApplicationError, match="401") as err:
        await send(acts, intent(uid))
    assert not err.value.non_retryable
    assert row(engine, intent(uid).key) is None
    # The operator fixes the key; the retried activity sends.
    assert (await send(make_acts(engine, sendgrid), intent(uid))).status == "sent"


async def test_network_error_raises(engine, uid):
    acts = EmailActivities(engine, KEY, "http://127.0.0.1:9", from_email="loyalty@example.com")
    with pytest.raises(URLError, match="Connection refused"):
        await send(acts, intent(uid))
    assert row(engine, intent(uid).key) is None


async def test_no_address_is_rejected_without_a_request(engine, sendgrid, uid):
    out = await send(make_acts(engine, sendgrid), intent(uid, to_email=None))
    assert (out.status, out.detail) == ("rejected", "no email address")
    assert row(engine, intent(uid).key).status == "rejected"
    assert sendgrid.requests == []


async def test_offline_outbox(engine, sendgrid, uid, caplog):
    acts = make_acts(engine, sendgrid, api_key=None)
    with caplog.at_level(logging.INFO, logger="tenure.email"):
        out = await send(acts, intent(uid))
    assert out.status == "outbox"
    assert sendgrid.requests == []
    r = row(engine, intent(uid).key)
    assert r.status == "outbox"
    assert r.payload["template_id"] == "d-points-earned"
    assert r.payload["personalizations"][0]["dynamic_template_data"] == intent(uid).data
    [rec] = [rec for rec in caplog.records if rec.name == "tenure.email"]
    message = rec.getMessage()  # the log names the customer, never the address or the name
    assert intent(uid).key in message and intent(uid).customer_id in message, message
    assert "ada@example.com" not in message and "Ada" not in message, message
    assert (await send(acts, intent(uid))).status == "duplicate"


async def test_scripted_reply_with_custom_body(engine, sendgrid, uid):
    sendgrid.script(Reply(413, [{"message": "Payload too large", "field": None, "help": None}]))
    out = await send(make_acts(engine, sendgrid), intent(uid))
    assert out.status == "rejected" and out.detail.startswith("413")
