"""The console in a real browser (chromium via Playwright) against the dev server, a worker and the
SQL ledger: signing in per role, a member's "why" on one page, an adjustment with its actor, the
refusals (a viewer's adjustment, a post without CSRF token), the metrics charts, and /docs offline.

Skipped, saying why, where chromium is absent (`.ci/run` installs it)."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from domain.messages import ActivityReported, SignedUp
from storage.schema import customers
from tests.api_kit import api_settings
from tests.console_kit import DESKTOP, KEYS, PHONE, browser_sign_in, chromium, chromium_or_skip, secret, serving, shoot
from tests.journey_kit import eventually, ledger_rows, payment

pytestmark = pytest.mark.timeout(240)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(dev_env, program, tmp_path_factory):
    """A worker, the app on a real port, one member with a payment, a login and an email address,
    and chromium."""
    chromium_or_skip()  # before the journeys are set up

    from tests.journey_kit import running_worker

    tmp = tmp_path_factory.mktemp("console")
    async with running_worker(dev_env.client, program, tmp) as (tenure, engine):
        settings = api_settings(task_queue=tenure.task_queue, data_dir=tmp, api_keys=",".join(KEYS.values()))
        customer = f"cus_console_{secrets.token_hex(4)}"
        email = f"ada.{secrets.token_hex(3)}@example.com"
        await tenure.send(customer, SignedUp(event_id="evt_signup", email=email, name="Ada Lovelace", timezone="UTC"))
        await tenure.send(customer, payment(1))
        await tenure.send(customer, ActivityReported(event_id="evt_login_1", kind="login"))
        await tenure.send(customer, ActivityReported(event_id="evt_survey_1", kind="survey_answered", score=4))
        # a fact older than the deduplication horizon: rejected by the journey, set aside for support
        stale = datetime.now(UTC) - timedelta(days=500)
        await tenure.send(customer, ActivityReported(event_id="evt_stale", kind="login", occurred_at=stale))
        others = [f"cus_crowd_{secrets.token_hex(3)}_{n}" for n in range(9)]
        for other in others:  # members for a campaign to reach, slowly enough to watch and pause
            await tenure.send(other, SignedUp(event_id=f"su_{other}", email=f"{other}@example.com", timezone="UTC"))
        await eventually(lambda: asyncio.to_thread(ledger_rows, engine, customer), lambda rows: len(rows) >= 3)
        await eventually(lambda: asyncio.to_thread(projected, engine), lambda n: n >= len(others) + 1, timeout=30)
        async with serving(settings, dev_env.client, program, engine) as base:
            async with chromium() as browser:
                yield SimpleNamespace(
                    base=base, browser=browser, customer=customer, email=email, engine=engine, tenure=tenure
                )


def projected(engine) -> int:
    """Members whose journey wrote its segment projection (what campaigns select on)."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(customers).where(customers.c.engagement_level.is_not(None))
        ).scalar_one()


async def signed_in(site, role: str, viewport=DESKTOP):
    """A fresh browser context signed in with the key of `role`; returns its page."""
    context = await site.browser.new_context(viewport=viewport, base_url=site.base)
    page = await context.new_page()
    await browser_sign_in(page, secret(role))
    return page


async def nav_links(page) -> set[str]:
    return {t.strip() for t in await page.locator("header nav a").all_inner_texts()}


async def test_each_role_sees_only_its_pages(site):
    expected = {
        "support": {"Members", "Needs attention", "Program"},
        "marketer": {"Program", "Campaigns", "Metrics"},
        "viewer": {"Members", "Needs attention", "Program", "Campaigns", "Metrics"},
        "admin": {"Members", "Needs attention", "Program", "Campaigns", "Metrics"},
    }
    for role, pages in expected.items():
        page = await signed_in(site, role)
        assert await nav_links(page) == pages | {"API"}, role
        assert role in await page.locator("[data-testid=who]").inner_text()
        await page.context.close()
    # What a role may not see is refused, not just hidden from the navigation.
    page = await signed_in(site, "marketer")
    response = await page.goto(f"/console/members/{site.customer}")
    assert response is not None and response.status == 403
    assert "marketer role may not" in await page.locator("main").inner_text()
    response = await page.goto("/console/attention")
    assert response is not None and response.status == 403
    await page.context.close()
    page = await signed_in(site, "support")
    response = await page.goto("/console/metrics")
    assert response is not None and response.status == 403
    await page.context.close()


