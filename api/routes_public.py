"""API routes for the district register (public)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
