"""Tenure's HTTP service: billing webhooks, the app's activity, and the member API.

`make run` serves `starter.api:app` with uvicorn (http://127.0.0.1:8000, OpenAPI at /docs); tests
build their own with `create_app(settings, client, program, engine)` (`starter.api.app`).

The app is built on first access, not on import: the translators of `starter.ingress` import
`starter.api.errors`, and the app imports the translators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .app import create_app
    from .settings import ApiSettings

    app: FastAPI

__all__ = ["ApiSettings", "app", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ApiSettings":
        from .settings import ApiSettings

        return ApiSettings
    if name == "app":
        from .app import create_app

        globals()["app"] = built = create_app(freeze_heap=True)
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
