"""SendGrid's event webhook -> domain events. Verification and pure translation.

SendGrid POSTs a JSON array of events, signed with ECDSA (P-256, SHA-256) over
`timestamp + body`; the signature and timestamp come in the headers
X-Twilio-Email-Event-Webhook-Signature / -Timestamp, the public key (base64, as SendGrid's
"Signed Event Webhook" settings show it) is TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY. The check is the
official `sendgrid` package's `EventWebhook` helper.

Which journey: Tenure's email activity sets the custom argument `customer_id` on every mail,
and SendGrid echoes it in each event. An event without it (mail sent by something else) is
matched by address against the `customers` table; no match -> ignored.

| SendGrid event                                   | domain event                                 |
|--------------------------------------------------|----------------------------------------------|
| bounce (type bounce; `blocked` is temporary)     | EmailSuppressed(reason="bounce")             |
| dropped                                          | EmailSuppressed(reason="dropped")            |
| spamreport, unsubscribe, group_unsubscribe       | EmailSuppressed(reason=<event>)              |
| open (not machine opens), click                  | ActivityReported(kind=email_opened/_clicked) |
| processed, deferred, delivered, group_resubscribe | ignored                                     |

Event ids: `sendgrid:<sg_event_id>` (SendGrid's unique id of each event; duplicates are expected
and ignored by the journey); an event without one gets a hash of its content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.messages import ActivityKind, ActivityReported, EmailSuppressed
from starter.api.errors import ApiError

from .configuration import not_configured
from .customer_ids import CUSTOMER_ID_RE
from .parsing import from_unix, parse_json, validate
from .results import Delivery, Ignored

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

Suppression = Literal["bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"]
SUPPRESSING = frozenset(get_args(Suppression))
_ACTIVITY: dict[str, ActivityKind] = {"open": "email_opened", "click": "email_clicked"}

CustomerFinder = Callable[[str], "list[str]"]
"""email address -> the customer ids that use it."""


class SendGridEvent(BaseModel):
    """One event of the batch; SendGrid adds many more fields (kept, unused)."""

    model_config = ConfigDict(extra="allow")

    event: str = Field(min_length=1)
    email: str | None = None
    timestamp: int | None = None
    sg_event_id: str | None = Field(None, max_length=180)
    sg_message_id: str | None = None
    customer_id: str | None = Field(None, description="Custom argument set by Tenure on every mail.")
    type: str | None = Field(None, description="For bounces: bounce (permanent) or blocked (temporary).")
    sg_machine_open: bool | None = None
    reason: str | None = None


SendGridBatch = TypeAdapter(list[SendGridEvent])


def verified_events(public_key: str | None, body: bytes, signature: str | None, timestamp: str | None) -> Any:
    """The body's JSON once SendGrid's signature on it checks out (parsed once, after the check)."""
    verify(public_key, body, signature, timestamp)
    return parse_json(body)


def verify(public_key: str | None, body: bytes, signature: str | None, timestamp: str | None) -> None:
    """Raise ApiError 401 unless SendGrid signed `timestamp + body` with the key's private half."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    if not public_key:
        raise not_configured(
            "SendGrid",
            "set TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY to the verification key of SendGrid's Signed Event Webhook",
        )
    if not signature or not timestamp:
        missing = " and ".join(h for h, v in ((SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)) if not v)
        raise ApiError(401, f"missing {missing} header")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
    try:
        helper = EventWebhook()
        key = helper.convert_public_key_to_ecdsa(public_key)
    except Exception as e:  # noqa: BLE001 - a wrong key is a configuration fault
        raise ApiError(503, "TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid public key", str(e)) from None
    try:
        ok = helper.verify_signature(payload, signature, timestamp, key)
    except Exception:  # noqa: BLE001 - not base64, not DER: not a signature
        ok = False
    if not ok:
        raise ApiError(
            401,
            "SendGrid signature does not match the body",
            "check TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY; the body must reach Tenure unchanged",
        )


def _event_id(ev: SendGridEvent, raw: dict[str, Any]) -> str:
    if ev.sg_event_id:
        return f"sendgrid:{ev.sg_event_id}"
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
    return f"sendgrid:h{digest}"


def translate(data: Any, find_customers: CustomerFinder | None = None) -> list[Delivery | Ignored]:
    """A verified batch (parsed JSON) -> one result per event (per customer it concerns), in order."""
    if isinstance(data, dict):
        data = [data]  # a single event: tolerated
    events: list[SendGridEvent] = validate(SendGridBatch, data, "SendGrid events")
    out: list[Delivery | Ignored] = []
    for ev, raw in zip(events, data, strict=True):
        fact = _fact(ev, raw)
        if isinstance(fact, Ignored):
            out.append(fact)
            continue
        if ev.customer_id and CUSTOMER_ID_RE.match(ev.customer_id):
            customers = [ev.customer_id]
        elif ev.email and find_customers is not None:
            customers = find_customers(ev.email)
        else:
            customers = []
        if not customers:
            out.append(Ignored(f"{ev.event} for an address no journey uses", ev.sg_event_id))
            continue
        out.extend(Delivery(cid, fact, f"sendgrid:{ev.event}") for cid in customers)
    return out


def _fact(ev: SendGridEvent, raw: dict[str, Any]) -> EmailSuppressed | ActivityReported | Ignored:
    """What one SendGrid event says about the member, or why it says nothing."""
    name = ev.event
    if name in SUPPRESSING:
        if name == "bounce" and (ev.type or "bounce") != "bounce":
            return Ignored(f"temporary bounce ({ev.type}) does not suppress", ev.sg_event_id)
        return EmailSuppressed(
            event_id=_event_id(ev, raw), occurred_at=from_unix(ev.timestamp), reason=cast(Suppression, name)
        )
    if name in _ACTIVITY:
        if name == "open" and ev.sg_machine_open:
            return Ignored("machine open (mail privacy protection) is not activity", ev.sg_event_id)
        detail = (raw.get("url") if name == "click" else None) or ev.sg_message_id
        return ActivityReported(
            event_id=_event_id(ev, raw),
            occurred_at=from_unix(ev.timestamp),
            kind=_ACTIVITY[name],
            detail=str(detail)[:500] if detail else None,
        )
    return Ignored(f"SendGrid event {name} is not used by Tenure", ev.sg_event_id)