async def test_app_keys_and_wrong_keys_cannot_sign_in(site):
    for key in (secret("app"), "not-a-key"):
        context = await site.browser.new_context(viewport=DESKTOP, base_url=site.base)
        page = await context.new_page()
        await browser_sign_in(page, key)
        assert "Not signed in" in await page.locator("[role=alert]").inner_text()
        response = await page.goto("/console/members")
        assert response is not None and page.url.endswith("/console/login?next=/console/members")
        await context.close()


async def test_support_finds_a_member_by_email_and_reads_why(site):
    page = await signed_in(site, "support")
    await page.goto("/console/members")
    await page.fill("input[name=q]", site.email.upper())
    await page.click("button:has-text('Find')")
    await page.wait_for_url(re.compile(rf"/console/members/{site.customer}"))
    assert (
        await page.locator("[data-testid=balance]").inner_text() == "152"
    )  # 100 for the payment, 2 the login, 50 the survey
    assert await page.locator("[data-testid=tier]").inner_text() == "member"
    lots = await page.locator("[data-testid=lots]").inner_text()
    assert "monthly payment" in lots and "100" in lots
    timeline = await page.locator("[data-testid=timeline]").inner_text()
    assert "monthly payment in_1 of 49.00 USD earned 100 points" in timeline
    upcoming = await page.locator("[data-testid=upcoming]").inner_text()
    assert "points expire" in upcoming and "onboarding" in upcoming
    assert "/namespaces/default/workflows/customer-" in (await page.get_attribute("a[target=_blank]", "href") or "")
    await shoot(page, "member-1280")
    await page.set_viewport_size(PHONE)
    await shoot(page, "member-phone")
    await page.context.close()


async def test_support_adjusts_with_a_reason_and_the_ledger_names_them(site):
    page = await signed_in(site, "support")
    await page.goto(f"/console/members/{site.customer}")
    await page.fill("[data-testid=adjust-form] input[name=points]", "25")
    await page.fill("[data-testid=adjust-form] input[name=reason]", "goodwill after an outage")
    await page.click("[data-testid=adjust-form] button")
    await page.wait_for_selector("[data-testid=notice]")
    assert "Adjusted by +25 points; balance now 177" in await page.locator("[data-testid=notice]").inner_text()
    first_row = await page.locator("[data-testid=ledger] tbody tr").first.inner_text()
    assert "adjust" in first_row and "goodwill after an outage" in first_row and "console:maria" in first_row
    timeline = await page.locator("[data-testid=timeline]").inner_text()
    assert "console:maria" in timeline
    rows = await asyncio.to_thread(ledger_rows, site.engine, site.customer)
    assert [(r["kind"], r["points"], r["actor"]) for r in rows if r["kind"] == "adjust"] == [
        ("adjust", 25, "console:maria")
    ]
    await page.context.close()


async def test_a_viewer_cannot_adjust(site):
    page = await signed_in(site, "viewer")
    await page.goto(f"/console/members/{site.customer}")
    assert await page.locator("[data-testid=adjust-form]").count() == 0
    balance = await page.locator("[data-testid=balance]").inner_text()
    # Posting by hand, with the viewer's own valid session and CSRF token, is refused too.
    token = await page.evaluate("document.body.getAttribute('hx-headers')")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', token or "")
    assert csrf, "the page carries the session's CSRF token"
    response = await page.request.post(
        f"/console/members/{site.customer}/adjust",
        form={"csrf": csrf.group(1), "request_id": "viewer-try", "points": "500", "reason": "viewer tries"},
        max_redirects=0,
    )
    assert response.status == 403
    await page.reload()
    assert await page.locator("[data-testid=balance]").inner_text() == balance
    await page.context.close()


