"""OpenAPI for the bodies the service reads by hand (signatures need the raw bytes): each route names
its schema with `json_body`, and `DocumentedApp` adds those schemas to the document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter


def json_body(schema_name: str) -> dict[str, Any]:
    """`openapi_extra` of a route whose JSON body is the published schema `schema_name`."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
        }
    }


class DocumentedApp(FastAPI):
    """FastAPI whose OpenAPI document also carries `published` schemas (and their definitions)."""

    def __init__(self, *, published: dict[str, TypeAdapter[Any]], **options: Any):
        super().__init__(**options)
        self.published = published

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema:
            return self.openapi_schema
        schema = get_openapi(
            title=self.title,
            version=self.version,
            summary=self.summary,
            description=self.description,
            routes=self.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, adapter in self.published.items():
            js = adapter.json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in js.pop("$defs", {}).items():
                components.setdefault(def_name, definition)
            components[name] = js
        self.openapi_schema = schema
        return schema
