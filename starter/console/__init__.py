"""The Tenure console: web pages for support and marketers, served by the API's own process.

Server-rendered (FastAPI + Jinja2), htmx 2.0 for partial updates and Chart.js for charts, both
vendored under `static/vendor/` (see VENDORED.md there): no build step, no CDN. The API's `/docs`
uses the vendored Swagger UI for the same reason. Signing in, roles and CSRF: session.py,
access.py, web.py.
"""

from __future__ import annotations

import inspect
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from starter.api.dependencies import services
from starter.api.errors import allowed_methods

from . import attention, campaigns, members, metrics, program, sign_in
from .session import staff_of
from .web import HERE, CsrfRefused, NotAllowed, SignInNeeded, refused_page, render

STATIC = "/console/static"
SWAGGER = f"{STATIC}/vendor/swagger-ui-5.36.0"


def install_console(app: FastAPI) -> None:
    """Mount the console's pages and assets, and `/docs` with local Swagger UI assets."""
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="console-static")
    for router in (sign_in.router, members.router, attention.router, program.router, campaigns.router, metrics.router):
        app.include_router(router)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        target = "/console/login"
        asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("HX-Request"):
            # a part of a page (a poll, the live search): back to the page itself, not to the part
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            asked = page.path + (f"?{page.query}" if page.query else "")
        if request.method == "GET" and asked not in ("", "/console"):
            target += "?next=" + quote(asked, safe="/")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, e: NotAllowed) -> Response:
        why = f"The {e.staff.role} role may not use this part of the console."
        return render(request, "refused.html", e.staff, 403, why=why)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        why = "The form carried no valid CSRF token (open the page again and resend it). Nothing was changed."
        return render(request, "refused.html", None, 403, why=why)

    api_invalid = app.exception_handlers.get(RequestValidationError)
    assert api_invalid is not None, "the API's error handlers are installed first (starter/api/app.py)"

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> Response:
        """A console address with a value its route cannot take (a malformed customer id, an offset
        that is no number): a console page that says what to type, never the API's JSON."""
        if _is_console(request):
            return refused_page(request, list(e.errors()))
        answer = api_invalid(request, e)
        return await answer if inspect.isawaitable(answer) else answer

    api_http = app.exception_handlers.get(StarletteHTTPException)
    assert api_http is not None, "the API's error handlers are installed first (starter/api/app.py)"

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> Response:
        """A console address that is no page (a mistyped link): a console page, not the API's JSON."""
        if _is_console(request) and e.status_code in (404, 405):
            staff = staff_of(request, services(request).settings)
            why = "The console has no such page." if e.status_code == 404 else "This address takes a form, not a visit."
            page = render(request, "refused.html", staff, e.status_code, why=why)
            allow = allowed_methods(request) or (e.headers or {}).get("Allow", "").split(", ")
            if e.status_code == 405 and any(allow):
                page.headers["Allow"] = ", ".join(allow)
            return page
        answer = api_http(request, e)
        return await answer if inspect.isawaitable(answer) else answer

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )


def _is_console(request: Request) -> bool:
    path = request.url.path
    return (path == "/console" or path.startswith("/console/")) and not path.startswith(STATIC + "/")
