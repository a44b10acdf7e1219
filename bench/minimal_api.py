"""The floor for any HTTP ingress: a bare FastAPI endpoint that does only what a signed webhook needs.

One HMAC check of Stripe's `t=...,v1=...` header, one JSON parse, a two-field translation and one
signal-with-start into the raw engine's counting workflow (`bench.raw`), through the same
`starter.connect` (payload codec included) as Tenure's API. No validation layers, no response
model, no thread hop, no logging: whatever Tenure's `/webhooks/stripe` costs above this is
Tenure's own. Run as `python -m uvicorn bench.minimal_api:app` with TENURE_TEMPORAL_ADDRESS,
TENURE_TASK_QUEUE and TENURE_STRIPE_WEBHOOK_SECRET, like the API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bench.raw import SIGNAL, WORKFLOW

state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI):
    from settings import get_settings
    from starter.connect import connect

    settings = get_settings()
    state["client"] = await connect(settings)
    state["task_queue"] = settings.task_queue
    state["secret"] = os.environ["TENURE_STRIPE_WEBHOOK_SECRET"].encode()
    yield


app = FastAPI(lifespan=lifespan)


def _verified(body: bytes, header: str) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    expected = hmac.new(state["secret"], parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@app.get("/healthz")
async def healthz() -> Response:
    return Response(status_code=200)


@app.post("/webhooks/stripe")
async def webhook(request: Request) -> Response:
    body = await request.body()
    if not _verified(body, request.headers.get("stripe-signature", "")):
        return JSONResponse({"error": "bad signature"}, status_code=400)
    event = json.loads(body)
    invoice = event["data"]["object"]
    customer = invoice["customer"]
    payload = {
        "type": "payment_succeeded",
        "event_id": event["id"],
        "invoice_id": invoice["id"],
        "amount_minor": invoice["amount_paid"],
        "currency": invoice["currency"].upper(),
        "cadence": "monthly",
    }
    await state["client"].start_workflow(
        WORKFLOW,
        customer,
        id=f"raw-{customer}",
        task_queue=state["task_queue"],
        start_signal=SIGNAL,
        start_signal_args=[payload],
    )
    return JSONResponse({"received": True})
