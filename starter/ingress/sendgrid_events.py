"""SendGrid's event webhook -> domain events. Verification and pure translation.

SendGrid POSTs a JSON array of events, signed with ECDSA (P-256, SHA-256) over
`timestamp + body`; the signature and timestamp come in the headers
X-Twilio-Email-Event-Webhook-Signature / -Timestamp, the public key (base64, as SendGrid's
"Signed Event Webhook" settings show it) is TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY (several,
comma-separated, while rotating). The check is the official `sendgrid` package's `EventWebhook`
helper. A delivery signed more than TENURE_SENDGRID_WEBHOOK_MAX_AGE seconds ago (default 3 days:
SendGrid retries for 24 hours) or more than 5 minutes ahead is refused, so a captured request
cannot be replayed later.

SendGrid events never open a journey (they are about mail Tenure sent): an event for a customer
without one is ignored and counted in the answer.

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
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter

from domain.messages import MAX_EMAIL_LENGTH, MAX_TEXT_LENGTH, ActivityKind, ActivityReported, EmailSuppressed, line
from starter.api.errors import RETRY_LATER, ApiError
from starter.api.settings import split_list

from .bounds import RecentUnixTime
from .configuration import not_configured
from .customer_ids import CUSTOMER_ID_RE
from .parsing import from_unix, parse_json, validate
from .results import Delivery, Ignored

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE_SECONDS = 3 * 86400
MAX_AHEAD_SECONDS = 300

Suppression = Literal["bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"]
SUPPRESSING = frozenset(get_args(Suppression))
_ACTIVITY: dict[str, ActivityKind] = {"open": "email_opened", "click": "email_clicked"}

CustomerFinder = Callable[[str], "list[str]"]
"""email address -> the customer ids that use it."""


class SendGridEvent(BaseModel):
    """One event of the batch; SendGrid adds many more fields (kept, unused)."""

    model_config = ConfigDict(extra="allow")

    event: Annotated[str, line(64, min_length=1)]
    email: Annotated[str, line(MAX_EMAIL_LENGTH)] | None = None
    timestamp: RecentUnixTime | None = None
    sg_event_id: Annotated[str, line(180)] | None = None
    sg_message_id: Annotated[str, line(200)] | None = None
    customer_id: Annotated[str, line(200)] | None = Field(
        None, description="Custom argument set by Tenure on every mail."
    )
    type: Annotated[str, line(64)] | None = Field(
        None, description="For bounces: bounce (permanent) or blocked (temporary)."
    )
    sg_machine_open: StrictBool | None = None
    url: Annotated[str, line(8192)] | None = Field(None, description="For clicks: the link clicked.")


SendGridBatch = TypeAdapter(list[SendGridEvent])


def verified_events(
    public_keys: str | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    max_age: int = MAX_AGE_SECONDS,
) -> Any:
    """The body's JSON once SendGrid's signature on it checks out (parsed once, after the check)."""
    verify(public_keys, body, signature, timestamp, max_age)
    return parse_json(body)


def verify(
    public_keys: str | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    max_age: int = MAX_AGE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise ApiError 401 unless SendGrid signed `timestamp + body` with the private half of one of
    `public_keys` (comma-separated) at most `max_age` seconds ago."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    keys = split_list(public_keys)
    if not keys:
        raise not_configured(
            "SendGrid",
            "set TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY to the verification key of SendGrid's Signed Event Webhook",
        )
    if not signature or not timestamp:
        missing = " and ".join(h for h, v in ((SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)) if not v)
        raise ApiError(401, f"missing {missing} header")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise ApiError(401, f"malformed {TIMESTAMP_HEADER} header", "expected unix seconds")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
    helper = EventWebhook()
    if not any(_signed_with(helper, key, payload, signature, timestamp) for key in keys):
        raise ApiError(
            401,
            "SendGrid signature does not match the body",
            "check TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY; the body must reach Tenure unchanged",
        )
    age = (time.time() if now is None else now) - int(timestamp)
    if age > max_age:
        raise ApiError(
            401,
            f"stale timestamp: the delivery was signed {int(age)} s ago (at most {max_age} s accepted)",
            "SendGrid retries for 24 hours; TENURE_SENDGRID_WEBHOOK_MAX_AGE sets the limit",
        )
    if -age > MAX_AHEAD_SECONDS:
        raise ApiError(401, f"stale timestamp: the delivery is signed {int(-age)} s in the future", "check the clocks")


def _signed_with(helper: Any, public_key: str, payload: str, signature: str, timestamp: str) -> bool:
    try:
        key = helper.convert_public_key_to_ecdsa(public_key)
    except Exception as e:  # noqa: BLE001 - a wrong key is a configuration fault
        raise ApiError(
            503, "TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid public key", str(e), RETRY_LATER
        ) from None
    try:
        return bool(helper.verify_signature(payload, signature, timestamp, key))
    except Exception:  # noqa: BLE001 - not base64, not DER: not a signature
        return False


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
        detail = (ev.url if name == "click" else None) or ev.sg_message_id
        return ActivityReported(
            event_id=_event_id(ev, raw),
            occurred_at=from_unix(ev.timestamp),
            kind=_ACTIVITY[name],
            detail=detail[:MAX_TEXT_LENGTH] if detail else None,
        )
    return Ignored(f"SendGrid event {name} is not used by Tenure", ev.sg_event_id)
