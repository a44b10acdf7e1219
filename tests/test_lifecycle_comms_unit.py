"""The communication policy as pure functions: `comms.decide` and `comms.quiet_until`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import comms
from domain.comms import CommsState
from domain.effects import EmailIntent
from domain.program_lifecycle import CommsRules

UTC = UTC
RULES = CommsRules()  # cap 3 a week, quiet 21:00–08:00


def at(s: str, tz: str = "UTC") -> datetime:
    """A local wall-clock time in `tz`, as an aware UTC datetime (what workflow.now() gives)."""
    return datetime.fromisoformat(s).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def intent(category: str = "marketing", to: str | None = "m@example.com", purpose: str = "onboarding_tips"):
    return EmailIntent(
        customer_id="c",
        key=f"c/x/{purpose}",
        purpose=purpose,
        template_id="d-x",
        category=category,
        to_email=to,
        at=at("2026-06-01T12:00"),
    )


NOON = at("2026-06-10T12:00")


# ---- decide ----------------------------------------------------------------------------------


def test_marketing_in_daytime_with_room_goes():
    assert comms.decide(intent(), CommsState(), RULES, "UTC", NOON).action == "send"


def test_transactional_goes_despite_unsubscribe_cap_and_quiet_hours():
    state = CommsState(unsubscribed=True, marketing_sent=[NOON - timedelta(hours=h) for h in (1, 2, 3, 4)])
    night = at("2026-06-10T03:00")
    assert comms.decide(intent("transactional"), state, RULES, "UTC", night).action == "send"


@pytest.mark.parametrize("reason", sorted(comms.HARD_STOPS))
@pytest.mark.parametrize("category", ["marketing", "transactional"])
def test_hard_stop_suppresses_everything(reason, category):
    d = comms.decide(intent(category), CommsState(blocked=reason), RULES, "UTC", NOON)
    assert d.action == "suppress" and reason in d.why


def test_unsubscribe_suppresses_marketing_only():
    state = CommsState(unsubscribed=True)
    d = comms.decide(intent(), state, RULES, "UTC", NOON)
    assert d.action == "suppress" and "unsubscribed" in d.why
    assert comms.decide(intent("transactional"), state, RULES, "UTC", NOON).action == "send"


def test_no_address_is_suppressed_with_a_reason():
    d = comms.decide(intent(to=None), CommsState(), RULES, "UTC", NOON)
    assert d.action == "suppress" and "no email address" in d.why


def test_frequency_cap_defers_the_fourth_until_the_oldest_leaves_the_week():
    sent = [NOON - timedelta(days=6), NOON - timedelta(days=2), NOON - timedelta(hours=1)]
    state = CommsState(marketing_sent=sent)
    d = comms.decide(intent(), state, RULES, "UTC", NOON)
    assert d.action == "defer"
    assert d.until == sent[0] + timedelta(days=7)
    assert "frequency cap" in d.why and "3 marketing emails in 7 days" in d.why
    # at that moment there is room again
    assert comms.decide(intent(), state, RULES, "UTC", d.until).action == "send"


def test_emails_older_than_a_week_do_not_count():
    state = CommsState(marketing_sent=[NOON - timedelta(days=8), NOON - timedelta(days=7), NOON - timedelta(days=1)])
    assert comms.decide(intent(), state, RULES, "UTC", NOON).action == "send"


def test_record_sent_counts_marketing_only_and_forgets_old_sends():
    state = CommsState(marketing_sent=[NOON - timedelta(days=9)])
    comms.record_sent(state, intent("transactional"), NOON)
    assert state.marketing_sent == [NOON - timedelta(days=9)]
    comms.record_sent(state, intent(), NOON)
    assert state.marketing_sent == [NOON]


def test_a_cap_of_zero_suppresses_marketing_instead_of_crashing():
    rules = CommsRules(frequency_cap_per_week=0)
    d = comms.decide(intent(), CommsState(), rules, "UTC", NOON)
    assert d.action == "suppress" and "frequency cap" in d.why
    assert comms.decide(intent("transactional"), CommsState(), rules, "UTC", NOON).action == "send"


def test_quiet_hours_defer_marketing_and_say_where():
    night = at("2026-06-10T23:00", "Asia/Tokyo")
    d = comms.decide(intent(), CommsState(), RULES, "Asia/Tokyo", night)
    assert d.action == "defer" and d.why == "quiet hours in Asia/Tokyo"
    assert local(d.until, "Asia/Tokyo") == "2026-06-11 08:00 JST"


# ---- quiet_until -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wall, expected",
    [
        ("2026-06-10T21:00", "2026-06-11 08:00"),  # the first quiet minute
        ("2026-06-10T23:59", "2026-06-11 08:00"),
        ("2026-06-11T00:00", "2026-06-11 08:00"),  # after midnight: this morning
        ("2026-06-11T07:59", "2026-06-11 08:00"),
        ("2026-06-11T08:00", None),  # morning has come
        ("2026-06-11T12:00", None),
        ("2026-06-11T20:59", None),
    ],
)
@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Tokyo", "Asia/Kolkata", "UTC"])
def test_quiet_hours_end_at_eight_local(tz, wall, expected):
    got = comms.quiet_until(at(wall, tz), tz, RULES)
    if expected is None:
        assert got is None
    else:
        assert got is not None and got.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") == expected
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0), "answers in the caller's zone (UTC)"


def test_same_instant_is_quiet_in_one_zone_and_not_in_another():
    now = at("2026-06-10T14:00")  # 10:00 in New York, 23:00 in Tokyo
    assert comms.quiet_until(now, "America/New_York", RULES) is None
    assert comms.quiet_until(now, "Asia/Tokyo", RULES) == at("2026-06-11T08:00", "Asia/Tokyo")


def test_spring_forward_night_ends_at_eight_daylight_time():
    """New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT. The night is an hour shorter."""
    tz = "America/New_York"
    evening = at("2026-03-07T23:00", tz)  # 04:00 UTC
    morning = comms.quiet_until(evening, tz, RULES)
    assert local(morning, tz) == "2026-03-08 08:00 EDT"
    assert morning == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert morning - evening == timedelta(hours=8), "not 9: the clocks lost an hour"


def test_fall_back_night_ends_at_eight_standard_time():
    """New York, 1 November 2026: 02:00 EDT falls back to 01:00 EST. The night is an hour longer."""
    tz = "America/New_York"
    evening = at("2026-10-31T23:00", tz)  # 03:00 UTC
    morning = comms.quiet_until(evening, tz, RULES)
    assert local(morning, tz) == "2026-11-01 08:00 EST"
    assert morning == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert morning - evening == timedelta(hours=10)


def test_repeated_hour_of_fall_back_is_quiet_both_times():
    tz = "America/New_York"
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    assert (
        comms.quiet_until(first, tz, RULES)
        == comms.quiet_until(second, tz, RULES)
        == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    )


def test_europe_dst_and_a_half_hour_zone():
    # Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST
    morning = comms.quiet_until(at("2026-03-29T01:00", "Europe/Berlin"), "Europe/Berlin", RULES)
    assert local(morning, "Europe/Berlin") == "2026-03-29 08:00 CEST"
    morning = comms.quiet_until(at("2026-06-10T22:15", "Asia/Kolkata"), "Asia/Kolkata", RULES)
    assert morning == datetime(2026, 6, 11, 2, 30, tzinfo=UTC)  # 08:00 IST is 02:30 UTC


def test_daytime_quiet_window_and_no_window():
    day_rules = CommsRules(quiet_hours_start=1, quiet_hours_end=6)
    assert comms.quiet_until(at("2026-06-10T03:00"), "UTC", day_rules) == at("2026-06-10T06:00")
    assert comms.quiet_until(at("2026-06-10T00:30"), "UTC", day_rules) is None
    assert comms.quiet_until(at("2026-06-10T06:00"), "UTC", day_rules) is None
    off = CommsRules(quiet_hours_start=8, quiet_hours_end=8)
    assert comms.quiet_until(at("2026-06-10T03:00"), "UTC", off) is None


def test_unknown_time_zone_falls_back_to_utc():
    assert comms.quiet_until(at("2026-06-10T23:00"), "Mars/Olympus_Mons", RULES) == at("2026-06-11T08:00")
    assert comms.quiet_until(at("2026-06-10T23:00"), "", RULES) == at("2026-06-11T08:00")
