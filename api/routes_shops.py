"""API routes for the district register (shops)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
