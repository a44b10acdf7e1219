"""The Tenure console: web pages for support and marketers, served by the API's own process.

Server-rendered (FastAPI + Jinja2), htmx 2.0 for partial updates and Chart.js for charts, both
vendored under `static/vendor/` (see VENDORED.md there): no build step, no CDN. The API's `/docs`
uses the vendored Swagger UI for the same reason. Signing in, roles and CSRF: session.py,
access.py, web.py.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import attention, campaigns, members, metrics, program, sign_in
from .web import HERE, CsrfRefused, NotAllowed, SignInNeeded, render

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
        if request.method == "GET" and request.url.path != "/console":
            target += "?next=" + quote(request.url.path)
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