async def test_a_post_without_csrf_token_is_refused(site):
    page = await signed_in(site, "support")
    await page.goto(f"/console/members/{site.customer}")
    before = await page.locator("[data-testid=balance]").inner_text()
    response = await page.request.post(
        f"/console/members/{site.customer}/adjust",
        form={"request_id": "no-csrf", "points": "999", "reason": "forged form"},
        max_redirects=0,
    )
    assert response.status == 403
    assert "CSRF" in await response.text()
    # A wrong token is no better than none.
    response = await page.request.post(
        f"/console/members/{site.customer}/adjust",
        form={"csrf": "guessed", "request_id": "bad-csrf", "points": "999", "reason": "forged form"},
        max_redirects=0,
    )
    assert response.status == 403
    await page.reload()
    assert await page.locator("[data-testid=balance]").inner_text() == before
    rows = await asyncio.to_thread(ledger_rows, site.engine, site.customer)
    assert not [r for r in rows if r["reason"] == "forged form"]
    await page.context.close()


async def test_program_and_attention_pages_read_well(site):
    page = await signed_in(site, "admin")
    await page.goto("/console/program")
    assert "gold" in await page.locator("[data-testid=tiers]").inner_text()
    await page.click("button:has-text('Compare')")
    await page.wait_for_selector("#diff h3")
    await shoot(page, "program-1280")
    await page.goto("/console/attention")
    await page.wait_for_selector("#findings table, #findings p.pos, #findings p.error")
    findings = await page.locator("#findings").inner_text()
    assert site.customer in findings and "deduplication horizon" in findings, findings
    await shoot(page, "attention-1280")
    await page.goto(f"/console/members/{site.customer}")
    assert "evt_stale" in await page.locator("#rejected").locator("xpath=..").inner_text()
    await page.set_viewport_size(PHONE)
    await page.goto("/console/program")
    await shoot(page, "program-phone")
    await page.context.close()


async def test_docs_load_without_any_external_host(site):
    async with httpx.AsyncClient(base_url=site.base) as http:
        html = (await http.get("/docs")).text
    assert "swagger-ui-bundle.js" in html
    external = [u for u in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html) if re.match(r"(https?:)?//", u)]
    assert external == [], external
    assert "cdn" not in html.lower()
    context = await site.browser.new_context(viewport=DESKTOP, base_url=site.base)
    page = await context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site.base) else None)
    await page.goto("/docs")
    await page.wait_for_selector(".swagger-ui .info .title")
    assert outside == []
    await shoot(page, "docs-1280")
    await context.close()


