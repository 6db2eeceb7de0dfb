"""API routes for the district register (credit)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
