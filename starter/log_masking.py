"""Logs never print a member's email address or name.

`PersonalDataFilter` rewrites a log record's message (and its traceback text) with every email
address replaced by `[email]` and the value of every name-like field (`name='Ada'`, `"to_name": "Ada"`,
pydantic's `input_value=...`) and of a URL's search words (`?q=...`) by `[masked]`.
`install_log_masking()` applies it to every record the process creates, whatever logger or handler
(ours, uvicorn's, the Temporal SDK's): the worker and the API call it at start-up. It is a safety
net: log statements still must not format personal data (they name the customer id instead).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

EMAIL_MASK = "[email]"
VALUE_MASK = "[masked]"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"[A-Za-z0-9._%+-]+(?:@|%40){_LABEL}(?:\.{_LABEL})+")

# A name-like field followed by a quoted value: `name='Ada'`, `"to_name": "Ada Lovelace"`.
_NAME_FIELDS = r"(?:to_|from_|first_|last_|full_|display_|customer_|member_|user_)?name"
NAMED_VALUE = re.compile(
    rf"""(?P<key>(?<![A-Za-z0-9_])['"]?{_NAME_FIELDS}['"]?\s*[:=]\s*)(?P<quote>['"])(?:\\.|(?!(?P=quote)).)*(?P=quote)"""
)
# Pydantic's validation errors quote the offending input: `input_value='Ada', input_type=str`.
INPUT_VALUE = re.compile(r"(?P<key>input_value=).*?(?=, input_type=|\]|$)", re.MULTILINE)
# A search's words in a URL (the console's `/console/members?q=…`, in uvicorn's access log): what support
# types, an address or a name, and, as the search runs while they type, every start of one
# (`q=ada.lovelace%40exa`), which the address pattern cannot recognise. Also when the search is carried,
# encoded once more, in the sign-in page's `next=` (`next=/console/members%3Fq%3Dada%2540exa`, up to
# `%26`), and at the start of a span's bare query string (`url.query`: `q=...`).
SEARCH_QUERY = re.compile(r"(?P<key>(?:^|[?&]|%3[Ff]|%26)q(?:=|%3[Dd]))(?:(?!%26)[^&#\s\"'])+")


def mask_personal_data(text: str) -> str:
    if (
        "@" not in text
        and "%40" not in text
        and "name" not in text
        and "input_value=" not in text
        and "q=" not in text
        and "q%3" not in text
    ):
        return text  # what every pattern needs is absent (most lines: uvicorn's access log, one per request)
    text = SEARCH_QUERY.sub(lambda m: f"{m['key']}{VALUE_MASK}", text)
    text = EMAIL.sub(EMAIL_MASK, text)
    text = NAMED_VALUE.sub(lambda m: f"{m['key']}{m['quote']}{VALUE_MASK}{m['quote']}", text)
    return INPUT_VALUE.sub(lambda m: f"{m['key']}{VALUE_MASK}", text)


class PersonalDataFilter(logging.Filter):
    """Masks the record in place and never drops it.

    The message and each argument are masked separately, so the record keeps its shape (uvicorn's
    access formatter reads `record.args` as a tuple); an argument that is not a string is replaced
    by its masked text only when that text carried personal data.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        return True


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_data(value)
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    masked = mask_personal_data(text)
    return value if masked == text else masked


class _MaskingRecordFactory:
    """Wraps the process's log record factory: every record is masked as it is made."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner
        self.mask = PersonalDataFilter()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        self.mask.filter(record)
        return record


def install_log_masking() -> None:
    """Mask every log record this process creates from now on, whatever logger or handler (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _MaskingRecordFactory):
        logging.setLogRecordFactory(_MaskingRecordFactory(factory))
