"""A member's personal data in the console follows the API's rule (`starter.api.roles.sees_personal_data`):
support and admin see the address, the name, the zone and the country; a viewer, whose API key reads
members without them, sees none of it on any page it reaches, and finds members by customer id only
(an auditor found the search matching addresses and listing them to a viewer, 20 at a time)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from domain.bookkeeping import note
from domain.intake import receive
from domain.messages import SubscriptionCancelled
from domain.rejections import Rejection
from starter.api.roles import PERSONAL_DATA_ROLES, sees_personal_data
from storage.schema import emails, ledger_entries
from tests.api_kit import recording_app
from tests.campaign_kit import add_members
from tests.support_kit import T0, Journeys, paying_member
from tests.test_console_session import sign_in

KEYS = "sup-secret-key:support:maria,view-secret-key:viewer:vic,adm-secret-key:admin:root"
ADDRESS = "ada.lovelace@example.com"
NAME = "Ada Lovelace"
CID = "cus_1815"


def test_one_rule_decides_who_sees_personal_data():
    assert PERSONAL_DATA_ROLES == ("support",)
    assert [r for r in ("app", "support", "marketer", "viewer", "admin") if sees_personal_data(r)] == [
        "support",
        "admin",
    ]


def ada_everywhere(http):
    """A member whose address and name are quoted wherever free text reaches the member page: her own words
    in the timeline, a rejection's reason, a ledger entry's reason, SendGrid's detail of a bounce, the reason
    support gave for a minimum tier (kept as the tier's reason too)."""
    rules, outbox = paying_member(CID)
    until = T0 + timedelta(days=90)
    rules.set_minimum_tier(outbox, T0, "gold", f"key account: {NAME} <{ADDRESS}>", "support:maria", until)
    receive(
        rules,
        outbox,
        T0 + timedelta(days=1),
        SubscriptionCancelled(event_id="c1", reason="too_expensive", comment=f"{NAME} here, write to {ADDRESS}"),
    )
    # a marketing email held for the morning: the journey's note names the member's zone (domain/comms.py)
    note(
        rules,
        T0 + timedelta(days=1),
        "email",
        "winback email deferred until 2026-01-03 08:00 UTC: quiet hours in Europe/London",
    )
    rules.a.rejections.append(
        Rejection(at=T0, what="event", ref="ev_9", type="signed_up", reason=f"email {ADDRESS!r} was refused")
    )
    engine = http.app.state.services.engine
    add_members(engine, [CID], email=ADDRESS, name=NAME, timezone="Europe/London", country="GB")
    add_members(engine, ["cus_other"], email="other@example.com")
    entries = [{**e.model_dump(), "recorded_at": T0} for e in outbox.entries]
    entries[0]["reason"] = f"goodwill for {NAME}"  # written before reasons naming the member were refused
    with engine.begin() as conn:
        conn.execute(sa.insert(ledger_entries), entries)
        conn.execute(
            sa.insert(emails),
            [
                {
                    "key": "e1",
                    "customer_id": CID,
                    "purpose": "welcome",
                    "template_id": "d-1",
                    "category": "transactional",
                    "to_email": ADDRESS,
                    "status": "rejected",
                    "detail": f"bounce: 550 <{ADDRESS}> mailbox unknown",
                    "created_at": T0,
                }
            ],
        )
    http.app.state.services._tenure = Journeys(rules, T0 + timedelta(days=2))


def personal_bits(text: str) -> list[str]:
    text = html.unescape(text)
    return [
        bit
        for bit in (ADDRESS, NAME, "Ada", "lovelace", "Europe/London", "@example.com")
        if bit.lower() in text.lower()
    ]


async def test_a_viewer_finds_members_by_customer_id_only(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        ada_everywhere(http)
        await sign_in(http, "view-secret-key")
        for q in ("ad", "ada.lovelace@", ADDRESS, "ADA.LOVELACE@EXAMPLE.COM", "other@"):
            for headers in ({}, {"HX-Request": "true"}):  # the page, and the live search's fragment
                r = await http.get("/console/members", params={"q": q}, headers=headers)
                assert r.status_code == 200, (q, r.status_code)
                assert "/console/members/cus_" not in r.text, q  # nobody found by an address
                assert personal_bits(r.text.replace(q, "")) == [], q
        r = await http.get("/console/members", params={"q": "ada.lovelace@"})
        words = re.search(r'data-testid="no-match">(.*?)</p>', r.text, re.S).group(1)
        assert "Email addresses and names are hidden for your role (viewer)" in words
        assert "found by their customer id only" in words
        # the customer id still finds the member, listed without an address
        r = await http.get("/console/members", params={"q": "cus_"}, headers={"HX-Request": "true"})
        assert "/console/members/cus_1815" in r.text and "/console/members/cus_other" in r.text
        assert personal_bits(r.text) == [] and "<th>Email</th>" not in r.text
        r = await http.get("/console/members", params={"q": CID})
        assert r.status_code == 303 and r.headers["location"] == "/console/members/cus_1815"
        r = await http.get("/console/members")
        assert "Customer id\n" in r.text and "ada@example.com" not in r.text  # the form asks for what works


async def test_a_viewer_sees_a_member_page_without_personal_data(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        ada_everywhere(http)
        await sign_in(http, "view-secret-key")
        r = await http.get("/console/members/cus_1815")
        assert r.status_code == 200
        assert personal_bits(r.text) == []
        contact = re.search(r'data-testid="contact">(.*?)</p>', r.text, re.S).group(1)
        assert "Email address, name, time zone and country: hidden for your role (viewer)" in contact
        assert "marketing email" in contact  # whether mail may reach the member is no one's personal data
        assert "[hidden]" in r.text  # where it was quoted, it says so:
        text = html.unescape(r.text)  # (the contact line's own note says "[hidden]" too: each place, then)
        assert "minimum tier set by support (key account: [hidden] <[hidden]>)" in text  # the tier's reason
        assert "too_expensive — [hidden]" in text  # her own words
        assert "bounce: 550 <[hidden]> mailbox unknown" in text  # SendGrid's detail of the bounce
        assert "subscription cancelled (voluntary), reason: too_expensive" in r.text  # the rest of the line stays
        assert "deferred until 2026-01-03 08:00 UTC: quiet hours in [hidden]" in r.text  # the zone, too
        ledger = await http.get("/console/members/cus_1815/ledger?offset=0", headers={"HX-Request": "true"})
        assert ledger.status_code == 200 and "goodwill for [hidden]" in ledger.text
        assert personal_bits(ledger.text) == []


async def test_support_and_admin_still_see_it(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        ada_everywhere(http)
        for key in ("sup-secret-key", "adm-secret-key"):
            http.cookies.clear()
            await sign_in(http, key)
            r = await http.get("/console/members", params={"q": "ada.lovelace@"}, headers={"HX-Request": "true"})
            assert "/console/members/cus_1815" in r.text and ADDRESS in r.text
            r = await http.get("/console/members", params={"q": ADDRESS})
            assert r.status_code == 303 and r.headers["location"] == "/console/members/cus_1815"
            text = html.unescape((await http.get("/console/members/cus_1815")).text)
            contact = re.search(r'data-testid="contact">(.*?)</p>', text, re.S).group(1)
            assert f"{ADDRESS}</span> · {NAME} · time zone Europe/London · GB" in contact
            assert f"“{NAME} here, write to {ADDRESS}”" in text  # the customer's own words, for support
            assert f"goodwill for {NAME}" in text and f"<{ADDRESS}> mailbox unknown" in text
            assert "[hidden]" not in text


async def test_attention_masks_the_members_address_for_a_viewer(program, tmp_path, monkeypatch):
    from starter.console import attention
    from starter.doctor import Diagnosis

    async def diagnose(tenure, engine):
        return [Diagnosis(CID, [f"stuck sending to {ADDRESS}"], 1, 0, f"{NAME}: email {ADDRESS!r} refused", T0)]

    monkeypatch.setattr(attention, "diagnose", diagnose)
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        ada_everywhere(http)
        await sign_in(http, "view-secret-key")
        r = await http.get("/console/attention/findings", headers={"HX-Request": "true"})
        assert r.status_code == 200 and "cus_1815" in r.text and personal_bits(r.text) == []
        http.cookies.clear()
        await sign_in(http, "sup-secret-key")
        r = await http.get("/console/attention/findings", headers={"HX-Request": "true"})
        assert ADDRESS in html.unescape(r.text)


async def test_no_other_page_a_viewer_reaches_shows_an_address(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        ada_everywhere(http)
        await sign_in(http, "view-secret-key")
        for path in ("/console/campaigns", "/console/metrics", "/console/program", "/console/attention"):
            r = await http.get(path)
            assert r.status_code == 200, path
            assert personal_bits(r.text) == [], path


async def test_the_api_applies_the_same_rule_to_what_its_member_routes_quote(program, tmp_path):
    """The member routes never carried the address or the name, but a rejection's reason, a ledger reason or
    the tier's reason could quote them: app and viewer keys read them masked, as the console's viewer does."""
    keys = f"{KEYS},app-secret-key:app:billing"
    async with recording_app(program, tmp_path, api_keys=keys) as http:
        ada_everywhere(http)
        for key, shown in (("view-secret-key", False), ("app-secret-key", False), ("sup-secret-key", True)):
            auth = {"Authorization": f"Bearer {key}"}
            summary = await http.get(f"/members/{CID}", headers=auth)
            ledger = await http.get(f"/members/{CID}/ledger", headers=auth)
            assert summary.status_code == 200 and ledger.status_code == 200
            reasons = [r["reason"] for r in summary.json()["rejections"]] + [
                e["reason"] for e in ledger.json()["entries"] if e["reason"]
            ]
            tier = summary.json()
            reasons += [tier["tier_because"], tier["minimum_tier"]["reason"]]
            if shown:
                assert f"email {ADDRESS!r} was refused" in reasons and f"goodwill for {NAME}" in reasons
                assert f"key account: {NAME} <{ADDRESS}>" in reasons
            else:
                assert "email '[hidden]' was refused" in reasons and "goodwill for [hidden]" in reasons, key
                assert personal_bits(summary.text + ledger.text) == [], key
