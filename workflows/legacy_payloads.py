"""What runs before rules version 2 are shown of an `event` signal: the fields they know.

Those runs decode with the frozen models of domain/messages_legacy.py, which refuse unknown
fields, and drop what does not decode. A payment sent today carries fields version 3 added
(`domain.messages.PAYMENT_FIELDS_SINCE_V3`), a survey its score (version 4); taking them out lets
such a run apply the payment as it always did (by its cadence), the survey without its score,
instead of dropping them. No recorded history holds those fields, so
a payload without them is handed on untouched and replays exactly as before.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Payload

from domain.messages import ACTIVITY_FIELDS_SINCE_V4, PAYMENT_FIELDS_SINCE_V3

NEWER_FIELDS = (*PAYMENT_FIELDS_SINCE_V3, *ACTIVITY_FIELDS_SINCE_V4)


def as_legacy(payload: Payload) -> Payload:
    """`payload` without the payment fields of version 3 and the survey score of version 4; the same
    payload when it has none."""
    try:
        data: Any = json.loads(payload.data)
    except ValueError:
        return payload
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, dict) or not any(name in event for name in NEWER_FIELDS):
        return payload
    event = {k: v for k, v in event.items() if k not in NEWER_FIELDS}
    stripped = Payload()
    stripped.CopyFrom(payload)
    stripped.data = json.dumps({**data, "event": event}).encode()
    return stripped
