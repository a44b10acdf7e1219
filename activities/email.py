"""Email activity: SendGrid dynamic templates, or a local outbox when no key is configured.

Every email is recorded in the `emails` table under its intent key, whatever its fate
(sent, outbox, rejected); a key found there is never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Category, CustomArg, From, Mail, To
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.metrics import count_email
from domain.effects import EmailIntent, EmailOutcome
from storage.schema import emails, utcnow
from storage.statements import insert_if_absent

log = logging.getLogger("tenure.email")

SENDGRID_RETRYABLE = "SendGridRetryable"

# 401/403 mean a wrong key or an unverified sender: the operator's fault, not the message's.
# Retrying lets mail flow again once the configuration is fixed instead of dropping it.
_CONFIG_STATUSES = {401, 403}
_MAX_RATE_LIMIT_WAIT = 3600.0


RecordedStatus = Literal["sent", "outbox", "rejected"]  # the statuses of the emails table


class EmailActivities:
    def __init__(
        self,
        engine: Engine,
        api_key: str | None,
        host: str = "https://api.sendgrid.com",
        from_email: str = "loyalty@example.com",
        from_name: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.engine = engine
        self.api_key = api_key or None
        self.host = host
        self.from_email = from_email
        self.from_name = from_name
        self.timeout = timeout

    @activity.defn
    async def send_email(self, intent: EmailIntent) -> EmailOutcome:
        """Send (or outbox) one email, at most once per `intent.key` as far as the DB can tell.

        - key already recorded → "duplicate", nothing sent;
        - no address → recorded "rejected" ("no email address");
        - no SendGrid key → recorded "outbox" and logged (offline mode);
        - SendGrid 2xx → recorded "sent"; other 4xx → recorded "rejected", not retried;
        - 429, 5xx, 401/403 and network errors → raises, so Temporal retries with backoff
          (429 honours SendGrid's X-RateLimit-Reset as the next retry delay).

        Caveat: SendGrid has no idempotency key. If the worker dies after SendGrid accepted the
        mail but before the row is written, or a timeout hides an accepted request, the retry
        sends it again. The row is written right after the 2xx, before anything else, to keep
        that window as small as it can be.
        """
        outcome = await asyncio.to_thread(self._send, intent)
        count_email(outcome.status)
        return outcome

    def _send(self, intent: EmailIntent) -> EmailOutcome:
        with self.engine.connect() as conn:
            prior = conn.execute(sa.select(emails.c.status).where(emails.c.key == intent.key)).scalar()
        if prior is not None:
            return EmailOutcome(key=intent.key, status="duplicate", detail=f"already {prior}")

        if not intent.to_email:
            return self._record(intent, "rejected", "no email address", {"dynamic_template_data": intent.data})

        payload = self._build(intent).get()
        if self.api_key is None:
            # The customer id, never the address: logs must not carry personal data.
            log.info(
                "outbox (no SendGrid key): %s %s for customer %s, key %s",
                intent.purpose,
                intent.template_id,
                intent.customer_id,
                intent.key,
            )
            return self._record(intent, "outbox", None, payload)

        client = SendGridAPIClient(api_key=self.api_key, host=self.host)
        client.client.timeout = self.timeout
        try:
            response = client.send(payload)
        except HTTPError as e:
            status = int(e.status_code)
            body = _text(e.body)
            if status == 429 or status >= 500 or status in _CONFIG_STATUSES:
                raise ApplicationError(
                    f"SendGrid answered {status}: {body}",
                    type=SENDGRID_RETRYABLE,
                    next_retry_delay=_rate_limit_delay(e) if status == 429 else None,
                ) from None
            log.warning("SendGrid rejected %s (key %s): %s %s", intent.purpose, intent.key, status, body)
            return self._record(intent, "rejected", f"{status}: {body}", payload)

        if not 200 <= response.status_code < 300:
            raise ApplicationError(f"SendGrid answered {response.status_code}", type=SENDGRID_RETRYABLE)
        message_id = _header(response.headers, "X-Message-Id")
        return self._record(intent, "sent", f"x-message-id={message_id}" if message_id else None, payload)

    def _build(self, intent: EmailIntent) -> Mail:
        mail = Mail(
            from_email=From(self.from_email, self.from_name),
            to_emails=To(intent.to_email, intent.to_name),
        )
        mail.template_id = intent.template_id
        mail.dynamic_template_data = intent.data
        # Echoed back by SendGrid's event webhook, to map bounces and opens to a journey.
        mail.custom_arg = [CustomArg("tenure_key", intent.key), CustomArg("customer_id", intent.customer_id)]
        mail.category = [Category(intent.category), Category(intent.purpose)]
        return mail

    def _record(self, intent: EmailIntent, status: RecordedStatus, detail: str | None, payload: Any) -> EmailOutcome:
        """Insert-if-absent: a concurrent attempt that recorded first wins, ours is a no-op."""
        row = {
            "key": intent.key,
            "customer_id": intent.customer_id,
            "purpose": intent.purpose,
            "template_id": intent.template_id,
            "category": intent.category,
            "to_email": intent.to_email,
            "status": status,
            "detail": detail,
            "payload": payload,
            "created_at": utcnow(),
        }
        with self.engine.begin() as conn:
            conn.execute(insert_if_absent(self.engine, emails, "key").values(**row))
        return EmailOutcome(key=intent.key, status=status, detail=detail)


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body)


def _header(headers: Any, name: str) -> str | None:
    try:
        return headers.get(name) if headers is not None else None
    except AttributeError:
        return None


def _rate_limit_delay(e: HTTPError) -> timedelta | None:
    """SendGrid's X-RateLimit-Reset is the epoch second the limit resets."""
    reset = _header(getattr(e, "headers", None), "X-RateLimit-Reset")
    try:
        wait = float(reset) - time.time() if reset else None
    except ValueError:
        return None
    if wait is None or wait <= 0:
        return None
    return timedelta(seconds=min(wait, _MAX_RATE_LIMIT_WAIT))
