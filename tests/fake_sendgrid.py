"""A local stand-in for SendGrid's v3 mail send endpoint, for the real `sendgrid` client.

It answers POST /v3/mail/send as SendGrid does: 202 with an empty body and an X-Message-Id
on success; 401 for a wrong key; 400 with SendGrid's `{"errors": [...]}` body for a request
missing what SendGrid requires; and any scripted sequence of statuses (400, 429, 500, ...).
Every request is recorded (path, headers, parsed JSON body).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENDGRID_ERRORS = {
    400: {"message": "The template_id must be a valid GUID or a dynamic template id.", "field": "template_id"},
    413: {"message": "Payload too large", "field": None},
    429: {"message": "too many requests", "field": None},
    500: {"message": "Internal server error", "field": None},
    503: {"message": "Service unavailable", "field": None},
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class Reply:
    status: int
    errors: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeSendGrid:
    def __init__(self, api_key: str = "SG.test-key") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSendGrid:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *statuses: int | Reply) -> None:
        """Answer the next requests with these statuses, in order; then 202 again."""
        with self._lock:
            for s in statuses:
                self._script.append(s if isinstance(s, Reply) else self._reply_for(s))

    @staticmethod
    def _reply_for(status: int) -> Reply:
        headers: dict[str, str] = {}
        if status == 429:
            headers = {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + 5),
            }
        err = SENDGRID_ERRORS.get(status, {"message": f"error {status}", "field": None})
        return Reply(status, [{**err, "help": None}], headers)

    def _next_reply(self, auth: str | None, body: Any) -> Reply:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        if auth != f"Bearer {self.api_key}":
            return Reply(
                401,
                [
                    {
                        "message": "The provided authorization grant is invalid, expired, or revoked",
                        "field": None,
                        "help": None,
                    }
                ],
            )
        problems = _validate(body)
        if problems:
            return Reply(400, problems)
        return Reply(202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                if self.path != "/v3/mail/send":
                    reply = Reply(404, [{"message": "resource not found", "field": None, "help": None}])
                else:
                    reply = fake._next_reply(self.headers.get("Authorization"), body)
                with fake._lock:
                    fake.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body, reply.status))
                payload = b"" if reply.errors is None else json.dumps({"errors": reply.errors}).encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _validate(body: Any) -> list[dict[str, Any]]:
    """The few checks of SendGrid's that matter for dynamic-template mail."""
    if not isinstance(body, dict):
        return [{"message": "Bad Request", "field": None, "help": None}]
    errs = []
    if not body.get("personalizations"):
        errs.append({"message": "The personalizations field is required.", "field": "personalizations", "help": None})
    elif not all(p.get("to") for p in body["personalizations"]):
        errs.append({"message": "The to array is required.", "field": "personalizations.0.to", "help": None})
    if not (body.get("from") or {}).get("email"):
        errs.append({"message": "The from object must be provided.", "field": "from", "help": None})
    if not body.get("template_id") and not body.get("content"):
        errs.append(
            {
                "message": "Unless a valid template_id is provided, the content parameter is required.",
                "field": "content",
                "help": None,
            }
        )
    return errs