async def test_metrics_page_draws_its_charts_and_matches_the_api(site):
    page = await signed_in(site, "marketer")
    await page.goto("/console/metrics")
    await page.wait_for_function("window.tenureCharts && window.tenureCharts.length === 4")
    drawn = await page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-testid=chart]')].map(c => {
            const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let inked = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
            return {w: c.width, h: c.height, inked};
        })"""
    )
    assert len(drawn) == 4 and all(c["w"] > 100 and c["h"] > 100 and c["inked"] > 500 for c in drawn), drawn
    figures = page.locator("[data-testid=figures]")
    assert "Participation rate" in await figures.inner_text()
    satisfaction = await page.locator("[data-metric=satisfaction] .metric-value").inner_text()
    assert satisfaction == "4.00 of 5"  # the one scored survey
    assert "Members who earned or redeemed points" in await figures.inner_text()  # definitions sit by the figures
    assert "Satisfaction at least 4.5 of 5" in await page.locator("[data-testid=goals]").inner_text()
    await shoot(page, "metrics-1280")
    await page.set_viewport_size(PHONE)
    await shoot(page, "metrics-phone")
    async with httpx.AsyncClient(base_url=site.base) as http:
        refused = await http.get("/program/metrics", headers={"Authorization": f"Bearer {secret('support')}"})
        assert refused.status_code == 403
        report = (await http.get("/program/metrics", headers={"Authorization": f"Bearer {secret('marketer')}"})).json()
    by_id = {m["id"]: m for m in report["metrics"]}
    assert by_id["satisfaction"]["value"] == 4.0
    assert by_id["weekly_active"]["value"] >= 1
    assert {g["id"] for g in report["goals"]} == {"retention", "referrals", "satisfaction"}
    await page.context.close()


async def test_a_marketer_creates_starts_watches_pauses_and_measures_a_campaign(site):
    page = await signed_in(site, "marketer")
    await page.goto("/console/campaigns")
    form = page.locator("[data-testid=campaign-form]")
    campaign_id = f"slow-bonus-{secrets.token_hex(3)}"
    await form.locator("input[name=id]").fill(campaign_id)
    await form.locator("input[name=name]").fill("A slow bonus to watch")
    await form.locator("input[name=bonus_points]").fill("10")
    await form.locator("input[name=holdout_percent]").fill("20")
    # Two members a page, the second four seconds after the first: progress moves a page at a time,
    # and a pause takes effect between pages.
    await form.locator("input[name=rate]").fill("0.25")
    await form.locator("input[name=page_size]").fill("2")
    await form.locator("input[name=rate]").dispatch_event("change")
    preview = page.locator("[data-testid=campaign-preview]")
    await preview.wait_for()
    assert "in the segment" in await preview.inner_text()
    segment_size = int(await preview.locator("b").first.inner_text())
    assert segment_size >= 10
    segment = page.locator("[data-testid=segment-form]")
    await segment.locator("input[name=name]").fill(f"Everyone active {campaign_id}")
    await page.wait_for_selector("[data-testid=live-count]")
    await segment.locator("textarea").fill('{"field": "tier", "op": "eq", "value": "platinum"}')
    await page.wait_for_function("document.querySelector('[data-testid=live-count]').textContent === '0'")
    await segment.locator("textarea").fill('{"field": "status", "op": "eq", "value": "active"}')
    await page.wait_for_function(f"document.querySelector('[data-testid=live-count]').textContent === '{segment_size}'")
    await shoot(page, "campaigns-1280")
    await page.click("button:has-text('Save segment')")
    assert "saved" in await page.locator("[data-testid=notice]").inner_text()
    assert f"Everyone active {campaign_id}" in await page.locator("[data-testid=segments]").inner_text()
    form = page.locator("[data-testid=campaign-form]")
    await form.locator("select[name=kind]").select_option("publish_program")  # a program version to a segment
    await form.locator("select[name=program]").select_option("defaults")
    await page.wait_for_function("document.querySelector('#campaign-preview').textContent.includes('at most 0 points')")
    await form.locator("select[name=kind]").select_option("bonus")
    await form.locator("input[name=id]").fill(campaign_id)
    await form.locator("input[name=name]").fill("A slow bonus to watch")
    await form.locator("input[name=bonus_points]").fill("10")
    await form.locator("input[name=holdout_percent]").fill("20")
    await form.locator("input[name=rate]").fill("0.25")
    await form.locator("input[name=page_size]").fill("2")
    await form.locator("input[name=rate]").dispatch_event("change")
    await page.wait_for_function("document.querySelector('[data-testid=campaign-preview]') !== null")
    await page.click("button:has-text('Create as draft')")
    await page.wait_for_url(re.compile(rf"/console/campaigns/{campaign_id}$"))
    assert await page.locator("[data-testid=campaign-state]").count() == 0  # a draft: not started

    await page.click("[data-testid=start]")
    await page.wait_for_selector("[data-testid=campaign-state]:has-text('running')")
    seen = []
    for _ in range(40):  # the page polls the run's progress every second
        text = await page.locator("[data-testid=reached]").inner_text()
        seen.append(int(text))
        if seen[-1] >= 2:
            break
        await page.wait_for_timeout(500)
    await shoot(page, "campaign-running-1280")
    assert seen[-1] >= 2 and seen[0] < seen[-1], seen  # the progress moved while we watched
    await page.click("[data-testid=pause]")
    await page.wait_for_selector("[data-testid=campaign-state]:has-text('paused')")
    paused_at = int(await page.locator("[data-testid=reached]").inner_text())
    await page.wait_for_timeout(3000)
    assert int(await page.locator("[data-testid=reached]").inner_text()) == paused_at, "nothing moves while paused"
    assert paused_at < segment_size

    await page.click("[data-testid=resume]")
    await page.wait_for_selector("[data-testid=campaign-state]:has-text('completed')", timeout=60_000)
    await page.reload()
    assert await page.locator("[data-testid=results]").count() == 1
    if await page.locator("[data-testid=lift-chart]").count():
        await page.wait_for_function("window.tenureLift !== undefined")
    await shoot(page, "campaign-done-1280")
    await page.set_viewport_size(PHONE)
    await shoot(page, "campaign-done-phone")
    await page.context.close()

    page = await signed_in(site, "marketer")
    await page.goto("/console/metrics")
    lift = await page.locator("[data-metric=campaign_lift]").inner_text()
    assert "A slow bonus to watch" in lift, lift  # the metrics page measures the finished campaign
    await page.context.close()

    viewer = await signed_in(site, "viewer")
    await viewer.goto(f"/console/campaigns/{campaign_id}")
    assert await viewer.locator("[data-testid=start], [data-testid=pause], [data-testid=cancel]").count() == 0
    response = await viewer.goto("/console/campaigns")
    assert response is not None and response.status == 200
    assert await viewer.locator("[data-testid=campaign-form]").count() == 0
    await viewer.context.close()


async def preview_says(page, *words: str) -> None:
    """Wait until the live preview (it follows the form as it changes) holds all of `words`."""
    condition = " && ".join(f"t.includes({w!r})" for w in words)
    await page.wait_for_function(
        f"(() => {{ const t = document.querySelector('#campaign-preview').textContent; return {condition}; }})()"
    )


async def test_a_marketer_creates_the_gold_double_points_weekend_and_sees_every_kinds_form(site):
    """Every kind's terms in the form (only the chosen kind's shown), screenshots of each at desktop and
    phone width; the gold weekend ×2 with a 10% holdout, at each member's local time, previewed in
    words; a wrong window refused on the form itself, naming the field; then created as a draft whose
    page shows its terms."""
    page = await signed_in(site, "marketer")
    await page.goto("/console/campaigns")
    token = secrets.token_hex(3)
    segment = page.locator("[data-testid=segment-form]")
    await segment.locator("input[name=name]").fill(f"Gold members {token}")
    await segment.locator("textarea").fill('{"field": "tier", "op": "eq", "value": "gold"}')
    await page.click("button:has-text('Save segment')")
    assert "saved" in await page.locator("[data-testid=notice]").inner_text()

    form = page.locator("[data-testid=campaign-form]")
    kind = form.locator("select[name=kind]")
    # terms for the kinds that need some typing before their preview makes sense
    await kind.select_option("offer")
    await form.locator("input[name='offer.percent_off']").fill("20")
    await kind.select_option("challenge")
    await form.locator("input[name='challenge.title']").fill("Share three reports")
    await form.locator("select[name='challenge.activity']").select_option("content_shared")
    await form.locator("input[name='challenge.ends_at']").fill("2026-12-20T00:00")
    await kind.select_option("announcement")
    await form.locator("input[name=template_id]:visible").fill("d-spring")
    expected = {
        "bonus": ("50 bonus points",),
        "multiplier": ("×2 on activity and payments", "extra points with no cap"),
        "announcement": ("template d-spring",),
        "offer": ("20% off for 1 month, valid 14 days",),
        "challenge": ("Share three reports: content shared 3 times",),
        "publish_program": ("program version",),
    }
    for value, words in expected.items():
        await kind.select_option(value)
        await preview_says(page, "in the segment", *words)
        visible = await form.locator("fieldset.terms:visible legend").all_inner_texts()
        assert len(visible) == (1 if value == "announcement" else 2), (value, visible)  # its terms (+ email)
        await shoot(page, f"campaign-form-{value}-1280", element=form)
        await page.set_viewport_size(PHONE)
        await shoot(page, f"campaign-form-{value}-phone", element=form)
        await page.set_viewport_size(DESKTOP)

    campaign_id = f"gold-weekend-{token}"
    await kind.select_option("multiplier")
    await form.locator("input[name=id]").fill(campaign_id)
    await form.locator("input[name=name]").fill("Double points this weekend for gold members")
    await form.locator("input[name='multiplier.factor']").fill("2")
    await form.locator("input[name='multiplier.starts_at']").fill("2026-12-12T00:00")
    await form.locator("input[name='multiplier.ends_at']").fill("2026-12-11T00:00")  # before it starts
    assert await form.locator("input[name='multiplier.applies_to'][value=payments]").is_checked()
    assert await form.locator("input[name='multiplier.applies_to'][value=activity]").is_checked()
    await form.locator("input[name=local_time]").check()
    await form.locator("input[name=when][value=at]").check()
    await form.locator("input[name='start.at']").fill("2026-12-12T00:00")
    await form.locator("input[name='start.local_time']").check()
    await form.locator("select[name=segment]").select_option(f"gold-members-{token}")
    await form.locator("input[name=holdout_percent]").fill("10")
    await form.locator("input[name='budget.total_points']").fill("500000")
    await form.locator("input[name='budget.per_member_points']").fill("400")
    await preview_says(page, "Cannot preview yet", "ends_at must be after starts_at")
    await page.click("button:has-text('Create as draft')")
    faults = page.locator("[data-testid=form-faults]")
    await faults.wait_for()
    assert "Multiplier (multiplier): ends_at must be after starts_at" in await faults.inner_text()
    form = page.locator("[data-testid=campaign-form]")  # the page came back with the form as it was sent
    assert await form.locator("input[name=name]").input_value() == "Double points this weekend for gold members"
    assert await form.locator("[data-testid=terms-multiplier]").is_visible()
    assert await form.locator("input[name='start.at']").input_value() == "2026-12-12T00:00"
    await shoot(page, "campaign-form-refused-1280", element=form)

    await form.locator("input[name='multiplier.ends_at']").fill("2026-12-14T00:00")
    await preview_says(
        page,
        "in the segment",
        "×2 on activity and payments",
        "Sat 2026-12-12 00:00 → Mon 2026-12-14 00:00",
        "each member's local time",
        "at most 0 extra points",
    )
    await page.click("button:has-text('Create as draft')")
    await page.wait_for_url(re.compile(rf"/console/campaigns/{campaign_id}$"))
    terms = await page.locator("[data-testid=what-it-does]").inner_text()
    for words in (
        f"segment gold-members-{token}",
        "×2 on activity and payments",
        "Sat 2026-12-12 00:00 → Mon 2026-12-14 00:00 (each member's local time)",
        "tier multiplier × factor",
        "Sat 2026-12-12 00:00 in each member's local time",
        "10.0%",
        "500,000 in all; 400 a member",
    ):
        assert words in terms, (words, terms)
    assert await page.locator("h1 .badge").inner_text() == "multiplier"
    await shoot(page, "campaign-multiplier-draft-1280")
    await page.set_viewport_size(PHONE)
    await shoot(page, "campaign-multiplier-draft-phone")
    await page.context.close()
