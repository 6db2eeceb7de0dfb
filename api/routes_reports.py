"""Citizen reports (public, from a shop's signboard code) and inspections (inspectors), over JSON.

The register does the checking (register.reports, register.inspections); these routes map its refusals to
statuses, all as {"detail": "reason"}. The rate limiter is the app's (`app.state.limiter`), shared with the
HTML form, and keyed by the client's address as the server sees it.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Inspector, Principal, Staff, principal
from api.context import AppContext, Ctx
from api.schemas_reports import (
    InspectionOut,
    InspectionPage,
    ReportOut,
    ReportPage,
    ReportReceiptOut,
    ReportStatusOut,
    responses,
)
from dispatch.db import CaseRow, EvidenceViewRow
from dispatch.evidence import evidence_file as _snapshot_file
from dispatch.lifecycle import CaseState
from frontage.config import Duty, Role
from register.db import CitizenReportRow, InspectionRow
from register.inspections import MAX_NOTE, InspectionRefused, record_inspection
from register.reports import MAX_CONTACT, ReportCategory, ReportRefused, report_status, submit_report
from register.signboards import resolve_code

router = APIRouter(tags=["reports"])

ShopId = Annotated[str, PathParam(min_length=1, max_length=100, description="Shop id.")]
RowId = Annotated[int, PathParam(ge=1, le=2**62)]
BAD_CODE = "this signboard code is not valid (it may have been replaced); please scan the code on the shop again"
# Typed without None (the default is None) so the schema says "pass or fail, optional": a null alternative would
# invite clients to send the string "null".
Result = Annotated[Literal["pass", "fail"], Form(description="pass or fail; leave out a duty that was not inspected.")]


def _read_photo(photo: UploadFile | None, limit: int) -> bytes | None:
    """At most limit + 1 bytes, so the register can say 413 without this process holding more."""
    if photo is None:
        return None
    return photo.file.read(limit + 1)


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _refused(exc: ReportRefused | InspectionRefused) -> HTTPException:
    retry = getattr(exc, "retry_after_s", None)
    headers = {"Retry-After": str(max(1, math.ceil(retry)))} if retry else None
    return HTTPException(exc.status, exc.reason, headers=headers)


# --- citizens (no login) ------------------------------------------------------------------------------------


@router.post(
    "/public/reports",
    status_code=201,
    response_model=ReportReceiptOut,
    responses=responses(400, 404, 413, 415, 422, 429),
    summary="Citizen: report a problem at the shop whose signboard code this is (no login)",
    description="Multipart form: `code` (the signboard's QR code), `category`, `description`, optional "
    "`contact`, and a `photo` (JPEG, PNG or WebP; re-encoded without EXIF or GPS). A problem that already has "
    "an open case of that kind at the shop joins it (`duplicate`). Limits per client and per shop answer 429.",
)
def post_report(
    request: Request,
    ctx: Ctx,
    code: Annotated[str, Form(min_length=1, max_length=500, description="The signboard code from the shop's QR link.")],
    category: Annotated[
        ReportCategory, Form(description="What the problem is (堆物堆料, 店外经营, 乱停车, 垃圾, 其他).")
    ],
    photo: Annotated[UploadFile, File(description="A photo of the problem.")],
    description: Annotated[str, Form(max_length=20_000, description="What is wrong (district.reports.max_text).")] = "",
    contact: Annotated[str, Form(max_length=MAX_CONTACT, description="Optional: how staff may reach you.")] = "",
) -> ReportReceiptOut:
    shop = resolve_code(ctx.engine, ctx.cfg, code)
    if shop is None:
        raise HTTPException(404, BAD_CODE)
    limits = ctx.cfg.district.reports
    try:
        receipt = submit_report(
            ctx.engine, ctx.workflow, ctx.cfg, shop_id=shop.id, category=category.value, description=description,
            contact=contact, photo=_read_photo(photo, limits.max_photo_bytes), client=_client(request),
            snapshot_dir=ctx.snapshot_dir, now=ctx.workflow.clock.now(), limiter=request.app.state.limiter,
        )  # fmt: skip
    except ReportRefused as exc:
        raise _refused(exc) from None
    return ReportReceiptOut(
        tracking_code=receipt.tracking_code, status_url=f"/r/{receipt.tracking_code}", duplicate=receipt.duplicate
    )


@router.get(
    "/public/reports/{tracking_code}",
    response_model=ReportStatusOut,
    responses=responses(404),
    summary="Citizen: where my report stands (no login; the tracking code is the key)",
)
def get_report_status(
    tracking_code: Annotated[str, PathParam(max_length=40, description="The tracking code from the receipt.")],
    ctx: Ctx,
) -> ReportStatusOut:
    found = report_status(ctx.engine, tracking_code, shop_name=ctx.shop_name)
    if found is None:
        raise HTTPException(404, "no report with that tracking code")
    return ReportStatusOut(**found)


# --- staff ---------------------------------------------------------------------------------------------------


def _report_out(row: CitizenReportRow, state: str | None, ctx: AppContext) -> ReportOut:
    return ReportOut(
        id=row.id, tracking_code=row.tracking_code, shop_id=row.shop_id, shop_name=ctx.shop_name(row.shop_id),
        category=row.category, description=row.description, contact=row.contact, created_at=row.created_at,
        case_id=row.case_id, case_state=CaseState(state) if state else None, duplicate=row.duplicate,
        photo_url=f"/reports/{row.id}/photo.jpg" if row.photo else None,
    )  # fmt: skip


@router.get(
    "/reports",
    response_model=ReportPage,
    responses=responses(401, 403),
    summary="Staff: citizen reports with their contacts, newest first",
)
def list_reports(
    ctx: Ctx,
    who: Staff,
    shop_id: Annotated[str | None, Query(max_length=100, description="Only this shop's reports.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ReportPage:
    where = [CitizenReportRow.shop_id == shop_id] if shop_id is not None else []
    with Session(ctx.engine) as s:
        total = s.scalar(select(func.count()).select_from(CitizenReportRow).where(*where)) or 0
        rows = s.execute(
            select(CitizenReportRow, CaseRow.state)
            .outerjoin(CaseRow, CaseRow.id == CitizenReportRow.case_id)
            .where(*where)
            .order_by(CitizenReportRow.created_at.desc(), CitizenReportRow.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        items = [_report_out(row, state, ctx) for row, state in rows]
    return ReportPage(items=items, total=total, limit=limit, offset=offset)


def _photo(
    ctx: AppContext, model: type[CitizenReportRow] | type[InspectionRow], row_id: int, what: str, who: Principal
) -> Response:
    """The stored photo of a report or an inspection: 404 when there is no such row or it has no photo.

    The photo is unredacted (often its case's evidence, which /cases/{id}/snapshot.jpg serves blurred), so a
    view of a photo that belongs to a case is logged like a view of an original (GET /evidence/access-log),
    before it is served."""
    label = f"{what} {row_id}"
    with Session(ctx.engine) as s:
        row = s.get(model, row_id)
        if row is None:
            raise HTTPException(404, f"no {label}")
        path = _snapshot_file(row.photo, ctx.snapshot_dir) if row.photo else None
        if path is None:
            raise HTTPException(404, f"{label} has no photo")
        if row.case_id is not None:
            s.add(EvidenceViewRow(case_id=row.case_id, at=ctx.workflow.clock.now(), actor=who.name,
                                  role=who.role.value, what=f"{what} photo"))  # fmt: skip
            s.commit()
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})


JPEG = {200: {"content": {"image/jpeg": {}}, "description": "The photo, re-encoded without metadata."}}


@router.get(
    "/reports/{report_id}/photo.jpg",
    response_class=Response,
    responses={**JPEG, **responses(401, 403, 404)},
    summary="Staff: a citizen report's photo",
)
def get_report_photo(report_id: RowId, ctx: Ctx, who: Staff) -> Response:
    return _photo(ctx, CitizenReportRow, report_id, "report", who)


# --- inspectors ----------------------------------------------------------------------------------------------


def inspection_readers(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """Admins, operators and inspectors read inspections; merchants get 403."""
    if who.role not in (Role.admin, Role.operator, Role.inspector):
        raise HTTPException(403, "staff and inspectors only")
    return who


InspectionReader = Annotated[Principal, Depends(inspection_readers)]


def _inspection_out(row: InspectionRow) -> InspectionOut:
    return InspectionOut(
        id=row.id, shop_id=row.shop_id, inspector=row.inspector, at=row.at, results=row.results, passed=row.passed,
        note=row.note, case_id=row.case_id, resolved=list(row.resolved or []),
        photo_url=f"/inspections/{row.id}/photo.jpg" if row.photo else None,
    )  # fmt: skip


def _known_shop(ctx: AppContext, shop_id: str) -> None:
    try:
        ctx.workflow.shop(shop_id)
    except KeyError:
        raise HTTPException(404, f"no shop {shop_id}") from None


@router.post(
    "/shops/{shop_id}/inspections",
    status_code=201,
    response_model=InspectionOut,
    responses=responses(400, 401, 403, 404, 413, 415, 422),
    tags=["inspections"],
    summary="Inspector: record an inspection of a shop's duties",
    description="Multipart form: `sanitation`, `order`, `greenery` each `pass` or `fail` (at least one), an "
    "optional `note` and an optional `photo`. A fail opens a case (source inspector, kind inspection_failed) "
    "or adds to the open one. A pass resolves the shop's open citizen and inspector cases only when every duty the "
    "shop keeps (all three when it is not on the register) was inspected and passed; a partial pass resolves "
    "nothing and notes so in those cases' ledgers. Camera cases are left to the cameras.",
)
def post_inspection(
    shop_id: ShopId,
    ctx: Ctx,
    who: Inspector,
    sanitation: Result = None,  # type: ignore[assignment]
    order: Result = None,  # type: ignore[assignment]
    greenery: Result = None,  # type: ignore[assignment]
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
    photo: Annotated[UploadFile, File(description="Optional photo of the frontage.")] = None,  # type: ignore[assignment] (as Result)
) -> InspectionOut:
    _known_shop(ctx, shop_id)
    given = {Duty.sanitation: sanitation, Duty.order: order, Duty.greenery: greenery}
    results = {duty: value == "pass" for duty, value in given.items() if value}
    try:
        result = record_inspection(
            ctx.engine, ctx.workflow, ctx.cfg, shop_id=shop_id, inspector=who.name, results=results, note=note,
            photo=_read_photo(photo, ctx.cfg.district.reports.max_photo_bytes), snapshot_dir=ctx.snapshot_dir,
            now=ctx.workflow.clock.now(),
        )  # fmt: skip
    except InspectionRefused as exc:
        raise _refused(exc) from None
    with Session(ctx.engine) as s:
        return _inspection_out(s.get(InspectionRow, result.id))


@router.get(
    "/shops/{shop_id}/inspections",
    response_model=InspectionPage,
    responses=responses(401, 403, 404),
    tags=["inspections"],
    summary="A shop's inspections, newest first",
)
def list_inspections(
    shop_id: ShopId,
    ctx: Ctx,
    who: InspectionReader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> InspectionPage:
    _known_shop(ctx, shop_id)
    where = InspectionRow.shop_id == shop_id
    with Session(ctx.engine) as s:
        total = s.scalar(select(func.count()).select_from(InspectionRow).where(where)) or 0
        rows = s.scalars(
            select(InspectionRow)
            .where(where)
            .order_by(InspectionRow.at.desc(), InspectionRow.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return InspectionPage(items=[_inspection_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/inspections/{inspection_id}/photo.jpg",
    response_class=Response,
    responses={**JPEG, **responses(401, 403, 404)},
    tags=["inspections"],
    summary="An inspection's photo",
)
def get_inspection_photo(inspection_id: RowId, ctx: Ctx, who: InspectionReader) -> Response:
    return _photo(ctx, InspectionRow, inspection_id, "inspection", who)
