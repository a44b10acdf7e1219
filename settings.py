"""Deployment settings, from the environment (prefix TENURE_), with embedded defaults.

The defaults run everything on this machine (dev server, SQLite, outbox instead of SendGrid,
local billing); the same code runs against a Temporal cluster and PostgreSQL by setting these.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, FilePath, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from starter import worker_cache

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    # An empty variable counts as unset (docker-compose.yml passes `${VAR:-}` for every optional one).
    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "production"] = Field(
        "production",
        description="production refuses to start without real secrets; `make run` and the tests say development.",
    )
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_cert: FilePath | None = Field(None, description="Client certificate (PEM) for mTLS.")
    temporal_tls_key: FilePath | None = Field(None, description="Client private key (PEM) for mTLS.")
    temporal_api_key: str | None = None
    task_queue: str = "tenure"

    # The worker at scale (README "Operating Tenure"): None keeps the Temporal SDK's default.
    worker_max_cached_workflows: int = Field(
        default_factory=lambda: worker_cache.default_cache_size(),
        ge=0,
        description="Journeys kept in the worker's memory (~110 KB each, bench/RESULTS.md); unset: as many as a "
        "quarter of the memory the worker may use holds (its cgroup v2 or v1 limit, else the machine's), 1,000 to "
        "5,000: a full garbage collection walks every cached journey (starter/worker_cache.py). A campaign "
        "sweeping more members than this replays every one of them.",
    )
    worker_max_concurrent_workflow_tasks: int | None = Field(None, gt=0, description="SDK default: 100.")
    worker_max_concurrent_activities: int | None = Field(None, gt=0, description="SDK default: 100.")
    worker_max_concurrent_local_activities: int | None = Field(
        None, gt=0, description="SDK default: 100. The ledger writes are local activities."
    )
    worker_blocking_threads: int | None = Field(
        None, gt=0, description="Threads for blocking work (SQL, SendGrid, Stripe); None: Python's min(32, CPUs + 4)."
    )
    worker_inline_activations: bool = Field(
        False,
        description="true: workflow activations run on the worker's loop thread, a watchdog failing one stuck past "
        "2 s (starter/inline_activations.py); 3-4% less worker CPU per event, but a long activation (a replay) holds "
        "up every other journey and activity of the worker meanwhile. false (default): a thread each.",
    )
    worker_health_file: Path | None = Field(
        None, description="A file the worker touches while it runs, for a container health check; unset: none."
    )

    # Worker Versioning (README "Operating Tenure", Releasing): journeys are pinned to the version they start on.
    worker_versioning: bool = Field(
        False, description="The worker declares its deployment version (name and build id); `make run` sets true."
    )
    deployment_name: str = Field("tenure", pattern=r"^[A-Za-z0-9_-]+$", description="The worker deployment's name.")
    build_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]+$", description="This code's build id; unset: derived from the source."
    )
    worker_set_current_version: bool = Field(
        False, description="Once polling, the worker makes its version current (`make run`, a single-worker site)."
    )

    # Metrics and traces (README "Operating Tenure", Metrics): off unless set.
    worker_metrics_address: str | None = Field(
        None, description="host:port where the worker serves Prometheus metrics (the SDK's and Tenure's); unset: none."
    )
    tracing: Literal["off", "console", "otlp"] = Field(
        "off", description="OpenTelemetry traces from webhook to ledger write: off, console, or otlp (OTLP/HTTP)."
    )
    otlp_endpoint: str | None = Field(
        None, description="The OTLP/HTTP traces endpoint; unset: OTEL_EXPORTER_OTLP_ENDPOINT or localhost:4318."
    )

    data_dir: Path = ROOT / "data"
    database_url: str = ""
    db_pool_size: int = Field(10, gt=0, description="PostgreSQL connections each process keeps open.")
    db_max_overflow: int = Field(10, ge=0, description="PostgreSQL connections a process may open beyond the pool.")
    db_pool_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a free connection before failing.")
    program_path: Path = ROOT / "program.toml"

    payload_keys: str | None = Field(
        None, description="Payload encryption keys, comma-separated KEY_ID:BASE64_KEY, newest first (rotation)."
    )
    payload_keys_file: Path | None = Field(None, description="A file holding TENURE_PAYLOAD_KEYS' value instead.")

    sendgrid_api_key: str | None = None
    sendgrid_host: str = "https://api.sendgrid.com"

    billing: Literal["local", "stripe"] = Field(
        "local", description="'local' records credits in the database; 'stripe' calls Stripe."
    )
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None

    @model_validator(mode="after")
    def _mtls_in_pairs(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("TENURE_TEMPORAL_TLS_CERT and TENURE_TEMPORAL_TLS_KEY go together: mTLS needs both files")
        return self

    @field_validator("database_url")
    @classmethod
    def _a_ledger_database(cls, url: str) -> str:
        fault = database_url_fault(url)
        if fault:
            raise ValueError(fault)
        return url

    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tenure.db'}"


LEDGER_DRIVERS = {"sqlite": {"", "pysqlite"}, "postgresql": {"", "psycopg"}, "postgres": {""}}
"""The ledger's databases and the drivers installed for them (storage/engine.py reads `postgres://` and
`postgresql://` as psycopg 3)."""
LEDGER_SCHEMES = {"sqlite": "sqlite:///", "postgresql": "postgresql+psycopg://", "postgres": "postgresql+psycopg://"}
URL_EXAMPLES = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE, or sqlite:////path/to/tenure.db"


def database_url_fault(url: str) -> str | None:
    """Why `url` cannot be the ledger database (never quoting it: it holds a password), or None. Empty is
    the embedded default."""
    if not url:
        return None
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return f"not a database URL; give {URL_EXAMPLES}"
    backend, _, driver = parsed.drivername.partition("+")  # by name: the dialect itself may not be installed
    if backend not in LEDGER_DRIVERS:
        return f"{backend} is not a ledger database Tenure runs on; give {URL_EXAMPLES}"
    if driver not in LEDGER_DRIVERS[backend]:
        return f"{parsed.drivername}:// is not a driver Tenure has; write {LEDGER_SCHEMES[backend]}"
    return None


SECRET_WORDS = ("key", "secret", "password", "url")
"""A setting whose name holds one of these is never quoted back (keys, secrets, a URL with its password)."""

S = TypeVar("S", bound=Settings)


class SettingsError(SystemExit):
    """The environment sets something wrong. A SystemExit: whichever process reads the settings (worker,
    API, `make run`, the CLI, a health probe) stops with the message, naming each variable and what it must
    be, instead of a traceback that names pydantic's fields."""


def settings_problems(error: ValidationError) -> list[str]:
    """One line per wrong variable: its TENURE_ name, its value unless secret, and what it must be."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:  # a check across settings: its message names them
            lines.append(message)
            continue
        field = str(problem["loc"][0])
        variable = field.upper() if field.upper().startswith(("TENURE_", "STRIPE_")) else f"TENURE_{field.upper()}"
        secret = any(word in field.lower() for word in SECRET_WORDS)
        value = problem.get("input")
        shown = "" if secret or not isinstance(value, str) else f"={value[:200]!r}"
        lines.append(f"{variable}{shown}: {message}")
    return lines


def settings_error(error: ValidationError) -> SettingsError:
    lines = "\n".join(f"  - {line}" for line in settings_problems(error))
    return SettingsError(f"Tenure's settings are wrong (README 'Configuration' lists them):\n{lines}")


def settings_from_environment(cls: type[S]) -> S:
    """`cls()` from the environment; `SettingsError` naming every wrong variable at once."""
    try:
        return cls()
    except ValidationError as e:
        raise settings_error(e) from None


@lru_cache
def get_settings() -> Settings:
    return settings_from_environment(Settings)
