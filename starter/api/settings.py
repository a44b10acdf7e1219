"""Settings of the HTTP service, on top of the shared ones (same TENURE_ prefix)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import SettingsConfigDict

from settings import Settings, settings_error

from .roles import ApiKey, parse_api_keys


def split_list(value: str | None) -> list[str]:
    """'a, b,,c' -> ['a', 'b', 'c']: keys and secrets are comma-separated (several while rotating)."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class ApiSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore", populate_by_name=True)

    api_keys: str = Field(
        "", description="Comma-separated SECRET:ROLE[:NAME] (starter/api/roles.py); empty: the admin dev key 'dev-key'."
    )
    stripe_webhook_secret: str | None = Field(
        None,
        validation_alias=AliasChoices("stripe_webhook_secret", "TENURE_STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"),
        description="Signing secret(s) of the Stripe webhook endpoint (whsec_...), comma-separated while rolling.",
    )
    billing_webhook_secret: str | None = Field(None, description="HMAC secret(s) of the generic billing webhook.")
    sendgrid_webhook_public_key: str | None = Field(
        None,
        description="Verification key(s) of SendGrid's signed event webhook (base64), comma-separated while rotating.",
    )
    sendgrid_webhook_max_age: int = Field(
        3 * 86400,
        gt=0,
        description="Seconds a signed SendGrid delivery stays acceptable (SendGrid retries for 24 h; a replay of a "
        "delivery repeats event ids the journeys ignore).",
    )
    api_max_body_bytes: int = Field(256 * 1024, gt=0)
    api_sendgrid_max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="SendGrid posts large batches.")
    api_temporal_timeout: float = Field(5.0, gt=0, description="Seconds a signal, query or connect may take.")
    api_update_timeout: float = Field(20.0, gt=0, description="Seconds a redemption (workflow update) may take.")
    codec_cors_origins: str = Field(
        "http://127.0.0.1:8233,http://localhost:8233",
        description="Origins (the Temporal UI's) that may call /codec/* from a browser, comma-separated.",
    )

    console_secret: str | None = Field(
        None,
        description="Signs the console's session cookies; unset: derived from TENURE_API_KEYS (changing the keys "
        "then signs everyone out). Set it, the same everywhere, when API processes run with different key lists.",
    )
    temporal_ui_url: str = Field(
        "http://127.0.0.1:8233",
        description="Where the console links a journey in the Temporal UI (`make run` sets it from TENURE_UI_PORT).",
    )

    def api_key_list(self) -> list[ApiKey]:
        return parse_api_keys(self.api_keys)


def api_settings(settings: Settings | None) -> ApiSettings:
    """The given settings as ApiSettings (the API's own fields from the environment), or all from it;
    `SettingsError` (settings.py) naming every wrong variable."""
    if isinstance(settings, ApiSettings):
        return settings
    try:
        return ApiSettings() if settings is None else ApiSettings(**settings.model_dump())
    except ValidationError as e:
        raise settings_error(e) from None
