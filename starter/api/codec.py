"""The codec server (`POST /codec/encode`, `POST /codec/decode`) for staff: the Temporal UI and CLI.

Temporal holds only ciphertext (`starter.payload_codec`); these endpoints let support and admin keys
read (and write) it through the Temporal codec-server protocol: a JSON `{"payloads": [...]}` in the
protobuf JSON form (metadata values and data in base64), the namespace in `X-Namespace`. Each call is
logged with the caller's actor and the number of payloads, never their content.

A browser cannot attach an API key to the Temporal UI's requests, so `/codec/login` (a form) puts the
key in an HttpOnly, SameSite=Strict cookie for `/codec`; with the UI's "Include cross-origin
credentials" the browser sends it, and `CodecGate` (codec_gate.py) admits it as the key, plus CORS for
the UI's origins. See README "Personal data".
"""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import HTMLResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from settings import Settings
from starter.payload_codec import EncryptionCodec, PayloadDecryptionError

from .codec_gate import COOKIE, PREFIX, CodecGate
from .dependencies import ServicesDep, require_role
from .errors import ERRORS, ApiError
from .roles import PERSONAL_DATA_ROLES, ApiKey
from .settings import api_settings, split_list

log = logging.getLogger("tenure.api.codec")

COOKIE_MAX_AGE = 8 * 3600  # a working day
MAX_BODY_BYTES = 8 * 1024 * 1024  # Temporal refuses payloads over 2 MB; base64 and JSON add a third

router = APIRouter(prefix=PREFIX, tags=["codec"], responses=ERRORS)
Staff = Annotated[ApiKey, Depends(require_role(*PERSONAL_DATA_ROLES))]  # a decoded history holds personal data
Namespace = Annotated[str | None, Header(alias="X-Namespace", description="The Temporal namespace.")]

_PAYLOADS_SCHEMA = {
    "type": "object",
    "properties": {
        "payloads": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "metadata": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
                    "data": {"type": "string", "format": "byte"},
                },
            },
        }
    },
}
_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _PAYLOADS_SCHEMA}}},
    "responses": {"200": {"content": {"application/json": {"schema": _PAYLOADS_SCHEMA}}}},
}


def install_codec(app: FastAPI, settings: Settings | None) -> None:
    """Mount the codec routes, and CORS and the sign-in cookie for them (the UI's origins from the
    running app's settings: `TENURE_CODEC_CORS_ORIGINS`)."""

    def origins() -> list[str]:
        services = getattr(app.state, "services", None)
        s = services.settings if services is not None else api_settings(settings)
        return split_list(s.codec_cors_origins)

    app.include_router(router)
    app.add_middleware(CodecGate, origins=origins)


def _codec(request: Request) -> EncryptionCodec:
    return request.app.state.payload_codec


@router.post("/encode", response_class=Response, openapi_extra=_BODY)
async def encode(request: Request, svc: ServicesDep, caller: Staff, namespace: Namespace = None) -> Response:
    """Encrypt payloads under the newest key (the `temporal` CLI's `--codec-endpoint` sends its inputs here)."""
    return await _apply(request, svc, caller, namespace, "encoded")


@router.post("/decode", response_class=Response, openapi_extra=_BODY)
async def decode(request: Request, svc: ServicesDep, caller: Staff, namespace: Namespace = None) -> Response:
    """Decrypt payloads under any configured key; payloads that are not encrypted come back as they are."""
    return await _apply(request, svc, caller, namespace, "decoded")


async def _apply(request: Request, svc: ServicesDep, caller: ApiKey, namespace: str | None, done: str) -> Response:
    ours = svc.settings.temporal_namespace
    if namespace is not None and namespace != ours:
        raise ApiError(400, f"this codec serves namespace {ours!r}, not {namespace!r}")
    body = await request.body()  # read only now: after the key was checked (the limit: app.py's BodyLimit)
    try:
        payloads = json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError):
        raise ApiError(
            400, "malformed payloads", 'expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}'
        ) from None
    codec = _codec(request)
    try:
        out: list[Payload] = await (codec.encode if done == "encoded" else codec.decode)(payloads.payloads)
    except PayloadDecryptionError as e:
        raise ApiError(422, "cannot decode the payloads", str(e)) from None
    log.info("%s %d payloads for %s (namespace %s)", done, len(out), caller.actor, ours)
    text = json_format.MessageToJson(Payloads(payloads=out), indent=None)
    return Response(text, media_type="application/json", headers={"Cache-Control": "no-store"})


