"""The SQL schema of Tenure: the ledger, the customers projection, emails, billing records, quarantine.

SQLAlchemy Core, one schema for SQLite (the embedded default) and PostgreSQL. Every table
that records a side effect has a UNIQUE idempotency `key`: a retried activity inserts
"if absent" and so can never record the same effect twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC (a naive value is taken as UTC), returns aware UTC datetimes on every dialect.

    SQLite keeps no offset, so without this a value read back would be naive and no longer
    equal to the one the workflow wrote.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # Read as UTC rather than refused: a refusal would fail the activity on every retry.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("email", sa.String),
    sa.Column("name", sa.String),
    sa.Column("timezone", sa.String, nullable=False, server_default="UTC"),
    sa.Column("program_version", sa.String, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Added for the lifecycle journeys; the first migration adds them to an older, pre-migration table.
    # Upper-case, NULL when the member has none. Not UNIQUE: a code is derived from the
    # customer id, and a clash must not make a profile upsert fail forever.
    sa.Column("referral_code", sa.String, index=True),
    sa.Column("status", sa.String, nullable=False, server_default="active"),
    sa.Column("tier", sa.String, nullable=False, server_default=""),
    sa.Column("at_risk", sa.Boolean, nullable=False, server_default=sa.false()),
    # The segment projection (domain/segments.py SegmentProjection), written by journeys of rules
    # version 3 on; NULL until a journey has projected (older runs until they continue as new).
    sa.Column("balance", sa.Integer),
    sa.Column("lifetime_points", sa.Integer),
    sa.Column("lifetime_spend_minor", sa.BigInteger),
    sa.Column("last_activity_at", UTCDateTime),
    sa.Column("signed_up_at", UTCDateTime),
    sa.Column("plan_cadence", sa.String),
    sa.Column("churn_reason", sa.String),
    sa.Column("country", sa.String(2)),
    sa.Column("email_reachable", sa.Boolean),
    sa.Column("referral_count", sa.Integer),
    sa.Column("engagement_level", sa.String),
    sa.Column("churn_risk_score", sa.Integer),
    sa.Column("projected_at", UTCDateTime),
)

# Saved segments (domain/segments.py Segment): a named filter, as JSON.
segments = sa.Table(
    "segments",
    metadata,
    sa.Column("segment_id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("filter", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("points", sa.Integer, nullable=False, default=0),
    sa.Column("pending_points", sa.Integer, nullable=False, default=0),
    sa.Column("balance_after", sa.Integer, nullable=False),
    sa.Column("pending_after", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("lot_id", sa.String),
    sa.Column("ref", sa.String),
    sa.Column("reason", sa.String),
    sa.Column("actor", sa.String),
    sa.Column("program_version", sa.String, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("customer_id", "seq", name="uq_ledger_customer_seq"),
)

EMAIL_STATUSES = ("sent", "outbox", "rejected")

emails = sa.Table(
    "emails",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("purpose", sa.String, nullable=False),
    sa.Column("template_id", sa.String, nullable=False),
    sa.Column("category", sa.String, nullable=False),
    sa.Column("to_email", sa.String),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("payload", sa.JSON),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(f"status IN {EMAIL_STATUSES!r}", name="ck_emails_status"),
)

billing_credits = sa.Table(
    "billing_credits",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("amount_minor", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

billing_discounts = sa.Table(
    "billing_discounts",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("percent_off", sa.Integer, nullable=False),
    sa.Column("duration_months", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

QUARANTINE_WHAT = ("event", "ledger_entry")

# What journeys set aside (domain/rejections.py): events they could not apply, ledger entries the
# ledger refused for good. Written by the journeys' activities; listed by `tenure doctor`.
quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("what", sa.String, nullable=False),
    sa.Column("ref", sa.String),
    sa.Column("type", sa.String),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False, server_default=""),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(f"what IN {QUARANTINE_WHAT!r}", name="ck_quarantine_what"),
)

CAMPAIGN_STATES = ("draft", "scheduled", "running", "paused", "completed", "cancelled", "failed")

# Campaigns (domain/campaigns.py): the definition as the marketer gave it, where it stands, and the
# latest progress the campaign workflow recorded (what `tenure campaign status` shows when it has ended).
campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("campaign_id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("progress", sa.JSON),
    sa.Column("stopped_because", sa.String),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.CheckConstraint(f"state IN {CAMPAIGN_STATES!r}", name="ck_campaigns_state"),
)

CAMPAIGN_GROUPS = ("treated", "holdout")

# Every member a campaign run reached or held out, once (unique per run): how a restarted worker
# knows whom it already reached, what results compare, and what export (issue 11) reads by customer.
# `campaign_id` is the run's id (a recurring campaign's month run has its own). `status_at_start`
# and `spend_at_start_minor` are the member's projection when reached, for retention and revenue.
campaign_members = sa.Table(
    "campaign_members",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.String, nullable=False),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("group", sa.String, nullable=False),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("reason", sa.String),
    sa.Column("points_granted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("points_committed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("email", sa.String),
    sa.Column("status_at_start", sa.String),
    sa.Column("spend_at_start_minor", sa.BigInteger),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_members_campaign_customer"),
    sa.CheckConstraint(f'"group" IN {CAMPAIGN_GROUPS!r}', name="ck_campaign_members_group"),
)

PERSONAL_DATA_ACTIONS = ("export", "erasure")

# Every export and erasure of a member's personal data (GDPR art. 15, 17, 20): who, when, what came of it.
# Written by starter/personal_data.py; kept for good (it holds the customer id, never an email or a name).
personal_data_requests = sa.Table(
    "personal_data_requests",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("request_id", sa.String, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.JSON),
    sa.CheckConstraint(f"action IN {PERSONAL_DATA_ACTIONS!r}", name="ck_personal_data_requests_action"),
)

# Programs by content (domain/program/content.py): a journey's start input names its program by the
# hash of its canonical JSON, and the worker resolves the hash here (storage/programs.py). Rows are
# immutable: a hash names one content for good, so they are only ever inserted, never updated.
programs = sa.Table(
    "programs",
    metadata,
    sa.Column("content_hash", sa.String(71), primary_key=True),  # "sha256:" + 64 hex digits
    sa.Column("version", sa.String, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("stored_at", UTCDateTime, nullable=False),
)
