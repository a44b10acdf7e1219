"""Metrics page (filled in below)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/metrics", include_in_schema=False)
