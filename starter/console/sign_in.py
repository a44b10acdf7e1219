"""Signing in and out. The sign-in form has CSRF protection too (a double-submit token in a
short-lived cookie), so another site cannot sign a browser in under its own key."""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from starter.api.dependencies import services
from starter.api.roles import DEV_API_KEY, ROLES

from .access import NAVIGATION, may
from .session import CONSOLE_ROLES, COOKIE, MAX_AGE, find_key, session_cookie, staff_of
from .web import SignedIn, checked_form, render

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_COOKIE = "tenure_console_login"
# Where a signed-out visit is sent back after signing in: a console page of this site, never elsewhere
# (no scheme, no host, no `//`, no backslash), and never the sign-in page itself.
_RETURN = re.compile(r"/console(/[^\s\\]*)?(\?[^\s\\]*)?")


def return_to(target: object) -> str | None:
    """`target` when it is a console page to go back to after signing in, else None."""
    if not isinstance(target, str) or len(target) > 2000 or not _RETURN.fullmatch(target):
        return None
    if (
        "//" in target
        or "/.." in target
        or target.startswith(("/console/login", "/console/logout", "/console/static/"))
    ):
        return None
    return target


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    staff = staff_of(request, services(request).settings)
    if staff is None:
        return RedirectResponse("/console/login", status_code=303)
    for area, _label, href in NAVIGATION:
        if may(staff, area):
            return RedirectResponse(href, status_code=303)
    return RedirectResponse("/console/login", status_code=303)


WRONG_KEY = "wrong key"


def role_refused(role: str) -> str:
    return f"the {role} role cannot sign in here"


# What the sign-in page may say under its form: the refusals `login` sends it back with, and nothing else
# (a link with ?error=<any text> would otherwise put a stranger's words on Tenure's own page).
SIGN_IN_ERRORS = frozenset({WRONG_KEY, *(role_refused(role) for role in ROLES)})


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, error: str | None = None, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    settings = services(request).settings
    # `make run` with no keys: say which key works, as its panel does (production refuses to start so).
    dev_key = DEV_API_KEY if settings.environment == "development" and not settings.api_keys.strip() else None
    back = return_to(next)
    error = error if error in SIGN_IN_ERRORS else None
    response = render(request, "login.html", None, login_csrf=token, error=error, dev_key=dev_key, next=back)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=600,
        path="/console/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("csrf")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        return render(request, "refused.html", None, 403, why="The sign-in form expired or came from elsewhere.")
    settings = services(request).settings
    secret = form.get("key")
    key = find_key(settings, secret) if isinstance(secret, str) and secret else None
    back = return_to(form.get("next"))
    if key is None or key.role not in CONSOLE_ROLES:  # the sign-in page again, saying why (SIGN_IN_ERRORS)
        again = {"error": WRONG_KEY if key is None else role_refused(key.role)} | ({"next": back} if back else {})
        return RedirectResponse(f"/console/login?{urlencode(again, safe='/')}", status_code=303)
    value, _csrf = session_cookie(settings, key)
    # back to the page that asked for a session (a link to a member, opened after the session ended)
    response = RedirectResponse(back or "/console", status_code=303)
    response.set_cookie(
        COOKIE, value, max_age=MAX_AGE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def logout(request: Request, staff: SignedIn) -> Response:
    await checked_form(request, staff)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"
