"""Evidence for each audience (dispatch.privacy): the case snapshot by the caller's role, originals for staff
(every view logged, the log for admins), and the signed platform link that Open311's media_url carries.

GET /cases/{id}/snapshot.jpg (in routes_cases) answers with `case_snapshot` here: merchants and inspectors get
the merchant's rendering (people and other vehicles blurred), operators and admins the console's (people
blurred); `?original=true` gives operators and admins the original and writes an evidence_views row first
(no row, no picture), and answers 403 to anyone else. Evidence that retention deleted answers 410 with why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Admin, Principal
from api.context import AppContext, Ctx, visible_case
from api.schemas import ErrorOut, errors
from api.schemas_evidence import EvidenceViewOut, EvidenceViewPage
from dispatch.case_evidence import render_case
from dispatch.db import CaseRow, EvidenceViewRow
from dispatch.evidence_links import sig_ok
from dispatch.privacy import ORIGINAL_ROLES, ROLE_AUDIENCE, Audience
from frontage.config import Role
from register.evidence_keys import evidence_key

router = APIRouter(tags=["evidence"])

CaseId = Annotated[int, PathParam(ge=1, le=2**62, description="Case id.")]
JPEG = {200: {"content": {"image/jpeg": {}}, "description": "The evidence JPEG for the caller's audience."}}
GONE = {410: {"model": ErrorOut, "description": "The evidence was deleted by the retention period."}}
PRIVATE = {"Cache-Control": "private, max-age=300"}
NOT_FOUND = "no such evidence"


def deleted_reason(row: CaseRow) -> str:
    days = (row.evidence or {}).get("deleted_after_days")
    when = row.evidence_deleted_at.date().isoformat() if row.evidence_deleted_at else "?"
    return f"evidence deleted after {days} days (on {when})" if days else f"evidence deleted (on {when})"


def case_snapshot(ctx: AppContext, case_id: int, who: Principal, original: bool) -> Response:
    if original and who.role not in ORIGINAL_ROLES:
        with Session(ctx.engine) as s:
            visible_case(s, case_id, who)  # another shop's case stays a 404, never a 403 that confirms it
        raise HTTPException(403, "originals are for operators and admins only")
    audience = Audience(who.role.value) if original else ROLE_AUDIENCE[who.role]
    with Session(ctx.engine) as s:
        row = visible_case(s, case_id, who)
        if row.evidence_deleted_at is not None:
            raise HTTPException(410, deleted_reason(row))
        jpeg = render_case(row, ctx.snapshot_dir, audience)
        if jpeg is None:
            raise HTTPException(404, f"case {case_id} has no snapshot")
        if original:  # written before the picture leaves: a view that cannot be logged is not served
            s.add(EvidenceViewRow(case_id=case_id, at=ctx.workflow.clock.now(), actor=who.name,
                                  role=who.role.value, what="original"))  # fmt: skip
            s.commit()
    headers = {**PRIVATE, "X-Evidence-Audience": audience.value}
    return Response(jpeg, media_type="image/jpeg", headers=headers)


@router.get(
    "/evidence/{case_id}/platform.jpg",
    response_class=Response,
    responses={**JPEG, **errors(404), **GONE},
    summary="The city platform's rendering of a case's evidence (signed link, no token)",
    description="The link Open311's media_url carries: people blurred, plates kept. `sig` is an HMAC of the case; "
    "a missing, wrong or tampered one answers 404, exactly like an unknown case.",
)
def platform_evidence(
    case_id: CaseId,
    ctx: Ctx,
    sig: Annotated[str, Query(max_length=200, description="The link's signature.")] = "",
) -> Response:
    key = evidence_key(ctx.engine, ctx.cfg, ctx.workflow.clock.now())
    with Session(ctx.engine) as s:
        row = s.get(CaseRow, case_id)
        if row is None or not sig_ok(key, case_id, row.violation_key, sig):
            raise HTTPException(404, NOT_FOUND)
        if row.evidence_deleted_at is not None:
            raise HTTPException(410, deleted_reason(row))
        jpeg = render_case(row, ctx.snapshot_dir, Audience.platform)
    if jpeg is None:
        raise HTTPException(404, NOT_FOUND)
    headers = {"Cache-Control": "private, max-age=3600", "X-Evidence-Audience": Audience.platform.value}
    return Response(jpeg, media_type="image/jpeg", headers=headers)


@router.get(
    "/evidence/access-log",
    response_model=EvidenceViewPage,
    responses=errors(401, 403),
    summary="Who saw which case's original, and when (admins)",
)
def access_log(
    ctx: Ctx,
    who: Admin,
    case_id: Annotated[int | None, Query(ge=1, le=2**62, description="Only this case's views.")] = None,
    actor: Annotated[str | None, Query(max_length=100, description="Only this token name's views.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> EvidenceViewPage:
    where = []
    if case_id is not None:
        where.append(EvidenceViewRow.case_id == case_id)
    if actor is not None:
        where.append(EvidenceViewRow.actor == actor)
    with Session(ctx.engine) as s:
        total = s.scalar(select(func.count()).select_from(EvidenceViewRow).where(*where)) or 0
        rows = s.scalars(
            select(EvidenceViewRow)
            .where(*where)
            .order_by(EvidenceViewRow.at.desc(), EvidenceViewRow.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        items = [
            EvidenceViewOut(id=r.id, case_id=r.case_id, at=r.at, actor=r.actor, role=Role(r.role), what=r.what)
            for r in rows
        ]
    return EvidenceViewPage(items=items, total=total, limit=limit, offset=offset)
