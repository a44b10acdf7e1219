"""What runs before rules version 2 are shown of an `event` signal: the fields they know.

Those runs decode with the frozen models of domain/messages_legacy.py, which refuse unknown
fields, and drop what does not decode. A payment sent today carries fields version 3 added
(`domain.messages.PAYMENT_FIELDS_SINCE_V3`); taking them out lets such a run apply the payment as
it always did (by its cadence) instead of dropping it; a contact's `country` (segments) and a survey's
`score` (version 4) likewise. No recorded history holds those fields, so a payload without them is
handed on untouched and replays exactly as before.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Payload

from domain.messages import ACTIVITY_FIELDS_SINCE_V4, CONTACT_FIELDS_SINCE_V3, PAYMENT_FIELDS_SINCE_V3

FIELDS_SINCE_V3 = (*PAYMENT_FIELDS_SINCE_V3, *CONTACT_FIELDS_SINCE_V3, *ACTIVITY_FIELDS_SINCE_V4)


def as_legacy(payload: Payload) -> Payload:
    """`payload` without the fields added since version 3 (payments, a contact's country, a survey's
    score); the same payload when it has none."""
    try:
        data: Any = json.loads(payload.data)
    except ValueError:
        return payload
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, dict) or not any(name in event for name in FIELDS_SINCE_V3):
        return payload
    event = {k: v for k, v in event.items() if k not in FIELDS_SINCE_V3}
    stripped = Payload()
    stripped.CopyFrom(payload)
    stripped.data = json.dumps({**data, "event": event}).encode()
    return stripped
