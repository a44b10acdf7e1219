"""What a request needs: settings, the program, the SQL engine, and the journeys through `TenureClient`
(Temporal connected on demand, so the API starts, and answers 503, while Temporal is down).

While Temporal is down the answer is 503 at once: a request does not wait through the SDK's
retries (up to 10 s by default) nor for its own deadline. The sender retries anyway (Stripe for
days, SendGrid for a day, the app when told Retry-After), so a brief glitch is absorbed by two
quick retries within half a second (`FAIL_FAST`) and anything longer is the sender's to retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

import sqlalchemy as sa
from temporalio.client import Client, Interceptor
from temporalio.service import RetryConfig

from domain.program import Program
from starter.client import JourneyError, JourneyUnavailable, NoJourney, TenureClient
from starter.connect import connect
from starter.ingress.results import Delivery
from starter.ingress.stripe_events import InvoiceLookup, stripe_invoice_lookup
from storage.members import customers_with_email

from .metrics import count_signalled
from .settings import ApiSettings

log = logging.getLogger("tenure.api")
E = TypeVar("E", bound=BaseException)

DELIVERY_CONCURRENCY = 32
FAIL_FAST = RetryConfig(
    initial_interval_millis=100, max_interval_millis=200, max_elapsed_time_millis=500, max_retries=2
)
"""How the API's Temporal client retries a call while Temporal is unavailable (see the module docstring)."""


class Services:
    RECONNECT_PAUSE = 1.0  # seconds between connection attempts while Temporal is down

    def __init__(
        self,
        settings: ApiSettings,
        program: Program,
        engine: sa.Engine,
        client: Client | None,
        interceptors: Sequence[Interceptor] = (),
    ):
        self.settings = settings
        self.interceptors = interceptors  # tracing's, for the client connected here (starter/tracing.py)
        self.program = program
        self.engine = engine
        self._tenure = self._tenure_client(client) if client is not None else None
        self._lock = asyncio.Lock()
        self._failed_at = 0.0
        self._last_error = ""
        self.invoice_lookup: InvoiceLookup | None = None
        if settings.stripe_api_key:
            self.invoice_lookup = stripe_invoice_lookup(settings.stripe_api_key, settings.stripe_api_base)

    def _tenure_client(self, client: Client) -> TenureClient:
        s = self.settings
        return TenureClient(
            client,
            self.program,
            s.task_queue,
            call_timeout=timedelta(seconds=s.api_temporal_timeout),
            update_timeout=timedelta(seconds=s.api_update_timeout),
            programs=self.engine,  # new journeys name the program by content hash (storage/programs.py)
        )

    async def tenure(self) -> TenureClient:
        """The client, connecting first if needed; `JourneyUnavailable` while Temporal is unreachable."""
        if self._tenure is not None:
            return self._tenure
        async with self._lock:
            if self._tenure is not None:
                return self._tenure
            if time.monotonic() - self._failed_at < self.RECONNECT_PAUSE:
                raise JourneyUnavailable(self._last_error)
            s = self.settings
            try:
                client = await asyncio.wait_for(
                    connect(s, retry_config=FAIL_FAST, interceptors=self.interceptors), s.api_temporal_timeout
                )
            except Exception as e:  # any failure to connect means "retry later"
                self._failed_at = time.monotonic()
                self._last_error = f"{s.temporal_address}: {e}"
                log.warning("Temporal unreachable: %s", self._last_error)
                raise JourneyUnavailable(self._last_error) from None
            log.info("connected to Temporal at %s", s.temporal_address)
            self._tenure = self._tenure_client(client)
            return self._tenure

    async def deliver(self, deliveries: list[Delivery]) -> None:
        """Signal-with-start every delivery (opening journeys); returns once Temporal accepted all of them."""
        await self._each(deliveries, opening=True)

    async def deliver_to_journeys(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Signal every delivery whose customer has a journey, opening none; returns the others once
        Temporal accepted the rest."""
        return await self._each(deliveries, opening=False)

    async def _each(self, deliveries: list[Delivery], *, opening: bool) -> list[Delivery]:
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        without_journey: list[Delivery] = []

        async def one(d: Delivery) -> None:
            async with gate:
                tenure = await self.tenure()
                try:
                    await (tenure.send if opening else tenure.signal)(d.customer_id, d.event)
                except NoJourney:
                    without_journey.append(d)
                    return
            count_signalled(d.source, d.event.type)
            # debug, not info: a line per event was a measurable share of the API's CPU per webhook;
            # tenure_events_signalled_total counts them
            log.debug("accepted %s %s for %s (%s)", d.event.type, d.event.event_id, d.customer_id, d.source)

        try:
            async with asyncio.TaskGroup() as tg:
                for d in deliveries:
                    tg.create_task(one(d))
        except* JourneyError as group:
            raise _first(group) from None
        return without_journey

    async def journey_exists(self, customer_id: str) -> bool:
        """Whether the customer has a journey; `JourneyUnavailable` when Temporal cannot tell."""
        return await (await self.tenure()).exists(customer_id)

    def customers_with_email(self, email: str) -> list[str]:
        return customers_with_email(self.engine, email)


def _first(group: BaseExceptionGroup[E]) -> E:
    """The first error of a task group (all deliveries fail alike: one answer is enough)."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
