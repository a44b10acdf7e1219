"""Logs never print an email address or a name (starter/log_masking.py)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from starter.log_masking import PersonalDataFilter, install_log_masking, mask_personal_data


@pytest.mark.parametrize(
    "text, masked",
    [
        ("outbox to ada.l+news@mail.example.co.uk now", "outbox to [email] now"),
        ("GET /lookup?email=ada%40example.com", "GET /lookup?email=[email]"),
        (
            "SignedUp(event_id='su', email='ada@example.com', name='Ada Lovelace', timezone='UTC')",
            "SignedUp(event_id='su', email='[email]', name='[masked]', timezone='UTC')",
        ),
        ('{"to_name": "Ada \\"L\\"", "customer_id": "cus_1"}', '{"to_name": "[masked]", "customer_id": "cus_1"}'),
        (
            "Input should be a valid string [type=string_type, input_value={'n': 'Ada'}, input_type=dict]",
            "Input should be a valid string [type=string_type, input_value=[masked], input_type=dict]",
        ),
        # the console's member search, in uvicorn's access log: what support types, while they type it
        ("GET /console/members?q=ada.lovelace%40exa HTTP/1.1", "GET /console/members?q=[masked] HTTP/1.1"),
        ("/console/members?q=ada.lovelace", "/console/members?q=[masked]"),
        ("/console/members?q=Ada%20Lovelace&page=2", "/console/members?q=[masked]&page=2"),
        ("/console/members?q=", None),
        # ...carried to the sign-in page when the session had ended (`next=`, encoded once more)
        (
            "GET /console/login?next=/console/members%3Fq%3Dada%2540example.com HTTP/1.1",
            "GET /console/login?next=/console/members%3Fq%3D[masked] HTTP/1.1",
        ),
        (
            "/console/login?next=/console/members%3Fpage%3D2%26q%3DAda%2BLovelace%26x%3D1&error=wrong",
            "/console/login?next=/console/members%3Fpage%3D2%26q%3D[masked]%26x%3D1&error=wrong",
        ),
        # a span's `url.query` (the newer HTTP conventions): the query string alone
        ("q=ada.lovelace%40exa", "q=[masked]"),
        ("/segments?faq=1 seq=4", None),
        ("worker on 127.0.0.1:7233, task queue 'tenure', program 2026-11-default", None),
        ("rename='x' username='y'", None),
    ],
)
def test_masking(text: str, masked: str | None):
    assert mask_personal_data(text) == (text if masked is None else masked)


@pytest.fixture
def masked_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of this test's own, to a buffer, with masking installed (for the whole process, as
    the worker and the API install it), so records made anywhere are masked before any handler."""
    install_log_masking()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.log_masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_every_record_is_masked_message_arguments_and_traceback(masked_log):
    logger, out = masked_log
    install_log_masking()  # idempotent
    logger.info("outbox %s to %s (%d)", "welcome", "ada@example.com", 3)
    logger.info("profile %(profile)s", {"profile": "name='Ada'"})
    try:
        raise ValueError("no member bo@example.com")
    except ValueError:
        logger.exception("failed for customer %s", "cus_1")
    text = out.getvalue()
    assert "outbox welcome to [email] (3)" in text and "profile name='[masked]'" in text, text
    assert "failed for customer cus_1" in text and "ValueError: no member [email]" in text, text
    assert "@example.com" not in text and "Ada" not in text, text


def test_a_record_keeps_its_shape_for_formatters_that_read_its_arguments():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s" %d', ("1.2.3.4", "GET", "/x", 200), None
    )
    assert PersonalDataFilter().filter(record)
    assert record.args == ("1.2.3.4", "GET", "/x", 200), "uvicorn's access formatter unpacks record.args"
