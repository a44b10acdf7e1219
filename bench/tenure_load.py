"""Tenure's events for the throughput phases: signed Stripe invoice.paid bodies, domain events."""

from __future__ import annotations

import json
from typing import Any

from domain.messages import PaymentSucceeded
from scripts.sign_stripe_event import invoice_paid_event, stripe_signature

from .load import Job
from .minihttp import MiniHttp

SECRET = "whsec_bench_" + "b" * 24
API_KEY = "bench-key"


def spread(prefix: str, customers: int, events: int, offset: int = 0) -> list[tuple[str, str]]:
    """(customer, key) pairs: events dealt round-robin over customers (no two in a row share one)."""
    return [(f"cus_{prefix}{(i % customers):05d}", f"in_{prefix}{i + offset:07d}") for i in range(events)]


def stripe_jobs(pairs: list[tuple[str, str]]) -> list[Job]:
    """Signed invoice.paid webhooks, exactly as Stripe sends them (pretty JSON, t=...,v1=...)."""
    jobs = []
    for cid, inv in pairs:
        body = json.dumps(invoice_paid_event(cid, 4900, invoice_id=inv, event_id="evt_" + inv[3:]), indent=2)
        headers = {"Stripe-Signature": stripe_signature(body, SECRET), "Content-Type": "application/json"}
        jobs.append(Job(cid, inv, (body.encode(), headers)))
    return jobs


def client_jobs(pairs: list[tuple[str, str]]) -> list[Job]:
    """The same payments as the domain events the webhook becomes."""
    return [
        Job(
            cid,
            inv,
            PaymentSucceeded(
                event_id="evt_" + inv[3:], invoice_id=inv, amount_minor=4900, currency="USD", cadence="monthly"
            ),
        )
        for cid, inv in pairs
    ]


def raw_jobs(pairs: list[tuple[str, str]]) -> list[Job]:
    """The raw engine gets a payload of the same size and shape."""
    return [
        Job(
            cid,
            inv,
            {
                "type": "payment_succeeded",
                "event_id": "evt_" + inv[3:],
                "invoice_id": inv,
                "amount_minor": 4900,
                "currency": "USD",
                "cadence": "monthly",
            },
        )
        for cid, inv in pairs
    ]


def http_sender(http: MiniHttp):
    async def send(job: Job) -> None:
        body, headers = job.payload
        status, answer = await http.post("/webhooks/stripe", body, headers)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {answer[:200]!r}")

    return send


def client_sender(tenure: Any):
    async def send(job: Job) -> None:
        await tenure.send(job.customer, job.payload)

    return send


def raw_sender(client: Any, task_queue: str):
    from .raw import SIGNAL, WORKFLOW

    async def send(job: Job) -> None:
        await client.start_workflow(
            WORKFLOW,
            job.customer,
            id=f"raw-{job.customer}",
            task_queue=task_queue,
            start_signal=SIGNAL,
            start_signal_args=[job.payload],
        )

    return send
