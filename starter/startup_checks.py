"""Production refuses to start insecurely: the worker and the API check their secrets before anything else.

In development (`make run` and the tests set TENURE_ENVIRONMENT=development) missing secrets have
local stand-ins: the admin key `dev-key`, webhooks answering 503, no payload encryption. In
production (the default) each of those is a hole, so the process stops and names every missing
setting at once, rather than one per restart. Both processes check the same list: they run from
one env file, and a worker started without the API's secrets is a deployment about to start an
open API.

Only presence is checked here; the content of the payload keys is the codec's to validate.
"""

from __future__ import annotations

from settings import Settings
from starter.api.roles import DEV_API_KEY, ApiKeyError, parse_api_keys
from starter.api.settings import api_settings, split_list

MIN_API_KEY_LENGTH = 16  # a guessable key is no key


def _api_key_faults(api_keys: str) -> list[str]:
    if not split_list(api_keys):  # parse_api_keys would answer the development key
        return [f"TENURE_API_KEYS is not set: the API would accept the development admin key {DEV_API_KEY!r}"]
    try:
        keys = parse_api_keys(api_keys)
    except ApiKeyError as e:
        return [str(e)]
    faults = []
    for number, key in enumerate(keys, start=1):
        if key.secret == DEV_API_KEY:
            faults.append(f"TENURE_API_KEYS entry {number} is the development key {DEV_API_KEY!r}")
        elif len(key.secret) < MIN_API_KEY_LENGTH:
            faults.append(
                f"TENURE_API_KEYS entry {number} ({key.name}) is shorter than {MIN_API_KEY_LENGTH} characters"
            )
    return faults


def _payload_key_faults(settings: Settings) -> list[str]:
    if settings.payload_keys and settings.payload_keys.strip():
        return []
    path = settings.payload_keys_file
    if path is None or not str(path).strip():
        return ["TENURE_PAYLOAD_KEYS (or TENURE_PAYLOAD_KEYS_FILE) is not set: journeys would be stored unencrypted"]
    if not path.is_file():
        return [f"TENURE_PAYLOAD_KEYS_FILE {path} is not a readable file"]
    return []


def production_faults(settings: Settings) -> list[str]:
    """Every missing secret that production refuses to start without; empty in development."""
    if settings.environment != "production":
        return []
    s = api_settings(settings)
    faults = _api_key_faults(s.api_keys)
    if not split_list(s.stripe_webhook_secret) and not split_list(s.billing_webhook_secret):
        faults.append(
            "no billing webhook secret: set TENURE_STRIPE_WEBHOOK_SECRET (Stripe) and/or "
            "TENURE_BILLING_WEBHOOK_SECRET (the generic format); payments could not reach the journeys"
        )
    if (s.sendgrid_api_key or "").strip() and not (s.sendgrid_webhook_public_key or "").strip():
        faults.append(
            "TENURE_SENDGRID_API_KEY is set but TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not: bounces and "
            "unsubscribes would never reach the journeys, which would keep mailing those members"
        )
    if s.billing == "stripe" and not (s.stripe_api_key or "").strip():
        faults.append("TENURE_BILLING=stripe needs TENURE_STRIPE_API_KEY")
    faults += _payload_key_faults(s)
    return faults


def require_safe_start(settings: Settings, process: str) -> None:
    """Stop `process` (naming every fault) when production is missing a secret; no-op otherwise."""
    faults = production_faults(settings)
    if faults:
        lines = "\n".join(f"  - {fault}" for fault in faults)
        raise SystemExit(
            f"Tenure refuses to start the {process} in production (TENURE_ENVIRONMENT=production):\n{lines}\n"
            "Set them (see .env.example and README 'Operating Tenure'), or TENURE_ENVIRONMENT=development "
            "on a developer's machine."
        )
