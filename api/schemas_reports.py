"""Bodies of the citizen-report and inspection endpoints (api.routes_reports)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas import ErrorOut, errors
from dispatch.lifecycle import CaseState
from register.reports import ReportCategory


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class UnprocessableOut(BaseModel):
    """422: a photo or text the register refuses ({"detail": "reason"}), or a malformed field (FastAPI's list)."""

    detail: str | list[ValidationIssue] = Field(description="Why: one reason, or one entry per bad field.")


_MORE = {
    422: "The photo is not a real picture (unreadable, too small, blank) or a field is invalid.",
    429: "Too many reports from this client or about this shop; Retry-After says when to try again.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` like api.schemas.errors, also for 422 and 429."""
    out = errors(*(c for c in codes if c not in _MORE))
    for code in codes:
        if code == 422:
            out[422] = {"model": UnprocessableOut, "description": _MORE[422]}
        elif code == 429:
            out[429] = {
                "model": ErrorOut,
                "description": _MORE[429],
                "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
            }
    return out


class ReportReceiptOut(BaseModel):
    tracking_code: str = Field(description="The reporter's code for the status page: 10 letters and digits.")
    status_url: str = Field(description="The public status page of this report, /r/<tracking_code>.")
    duplicate: bool = Field(description="True when the problem already had an open case and the report joined it.")


class ReportStatusOut(BaseModel):
    """What anyone holding the tracking code may see: no contact, no staff notes."""

    tracking_code: str
    category: ReportCategory
    shop_id: str
    shop_name: str | None
    received_at: dt.datetime
    state: CaseState = Field(description="The state of the case the report opened or joined.")
    open311_status: Literal["open", "closed"]
    updated_at: dt.datetime
    duplicate: bool


class ReportOut(BaseModel):
    """A citizen report as staff see it, with the reporter's optional contact."""

    id: int
    tracking_code: str
    shop_id: str
    shop_name: str | None
    category: ReportCategory
    description: str = Field(description="As the citizen wrote it (verbatim: escape it when showing it).")
    contact: str = Field(description="Optional contact the citizen left; personal data, staff only.")
    created_at: dt.datetime
    case_id: int | None
    case_state: CaseState | None
    duplicate: bool = Field(description="Joined a case that was already open.")
    photo_url: str | None = Field(description="This report's photo (same auth), null when none was kept.")


class ReportPage(BaseModel):
    items: list[ReportOut]
    total: int = Field(description="Reports matching the filters, over all pages.")
    limit: int
    offset: int


class InspectionOut(BaseModel):
    id: int
    shop_id: str
    inspector: str = Field(description="The token holder who recorded it.")
    at: dt.datetime
    results: dict[str, Literal["pass", "fail"]] = Field(description="Duty (sanitation, order, greenery) -> result.")
    passed: bool = Field(description="Every duty inspected passed.")
    note: str
    case_id: int | None = Field(description="The case a fail opened or added to.")
    resolved: list[int] = Field(description="The citizens' and inspectors' cases this pass resolved.")
    photo_url: str | None = Field(description="The inspection's photo (same auth), null when none.")


class InspectionPage(BaseModel):
    items: list[InspectionOut]
    total: int
    limit: int
    offset: int
