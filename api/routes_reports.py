"""API routes for the district register (reports)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
