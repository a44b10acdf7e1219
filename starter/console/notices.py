"""The outcome of an action, carried to the page the console redirects to (`?notice=`), signed.

A page showed whatever text `?notice=` held: a crafted link could put a stranger's words ("Your key
expired, call …") on Tenure's own page before signed-in staff. Notices hold dynamic text (amounts,
states, refusals), so no list of allowed words fits, as it does for the sign-in page's errors: the
console signs each notice it redirects with (the session's secret, a salt of its own) and a page shows
one only when its signature holds and it is fresh. Anything else is not shown; the page is the same.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadData

from starter.api.dependencies import services
from starter.api.settings import ApiSettings

from .session import serializer

SALT = "tenure-console-notice"
MAX_AGE = 600  # seconds: a notice answers the action just taken; an old link shows none


def notice_query(settings: ApiSettings, text: str) -> str:
    """The redirect's query (`notice=…`) carrying `text`, signed."""
    return urlencode({"notice": serializer(settings, SALT).dumps(text)})


def notice_redirect(settings: ApiSettings, path: str, text: str, fragment: str = "") -> RedirectResponse:
    """The 303 after an action: to `path` (quoted already) with `text` signed, then `fragment` (#actions)."""
    return RedirectResponse(f"{path}?{notice_query(settings, text)}{fragment}", status_code=303)


async def verified_notice(request: Request) -> str | None:
    """The request's notice when the console signed it within MAX_AGE; None when absent, forged,
    tampered with or stale. (async: a plain dependency would cost a thread hop per request.)"""
    raw = request.query_params.get("notice")
    if not raw:
        return None
    try:
        text = serializer(services(request).settings, SALT).loads(raw, max_age=MAX_AGE)
    except BadData:  # a bad or expired signature, or a payload that is not one
        return None
    return text if isinstance(text, str) else None


Notice = Annotated[str | None, Depends(verified_notice)]
