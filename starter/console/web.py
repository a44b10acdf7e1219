"""What every console route depends on: the signed-in staff member, the role check, the CSRF check,
and rendering a template with the navigation the role may see."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from starter.api.dependencies import services
from starter.api.services import Services
from starter.validation_words import CUSTOMER_ID_WORDS, in_words

from .access import NAVIGATION, Area, may
from .formatting import install_filters
from .session import Staff, staff_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
install_filters(templates.env)


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page (htmx: by HX-Redirect)."""


class NotAllowed(Exception):
    """The signed-in role may not see or do this: a 403 page."""

    def __init__(self, staff: Staff, area: Area):
        self.staff = staff
        self.area = area


class CsrfRefused(Exception):
    """A form posted without the session's CSRF token: 403, nothing done."""


def current_staff(request: Request) -> Staff:
    svc: Services = services(request)
    staff = staff_of(request, svc.settings)
    if staff is None:
        raise SignInNeeded()
    return staff


SignedIn = Annotated[Staff, Depends(current_staff)]


def allowed(area: Area) -> Any:
    """A dependency: the signed-in staff member, when their role may use `area`."""

    def check(staff: SignedIn) -> Staff:
        if not may(staff, area):
            raise NotAllowed(staff, area)
        return staff

    return Depends(check)


async def checked_form(request: Request, staff: Staff) -> FormData:
    """The posted form, once its CSRF token (field `csrf` or header `X-CSRF-Token`) is the session's."""
    form = await request.form()
    given = request.headers.get("X-CSRF-Token") or form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), staff.csrf.encode()):
        raise CsrfRefused()
    return form


def render(
    request: Request, template: str, staff: Staff | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    nav = [(label, href, area) for area, label, href in NAVIGATION if staff is not None and may(staff, area)]
    return templates.TemplateResponse(
        request,
        template,
        {"staff": staff, "nav": nav, "may": (lambda area: staff is not None and may(staff, area)), **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def refused_page(request: Request, errors: list[Any]) -> HTMLResponse:
    """A console address FastAPI refused (its path or query), as a page in the product's words: 404
    when the path names nothing that can exist (a malformed customer id), 422 for a query value."""
    svc: Services = services(request)
    staff = staff_of(request, svc.settings)
    in_path = [err for err in errors if tuple(err.get("loc", ()))[:1] == ("path",)]
    if in_path and all(tuple(err["loc"]) == ("path", "customer_id") for err in in_path):
        given = str(in_path[0].get("input", ""))
        shown = given if len(given) <= 60 else given[:60] + "…"
        why = f"No member can have the id “{shown}”: {CUSTOMER_ID_WORDS}."
        return render(request, "refused.html", staff, 404, why=why, back=("/console/members", "Find a member"))
    status = 404 if in_path else 422
    return render(request, "refused.html", staff, status, title="Cannot show this page", why=in_words(errors) + ".")
