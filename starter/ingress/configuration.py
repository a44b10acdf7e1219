"""An unconfigured webhook answers 503 rather than 4xx: the sender keeps retrying, and the events
land once the secret is set."""

from __future__ import annotations

from starter.api.errors import RETRY_LATER, ApiError
from starter.api.settings import split_list


def configured_secrets(value: str | None, webhook: str, hint: str) -> list[str]:
    """The comma-separated secrets of `value`, or 503 with `hint` (which setting to set)."""
    secrets = split_list(value)
    if not secrets:
        raise not_configured(webhook, hint)
    return secrets


def not_configured(webhook: str, hint: str) -> ApiError:
    return ApiError(503, f"the {webhook} webhook is not configured", hint, RETRY_LATER)
