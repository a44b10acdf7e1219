"""From outside into journeys: billing and email webhooks translated into domain events.

One module per sender, each with its signature check next to its translation:
`stripe_events` (with `stripe_objects`, Stripe's shapes), `generic_billing` (Tenure's own signed
format for in-house billing) and `sendgrid_events`. The translators are pure: a verified payload
becomes `Delivery`s (a domain event for one customer's journey) or `Ignored`s (a reason), or they
raise `ApiError` with a status and a message that says what is wrong. The HTTP layer
(`starter.api`) only reads the body, verifies, translates and sends.

Shared: `results` (Delivery, Ignored), `parsing` (the body's JSON, parsed once; validation),
`customer_ids`, `cadence` (monthly or annual), `configuration` (an unconfigured webhook).
"""

from .customer_ids import CustomerId, check_customer_id
from .parsing import from_unix, parse_json, validate
from .results import Delivery, Ignored

__all__ = ["CustomerId", "Delivery", "Ignored", "check_customer_id", "from_unix", "parse_json", "validate"]