# ---- signing in a browser (the Temporal UI) ------------------------------------------------------


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(request: Request, svc: ServicesDep) -> HTMLResponse:
    return _page("Sign in to decode Temporal payloads", _FORM + _how_to(request, svc.settings.temporal_ui_url))


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(request: Request, svc: ServicesDep, caller: Staff) -> HTMLResponse:
    """The form posts the key as `X-Api-Key` (its script): the same check as every route. The key is
    then kept in a cookie only `/codec` receives, out of reach of any page's scripts."""
    response = _page(
        "Signed in",
        f"<p>The Temporal UI may now decode payloads as <b>{html.escape(caller.actor)}</b> for 8 hours, once its "
        "codec server settings have <i>Include cross-origin credentials</i> on.</p>"
        + _how_to(request, svc.settings.temporal_ui_url)
        + '<form method="post" action="logout"><button>Sign out</button></form>',
    )
    response.set_cookie(
        COOKIE,
        request.headers.get("X-Api-Key") or _bearer(request),
        max_age=COOKIE_MAX_AGE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_class=HTMLResponse, include_in_schema=False)
async def logout() -> HTMLResponse:
    response = _page("Signed out", '<p><a href="login">Sign in again</a></p>')
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


def _bearer(request: Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


def endpoint_of(request: Request) -> str:
    """This server's codec endpoint as the browser reached it: what the Temporal UI's setting takes."""
    return str(request.base_url).rstrip("/") + PREFIX


def _how_to(request: Request, ui_url: str) -> str:
    """The endpoint to paste into the Temporal UI, and where: a browser sends the cookie only to it."""
    endpoint = html.escape(endpoint_of(request))
    ui = html.escape(ui_url.rstrip("/"))
    same_host = urlsplit(ui_url).hostname == request.url.hostname
    host_note = (
        ""
        if same_host
        else f"<p><b>Open the UI at the host of this page ({html.escape(request.url.hostname or '')})</b>: "
        "the browser sends the cookie only to the same site.</p>"
    )
    return (
        "<h2>Codec endpoint</h2>"
        f"<p><code id=endpoint class=endpoint>{endpoint}</code> <button type=button id=copy>Copy</button></p>"
        f'<p>In the Temporal UI (<a href="{ui}">{ui}</a>), open <i>Codec Server</i> settings, choose '
        "<i>Use my browser setting and ignore Cluster-level setting</i>, paste this endpoint and tick "
        "<i>Include cross-origin credentials</i>.</p>" + host_note + _COPY
    )


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Tenure: {html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        headers={"Cache-Control": "no-store"},
    )


_STYLE = (
    "body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.4}"
    "h1{font-size:1.5em}h2{font-size:1.1em;margin-top:2em}"
    ".endpoint{display:inline-block;padding:.3em .5em;background:#f3f3f3;border:1px solid #ccc;"
    "border-radius:4px;word-break:break-all;font-size:1.05em}"
    "input{max-width:100%;box-sizing:border-box}"
)

# Copy to the clipboard where the browser allows it (a secure context); else select it for Ctrl-C.
_COPY = """
<script>
document.getElementById('copy').onclick = async () => {
  const text = document.getElementById('endpoint').textContent;
  try { await navigator.clipboard.writeText(text); document.getElementById('copy').textContent = 'Copied'; }
  catch (e) { getSelection().selectAllChildren(document.getElementById('endpoint')); }
};
</script>
"""


# The key goes in a header, as for every route, rather than in a form field.
_FORM = """
<p>A <b>support</b> or <b>admin</b> API key (TENURE_API_KEYS) lets the Temporal UI show decrypted payloads.</p>
<form id=f><input id=k type=password autocomplete=off size=40 placeholder="API key"> <button>Sign in</button></form>
<p id=m></p>
<script>
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault();
  const r = await fetch('login', {method: 'POST', headers: {'X-Api-Key': document.getElementById('k').value}});
  if (r.ok) { document.open(); document.write(await r.text()); document.close(); return; }
  const body = await r.json().catch(() => ({}));
  document.getElementById('m').textContent = body.error || ('refused: ' + r.status);
};
</script>
"""
