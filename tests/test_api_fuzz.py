"""Schemathesis against the app's own OpenAPI document: no 5xx (other than a documented 503 with
Retry-After), only the statuses each route documents, bodies of the documented shapes, invalid
data refused and valid data accepted.

The app runs as `make run` runs it: served by uvicorn over real HTTP, connected by itself to the
session's dev server (`dev_env`), with a worker on its own task queue and SQLite ledger, in a
thread of its own. The dev server rather than a stand-in, because what Temporal itself refuses
(a payload, an id) is part of what must never become a 500; the worker, because a redemption or
a summary of a journey that exists needs one to answer. Webhook bodies are signed here exactly as
their senders sign them, so the generated data reaches the translators instead of stopping at
401. Bounded in time: `MAX_EXAMPLES` per operation and generation mode, no shrinking, a fixed seed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import positive_data_acceptance

from starter.api import create_app
from starter.connect import connect
from starter.ingress import generic_billing
from storage.engine import create_engine_for
from storage.migrate import upgrade
from tests.api_kit import AUTH, BILLING_SECRET, api_settings, sendgrid_headers, stripe_headers
from worker import build_worker

MAX_EXAMPLES = 25
SEED = 20261201


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedApp:
    """The worker and the app under uvicorn, on an event loop of their own in a thread."""

    def __init__(self, address: str, program: Any, tmp_path: Path):
        self.port = _free_port()
        self.settings = api_settings(
            task_queue=f"fuzz-{self.port}",
            data_dir=tmp_path,
            temporal_address=address,
            api_temporal_timeout=3.0,
            api_update_timeout=5.0,
        )
        self.program = program
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="fuzzed-app", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # noqa: BLE001 - reported by start() or stop()
            self.failure = e
            self.ready.set()

    async def _serve(self) -> None:
        engine = create_engine_for(self.settings.db_url())
        upgrade(engine)
        client = await connect(self.settings)  # the app's own converter: the worker reads what the app starts
        app = create_app(self.settings, program=self.program, engine=engine)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        async with build_worker(client, self.settings, self.program, engine):
            serving = asyncio.create_task(self.server.serve())
            while not self.server.started and not serving.done():
                await asyncio.sleep(0.05)
            self.ready.set()
            await serving
        engine.dispose()

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(60), "the app did not start within 60 s"
        if self.failure:
            raise self.failure

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def served_app(dev_env, program, tmp_path_factory) -> Iterator[ServedApp]:
    app = ServedApp(dev_env.client.service_client.config.target_host, program, tmp_path_factory.mktemp("fuzz"))
    app.start()
    yield app
    app.stop()


def _operations() -> dict[str, Any]:
    """The app's operations, from its OpenAPI document (built without serving it)."""
    document = create_app(api_settings()).openapi()
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": AUTH,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "no-shrink": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    loaded = schemathesis.openapi.from_dict(document, config=config)
    return {op.label: op for op in (result.ok() for result in loaded.get_all_operations())}


OPERATIONS = _operations()


def _signature(path: str, body: bytes) -> dict[str, str]:
    """The headers each sender signs its body with (the routes check them before reading anything)."""
    if path == "/webhooks/stripe":
        return stripe_headers(body)
    if path == "/webhooks/billing":
        return {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET)}
    if path == "/webhooks/sendgrid":
        return sendgrid_headers(body)
    return {}


def no_server_error(response: Any) -> None:
    """No 5xx but a 503 that says when to retry (Temporal or a webhook's secret missing)."""
    if response.status_code >= 500:
        retry_after = {name.lower(): value for name, value in response.headers.items()}.get("retry-after")
        assert response.status_code == 503 and retry_after, f"{response.status_code} {response.text[:500]}"


def valid_data_accepted(response: Any) -> None:
    """Data the schema calls valid is accepted: 2xx, or an answer about the member (no journey 404, a
    conflict 409), or a refusal of their journey's rules (422 with refused_by: a minimum the program
    sets, a reward its catalog lacks), which no schema of the API can know."""
    status = response.status_code
    if status < 300 or status in (401, 403, 404, 409, 503):
        return
    detail = response.json().get("detail") if status == 422 else None
    assert isinstance(detail, dict) and detail.get("refused_by") == "journey", f"{status} {response.text[:500]}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("label", list(OPERATIONS))
def test_the_api_answers_as_documented(served_app, label):
    """Schemathesis' phases for one operation: its coverage cases (each bound, just inside and just
    outside; every field left out, mistyped, null), then fuzzing with valid and invalid data."""

    operation = OPERATIONS[label]

    def check(case):
        if _one_currency_of_many(case):
            return
        positive = case.method.upper() == operation.method.upper() and (
            case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
        )
        if positive:
            _recent(case.body)
        extra: dict[str, Any] = {"headers": {**AUTH, **(case.headers or {})}}
        if case.path.startswith("/webhooks/") and not isinstance(case.body, NotSet) and not _wrong_headers(case):
            body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
            extra = {"data": body, "headers": {**extra["headers"], **_signature(case.path, body)}}
        response = case.call(base_url=served_app.base_url, timeout=15, **extra)
        no_server_error(response)
        if positive:
            valid_data_accepted(response)
        case.validate_response(response, excluded_checks=[not_a_server_error, positive_data_acceptance])

    test = build_operation_test(
        config=operation.schema.config,
        operation=operation,
        test_func=check,
        given_kwargs={},
        feedback=FeedbackSources(),
    )
    test()


TIME_FIELDS = {
    "created": lambda: int(time.time()),
    "timestamp": lambda: int(time.time()),
    "occurred_at": lambda: _now(),
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _recent(body: Any) -> None:
    """Valid data, as of now: what JSON Schema cannot say (a fact within the deduplication horizon, not
    ahead of the clock) is set here, in place, on every time field the schema let through."""
    items = body if isinstance(body, list) else body.get("events", [body]) if isinstance(body, dict) else []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            for field, now in TIME_FIELDS.items():
                if item.get(field) is not None:
                    item[field] = now()


def _wrong_headers(case: Any) -> bool:
    """Whether schemathesis made the headers wrong on purpose (then they go as generated, unsigned)."""
    component = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return component is not None and component.mode is GenerationMode.NEGATIVE


def _one_currency_of_many(case: Any) -> bool:
    """Whether to skip this coverage case: it tries one more of the 352 currency codes (ISO 4217's, in
    capitals and lower case), and a sample of one in 25 tells as much as all of them."""
    description = getattr(case.meta.phase.data, "description", "") if case.meta else ""
    if description != "Object with valid 'currency' value: Enum value" or not isinstance(case.body, dict):
        return False
    return zlib.crc32(str(case.body.get("currency")).encode()) % 25 != 0
