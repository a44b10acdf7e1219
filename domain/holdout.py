"""Holdout: which members of a campaign's segment receive nothing, so the campaign can be measured.

Chosen by hashing (campaign id, customer id) with sha256: the same members every time, on every
worker and every retry, with no state to keep, and independent between campaigns (a member held
out of one campaign is not more likely to be held out of the next).
"""

from __future__ import annotations

import hashlib

BUCKETS = 10_000  # percent to two decimals: 0.01 % is one bucket


def bucket(campaign_id: str, customer_id: str) -> int:
    """The member's bucket in [0, BUCKETS) for this campaign."""
    digest = hashlib.sha256(f"{campaign_id}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_holdout(campaign_id: str, customer_id: str, percent: float) -> bool:
    """Whether the member is held out of the campaign (`percent` of the segment, 0-100)."""
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    return bucket(campaign_id, customer_id) < round(percent * BUCKETS / 100)
