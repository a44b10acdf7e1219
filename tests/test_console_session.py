"""The console's sign-in, session and CSRF without a browser (the app on a recorder, no Temporal):
a forged or expired cookie is no session, a key removed from TENURE_API_KEYS ends its sessions,
every form needs the session's token, htmx requests are sent to sign in, and /docs is local."""

from __future__ import annotations

import re

from starter.console.session import COOKIE
from tests.api_kit import recording_app

KEYS = "sup-secret-key:support:maria,view-secret-key:viewer:vic,app-secret-key:app:billing"


async def sign_in(http, key: str):
    page = await http.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return await http.post("/console/login", data={"csrf": token, "key": key})


async def test_a_session_is_signed_and_follows_the_keys(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        assert (await http.get("/console/members")).status_code == 303  # not signed in: to the sign-in page
        r = await sign_in(http, "sup-secret-key")
        assert r.status_code == 303 and COOKIE in r.cookies
        cookie = r.cookies[COOKIE]
        assert "sup-secret-key" not in cookie  # a digest of the key, never the key
        assert "httponly" in r.headers["set-cookie"].lower()
        assert (await http.get("/console/members")).status_code == 200

        # a forged signature is no session
        http.cookies.set(COOKIE, cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB"))
        assert (await http.get("/console/members")).status_code == 303
        # htmx is told where to go instead of swapping the sign-in page into the page
        r = await http.get("/console/members", headers={"HX-Request": "true"})
        assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/console/login")

        # the same cookie stops working once its key leaves TENURE_API_KEYS
        http.cookies.set(COOKIE, cookie)
        assert (await http.get("/console/members")).status_code == 200
        services = http.app.state.services
        services.settings = services.settings.model_copy(update={"api_keys": "view-secret-key:viewer:vic"})
        assert (await http.get("/console/members")).status_code == 303


async def test_forms_need_the_sessions_token_and_app_keys_cannot_sign_in(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        r = await http.post("/console/login", data={"key": "sup-secret-key"})  # no sign-in token
        assert r.status_code == 403 and COOKIE not in r.cookies
        r = await sign_in(http, "app-secret-key")
        assert r.status_code == 303 and "cannot+sign+in" in r.headers["location"] and COOKIE not in r.cookies
        await sign_in(http, "sup-secret-key")
        r = await http.post("/console/members/cus_x/adjust", data={"points": "5", "reason": "no token"})
        assert r.status_code == 403 and "CSRF" in r.text
        r = await http.post("/console/logout", data={"csrf": "wrong"})
        assert r.status_code == 403
        assert http.rec.sent == []


async def test_docs_and_the_console_assets_are_served_locally(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        docs = (await http.get("/docs")).text
        assert "/console/static/vendor/swagger-ui-5.36.0/swagger-ui-bundle.js" in docs
        assert not re.search(r"""(src|href)=["']https?://""", docs)
        assert (await http.get("/redoc")).status_code == 404  # ReDoc loads from a CDN: not offered
        for asset in (
            "/console/static/vendor/htmx-2.0.11.min.js",
            "/console/static/vendor/chart-4.6.2.umd.min.js",
            "/console/static/vendor/swagger-ui-5.36.0/swagger-ui-bundle.js",
        ):
            assert (await http.get(asset)).status_code == 200, asset


async def test_the_sign_in_page_names_the_development_key_only_when_it_is_the_key(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys="", environment="development") as http:
        page = await http.get("/console/login")
        assert 'data-testid="dev-key"' in page.text and "<code>dev-key</code>" in page.text
        assert (await sign_in(http, "dev-key")).status_code == 303
    async with recording_app(program, tmp_path / "keys", api_keys=KEYS, environment="development") as http:
        assert "dev-key" not in (await http.get("/console/login")).text
