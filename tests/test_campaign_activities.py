"""The campaign page activity's door to the journeys (activities/campaigns.py `CampaignActivities.apply`)."""

from __future__ import annotations

from typing import Any

import starter.client
from activities.campaigns import CampaignActivities


async def test_one_tenure_client_serves_every_member_of_a_page(monkeypatch) -> None:
    """Made once per client, not once per member (bench/RESULTS.md fan-out step 9); a new client, a new one."""
    made: list[Any] = []

    class Counting:
        def __init__(self, client: Any) -> None:
            self.client = client
            made.append(client)

        async def apply_campaign(self, customer_id: str, touch: Any) -> str:
            return f"{customer_id}:{touch}"

    monkeypatch.setattr(starter.client, "TenureClient", Counting)
    first, second = object(), object()
    acts = CampaignActivities(engine=None, client=first)  # type: ignore[arg-type] - no database on this path
    assert [await acts.apply(f"cus_{n}", "t") for n in range(3)] == ["cus_0:t", "cus_1:t", "cus_2:t"]  # type: ignore[arg-type] - a stand-in touch
    assert made == [first]
    acts.client = second  # type: ignore[assignment] - a stand-in client
    await acts.apply("cus_3", "t")  # type: ignore[arg-type] - a stand-in touch
    assert made == [first, second]
