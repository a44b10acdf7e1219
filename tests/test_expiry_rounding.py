"""`points.expiry_rounding` (issue 14): lots earned on different days can expire together, never earlier.

`exact` (the default, and what every program file without the key means) keeps each lot's own
date; `end_of_day` / `end_of_month` round it up to the next UTC midnight / first of a month, so the
lots of a day or a month wake the journey once (bench/RESULTS.md has the history it saves).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.account import Account
from domain.effects import Effects
from domain.messages import ActivityReported, PaymentSucceeded
from domain.program import ProgramError, parse_program
from domain.rules import AccountRules

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "program.toml").read_text()
T0 = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)


def program_with(rounding: str | None):
    if rounding is None:
        return parse_program(TEXT)
    text = TEXT.replace('expiry_rounding = "exact"', f'expiry_rounding = "{rounding}"', 1)
    assert text != TEXT or rounding == "exact", "program.toml spells the setting out"
    return parse_program(text)


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        (None, T0 + timedelta(days=365)),
        ("exact", T0 + timedelta(days=365)),
        ("end_of_day", datetime(2027, 3, 15, tzinfo=UTC)),
        ("end_of_month", datetime(2027, 4, 1, tzinfo=UTC)),
    ],
)
def test_a_lot_expires_as_the_program_rounds_it(rounding, expected):
    program = program_with(rounding)
    a = Account.open("cus_1", program, T0)
    r, fx = AccountRules(a), Effects()
    r.on_payment(fx, T0, PaymentSucceeded(event_id="e1", invoice_id="in_1", amount_minor=4900, currency="USD"))
    (lot,) = a.lots
    assert lot.expires_at == expected and lot.expires_at >= T0 + timedelta(days=365)


def test_month_end_rounding_lets_a_months_lots_expire_in_one_step():
    program = program_with("end_of_month")
    a = Account.open("cus_1", program, T0)
    r, fx = AccountRules(a), Effects()
    for day in range(0, 15, 3):  # 14 March .. 26 March
        now = T0 + timedelta(days=day)
        r.advance(fx, now)
        r.on_activity(fx, now, ActivityReported(event_id=f"login{day}", kind="login"))
    assert len(a.lots) == 5 and {lot.expires_at for lot in a.lots} == {datetime(2027, 4, 1, tzinfo=UTC)}
    r.advance(fx, datetime(2027, 3, 31, 23, 59, tzinfo=UTC))
    assert a.balance == 10, "nothing expires before the month's end"
    r.advance(fx, datetime(2027, 4, 1, tzinfo=UTC))
    assert a.balance == 0


def test_december_rounds_into_january_and_unknown_values_are_refused():
    program = program_with("end_of_month")
    assert program.lot_expiry(datetime(2026, 12, 20, tzinfo=UTC)) == datetime(2028, 1, 1, tzinfo=UTC)
    with pytest.raises(ProgramError, match="expiry_rounding"):
        program_with("end_of_week")
