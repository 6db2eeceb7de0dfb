"""Cases: list, detail with the ledger, evidence, and people's actions (all through Workflow.act)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import AwareDatetime, BeforeValidator
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from api.auth import CurrentPrincipal, Principal
from api.context import AppContext, Ctx, invalid, visible_case
from api.routes_evidence import GONE, JPEG, case_snapshot
from api.schemas import ActionIn, CaseDetail, CasePage, CaseSummary, LedgerEntry, errors
from dispatch.db import CaseEventRow, CaseRow
from dispatch.lifecycle import OPEN311_STATUS, CaseState, TransitionRefused
from dispatch.workflow import Action, CaseNotFound
from frontage.config import CaseKind, CaseSource, Role, Shop
from register.db import ShopRow

router = APIRouter(tags=["cases"])

CaseId = Annotated[int, PathParam(ge=1, le=2**62, description="Case id.")]
MERCHANT_ACTIONS = frozenset({Action.acknowledge, Action.resolve})


def summary(row: CaseRow, ctx: AppContext) -> CaseSummary:
    state = CaseState(row.state)
    return CaseSummary(
        id=row.id,
        camera_id=row.camera_id,
        shop_id=row.shop_id,
        shop_name=ctx.shop_name(row.shop_id),
        kind=CaseKind(row.kind),
        source=CaseSource(row.source),
        object_class=row.object_class,
        state=state,
        open311_status=OPEN311_STATUS[state],
        first_seen_at=row.first_seen_at,
        opened_at=row.opened_at,
        cleared_at=row.cleared_at,
        confirmed_at=row.confirmed_at,
        updated_at=row.updated_at,
        dwell_s=row.dwell_s,
        box=[float(v) for v in row.box],
        linked_case_id=row.linked_case_id,
        service_request_id=row.service_request_id,
        snapshot_url=f"/cases/{row.id}/snapshot.jpg" if row.snapshot else None,
        evidence_deleted_at=row.evidence_deleted_at,
        evidence_deleted_after_days=(row.evidence or {}).get("deleted_after_days") if row.evidence_deleted_at else None,
    )


def detail(session: Session, row: CaseRow, ctx: AppContext) -> CaseDetail:
    events = session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == row.id).order_by(CaseEventRow.at, CaseEventRow.id)
    )
    ledger = [
        LedgerEntry(
            id=e.id,
            at=e.at,
            from_state=e.from_state,
            to_state=e.to_state,
            actor=e.actor,
            reason=e.reason,
            data=e.data or {},
        )
        for e in events
    ]
    return CaseDetail(
        **summary(row, ctx).model_dump(),
        remind_due_at=row.remind_due_at,
        escalate_due_at=row.escalate_due_at,
        ledger=ledger,
    )


def _iso(value: object) -> object:
    """Only ISO 8601 text with an offset: pydantic alone would also take '0.5' as a Unix time."""
    if not isinstance(value, str):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time such as 2026-03-02T08:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("the date-time needs a UTC offset (Z or +08:00)")
    return parsed


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso)]


def _utc(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise invalid(("query", name), "datetime out of range once converted to UTC", value.isoformat()) from None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_clause(q: str, config_shops: Iterable[Shop]) -> ColumnElement[bool] | None:
    """Free text over what a person knows a case by: its number ("17" or "#17"), or its shop's id or name, from
    the config (`config_shops`) or the register. None when there is nothing to search for."""
    text = q.replace("\x00", "").strip()
    if not text:
        return None
    folded = text.casefold()
    pattern = f"%{_escape_like(folded)}%"
    named = [shop.id for shop in config_shops if folded in shop.name.casefold() or folded in shop.id.casefold()]
    clauses: list[ColumnElement[bool]] = [
        func.lower(CaseRow.shop_id).like(pattern, escape="\\"),
        CaseRow.shop_id.in_(select(ShopRow.id).where(func.lower(ShopRow.name).like(pattern, escape="\\"))),
    ]
    if named:
        clauses.append(CaseRow.shop_id.in_(named))
    number = text.removeprefix("#")
    if number.isascii() and number.isdigit() and int(number) <= 2**62:
        clauses.append(CaseRow.id == int(number))
    return or_(*clauses)


@router.get("/cases", response_model=CasePage, responses=errors(401), summary="List and filter cases, newest first")
def list_cases(
    ctx: Ctx,
    who: CurrentPrincipal,
    state: Annotated[list[CaseState] | None, Query(description="Any of these states (repeatable).")] = None,
    kind: CaseKind | None = None,
    source: CaseSource | None = None,
    shop_id: Annotated[str | None, Query(max_length=100)] = None,
    camera_id: Annotated[str | None, Query(max_length=100)] = None,
    opened_from: Annotated[IsoDateTime | None, Query(description="Opened at or after (ISO 8601 with offset).")] = None,
    opened_to: Annotated[IsoDateTime | None, Query(description="Opened before (ISO 8601 with offset).")] = None,
    open_: Annotated[bool | None, Query(alias="open", description="Open311 open (true) or closed (false).")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Search: the case number (17 or #17), or part of the shop's id or name."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CasePage:
    start, end = _utc(opened_from, "opened_from"), _utc(opened_to, "opened_to")
    where = []
    if who.role is Role.merchant:
        where.append(CaseRow.shop_id == who.shop_id)
    if state:
        where.append(CaseRow.state.in_([s.value for s in state]))
    if open_ is not None:
        wanted = "open" if open_ else "closed"
        where.append(CaseRow.state.in_([s.value for s, o in OPEN311_STATUS.items() if o == wanted]))
    filters = (
        (CaseRow.kind, kind), (CaseRow.source, source), (CaseRow.shop_id, shop_id), (CaseRow.camera_id, camera_id)
    )  # fmt: skip
    for column, value in filters:
        if value is not None:
            where.append(column == value)
    found = search_clause(q, ctx.cfg.shops) if q is not None else None
    if found is not None:
        where.append(found)
    if start is not None:
        where.append(CaseRow.opened_at >= start)
    if end is not None:
        where.append(CaseRow.opened_at < end)
    with Session(ctx.engine) as s:
        total = s.scalar(select(func.count()).select_from(CaseRow).where(*where)) or 0
        rows = s.scalars(
            select(CaseRow)
            .where(*where)
            .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return CasePage(items=[summary(r, ctx) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/cases/{case_id}", response_model=CaseDetail, responses=errors(401, 404), summary="One case with its ledger"
)
def get_case(case_id: CaseId, ctx: Ctx, who: CurrentPrincipal) -> CaseDetail:
    with Session(ctx.engine) as s:
        return detail(s, visible_case(s, case_id, who), ctx)


@router.get(
    "/cases/{case_id}/snapshot.jpg",
    response_class=Response,
    responses={**JPEG, **errors(401, 403, 404), **GONE},
    summary="The case's evidence snapshot, rendered for the caller's role",
    description="Merchants and inspectors get people and other vehicles blurred; operators and admins get people "
    "blurred, and the original with `original=true` (every such view is logged: GET /evidence/access-log). "
    "410 when the retention period deleted the evidence.",
)
def get_snapshot(
    case_id: CaseId,
    ctx: Ctx,
    who: CurrentPrincipal,
    original: Annotated[bool, Query(description="The unredacted original (operators and admins; logged).")] = False,
) -> Response:
    return case_snapshot(ctx, case_id, who, original)


def check_action(who: Principal, action: Action) -> None:
    if who.role is Role.inspector:
        raise HTTPException(403, "an inspector acts through inspections (POST /shops/{shop_id}/inspections)")
    if who.role is Role.merchant and action not in MERCHANT_ACTIONS:
        raise HTTPException(403, f"a merchant may only {' or '.join(sorted(MERCHANT_ACTIONS))}, not {action.value}")


def act(ctx: AppContext, case_id: int, who: Principal, action: Action, reason: str, **data: object) -> CaseDetail:
    """Workflow.act with the API's error mapping; the token's name goes into the ledger as `by`."""
    try:
        ctx.workflow.act(case_id, action, who.actor, reason.strip(), by=who.name, **data)
    except CaseNotFound:
        raise HTTPException(404, f"no case {case_id}") from None
    except TransitionRefused as exc:
        raise HTTPException(409, str(exc)) from None
    with Session(ctx.engine) as s:
        return detail(s, visible_case(s, case_id, who), ctx)


@router.post(
    "/cases/{case_id}/actions",
    response_model=CaseDetail,
    responses=errors(400, 401, 403, 404, 409, 413),
    summary="Confirm, dismiss, escalate, resolve or acknowledge a case",
    description="Operators and admins may take any action; merchants only acknowledge and resolve "
    "their own shop's cases. Dismiss needs a reason.",
)
def post_action(case_id: CaseId, body: Annotated[ActionIn, Body()], ctx: Ctx, who: CurrentPrincipal) -> CaseDetail:
    with Session(ctx.engine) as s:
        visible_case(s, case_id, who)
    action = Action(body.action)
    check_action(who, action)
    return act(ctx, case_id, who, action, body.reason)
